package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestRetentionFirstRunWaits: after a (re)start retention waits a
// minute, or its interval when shorter, so its deletes do not compete
// with the workers catching up on a backlog; alerts go out at once.
func TestRetentionFirstRunWaits(t *testing.T) {
	tests := []struct {
		every, want time.Duration
	}{
		{0, RetentionDelay},
		{24 * time.Hour, RetentionDelay},
		{20 * time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.every.String(), func(t *testing.T) {
			a := New(openDB(t), Config{Retention: Retention{MaxAge: time.Hour, Every: tt.every}})
			delays := map[string]time.Duration{}
			for _, s := range a.jobs.jobs {
				delays[s.Name] = s.Delay
			}
			if delays[JobRetention] != tt.want || delays[JobAlerts] != 0 || delays[JobMonitors] != 0 {
				t.Errorf("first-run delays %v, want retention %v and alerts, monitors 0", delays, tt.want)
			}
		})
	}
}

func TestNewRegistersJobs(t *testing.T) {
	extra := Job{Name: "outbox", Every: time.Minute, Run: func(context.Context, time.Time) error { return nil }}
	tests := []struct {
		name      string
		retention Retention
		opts      []Option
		want      string
	}{
		{"event retention off", Retention{}, nil, JobRetention + "," + JobSessions + "," + JobMonitors + "," + JobSQLiteSpace + "," + JobAlerts},
		{"by age", Retention{MaxAge: time.Hour}, nil, JobRetention + "," + JobSessions + "," + JobMonitors + "," + JobSQLiteSpace + "," + JobAlerts},
		{"per issue", Retention{PerIssue: 10}, nil, JobRetention + "," + JobSessions + "," + JobMonitors + "," + JobSQLiteSpace + "," + JobAlerts},
		{"with an extra job", Retention{MaxAge: time.Hour}, []Option{WithJob(extra)}, JobRetention + "," + JobSessions + "," + JobMonitors + "," + JobSQLiteSpace + "," + JobAlerts + ",outbox"},
		{"with artifacts", Retention{}, []Option{WithArtifacts(artifact.Dir{Root: "unused"})}, JobRetention + "," + JobSessions + "," + JobMonitors + "," + JobSQLiteSpace + "," + JobArtifacts + "," + JobAlerts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(openDB(t), Config{Retention: tt.retention}, tt.opts...)
			if got := strings.Join(a.Jobs().Names(), ","); got != tt.want {
				t.Errorf("jobs %s, want %s", got, tt.want)
			}
		})
	}
}

// TestOperationsEndpointsAndOptions: /healthz, /readyz and /metrics are
// the same everywhere, and an assembly's extras join them through options.
func TestOperationsEndpointsAndOptions(t *testing.T) {
	var queueErr error
	authorize := func(_ context.Context, token string) error {
		if token != "admin" {
			return ops.ErrUnauthorized
		}
		return nil
	}
	tests := []struct {
		name        string
		opts        []Option
		queueDown   bool
		metricsAuth string
		wantReady   int
		wantMetrics int
		wantExtra   bool
	}{
		{"shared only", nil, false, "", 200, 200, false},
		{"extra check passing", []Option{WithReadyCheck(ops.Check{Name: "queue", Run: func(context.Context) error { return queueErr }})}, false, "", 200, 200, false},
		{"extra check failing", []Option{WithReadyCheck(ops.Check{Name: "queue", Run: func(context.Context) error { return queueErr }})}, true, "", 503, 200, false},
		{"extra metrics", []Option{WithMetrics(func(_ context.Context, w io.Writer) { ops.Metric(w, "flytrap_extra", "gauge", "Extra.", 7) })}, false, "", 200, 200, true},
		{"metrics behind a token, none sent", []Option{WithMetricsAuth(authorize)}, false, "", 200, 401, false},
		{"metrics behind a token, sent", []Option{WithMetricsAuth(authorize)}, false, "admin", 200, 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			queueErr = nil
			if tt.queueDown {
				queueErr = errors.New("queue table missing")
			}
			a := New(openDB(t), Config{Retention: Retention{MaxAge: time.Hour}, DataDir: t.TempDir(),
				FreeSpace: func(string) (uint64, error) { return 1 << 40, nil }}, tt.opts...)
			srv := httptest.NewServer(a.Handler())
			defer srv.Close()
			get := func(path, token string) (int, string) {
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, body := get("/healthz", ""); code != 200 || body != "ok\n" {
				t.Errorf("healthz = %d %q", code, body)
			}
			if code, _ := get("/readyz", ""); code != tt.wantReady {
				t.Errorf("readyz = %d, want %d", code, tt.wantReady)
			}
			code, body := get("/metrics", tt.metricsAuth)
			if code != tt.wantMetrics {
				t.Fatalf("metrics = %d, want %d", code, tt.wantMetrics)
			}
			if code != 200 {
				return
			}
			for _, name := range []string{
				"flytrap_db_open_connections", "flytrap_db_wait_total",
				"flytrap_live_subscribers", "flytrap_live_delivered_total", "flytrap_live_dropped_total",
				`flytrap_job_runs_total{job="retention"}`, `flytrap_job_runs_total{job="session-pruning"}`,
				`flytrap_job_failures_total{job="retention"}`, `flytrap_job_last_success_timestamp_seconds{job="session-pruning"}`,
			} {
				if !strings.Contains(body, "\n"+name+" ") {
					t.Errorf("metrics lack %s:\n%s", name, body)
				}
			}
			if got := strings.Contains(body, "\nflytrap_extra 7\n"); got != tt.wantExtra {
				t.Errorf("extra metric present %v, want %v", got, tt.wantExtra)
			}
		})
	}
}

