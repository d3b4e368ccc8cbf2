package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestMonitorPages: a project's monitors with their status, schedule and
// last and next check-in, and a monitor's check-ins, with what the SDK
// sent escaped; an unknown monitor and another project's are 404s.
func TestMonitorPages(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleMember, fmt.Sprintf("/projects/%d/monitors", f.web.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `aria-current="page">Monitors</a>`, "No monitors yet.")

	d := 12.5
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleCrontab, Crontab: "0 3 * * *", Timezone: "Europe/Vienna", MarginMinutes: 5,
		MaxRuntimeMinutes: 60, FailureThreshold: 1, RecoveryThreshold: 2}
	_, err := f.db.SaveCheckIns(f.ctx, []store.CheckInRequest{{ProjectID: f.web.ID, CheckIn: event.CheckIn{
		ID: "0123456789abcdef0123456789abcdef", Slug: "nightly-backup", Status: event.CheckInError, Duration: &d,
		Environment: "<i>prod</i>", Release: "<script>alert(1)</script>", Config: cfg, Received: now.Add(-time.Hour)}}})
	f.must(err)

	r = f.get(roleMember, fmt.Sprintf("/projects/%d/monitors", f.web.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, fmt.Sprintf(`<a href="/projects/%d/monitors/nightly-backup"><code>nightly-backup</code></a>`, f.web.ID),
		`<span class="monitor-failing">failing</span>`, "<code>0 3 * * * (Europe/Vienna)</code>", "error <time", "1 hour ago")

	r = f.get(roleMember, fmt.Sprintf("/projects/%d/monitors/nightly-backup", f.web.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Monitor <code>nightly-backup</code>", "5 minutes", "60 minutes", "1 failure; ok again after 2 ok runs in a row",
		"12.5s", "&lt;i&gt;prod&lt;/i&gt;", "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>")
	// Its alert, in the delivery history, reads as the monitor's and
	// links its page.
	r = f.get(roleAdmin, fmt.Sprintf("/projects/%d/alerts", f.web.ID))
	wantBody(t, r, "<td>cron monitor failing</td>",
		fmt.Sprintf(`<a href="/projects/%d/monitors/nightly-backup">Monitor nightly-backup is failing in &lt;i&gt;prod&lt;/i&gt;</a>`, f.web.ID))
	wantStatus(t, f.get(roleMember, fmt.Sprintf("/projects/%d/monitors/nope", f.web.ID)), http.StatusNotFound)
	wantStatus(t, f.get(roleMember, fmt.Sprintf("/projects/%d/monitors/nightly-backup", f.billing.ID)), http.StatusNotFound)
}

// addMonitors gives web and billing a monitor each, "nightly", with a
// check-in.
func (f *fixture) addMonitors() {
	f.t.Helper()
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleCrontab, Crontab: "0 3 * * *", MarginMinutes: 5,
		MaxRuntimeMinutes: 60, FailureThreshold: 1, RecoveryThreshold: 1}
	for _, pid := range []int64{f.web.ID, f.billing.ID} {
		_, err := f.db.SaveCheckIns(f.ctx, []store.CheckInRequest{{ProjectID: pid, CheckIn: event.CheckIn{
			ID: fmt.Sprintf("%032x", pid), Slug: "nightly", Status: event.CheckInOK, Config: cfg, Received: now.Add(-time.Hour)}}})
		f.must(err)
	}
}

// TestDeleteMonitor: the monitor page offers those who manage the project
// a Delete link to a confirmation page, whose form (with its CSRF token)
// deletes the monitor and its check-ins; a member is offered neither, and
// a form without the token deletes nothing.
func TestDeleteMonitor(t *testing.T) {
	f := newFixture(t)
	f.addMonitors()
	page := fmt.Sprintf("/projects/%d/monitors/nightly", f.web.ID)
	link := `href="` + page + `/delete">Delete…</a>`

	noBody(t, f.get(roleMember, page), link)
	wantStatus(t, f.get(roleMember, page+"/delete"), http.StatusNotFound)
	wantBody(t, f.get(roleLead, page), link)
	r := f.get(roleLead, page+"/delete")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Delete this monitor?", `<form method="post" action="`+page+`/delete"`, `name="csrf_token"`, `<a class="button" href="`+page+`">Cancel</a>`)

	r = f.do(request{method: http.MethodPost, role: roleLead, path: page + "/delete", noCSRF: true})
	wantStatus(t, r, http.StatusForbidden)
	if _, _, err := f.db.GetMonitor(f.ctx, store.System, f.web.ID, "nightly", "", 1); err != nil {
		t.Fatalf("after a POST without its CSRF token: %v", err)
	}

	r = f.post(roleLead, page+"/delete", nil)
	wantRedirect(t, r, fmt.Sprintf("/projects/%d/monitors", f.web.ID))
	if msg := flashOf(t, r); msg != "ok: Monitor nightly deleted with its check-ins." {
		t.Errorf("flash %q", msg)
	}
	if _, _, err := f.db.GetMonitor(f.ctx, store.System, f.web.ID, "nightly", "", 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the delete: %v, want not found", err)
	}
	if _, _, err := f.db.GetMonitor(f.ctx, store.System, f.billing.ID, "nightly", "", 1); err != nil {
		t.Errorf("billing's monitor of the same slug: %v", err)
	}
	wantStatus(t, f.post(roleLead, page+"/delete", nil), http.StatusNotFound)
}

// TestGoldenMonitorPage compares a monitor's page, with production ok and
// a staging failing and its check-ins filtered to staging, with
// testdata/monitor.golden.html; the environment's name, which the SDK
// sent, is escaped in its text and links.
func TestGoldenMonitorPage(t *testing.T) {
	f := newFixture(t)
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleInterval, Interval: 1, Unit: "hour", MarginMinutes: 5,
		MaxRuntimeMinutes: 30, FailureThreshold: 1, RecoveryThreshold: 1}
	at := now.Add(-30 * time.Minute)
	_, err := f.db.SaveCheckIns(f.ctx, []store.CheckInRequest{
		{ProjectID: f.web.ID, CheckIn: event.CheckIn{ID: "0123456789abcdef0123456789abcdef", Slug: "sync", Status: event.CheckInOK,
			Config: cfg, Received: at}},
		{ProjectID: f.web.ID, CheckIn: event.CheckIn{ID: "1123456789abcdef0123456789abcdef", Slug: "sync", Status: event.CheckInError,
			Environment: `<i>st&ging"</i>`, Received: at.Add(time.Minute)}},
	})
	f.must(err)
	r := f.get(roleMember, fmt.Sprintf("/projects/%d/monitors", f.web.ID))
	wantBody(t, r, `<td>&lt;i&gt;st&amp;ging&#34;&lt;/i&gt; <span class="monitor-failing">failing</span>, production <span class="monitor-ok">ok</span></td>`)
	golden(t, f, fmt.Sprintf("/projects/%d/monitors/sync?environment=%s", f.web.ID, url.QueryEscape(`<i>st&ging"</i>`)), "monitor.golden.html")
}
