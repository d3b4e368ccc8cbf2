package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// reportDialogApp captures an exception and opens Sentry's crash-report
// dialog about it with the page's own texts, two of them hostile, and the
// user the page knows; onLoad and onClose count their calls, onError keeps
// why the dialog could not load.
const reportDialogApp = `
Sentry.init({ dsn: %q, release: "compat-browser@1.0.0", environment: "compat" });
window.__loaded = 0;
window.__closed = 0;
function payInvoice(invoice) {
  return invoice.total.amount;
}
try {
  payInvoice({});
} catch (err) {
  window.__eventId = Sentry.captureException(err);
  Sentry.showReportDialog({
    eventId: window.__eventId,
    title: %q,
    labelComments: %q,
    user: { name: "Grace Hopper", email: "grace@example.com" },
    onLoad: function () { window.__loaded++; },
    onClose: function () { window.__closed++; },
    onError: function (err) { window.__dialogError = String(err && err.message); },
  });
}
Sentry.flush(5000).then(function (ok) { window.__flushed = ok ? "ok" : "timeout"; });
`

// Texts that would run script if the dialog parsed them as HTML.
const (
	hostileTitle  = `</script><img src=x onerror="window.__xss=1">Sorry & "oops"` + "\u2028"
	hostileLabel  = `<b onmouseover="window.__xss=2">What happened?</b>`
	dialogSel     = `dialog.sentry-error-embed`
	reportComment = "I pressed Pay and the page froze <script>alert(1)</script>"
)

