package live

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/getflytrap/flytrap/internal/livemsg"
)

// chromium returns the path of a Chromium or Chrome binary. Without one
// the test skips, except under CI=true, where .ci/run installs Chromium.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH, and CI=true forbids skipping")
	}
	t.Skip("no Chromium on PATH")
	return ""
}

// page is a dashboard page as the dashboard renders one: a strict CSP, the
// script from templates/static, a project ID on <body> and live elements.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><title>live</title><script src="/static/live.js" defer></script></head>
<body data-project-id="{{.Project}}">
<p>events: <span id="count" data-live-count="issue-10">4</span></p>
<p>in production: <span id="prod" data-live-count="issue-10" data-live-env="production">1</span>,
last <time id="prod-seen" data-live-seen="issue-10" data-live-env="production" datetime="2020-01-01T00:00:00Z">long ago</time></p>
<p>unresolved: <span id="unresolved" data-live-unresolved="project-{{.Project}}">2</span></p>
<div id="toasts"></div>
</body></html>`))

// browser opens a headless Chromium; it ends with the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		// Root in a container has no user namespace for the sandbox.
		chromedp.NoSandbox,
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// waitJS evaluates expr until it is true.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%s)", what, expr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// live.js in a real browser: it connects with the session cookie under a
// CSP that forbids inline script, updates counts, shows a hostile title as
// text, ignores nothing it should not, and reconnects after the server
// closed the stream.
func TestBrowserLiveJS(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t, WithRecheckInterval(50*time.Millisecond))
	script, err := os.ReadFile(filepath.Join("..", "..", "templates", "static", "live.js"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/stream", f.srv.Config.Handler)
	mux.HandleFunc("GET /static/live.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(script)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "flytrap_session", Value: "member-session", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, struct{ Project int64 }{f.p1.ID})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the page to connect", func() bool { return f.hub.Stats().Subscribers == 1 })
	pub := func(m livemsg.Message) {
		t.Helper()
		if err := f.hub.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}

	pub(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 10, Count: 9})
	waitJS(t, ctx, "the count to be set", `document.getElementById("count").textContent === "9"`)
	pub(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 10, Count: 0})
	waitJS(t, ctx, "an unknown count to add one", `document.getElementById("count").textContent === "10"`)
	pub(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 10, Count: 7})
	time.Sleep(100 * time.Millisecond)
	if got := evalString(t, ctx, `document.getElementById("count").textContent`); got != "10" {
		t.Errorf("an older count moved the count back to %s", got)
	}
	// Figures of an environment change with its events only, a count by
	// one: a message's count is the issue's in every environment.
	if got := evalString(t, ctx, `document.getElementById("prod").textContent + ", " + document.getElementById("prod-seen").textContent`); got != "1, long ago" {
		t.Errorf("events of no environment changed production's figures to %s", got)
	}
	pub(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 10, Count: 10, Environment: "staging", At: time.Now()})
	pub(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 10, Count: 10, Environment: "production", At: time.Now()})
	waitJS(t, ctx, "production's count to add one", `document.getElementById("prod").textContent === "2"`)
	if got := evalString(t, ctx, `document.getElementById("prod-seen").textContent + ", " + document.getElementById("count").textContent`); got != "just now, 10" {
		t.Errorf("after an event in production: %s, want production seen just now and the count 10", got)
	}

	hostile := `<img src=x onerror="window.pwned=1">"'</a><script>window.pwned=2</script>` + "invoice_\u202egnp.exe\u2066"
	pub(livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: f.p2.ID, IssueID: 20, Title: "other project"})
	// The toast names the issue; the message's own title is its event's.
	pub(livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: f.p1.ID, IssueID: 11, Title: "the event's own title", IssueTitle: hostile, Count: 1})
	waitJS(t, ctx, "a toast", `document.querySelectorAll("#toasts .toast").length > 0`)
	tests := []struct{ name, expr, want string }{
		{"toasts", `String(document.querySelectorAll("#toasts .toast").length)`, "1"},
		{"title as text, direction controls written out", `document.querySelector("#toasts .toast a").textContent`,
			strings.NewReplacer("\u202e", "<U+202E>", "\u2066", "<U+2066>").Replace(hostile)},
		{"link", `document.querySelector("#toasts .toast a").getAttribute("href")`, "/issues/11"},
		{"label", `document.querySelector("#toasts .toast strong").textContent`, "New issue"},
		{"no markup from the title", `String(document.querySelectorAll("#toasts img, #toasts script").length)`, "0"},
		{"no script ran", `String(window.pwned)`, "undefined"},
		{"unresolved", `document.getElementById("unresolved").textContent`, "3"},
	}
	for _, tt := range tests {
		if got := evalString(t, ctx, tt.expr); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Click("#toasts .toast-close")); err != nil {
		t.Fatal(err)
	}
	waitJS(t, ctx, "the toast to close", `document.querySelectorAll("#toasts .toast").length === 0`)

	// The server ends the stream (access revoked); once access is back the
	// page reconnects by itself and receives again.
	f.access.revoked.Store(true)
	waitFor(t, "the stream to close", func() bool { return f.hub.Stats().Subscribers == 0 })
	f.access.revoked.Store(false)
	waitFor(t, "the page to reconnect", func() bool { return f.hub.Stats().Subscribers == 1 })
	pub(livemsg.Message{Type: livemsg.TypeRegression, ProjectID: f.p1.ID, IssueID: 10, Title: "back again", Count: 11})
	waitJS(t, ctx, "the regression toast", `document.querySelector("#toasts .toast-regression a")?.textContent === "back again"`)
	for name, want := range map[string]string{"count": "11", "unresolved": "4"} {
		if got := evalString(t, ctx, fmt.Sprintf(`document.getElementById(%q).textContent`, name)); got != want {
			t.Errorf("%s after reconnect: %q, want %q", name, got, want)
		}
	}
}

