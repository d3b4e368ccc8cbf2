package server

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/app"
	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestJobsRunInLocalAssembly: `flytrap dev`'s server runs every job the
// application registers; retention deletes events older than the maximum
// age and session pruning deletes expired sessions and set-password
// links, judged by the jobs' clock (two hours ahead here).
func TestJobsRunInLocalAssembly(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := db.UserByEmail(ctx, b.AdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	realNow := time.Now()
	save := func(id string, received time.Time) {
		t.Helper()
		_, err := db.SaveEvent(ctx, store.SaveRequest{
			Event:       &event.Event{EventID: id, ProjectID: b.Project.ID, Source: event.SourceSentry, Timestamp: received, Received: received, Level: "error"},
			Fingerprint: "jobs", GroupingVersion: "test", Title: "Error jobs",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	const oldID, oldID2, recentID = "0000000000000000000000000000001a", "0000000000000000000000000000001b", "0000000000000000000000000000001c"
	save(oldID, realNow.Add(-72*time.Hour))
	save(oldID2, realNow.Add(-49*time.Hour))
	save(recentID, realNow.Add(-time.Hour))
	expired, _, err := db.CreateSession(ctx, admin.ID, time.Hour) // expired at the jobs' clock
	if err != nil {
		t.Fatal(err)
	}
	live, _, err := db.CreateSession(ctx, admin.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expiredLink, _, err := db.IssuePasswordLink(ctx, admin.ID, store.LinkReset, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	s := New(db, Config{
		Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 1,
		Retention:         app.Retention{MaxAge: 24 * time.Hour, Every: 20 * time.Millisecond},
		SessionPruneEvery: 20 * time.Millisecond,
		MonitorsEvery:     20 * time.Millisecond,
		SQLiteSpaceEvery:  20 * time.Millisecond,
		AlertsEvery:       20 * time.Millisecond,
		Now:               func() time.Time { return time.Now().Add(2 * time.Hour) },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln := httptest.NewUnstartedServer(nil).Listener
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	// /metrics has a series for every registered job, run or not.
	var runs map[string]int64
	waitFor(t, "each job to run twice", func() bool {
		runs = jobRuns(t, "http://"+ln.Addr().String()+"/metrics")
		for _, n := range runs {
			if n < 2 {
				return false
			}
		}
		return true
	})
	if got, want := slices.Sorted(maps.Keys(runs)), []string{app.JobAlerts, app.JobMonitors, app.JobRetention, app.JobSessions, app.JobSQLiteSpace}; !slices.Equal(got, want) {
		t.Errorf("jobs %v, want %v", got, want)
	}
	for id, want := range map[string]bool{oldID: false, oldID2: false, recentID: true} {
		if _, err := db.GetEvent(ctx, store.System, id); (err == nil) != want {
			t.Errorf("event %s: kept %v (%v), want %v", id, err == nil, err, want)
		}
	}
	// At the real time both sessions are still valid, so only a pruned
	// row makes one unusable.
	for tok, want := range map[string]bool{expired: false, live: true} {
		if _, _, err := db.SessionUser(ctx, tok, realNow); (err == nil) != want {
			t.Errorf("session %.8s…: kept %v (%v), want %v", tok, err == nil, err, want)
		}
	}
	if _, _, err := db.PasswordLinkUser(ctx, expiredLink, realNow); err == nil {
		t.Error("an expired set-password link was not pruned")
	}
}

// jobRuns reads flytrap_job_runs_total per job from a /metrics page.
func jobRuns(t *testing.T, url string) map[string]int64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", resp.StatusCode, body)
	}
	runs := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^flytrap_job_runs_total\{job="([^"]+)"\} (\d+)$`).FindAllSubmatch(body, -1) {
		runs[string(m[1])], _ = strconv.ParseInt(string(m[2]), 10, 64)
	}
	return runs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
