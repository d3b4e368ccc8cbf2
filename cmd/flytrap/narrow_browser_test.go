package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/getsentry/sentry-go"
)

// signIn opens path in Chromium and signs in on the page it redirects to.
func signIn(t *testing.T, ctx context.Context, url, email, password, ready string) {
	t.Helper()
	err := chromedp.Do(ctx,
		chromedp.Navigate(url),
		chromedp.WaitVisible(`input[name=email]`),
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(ready),
	)
	if err != nil {
		t.Fatal(err)
	}
}

// captureTimeouts sends two messages that become two TimeoutError issues,
// with breadcrumbs, dotted tag keys, a custom context and a release, and
// returns them.
func captureTimeouts(t *testing.T, p *devProc) (issue, issue) {
	t.Helper()
	hub := newHub(t, p.info.DSN, "shop-frontend@2024.11.28-rc.1+build.7731", "production")
	hub.ConfigureScope(func(s *sentry.Scope) {
		s.SetTag("browser.name", "Chrome")
		s.SetTag("device.family", "Desktop")
		// A context card must fit a phone whatever its values' width.
		s.SetContext("order", sentry.Context{"note": strings.Repeat("orders-12345-items-", 8),
			"items": []map[string]any{{"sku": "A-1", "name": "Paperback, second edition", "qty": 2}, {"sku": "B-22", "qty": 1}}})
	})
	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "http", Message: "GET https://api.example.com/v1/orders/12345/items?expand=product,price,discounts&page=2", Timestamp: time.Now()}, nil)
	hub.CaptureMessage("TimeoutError: upstream orders did not answer in 30s")
	hub.CaptureMessage("TimeoutError: upstream payments did not answer in 30s")
	if !hub.Flush(5 * time.Second) {
		t.Fatal("sentry-go did not flush")
	}
	return p.waitIssue(t, "TimeoutError: upstream orders", 1), p.waitIssue(t, "TimeoutError: upstream payments", 1)
}

// TestBrowserNarrowScreens loads every main page at a phone's 375 px width
// in Chromium: none may be wider than the screen (a table too wide
// scrolls inside its own box), and every project tab and top-bar link is
// on screen.
func TestBrowserNarrowScreens(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	is, _ := captureTimeouts(t, p)
	// An assigned issue shows its assignee in the list and on its page.
	if code := p.api(t, "PATCH", fmt.Sprintf("/api/v1/issues/%d", is.ID), map[string]any{"assignedTo": "me"}, nil); code != 200 {
		t.Fatalf("assigning the issue: HTTP %d", code)
	}
	// Its activity holds a comment with lines and a word wider than the
	// screen, and the assignment.
	comment := "Seen again after the deploy:\nhttps://shop.example/checkout/" + strings.Repeat("orders-12345-items-", 8) + "\nlooking into it"
	if code := p.api(t, "POST", fmt.Sprintf("/api/v1/issues/%d/comments", is.ID), map[string]any{"text": comment}, nil); code != 201 {
		t.Fatalf("commenting on the issue: HTTP %d", code)
	}
	// An event with a processing note naming a long field path, and with
	// an older and a newer event, which all four navigation buttons lead to.
	slow, slowEvents := sendSlowQuery(t, p, 3)
	ctx := newBrowser(t)
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 375, Height: 740, DeviceScaleFactor: 1, Mobile: true})
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	signIn(t, ctx, p.base+"/projects", email, password, `[data-live-unresolved]`)

	pid := p.info.ProjectID
	pages := []string{
		"/projects",
		fmt.Sprintf("/projects/%d/issues", pid),
		fmt.Sprintf("/issues/%d", is.ID),
		fmt.Sprintf("/issues/%d?event=%s", slow.ID, slowEvents[1]),
		fmt.Sprintf("/projects/%d/feedback", pid),
		fmt.Sprintf("/projects/%d/releases", pid),
		fmt.Sprintf("/projects/%d/releases/%s", pid, "shop-frontend@2024.11.28-rc.1+build.7731"),
		fmt.Sprintf("/projects/%d/setup", pid),
		fmt.Sprintf("/projects/%d/alerts", pid),
		fmt.Sprintf("/admin/projects/%d", pid),
		"/account",
		"/account/tokens",
		"/admin/users",
		"/admin/projects",
	}
	// wide lists what sticks out of the screen outside any box of its own
	// that scrolls or clips, so a failure says what to fix.
	const measure = `(() => {
		const w = document.documentElement.clientWidth;
		const clipped = el => { for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
			const o = getComputedStyle(a).overflowX; if (o !== "visible") return true } return false };
		const wide = Array.from(document.body.querySelectorAll("*")).filter(el => el.getBoundingClientRect().right > w + 0.5 && !clipped(el))
			.slice(0, 8).map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).trim().replace(/ +/g, ".") : "") + " " + Math.round(el.getBoundingClientRect().right) + " in " + el.parentElement.tagName.toLowerCase() + "." + el.parentElement.className);
		const off = Array.from(document.querySelectorAll(".tabs a, .topbar a, .topbar button")).filter(el => { const r = el.getBoundingClientRect(); return r.left < 0 || r.right > w + 0.5 || r.width === 0 })
			.map(el => el.textContent.trim());
		return JSON.stringify({scroll: document.documentElement.scrollWidth, wide, off});
	})()`
	for _, path := range pages {
		if err := chromedp.Do(ctx, chromedp.Navigate(p.base+path), chromedp.WaitReady(`main`)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](measure))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got, `{"scroll":375,`) || !strings.HasSuffix(got, `"wide":[],"off":[]}`) {
			t.Errorf("%s at 375 px: %s", path, got)
		}
	}
}

