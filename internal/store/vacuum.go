package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SQLite gives no disk space back by itself: pages freed by a delete go
// on a free list and are reused by later writes, so deleting a large
// project, a noisy issue, or lowering the retention left the file at its
// high-water mark (149 MB holding 0.3 MB of data). New databases are
// created with auto_vacuum=INCREMENTAL (sqliteParams), which lets
// ReclaimSpace hand free pages back in short steps; databases created
// before that are converted by CompactAtStart, once they have enough free
// pages to make the rewrite worth it.
//
// Only a large share of free pages is given back: the events that
// retention deletes every hour leave pages that the next hour's events
// fill again, and moving pages to the front of the file to truncate it
// would cost writes for nothing.

const (
	// reclaimFreeShare is the share of the file that must be free before
	// space is given back (1/reclaimFreeShare of its pages).
	reclaimFreeShare = 4
	// reclaimMinBytes is the least free space worth giving back.
	reclaimMinBytes = 16 << 20
	// reclaimStepPages is how many pages one incremental step frees, in
	// its own short write transaction (4 MiB with the default page size,
	// tens of milliseconds), so ingest's commits get the lock between
	// steps.
	reclaimStepPages = 1024
	// reclaimPause is the pause between steps.
	reclaimPause = 20 * time.Millisecond
)

// Space is the size of a SQLite database file and its free pages.
type Space struct {
	Pages, FreePages, PageSize int64
	// AutoVacuum is SQLite's auto_vacuum mode: 0 none, 1 full, 2
	// incremental.
	AutoVacuum int64
}

// Bytes is the size of the database file.
func (s Space) Bytes() int64 { return s.Pages * s.PageSize }

// FreeBytes is the size of its free pages.
func (s Space) FreeBytes() int64 { return s.FreePages * s.PageSize }

// worthReclaiming says whether enough of the file is free.
func (s Space) worthReclaiming() bool {
	return s.FreeBytes() >= reclaimMinBytes && s.FreePages*reclaimFreeShare >= s.Pages
}

// SQLiteSpace reports the database's size and free pages; ok is false on
// PostgreSQL.
func (d *DB) SQLiteSpace(ctx context.Context) (s Space, ok bool, err error) {
	if d.dialect != DialectSQLite {
		return Space{}, false, nil
	}
	for _, p := range []struct {
		pragma string
		into   *int64
	}{{"page_count", &s.Pages}, {"freelist_count", &s.FreePages}, {"page_size", &s.PageSize}, {"auto_vacuum", &s.AutoVacuum}} {
		if err := d.db.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.into); err != nil {
			return s, true, fmt.Errorf("store: PRAGMA %s: %w", p.pragma, err)
		}
	}
	return s, true, nil
}

// ReclaimSpace gives a SQLite database's free pages back to the file
// system when they are a large share of the file (a quarter, and at least
// 16 MiB), in steps of 1024 pages, each in its own write turn, until none
// are left or ctx ends. It returns the bytes given back. It does nothing
// on PostgreSQL (autovacuum's business) or on a database without
// incremental auto-vacuum (see CompactAtStart). The file shrinks at the
// next checkpoint, which SQLite runs after about 4 MiB of writes.
func (d *DB) ReclaimSpace(ctx context.Context) (int64, error) {
	s, ok, err := d.SQLiteSpace(ctx)
	if !ok || err != nil || s.AutoVacuum != 2 || !s.worthReclaiming() {
		return 0, err
	}
	var freed int64
	for {
		var left int64
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", reclaimStepPages)); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&left)
		})
		if err != nil {
			return freed * s.PageSize, fmt.Errorf("store: reclaim space: %w", err)
		}
		freed += s.FreePages - left
		if left == 0 || left >= s.FreePages {
			break
		}
		s.FreePages = left
		select {
		case <-ctx.Done():
			return freed * s.PageSize, ctx.Err()
		case <-time.After(reclaimPause):
		}
	}
	// Copy the moved pages into the file and truncate it now, rather than
	// at the next automatic checkpoint.
	d.checkpoint(ctx)
	return freed * s.PageSize, nil
}

// checkpoint runs a passive checkpoint: it never waits for readers or
// writers, and truncates the database file once the WAL is copied in.
func (d *DB) checkpoint(ctx context.Context) {
	var busy, logPages, done int64
	_ = d.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done)
}

// CompactAtStart converts a SQLite database created without incremental
// auto-vacuum (by a version before it) and gives its free space back,
// with one VACUUM, when a large share of it is free (a quarter, and at
// least 16 MiB). Call it at start-up, before serving: VACUUM holds the
// write lock while it copies the live pages into a new file, which takes
// time in proportion to the data kept, not to the file, and needs that
// much free disk space again for a moment. A database that is already
// incremental, or has little free space, is left alone; so is any
// PostgreSQL database. before and after are the file's sizes; ran says
// whether it vacuumed.
//
// starting, when not nil, is called with the file's size and its free
// bytes before the VACUUM begins, so that whoever waits knows why.
func (d *DB) CompactAtStart(ctx context.Context, starting func(size, free int64)) (before, after int64, ran bool, err error) {
	s, ok, err := d.SQLiteSpace(ctx)
	if !ok || err != nil || s.AutoVacuum == 2 || !s.worthReclaiming() {
		return s.Bytes(), s.Bytes(), false, err
	}
	if starting != nil {
		starting(s.Bytes(), s.FreeBytes())
	}
	done, err := d.WriteTurn(ctx)
	if err != nil {
		return s.Bytes(), s.Bytes(), false, err
	}
	defer done()
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return s.Bytes(), s.Bytes(), false, fmt.Errorf("store: compact: %w", err)
	}
	defer conn.Close()
	// The copy VACUUM builds is a temporary database: in a file, not in
	// memory as the connection's temp_store says, whatever its size.
	for _, q := range []string{"PRAGMA temp_store=FILE", "PRAGMA auto_vacuum=INCREMENTAL", "VACUUM"} {
		if _, err = conn.ExecContext(ctx, q); err != nil {
			break
		}
	}
	_, _ = conn.ExecContext(ctx, "PRAGMA temp_store=MEMORY")
	if err != nil {
		return s.Bytes(), s.Bytes(), false, fmt.Errorf("store: compact: %w", err)
	}
	// VACUUM went through the WAL: copy it in and empty it.
	var busy, logPages, copied int64
	_ = conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &copied)
	a, _, err := d.SQLiteSpace(ctx)
	return s.Bytes(), a.Bytes(), true, err
}
