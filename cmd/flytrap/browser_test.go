package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/getsentry/sentry-go"
)

// chromiumPath returns Debian's Chromium; without it the test skips, except
// under CI=true, where .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium on PATH, and CI=true forbids skipping")
	}
	t.Skip("no Chromium on PATH: apt-get install chromium")
	return ""
}

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		// Root in a container has no user namespace for the sandbox.
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1400, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page to $FLYTRAP_SCREENSHOTS_DIR/name.png when that
// variable is set (docs/screenshots is refreshed that way). Quality 100
// makes Chromium encode PNG; anything lower is JPEG.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FLYTRAP_SCREENSHOTS_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (p *devProc) sendFlytrapError(t *testing.T) {
	t.Helper()
	body := fmt.Sprintf(`{"data":{"error":{"name":"TypeError","message":"Cannot read properties of undefined (reading 'total')","stack":"TypeError: Cannot read properties of undefined (reading 'total')\n    at submitOrder (/srv/shop/checkout.js:42:13)\n    at Layer.handle (/srv/shop/node_modules/express/lib/router/layer.js:95:5)"},"codeContexts":[{"file":"/srv/shop/checkout.js","line":42,"column":13,"context":"  return order.summary.total;"}],"handled":false,"timestamp":"%s","project_id":"%d","method":"POST","path":"/checkout","os":"Linux","runtime":"Node.js v20"}}`,
		time.Now().UTC().Format(time.RFC3339), p.info.ProjectID)
	req, _ := http.NewRequest("POST", p.base+"/api/errors", strings.NewReader(body))
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
}

// TestBrowserDashboard is the new user's path in Debian's Chromium: sign in,
// open the issue from the first error, resolve it, send the error again and
// watch the regression arrive live as a toast.
func TestBrowserDashboard(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	p.sendFlytrapError(t)
	is := p.waitIssue(t, "TypeError: Cannot read properties of undefined (reading 'total')", 1)

	ctx := newBrowser(t)
	// A reader far from UTC, whose times app.js shows in their own zone.
	err := chromedp.Do(ctx,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"})
			return err
		}),
		chromedp.Navigate(p.base+"/"),
		chromedp.WaitVisible(`input[name=email]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "login")
	err = chromedp.Do(ctx,
		chromedp.SendKeys(`input[name=email]`, email),
		chromedp.SendKeys(`input[name=password]`, password),
		chromedp.Click(`form[action="/login"] button[type=submit]`),
		chromedp.WaitVisible(`[data-live-unresolved]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(location, "/projects") {
		t.Errorf("after sign-in at %s, want /projects", location)
	}
	screenshot(t, ctx, "projects")

	err = chromedp.Do(ctx,
		chromedp.Navigate(fmt.Sprintf("%s/projects/%d/issues", p.base, p.info.ProjectID)),
		chromedp.WaitVisible(`a.issue-title`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "issues")
	err = chromedp.Do(ctx,
		chromedp.Click(`a.issue-title`),
		chromedp.WaitVisible(`button[value=resolved]`),
	)
	if err != nil {
		t.Fatal(err)
	}
	stack, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"submitOrder", "checkout.js", "return order.summary.total;", "Last 24 hours"} {
		if !strings.Contains(strings.ToLower(stack), strings.ToLower(want)) {
			t.Errorf("issue page lacks %q", want)
		}
	}
	// The event's time reads in New York's zone, its title in UTC.
	times, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("main time[datetime]")).map(e => e.textContent + " | " + e.title).join("\n")`))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)(EST|GMT-5) \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$`).MatchString(times) {
		t.Errorf("no time on the issue page reads in the reader's zone with UTC in its title:\n%s", times)
	}
	// The hourly chart's hours too: its first, under it, and each bar's
	// in its tooltip, in New York's zone where the server wrote UTC.
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	firstHour := time.Now().UTC().Truncate(time.Hour).Add(-23 * time.Hour)
	hours, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[document.querySelector("time[data-hour]")].map(e => e.textContent + " | " + e.title).concat(
		Array.from(document.querySelectorAll("g[data-hour] title")).slice(0, 1).map(e => e.textContent)).join("\n").replace(/\u202f/g, " ")`))
	if err != nil {
		t.Fatal(err)
	}
	hourLines := strings.Split(hours, "\n")
	zone := `(EST|EDT|GMT-[45])`
	if len(hourLines) != 2 ||
		!regexp.MustCompile(`^`+regexp.QuoteMeta(firstHour.In(ny).Format("03:04 PM"))+` `+zone+` \| `+regexp.QuoteMeta(firstHour.Format("15:04 UTC"))+`$`).MatchString(hourLines[0]) ||
		!regexp.MustCompile(`^`+regexp.QuoteMeta(firstHour.In(ny).Format("Jan 2, 03:04 PM"))+` `+zone+`: \d+ events?$`).MatchString(hourLines[1]) {
		t.Errorf("the hourly chart's first hour does not read in the reader's zone (%s) with UTC in its title:\n%s", firstHour.In(ny).Format("Jan 2, 03:04 PM MST"), hours)
	}
	screenshot(t, ctx, "issue")

	err = chromedp.Do(ctx,
		chromedp.Click(`button[value=resolved]`),
		chromedp.WaitVisible(`.issue-meta .status-resolved`),
	)
	if err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(`.issue-meta .status-resolved`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(status, "resolved") {
		t.Errorf("status badge = %q", status)
	}

	// The page is open; the same error again is a regression, and a toast
	// with the issue's title appears without a reload.
	seenSel := fmt.Sprintf(`document.querySelector('[data-live-seen="issue-%d"]')`, is.ID)
	seenBefore, err := chromedp.Run(ctx, chromedp.Evaluate[string](seenSel+`.getAttribute("datetime")`))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a last-seen time of another second
	p.sendFlytrapError(t)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(`#toasts .toast`)); err != nil {
		t.Fatalf("no toast after the regression: %v", err)
	}
	toast, err := chromedp.Run(ctx, chromedp.Text(`#toasts .toast`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(toast, "Cannot read properties of undefined") {
		t.Errorf("toast = %q", toast)
	}
	count, err := chromedp.Run(ctx, chromedp.Text(fmt.Sprintf(`[data-live-count="issue-%d"]`, is.ID)))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(count) != "2" {
		t.Errorf("live count = %q, want 2", count)
	}
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[string](seenSel+`.getAttribute("datetime") + " " + `+seenSel+`.textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if at, text, _ := strings.Cut(seen, " "); at <= seenBefore || text != "just now" {
		t.Errorf("last seen = %q after the regression, was %q: want a later time, just now", seen, seenBefore)
	}
	screenshot(t, ctx, "regression-toast")

	// Breadcrumbs from sentry-go read in the reader's zone to the
	// millisecond, with their UTC time in the title; one of another day,
	// in UTC or only in the reader's zone, shows its date.
	now := time.Now().UTC()
	// A time of the event's UTC day that is of another day in New York,
	// which the server cannot tell: app.js must show its date.
	otherLocalDay := now.Truncate(24 * time.Hour)
	for otherLocalDay.In(ny).YearDay() == now.In(ny).YearDay() {
		otherLocalDay = otherLocalDay.Add(30 * time.Minute)
	}
	hub := newHub(t, p.info.DSN, "shop@1.2.3", "production")
	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "cache", Message: "warmed last year", Timestamp: now.AddDate(-1, 0, 0)}, nil)
	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "cron", Message: "nightly job", Timestamp: otherLocalDay}, nil)
	hub.AddBreadcrumb(&sentry.Breadcrumb{Category: "http", Message: "POST /api/orders", Timestamp: now.Add(-1500 * time.Millisecond)}, nil)
	hub.CaptureMessage("checkout slow")
	if !hub.Flush(5 * time.Second) {
		t.Fatal("sentry-go did not flush")
	}
	slow := p.waitIssue(t, "checkout slow", 1)
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s/issues/%d", p.base, slow.ID)), chromedp.WaitVisible(`table.breadcrumbs`)); err != nil {
		t.Fatal(err)
	}
	crumbs, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("time[data-clock]")).map(e => e.textContent + " | " + e.title).join("\n")`))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(crumbs, "\n")
	local := `\d\d:\d\d:\d\d\.\d{3}( [AP]M)? (EST|EDT|GMT-[45])`
	if len(lines) != 3 ||
		!regexp.MustCompile(`^[A-Z][a-z]{2} \d{1,2}, `+strconv.Itoa(now.Year()-1)+` `+local+` \| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^[A-Z][a-z]{2} \d{1,2}, \d{4} `+local+` \| \d\d:\d\d:\d\d\.\d{3} UTC$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^`+local+` \| \d\d:\d\d:\d\d\.\d{3} UTC$`).MatchString(lines[2]) {
		t.Errorf("breadcrumb times do not read in the reader's zone, the older with its date:\n%s", crumbs)
	}
}

