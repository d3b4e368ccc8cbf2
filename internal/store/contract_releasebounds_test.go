package store

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// testEventReleasesBounded: events add at most MaxNewReleasesPerHour
// releases to a project in an hour. Past it an event is stored with its
// release, which search finds, but records no release; events of a known
// release, and an hour later of new ones, are as before.
func testEventReleasesBounded(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid := e.project.ID
	releasesOf := func() []string {
		t.Helper()
		rs, err := db.ListReleases(ctx, System, pid)
		if err != nil {
			t.Fatal(err)
		}
		var vs []string
		for _, r := range rs {
			vs = append(vs, r.Version)
		}
		return vs
	}
	var batch []SaveRequest
	for i := range MaxNewReleasesPerHour + 20 {
		at := t0.Add(time.Duration(i) * time.Second)
		batch = append(batch, request(pid, "flood", withRelease(fmt.Sprintf("flood-%03d", i)), withAt(at), withRcv(at)))
	}
	for from := 0; from < len(batch); from += 30 {
		if _, err := db.SaveBatch(ctx, batch[from:min(len(batch), from+30)]); err != nil {
			t.Fatalf("SaveBatch: %v", err)
		}
	}
	vs := releasesOf()
	if len(vs) != MaxNewReleasesPerHour || !slices.Contains(vs, "flood-000") || !slices.Contains(vs, fmt.Sprintf("flood-%03d", MaxNewReleasesPerHour-1)) {
		t.Errorf("after events of %d new releases: %d releases (%v ...), want the first %d", len(batch), len(vs), vs[:min(3, len(vs))], MaxNewReleasesPerHour)
	}
	if _, err := db.GetRelease(ctx, System, pid, "flood-119"); err == nil {
		t.Error("GetRelease of a release past the bound found it")
	}
	if n := e.count(`SELECT COUNT(*) FROM events WHERE project_id = $1`, pid); n != int64(len(batch)) {
		t.Errorf("%d events stored, want all %d", n, len(batch))
	}
	issues, _, err := db.ListIssues(ctx, System, IssueFilter{ProjectID: pid, Tags: []event.Tag{{Key: "release", Value: "flood-119"}}})
	if err != nil || len(issues) != 1 || issues[0].LastRelease != "flood-119" {
		t.Errorf("release:flood-119 = %+v, %v; want the flood issue, last seen in it", issues, err)
	}
	in := t0.Add(30 * time.Minute)
	e.save("known", withRelease("flood-000"), withAt(in), withRcv(in))
	e.save("new", withRelease("within-the-hour"), withAt(in), withRcv(in))
	if n := len(releasesOf()); n != MaxNewReleasesPerHour {
		t.Errorf("a new release within the hour: %d releases, want %d", n, MaxNewReleasesPerHour)
	}
	later := t0.Add(62 * time.Minute)
	e.save("new", withRelease("next"), withAt(later), withRcv(later))
	if vs := releasesOf(); len(vs) != MaxNewReleasesPerHour+1 || vs[0] != "next" {
		t.Errorf("a new release an hour later: %d releases, newest %v, want %d, newest next", len(vs), vs[:1], MaxNewReleasesPerHour+1)
	}
}

