package store

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// fillEvents adds n events of about 3 KB each (random, so they do not
// compress) to the project of issue, in one statement.
func fillEvents(t *testing.T, db *sql.DB, issue int64, n int) {
	t.Helper()
	_, err := db.Exec(`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2)
		INSERT INTO events (project_id, issue_id, event_id, occurred_at, received_at, title, level, release_name, environment, payload)
		SELECT e.project_id, e.issue_id, e.event_id || '-' || seq.i, e.occurred_at, e.received_at, e.title, e.level, e.release_name, e.environment, randomblob(3000)
		FROM seq CROSS JOIN (SELECT * FROM events WHERE issue_id = $1 LIMIT 1) e`, issue, n)
	if err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func space(t *testing.T, db *DB) Space {
	t.Helper()
	s, _, err := db.SQLiteSpace(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSQLiteReclaimsSpace: a new database is created with incremental
// auto-vacuum; after a large project is deleted, ReclaimSpace gives its
// pages back and the file shrinks to what is left, and the WAL that the
// delete grew is cut back to journal_size_limit once it is reused.
func TestSQLiteReclaimsSpace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flytrap.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s := space(t, db); s.AutoVacuum != 2 {
		t.Fatalf("a new database has auto_vacuum %d, want 2 (incremental)", s.AutoVacuum)
	}
	e := newEnv(t, db)
	big := e.save("big").IssueID
	keep := e.createProject("keep")
	e.saveIn(keep.ID, "kept")
	fillEvents(t, db.SQL(), big, 12000) // about 40 MB
	full := space(t, db)
	if got := fileSize(t, path+"-wal"); got < 20<<20 {
		t.Fatalf("setup: the WAL is %d bytes after the fill, want over 20 MB", got)
	}
	if full.Bytes() < 30<<20 {
		t.Fatalf("setup: the database is %d bytes, want over 30 MB", full.Bytes())
	}
	if n, err := db.ReclaimSpace(ctx); err != nil || n != 0 {
		t.Errorf("ReclaimSpace with nothing free = %d, %v; want 0", n, err)
	}
	if err := db.DeleteProject(ctx, System, e.project.ID); err != nil {
		t.Fatal(err)
	}
	if s := space(t, db); s.FreePages*2 < s.Pages {
		t.Fatalf("setup: after the delete %d of %d pages are free, want most", s.FreePages, s.Pages)
	}
	freed, err := db.ReclaimSpace(ctx)
	if err != nil {
		t.Fatal(err)
	}
	after := space(t, db)
	if after.FreePages != 0 || after.Bytes() > 2<<20 || freed < 30<<20 {
		t.Errorf("after ReclaimSpace: %d pages, %d free (%d bytes given back); want no free pages and under 2 MB", after.Pages, after.FreePages, freed)
	}
	// Writes go on; the checkpoints that follow shrink the file and, once
	// the WAL is reused, cut it to the limit.
	for i := range 20 {
		e.saveIn(keep.ID, "kept", withID(string(rune('a'+i))+"-later"))
		db.checkpoint(ctx)
	}
	if got := fileSize(t, path); got > 2<<20 {
		t.Errorf("flytrap.db is %d bytes after the checkpoint, want under 2 MB", got)
	}
	if got := fileSize(t, path+"-wal"); got > 16<<20 {
		t.Errorf("flytrap.db-wal is %d bytes, want at most the 16 MiB journal_size_limit", got)
	}
	if n := e.count(`SELECT COUNT(*) FROM events WHERE project_id = $1`, keep.ID); n != 21 {
		t.Errorf("the other project has %d events, want 21", n)
	}
	if n, err := db.ReclaimSpace(ctx); err != nil || n != 0 {
		t.Errorf("ReclaimSpace again = %d, %v; want 0", n, err)
	}
}

// TestSQLiteCompactAtStart: a database created before incremental
// auto-vacuum (auto_vacuum 0) is converted and shrunk by CompactAtStart
// once most of it is free, and left alone while it is not.
func TestSQLiteCompactAtStart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flytrap.db")
	// What older versions created: no auto-vacuum.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA auto_vacuum = NONE; PRAGMA journal_mode = WAL; CREATE TABLE old_version (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if s := space(t, db); s.AutoVacuum != 0 {
		t.Fatalf("setup: auto_vacuum %d, want 0", s.AutoVacuum)
	}
	e := newEnv(t, db)
	big := e.save("big").IssueID
	keep := e.createProject("keep")
	e.saveIn(keep.ID, "kept")
	fillEvents(t, db.SQL(), big, 8000)
	if _, _, ran, err := db.CompactAtStart(ctx, nil); err != nil || ran {
		t.Errorf("CompactAtStart with nothing free: ran %v, %v; want it left alone", ran, err)
	}
	if err := db.DeleteProject(ctx, System, e.project.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := db.ReclaimSpace(ctx); err != nil || n != 0 {
		t.Errorf("ReclaimSpace on a database without auto-vacuum = %d, %v; want 0", n, err)
	}
	told := 0
	before, after, ran, err := db.CompactAtStart(ctx, func(size, free int64) {
		told++
		if free < size/4 || size < 20<<20 {
			t.Errorf("told of %d free bytes of %d before the VACUUM", free, size)
		}
	})
	if err != nil || !ran || after > 2<<20 || before < 20<<20 {
		t.Fatalf("CompactAtStart = %d -> %d bytes, ran %v, %v; want a shrink to under 2 MB", before, after, ran, err)
	}
	if told != 1 {
		t.Errorf("told %d times before compacting, want once", told)
	}
	if s := space(t, db); s.AutoVacuum != 2 || s.FreePages != 0 {
		t.Errorf("after CompactAtStart: auto_vacuum %d, %d free pages; want 2 and 0", s.AutoVacuum, s.FreePages)
	}
	if got := fileSize(t, path); got > 2<<20 {
		t.Errorf("flytrap.db is %d bytes, want under 2 MB", got)
	}
	if got := fileSize(t, path+"-wal"); got > 16<<20 {
		t.Errorf("flytrap.db-wal is %d bytes after the VACUUM, want at most 16 MiB", got)
	}
	if n := e.count(`SELECT COUNT(*) FROM events WHERE project_id = $1`, keep.ID); n != 1 {
		t.Errorf("the other project has %d events, want 1", n)
	}
}
