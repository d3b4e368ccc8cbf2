package store_test

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/fulldisk"
	"github.com/jackc/pgx/v5/pgconn"
)

// TestDiskFullIn: SQLite's write I/O errors mean a full disk only where
// the database's disk is nearly full, as a failing disk causes them too;
// the errors that say so themselves do everywhere.
func TestDiskFullIn(t *testing.T) {
	ioErr := fulldisk.ShmSizeError(t)
	tests := []struct {
		name string
		err  error
		dir  string
		free uint64
		want bool
	}{
		{"nil", nil, "/data", 0, false},
		{"a plain error on a full disk", errors.New("boom"), "/data", 0, false},
		{"ENOSPC", fmt.Errorf("store: %w", syscall.ENOSPC), "/data", 1 << 30, true},
		{"PostgreSQL's disk_full", &pgconn.PgError{Code: "53100"}, "", 1 << 30, true},
		{"an I/O error with 8 KiB free", ioErr, "/data", 8 << 10, true},
		{"an I/O error with 1 GiB free", ioErr, "/data", 1 << 30, false},
		{"an I/O error without a directory (PostgreSQL)", ioErr, "", 8 << 10, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil && tt.name != "nil" {
				t.Skip("needs root to mount a small tmpfs")
			}
			free := func(dir string) (uint64, error) {
				if dir != tt.dir {
					t.Errorf("free space of %q, want %q", dir, tt.dir)
				}
				return tt.free, nil
			}
			if got := store.DiskFullIn(tt.err, tt.dir, free); got != tt.want {
				t.Errorf("DiskFullIn(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
