package main

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/app"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestJobsRunInDashboardAssembly: the EC2 dashboard runs every job the
// application registers, with the retention config.json gives it (1 day,
// as flytrap.yaml's retention.days would): events received before that
// are deleted from PostgreSQL, and expired sessions are pruned.
func TestJobsRunInDashboardAssembly(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	s := w.start(t)
	db, err := store.Open(ctx, w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin, err := db.UserByEmail(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := db.ActiveKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("active keys %v, %v; want the default project's", keys, err)
	}
	var pid int64
	for _, p := range keys {
		pid = p.ProjectID
	}
	now := time.Now()
	save := func(id string, received time.Time) {
		t.Helper()
		_, err := db.SaveEvent(ctx, store.SaveRequest{
			Event:       &event.Event{EventID: id, ProjectID: pid, Source: event.SourceSentry, Timestamp: received, Received: received, Level: "error"},
			Fingerprint: "jobs", GroupingVersion: "test", Title: "Error jobs",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	const oldID, oldID2, recentID = "0000000000000000000000000000002a", "0000000000000000000000000000002b", "0000000000000000000000000000002c"
	save(oldID, now.Add(-90*24*time.Hour))
	save(oldID2, now.Add(-25*time.Hour))
	save(recentID, now.Add(-time.Hour))
	if _, _, err := db.CreateSession(ctx, admin.ID, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	live, _, err := db.CreateSession(ctx, admin.ID, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	kept := func(id string) bool {
		_, err := db.GetEvent(ctx, store.System, id)
		return err == nil
	}
	sessions := func() int {
		var n int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE user_id = $1`, admin.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for kept(oldID) || kept(oldID2) || sessions() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s of 50 ms job intervals: old events kept %v %v, %d sessions (want 1)", kept(oldID), kept(oldID2), sessions())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !kept(recentID) {
		t.Error("retention deleted an event received an hour ago")
	}
	if _, _, err := db.SessionUser(ctx, live, time.Now()); err != nil {
		t.Errorf("the unexpired session was pruned: %v", err)
	}

	// Every registered job has run, and they are the ones `flytrap dev`
	// registers.
	token, _, err := db.CreateAPIToken(ctx, admin.ID, "prometheus")
	if err != nil {
		t.Fatal(err)
	}
	// A job's run counts when the whole job has finished: retention may
	// have deleted the old events above and still be pruning the rest.
	var runs map[string]int64
	deadline = time.Now().Add(10 * time.Second)
	for {
		code, _, body := get(t, http.DefaultClient, "http://"+s.http+"/metrics", "", "Authorization", "Bearer "+token)
		if code != http.StatusOK {
			t.Fatalf("GET /metrics = %d %s", code, body)
		}
		runs = jobRuns(body)
		idle := []string{}
		for name, n := range runs {
			if n < 1 {
				idle = append(idle, name)
			}
		}
		if len(idle) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s of 50 ms job intervals, jobs %v have not run once", idle)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, want := slices.Sorted(maps.Keys(runs)), []string{JobAlertSubscriptions, app.JobAlerts, app.JobArtifacts, app.JobMonitors, app.JobRetention, app.JobSessions}; !slices.Equal(got, want) {
		t.Errorf("jobs in /metrics %v, want %v", got, want)
	}
	// Without an SMTP secret, alert email goes through SNS: the admin,
	// the default project's member, is subscribed to its topic.
	if got, want := w.sns.Subscriptions(), []string{"flytrap-test-alerts-" + strconv.FormatInt(pid, 10) + ": " + admin.Email + " (pending)"}; !slices.Equal(got, want) {
		t.Errorf("SNS subscriptions %v, want %v", got, want)
	}
}

// jobRuns reads flytrap_job_runs_total per job from a /metrics page.
func jobRuns(body string) map[string]int64 {
	runs := map[string]int64{}
	for _, m := range regexp.MustCompile(`(?m)^flytrap_job_runs_total\{job="([^"]+)"\} (\d+)$`).FindAllStringSubmatch(body, -1) {
		runs[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
	}
	return runs
}
