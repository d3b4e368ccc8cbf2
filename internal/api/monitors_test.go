package api

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestMonitorEndpoints: a project's members list its monitors, each with
// its environments in Sentry's shape, and read one with its check-ins, of
// one environment with ?environment=, SDK text as sent; only its admins
// delete one; an outsider gets 404s.
func TestMonitorEndpoints(t *testing.T) {
	f := newFixture(t)
	d := 2.5
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleInterval, Interval: 2, Unit: "hour", MarginMinutes: 5, MaxRuntimeMinutes: 30,
		Timezone: "Europe/Vienna", FailureThreshold: 1, RecoveryThreshold: 1}
	at := now.Add(-time.Hour).Truncate(time.Second)
	_, err := f.db.SaveCheckIns(context.Background(), []store.CheckInRequest{
		{ProjectID: f.project.ID, CheckIn: event.CheckIn{ID: "0123456789abcdef0123456789abcdef", Slug: "nightly", Status: "error",
			Duration: &d, Release: "<b>1.0</b>", Environment: "production", Config: cfg, Received: at}},
		{ProjectID: f.project.ID, CheckIn: event.CheckIn{ID: "1123456789abcdef0123456789abcdef", Slug: "nightly", Status: "ok",
			Environment: "<i>staging</i>", Received: at.Add(-time.Minute)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("/api/v1/projects/%d/monitors", f.project.ID)
	code, _, out := f.do(t, f.memberToken, "GET", base, "")
	data, _ := out["data"].([]any)
	if code != 200 || len(data) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	m := data[0].(map[string]any)
	if m["slug"] != "nightly" || m["status"] != "failing" || m["schedule"] != "2 hour" || m["schedule_type"] != "interval" ||
		m["timezone"] != "Europe/Vienna" || m["checkin_margin"] != 5.0 || m["last_status"] != "error" ||
		m["next_expected"] != at.Add(2*time.Hour-time.Minute).UTC().Format(time.RFC3339) || m["checkins"] != nil {
		t.Errorf("listed %v", m)
	}
	envs, _ := json.Marshal(m["environments"])
	wantEnvs := fmt.Sprintf(`[{"lastCheckIn":%q,"name":"\u003ci\u003estaging\u003c/i\u003e","nextCheckIn":%q,"status":"ok"},`+
		`{"lastCheckIn":%q,"name":"production","nextCheckIn":%q,"status":"failing"}]`,
		at.Add(-time.Minute).UTC().Format(time.RFC3339), at.Add(2*time.Hour-time.Minute).UTC().Format(time.RFC3339),
		at.UTC().Format(time.RFC3339), at.Add(2*time.Hour).UTC().Format(time.RFC3339))
	if string(envs) != wantEnvs {
		t.Errorf("environments\n%s\nwant\n%s", envs, wantEnvs)
	}
	code, _, out = f.do(t, f.memberToken, "GET", base+"/nightly?environment=%3Ci%3Estaging%3C%2Fi%3E", "")
	if cis, _ := out["checkins"].([]any); code != 200 || len(cis) != 1 || cis[0].(map[string]any)["environment"] != "<i>staging</i>" {
		t.Errorf("staging's check-ins: %d %v", code, out)
	}
	code, _, out = f.do(t, f.memberToken, "GET", base+"/nightly?environment=production", "")
	cis, _ := out["checkins"].([]any)
	if code != 200 || len(cis) != 1 {
		t.Fatalf("get: %d %v", code, out)
	}
	if c := cis[0].(map[string]any); c["status"] != "error" || c["duration"] != 2.5 || c["release"] != "<b>1.0</b>" || c["id"] != "0123456789abcdef0123456789abcdef" {
		t.Errorf("check-in %v", c)
	}
	for _, c := range []struct {
		token, method, path string
		want                int
	}{
		{f.outsider, "GET", base, 404},
		{f.outsider, "GET", base + "/nightly", 404},
		{f.memberToken, "GET", base + "/nope", 404},
		{f.memberToken, "DELETE", base + "/nightly", 403},
		{f.outsider, "DELETE", base + "/nightly", 404},
		{f.leadToken, "DELETE", base + "/nightly", 204},
		{f.leadToken, "DELETE", base + "/nightly", 404},
	} {
		if code, _, out := f.do(t, c.token, c.method, c.path, ""); code != c.want {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, out, c.want)
		}
	}
}
