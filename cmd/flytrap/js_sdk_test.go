package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// requireJSSDK returns the compat/js folder with its npm dependencies
// installed (`npm ci --prefix compat/js`), or skips; under CI=true a
// missing SDK is a failure.
func requireJSSDK(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../compat/js")
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@sentry", "node"))
	_, brErr := os.Stat(filepath.Join(dir, "node_modules", "@sentry", "browser"))
	if nodeErr != nil || modErr != nil || brErr != nil {
		msg := "node or the Sentry JavaScript SDKs are missing: run `npm ci --prefix compat/js`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// TestNodeSDK sends events with the official @sentry/node SDK and reads them
// back over the REST API.
func TestNodeSDK(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), nil)
	cmd := exec.Command("node", filepath.Join(dir, "send.js"), p.info.DSN)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node send.js: %v\n%s", err, out)
	}

	te := p.waitIssue(t, "TypeError: Cannot read properties of undefined (reading 'total')", 1)
	if !strings.Contains(te.Culprit, "loadInvoice") {
		t.Errorf("culprit = %q, want the in-app function loadInvoice", te.Culprit)
	}
	msg := p.waitIssue(t, "node compat message 123", 1)
	if msg.Level != "warning" {
		t.Errorf("message level = %q, want warning", msg.Level)
	}
	p.waitIssue(t, "RangeError: node compat rejection", 1)
	if got := p.issues(t, "environment=compat&release=compat-node@1.0.0"); len(got) != 3 {
		t.Errorf("environment+release filter lists %d issues, want 3", len(got))
	}

	var detail struct {
		LatestEvent struct {
			Event struct {
				Exceptions []struct {
					Frames []struct {
						Function string `json:"function"`
						InApp    *bool  `json:"in_app"`
						Lineno   int    `json:"lineno"`
					} `json:"frames"`
					Mechanism *struct {
						Handled *bool `json:"handled"`
					} `json:"mechanism"`
				} `json:"exceptions"`
				Breadcrumbs []struct {
					Message string `json:"message"`
				} `json:"breadcrumbs"`
				Tags []struct {
					Key, Value string
				} `json:"tags"`
				User struct {
					ID string `json:"id"`
				} `json:"user"`
				SDK struct {
					Name string `json:"name"`
				} `json:"sdk"`
			} `json:"event"`
		} `json:"latest_event"`
	}
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", te.ID), nil, &detail); code != 200 {
		t.Fatalf("issue detail: HTTP %d", code)
	}
	ev := detail.LatestEvent.Event
	raw, _ := json.Marshal(ev)
	if ev.SDK.Name != "sentry.javascript.node" || ev.User.ID != "node-user-1" {
		t.Errorf("sdk %q user %q", ev.SDK.Name, ev.User.ID)
	}
	found := false
	for _, ex := range ev.Exceptions {
		for _, f := range ex.Frames {
			if f.Function == "loadInvoice" && f.InApp != nil && *f.InApp && f.Lineno > 0 {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no in-app frame loadInvoice with a line number: %s", raw)
	}
	if !strings.Contains(string(raw), "GET /invoices/42") || !strings.Contains(string(raw), `"Value":"billing"`) {
		t.Errorf("breadcrumb or tag missing: %s", raw)
	}
	// The runtime context @sentry/node sends, promoted to tags as Sentry
	// does: "node v22.12.0" and "node".
	tags := map[string]string{}
	for _, tg := range ev.Tags {
		tags[tg.Key] = tg.Value
	}
	if tags["runtime.name"] != "node" || !strings.HasPrefix(tags["runtime"], "node v") {
		t.Errorf("runtime tags %q, %q; want node and node vX.Y.Z (tags %v)", tags["runtime"], tags["runtime.name"], ev.Tags)
	}
	if findIssue(p.issues(t, "query="+url.QueryEscape(`runtime.name:node has:runtime`)), te.Title) == nil {
		t.Error("runtime.name:node has:runtime does not find the Node SDK's issue")
	}
}

// TestNodeSDKPlainObjectRejection rejects a promise with a plain object
// with the official @sentry/node SDK (compat/js/plain-rejection.js): the
// issue page shows the Error the SDK made up for it as an exception with
// its mechanism, unhandled, as the other rejections, not as a message.
func TestNodeSDKPlainObjectRejection(t *testing.T) {
	dir := requireJSSDK(t)
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	if out, err := exec.Command("node", filepath.Join(dir, "plain-rejection.js"), p.info.DSN).CombinedOutput(); err != nil {
		t.Fatalf("node plain-rejection.js: %v\n%s", err, out)
	}
	is := p.waitIssue(t, "Object captured as exception with keys: code, reason", 1)
	resp, err := p.login(t, email, password).Get(fmt.Sprintf("%s/issues/%d", p.base, is.ID))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`<span class="exc-type">Error</span>`, `<p class="exc-value">Object captured as exception with keys: code, reason</p>`,
		`mechanism <code>auto.node.onunhandledrejection</code> handled: no`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the issue page lacks %s", want)
		}
	}
	if strings.Contains(string(page), `<h3>Message</h3>`) {
		t.Error("the issue page shows the rejection as a message")
	}
}

