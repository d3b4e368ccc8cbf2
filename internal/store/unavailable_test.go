package store

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", fmt.Errorf("store: get issue 3: %w", ErrNotFound), false},
		{"invalid", ErrInvalid, false},
		{"a plain error", errors.New("boom"), false},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"admin shutdown", fmt.Errorf("store: list: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"starting up", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections", &pgconn.PgError{Code: "53300"}, true},
		{"disk full", &pgconn.PgError{Code: "53100"}, true},
		{"connection failure", &pgconn.PgError{Code: "08006"}, true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"bad connection", driver.ErrBadConn, true},
		{"cut off", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},
		{"timed out", context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		if got := Unavailable(tt.err); got != tt.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestDiskFull(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"a plain error", errors.New("boom"), false},
		{"PostgreSQL disk_full", fmt.Errorf("store: save: %w", &pgconn.PgError{Code: "53100"}), true},
		{"PostgreSQL out of memory", &pgconn.PgError{Code: "53200"}, false},
		{"ENOSPC", fmt.Errorf("write: %w", syscall.ENOSPC), true},
		{"refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false},
		{"SQLite full", sqliteFullError(t), true},
	}
	for _, tt := range tests {
		if got := DiskFull(tt.err); got != tt.want {
			t.Errorf("%s: DiskFull(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// sqliteFullError is the error SQLite gives a write with no room left,
// made real by a page budget the file's growth runs into.
func sqliteFullError(t *testing.T) error {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "full.db")+"?_pragma=max_page_count(3)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if _, err := db.Exec(`INSERT INTO t VALUES (zeroblob(4096))`); err != nil {
			return err
		}
	}
	t.Fatal("100 pages went into a database of at most 3")
	return nil
}

func TestInvalidText(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"a plain error", errors.New("boom"), false},
		{"not found", ErrNotFound, false},
		{"NUL or invalid UTF-8", fmt.Errorf("store: release: %w", &pgconn.PgError{Code: "22021"}), true},
		{"untranslatable character", &pgconn.PgError{Code: "22P05"}, true},
		{"other data exception", &pgconn.PgError{Code: "22001"}, false},
	}
	for _, tt := range tests {
		if got := InvalidText(tt.err); got != tt.want {
			t.Errorf("%s: InvalidText(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestCorrupt: a damaged file and one that is no database are Corrupt,
// and neither is an I/O error of a full disk.
func TestCorrupt(t *testing.T) {
	tests := []struct {
		name           string
		err            error
		corrupt, ioErr bool
	}{
		{"nil", nil, false, false},
		{"a plain error", errors.New("database disk image is malformed"), false, false},
		{"SQLite full", sqliteFullError(t), false, false},
		{"not a database", notADatabaseError(t), true, false},
		{"malformed", malformedError(t), true, false},
	}
	for _, tt := range tests {
		if got := Corrupt(tt.err); got != tt.corrupt {
			t.Errorf("%s: Corrupt(%v) = %v, want %v", tt.name, tt.err, got, tt.corrupt)
		}
		if got := WriteIOError(tt.err); got != tt.ioErr {
			t.Errorf("%s: WriteIOError(%v) = %v, want %v", tt.name, tt.err, got, tt.ioErr)
		}
	}
}

// notADatabaseError is the error of opening a file of text.
func notADatabaseError(t *testing.T) error {
	path := filepath.Join(t.TempDir(), "flytrap.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("not a database "), 300), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path)
	if err == nil {
		db.Close()
		t.Fatal("a file of text opened as a database")
	}
	return err
}

// malformedError is the error of reading a table whose page was
// overwritten.
func malformedError(t *testing.T) error {
	path := filepath.Join(t.TempDir(), "damaged.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE t (b BLOB); INSERT INTO t VALUES (randomblob(100))`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Page 2 is t's root.
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xff}, 4096), 4096); err != nil {
		t.Fatal(err)
	}
	f.Close()
	db, err = sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT COUNT(*) FROM t`).Scan(&n)
	if err == nil {
		t.Fatal("a table with an overwritten page read")
	}
	return err
}
