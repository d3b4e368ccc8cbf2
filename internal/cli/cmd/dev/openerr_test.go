package dev

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/fulldisk"
	"github.com/jackc/pgx/v5/pgconn"
)

// newerSchema returns the error of opening an SQLite database a later
// flytrap migrated.
func newerSchema(t *testing.T) error {
	t.Helper()
	return reopenedWith(t, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from_the_future', 0)`)
}

// foreignSchema returns the error of opening an SQLite database whose
// first migration another build applied under its own name.
func foreignSchema(t *testing.T) error {
	t.Helper()
	return reopenedWith(t, `UPDATE schema_migrations SET name = '0001_from_a_branch.sql' WHERE version = 1`)
}

// reopenedWith returns the error of opening an SQLite database made by
// this flytrap after stmt changed its schema_migrations.
func reopenedWith(t *testing.T, stmt string) error {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flytrap.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(stmt); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = store.Open(ctx, path)
	if err == nil {
		t.Fatalf("a database opened after %s", stmt)
	}
	return err
}

// sqliteFull returns the error SQLite gives a write with no room left,
// made real by a page budget the file's growth runs into.
func sqliteFull(t *testing.T) error {
	t.Helper()
	raw, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "full.db")+"?_pragma=max_page_count(3)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TABLE t (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := raw.Exec(`INSERT INTO t VALUES (zeroblob(4096))`); err != nil {
			return fmt.Errorf("store: connect: %w", err)
		}
	}
	t.Fatal("100 pages went into a database of at most 3")
	return nil
}

// notADatabase returns the error of opening a file of text as the
// database.
func notADatabase(t *testing.T) error {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flytrap.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 300), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), path)
	if err == nil {
		db.Close()
		t.Fatal("a file of text opened as a database")
	}
	return err
}

// TestOpenErrorHints: each cause of a failed open gets the hint that
// fits it, and pgx's repeated lines are printed once.
func TestOpenErrorHints(t *testing.T) {
	shmSize := fulldisk.ShmSizeError(t)
	pgDown := errors.New("store: connect: failed to connect to `user=flytrap database=flytrap`:\n" +
		" 127.0.0.1:5439 (localhost): dial error: dial tcp 127.0.0.1:5439: connect: connection refused\n" +
		" 127.0.0.1:5439 (localhost): dial error: dial tcp 127.0.0.1:5439: connect: connection refused")
	tests := []struct {
		name, dsn string
		err       error
		want      []string
		notWant   []string
		// free is the data directory's free space; 0: 1 GiB.
		free uint64
	}{
		{"newer schema", ".flytrap/flytrap.db", newerSchema(t),
			[]string{"schema version 9999 is newer than this binary's", "run that version (or a later one)", "restore the backup", "back-up-and-restore"},
			[]string{"writable", "--database-url"}, 0},
		{"schema of another build", ".flytrap/flytrap.db", foreignSchema(t),
			[]string{"records migration 1 as 0001_from_a_branch.sql, where this binary's is 0001_", "run the build that migrated the database", "back-up-and-restore"},
			[]string{"writable", "newer", "--database-url"}, 0},
		{"postgres down", "postgres://flytrap:s3cret@localhost:5439/errors", pgDown,
			[]string{"cannot open the database postgres://flytrap:xxxxx@localhost:5439/errors", "the database errors must exist (create it with `createdb errors`)"},
			[]string{"flytrap.db", "s3cret"}, 0},
		{"postgres without a database name", "postgresql://localhost", pgDown,
			[]string{"name the database in its path", "`createdb flytrap`"},
			[]string{"flytrap.db"}, 0},
		{"sqlite on a full disk", "/mnt/small disk/flytrap.db", sqliteFull(t),
			[]string{"the disk is full: free disk space on /mnt/small disk (df -h '/mnt/small disk')"},
			[]string{"writable", "--database-url", "createdb"}, 0},
		{"sqlite: prefix on a full disk", "sqlite:.flytrap/flytrap.db", fmt.Errorf("store: migrate: %w", syscall.ENOSPC),
			[]string{"free disk space on .flytrap (df -h .flytrap)"},
			[]string{"writable", "on sqlite:"}, 0},
		{"postgres disk full", "postgres://localhost/flytrap", fmt.Errorf("store: migrate: %w", &pgconn.PgError{Code: "53100"}),
			[]string{"the PostgreSQL server's disk is full"},
			[]string{"createdb", "df -h"}, 0},
		{"sqlite I/O error on a full disk", "/mnt/small/flytrap.db", shmSize,
			[]string{"the disk is full: free disk space on /mnt/small (df -h /mnt/small)"},
			[]string{"writable", "--database-url"}, 8 << 10},
		{"sqlite I/O error with space left", "/mnt/small/flytrap.db", shmSize,
			[]string{"writable"},
			[]string{"the disk is full"}, 0},
		{"sqlite not a database", ".flytrap/flytrap.db", notADatabase(t),
			[]string{"the database file is damaged", "without its flytrap.db-wal and flytrap.db-shm, put them back", "restore a backup"},
			[]string{"writable", "disk is full"}, 0},
		{"sqlite", ".flytrap/flytrap.db", errors.New("unable to open database file: permission denied"),
			[]string{"--data-dir and the flytrap.db files in it are writable"},
			[]string{"createdb", "newer"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Skip("needs root to mount a small tmpfs")
			}
			free := func(string) (uint64, error) { return cmp.Or(tt.free, 1<<30), nil }
			err := openError(tt.dsn, tt.err, free)
			_, hint := cmdutil.ExitCode(err)
			text := err.Error() + "\nhint: " + hint
			for _, s := range tt.want {
				if !strings.Contains(text, s) {
					t.Errorf("lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(text, s) {
					t.Errorf("has %q:\n%s", s, text)
				}
			}
			if n := strings.Count(text, "connection refused"); n > 1 {
				t.Errorf("pgx's line printed %d times:\n%s", n, text)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the cause is lost from the chain")
			}
		})
	}
}

// TestWriteInfoError: dev.json that a full disk cannot take gets the
// full-disk hint, as the database does; another failure gets none.
func TestWriteInfoError(t *testing.T) {
	full := writeInfoError("/mnt/small/dev.json", &os.PathError{Op: "write", Path: "/mnt/small/.dev.json-1", Err: syscall.ENOSPC})
	if _, hint := cmdutil.ExitCode(full); hint != "the disk is full: free disk space on /mnt/small (df -h /mnt/small), then start again" {
		t.Errorf("full disk: hint %q", hint)
	}
	if _, hint := cmdutil.ExitCode(writeInfoError("/mnt/small/dev.json", os.ErrPermission)); hint != "" {
		t.Errorf("permission denied: hint %q", hint)
	}
}