// TestNodeSDKAnonymousFunctions is the QA report's case, sent by the
// official @sentry/node SDK (compat/js/anonymous-routes.js): two route
// handlers that are arrow functions of one file throw different errors,
// and two messages are captured from module scope with a stack trace. The
// SDK names every such frame "?" or "Object.?", so grouping by file and
// function made one issue of the errors and one of the messages; the
// frames' source lines (grouping version 2026-12e) make four.
func TestNodeSDKAnonymousFunctions(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), nil)
	cmd := exec.Command("node", filepath.Join(dir, "anonymous-routes.js"), p.info.DSN)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node anonymous-routes.js: %v\n%s", err, out)
	}
	for _, title := range []string{"Error: cart service unavailable", "Error: password hash mismatch",
		"warning: disk almost full", "fatal: queue consumer gave up"} {
		p.waitIssue(t, title, 1)
	}
	p.waitDrained(t)
	if all := p.issues(t, "status=all"); len(all) != 4 {
		t.Errorf("%d issues, want 4: %+v", len(all), all)
	}
}

// TestNodeSDKAggregateErrors sends exception groups with the official
// @sentry/node SDK (compat/js/aggregate-errors.js), whose linked errors
// integration lists an AggregateError's errors beside it: two different
// errors, a nested group, three copies of one TypeError, and an error with
// a cause. Each is an issue of its own; the copies are the TypeError's
// issue, titled by it, and the stored event keeps the tree's mechanism
// fields for the pages.
func TestNodeSDKAggregateErrors(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), nil)
	cmd := exec.Command("node", filepath.Join(dir, "aggregate-errors.js"), p.info.DSN)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node aggregate-errors.js: %v\n%s", err, out)
	}
	for _, title := range []string{"AggregateError: many", "AggregateError: outer", "Error: save failed"} {
		p.waitIssue(t, title, 1)
	}
	copies := p.waitIssue(t, "TypeError: x", 1)
	p.waitDrained(t)
	if all := p.issues(t, "status=all"); len(all) != 4 {
		t.Errorf("%d issues, want 4: %+v", len(all), all)
	}
	_, body := p.latestEvent(t, copies)
	var ev struct {
		MainExceptionID *int `json:"main_exception_id"`
		Exceptions      []struct {
			Type      string `json:"type"`
			Mechanism struct {
				ExceptionID      *int   `json:"exception_id"`
				ParentID         *int   `json:"parent_id"`
				IsExceptionGroup bool   `json:"is_exception_group"`
				Source           string `json:"source"`
			} `json:"mechanism"`
		} `json:"exceptions"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if len(ev.Exceptions) != 4 || ev.MainExceptionID == nil || *ev.MainExceptionID != 1 {
		t.Fatalf("stored event: %s", body)
	}
	child, root := ev.Exceptions[0].Mechanism, ev.Exceptions[3].Mechanism
	if child.ExceptionID == nil || *child.ExceptionID != 3 || child.ParentID == nil || *child.ParentID != 0 || child.Source != "errors[2]" ||
		!root.IsExceptionGroup || root.ExceptionID == nil || *root.ExceptionID != 0 {
		t.Errorf("mechanisms %+v and %+v, want the SDK's exception_id, parent_id, source and is_exception_group", child, root)
	}
}

// TestNodeSDKStopsSendingWhatIsDropped runs @sentry/node with tracing on
// (QA finding #13): Flytrap answers the first envelope of spans with
// X-Sentry-Rate-Limits, so the SDK keeps the next ones to itself, while
// errors still reach the server and are stored.
func TestNodeSDKStopsSendingWhatIsDropped(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), nil)
	cmd := exec.Command("node", filepath.Join(dir, "ratelimit.js"), p.info.DSN)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node ratelimit.js: %v\n%s", err, out)
	}
	var counts struct{ Tracing, Event int }
	if err := json.Unmarshal(out, &counts); err != nil {
		t.Fatalf("ratelimit.js printed %q: %v", out, err)
	}
	if counts.Tracing != 1 || counts.Event != 1 {
		t.Errorf("%d tracing and %d error envelopes reached the server, want 1 and 1: the SDK should stop sending spans after the first answer, never errors", counts.Tracing, counts.Event)
	}
	p.waitIssue(t, "Error: rate limit compat error", 1)
}

// TestNodeSDKTunnel posts two anonymous visitors' browser events through
// the tunnel the official @sentry/node SDK serves (handleTunnelRequest,
// compat/js/tunnel.js): every envelope reaches Flytrap from the tunnel's
// address, each visitor's in X-Sentry-Forwarded-For, so the issue counts
// two users, not the one tunnel server.
func TestNodeSDKTunnel(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), nil)
	out, err := exec.Command("node", filepath.Join(dir, "tunnel.js"), p.info.DSN).Output()
	if err != nil {
		t.Fatalf("node tunnel.js: %v\n%s", err, out)
	}
	var answers struct{ Statuses []int }
	if err := json.Unmarshal(out, &answers); err != nil || len(answers.Statuses) != 2 || answers.Statuses[0] != 200 || answers.Statuses[1] != 200 {
		t.Fatalf("the tunnel answered %s (%v), want 200 twice", out, err)
	}
	if is := p.waitIssue(t, "TypeError: tunnelled visitor error", 2); is.UserCount != 2 {
		t.Errorf("two visitors through the SDK's tunnel count %d users, want 2", is.UserCount)
	}
}

// browserPage loads the bundled @sentry/browser and throws from a named
// function, from an origin other than flytrap's, so CORS is exercised.
const browserPage = `<!doctype html>
<html><head><title>shop</title>
<script src="/sentry-browser.js"></script>
<script src="/app.js"></script>
</head><body><p>checkout</p></body></html>`

const browserApp = `
Sentry.init({ dsn: %q, release: "compat-browser@1.0.0", environment: "compat" });
Sentry.setTag("component", "cart");
function renderCart(cart) {
  return cart.items.length;
}
try {
  renderCart(null);
} catch (err) {
  var errorId = Sentry.captureException(err);
  Sentry.captureFeedback({ message: "The cart is empty but I added shoes", name: "Sam", email: "sam@example.com",
    url: location.href, associatedEventId: errorId });
}
Sentry.flush(5000).then(function (ok) { window.__flushed = ok ? "ok" : "timeout"; });
`

// TestBrowserSDK runs the official @sentry/browser SDK in Debian's Chromium
// against flytrap dev and reads the event back over the REST API, and the
// page load's session (release health).
func TestBrowserSDK(t *testing.T) {
	dir := requireJSSDK(t)
	bundle := filepath.Join(t.TempDir(), "sentry-browser.js")
	if out, err := exec.Command("node", filepath.Join(dir, "build-browser.js"), bundle).CombinedOutput(); err != nil {
		t.Fatalf("bundling @sentry/browser: %v\n%s", err, out)
	}
	p := startDev(t, t.TempDir(), nil)

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, browserPage)
	})
	mux.HandleFunc("/sentry-browser.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, bundle)
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, browserApp, p.info.DSN)
	})
	site := httptest.NewServer(mux)
	defer site.Close()

	ctx := newBrowser(t)
	// Headless Chromium names itself HeadlessChrome (and Sentry tags it
	// so); the page gets the User-Agent the same Chromium sends from a
	// window, a user's Chrome, which @sentry/browser reads from navigator.
	headless, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		t.Fatal(err)
	}
	ua := strings.Replace(headless, "HeadlessChrome/", "Chrome/", 1)
	chrome := regexp.MustCompile(`Chrome/(\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(ua)
	if chrome == nil || !strings.Contains(ua, "Linux") {
		t.Fatalf("Chromium's User-Agent %q names no Chrome version or no Linux", headless)
	}
	err = chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua})
			return err
		}),
		chromedp.Navigate(site.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`String(window.__flushed || "")`))
		if err != nil {
			t.Fatal(err)
		}
		if state == "ok" {
			break
		}
		if state == "timeout" || time.Now().After(deadline) {
			t.Fatalf("@sentry/browser did not deliver its event (flush: %q)", state)
		}
		time.Sleep(50 * time.Millisecond)
	}

	is := p.waitIssue(t, "TypeError: Cannot read properties of null (reading 'items')", 1)
	if !strings.Contains(is.Culprit, "renderCart") {
		t.Errorf("culprit = %q, want the function renderCart", is.Culprit)
	}
	var detail struct {
		LatestEvent struct {
			Event struct {
				SDK struct {
					Name string `json:"name"`
				} `json:"sdk"`
				Release string `json:"release"`
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
				Tags     []struct{ Key, Value string } `json:"tags"`
				Contexts map[string]map[string]any     `json:"contexts"`
			} `json:"event"`
		} `json:"latest_event"`
	}
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", is.ID), nil, &detail); code != 200 {
		t.Fatalf("issue detail: HTTP %d", code)
	}
	ev := detail.LatestEvent.Event
	// Scrubbing masks IP addresses in URLs (docs/privacy.md), the page's
	// loopback host included.
	wantURL := strings.Replace(site.URL, "127.0.0.1", "[ip]", 1) + "/"
	if ev.SDK.Name != "sentry.javascript.browser" || ev.Release != "compat-browser@1.0.0" || ev.Request.URL != wantURL {
		t.Errorf("sdk %q, release %q, request URL %q", ev.SDK.Name, ev.Release, ev.Request.URL)
	}
	// The browser and OS, derived from the User-Agent as Sentry derives
	// them, as contexts and as the tags the search box's examples name.
	browser := "Chrome " + chrome[1] + "." + chrome[2] + "." + chrome[3]
	tags := map[string]string{}
	for _, tg := range ev.Tags {
		tags[tg.Key] = tg.Value
	}
	for k, want := range map[string]string{"browser": browser, "browser.name": "Chrome", "os": "Linux", "os.name": "Linux", "component": "cart"} {
		if tags[k] != want {
			t.Errorf("tag %s = %q, want %q (tags %v)", k, tags[k], want, ev.Tags)
		}
	}
	if b := ev.Contexts["browser"]; b["name"] != "Chrome" || b["type"] != "browser" {
		t.Errorf("contexts.browser %v", b)
	}
	for query, found := range map[string]bool{
		`browser:"` + browser + `"`:         true,
		`has:browser`:                       true,
		`browser.name:Chrome os.name:Linux`: true,
		`!has:browser`:                      false,
		`browser:"Mobile Safari"`:           false,
		`!browser.name:Chrome`:              false,
	} {
		if got := findIssue(p.issues(t, "query="+url.QueryEscape(query)), is.Title) != nil; got != found {
			t.Errorf("search %s finds the browser's issue: %v, want %v", query, got, found)
		}
	}
	// The feedback the page sent about the error, across origins like it.
	fb := p.feedback(t, fmt.Sprintf("/api/v1/issues/%d/feedback", is.ID), 1)[0]
	if fb.Message != "The cart is empty but I added shoes" || fb.Name != "Sam" || fb.Email != "sam@example.com" || fb.URL != wantURL || fb.IssueID != is.ID {
		t.Errorf("the browser's feedback %+v", fb)
	}
	// The page load is a session (release health), which had an error
	// but did not crash.
	if h := p.releaseHealth(t, "compat-browser@1.0.0", 1); h.Sessions != 1 || h.Errored != 1 || h.Crashed != 0 ||
		h.CrashFreeSessions == nil || *h.CrashFreeSessions != 100 {
		t.Errorf("the page's release health %+v, want 1 session, errored, not crashed", h)
	}
}
