package store

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// hourly is the config of a monitor due at minute 0 of every hour, with
// sentry's defaults.
func hourly() *event.MonitorConfig {
	return &event.MonitorConfig{ScheduleType: event.ScheduleCrontab, Crontab: "0 * * * *", MarginMinutes: 1,
		MaxRuntimeMinutes: 30, FailureThreshold: 1, RecoveryThreshold: 1}
}

// checkIn is a check-in of slug with ID id (a number made 32 hex digits).
func checkIn(pid int64, slug string, id int, status string, at time.Time, cfg *event.MonitorConfig) CheckInRequest {
	return CheckInRequest{ProjectID: pid, CheckIn: event.CheckIn{ID: fmt.Sprintf("%032x", id), Slug: slug, Status: status,
		Environment: "production", Release: "1.0", Config: cfg, Received: at}}
}

func (e *env) saveCheckIns(reqs ...CheckInRequest) []CheckInResult {
	e.t.Helper()
	res, err := e.db.SaveCheckIns(e.ctx, reqs)
	if err != nil {
		e.t.Fatalf("SaveCheckIns: %v", err)
	}
	return res
}

func (e *env) monitor(slug string) (Monitor, []CheckIn) {
	e.t.Helper()
	m, cis, err := e.db.GetMonitor(e.ctx, System, e.project.ID, slug, "", 100)
	if err != nil {
		e.t.Fatalf("GetMonitor(%q): %v", slug, err)
	}
	return m, cis
}

func statuses(cis []CheckIn) string {
	s := ""
	for _, c := range cis {
		s += c.Status + " "
	}
	return s
}

// testMonitors: a check-in with a config creates its monitor, one without
// for an unknown slug is held, an in_progress is finished by its ok,
// failures and recoveries change the status once each, and only those
// who see the project see its monitors.
func testMonitors(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	if res := e.saveCheckIns(checkIn(pid, "weekly", 1, event.CheckInOK, t0, nil)); !res[0].Held || res[0].Dropped != "" {
		t.Fatalf("a check-in of an unknown monitor without a config: %+v, want held", res[0])
	}
	if ms, err := db.ListMonitors(ctx, System, pid); err != nil || len(ms) != 0 {
		t.Fatalf("ListMonitors = %v, %v; want none made", ms, err)
	}
	start := t0.Add(10 * time.Second) // 10:00:10
	res := e.saveCheckIns(checkIn(pid, "nightly", 2, event.CheckInInProgress, start, hourly()))
	m := res[0].Monitor
	if res[0].Dropped != "" || m.Status != MonitorNew || !m.NextExpected.Equal(t0.Add(time.Hour)) || m.LastStatus != event.CheckInInProgress {
		t.Fatalf("first check-in with a config: %+v, want a new monitor due at 11:00", res[0])
	}
	// The run ends: the same ID, ok, with a duration; and the SDK sends
	// it again.
	done := checkIn(pid, "nightly", 2, event.CheckInOK, start.Add(time.Minute), nil)
	d := 61.5
	done.CheckIn.Duration = &d
	res = e.saveCheckIns(done, done)
	if res[0].Duplicate || !res[1].Duplicate || res[0].Monitor.Status != MonitorOK || res[0].Transition != "" {
		t.Fatalf("ok after in_progress, twice: %+v", res)
	}
	m, cis := e.monitor("nightly")
	if len(cis) != 1 || cis[0].Status != event.CheckInOK || cis[0].Duration == nil || *cis[0].Duration != 61500*time.Millisecond ||
		!cis[0].Received.Equal(start) || cis[0].Environment != "production" || cis[0].Release != "1.0" {
		t.Fatalf("check-ins = %+v, want the one run, ok, 61.5 s", cis)
	}
	if m.Config != *hourly() || m.LastStatus != event.CheckInOK || !m.LastCheckIn.Equal(start) {
		t.Errorf("monitor = %+v", m)
	}
	// A late in_progress of the finished run changes nothing.
	if res := e.saveCheckIns(checkIn(pid, "nightly", 2, event.CheckInInProgress, start.Add(2*time.Minute), nil)); !res[0].Duplicate {
		t.Errorf("in_progress after ok: %+v, want a duplicate", res[0])
	}

	// Two failures in a row with a threshold of 2 fail it once; the
	// config comes with the check-in, as SDKs send it with each.
	cfg := hourly()
	cfg.FailureThreshold, cfg.RecoveryThreshold = 2, 2
	at := t0.Add(time.Hour)
	var got []string
	for i, st := range []string{event.CheckInError, event.CheckInError, event.CheckInError, event.CheckInOK, event.CheckInOK, event.CheckInOK} {
		r := e.saveCheckIns(checkIn(pid, "nightly", 10+i, st, at.Add(time.Duration(i)*time.Hour), cfg))[0]
		got = append(got, r.Monitor.Status+":"+r.Transition)
	}
	if fmt.Sprint(got) != "[ok: failing:failing failing: failing: ok:recovered ok:]" {
		t.Errorf("statuses and transitions = %v", got)
	}

	// Another project's monitor of the same slug is another monitor.
	other := e.createProject("other")
	if r := e.saveCheckIns(checkIn(other.ID, "nightly", 2, event.CheckInOK, start, hourly()))[0]; r.Duplicate || r.Monitor.ID == m.ID {
		t.Errorf("same slug and ID in another project: %+v", r)
	}

	// Visibility and deletion.
	member := e.createUser("member@example.com", RoleMember)
	stranger := e.createUser("stranger@example.com", RoleMember)
	e.addMember(e.project, member)
	if ms, err := db.ListMonitors(ctx, Viewer{UserID: member.ID}, pid); err != nil || len(ms) != 1 || ms[0].Slug != "nightly" {
		t.Errorf("member ListMonitors = %+v, %v", ms, err)
	}
	_, err := db.ListMonitors(ctx, Viewer{UserID: stranger.ID}, pid)
	wantErr(t, "stranger ListMonitors", err, ErrNotFound)
	_, _, err = db.GetMonitor(ctx, Viewer{UserID: stranger.ID}, pid, "nightly", "", 10)
	wantErr(t, "stranger GetMonitor", err, ErrNotFound)
	_, _, err = db.GetMonitor(ctx, System, pid, "nope", "", 10)
	wantErr(t, "GetMonitor of an unknown slug", err, ErrNotFound)
	wantErr(t, "member DeleteMonitor", db.DeleteMonitor(ctx, Viewer{UserID: member.ID}, pid, "nightly"), ErrForbidden)
	if err := db.DeleteMonitor(ctx, System, pid, "nightly"); err != nil {
		t.Fatalf("DeleteMonitor: %v", err)
	}
	wantErr(t, "DeleteMonitor again", db.DeleteMonitor(ctx, System, pid, "nightly"), ErrNotFound)
	if n := e.count(`SELECT COUNT(*) FROM monitor_checkins WHERE monitor_id = $1`, m.ID); n != 0 {
		t.Errorf("%d check-ins left of the deleted monitor", n)
	}
	if err := db.DeleteProject(ctx, System, other.ID); err != nil {
		t.Fatalf("DeleteProject with a monitor: %v", err)
	}
	if r := e.saveCheckIns(checkIn(other.ID, "nightly", 3, event.CheckInOK, start, hourly()))[0]; !r.Orphan {
		t.Errorf("check-in of a deleted project: %+v, want an orphan", r)
	}
}

