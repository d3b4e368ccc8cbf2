package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"
)

// The batch seam: one transaction per batch, results that carry the
// issues' state, and hooks whose statements commit or roll back with it.
// runContract lists these tests.

// createOutbox makes a table for hooks to write to, as an outbox would.
func (e *env) createOutbox() {
	e.t.Helper()
	if _, err := e.db.SQL().ExecContext(e.ctx, `CREATE TABLE test_outbox (issue_id BIGINT NOT NULL, kind TEXT NOT NULL)`); err != nil {
		e.t.Fatal(err)
	}
}

// outboxHook writes one row per stored (not duplicate) event.
func outboxHook(ctx context.Context, tx *sql.Tx, results []SaveResult) error {
	for _, r := range results {
		if r.Duplicate {
			continue
		}
		kind := "event"
		if r.NewIssue {
			kind = "new"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO test_outbox (issue_id, kind) VALUES ($1, $2)`, r.IssueID, kind); err != nil {
			return err
		}
	}
	return nil
}

func testSaveBatch(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	e.createOutbox()
	again := request(e.project.ID, "old")
	stored, err := db.SaveEvent(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	a1 := request(e.project.ID, "a", withUser("u1"), withTitle("A first"), withLevel("warning"))
	a2 := request(e.project.ID, "a", withUser("u2"), withTitle("A newer"), withAt(t0.Add(time.Minute)))
	b := request(e.project.ID, "b", withTitle("B"))
	var seen []SaveResult
	hook := func(ctx context.Context, tx *sql.Tx, results []SaveResult) error {
		seen = append([]SaveResult(nil), results...)
		return outboxHook(ctx, tx, results)
	}
	got, err := db.SaveBatch(ctx, []SaveRequest{a1, a2, a1, b, again}, hook)
	if err != nil {
		t.Fatalf("SaveBatch: %v", err)
	}
	if len(got) != 5 {
		t.Fatalf("%d results for 5 requests: %+v", len(got), got)
	}
	aID, bID := got[0].IssueID, got[3].IssueID
	p := e.project.ID
	want := []SaveResult{
		{IssueID: aID, NewIssue: true, Count: 1, UserCount: 1, Status: StatusUnresolved, Title: "A first", Level: "warning",
			ProjectID: p, EventID: a1.Event.EventID, EventTitle: "A first", EventLevel: "warning"},
		{IssueID: aID, Count: 2, UserCount: 2, Status: StatusUnresolved, Title: "A newer", Level: "error",
			ProjectID: p, EventID: a2.Event.EventID, EventTitle: "A newer", EventLevel: "error"},
		{IssueID: aID, Duplicate: true}, // a1 again, within the batch
		{IssueID: bID, NewIssue: true, Count: 1, Status: StatusUnresolved, Title: "B", Level: "error",
			ProjectID: p, EventID: b.Event.EventID, EventTitle: "B", EventLevel: "error"},
		{IssueID: stored.IssueID, Duplicate: true}, // stored before the batch
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if len(seen) != len(got) || seen[1] != got[1] {
		t.Errorf("the hook saw %+v, want the batch's results %+v", seen, got)
	}
	// What the results say is what the issues hold after the commit.
	for _, r := range []SaveResult{got[1], got[3]} {
		is := e.issue(r.IssueID)
		if is.Count != r.Count || is.UserCount != r.UserCount || is.Status != r.Status || is.Title != r.Title || is.Level != r.Level {
			t.Errorf("issue %d is %+v; the result said %+v", r.IssueID, is, r)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM test_outbox`); n != 3 {
		t.Errorf("%d outbox rows committed with the batch, want 3 (one per stored event)", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM events`); n != 4 {
		t.Errorf("%d events stored, want 4", n)
	}
	if res, err := db.SaveBatch(ctx, nil, hook); err != nil || len(res) != 0 {
		t.Errorf("SaveBatch of nothing = %+v, %v", res, err)
	}
}

func testSaveBatchRollback(e *env) {
	e.createOutbox()
	boom := errors.New("outbox full")
	failing := func(context.Context, *sql.Tx, []SaveResult) error { return boom }
	tests := []struct {
		name  string
		reqs  []SaveRequest
		hooks []TxHook
		want  error
	}{
		{"a failing hook", []SaveRequest{request(e.project.ID, "a"), request(e.project.ID, "b")},
			[]TxHook{outboxHook, failing}, boom},
		{"an event of a missing project", []SaveRequest{request(e.project.ID, "a"), request(e.project.ID+100, "b")},
			[]TxHook{outboxHook}, ErrNotFound},
		{"an invalid event", []SaveRequest{request(e.project.ID, "a"), request(e.project.ID, "")},
			[]TxHook{outboxHook}, ErrInvalid},
	}
	for _, tt := range tests {
		res, err := e.db.SaveBatch(e.ctx, tt.reqs, tt.hooks...)
		if !errors.Is(err, tt.want) || res != nil {
			e.t.Errorf("%s: SaveBatch = %+v, %v; want no results and %v", tt.name, res, err, tt.want)
		}
		for _, q := range []string{`SELECT COUNT(*) FROM events`, `SELECT COUNT(*) FROM issues`, `SELECT COUNT(*) FROM issue_counts`, `SELECT COUNT(*) FROM test_outbox`} {
			if n := e.count(q); n != 0 {
				e.t.Errorf("%s: %s = %d after the rollback, want 0", tt.name, q, n)
			}
		}
	}
}

// Batches sharing events, saved at once, store each event once; on
// PostgreSQL a batch that loses a race is run again and reports the event
// as a duplicate.
func testConcurrentBatches(e *env) {
	t := e.t
	const workers = 6
	shared := []SaveRequest{request(e.project.ID, "fp", withUser("u")), request(e.project.ID, "fp2")}
	results := make([][]SaveResult, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		own := request(e.project.ID, "fp")
		batch := []SaveRequest{shared[w%2], own, shared[(w+1)%2]}
		wg.Go(func() { results[w], errs[w] = e.db.SaveBatch(e.ctx, batch) })
	}
	wg.Wait()
	stored := 0
	for w := range workers {
		if errs[w] != nil {
			t.Fatalf("batch %d: %v", w, errs[w])
		}
		for _, r := range results[w] {
			if !r.Duplicate {
				stored++
			}
		}
	}
	if want := workers + 2; stored != want {
		t.Errorf("%d saves stored an event, want %d", stored, want)
	}
	if n := e.count(`SELECT COUNT(*) FROM events`); n != workers+2 {
		t.Errorf("%d events, want %d", n, workers+2)
	}
	if n := e.count(`SELECT SUM(count) FROM issues`); n != workers+2 {
		t.Errorf("issue counts add up to %d, want %d", n, workers+2)
	}
}

// testSaveBatchAggregates saves the same events one by one into one
// project and as one batch into another, and wants the same results and
// the same issue rows, hourly buckets, tags, users and releases: the batch
// aggregates its statements without changing what they store. The events
// cover what aggregation could get wrong: several per issue, out of time
// order, repeated users and tags, two hours, duplicates within the batch
// and already stored, a new issue, and an issue resolved in a release
// that the batch sees first after one of its events: that event leaves it
// resolved, as the release is still unknown to it, and a later one reopens
// it. (UpdateIssueStatus records the release it resolves in; an issue
// resolved by a Flytrap that did not, as here, has no such row.)
func testSaveBatchAggregates(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	one, batch := e.project.ID, e.createProject("batch").ID
	later := t0.Add(90 * time.Minute)
	reqs := func(p int64) (before, during []SaveRequest) {
		id := func(n int) eventOpt { return withID(fmt.Sprintf("%032x", n)) }
		before = []SaveRequest{
			request(p, "resolved", id(1), withRelease("v1"), withRcv(t0)),
			request(p, "a", id(2), withUser("u1"), withTags("k", "x")),
		}
		during = []SaveRequest{
			request(p, "a", id(3), withUser("u1"), withTags("k", "x"), withAt(later), withTitle("A later"), withRelease("v1")),
			request(p, "a", id(4), withUser("u2"), withTags("k", "y"), withAt(t0.Add(-time.Hour)), withTitle("A earlier")),
			request(p, "a", id(2)),
			request(p, "b", id(5), withUser("u1"), withTags("k", "x"), withLevel("warning"), withEnv("prod")),
			request(p, "resolved", id(6), withRelease("v3"), withRcv(t0.Add(2*time.Minute))),
			request(p, "b", id(9), withRelease("v2"), withRcv(t0.Add(time.Minute))),
			request(p, "b", id(5)),
			request(p, "resolved", id(7), withRelease("v4"), withRcv(t0.Add(3*time.Minute))),
			request(p, "a", id(8), withUser("u2"), withTags("k", "x"), withAt(later), withTitle("A last"), withCulprit("c.js")),
		}
		return before, during
	}
	resolve := func(p int64) {
		var id int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT id FROM issues WHERE project_id = $1 AND fingerprint = 'resolved'`, p).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `UPDATE issues SET status = $1, resolved_in_release = 'v2' WHERE id = $2`, StatusResolved, id); err != nil {
			t.Fatal(err)
		}
	}
	var results [2][]SaveResult
	for n, p := range []int64{one, batch} {
		before, during := reqs(p)
		if _, err := db.SaveBatch(ctx, before); err != nil {
			t.Fatal(err)
		}
		resolve(p)
		if p == batch {
			res, err := db.SaveBatch(ctx, during)
			if err != nil {
				t.Fatalf("SaveBatch: %v", err)
			}
			results[n] = res
			continue
		}
		for _, r := range during {
			res, err := db.SaveEvent(ctx, r)
			if err != nil {
				t.Fatalf("SaveEvent: %v", err)
			}
			results[n] = append(results[n], res)
		}
	}
	// Issue IDs differ between the projects; compare their fingerprints.
	fingerprints := func(res []SaveResult) []SaveResult {
		out := slices.Clone(res)
		for i := range out {
			var fp string
			if err := db.SQL().QueryRowContext(ctx, `SELECT fingerprint FROM issues WHERE id = $1`, out[i].IssueID).Scan(&fp); err != nil {
				t.Fatal(err)
			}
			out[i].IssueID = int64(len(fp)) // "a", "b", "resolved"
			out[i].ProjectID = 0
			out[i].Title += " (" + fp + ")"
		}
		return out
	}
	if a, b := fingerprints(results[0]), fingerprints(results[1]); !reflect.DeepEqual(a, b) {
		t.Errorf("batch results differ from one-by-one results:\n one by one %+v\n batch      %+v", a, b)
	}
	if results[1][4].Regression || results[1][4].Status != StatusResolved || !results[1][7].Regression {
		t.Errorf("issue resolved in v2: v3 event before v2 is seen %+v (want still resolved), v4 event after %+v (want the regression)",
			results[1][4], results[1][7])
	}
	tables := []string{
		`SELECT fingerprint, grouping_version, title, culprit, level, status, resolved_in_release, count, user_count,
			first_seen, last_seen, first_release, last_release, latest_event_id FROM issues WHERE project_id = $1 ORDER BY fingerprint`,
		`SELECT i.fingerprint, c.hour, c.count FROM issue_counts c JOIN issues i ON i.id = c.issue_id WHERE i.project_id = $1 ORDER BY 1, 2`,
		`SELECT i.fingerprint, t.key, t.value, t.count FROM issue_tags t JOIN issues i ON i.id = t.issue_id WHERE i.project_id = $1 ORDER BY 1, 2, 3`,
		`SELECT i.fingerprint, k.key, k.value_count FROM issue_tag_keys k JOIN issues i ON i.id = k.issue_id WHERE i.project_id = $1 ORDER BY 1, 2`,
		`SELECT i.fingerprint, u.user_key FROM issue_users u JOIN issues i ON i.id = u.issue_id WHERE i.project_id = $1 ORDER BY 1, 2`,
		`SELECT version, first_seen FROM releases WHERE project_id = $1 ORDER BY version`,
		`SELECT e.event_id, i.fingerprint, e.occurred_at, e.title FROM events e JOIN issues i ON i.id = e.issue_id WHERE e.project_id = $1 ORDER BY e.id`,
	}
	for _, q := range tables {
		a, b := e.rows(q, one), e.rows(q, batch)
		if len(a) == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s\n one by one %v\n batch      %v", q, a, b)
		}
	}
}