// TestBrowserReportDialog runs the official @sentry/browser in Chromium,
// from an origin other than flytrap's: the page captures an exception and
// calls Sentry.showReportDialog({eventId}); the test fills the dialog in
// as a user would, is told what to fix, sends it, closes it, and finds
// the report as feedback on the exception's issue over the REST API.
// Opened again, the dialog closes on Escape.
func TestBrowserReportDialog(t *testing.T) {
	dir := requireJSSDK(t)
	bundle := filepath.Join(t.TempDir(), "sentry-browser.js")
	if out, err := exec.Command("node", filepath.Join(dir, "build-browser.js"), bundle).CombinedOutput(); err != nil {
		t.Fatalf("bundling @sentry/browser: %v\n%s", err, out)
	}
	p := startDev(t, t.TempDir(), nil)

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><title>billing</title><script src="/sentry-browser.js"></script><script src="/app.js"></script></head><body><p>invoice</p></body></html>`)
	})
	mux.HandleFunc("/sentry-browser.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, bundle)
	})
	mux.HandleFunc("/app.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, reportDialogApp, p.info.DSN, hostileTitle, hostileLabel)
	})
	site := httptest.NewServer(mux)
	defer site.Close()

	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(site.URL+"/")); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	waitFor := func(js, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := eval(js)
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %q, want %q", js, got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// The SDK calls onError when the script fails to load: a refusal
	// fails the test in seconds with the SDK's words, not at the
	// browser's two-minute timeout.
	waitFor(`document.querySelector("`+dialogSel+` textarea[name=comments]") ? "open" : String(window.__dialogError || "")`, "open")
	waitFor(`String(window.__loaded)`, "1")
	screenshot(t, ctx, "report-dialog")

	// The page's texts are shown as text; none ran as markup.
	if got := eval(`document.querySelector("` + dialogSel + ` h2").textContent`); got != hostileTitle {
		t.Errorf("title %q, want %q as text", got, hostileTitle)
	}
	if got := eval(`document.querySelector("` + dialogSel + ` label[for$=comments]").textContent`); got != hostileLabel {
		t.Errorf("comments label %q, want %q as text", got, hostileLabel)
	}
	if got := eval(`String(window.__xss) + " " + document.querySelectorAll("` + dialogSel + ` img, ` + dialogSel + ` b").length`); got != "undefined 0" {
		t.Errorf("the page's texts were parsed as HTML: __xss and elements %q", got)
	}
	// A modal dialog, labelled by its title, with the user filled in.
	if got := eval(`(function(){var d=document.querySelector("` + dialogSel + `");` +
		`return [d.open, d.matches(":modal"), document.getElementById(d.getAttribute("aria-labelledby")).tagName, ` +
		`d.querySelector("input[name=name]").value, d.querySelector("input[name=email]").value].join("|")})()`); got != "true|true|H2|Grace Hopper|grace@example.com" {
		t.Errorf("open|modal|labelled by|name|email = %q", got)
	}

	// Sent empty, the dialog says what is missing before posting.
	if err := chromedp.Do(ctx, chromedp.Click(dialogSel+` button[type=submit]`)); err != nil {
		t.Fatal(err)
	}
	waitFor(`document.querySelector("`+dialogSel+` textarea[name=comments]").getAttribute("aria-invalid")`, "true")

	// An address the browser takes and Flytrap refuses: the server's
	// words appear beside the field.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(dialogSel+` input[name=email]`, "grace..hopper@example.com"),
		chromedp.SendKeys(dialogSel+` textarea[name=comments]`, reportComment),
		chromedp.Click(dialogSel+` button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(`(function(){var e=document.querySelector("`+dialogSel+` input[name=email]");`+
		`return e.getAttribute("aria-invalid") + " " + document.getElementById(e.getAttribute("aria-describedby")).textContent})()`,
		"true Enter a valid e-mail address, such as jane@example.com.")
	if got := eval(`String(document.querySelector("` + dialogSel + ` textarea[name=comments]").getAttribute("aria-invalid"))`); got != "null" {
		t.Errorf("comments still marked invalid (%q) once written", got)
	}

	if err := chromedp.Do(ctx,
		chromedp.SetValue(dialogSel+` input[name=email]`, "grace@example.com"),
		chromedp.Click(dialogSel+` button[type=submit]`),
	); err != nil {
		t.Fatal(err)
	}
	waitFor(`document.querySelector("`+dialogSel+` [role=status]").textContent`, "Your feedback has been sent. Thank you!")
	if got := eval(`String(window.__closed)`); got != "0" {
		t.Errorf("onClose called %s times before the dialog closed", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(dialogSel+` button.close`)); err != nil {
		t.Fatal(err)
	}
	waitFor(`String(window.__closed) + " " + document.querySelectorAll("`+dialogSel+`").length`, "1 0")
	waitFor(`String(window.__flushed || "")`, "ok")
	eventID := eval(`window.__eventId`)

	// Opened again without a user, the dialog starts at the name; Escape
	// closes it and calls this call's onClose.
	eval(`Sentry.showReportDialog({eventId: window.__eventId, onClose: function () { window.__closedByEscape = "yes"; }}), ""`)
	waitFor(`document.activeElement && document.activeElement.name === "name" ? document.activeElement.closest("dialog").className : ""`, "sentry-error-embed")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
		t.Fatal(err)
	}
	waitFor(`String(window.__closedByEscape) + " " + document.querySelectorAll("`+dialogSel+`").length`, "yes 0")

	is := p.waitIssue(t, "TypeError: Cannot read properties of undefined (reading 'amount')", 1)
	fb := p.feedback(t, fmt.Sprintf("/api/v1/issues/%d/feedback", is.ID), 1)[0]
	wantURL := strings.Replace(site.URL, "127.0.0.1", "[ip]", 1) + "/"
	if fb.Message != reportComment || fb.Name != "Grace Hopper" || fb.Email != "grace@example.com" || fb.IssueID != is.ID ||
		fb.AssociatedEventID != eventID || fb.URL != wantURL || fb.EventID == eventID {
		t.Errorf("the dialog's report %+v, want it about event %s of issue %d from %s", fb, eventID, is.ID, wantURL)
	}

	// The form has a budget of its own per address, five posts a minute
	// (two so far): the sixth post is refused, and the dialog says to
	// wait, the comments kept to send again.
	const rateLimited = "Too many reports were sent just now. Please wait a minute and submit again."
	var said []string
	for range 4 {
		eval(`Sentry.showReportDialog({eventId: window.__eventId, user: {name: "Grace Hopper", email: "grace@example.com"}}), ""`)
		waitFor(`document.querySelector("`+dialogSel+` textarea[name=comments]") ? "open" : ""`, "open")
		if err := chromedp.Do(ctx,
			chromedp.SendKeys(dialogSel+` textarea[name=comments]`, "again"),
			chromedp.Click(dialogSel+` button[type=submit]`),
		); err != nil {
			t.Fatal(err)
		}
		status := `document.querySelector("` + dialogSel + ` [role=status]").textContent`
		waitFor(`["Your feedback has been sent. Thank you!", "`+rateLimited+`"].includes(`+status+`) ? "done" : ""`, "done")
		said = append(said, eval(status))
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Escape)); err != nil {
			t.Fatal(err)
		}
		waitFor(`String(document.querySelectorAll("`+dialogSel+`").length)`, "0")
	}
	if said[2] != "Your feedback has been sent. Thank you!" || said[3] != rateLimited {
		t.Errorf("the dialog said %q to the third to sixth posts, want the sixth refused", said)
	}
}