// testReleasesConcurrent: savers of events and sessions running side by
// side (the processor's workers on PostgreSQL) keep the bound on new
// releases: each must count the others' releases before it adds its own.
func testReleasesConcurrent(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid := e.project.ID
	const savers, each = 6, 30
	var wg sync.WaitGroup
	errs := make(chan error, savers)
	for w := range savers {
		wg.Go(func() {
			if w%3 == 2 {
				var aggs []event.SessionAggregate
				for i := range each {
					aggs = append(aggs, event.SessionAggregate{Release: fmt.Sprintf("s%d-%d", w, i), Environment: "production", Started: t0, Exited: 1})
				}
				req := sessionsReq(pid, fmt.Sprintf("m%d", w), nil, aggs...)
				req.Event.Received = t0
				if _, err := db.SaveSessions(ctx, []SessionsRequest{req}); err != nil {
					errs <- err
				}
				return
			}
			var batch []SaveRequest
			for i := range each {
				batch = append(batch, request(pid, fmt.Sprintf("fp%d", w), withRelease(fmt.Sprintf("e%d-%d", w, i))))
			}
			if _, err := db.SaveBatch(ctx, batch); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM releases WHERE project_id = $1`, pid); n != MaxNewReleasesPerHour {
		t.Errorf("%d releases added by %d savers of %d new releases each, want the bound %d", n, savers, each, MaxNewReleasesPerHour)
	}
}

// testPruneReleases: retention deletes the releases last seen before its
// window that nothing refers to: no event, session counts, artifact
// bundle, deploy or commit, and no issue resolved in or after them. One
// first seen before it but named since, by an event or the API, is kept,
// and so is one first seen within it with last_seen 0.
func testPruneReleases(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	pid, other := e.project.ID, e.createProject("other").ID
	now, maxAge := t0.Add(30*24*time.Hour), 7*24*time.Hour
	old, recent := now.Add(-maxAge-time.Hour), now.Add(-maxAge+time.Hour)
	create := func(project int64, version string, at time.Time) {
		t.Helper()
		if _, err := db.CreateRelease(ctx, System, project, version, at); err != nil {
			t.Fatalf("CreateRelease(%s): %v", version, err)
		}
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, v := range []string{"unused", "events", "sessions", "bundle", "deployed", "commits", "resolved-in", "resolved-after", "pruned-events",
		"named-lately", "created-again"} {
		create(pid, v, old)
	}
	create(pid, "recent", recent)
	create(pid, "created-again", recent)
	create(other, "unused", old)
	create(other, "events", old)
	e.save("a", withRelease("events"), withRcv(now))
	e.saveIn(other, "a", withRelease("events"), withRcv(now))
	e.save("b", withRelease("pruned-events"), withRcv(old))
	if _, err := db.Prune(ctx, now, maxAge, 0); err != nil {
		t.Fatal(err)
	}
	// An event of named-lately within the window, then deleted by the
	// per-issue limit.
	e.save("lately", withRelease("named-lately"), withRcv(recent))
	e.save("lately", withRcv(now))
	if _, err := db.Prune(ctx, now, 0, 1); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM events WHERE release_name = 'named-lately'`); n != 0 {
		t.Fatalf("%d events of named-lately left", n)
	}
	exec(`INSERT INTO release_sessions (project_id, release, environment, hour, started, errored, crashed, abnormal) VALUES ($1, 'sessions', '', $2, 1, 0, 0, 0)`, pid, millis(now))
	if _, _, err := db.SaveArtifactBundle(ctx, ArtifactBundle{ProjectID: pid, Checksum: "sum", Release: "bundle", Size: 10}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateDeploy(ctx, System, Deploy{ProjectID: pid, Version: "deployed", Environment: "production"}, old); err != nil {
		t.Fatal(err)
	}
	if err := db.SetReleaseCommits(ctx, System, pid, "commits", []Commit{{ID: "abc"}}); err != nil {
		t.Fatal(err)
	}
	// As a process older than migration 0027 inserts one, during a
	// rolling deploy: last_seen is 0.
	exec(`INSERT INTO releases (project_id, version, first_seen) VALUES ($1, 'older-process', $2)`, pid, millis(recent))
	c := e.save("c", withRelease("events"), withRcv(now))
	exec(`UPDATE issues SET status = $1, resolved_in_release = 'resolved-in' WHERE id = $2`, StatusResolved, c.IssueID)
	d := e.save("d", withRelease("events"), withRcv(now))
	exec(`UPDATE issues SET status = $1, resolved_after_release = 'resolved-after' WHERE id = $2`, StatusResolved, d.IssueID)

	n, err := db.PruneReleases(ctx, now, maxAge)
	if err != nil {
		t.Fatal(err)
	}
	left := func(project int64) []string {
		t.Helper()
		rows, err := db.db.QueryContext(ctx, `SELECT version FROM releases WHERE project_id = $1 ORDER BY version`, project)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var vs []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v)
		}
		return vs
	}
	want := []string{"bundle", "commits", "created-again", "deployed", "events", "named-lately", "older-process", "recent", "resolved-after", "resolved-in", "sessions"}
	if got := left(pid); n != 3 || !slices.Equal(got, want) {
		t.Errorf("PruneReleases deleted %d, left %v; want 3 deleted (unused, pruned-events, other's unused), left %v", n, got, want)
	}
	if got := left(other); !slices.Equal(got, []string{"events"}) {
		t.Errorf("other project left %v, want [events]", got)
	}
	if n, err := db.PruneReleases(ctx, now, 0); err != nil || n != 0 {
		t.Errorf("PruneReleases without a window = %d, %v; want none", n, err)
	}
}

// testPruneReleaseWhileSaving: on PostgreSQL, retention run while an
// event naming an old release is being saved neither deletes the release
// under it nor lets it be recorded anew: the release keeps its first seen.
// The event's transaction is held, past its release, on the issue row.
func testPruneReleaseWhileSaving(e *env) {
	if e.db.Dialect() != DialectPostgres {
		return // SQLite writes one transaction at a time.
	}
	t, db, ctx, pid := e.t, e.db, e.ctx, e.project.ID
	now, maxAge := t0.Add(30*24*time.Hour), 7*24*time.Hour
	old := now.Add(-maxAge - 24*time.Hour)
	if _, err := db.CreateRelease(ctx, System, pid, "old", old); err != nil {
		t.Fatal(err)
	}
	issue := e.save("a", withAt(now), withRcv(now)).IssueID
	hold, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.ExecContext(ctx, `SELECT id FROM issues WHERE id = $1 FOR NO KEY UPDATE`, issue); err != nil {
		t.Fatal(err)
	}
	// waiting waits until n statements wait for a lock, or 5s.
	waiting := func(n int64) {
		t.Helper()
		for range 100 {
			if e.count(`SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) >= n {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	saved, pruned := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := db.SaveEvent(ctx, request(pid, "a", withRelease("old"), withAt(now), withRcv(now)))
		saved <- err
	}()
	waiting(1)
	go func() {
		_, err := db.PruneReleases(ctx, now, maxAge)
		pruned <- err
	}()
	waiting(2)
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	if err := <-pruned; err != nil {
		t.Fatal(err)
	}
	e.save("b", withRelease("old"), withAt(now), withRcv(now))
	if r, err := db.GetRelease(ctx, System, pid, "old"); err != nil || !r.FirstSeen.Equal(old) {
		t.Errorf("release saved while pruned = %+v, %v; want first seen %s", r, err, old)
	}
}
