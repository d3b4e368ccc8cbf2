package store

import (
	"context"
	"database/sql"
	"errors"
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
	want := []SaveResult{
		{IssueID: aID, NewIssue: true, Count: 1, UserCount: 1, Status: StatusUnresolved, Title: "A first", Level: "warning"},
		{IssueID: aID, Count: 2, UserCount: 2, Status: StatusUnresolved, Title: "A newer", Level: "error"},
		{IssueID: aID, Duplicate: true}, // a1 again, within the batch
		{IssueID: bID, NewIssue: true, Count: 1, Status: StatusUnresolved, Title: "B", Level: "error"},
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
