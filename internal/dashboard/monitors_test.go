package dashboard

import (
	"fmt"
	"net/http"
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
		fmt.Sprintf(`<a href="/projects/%d/monitors/nightly-backup">Monitor nightly-backup is failing</a>`, f.web.ID))
	wantStatus(t, f.get(roleMember, fmt.Sprintf("/projects/%d/monitors/nope", f.web.ID)), http.StatusNotFound)
	wantStatus(t, f.get(roleMember, fmt.Sprintf("/projects/%d/monitors/nightly-backup", f.billing.ID)), http.StatusNotFound)
}
