package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/jackc/pgx/v5/pgconn"
)

// UnavailableRetryAfter is how long a client is told to wait (Retry-After)
// after a request Unavailable refused: long enough for a database restart,
// short enough that a blip costs little. The API, the dashboard and
// sentry-cli's endpoints all answer with it.
const UnavailableRetryAfter = 5 * time.Second

// Unavailable reports whether err means the database could not be reached
// or could not take the request now, rather than that the request was
// wrong: the server down, restarting or out of connections, the network
// gone, a disk full, SQLite's lock held too long. Callers answer 503 with
// Retry-After, which clients retry, instead of a 500 that looks like a
// bug; nothing is stored or changed by a statement that failed so.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var (
		netErr     net.Error
		connectErr *pgconn.ConnectError
		pgErr      *pgconn.PgError
	)
	switch {
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 53: insufficient resources
		// (disk full, out of memory, too many connections); 57P01-57P05:
		// the server shutting down, starting up or cancelling idle
		// sessions.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "53") || strings.HasPrefix(pgErr.Code, "57P")
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, context.DeadlineExceeded):
		return true
	}
	return sqliteUnavailable != nil && sqliteUnavailable(err)
}

// DiskFull reports whether err means the database's disk (or one the
// server writes to) is full: SQLite's SQLITE_FULL, PostgreSQL's disk_full
// (53100) or ENOSPC. Such an error is also Unavailable; callers tell the
// user to free space instead of blaming the network.
func DiskFull(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "53100"
	}
	return errors.Is(err, syscall.ENOSPC) || sqliteDiskFull != nil && sqliteDiskFull(err)
}

// nearlyFull is the free space below which DiskFullIn takes an SQLite
// write error for a full disk: a failing write needed at most a few pages,
// or the 32 KiB of flytrap.db-shm.
const nearlyFull = 4 << 20

// DiskFullIn reports whether err means the disk is full for a server whose
// SQLite database is in dir ("" on PostgreSQL): DiskFull's errors, or a
// WriteIOError while the disk holding dir has less than 4 MiB free, as
// free measures it (nil: ops.FreeBytes). It is the one test of a full
// disk that the start-up hints, the API, the dashboard and sentry-cli's
// endpoints share, so that an I/O error a full disk caused is reported as
// a full disk everywhere.
func DiskFullIn(err error, dir string, free ops.FreeSpace) bool {
	if DiskFull(err) {
		return true
	}
	if dir == "" || !WriteIOError(err) {
		return false
	}
	if free == nil {
		free = ops.FreeBytes
	}
	n, ferr := free(dir)
	return ferr == nil && n < nearlyFull
}

// DiskFull reports whether err, returned by d, means d's disk is full
// (DiskFullIn, with the directory of d's SQLite file).
func (d *DB) DiskFull(err error) bool { return DiskFullIn(err, d.dir, nil) }

// WriteIOError reports whether err is SQLite's I/O error writing,
// syncing or sizing a file (SQLITE_IOERR_WRITE, _FSYNC, _DIR_FSYNC,
// _TRUNCATE, _SHMSIZE, _SHMMAP, _SHMOPEN). A full disk causes them where
// SQLite does not say SQLITE_FULL: sizing flytrap.db-shm at start-up
// fails with SQLITE_IOERR_SHMSIZE. A failing disk causes them too, so
// DiskFullIn tells them apart by the free space where the database is,
// which DiskFull cannot see.
func WriteIOError(err error) bool {
	return sqliteWriteIOError != nil && sqliteWriteIOError(err)
}

// Corrupt reports whether err means the SQLite database file is damaged
// or is not a database: SQLITE_CORRUPT ("database disk image is
// malformed") or SQLITE_NOTADB. Copying flytrap.db without the
// flytrap.db-wal beside it is one way to get there.
func Corrupt(err error) bool {
	return sqliteCorrupt != nil && sqliteCorrupt(err)
}

// sqliteUnavailable, sqliteDiskFull, sqliteWriteIOError and sqliteCorrupt
// are set by the SQLite driver's file, which builds without the nosqlite
// tag only.
var sqliteUnavailable, sqliteDiskFull, sqliteWriteIOError, sqliteCorrupt func(error) bool
