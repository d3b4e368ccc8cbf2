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
