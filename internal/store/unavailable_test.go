package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
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