// testMonitorsHeld: check-ins without a config that arrive before the one
// that creates their monitor are held and applied after it in the order
// received, whichever order the SDK's requests were stored in; the held
// are bounded per project, expire after HeldCheckInTTL and go with their
// project.
func testMonitorsHeld(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	// withMonitor's two requests, sent at once: the end received a
	// moment before the start, and stored first (and again).
	start := t0.Add(10 * time.Second)
	done := checkIn(pid, "race", 1, event.CheckInOK, start.Add(-time.Millisecond), nil)
	d := 61.5
	done.CheckIn.Duration = &d
	res := e.saveCheckIns(done, done)
	if !res[0].Held || res[0].Duplicate || !res[1].Held || !res[1].Duplicate {
		t.Fatalf("ok of an unknown monitor, twice: %+v; want held, then a duplicate", res)
	}
	if ms, err := db.ListMonitors(ctx, System, pid); err != nil || len(ms) != 0 {
		t.Fatalf("ListMonitors = %v, %v; want none made by a held check-in", ms, err)
	}
	r := e.saveCheckIns(checkIn(pid, "race", 1, event.CheckInInProgress, start, hourly()))[0]
	if r.Held || r.Dropped != "" || r.Monitor.Status != MonitorOK || r.Monitor.LastStatus != event.CheckInOK || !r.Monitor.LastCheckIn.Equal(start) {
		t.Fatalf("in_progress with the config after its ok: %+v; want the monitor ok", r)
	}
	m, cis := e.monitor("race")
	if len(cis) != 1 || cis[0].Status != event.CheckInOK || cis[0].Duration == nil || *cis[0].Duration != 61500*time.Millisecond ||
		!cis[0].Received.Equal(start) || m.Status != MonitorOK || m.LastStatus != event.CheckInOK {
		t.Fatalf("monitor %+v, check-ins %+v; want one run, ok, 61.5 s, started at the in_progress", m, cis)
	}
	// The in_progress again finds the run finished and does not reopen it.
	if r := e.saveCheckIns(checkIn(pid, "race", 1, event.CheckInInProgress, start, hourly()))[0]; !r.Duplicate {
		t.Errorf("in_progress of a finished run: %+v, want a duplicate", r)
	}

	// A held in_progress is finished by its held end; other held
	// check-ins become runs of their own, in the order received.
	e.saveCheckIns(checkIn(pid, "late", 3, event.CheckInError, t0.Add(time.Minute), nil),
		checkIn(pid, "late", 2, event.CheckInInProgress, t0, nil),
		checkIn(pid, "late", 2, event.CheckInOK, t0.Add(30*time.Second), nil))
	r = e.saveCheckIns(checkIn(pid, "late", 4, event.CheckInOK, t0.Add(time.Hour), hourly()))[0]
	if _, cis := e.monitor("late"); statuses(cis) != "error ok ok " || r.Monitor.Status != MonitorFailing || !r.Monitor.LastCheckIn.Equal(t0.Add(time.Hour)) {
		t.Errorf("held runs = %q, monitor %+v; want the created ok, then ok and error from the held", statuses(cis), r.Monitor)
	}
	if n := e.count(`SELECT COUNT(*) FROM monitor_held_checkins WHERE project_id = $1`, pid); n != 0 {
		t.Errorf("%d check-ins still held after their monitors were made", n)
	}

	// The bound: the oldest held are dropped first.
	other := e.createProject("held")
	reqs := make([]CheckInRequest, MaxHeldCheckInsPerProject+1)
	for i := range reqs {
		reqs[i] = checkIn(other.ID, fmt.Sprintf("job-%d", i), i, event.CheckInOK, t0.Add(time.Duration(i)*time.Millisecond), nil)
	}
	res = e.saveCheckIns(reqs...)
	if r := res[len(res)-2]; !r.Held || r.HeldDropped != 0 {
		t.Errorf("check-in %d held: %+v, want held with none dropped", len(res)-1, r)
	}
	if r := res[len(res)-1]; !r.Held || r.HeldDropped != 1 {
		t.Errorf("check-in %d held: %+v, want held with the oldest dropped", len(res), r)
	}
	if n := e.count(`SELECT COUNT(*) FROM monitor_held_checkins WHERE project_id = $1`, other.ID); n != MaxHeldCheckInsPerProject {
		t.Errorf("%d held of %d sent; want %d", n, len(reqs), MaxHeldCheckInsPerProject)
	}
	if n := e.count(`SELECT COUNT(*) FROM monitor_held_checkins WHERE slug = 'job-0'`); n != 0 {
		t.Errorf("the oldest held check-in is still held")
	}
	// Expiry, by the monitors job: none before the hour, then the
	// oldest first, a batch a run.
	prune := func(now time.Time) []DroppedCheckIn {
		t.Helper()
		out, err := db.PruneHeldCheckIns(ctx, now)
		if err != nil {
			t.Fatalf("PruneHeldCheckIns(%s): %v", now, err)
		}
		return out
	}
	if out := prune(t0.Add(HeldCheckInTTL)); len(out) != 0 {
		t.Errorf("pruned %d held check-ins before the hour", len(out))
	}
	out := prune(t0.Add(HeldCheckInTTL + time.Second))
	if len(out) != maxJudgedPerRun || out[0] != (DroppedCheckIn{ProjectID: other.ID, Slug: "job-1", ID: fmt.Sprintf("%032x", 1)}) {
		t.Fatalf("first prune: %d, first %+v; want %d, job-1 first", len(out), out[0], maxJudgedPerRun)
	}
	if n := e.count(`SELECT COUNT(*) FROM monitor_held_checkins WHERE project_id = $1`, other.ID); n != MaxHeldCheckInsPerProject-maxJudgedPerRun {
		t.Errorf("%d held after the first prune", n)
	}
	// Deleting the project deletes its held check-ins.
	if err := db.DeleteProject(ctx, System, other.ID); err != nil {
		t.Fatalf("DeleteProject with held check-ins: %v", err)
	}
	if n := e.count(`SELECT COUNT(*) FROM monitor_held_checkins WHERE project_id = $1`, other.ID); n != 0 {
		t.Errorf("%d held check-ins left of the deleted project", n)
	}
}

