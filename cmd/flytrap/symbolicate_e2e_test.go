package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The frame every symbolicated error below must start from: the
// minified app's lineTotal, line 4 of compat/js/sourcemap-app/src/cart.js.
const (
	wantFile    = "cart.js"
	wantFunc    = "lineTotal"
	wantLine    = 4
	wantContext = "return line.price * line.quantity;"
)

// storedFrame is a frame as the REST API returns a stored event's.
type storedFrame struct {
	Filename    string `json:"filename"`
	AbsPath     string `json:"abs_path"`
	Function    string `json:"function"`
	Lineno      int    `json:"lineno"`
	ContextLine string `json:"context_line"`
	Unmapped    string `json:"unmapped"`
}

// storedEvent is what a test checks of a stored event.
type storedEvent struct {
	Exceptions []struct {
		Frames    []storedFrame `json:"frames"`
		RawFrames []storedFrame `json:"raw_frames"`
	} `json:"exceptions"`
	Notes []string `json:"notes"`
}

// latestEvent returns the issue's latest event, and its JSON.
func (p *devProc) latestEvent(t *testing.T, is issue) (storedEvent, []byte) {
	t.Helper()
	var detail issue
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", is.ID), nil, &detail); code != 200 || detail.LatestEvent == nil {
		t.Fatalf("issue detail: HTTP %d", code)
	}
	var ev storedEvent
	if err := json.Unmarshal(detail.LatestEvent.Event, &ev); err != nil {
		t.Fatal(err)
	}
	return ev, detail.LatestEvent.Event
}

// topFrames returns the innermost frame of the latest event's first
// exception, as symbolicated and as sent.
func (p *devProc) topFrames(t *testing.T, is issue) (mapped, raw storedFrame) {
	t.Helper()
	ev, body := p.latestEvent(t, is)
	if len(ev.Exceptions) == 0 || len(ev.Exceptions[0].Frames) == 0 || len(ev.Exceptions[0].RawFrames) == 0 {
		t.Fatalf("stored event has no frames and raw frames: %s", body)
	}
	ex := ev.Exceptions[0]
	// Frames are stored outermost first, as Sentry sends them.
	return ex.Frames[len(ex.Frames)-1], ex.RawFrames[len(ex.RawFrames)-1]
}

// checkBundleFunctions checks the function names of the issue's latest
// event's frames that came from app.min.js, outermost first: each named
// by its original name, checkout included, which nothing in the bundle
// calls, so only its declaration in the uploaded minified file names it.
func (p *devProc) checkBundleFunctions(t *testing.T, who string, is issue) {
	t.Helper()
	ev, body := p.latestEvent(t, is)
	ex := ev.Exceptions[0]
	var got []string
	for i, raw := range ex.RawFrames {
		if strings.HasSuffix(raw.AbsPath+raw.Filename, "/app.min.js") && i < len(ex.Frames) {
			got = append(got, ex.Frames[i].Function)
		}
	}
	if want := []string{"checkout", "cartTotal", "lineTotal"}; !slices.Equal(got, want) {
		t.Errorf("%s: the bundle's functions %q, want %q: %s", who, got, want, body)
	}
}

// throwNode throws from build's app.min.js under @sentry/node with
// release, the message prefixed, and returns the issue it lands in.
func (p *devProc) throwNode(t *testing.T, js, build, release, prefix string) issue {
	t.Helper()
	script := fmt.Sprintf(`
const Sentry = require("@sentry/node");
Sentry.init({ dsn: %q, release: %q, tracesSampleRate: 0 });
require(%q);
try {
  globalThis.checkout({ lines: [undefined], currency: "EUR" });
} catch (err) {
  err.message = %q + err.message;
  Sentry.captureException(err);
}
Sentry.flush(5000).then((ok) => process.exit(ok ? 0 : 1));
`, p.info.DSN, release, filepath.Join(build, "app.min.js"), prefix)
	cmd := exec.Command("node", "-e", script)
	cmd.Dir = js // resolves @sentry/node from compat/js/node_modules
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node: %v\n%s", err, b)
	}
	return p.waitIssue(t, "TypeError: "+prefix, 1)
}

func checkSymbolicated(t *testing.T, who string, mapped, raw storedFrame) {
	t.Helper()
	if !strings.HasSuffix(mapped.Filename, wantFile) || mapped.Function != wantFunc || mapped.Lineno != wantLine ||
		strings.TrimSpace(mapped.ContextLine) != wantContext {
		t.Errorf("%s: top frame %+v, want %s:%d in %s showing %q", who, mapped, wantFile, wantLine, wantFunc, wantContext)
	}
	if !strings.HasSuffix(raw.AbsPath+raw.Filename, "/app.min.js") || raw.Function == wantFunc {
		t.Errorf("%s: raw frame %+v, want the minified frame in app.min.js", who, raw)
	}
}

