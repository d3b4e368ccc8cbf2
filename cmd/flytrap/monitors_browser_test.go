package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/getsentry/sentry-go"
)

// TestBrowserDeleteMonitor: in Chromium, an admin opens a monitor that
// sentry-go's check-in made, follows its Delete link to the confirmation
// page, confirms, and lands on the project's monitors, where it is gone,
// as it is from the REST API.
func TestBrowserDeleteMonitor(t *testing.T) {
	const email, password = "ann@example.com", "correct horse battery"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	newHub(t, p.info.DSN, "", "").CaptureCheckIn(&sentry.CheckIn{MonitorSlug: "nightly-backup", Status: sentry.CheckInStatusOK},
		&sentry.MonitorConfig{Schedule: sentry.CrontabSchedule("0 3 * * *")})
	api := fmt.Sprintf("/api/v1/projects/%d/monitors/nightly-backup", p.info.ProjectID)
	for deadline := time.Now().Add(20 * time.Second); p.api(t, "GET", api, nil, nil) != 200; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no monitor made\nstderr:\n%s", p.stderr)
		}
	}

	ctx := newBrowser(t)
	signIn(t, ctx, fmt.Sprintf("%s/projects/%d/monitors/nightly-backup", p.base, p.info.ProjectID), email, password, `#monitor`)
	err := chromedp.Do(ctx,
		chromedp.Click(`a.button.danger`),
		chromedp.WaitVisible(`.danger-zone form`),
	)
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "confirm-delete-monitor")
	err = chromedp.Do(ctx,
		chromedp.Click(`.danger-zone form button[type=submit]`),
		chromedp.WaitVisible(`.flash`),
	)
	if err != nil {
		t.Fatal(err)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(`main`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page, "Monitor nightly-backup deleted with its check-ins.") || !strings.Contains(page, "No monitors yet.") {
		t.Errorf("after deleting, the page reads %q", page)
	}
	if code := p.api(t, "GET", api, nil, nil); code != 404 {
		t.Errorf("GET %s after deleting: HTTP %d, want 404", api, code)
	}
}
