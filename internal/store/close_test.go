package store

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCloseFoldsTheLog: a clean Close leaves the database all in its
// file, and one that leaves the write-ahead log beside it says so, with
// the cause when folding it failed, since SQLite's own close does not.
func TestCloseFoldsTheLog(t *testing.T) {
	ctx := context.Background()
	write := func(t *testing.T, db *DB) {
		t.Helper()
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE t (b BLOB)`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO t VALUES (randomblob(10000))`); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("clean", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "flytrap.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		write(t, db)
		if err := db.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the log is still there after a clean Close: %v", err)
		}
	})

	t.Run("a reader keeps the log", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "flytrap.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		write(t, db)
		other, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		// A reader in a transaction keeps the pages it sees in the log.
		tx, err := other.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var n int
		if err := tx.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO t VALUES (randomblob(10000))`); err != nil {
			t.Fatal(err)
		}
		err = db.Close()
		if !errors.Is(err, ErrWALKept) {
			t.Fatalf("Close = %v, want ErrWALKept", err)
		}
		t.Log(err)
	})

	t.Run("full disk", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("mounting a small tmpfs needs root")
		}
		dir := t.TempDir()
		// Room for the migrations (their log alone is over 600 KB, with
		// migrations 0033 to 0036), not for the 4 MB of rows below.
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
			t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", dir).Run() })
		path := filepath.Join(dir, "flytrap.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE t (b BLOB)`); err != nil {
			t.Fatal(err)
		}
		// The log grows until the disk is full; folding it back then
		// needs the database file to grow too.
		for range 1000 {
			if _, err = db.SQL().ExecContext(ctx, `INSERT INTO t VALUES (randomblob(4096))`); err != nil {
				break
			}
		}
		if !DiskFull(err) {
			t.Fatalf("filling the disk: %v", err)
		}
		err = db.Close()
		if !errors.Is(err, ErrWALKept) || !DiskFull(err) {
			t.Fatalf("Close = %v, want ErrWALKept for a full disk", err)
		}
		t.Log(err)
	})
}
