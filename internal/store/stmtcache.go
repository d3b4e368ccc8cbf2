package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statements a stmtCache keeps. The save's
// multi-row statements come in a few sizes each (eachChunk), so a pool
// needs far fewer; past the bound a statement runs unprepared, as it would
// without the cache.
const maxCachedStmts = 256

// stmtCache keeps SQLite statements prepared on one pool from one
// transaction to the next. Without it SQLite parses and compiles every
// statement of a transaction anew: the save's statements took 11% of the
// processor's CPU doing so (docs/benchmarks.md). A transaction uses a
// cached statement through Tx.StmtContext, which database/sql prepares on
// the transaction's connection the first time that connection runs it and
// keeps with the statement after that.
//
// A statement is prepared on the pool, not in the transaction that first
// runs it, because database/sql prepares a statement that outlives a
// transaction only on a connection of its own: inside the transaction,
// with every connection of the pool taken, that would wait for ever. So
// the first run of a statement records it, runs unprepared, and the next
// InTx prepares it before taking a connection (prepareMissed).
type stmtCache struct {
	db *sql.DB

	mu sync.Mutex
	// stmts are the prepared statements by their text; nil for one that
	// did not prepare, which then always runs unprepared.
	stmts map[string]*sql.Stmt
	// missed are the texts run since the last prepareMissed that have no
	// entry in stmts yet.
	missed map[string]bool
}

// newStmtCache returns an empty cache for db's transactions.
func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// stmt returns query prepared for tx, or nil when it is not prepared yet
// (or c is nil, as on PostgreSQL): the caller then runs it in tx as text.
func (c *stmtCache) stmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	st, ok := c.stmts[query]
	if !ok && len(c.stmts)+len(c.missed) < maxCachedStmts {
		c.missed[query] = true
	}
	c.mu.Unlock()
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// prepareMissed prepares the statements run unprepared since its last
// call. The caller holds none of the pool's connections (see stmtCache);
// a statement that fails to prepare is not tried again, unless ctx ended.
func (c *stmtCache) prepareMissed(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	var missed []string
	for q := range c.missed {
		missed = append(missed, q)
	}
	clear(c.missed)
	c.mu.Unlock()
	for i, q := range missed {
		st, err := c.db.PrepareContext(ctx, q)
		c.mu.Lock()
		if err != nil && ctx.Err() != nil {
			for _, q := range missed[i:] {
				c.missed[q] = true
			}
			c.mu.Unlock()
			return
		}
		if _, ok := c.stmts[q]; ok {
			// Another InTx prepared it meanwhile (it was missed again
			// before that one stored it): keep one, close the other.
			c.mu.Unlock()
			if st != nil {
				st.Close()
			}
			continue
		}
		c.stmts[q] = st
		c.mu.Unlock()
	}
}

// exec runs query in tx: prepared when the cache has it, else as text.
func (d *DB) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := d.stmts.stmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// queryTx runs query in tx, as exec does, and returns its rows.
func (d *DB) queryTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := d.stmts.stmt(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}

// queryRowTx runs query in tx, as exec does, and returns its first row.
func (d *DB) queryRowTx(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := d.stmts.stmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// cachedTx is a transaction whose queries go through d's statement cache,
// for helpers that take any queryer.
type cachedTx struct {
	d  *DB
	tx *sql.Tx
}

// QueryContext runs query in the transaction (DB.queryTx).
func (c cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.d.queryTx(ctx, c.tx, query, args...)
}

// prepareTx returns query prepared for tx: the cached statement when the
// cache has it, else one prepared in tx, for a statement tx runs many
// times.
func (d *DB) prepareTx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := d.stmts.stmt(ctx, tx, query); st != nil {
		return st, nil
	}
	return tx.PrepareContext(ctx, query)
}