// TestSymbolicatedErrors is issue 11's acceptance as a new user would go
// through it: build a minified app, `flytrap sourcemaps inject` and
// `upload` it to flytrap dev, then throw from the bundle in Node with
// @sentry/node, in Chromium with @sentry/browser, and in a Flytrap-format
// payload whose text stack points into the .min.js. Every stored event
// names the original file, line and function with its code, keeps the
// minified frames, and the issue page shows them.
func TestSymbolicatedErrors(t *testing.T) {
	js := requireSentryCLI(t)
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	build := buildApp(t, js)
	flytrapEnv := []string{"FLYTRAP_URL=" + p.base, "FLYTRAP_TOKEN=" + p.info.APIToken}
	run(t, nil, flytrapBin, "sourcemaps", "inject", build)
	out := run(t, flytrapEnv, flytrapBin, "sourcemaps", "upload", build, "--project", fmt.Sprint(p.info.ProjectID), "--release", "shop@1", "--url-prefix", "~/static/js")
	t.Logf("flytrap sourcemaps upload:\n%s", out)

	t.Run("node", func(t *testing.T) {
		is := p.throwNode(t, js, build, "shop@1", "node: ")
		mapped, raw := p.topFrames(t, is)
		checkSymbolicated(t, "@sentry/node", mapped, raw)
		// The map's source is a ../ path from the temporary build to
		// compat/js: resolved against the map, it is the file itself.
		if want := filepath.Join(js, "sourcemap-app", "src", wantFile); mapped.AbsPath != want {
			t.Errorf("@sentry/node: top frame's abs_path %q, want %q", mapped.AbsPath, want)
		}
		p.checkBundleFunctions(t, "@sentry/node", is)
	})

	t.Run("sentry-cli upload", func(t *testing.T) {
		// The same build, injected and uploaded by sentry-cli itself (debug
		// IDs, no release), on a server of its own so no other upload can
		// supply the map.
		sp := startDev(t, t.TempDir(), nil)
		scBuild := buildApp(t, js)
		env := []string{"SENTRY_URL=" + sp.base, "SENTRY_AUTH_TOKEN=" + sp.info.APIToken, "SENTRY_ORG=flytrap",
			"SENTRY_PROJECT=" + fmt.Sprint(sp.info.ProjectID), "SENTRY_LOG_LEVEL=warn", "SENTRYCLI_SKIP_DOWNLOAD=1", "SENTRY_DISABLE_UPDATE_CHECK=1"}
		sentryCLI := filepath.Join(js, "node_modules", ".bin", "sentry-cli")
		run(t, env, sentryCLI, "sourcemaps", "inject", scBuild)
		run(t, env, sentryCLI, "sourcemaps", "upload", scBuild)
		is := sp.throwNode(t, js, scBuild, "shop@1", "sentry-cli: ")
		mapped, raw := sp.topFrames(t, is)
		checkSymbolicated(t, "@sentry/node after sentry-cli upload", mapped, raw)
		sp.checkBundleFunctions(t, "@sentry/node after sentry-cli upload", is)

		// QA's case: a build of the same app without debug IDs, deployed
		// as web@3.0.0. The bundle uploaded without a release is the
		// injected build's, found by debug ID only (as in Sentry): by
		// name its map, a line off, moved these frames to nonsense.
		ev, body := sp.latestEvent(t, sp.throwNode(t, js, buildApp(t, js), "web@3.0.0", "other build: "))
		if len(ev.Exceptions) == 0 || len(ev.Exceptions[0].Frames) == 0 || len(ev.Exceptions[0].RawFrames) != 0 {
			t.Fatalf("web@3.0.0: want frames as sent and no raw frames: %s", body)
		}
		frames := ev.Exceptions[0].Frames
		if top := frames[len(frames)-1]; !strings.HasSuffix(top.AbsPath+top.Filename, "/app.min.js") || top.Unmapped != "no_map" {
			t.Errorf("web@3.0.0: top frame %+v, want app.min.js as sent, unmapped no_map", top)
		}
		if !slices.ContainsFunc(ev.Notes, func(n string) bool {
			return strings.Contains(n, "no source map of app.min.js for release web@3.0.0: its upload without a release has debug IDs")
		}) {
			t.Errorf("web@3.0.0: notes %q, want one saying the upload without a release is for its debug IDs", ev.Notes)
		}
	})

	t.Run("sentry-cli 2.x upload", func(t *testing.T) {
		// What a pipeline with sentry-cli 2.x (or a bundler plugin running
		// it) uploads, each on a server of its own: debug IDs with and
		// without a release, and by release name and URL.
		sentryCLI2 := requireSentryCLI2(t, js)
		for _, tc := range []struct {
			name    string
			inject  bool
			release string
			upload  []string
		}{
			{"debug IDs", true, "shop@1", []string{"sourcemaps", "upload"}},
			{"debug IDs and release", true, "shop-node@2.0.0", []string{"sourcemaps", "upload", "--release", "shop-node@2.0.0"}},
			{"releases files", false, "shop@3", []string{"releases", "files", "shop@3", "upload-sourcemaps", "--url-prefix", "~/static/js"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				sp := startDev(t, t.TempDir(), nil)
				scBuild := buildApp(t, js)
				env := []string{"SENTRY_URL=" + sp.base, "SENTRY_AUTH_TOKEN=" + sp.info.APIToken, "SENTRY_ORG=flytrap",
					"SENTRY_PROJECT=" + fmt.Sprint(sp.info.ProjectID), "SENTRY_LOG_LEVEL=warn", "SENTRY_DISABLE_UPDATE_CHECK=1"}
				if tc.inject {
					run(t, env, sentryCLI2, "sourcemaps", "inject", scBuild)
				}
				out := run(t, env, sentryCLI2, append(tc.upload, scBuild)...)
				if !strings.Contains(out, "Upload type: artifact bundle") {
					t.Errorf("sentry-cli 2.x %s: want an artifact bundle upload:\n%s", strings.Join(tc.upload, " "), out)
				}
				is := sp.throwNode(t, js, scBuild, tc.release, "sentry-cli 2.x: ")
				mapped, raw := sp.topFrames(t, is)
				checkSymbolicated(t, "@sentry/node after sentry-cli 2.x "+tc.name, mapped, raw)
			})
		}
	})

	t.Run("flytrap text stack", func(t *testing.T) {
		// The stack Node prints for the bundle, as served from a site. The
		// Flytrap format carries no release, so the map is found by the
		// file's name within the project.
		script := fmt.Sprintf(`require(%q); try { globalThis.checkout({ lines: [undefined] }) } catch (e) { process.stdout.write(e.stack) }`,
			filepath.Join(build, "app.min.js"))
		b, err := exec.Command("node", "-e", script).Output()
		if err != nil {
			t.Fatalf("node: %v", err)
		}
		stack := strings.ReplaceAll(string(b), build+string(filepath.Separator), "https://shop.example.com/static/js/")
		if !regexp.MustCompile(`https://shop\.example\.com/static/js/app\.min\.js:\d+:\d+`).MatchString(stack) {
			t.Fatalf("stack does not point into the served bundle:\n%s", stack)
		}
		stack = strings.Replace(stack, "TypeError: ", "TypeError: flytrap: ", 1)
		payload, _ := json.Marshal(map[string]any{"data": map[string]any{
			"error":      map[string]any{"name": "TypeError", "message": strings.SplitN(stack, "\n", 2)[0][len("TypeError: "):], "stack": stack},
			"handled":    false,
			"timestamp":  time.Now().UTC().Format(time.RFC3339),
			"project_id": fmt.Sprint(p.info.ProjectID),
		}})
		req, _ := http.NewRequest("POST", p.base+"/api/errors", strings.NewReader(string(payload)))
		req.Header.Set("x-api-key", p.info.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST /api/errors: HTTP %d", resp.StatusCode)
		}
		is := p.waitIssue(t, "TypeError: flytrap: ", 1)
		mapped, raw := p.topFrames(t, is)
		checkSymbolicated(t, "Flytrap text stack", mapped, raw)
	})

	t.Run("chromium", func(t *testing.T) {
		bundle := filepath.Join(t.TempDir(), "sentry-browser.js")
		if out, err := exec.Command("node", filepath.Join(js, "build-browser.js"), bundle).CombinedOutput(); err != nil {
			t.Fatalf("bundling @sentry/browser: %v\n%s", err, out)
		}
		// page throws from the bundle at src under @sentry/browser with
		// release, the message prefixed so each page makes an issue of its
		// own.
		page := func(release, src, prefix string) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				fmt.Fprintf(w, `<!doctype html><title>shop</title>
<script src="/sentry-browser.js"></script>
<script>Sentry.init({dsn: %q, release: %q, tracesSampleRate: 0});</script>
<script src="%s"></script>
<script>
try { checkout({lines: [undefined], currency: "EUR"}); }
catch (err) { err.message = %q + err.message; Sentry.captureException(err); }
Sentry.flush(5000).then(function (ok) { window.__flushed = ok ? "ok" : "timeout"; });
</script>`, p.info.DSN, release, src, prefix)
			}
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/{$}", page("shop@1", "/static/js/app.min.js", "browser: "))
		// shop@13 is built without debug IDs and nothing is uploaded for it.
		mux.HandleFunc("/13/{$}", page("shop@13", "/13/static/js/app.min.js", "browser 13: "))
		mux.Handle("/13/static/js/", http.StripPrefix("/13/static/js/", http.FileServer(http.Dir(buildApp(t, js)))))
		mux.HandleFunc("/sentry-browser.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, bundle) })
		mux.Handle("/static/js/", http.StripPrefix("/static/js/", http.FileServer(http.Dir(build))))
		site := httptest.NewServer(mux)
		defer site.Close()

		ctx := newBrowser(t)
		visit := func(url string) {
			t.Helper()
			if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 15*time.Second, "@sentry/browser to deliver its event", func() bool {
				state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.__flushed || "")`))
				if err != nil {
					t.Fatal(err)
				}
				if state == "timeout" {
					t.Fatal("@sentry/browser flush timed out")
				}
				return state == "ok"
			})
		}
		visit(site.URL + "/")
		is := p.waitIssue(t, "TypeError: browser: ", 1)
		mapped, raw := p.topFrames(t, is)
		checkSymbolicated(t, "@sentry/browser", mapped, raw)

		// A release nothing was uploaded for (QA's case): its frames stay
		// minified with a note naming the release that has app.min.js,
		// never mapped by name with shop@1's map, which for another build
		// gives wrong places.
		visit(site.URL + "/13/")
		ev, body := p.latestEvent(t, p.waitIssue(t, "TypeError: browser 13: ", 1))
		if len(ev.Exceptions) == 0 || len(ev.Exceptions[0].Frames) == 0 || len(ev.Exceptions[0].RawFrames) != 0 {
			t.Fatalf("shop@13: want frames as sent and no raw frames: %s", body)
		}
		frames := ev.Exceptions[0].Frames
		if top := frames[len(frames)-1]; !strings.HasSuffix(top.AbsPath+top.Filename, "/13/static/js/app.min.js") || top.Unmapped != "no_map" {
			t.Errorf("shop@13: top frame %+v, want app.min.js as sent, unmapped no_map", top)
		}
		if !slices.ContainsFunc(ev.Notes, func(n string) bool {
			return strings.Contains(n, "no source map of app.min.js for release shop@13: it was uploaded for shop@1,")
		}) {
			t.Errorf("shop@13: notes %q, want one naming shop@1", ev.Notes)
		}

		// The issue page shows the original frame and its code; the raw
		// minified frames are one toggle away.
		err := chromedp.Do(ctx,
			chromedp.Navigate(p.base+"/"),
			chromedp.WaitVisible(`input[name=email]`),
			chromedp.SendKeys(`input[name=email]`, email),
			chromedp.SendKeys(`input[name=password]`, password),
			chromedp.Click(`form[action="/login"] button[type=submit]`),
			chromedp.WaitVisible(`[data-live-unresolved]`),
		)
		if err != nil {
			t.Fatal(err)
		}
		// The page is opened from script and awaited by its state, not
		// with chromedp.Navigate, whose wait for the load event never
		// ended on this issue page once it held the Assign form (the page
		// itself loads: the server had answered and nothing was pending).
		issueURL := fmt.Sprintf("%s/issues/%d", p.base, is.ID)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.assign(`+strconv.Quote(issueURL)+`), ""`)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 15*time.Second, "the issue page", func() bool {
			state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + document.readyState`))
			return err == nil && state == issueURL+" complete"
		})
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{wantFile, wantFunc, wantContext} {
			if !strings.Contains(text, want) {
				t.Errorf("issue page does not show %q:\n%s", want, text)
			}
		}
		screenshot(t, ctx, "issue-symbolicated")
		if err := chromedp.Do(ctx, chromedp.Click(`a.button[href*="frames=minified"]`)); err != nil {
			t.Fatal(err)
		}
		// The click starts a navigation: a query racing it fails with
		// "Inspected target navigated or closed" and is asked again.
		waitFor(t, 10*time.Second, "the minified frames", func() bool {
			location, err := chromedp.Run(ctx, chromedp.Location())
			if err == nil {
				text, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState == "complete" ? document.body.innerText : ""`))
			}
			if err != nil {
				t.Logf("asking again: %v", err)
				return false
			}
			return strings.Contains(location, "frames=minified") && text != ""
		})
		if !strings.Contains(text, "app.min.js") || strings.Contains(text, wantContext) {
			t.Errorf("the minified frames toggle does not show the frames as sent:\n%s", text)
		}
	})
}