// testMonitorLegacySlug: a check-in whose slug has no monitor but whose
// legacy slug, the one earlier releases made of its monitor_slug, has
// one in its project renames that monitor, which keeps its check-ins
// and state; a monitor of the slug itself, or of the legacy slug in
// another project, is not touched.
func testMonitorLegacySlug(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	legacy := func(r CheckInRequest, slug string) CheckInRequest {
		r.CheckIn.LegacySlug = slug
		return r
	}
	old := e.saveCheckIns(checkIn(pid, "caf", 1, event.CheckInError, t0, hourly()))[0].Monitor
	e.saveCheckIns(checkIn(pid, "n-code-job", 2, event.CheckInOK, t0, hourly()),
		checkIn(pid, "unicode-job", 3, event.CheckInOK, t0, hourly()))

	other := e.createProject("legacy")
	if r := e.saveCheckIns(legacy(checkIn(other.ID, "cafe", 4, event.CheckInOK, t0, nil), "caf"))[0]; !r.Held {
		t.Errorf("check-in of a project without the legacy slug's monitor: %+v, want held", r)
	}

	r := e.saveCheckIns(legacy(checkIn(pid, "cafe", 5, event.CheckInOK, t0.Add(time.Hour), nil), "caf"))[0]
	if r.Held || r.Dropped != "" || r.Monitor.ID != old.ID || r.Monitor.Slug != "cafe" || r.Transition != TransitionRecovered {
		t.Fatalf("check-in of the renamed monitor: %+v; want monitor %d renamed cafe, recovered", r, old.ID)
	}
	m, cis := e.monitor("cafe")
	if m.ID != old.ID || statuses(cis) != "ok error " || m.Status != MonitorOK {
		t.Errorf("monitor cafe %d, check-ins %q, status %s; want %d with both runs, ok", m.ID, statuses(cis), m.Status, old.ID)
	}
	_, _, err := db.GetMonitor(ctx, System, pid, "caf", "", 100)
	wantErr(t, "GetMonitor of the legacy slug after the rename", err, ErrNotFound)

	// Both slugs have a monitor: the check-in is the new slug's.
	r = e.saveCheckIns(legacy(checkIn(pid, "unicode-job", 6, event.CheckInError, t0.Add(time.Hour), nil), "n-code-job"))[0]
	if _, cis := e.monitor("n-code-job"); r.Monitor.Slug != "unicode-job" || statuses(cis) != "ok " {
		t.Errorf("check-in %+v, n-code-job's runs %q; want unicode-job's, n-code-job untouched", r.Monitor, statuses(cis))
	}
	if n := e.count(`SELECT COUNT(*) FROM monitors WHERE project_id = $1`, other.ID); n != 0 {
		t.Errorf("%d monitors in the other project; want none", n)
	}
}