// firstRun is an issue list of a project without issues, as the
// dashboard renders one.
var firstRun = template.Must(template.New("first").Parse(`<!doctype html>
<html><head><title>live</title><script src="/static/live.js" defer></script></head>
<body data-project-id="{{.Project}}">
<input id="search" type="search" name="query">
<div class="empty first-run" data-live-first-issue="project-{{.Project}}">
<p><strong>No errors yet.</strong> They appear here as your SDKs send them.</p>
<p>Point an SDK at this project's DSN: <code>http://key@h/{{.Project}}</code></p>
</div>
<div id="toasts"></div>
</body></html>`))

// TestBrowserFirstIssueShown: the "no errors yet" list reloads on its
// project's first issue, which then lists it, and, while the user types in
// a field, links to it instead of reloading; other projects' issues,
// events and regressions change nothing.
func TestBrowserFirstIssueShown(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	script, err := os.ReadFile(filepath.Join("..", "..", "templates", "static", "live.js"))
	if err != nil {
		t.Fatal(err)
	}
	var loads atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/stream", f.srv.Config.Handler)
	mux.HandleFunc("GET /static/live.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(script)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		loads.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "flytrap_session", Value: "member-session", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		firstRun.Execute(w, struct{ Project int64 }{f.p1.ID})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	pub := func(m livemsg.Message) {
		t.Helper()
		if err := f.hub.Publish(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the page to connect", func() bool { return f.hub.Stats().Subscribers == 1 })
	pub(livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: f.p2.ID, IssueID: 20, Title: "other project"})
	pub(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 21, Count: 2})
	// Messages arrive in order: once the regression's toast shows, the
	// page has handled those before it.
	pub(livemsg.Message{Type: livemsg.TypeRegression, ProjectID: f.p1.ID, IssueID: 21, Title: "back", Count: 3})
	waitJS(t, ctx, "the regression's toast", `document.querySelectorAll("#toasts .toast").length === 1`)
	if n := loads.Load(); n != 1 {
		t.Fatalf("another project's issue, an event or a regression reloaded the page: %d loads", n)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.before = true`)); err != nil {
		t.Fatal(err)
	}
	pub(livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: f.p1.ID, IssueID: 22, Title: "first"})
	waitFor(t, "the page to reload", func() bool { return loads.Load() == 2 })
	waitJS(t, ctx, "the reloaded page", `!window.before && document.readyState === "complete"`)

	if err := chromedp.Do(ctx, chromedp.Focus("#search"), chromedp.SendKeys("#search", "level:")); err != nil {
		t.Fatal(err)
	}
	// The old page's stream may still count among the subscribers while
	// the reloaded one connects: send until the page shows it.
	for deadline := time.Now().Add(15 * time.Second); ; {
		pub(livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: f.p1.ID, IssueID: 23, IssueTitle: "TypeError: x"})
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(".first-run p a")?.getAttribute("href") === "/issues/23"`))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the link to the first issue")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := evalString(t, ctx, `document.querySelector(".first-run").innerText + "|" + document.getElementById("search").value`); !strings.HasPrefix(got, "First error received: TypeError: x\n\nPoint an SDK") || !strings.HasSuffix(got, "|level:") {
		t.Errorf("while typing: %q, want the first line linking the issue, the DSN kept and the field as typed", got)
	}
	if n := loads.Load(); n != 2 {
		t.Errorf("the page reloaded while a field had the focus: %d loads", n)
	}
}

