package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestMonitorsWaitForQueuedCheckIns restarts a server whose queue holds a
// monitor's check-in, received before the run's margin ended and not yet
// processed (here waiting for a retry, as after an upgrade under load):
// the monitors job, which runs at start, must not write the run missed,
// which would alert the project that the monitor is failing.
func TestMonitorsWaitForQueuedCheckIns(t *testing.T) {
	onEachStore(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		s, boot := devServerOn(t, db)
		now := time.Now().UTC()
		cfg := &event.MonitorConfig{ScheduleType: event.ScheduleInterval, Interval: 1, Unit: "hour", MarginMinutes: 5, MaxRuntimeMinutes: 30,
			FailureThreshold: 1, RecoveryThreshold: 1}
		// The last run was 70 minutes ago: the next was due 10 minutes
		// ago, its margin ended 5 minutes ago, and its check-in came 8
		// minutes ago.
		last := event.CheckIn{ID: fmt.Sprintf("%032x", 1), Slug: "sync", Status: event.CheckInOK, Config: cfg, Received: now.Add(-70 * time.Minute)}
		if _, err := db.SaveCheckIns(ctx, []store.CheckInRequest{{ProjectID: boot.Project.ID, CheckIn: last}}); err != nil {
			t.Fatal(err)
		}
		next := last
		next.ID, next.Received = fmt.Sprintf("%032x", 2), now.Add(-8*time.Minute)
		enqueueEvent(ctx, t, db, &event.Event{EventID: fmt.Sprintf("%032x", 3), ProjectID: boot.Project.ID, Source: event.SourceSentry,
			Received: next.Received, SessionsOnly: true, Crons: &event.Crons{CheckIns: []event.CheckIn{next}}, Shape: event.CurrentShape})
		if _, err := db.SQL().ExecContext(ctx, `UPDATE queue_messages SET enqueued_at = $1, visible_at = $2`,
			next.Received.UnixMilli(), now.Add(time.Hour).UnixMilli()); err != nil {
			t.Fatal(err)
		}

		ln := httptest.NewUnstartedServer(nil).Listener
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- s.Run(runCtx, ln) }()
		defer func() { cancel(); <-done }()
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(getMetrics(t, ln.Addr().String()), `flytrap_job_runs_total{job="monitors"} 1`); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the monitors job did not run")
			}
		}
		m, cis, err := db.GetMonitor(ctx, store.System, boot.Project.ID, "sync", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != store.MonitorOK || len(cis) != 1 {
			t.Errorf("monitor after the job: %s, check-ins %+v; want ok, the one run stored", m.Status, cis)
		}
	})
}

// getMetrics reads /metrics from the server at addr.
func getMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