// TestBrowserBulkBackKeepsNoSelection: tick the first issue of a search,
// resolve it, press Back. The list the browser shows again no longer holds
// that issue, so no box may come back ticked: the first row is now another
// issue, which a second Resolve would change.
func TestBrowserBulkBackKeepsNoSelection(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	captureTimeouts(t, p)
	ctx := newBrowser(t)
	list := fmt.Sprintf("%s/projects/%d/issues?query=TimeoutError", p.base, p.info.ProjectID)
	signIn(t, ctx, list, email, password, `input[name=ids]`)
	err := chromedp.Do(ctx,
		chromedp.Click(`tr.issue-row:first-child input[name=ids]`),
		chromedp.Click(`form.bulk button[value=resolve]`),
		chromedp.WaitVisible(`.flash`),
		chromedp.NavigateBack(),
		chromedp.WaitVisible(`input[name=ids]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Form state is restored when the page has loaded; wait for that.
	time.Sleep(500 * time.Millisecond)
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelectorAll("tr.issue-row").length + " rows, " +
		document.querySelectorAll("input[name=ids]:checked").length + " ticked, " + document.querySelectorAll("tr.issue-row.selected").length + " highlighted"`))
	if err != nil {
		t.Fatal(err)
	}
	if state != "1 rows, 0 ticked, 0 highlighted" {
		t.Errorf("after Resolve and Back: %s, want 1 row and nothing ticked", state)
	}
}

// TestBrowserAlertRuleFields: the new-rule form shows N and M only while
// "more than N events in M minutes" is chosen.
func TestBrowserAlertRuleFields(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	ctx := newBrowser(t)
	signIn(t, ctx, fmt.Sprintf("%s/projects/%d/alerts", p.base, p.info.ProjectID), email, password, `#new-rule`)
	const shown = `Array.from(document.querySelectorAll("#new-rule label")).filter(l => l.offsetParent !== null).map(l => l.firstChild.textContent.trim()).join(",")`
	for _, tc := range []struct{ choose, want string }{
		{"", "When,Level,Environment,Channel"},
		{"frequency", "When,N,M,Level,Environment,Channel"},
		{"regression", "When,Level,Environment,Channel"},
	} {
		if tc.choose != "" {
			choose := fmt.Sprintf(`(() => { const s = document.querySelector("#new-rule select[name=type]"); s.value = %q; s.dispatchEvent(new Event("change")); return s.value })()`, tc.choose)
			if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](choose)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](shown))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("with %q chosen the form shows %s, want %s", cmp.Or(tc.choose, "the default"), got, tc.want)
		}
	}
}

// TestBrowserTagKeysUnbroken: in the issue page's side panels, a tag key
// such as browser.name is not broken inside a word ("browser.na" / "me").
func TestBrowserTagKeysUnbroken(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	is, _ := captureTimeouts(t, p)
	ctx := newBrowser(t)
	signIn(t, ctx, fmt.Sprintf("%s/issues/%d", p.base, is.ID), email, password, `.tag-group`)
	// A key's text is broken when it spans more than one line box.
	const broken = `Array.from(document.querySelectorAll(".detail-side dt, .tag-group h3")).filter(el => {
		const r = document.createRange(); r.selectNodeContents(el);
		return new Set(Array.from(r.getClientRects()).map(b => Math.round(b.top))).size > 1 }).map(el => el.textContent).join(", ")`
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](broken))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll(".detail-side dt")).map(el => el.textContent).join(", ")`))
	if err != nil {
		t.Fatal(err)
	}
	if got != "" || !strings.Contains(keys, "browser.name") {
		t.Errorf("tag keys broken over lines: %q (keys shown: %s)", got, keys)
	}
}