// TestNonMemberGets404 checks the acceptance rule end to end: a second
// user who is not a member of the project gets 404 for every URL of it.
func TestNonMemberGets404(t *testing.T) {
	p := startDev(t, t.TempDir(), nil)
	p.sendFlytrapError(t)
	is := p.waitIssue(t, "TypeError: Cannot read properties of undefined (reading 'total')", 1)
	var created map[string]any
	if code := p.api(t, "POST", "/api/v1/users", map[string]string{"email": "bob@example.com", "password": "bobs password", "role": "member"}, &created); code != 201 && code != 200 {
		t.Fatalf("create user: HTTP %d %v", code, created)
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(p.base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", page)
	}
	resp, err = c.PostForm(p.base+"/login", url.Values{"email": {"bob@example.com"}, "password": {"bobs password"}, "csrf_token": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("login: HTTP %d", resp.StatusCode)
	}
	var latest struct {
		LatestEventID string `json:"latest_event_id"`
	}
	p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", is.ID), nil, &latest)
	urls := []string{
		fmt.Sprintf("/projects/%d/issues", p.info.ProjectID),
		fmt.Sprintf("/projects/%d/setup", p.info.ProjectID),
		fmt.Sprintf("/issues/%d", is.ID),
		fmt.Sprintf("/issues/%d?event=%s", is.ID, latest.LatestEventID),
		fmt.Sprintf("/issues/%d/delete", is.ID),
		fmt.Sprintf("/admin/projects/%d", p.info.ProjectID),
		fmt.Sprintf("/api/v1/projects/%d/issues", p.info.ProjectID),
		fmt.Sprintf("/api/v1/issues/%d", is.ID),
		fmt.Sprintf("/api/v1/issues/%d/events", is.ID),
		"/api/v1/events/" + latest.LatestEventID,
		fmt.Sprintf("/api/v1/projects/%d/members", p.info.ProjectID),
		fmt.Sprintf("/api/v1/projects/%d/keys", p.info.ProjectID),
	}
	for _, u := range urls {
		resp, err := c.Get(p.base + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s as a non-member: HTTP %d, want 404", u, resp.StatusCode)
		}
	}
	// The projects page works for them and lists nothing.
	resp, err = c.Get(p.base + "/projects")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(body), "data-live-unresolved=\"project-") {
		t.Errorf("non-member projects page: HTTP %d, lists a project: %v", resp.StatusCode, strings.Contains(string(body), "project-"))
	}
}