// rows returns what q selects, each row's columns formatted as text.
func (e *env) rows(q string, args ...any) [][]string {
	e.t.Helper()
	rows, err := e.db.SQL().QueryContext(e.ctx, q, args...)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		e.t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			e.t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			row[i] = fmt.Sprint(v)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// testPreviousFingerprints: an event whose hash no issue has finds the
// issue of one of its previous hashes (an issue from before a grouping
// change), which moves to the new hash; the event is no new issue, and
// later events find the issue by the new hash without asking for previous
// ones. An event with no issue under any hash opens one.
func testPreviousFingerprints(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	old := e.save("old-hash").IssueID
	calls := 0
	previous := func(hs ...string) func() []string {
		return func() []string { calls++; return hs }
	}
	req := request(e.project.ID, "new-hash")
	req.GroupingVersion = "test-2"
	req.Previous = previous("never-used", "old-hash")
	res, err := db.SaveEvent(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.IssueID != old || res.NewIssue || calls != 1 {
		t.Errorf("event with a previous hash: %+v after %d calls; want issue %d, not new", res, calls, old)
	}
	if is := e.issue(old); is.Fingerprint != "new-hash" || is.GroupingVersion != "test-2" || is.Count != 2 {
		t.Errorf("the issue after its move: fingerprint %q, version %q, count %d; want new-hash, test-2, 2", is.Fingerprint, is.GroupingVersion, is.Count)
	}
	req = request(e.project.ID, "new-hash")
	req.Previous = previous("old-hash")
	if res, err := db.SaveEvent(ctx, req); err != nil || res.IssueID != old || calls != 1 {
		t.Errorf("a later event: %+v, %v, previous hashes asked for %d times; want issue %d, asked once", res, err, calls, old)
	}
	req = request(e.project.ID, "unrelated")
	req.Previous = previous("old-hash", "missing")
	if res, err := db.SaveEvent(ctx, req); err != nil || res.IssueID == old || !res.NewIssue {
		t.Errorf("an event no issue has any hash of: %+v, %v; want a new issue", res, err)
	}
	// An issue made under the event's own grouping version is today's
	// group of that hash, not an old issue: it is not taken.
	req = request(e.project.ID, "current-group")
	req.GroupingVersion = "test-2"
	res, err = db.SaveEvent(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req = request(e.project.ID, "crash-site")
	req.GroupingVersion = "test-2"
	req.Previous = previous("current-group")
	if got, err := db.SaveEvent(ctx, req); err != nil || got.IssueID == res.IssueID || !got.NewIssue {
		t.Errorf("an event whose previous hash is a group of its own version: %+v, %v; want a new issue, not issue %d", got, err, res.IssueID)
	}
	// Another project's issue with the previous hash is not taken.
	other := e.createProject("other")
	req = request(other.ID, "new-in-other")
	req.Previous = previous("unrelated")
	if res, err := db.SaveEvent(ctx, req); err != nil || !res.NewIssue {
		t.Errorf("an event of another project: %+v, %v; want a new issue of its own", res, err)
	}
}

// testPreviousFromOlderIngest: an event the release before an upgrade
// queued (FromOlderIngest) takes the issue of its previous hash under an
// older-ingest version, so today's ingest's event of the same error, whose
// previous hashes hold the older ingest's, takes it over as an old issue;
// the older ingest's next event finds it by its hash. An issue an older
// ingest's event made is today's once today's event has its hash, and an
// issue of today's version is no old issue to an older ingest's event.
func testPreviousFromOlderIngest(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	queued := func(fp string, previous ...string) SaveRequest {
		req := request(e.project.ID, fp)
		req.GroupingVersion = "test-2"
		req.Previous = func() []string { return previous }
		req.FromOlderIngest = true
		return req
	}
	today := func(fp string, previous ...string) SaveRequest {
		req := request(e.project.ID, fp)
		req.GroupingVersion = "test-2"
		req.Previous = func() []string { return previous }
		return req
	}
	check := func(what string, req SaveRequest, issue int64, fp, version string, count int64) {
		t.Helper()
		res, err := db.SaveEvent(ctx, req)
		if err != nil || res.IssueID != issue || res.NewIssue {
			t.Errorf("%s: %+v, %v; want issue %d, not new", what, res, err, issue)
		}
		if is := e.issue(issue); is.Fingerprint != fp || is.GroupingVersion != version || is.Count != count {
			t.Errorf("%s: issue has fingerprint %q, version %q, count %d; want %s, %s, %d", what, is.Fingerprint, is.GroupingVersion, is.Count, fp, version, count)
		}
	}

	old := e.save("old-hash").IssueID
	check("queued event of an older ingest", queued("older-ingest-hash", "old-hash"), old, "older-ingest-hash", "test-2+older-ingest", 2)
	check("its next queued event", queued("older-ingest-hash", "old-hash"), old, "older-ingest-hash", "test-2+older-ingest", 3)
	check("today's ingest's event", today("new-hash", "older-ingest-hash", "old-hash"), old, "new-hash", "test-2", 4)

	res, err := db.SaveEvent(ctx, queued("made-by-older-ingest"))
	if err != nil || !res.NewIssue {
		t.Fatalf("queued event of a new error: %+v, %v; want a new issue", res, err)
	}
	check("today's event of its hash", today("made-by-older-ingest"), res.IssueID, "made-by-older-ingest", "test-2", 2)
	if got, err := db.SaveEvent(ctx, queued("other-hash", "made-by-older-ingest")); err != nil || got.IssueID == res.IssueID || !got.NewIssue {
		t.Errorf("queued event whose previous hash is a group of today's: %+v, %v; want a new issue, not issue %d", got, err, res.IssueID)
	}

	// Today's event first: a queued event saved after it still finds the
	// issue, by the hash the issue had, which today's events of another
	// group (split from it by the change) do not follow.
	moved := e.save("moved-old-hash").IssueID
	check("today's event before the queued one", today("moved-new-hash", "moved-old-hash"), moved, "moved-new-hash", "test-2", 2)
	check("queued event after today's", queued("moved-older-ingest-hash", "moved-old-hash"), moved, "moved-new-hash", "test-2", 3)
	check("queued event of the old hash", queued("moved-old-hash"), moved, "moved-new-hash", "test-2", 4)
	split, err := db.SaveEvent(ctx, today("split-new-hash", "moved-old-hash"))
	if err != nil || split.IssueID == moved || !split.NewIssue {
		t.Errorf("today's event of a group split from the moved issue: %+v, %v; want a new issue, not issue %d", split, err, moved)
	}
	same, err := db.SaveEvent(ctx, today("moved-old-hash"))
	if err != nil || same.IssueID == moved || !same.NewIssue {
		t.Errorf("today's event of the moved issue's old hash: %+v, %v; want a new issue, not issue %d", same, err, moved)
	}
	// Its hash is still an alias of the moved issue: merging it takes
	// the hash over.
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{split.IssueID, same.IssueID}, split.IssueID); err != nil {
		t.Errorf("merging an issue whose hash is another's alias: %v", err)
	}

	// An issue merged into another before the upgrade.
	gone := e.save("merged-old-hash").IssueID
	kept := e.save("kept-hash").IssueID
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{kept, gone}, kept); err != nil {
		t.Fatal(err)
	}
	check("queued event of a merged issue", queued("merged-older-ingest-hash", "merged-old-hash"), kept, "kept-hash", "test-1", 3)
	check("today's event of the merged issue", today("merged-new-hash", "merged-older-ingest-hash"), kept, "kept-hash", "test-1", 4)
}