// TestBrowserIsolatesBidiControls: a title an SDK sent with U+202E
// (RIGHT-TO-LEFT OVERRIDE) must not reorder what the page shows after it.
// The dashboard's stylesheet makes every element an isolate; without it
// the next element's text is drawn to the left of the title.
func TestBrowserIsolatesBidiControls(t *testing.T) {
	ctx := browser(t)
	css, err := os.ReadFile(filepath.Join("..", "..", "templates", "static", "app.css"))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/app.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Write(css)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><link rel="stylesheet" href="/static/app.css"></head><body>`+
			"<p><a id=\"title\">\u202eTypeError: x</a> <span id=\"next\">3 events</span></p></body></html>")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page")); err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.getElementById("next").getBoundingClientRect().left >= document.getElementById("title").getBoundingClientRect().right`))
	if err != nil {
		t.Fatal(err)
	}
	if !after {
		t.Error("the element after a title with U+202E is drawn before it: the title is not a bidi isolate")
	}
}

// A page whose stream is refused for the limits (429: the user holds the
// most streams) retries ever more slowly instead of hammering the server:
// a browser cannot see why a WebSocket failed, so live.js backs off on
// every failure, from 1 s doubling up to 30 s.
func TestBrowserBacksOffWhenRefused(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t, WithLimits(Limits{PerUser: 1}))
	// The member's one stream is taken, by a tail say.
	if _, code := f.dial(t, "", bearer(f.memberToken)); code != http.StatusSwitchingProtocols {
		t.Fatalf("the member's first stream: HTTP %d", code)
	}
	script, err := os.ReadFile(filepath.Join("..", "..", "templates", "static", "live.js"))
	if err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/stream", func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		f.srv.Config.Handler.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /static/live.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(script)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "flytrap_session", Value: "member-session", Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.Execute(w, struct{ Project int64 }{f.p1.ID})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/page")); err != nil {
		t.Fatal(err)
	}
	// Tries at 0 s and then after 0.5-1, 1-2 and 2-4 s: at most 4 in 7 s.
	time.Sleep(7 * time.Second)
	if n := attempts.Load(); n < 2 || n > 4 {
		t.Errorf("%d handshakes in 7 s, want 2 to 4: retried, ever more slowly", n)
	}
	if n := f.hub.Stats().Subscribers; n != 1 {
		t.Errorf("%d subscribers, want the member's first only", n)
	}
}