// testMonitorsHeldRace: on PostgreSQL a check-in held in one transaction
// while another makes its monitor is not left behind: the maker waits
// for the holder, then takes what it held.
func testMonitorsHeldRace(e *env) {
	if e.db.Dialect() != DialectPostgres {
		return // SQLite writes one transaction at a time.
	}
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// The first half of a SaveCheckIns, stopped before its commit.
	done := checkIn(pid, "race", 1, event.CheckInOK, t0, nil)
	if err := db.lockMonitorProjects(ctx, tx, []CheckInRequest{done}); err != nil {
		t.Fatal(err)
	}
	if r, err := db.saveCheckIn(ctx, tx, pid, done.CheckIn); err != nil || !r.Held {
		t.Fatalf("hold = %+v, %v", r, err)
	}
	made := make(chan error, 1)
	go func() {
		_, err := db.SaveCheckIns(ctx, []CheckInRequest{checkIn(pid, "race", 1, event.CheckInInProgress, t0, hourly())})
		made <- err
	}()
	time.Sleep(300 * time.Millisecond) // the maker reaches the held check-ins, or the lock
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-made; err != nil {
		t.Fatal(err)
	}
	if _, cis := e.monitor("race"); statuses(cis) != "ok " {
		t.Errorf("runs %q, want the one run ok", statuses(cis))
	}
	if n := e.count(`SELECT COUNT(*) FROM monitor_held_checkins`); n != 0 {
		t.Errorf("%d check-ins left held", n)
	}
}

