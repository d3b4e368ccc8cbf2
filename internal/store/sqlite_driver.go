//go:build !nosqlite

package store

// The SQLite driver adds several megabytes; the AWS runtime binaries only
// talk to PostgreSQL and build with -tags nosqlite to stay small.
import _ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
