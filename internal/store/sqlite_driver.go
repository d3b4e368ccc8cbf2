//go:build !nosqlite

package store

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// The SQLite driver adds several megabytes; the AWS runtime binaries only
// talk to PostgreSQL and build with -tags nosqlite to stay small.

func init() {
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
