//go:build !nosqlite

package store

import (
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// The SQLite driver adds several megabytes; the AWS runtime binaries only
// talk to PostgreSQL and build with -tags nosqlite to stay small.

func init() {
	sqliteUnavailable = func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		// The primary result code: the extended ones keep it in the low
		// byte.
		switch e.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
			return true
		}
		return false
	}
	sqliteDiskFull = func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
	}
	sqliteWriteIOError = func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		switch e.Code() {
		case sqlite3.SQLITE_IOERR_WRITE, sqlite3.SQLITE_IOERR_FSYNC, sqlite3.SQLITE_IOERR_DIR_FSYNC,
			sqlite3.SQLITE_IOERR_TRUNCATE, sqlite3.SQLITE_IOERR_SHMSIZE, sqlite3.SQLITE_IOERR_SHMMAP,
			sqlite3.SQLITE_IOERR_SHMOPEN:
			return true
		}
		return false
	}
	sqliteCorrupt = func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		c := e.Code() & 0xff
		return c == sqlite3.SQLITE_CORRUPT || c == sqlite3.SQLITE_NOTADB
	}
	sqlite.MustRegisterDeterministicScalarFunction(sqliteLower, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch s := args[0].(type) {
		case string:
			return strings.ToLower(s), nil
		case []byte:
			return strings.ToLower(string(s)), nil
		}
		return args[0], nil
	})
}
