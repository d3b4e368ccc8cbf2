package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// sendSlowQuery stores n events of one issue through the store endpoint, a
// second apart, each with a breadcrumb holding a 600-character SQL query
// and data, and a frame whose context_line is an object, which ingest
// drops with a note naming its path. It returns the issue and the events'
// IDs, oldest first.
func sendSlowQuery(t *testing.T, p *devProc, n int) (issue, []string) {
	t.Helper()
	var where []string
	for i := range 30 {
		where = append(where, fmt.Sprintf("o.col%d = $%d", i, i))
	}
	query := "SELECT o.id, o.customer_id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE " +
		strings.Join(where, " AND ") + " ORDER BY o.created_at DESC LIMIT 50"
	var ids []string
	start := time.Now().Add(-time.Duration(n) * time.Second)
	for i := range n {
		id := fmt.Sprintf("%032x", 0x51000+i)
		at := start.Add(time.Duration(i) * time.Second)
		body, err := json.Marshal(map[string]any{
			"event_id": id, "timestamp": float64(at.UnixMilli()) / 1000, "platform": "python", "level": "error",
			"breadcrumbs": map[string]any{"values": []any{map[string]any{
				"timestamp": float64(at.UnixMilli()) / 1000, "category": "query", "message": query,
				"data": map[string]any{"db.system": "postgresql", "duration_ms": 31250, "rows": 50, "connection": "primary-replica-1"},
			}}},
			"exception": map[string]any{"values": []any{map[string]any{
				"type": "QueryTimeout", "value": "orders query took 31s",
				"stacktrace": map[string]any{"frames": []any{
					map[string]any{"filename": "app/orders.py", "lineno": 12},
					map[string]any{"filename": "app/db.py", "lineno": 40, "context_line": map[string]any{"not": "a string"}},
				}},
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		send(t, http.MethodPost, fmt.Sprintf("%s/api/%d/store/", p.base, p.info.ProjectID),
			map[string]string{"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=" + p.info.APIKey, "Content-Type": "application/json"}, string(body))
		ids = append(ids, id)
	}
	return p.waitIssue(t, "QueryTimeout: orders query took 31s", int64(n)), ids
}

// answerDialogs answers each JavaScript dialog the page of ctx opens, such
// as a form's confirmation, with the next of answers (true accepts), after
// sending its message to asked, until ctx ends.
func answerDialogs(ctx context.Context, answers <-chan bool, asked chan<- string) {
	for ev, err := range chromedp.Events(ctx, page.JavascriptDialogOpening) {
		if err != nil {
			return
		}
		asked <- ev.Message
		if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: <-answers}); err != nil {
			return
		}
	}
}

// TestBrowserDashboardDetails checks, at a desktop's 1400 px, what a QA pass
// found wrong in Chromium: a breadcrumb's data beside a long message was a
// column a few characters wide, Esc left the Resolve in release popover
// open, revoking a token asked nothing, the new token had no Copy button,
// and the autofocused email field of the sign-in page must show its focus.
func TestBrowserDashboardDetails(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	is, _ := sendSlowQuery(t, p, 1)
	ctx := newBrowser(t)
	eval := func(js string) string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	// As a focused window shows it, which a headless one is not.
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true})
			return err
		}),
		chromedp.Navigate(p.base+"/login"),
		chromedp.WaitVisible(`input[name=email]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := eval(`(() => { const s = getComputedStyle(document.activeElement); return document.activeElement.name + " " + s.outlineStyle + " " + s.outlineWidth })()`); got != "email solid 2px" {
		t.Errorf("sign-in page's focused field and its outline: %s, want email solid 2px", got)
	}

	signIn(t, ctx, fmt.Sprintf("%s/issues/%d", p.base, is.ID), email, password, `table.breadcrumbs`)
	// The data of a breadcrumb with a 600-character message.
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.querySelector("table.breadcrumbs tbody tr:first-child td:last-child code").getBoundingClientRect().width`))
	if err != nil {
		t.Fatal(err)
	}
	if width < 400 {
		t.Errorf("a breadcrumb's data is %.0f px wide beside a long message, want at least 400", width)
	}

	// Esc closes the popover the focus is in and gives the focus back to
	// its button.
	err = chromedp.Do(ctx,
		chromedp.Click(`details.popover summary`),
		chromedp.WaitVisible(`details.popover[open] input[name=release]`),
		chromedp.Focus(`details.popover[open] input[name=release]`),
		chromedp.KeyEvent(kb.Escape),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := eval(`(() => { const d = document.querySelector("details.popover"); return (d.open ? "open" : "closed") + ", focus on " + document.activeElement.textContent.trim() })()`); got != "closed, focus on Resolve in release…" {
		t.Errorf("after Esc the popover is %s, want closed, focus on Resolve in release…", got)
	}

	// A new token has a Copy button; revoking one asks first, naming what
	// stops working, and nothing happens unless the user agrees.
	err = chromedp.Do(ctx,
		chromedp.Navigate(p.base+"/account/tokens"),
		chromedp.WaitVisible(`input[name=name]`),
		chromedp.SendKeys(`input[name=name]`, "ci"),
		chromedp.Click(`form[action="/account/tokens"] button[type=submit]`),
		chromedp.WaitVisible(`#new-token`),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := eval(`String(document.querySelector("button[data-copy=new-token]")?.offsetParent !== null && document.querySelector("button[data-copy=new-token]") !== null)`); got != "true" {
		t.Error("the new token has no visible Copy button")
	}
	answers, asked := make(chan bool, 1), make(chan string, 1)
	go answerDialogs(ctx, answers, asked)
	// revoke clicks the Revoke button of the token named name.
	revoke := func(name string, accept bool) string {
		t.Helper()
		mark := fmt.Sprintf(`(() => { document.querySelectorAll("#revoke-this").forEach(b => b.removeAttribute("id"));
			const row = Array.from(document.querySelectorAll("tbody tr")).find(tr => tr.cells[0].textContent.trim() === %q);
			if (!row) return "no row"; row.querySelector("button[type=submit]").id = "revoke-this"; window.unloaded = false; return "ok" })()`, name)
		if got := eval(mark); got != "ok" {
			t.Fatalf("token %q: %s", name, got)
		}
		answers <- accept
		if err := chromedp.Do(ctx, chromedp.Click(`#revoke-this`)); err != nil {
			t.Fatal(err)
		}
		select {
		case msg := <-asked:
			return msg
		case <-time.After(5 * time.Second):
			<-answers
			t.Errorf("revoking %q asked nothing", name)
			return ""
		}
	}
	if msg := revoke("flytrap dev", false); !strings.Contains(msg, "“flytrap dev”") || !strings.Contains(msg, "dev.json") {
		t.Errorf("revoking the flytrap dev token asks %q, want it named and dev.json's scripts warned of", msg)
	}
	time.Sleep(300 * time.Millisecond)
	if got := eval(`String(window.unloaded === false && document.querySelector("#new-token") !== null)`); got != "true" {
		t.Error("the page went on after Cancel")
	}
	if msg := revoke("ci", true); !strings.Contains(msg, "“ci”") {
		t.Errorf("revoking the ci token asks %q, want it named", msg)
	}
	if err := chromedp.Do(ctx, chromedp.WaitNotPresent(`#new-token`)); err != nil {
		t.Fatal(err)
	}
	if got := eval(`Array.from(document.querySelectorAll("tbody tr")).map(tr => tr.cells[0].textContent.trim()).join(", ")`); strings.Contains(got, "ci") || !strings.Contains(got, "flytrap dev") {
		t.Errorf("after revoking ci the tokens are %s, want flytrap dev only", got)
	}
}