// TestDiskSpaceMakesNotReady: the data directory check is shared; an
// assembly without a data directory skips it.
func TestDiskSpaceMakesNotReady(t *testing.T) {
	tests := []struct {
		name    string
		dataDir bool
		free    uint64
		want    int
	}{
		{"plenty", true, 1 << 40, 200},
		{"below the default minimum", true, ops.DefaultMinFreeBytes - 1, 503},
		{"no data directory", false, 0, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{FreeSpace: func(string) (uint64, error) { return tt.free, nil }}
			if tt.dataDir {
				cfg.DataDir = t.TempDir()
			}
			rec := httptest.NewRecorder()
			New(openDB(t), cfg).Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.want {
				t.Errorf("readyz = %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
		})
	}
}

// TestRetentionJobPrunesHistory: the retention job runs with event
// retention off too, and deletes dead letters older than the history age.
func TestRetentionJobPrunesHistory(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for i, died := range []time.Time{now.Add(-DefaultHistoryRetention - time.Hour), now.Add(-time.Hour)} {
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO queue_dead (id, body, attempts, reason, enqueued_at, died_at)
			VALUES ($1, $2, 5, 'boom', $3, $3)`, i+1, []byte("{}"), died.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	a := New(db, Config{Now: func() time.Time { return now }})
	var run func(context.Context, time.Time) error
	for _, j := range a.Jobs().jobs {
		if j.Name == JobRetention {
			run = j.Run
		}
	}
	if run == nil {
		t.Fatal("no retention job with event retention off")
	}
	if err := run(ctx, now); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	rows, err := db.SQL().QueryContext(ctx, `SELECT id FROM queue_dead`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != 1 || ids[0] != 2 {
		t.Errorf("dead letters left %v, want only the recent one (2)", ids)
	}
}

// TestMonitorsJobDropsHeldCheckIns: the monitors job drops the check-ins
// held an hour for a monitor no check-in made, and logs each as a dropped
// check-in.
func TestMonitorsJobDropsHeldCheckIns(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	p, err := db.CreateProject(ctx, "cron")
	if err != nil {
		t.Fatal(err)
	}
	ci := event.CheckIn{ID: strings.Repeat("ab", 16), Slug: "nightly", Status: event.CheckInOK, Received: now.Add(-2 * time.Hour)}
	if res, err := db.SaveCheckIns(ctx, []store.CheckInRequest{{ProjectID: p.ID, CheckIn: ci}}); err != nil || !res[0].Held {
		t.Fatalf("SaveCheckIns = %+v, %v; want held", res, err)
	}
	var logs bytes.Buffer
	a := New(db, Config{Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	var run func(context.Context, time.Time) error
	for _, j := range a.Jobs().jobs {
		if j.Name == JobMonitors {
			run = j.Run
		}
	}
	if err := run(ctx, now); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), `msg="dropped a check-in"`) || !strings.Contains(logs.String(), "monitor=nightly check_in_id="+ci.ID) {
		t.Errorf("log:\n%s\nwant the held check-in logged as dropped", &logs)
	}
	if left, err := db.PruneHeldCheckIns(ctx, now); err != nil || len(left) != 0 {
		t.Errorf("PruneHeldCheckIns after the job = %+v, %v; want none left", left, err)
	}
}

// TestMonitorsJobPerEnvironment: the monitors job judges each environment
// of a monitor on its own: staging stopping is logged as staging failing,
// and production, on time, is not judged.
func TestMonitorsJobPerEnvironment(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	p, err := db.CreateProject(ctx, "cron")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleInterval, Interval: 1, Unit: "hour", MarginMinutes: 5, MaxRuntimeMinutes: 30,
		FailureThreshold: 1, RecoveryThreshold: 1}
	var reqs []store.CheckInRequest
	for i, c := range []struct {
		env string
		at  time.Time
	}{{"staging", now.Add(-2 * time.Hour)}, {"production", now.Add(-2 * time.Hour)}, {"production", now.Add(-time.Hour)}, {"production", now}} {
		reqs = append(reqs, store.CheckInRequest{ProjectID: p.ID, CheckIn: event.CheckIn{ID: fmt.Sprintf("%032x", i), Slug: "sync",
			Status: event.CheckInOK, Environment: c.env, Config: cfg, Received: c.at}})
	}
	if _, err := db.SaveCheckIns(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a := New(db, Config{Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, j := range a.Jobs().jobs {
		if j.Name == JobMonitors {
			if err := j.Run(ctx, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := strings.Count(logs.String(), `msg="monitor status changed"`); got != 1 ||
		!strings.Contains(logs.String(), "monitor=sync environment=staging status=failing check_in=missed") {
		t.Errorf("log:\n%s\nwant staging's missed run alone logged", &logs)
	}
}

// TestMonitorsJobJudgesAsOfTheQueue: while the queue holds a message
// enqueued before a run's margin ended, the run's check-in may be in it,
// so the monitors job does not write the run missed; it does once the
// queue's oldest message is younger, and a message older than
// MaxMonitorsLag holds it back no further.
func TestMonitorsJobJudgesAsOfTheQueue(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleInterval, Interval: 1, Unit: "hour", MarginMinutes: 5, MaxRuntimeMinutes: 30,
		FailureThreshold: 1, RecoveryThreshold: 1}
	for _, tc := range []struct {
		name       string
		lastOK     time.Duration // before now; the next run is due an hour after
		oldest     time.Duration // before now; 0 for an empty queue
		wantMissed bool
	}{
		{"queue empty", 70 * time.Minute, 0, true},
		{"message from before the margin ended", 70 * time.Minute, 8 * time.Minute, false},
		{"message from after the margin ended", 70 * time.Minute, time.Minute, true},
		{"message older than the lag allowed", 3 * time.Hour, 4 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openDB(t)
			p, err := db.CreateProject(ctx, "cron")
			if err != nil {
				t.Fatal(err)
			}
			ci := event.CheckIn{ID: strings.Repeat("ab", 16), Slug: "sync", Status: event.CheckInOK, Config: cfg, Received: now.Add(-tc.lastOK)}
			if _, err := db.SaveCheckIns(ctx, []store.CheckInRequest{{ProjectID: p.ID, CheckIn: ci}}); err != nil {
				t.Fatal(err)
			}
			oldest := func(context.Context) (time.Time, bool, error) {
				return now.Add(-tc.oldest), tc.oldest > 0, nil
			}
			var logs bytes.Buffer
			a := New(db, Config{Now: func() time.Time { return now }, QueueOldest: oldest, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			for _, j := range a.Jobs().jobs {
				if j.Name == JobMonitors {
					if err := j.Run(ctx, now); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := strings.Contains(logs.String(), "status=failing check_in=missed"); got != tc.wantMissed {
				t.Errorf("missed written: %v, want %v; log:\n%s", got, tc.wantMissed, &logs)
			}
		})
	}
}