// testMonitorsBoundedConcurrent: on PostgreSQL, workers making monitors
// in one project at once stay within MaxNewMonitorsPerHour and
// MaxMonitorsPerProject: each counts the monitors under the project's
// lock, after the others' commits.
func testMonitorsBoundedConcurrent(e *env) {
	if e.db.Dialect() != DialectPostgres {
		return // SQLite writes one transaction at a time.
	}
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	const workers, each = 8, 25
	run := func(at time.Time, prefix string) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				// One transaction per check-in, as a queue delivers
				// them, so that the workers' counts interleave.
				for i := range each {
					req := checkIn(pid, fmt.Sprintf("%s-%d-%d", prefix, w, i), w*each+i, event.CheckInOK, at, hourly())
					if _, err := db.SaveCheckIns(ctx, []CheckInRequest{req}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	run(t0, "hour")
	if n := e.count(`SELECT COUNT(*) FROM monitors WHERE project_id = $1`, pid); n != MaxNewMonitorsPerHour {
		t.Errorf("%d monitors made by %d workers of %d each in an hour, want the bound %d", n, workers, each, MaxNewMonitorsPerHour)
	}
	// Made days ago, up to a few short of the project's bound.
	if _, err := db.db.ExecContext(ctx, `INSERT INTO monitors (project_id, slug, schedule_type, crontab, interval_n, interval_unit, timezone,
		margin_minutes, max_runtime_minutes, failure_threshold, recovery_threshold, created_at)
		SELECT $1, 'old-' || g, 'crontab', '0 * * * *', 0, '', '', 1, 30, 1, 1, $2
		FROM generate_series(1, $3) g`, pid, millis(t0.Add(-72*time.Hour)), MaxMonitorsPerProject-MaxNewMonitorsPerHour-3); err != nil {
		t.Fatal(err)
	}
	run(t0.Add(2*time.Hour), "later")
	if n := e.count(`SELECT COUNT(*) FROM monitors WHERE project_id = $1`, pid); n != MaxMonitorsPerProject {
		t.Errorf("%d monitors after %d workers made more, want the bound %d", n, workers, MaxMonitorsPerProject)
	}
}

// testMonitorsLockOrder: on PostgreSQL, a batch that locked a monitor's
// row and then makes a monitor does not deadlock with a batch that made a
// monitor and then reaches that row: both take the project's lock before
// any row. A third transaction holds the first batch between the two.
func testMonitorsLockOrder(e *env) {
	if e.db.Dialect() != DialectPostgres {
		return // SQLite writes one transaction at a time.
	}
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	e.saveCheckIns(checkIn(pid, "shared", 1, event.CheckInOK, t0, hourly()), checkIn(pid, "gate", 2, event.CheckInOK, t0, hourly()))
	gate, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Rollback()
	var id int64
	if err := gate.QueryRowContext(ctx, `SELECT id FROM monitors WHERE slug = 'gate' FOR UPDATE`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	done := make(chan error, 2)
	go func() {
		_, err := db.SaveCheckIns(ctx, []CheckInRequest{checkIn(pid, "shared", 10, event.CheckInOK, at, nil),
			checkIn(pid, "gate", 11, event.CheckInOK, at, nil), checkIn(pid, "first-new", 12, event.CheckInOK, at, hourly())})
		done <- err
	}()
	e.waitLockWaiters(1)
	go func() {
		_, err := db.SaveCheckIns(ctx, []CheckInRequest{checkIn(pid, "second-new", 20, event.CheckInOK, at, hourly()),
			checkIn(pid, "shared", 21, event.CheckInOK, at, nil)})
		done <- err
	}()
	e.waitLockWaiters(2)
	if err := gate.Commit(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("a batch failed: %v", err)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM monitors WHERE project_id = $1`, pid); n != 4 {
		t.Errorf("%d monitors, want shared, gate and the two made", n)
	}
	if _, cis := e.monitor("shared"); len(cis) != 3 {
		t.Errorf("shared has %d check-ins, want 3", len(cis))
	}
}

// waitLockWaiters waits until n transactions of the test's database wait
// for a lock.
func (e *env) waitLockWaiters(n int64) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got := e.count(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d transactions wait for a lock, want %d", got, n)
		}
	}
}

// testMonitorsBounded: a project makes at most MaxNewMonitorsPerHour
// monitors an hour and MaxMonitorsPerProject in all; check-ins of the
// ones it has still count.
func testMonitorsBounded(e *env) {
	pid := e.project.ID
	// An hour's worth and one more, in the same minute.
	reqs := make([]CheckInRequest, MaxNewMonitorsPerHour+1)
	for i := range reqs {
		reqs[i] = checkIn(pid, fmt.Sprintf("job-%d", i), i, event.CheckInOK, t0, hourly())
	}
	res := e.saveCheckIns(reqs...)
	if res[MaxNewMonitorsPerHour-1].Dropped != "" || !strings.Contains(res[MaxNewMonitorsPerHour].Dropped, "in the last hour") {
		e.t.Fatalf("the last two of %d in one minute: %+v, %+v; want the last dropped", len(reqs), res[MaxNewMonitorsPerHour-1], res[MaxNewMonitorsPerHour])
	}
	if r := e.saveCheckIns(checkIn(pid, "late", 1, event.CheckInOK, t0.Add(59*time.Minute), hourly()))[0]; r.Dropped == "" {
		e.t.Errorf("a new monitor 59 minutes later: %+v, want dropped", r)
	}
	// Then an hour's worth every hour, up to the project's bound.
	at := t0
	for made := MaxNewMonitorsPerHour; made < MaxMonitorsPerProject; made += MaxNewMonitorsPerHour {
		at = at.Add(time.Hour)
		reqs = reqs[:0]
		for i := made; i < made+MaxNewMonitorsPerHour; i++ {
			reqs = append(reqs, checkIn(pid, fmt.Sprintf("job-%d", i), i, event.CheckInOK, at, hourly()))
		}
		for i, r := range e.saveCheckIns(reqs...) {
			if r.Dropped != "" {
				e.t.Fatalf("monitor %d, at %s: %+v", made+i, at, r)
			}
		}
	}
	if r := e.saveCheckIns(checkIn(pid, "one-more", 1, event.CheckInOK, at.Add(2*time.Hour), hourly()))[0]; !strings.Contains(r.Dropped, "the most it may have") {
		e.t.Errorf("monitor %d: %+v, want dropped", MaxMonitorsPerProject+1, r)
	}
	if r := e.saveCheckIns(checkIn(pid, "job-0", 5000, event.CheckInOK, at.Add(2*time.Hour), nil))[0]; r.Dropped != "" {
		e.t.Errorf("a check-in of a kept monitor: %+v", r)
	}
}

// testJudgeMonitors: the monitors job writes a missed check-in once per
// late run and a timeout for a run in progress past its max runtime, each
// a failure, and a crontab is read in its monitor's time zone.
func testJudgeMonitors(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	judge := func(now time.Time) []MonitorTransition {
		t.Helper()
		ts, err := db.JudgeMonitors(ctx, now)
		if err != nil {
			t.Fatalf("JudgeMonitors(%s): %v", now, err)
		}
		return ts
	}
	// Due at 11:00 with a minute's margin.
	e.saveCheckIns(checkIn(pid, "hourly", 1, event.CheckInOK, t0, hourly()))
	if ts := judge(t0.Add(time.Hour + time.Minute)); len(ts) != 0 {
		t.Fatalf("at the end of the margin: %+v, want nothing yet", ts)
	}
	ts := judge(t0.Add(time.Hour + time.Minute + time.Second))
	if len(ts) != 1 || ts[0].Transition != TransitionFailing || ts[0].CheckIn.Status != event.CheckInMissed || !ts[0].CheckIn.Received.Equal(t0.Add(time.Hour)) {
		t.Fatalf("past the margin: %+v, want one missed run due at 11:00 that fails the monitor", ts)
	}
	if ts := judge(t0.Add(time.Hour + 2*time.Minute)); len(ts) != 0 {
		t.Errorf("judged again: %+v", ts)
	}
	m, cis := e.monitor("hourly")
	if statuses(cis) != "missed ok " || m.Status != MonitorFailing || !m.NextExpected.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("after a missed run: %+v, check-ins %s; want failing, due at 12:00", m, statuses(cis))
	}
	// A server down for five hours writes one missed run, not five.
	judge(t0.Add(7 * time.Hour))
	m, cis = e.monitor("hourly")
	if statuses(cis) != "missed missed ok " || !m.NextExpected.Equal(t0.Add(7*time.Hour)) {
		t.Errorf("after five hours down: %s, due %s", statuses(cis), m.NextExpected)
	}
	// The job runs again on time: ok recovers it.
	if r := e.saveCheckIns(checkIn(pid, "hourly", 2, event.CheckInOK, t0.Add(7*time.Hour), nil))[0]; r.Transition != TransitionRecovered {
		t.Errorf("ok after missed: %+v, want recovered", r)
	}

	// A run in progress past its 30 minutes times out.
	e.saveCheckIns(checkIn(pid, "long", 3, event.CheckInInProgress, t0, hourly()))
	if ts := judge(t0.Add(30 * time.Minute)); len(ts) != 0 {
		t.Fatalf("at max runtime: %+v", ts)
	}
	ts = judge(t0.Add(31 * time.Minute))
	if len(ts) != 1 || ts[0].Monitor.Slug != "long" || ts[0].CheckIn.Status != event.CheckInTimeout || ts[0].Transition != TransitionFailing {
		t.Fatalf("past max runtime: %+v, want the long run timed out", ts)
	}
	// Its ok, late, does not undo the timeout.
	if r := e.saveCheckIns(checkIn(pid, "long", 3, event.CheckInOK, t0.Add(40*time.Minute), nil))[0]; !r.Duplicate {
		t.Errorf("ok after timeout: %+v, want a duplicate", r)
	}
	if _, cis := e.monitor("long"); statuses(cis) != "timeout " {
		t.Errorf("long's check-ins: %s", statuses(cis))
	}

	// 09:00 in Vienna is 08:00 UTC in March (CET) and 07:00 UTC in July
	// (CEST).
	vienna := hourly()
	vienna.Crontab, vienna.Timezone = "0 9 * * *", "Europe/Vienna"
	if r := e.saveCheckIns(checkIn(pid, "vienna", 4, event.CheckInOK, t0, vienna))[0]; !r.Monitor.NextExpected.Equal(time.Date(2026, 3, 15, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("vienna in March: next %s, want 08:00 UTC the next day", r.Monitor.NextExpected)
	}
	july := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	if r := e.saveCheckIns(checkIn(pid, "vienna", 5, event.CheckInOK, july, nil))[0]; !r.Monitor.NextExpected.Equal(time.Date(2026, 7, 2, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("vienna in July: next %s, want 07:00 UTC the next day", r.Monitor.NextExpected)
	}
}

// testJudgeMissedRunsOnSchedule: a job that stops checking in has its
// missed runs dated when each was due, a schedule's step apart, however
// late within the margin the job notices each: the next run counts from
// the missed one, not from the judging.
func testJudgeMissedRunsOnSchedule(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleInterval, Interval: 1, Unit: "minute", MarginMinutes: 1,
		MaxRuntimeMinutes: 30, FailureThreshold: 1, RecoveryThreshold: 1}
	e.saveCheckIns(checkIn(pid, "minutely", 1, event.CheckInOK, t0, cfg))
	for now := t0; !now.After(t0.Add(10 * time.Minute)); now = now.Add(30 * time.Second) {
		if _, err := db.JudgeMonitors(ctx, now); err != nil {
			t.Fatalf("JudgeMonitors(%s): %v", now, err)
		}
	}
	_, cis := e.monitor("minutely")
	var got []string
	for i := len(cis) - 1; i >= 0; i-- {
		if cis[i].Status == event.CheckInMissed {
			got = append(got, cis[i].Received.Sub(t0).String())
		}
	}
	if want := "[1m0s 2m0s 3m0s 4m0s 5m0s 6m0s 7m0s 8m0s]"; fmt.Sprint(got) != want {
		t.Errorf("missed runs after t0 = %v, want %s", got, want)
	}
}

// testMonitorAlerts: a monitor going failing and recovering writes one
// notification to each alert channel of its project per transition,
// from a check-in or from the monitors job, and nothing in between.
func testMonitorAlerts(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	if _, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: pid, Kind: ChannelWebhook, Name: "ops", URL: "https://example.com/hook"}); err != nil {
		t.Fatal(err)
	}
	channels, err := db.ListAlertChannels(ctx, System, pid)
	if err != nil || len(channels) < 1 {
		t.Fatalf("ListAlertChannels = %v, %v", channels, err)
	}
	reasons := func() map[string]int {
		t.Helper()
		ns, err := db.ListNotifications(ctx, System, pid, 100)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, n := range ns {
			m[n.Reason]++
			if n.Reason == ReasonMonitorFailing && (n.Payload.Title != "Monitor nightly is failing in production" || n.IssueID != 0) {
				t.Errorf("failing notification %+v", n)
			}
			mon := n.Payload.Monitor
			if mon == nil || mon.Slug != "nightly" || mon.Schedule != "0 * * * *" {
				t.Fatalf("%s notification's monitor = %+v, want nightly 0 * * * *", n.Reason, mon)
			}
			switch {
			case n.Reason == ReasonMonitorRecovered && (mon.Status != MonitorOK || mon.CheckIn.Status != event.CheckInOK || mon.OKStreak != 1 || !mon.CheckIn.Time.Equal(t0.Add(2*time.Hour)) ||
				mon.CheckIn.Environment != "production" || mon.CheckIn.Release != "1.0"):
				t.Errorf("recovered notification's monitor = %+v", mon)
			case n.Reason == ReasonMonitorFailing && (mon.Status != MonitorFailing || mon.OKStreak != 0 ||
				!(mon.CheckIn.Status == event.CheckInError && mon.CheckIn.Time.Equal(t0) ||
					mon.CheckIn.Status == event.CheckInMissed && mon.CheckIn.Time.Equal(t0.Add(4*time.Hour)))):
				t.Errorf("failing notification's monitor = %+v", mon)
			}
		}
		return m
	}
	e.saveCheckIns(checkIn(pid, "nightly", 1, event.CheckInError, t0, hourly()))
	e.saveCheckIns(checkIn(pid, "nightly", 2, event.CheckInError, t0.Add(time.Hour), nil))
	if got := reasons(); got[ReasonMonitorFailing] != len(channels) || got[ReasonMonitorRecovered] != 0 {
		t.Fatalf("after two errors: %v, want one failing alert per channel (%d)", got, len(channels))
	}
	e.saveCheckIns(checkIn(pid, "nightly", 3, event.CheckInOK, t0.Add(2*time.Hour), nil))
	e.saveCheckIns(checkIn(pid, "nightly", 4, event.CheckInOK, t0.Add(3*time.Hour), nil))
	if got := reasons(); got[ReasonMonitorRecovered] != len(channels) {
		t.Fatalf("after recovering: %v", got)
	}
	if _, err := db.JudgeMonitors(ctx, t0.Add(4*time.Hour+2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := reasons(); got[ReasonMonitorFailing] != 2*len(channels) {
		t.Errorf("after a missed run: %v, want a second failing alert per channel", got)
	}
}

// testMonitorAlertBurst: a channel gets at most NewIssueBurst monitor
// alerts in NewIssueBurstWindow; the rest are counted into one
// ReasonMonitorsHeld notification per channel, naming the latest monitor
// and due when the window's bucket ends.
func testMonitorAlertBurst(e *env) {
	t, pid := e.t, e.project.ID
	if _, err := e.db.CreateAlertChannel(e.ctx, System, AlertChannel{ProjectID: pid, Kind: ChannelWebhook, Name: "ops", URL: "https://example.com/hook"}); err != nil {
		t.Fatal(err)
	}
	channels, err := e.db.ListAlertChannels(e.ctx, System, pid)
	if err != nil || len(channels) < 1 {
		t.Fatalf("ListAlertChannels = %v, %v", channels, err)
	}
	bucket := t0.Truncate(NewIssueBurstWindow)
	now := bucket.Add(time.Minute)
	const failing = NewIssueBurst + 5
	var reqs []CheckInRequest
	for i := range failing {
		reqs = append(reqs, checkIn(pid, fmt.Sprintf("job-%02d", i), i, event.CheckInError, now, hourly()))
	}
	e.saveCheckIns(reqs...)
	type tally struct {
		alerts int
		held   []Notification
	}
	per := map[int64]*tally{}
	for _, ch := range channels {
		per[ch.ID] = &tally{}
	}
	for _, n := range e.outbox() {
		switch n.Reason {
		case ReasonMonitorFailing:
			per[n.ChannelID].alerts++
		case ReasonMonitorsHeld:
			per[n.ChannelID].held = append(per[n.ChannelID].held, n)
		}
	}
	for id, c := range per {
		if c.alerts != NewIssueBurst || len(c.held) != 1 {
			t.Fatalf("channel %d: %d monitor alerts and %d held notifications, want %d and one", id, c.alerts, len(c.held), NewIssueBurst)
		}
		h := c.held[0]
		if h.Payload.Held != failing-NewIssueBurst || h.Payload.Monitor == nil || h.Payload.Monitor.Slug != fmt.Sprintf("job-%02d", failing-1) {
			t.Errorf("channel %d's held notification: %d held, monitor %+v; want %d and the latest", id, h.Payload.Held, h.Payload.Monitor, failing-NewIssueBurst)
		}
		if want := bucket.Add(NewIssueBurstWindow); !h.NextAttemptAt.Equal(want) {
			t.Errorf("channel %d's held notification due %v, want %v", id, h.NextAttemptAt, want)
		}
	}
}

// testJudgeBrokenSchedule: a monitor whose stored schedule cannot be
// followed (a zone this server does not know) expects no further run,
// and neither its check-ins nor the job fail, so the other monitors are
// still judged.
func testJudgeBrokenSchedule(e *env) {
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	e.saveCheckIns(checkIn(pid, "broken", 1, event.CheckInOK, t0, hourly()), checkIn(pid, "fine", 2, event.CheckInOK, t0, hourly()))
	if _, err := db.db.ExecContext(ctx, `UPDATE monitors SET timezone = 'Nowhere/Atlantis' WHERE slug = 'broken'`); err != nil {
		t.Fatal(err)
	}
	ts, err := db.JudgeMonitors(ctx, t0.Add(2*time.Hour))
	if err != nil || len(ts) != 2 {
		t.Fatalf("JudgeMonitors = %+v, %v; want both missed", ts, err)
	}
	if m, _ := e.monitor("broken"); !m.NextExpected.IsZero() {
		t.Errorf("broken: next expected %s, want none", m.NextExpected)
	}
	if r := e.saveCheckIns(checkIn(pid, "broken", 3, event.CheckInOK, t0.Add(3*time.Hour), nil))[0]; r.Monitor.Status != MonitorOK || !r.Monitor.NextExpected.IsZero() {
		t.Errorf("a check-in of the broken monitor: %+v", r)
	}
}
