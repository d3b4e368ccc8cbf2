package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// TestNodeSDKWithMonitor reports two jobs' runs with the official
// @sentry/node SDK's withMonitor, one that succeeds and one that throws,
// and a third run whose ok the SDK delivers before its in_progress (the
// order withMonitor's two requests may land in), and reads the monitors
// back over the REST API: each made from the monitor config the SDK sent,
// with its in_progress check-in finished by the run's end, in the
// environment the SDK named.
func TestNodeSDKWithMonitor(t *testing.T) {
	dir := requireJSSDK(t)
	p := startDev(t, t.TempDir(), nil)
	if out, err := exec.Command("node", filepath.Join(dir, "checkins.js"), p.info.DSN).CombinedOutput(); err != nil {
		t.Fatalf("node checkins.js: %v\n%s", err, out)
	}
	get := func(slug string) apitypes.Monitor {
		t.Helper()
		var m apitypes.Monitor
		deadline := time.Now().Add(20 * time.Second)
		for {
			code := p.api(t, "GET", fmt.Sprintf("/api/v1/projects/%d/monitors/%s", p.info.ProjectID, slug), nil, &m)
			if code == 200 && len(m.CheckIns) == 1 && m.CheckIns[0].Status != "in_progress" {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("monitor %s: %d %+v\nstderr:\n%s", slug, code, m, p.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	sync := get("compat-sync")
	if sync.Status != "ok" || sync.Schedule != "10 minute" || sync.MarginMinutes != 2 || sync.MaxRuntimeMinutes != 5 ||
		sync.CheckIns[0].Status != "ok" || sync.CheckIns[0].Duration == nil || sync.CheckIns[0].Release != "compat-cron@1.0.0" ||
		sync.CheckIns[0].Environment != "compat" || len(sync.Environments) != 1 || sync.Environments[0].Name != "compat" ||
		sync.Environments[0].Status != "ok" || sync.Environments[0].NextCheckIn == nil {
		t.Errorf("compat-sync: %+v", sync)
	}
	report := get("compat-report")
	if report.Status != "failing" || report.Schedule != "30 6 * * 1-5" || report.Timezone != "Europe/Vienna" || report.CheckIns[0].Status != "error" {
		t.Errorf("compat-report: %+v", report)
	}
	late := get("compat-late")
	if late.Status != "ok" || late.Schedule != "@hourly" || late.CheckIns[0].Status != "ok" ||
		late.CheckIns[0].Duration == nil || *late.CheckIns[0].Duration != 1.5 {
		t.Errorf("compat-late: %+v", late)
	}
}
