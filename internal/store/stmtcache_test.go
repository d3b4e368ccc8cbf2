package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"testing"
)

// TestEachChunk pins the chunk sizes the statement cache relies on: on
// SQLite a power of two rows, at most maxSQLiteChunk, so that a multi-row
// statement comes in few texts; on PostgreSQL rowsPerStatement rows.
func TestEachChunk(t *testing.T) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		d := &DB{dialect: dialect}
		texts := map[int]bool{}
		for n := 0; n <= 3*rowsPerStatement; n++ {
			next := 0
			chunks := 0
			err := d.eachChunk(n, func(from, to int) error {
				if from != next || to <= from || to > n {
					return fmt.Errorf("chunk [%d, %d) after %d", from, to, next)
				}
				size := to - from
				if dialect == DialectSQLite {
					if bits.OnesCount(uint(size)) != 1 || size > maxSQLiteChunk {
						return fmt.Errorf("chunk of %d rows", size)
					}
				} else if size != min(rowsPerStatement, n-from) {
					return fmt.Errorf("chunk of %d rows of %d left", size, n-from)
				}
				texts[size] = true
				next = to
				chunks++
				return nil
			})
			if err == nil && next != n {
				err = fmt.Errorf("chunks end at %d", next)
			}
			if err != nil {
				t.Fatalf("%s, %d rows: %v", dialect, n, err)
			}
			if dialect == DialectSQLite && chunks > n/maxSQLiteChunk+bits.Len(uint(maxSQLiteChunk)) {
				t.Errorf("%s, %d rows: %d statements", dialect, n, chunks)
			}
		}
		if dialect == DialectSQLite && len(texts) != bits.Len(uint(maxSQLiteChunk)) {
			t.Errorf("%s: %d chunk sizes, want %d", dialect, len(texts), bits.Len(uint(maxSQLiteChunk)))
		}
	}
}

// TestStmtCacheBatches checks that a batch shaped like an earlier one
// (as many events, issues and tag pairs) runs every statement of the save
// prepared, though its events and counts differ: no statement text may
// hold a value of the batch. The first batch's statements are prepared
// by the InTx of the second.
func TestStmtCacheBatches(t *testing.T) {
	db := openSQLiteTest(t)
	e := newEnv(t, db)
	save := func(reqs ...SaveRequest) {
		t.Helper()
		if _, err := db.SaveBatch(e.ctx, reqs); err != nil {
			t.Fatal(err)
		}
	}
	p := e.project.ID
	// Two issues and six tag pairs each time; the most a pair is counted
	// is 3 here and 2 below.
	save(request(p, "a", withTags("t", "x0")), request(p, "a", withTags("t", "x1")),
		request(p, "a", withTags("t", "x2")), request(p, "b", withTags("t", "x3")))
	c := db.stmts
	c.mu.Lock()
	missed, prepared := len(c.missed), len(c.stmts)
	c.mu.Unlock()
	if missed == 0 || prepared != 0 {
		t.Fatalf("after the first batch: %d statements missed, %d prepared; want some, and none", missed, prepared)
	}
	save(request(p, "c", withTags("t", "y0")), request(p, "c", withTags("t", "y1")),
		request(p, "d", withTags("t", "y2")), request(p, "d", withTags("t", "y3")))
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.missed {
		t.Errorf("run unprepared in the second batch: %s", q)
	}
	for q, st := range c.stmts {
		if st == nil {
			t.Errorf("failed to prepare: %s", q)
		}
	}
	if got := e.count(`SELECT SUM(count) FROM issue_tags WHERE key = 'level'`); got != 8 {
		t.Errorf("level tags count %d events, want 8", got)
	}
}

// TestStmtCacheBound checks that the cache keeps at most maxCachedStmts
// statements, and that a statement past the bound still runs.
func TestStmtCacheBound(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	run := func(n int) {
		t.Helper()
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			for i := range n {
				var got int
				if err := db.queryRowTx(ctx, tx, fmt.Sprintf("SELECT %d", i)).Scan(&got); err != nil || got != i {
					return fmt.Errorf("SELECT %d: %d, %v", i, got, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	run(maxCachedStmts + 10)
	run(maxCachedStmts + 10) // prepares the first batch's, and runs them prepared
	c := db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stmts) != maxCachedStmts || len(c.missed) != 0 {
		t.Errorf("%d prepared, %d missed; want %d and 0", len(c.stmts), len(c.missed), maxCachedStmts)
	}
}

// TestStmtCachePreparedTwice: a statement missed again while one InTx
// prepares it is prepared by the next InTx too; the cache keeps the first
// and closes the second, which would otherwise stay prepared, unreachable,
// on every connection that ran it.
func TestStmtCachePreparedTwice(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	c := db.stmts
	const q = "SELECT 1"
	c.missed[q] = true
	c.prepareMissed(ctx)
	first := c.stmts[q]
	if first == nil {
		t.Fatal("SELECT 1 was not prepared")
	}
	c.missed[q] = true // as stmt records it between the other InTx's prepare and store
	c.prepareMissed(ctx)
	if c.stmts[q] != first {
		t.Error("the second prepare replaced the first statement, which stays open")
	}
	var got int
	if err := db.InTx(ctx, func(tx *sql.Tx) error { return db.queryRowTx(ctx, tx, q).Scan(&got) }); err != nil || got != 1 {
		t.Errorf("SELECT 1 after: %d, %v", got, err)
	}
}
