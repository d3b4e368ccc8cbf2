package store

import (
	"fmt"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// sessionsReq is a queue message id of project pid carrying updates and
// aggregates.
func sessionsReq(pid int64, id string, updates []event.SessionUpdate, aggs ...event.SessionAggregate) SessionsRequest {
	return SessionsRequest{Event: &event.Event{EventID: id, ProjectID: pid, Received: t0, Level: "info",
		Sessions: &event.Sessions{Updates: updates, Aggregates: aggs}}}
}

// update is a session update of release r1 in production, started at t0.
func update(sid, did, status string, init, errored bool) event.SessionUpdate {
	return event.SessionUpdate{Release: "r1", Environment: "production", Started: t0, SID: sid, DID: did,
		Init: init, Status: status, Errored: errored}
}

// healthOf renders figures for comparison.
func healthOf(hs []ReleaseHealth) string {
	s := ""
	for _, h := range hs {
		pct := func(p *float64) string {
			if p == nil {
				return "-"
			}
			return fmt.Sprintf("%.2f", *p)
		}
		s += fmt.Sprintf("[%s/%s sessions=%d healthy=%d errored=%d crashed=%d abnormal=%d users=%d crashed_users=%d cfs=%s cfu=%s]",
			h.Release, h.Environment, h.Sessions, h.Healthy, h.Errored, h.Crashed, h.Abnormal, h.Users, h.CrashedUsers,
			pct(h.CrashFreeSessions), pct(h.CrashFreeUsers))
	}
	return s
}

// testReleaseHealth: session updates and aggregates add up per release,
// environment and hour; an errored session counts once however many updates
// say so; a redelivered message counts nothing; a deleted project's
// sessions are dropped; the distinct IDs are bounded; retention and
// project deletion remove the counts.
func testReleaseHealth(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid := e.project.ID
	other := e.createProject("other")
	save := func(reqs ...SessionsRequest) []SessionsResult {
		t.Helper()
		res, err := db.SaveSessions(ctx, reqs)
		if err != nil {
			t.Fatalf("SaveSessions: %v", err)
		}
		return res
	}
	health := func(f HealthFilter) string {
		t.Helper()
		hs, err := db.ReleaseHealth(ctx, System, pid, f)
		if err != nil {
			t.Fatalf("ReleaseHealth(%+v): %v", f, err)
		}
		return healthOf(hs)
	}
	m2 := sessionsReq(pid, "m2", []event.SessionUpdate{
		update("s1", "u1", event.SessionOK, false, true),
		update("s1", "u1", event.SessionOK, false, true),
		update("s2", "u2", event.SessionCrashed, false, true),
	})
	res := save(
		sessionsReq(pid, "m1", []event.SessionUpdate{
			update("s1", "u1", event.SessionOK, true, false),
			update("s2", "u2", event.SessionOK, true, false),
			update("s3", "u1", event.SessionOK, true, false),
		}),
		m2,
		sessionsReq(pid, "m3", nil,
			event.SessionAggregate{Release: "r1", Environment: "production", Started: t0.Add(30 * time.Second), Exited: 5, Errored: 2, Crashed: 1},
			event.SessionAggregate{Release: "r1", Environment: "staging", Started: t0, Exited: 3},
			event.SessionAggregate{Release: "r2", Environment: "production", Started: t0.Add(2 * time.Hour), Exited: 4, Abnormal: 1, DID: "u9"}),
		sessionsReq(other.ID, "m1", []event.SessionUpdate{update("s1", "u1", event.SessionCrashed, true, true)}),
	)
	if fmt.Sprint(res) != "[{false false} {false false} {false false} {false false}]" {
		t.Fatalf("first save: %+v, want no duplicates", res)
	}
	// The queue delivers m2 again: nothing changes.
	if res := save(m2); !res[0].Duplicate {
		t.Errorf("redelivery: %+v, want a duplicate", res[0])
	}
	if res := save(sessionsReq(1<<40, "m9", []event.SessionUpdate{update("s1", "", "ok", true, false)})); !res[0].Orphan {
		t.Errorf("sessions of a missing project: %+v, want an orphan", res[0])
	}

	// Releases known by their sessions alone are listed.
	rs, err := db.ListReleases(ctx, System, pid)
	if err != nil || len(rs) != 2 || !rs[0].FirstSeen.Equal(t0) {
		t.Errorf("ListReleases = %+v, %v; want r1 and r2, first seen when their sessions arrived", rs, err)
	}

	// r1: 3 + 8 + 3 sessions; errored s1, s2 and the aggregate's 3, of
	// which 2 crashed; users u1, u2, of whom u2 crashed.
	want := "[r1/ sessions=14 healthy=9 errored=3 crashed=2 abnormal=0 users=2 crashed_users=1 cfs=85.71 cfu=50.00]" +
		"[r2/ sessions=5 healthy=4 errored=0 crashed=0 abnormal=1 users=1 crashed_users=0 cfs=100.00 cfu=100.00]"
	if got := health(HealthFilter{}); got != want {
		t.Errorf("all releases:\n got %s\nwant %s", got, want)
	}
	want = "[r1/production sessions=11 healthy=6 errored=3 crashed=2 abnormal=0 users=2 crashed_users=1 cfs=81.82 cfu=50.00]" +
		"[r1/staging sessions=3 healthy=3 errored=0 crashed=0 abnormal=0 users=0 crashed_users=0 cfs=100.00 cfu=-]"
	if got := health(HealthFilter{Release: "r1", ByEnvironment: true}); got != want {
		t.Errorf("r1 by environment:\n got %s\nwant %s", got, want)
	}
	if got, want := health(HealthFilter{Environment: "staging"}), "[r1/ sessions=3 healthy=3 errored=0 crashed=0 abnormal=0 users=0 crashed_users=0 cfs=100.00 cfu=-]"; got != want {
		t.Errorf("staging:\n got %s\nwant %s", got, want)
	}
	// The range goes by the hour the sessions started.
	if got := health(HealthFilter{Since: t0.Add(time.Hour)}); got != "[r2/ sessions=5 healthy=4 errored=0 crashed=0 abnormal=1 users=1 crashed_users=0 cfs=100.00 cfu=100.00]" {
		t.Errorf("since the next hour: %s, want r2 only", got)
	}
	if got := health(HealthFilter{Until: t0.Truncate(time.Hour)}); got != "" {
		t.Errorf("until t0's hour: %s, want nothing", got)
	}

	// The IDs a bucket keeps are bounded: beyond the bound an errored
	// session no longer counts as errored, the crash-free rate stays exact.
	var flood []event.SessionUpdate
	for i := range MaxSessionIDsPerHour + 5 {
		u := update(fmt.Sprintf("f%d", i), fmt.Sprintf("fu%d", i), event.SessionCrashed, true, true)
		u.Release = "flood"
		flood = append(flood, u)
	}
	save(sessionsReq(pid, "flood", flood))
	if n := e.count(`SELECT COUNT(*) FROM release_session_ids WHERE release = 'flood' AND kind = 'e'`); n != MaxSessionIDsPerHour {
		t.Errorf("%d errored session IDs kept, want the bound %d", n, MaxSessionIDsPerHour)
	}
	if got := health(HealthFilter{Release: "flood"}); got != fmt.Sprintf("[flood/ sessions=%d healthy=0 errored=0 crashed=%d abnormal=0 users=%d crashed_users=%d cfs=0.00 cfu=0.00]",
		MaxSessionIDsPerHour+5, MaxSessionIDsPerHour+5, MaxSessionIDsPerHour, MaxSessionIDsPerHour) {
		t.Errorf("flood: %s", got)
	}

	// Beyond the bound on users, crashed users are counted among the
	// users kept: 1 in 100 crashed stays 99 % crash-free users.
	var users []event.SessionUpdate
	for i := range 2 * MaxSessionIDsPerHour {
		status := event.SessionOK
		if i%100 == 99 {
			status = event.SessionCrashed
		}
		u := update(fmt.Sprintf("us%d", i), fmt.Sprintf("uu%d", i), status, true, status == event.SessionCrashed)
		u.Release = "users"
		users = append(users, u)
	}
	save(sessionsReq(pid, "users", users))
	if got, want := health(HealthFilter{Release: "users"}), fmt.Sprintf("[users/ sessions=%d healthy=%d errored=0 crashed=%d abnormal=0 users=%d crashed_users=%d cfs=99.00 cfu=99.00]",
		2*MaxSessionIDsPerHour, 2*MaxSessionIDsPerHour*99/100, 2*MaxSessionIDsPerHour/100, MaxSessionIDsPerHour, MaxSessionIDsPerHour/100); got != want {
		t.Errorf("users beyond the bound:\n got %s\nwant %s", got, want)
	}

	// Only those who see the project read its health.
	stranger := e.createUser("stranger@example.com", RoleMember)
	e.addMember(other, stranger)
	_, err = db.ReleaseHealth(ctx, Viewer{UserID: stranger.ID}, pid, HealthFilter{})
	wantErr(t, "stranger reads the project's release health", err, ErrNotFound)

	// Retention deletes the hours older than its cutoff with the other
	// hourly counts; r2's sessions started two hours later and stay.
	p, err := db.PruneHistory(ctx, t0.Add(time.Hour+30*24*time.Hour), 30*24*time.Hour)
	if err != nil || p.Sessions == 0 {
		t.Fatalf("PruneHistory = %+v, %v; want session rows deleted", p, err)
	}
	if got := health(HealthFilter{}); got != "[r2/ sessions=5 healthy=4 errored=0 crashed=0 abnormal=1 users=1 crashed_users=0 cfs=100.00 cfu=100.00]" {
		t.Errorf("after retention: %s, want r2 only", got)
	}
	// Deleting a release deletes its health.
	if err := db.DeleteReleases(ctx, System, []int64{pid}, "r2"); err != nil {
		t.Fatal(err)
	}
	if got := health(HealthFilter{}); got != "" {
		t.Errorf("after deleting r2: %s, want nothing (retention took the others)", got)
	}
	if err := db.DeleteProject(ctx, System, other.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"release_sessions", "release_session_ids", "session_messages"} {
		if n := e.count(`SELECT COUNT(*) FROM `+table+` WHERE project_id = $1`, other.ID); n != 0 {
			t.Errorf("%d rows of %s of a deleted project", n, table)
		}
	}
}

// testSessionReleasesBounded: sessions add at most MaxNewReleasesPerHour
// releases to a project in an hour; the sessions of further new releases
// are not counted, those of known releases still are, and an hour later
// sessions may add releases again.
func testSessionReleasesBounded(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid := e.project.ID
	releasesOf := func() int {
		t.Helper()
		var n int
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM releases WHERE project_id = $1`, pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	save := func(id string, at time.Time, releases ...string) {
		t.Helper()
		var aggs []event.SessionAggregate
		for _, r := range releases {
			aggs = append(aggs, event.SessionAggregate{Release: r, Environment: "production", Started: at, Exited: 1})
		}
		req := sessionsReq(pid, id, nil, aggs...)
		req.Event.Received = at
		if _, err := db.SaveSessions(ctx, []SessionsRequest{req}); err != nil {
			t.Fatalf("SaveSessions: %v", err)
		}
	}
	var flood []string
	for i := range MaxNewReleasesPerHour + 20 {
		flood = append(flood, fmt.Sprintf("flood-%03d", i))
	}
	save("m1", t0, flood...)
	if n := releasesOf(); n != MaxNewReleasesPerHour {
		t.Errorf("after sessions of %d new releases: %d releases, want %d", len(flood), n, MaxNewReleasesPerHour)
	}
	hs, err := db.ReleaseHealth(ctx, System, pid, HealthFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != MaxNewReleasesPerHour {
		t.Errorf("release health of %d releases, want %d (the refused ones' sessions not counted)", len(hs), MaxNewReleasesPerHour)
	}
	save("m2", t0.Add(30*time.Minute), "flood-000", "another")
	hs, err = db.ReleaseHealth(ctx, System, pid, HealthFilter{Release: "flood-000"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := healthOf(hs), "[flood-000/ sessions=2 healthy=2 errored=0 crashed=0 abnormal=0 users=0 crashed_users=0 cfs=100.00 cfu=-]"; got != want {
		t.Errorf("known release within the hour:\n got %s\nwant %s", got, want)
	}
	if n := releasesOf(); n != MaxNewReleasesPerHour {
		t.Errorf("a new release within the hour: %d releases, want %d", n, MaxNewReleasesPerHour)
	}
	save("m3", t0.Add(61*time.Minute), "next")
	if n := releasesOf(); n != MaxNewReleasesPerHour+1 {
		t.Errorf("a new release an hour later: %d releases, want %d", n, MaxNewReleasesPerHour+1)
	}
}

// testSessionIDsConcurrent: savers running side by side (the processor's
// workers on PostgreSQL) keep the bound on a bucket's IDs: each must see
// the others' IDs before it counts the room left.
func testSessionIDsConcurrent(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid := e.project.ID
	const savers, each = 4, MaxSessionIDsPerHour / 3
	var wg sync.WaitGroup
	errs := make(chan error, savers)
	for w := range savers {
		wg.Go(func() {
			var us []event.SessionUpdate
			for i := range each {
				us = append(us, update(fmt.Sprintf("s%d-%d", w, i), fmt.Sprintf("u%d-%d", w, i), event.SessionOK, true, false))
			}
			if _, err := db.SaveSessions(ctx, []SessionsRequest{sessionsReq(pid, fmt.Sprintf("m%d", w), us)}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM release_session_ids WHERE project_id = $1 AND kind = 'u'`, pid); n != MaxSessionIDsPerHour {
		t.Errorf("%d users kept by %d savers of %d each, want the bound %d", n, savers, each, MaxSessionIDsPerHour)
	}
	hs, err := db.ReleaseHealth(ctx, System, pid, HealthFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := healthOf(hs), fmt.Sprintf("[r1/ sessions=%d healthy=%d errored=0 crashed=0 abnormal=0 users=%d crashed_users=0 cfs=100.00 cfu=100.00]",
		savers*each, savers*each, MaxSessionIDsPerHour); got != want {
		t.Errorf("health:\n got %s\nwant %s", got, want)
	}
}

// testReleaseHealthEndsOnce: a session's crash or abnormal end counts once
// however many updates say so, in one message or in several (an SDK
// resending an update, or ending a session after its crash update), and a
// sessions-only message sent again under its ID counts nothing.
func testReleaseHealthEndsOnce(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid := e.project.ID
	save := func(reqs ...SessionsRequest) []SessionsResult {
		t.Helper()
		res, err := db.SaveSessions(ctx, reqs)
		if err != nil {
			t.Fatalf("SaveSessions: %v", err)
		}
		return res
	}
	carrier := func(id string, updates ...event.SessionUpdate) SessionsRequest {
		r := sessionsReq(pid, id, updates)
		r.Event.SessionsOnly = true
		return r
	}
	save(carrier("start",
		update("s1", "u1", event.SessionOK, true, false),
		update("s2", "u1", event.SessionOK, true, false),
		update("s3", "u1", event.SessionOK, true, false)))
	save(carrier("crash1", update("s1", "u1", event.SessionCrashed, false, true)),
		carrier("crash2", update("s1", "u1", event.SessionCrashed, false, true)))
	save(carrier("crash3", update("s1", "u1", event.SessionCrashed, false, true),
		update("s3", "u1", event.SessionCrashed, false, true),
		update("s3", "u1", event.SessionCrashed, false, true)))
	save(carrier("abnormal1", update("s2", "u1", event.SessionAbnormal, false, true)))
	save(carrier("abnormal2", update("s2", "u1", event.SessionAbnormal, false, true)))
	if res := save(carrier("abnormal2", update("s2", "u1", event.SessionAbnormal, false, true))); !res[0].Duplicate {
		t.Errorf("a sessions-only message sent again: %+v, want a duplicate", res[0])
	}
	hs, err := db.ReleaseHealth(ctx, System, pid, HealthFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := healthOf(hs), "[r1/ sessions=3 healthy=0 errored=0 crashed=2 abnormal=1 users=1 crashed_users=1 cfs=33.33 cfu=0.00]"; got != want {
		t.Errorf("crashes sent again:\n got %s\nwant %s", got, want)
	}
}

// testReleaseHealthSaturates: a bucket's counts stop at MaxSessionCount
// instead of overflowing, whether they were near it or (stored before the
// bound) near 2^63, and the figures of many full buckets add up to no more
// than MaxSessionCount rather than failing.
func testReleaseHealthSaturates(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid := e.project.ID
	agg := func(release string, hour int, exited, errored, crashed int64) event.SessionAggregate {
		return event.SessionAggregate{Release: release, Environment: "production", Started: t0.Add(time.Duration(hour) * time.Hour),
			Exited: exited, Errored: errored, Crashed: crashed}
	}
	save := func(id string, aggs ...event.SessionAggregate) {
		t.Helper()
		if _, err := db.SaveSessions(ctx, []SessionsRequest{sessionsReq(pid, id, nil, aggs...)}); err != nil {
			t.Fatalf("SaveSessions %s: %v", id, err)
		}
	}
	set := func(release string, to int64) {
		t.Helper()
		if _, err := db.db.ExecContext(ctx, `UPDATE release_sessions SET started = $1, errored = $1, crashed = $1
			WHERE project_id = $2 AND release = $3`, to, pid, release); err != nil {
			t.Fatal(err)
		}
	}
	health := func(release string) string {
		t.Helper()
		hs, err := db.ReleaseHealth(ctx, System, pid, HealthFilter{Release: release})
		if err != nil {
			t.Fatalf("ReleaseHealth(%s): %v", release, err)
		}
		return healthOf(hs)
	}
	const huge = 1 << 62
	full := fmt.Sprintf("sessions=%d healthy=0 errored=0 crashed=%d abnormal=0", MaxSessionCount, MaxSessionCount)
	cases := []struct {
		name string
		from int64
	}{
		{"near the cap", MaxSessionCount - 5},
		{"near 2^63", 1<<63 - 10},
	}
	for i, c := range cases {
		release := fmt.Sprintf("sat%d", i)
		save(release+"-a", agg(release, 0, 1, 0, 1))
		set(release, c.from)
		save(release+"-b", agg(release, 0, 10, 0, 10))
		save(release+"-c", agg(release, 0, 10, 0, 10))
		if got, want := health(release), "["+release+"/ "+full+" users=0 crashed_users=0 cfs=0.00 cfu=-]"; got != want {
			t.Errorf("%s, then added to:\n got %s\nwant %s", c.name, got, want)
		}
	}
	// Buckets each at the bound: their sum is held to it too.
	for h := range 20 {
		save(fmt.Sprintf("many-%d", h), agg("many", h, huge, huge, huge))
	}
	set("many", 1<<63-1)
	if got, want := health("many"), "[many/ "+full+" users=0 crashed_users=0 cfs=0.00 cfu=-]"; got != want {
		t.Errorf("20 full buckets:\n got %s\nwant %s", got, want)
	}
}
