package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
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
