package dev

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/store"
)

// openError is the error of opening the database at dsn, with a hint for
// its cause: a schema a newer flytrap or another build migrated, a full disk, a damaged
// SQLite file, a PostgreSQL database that cannot be reached or does not
// exist, or an SQLite file that cannot be written. free tells the free
// space of the SQLite file's directory: a full disk makes some SQLite
// writes fail with an I/O error rather than SQLITE_FULL.
func openError(dsn string, err error, free ops.FreeSpace) error {
	dir := filepath.Dir(sqlitePath(dsn))
	sqliteDir := dir
	if store.IsPostgresDSN(dsn) {
		sqliteDir = ""
	}
	diskFull := store.DiskFullIn(err, sqliteDir, free)
	hint := "check --database-url (postgres://user:pass@host:5432/db) or that --data-dir and the flytrap.db files in it are writable by this user"
	switch {
	case errors.Is(err, store.ErrSchemaNewer):
		hint = "a newer flytrap has migrated this database, and migrations only go forward: run that version (or a later one), " +
			"or restore the backup taken before the upgrade (docs/getting-started.md#back-up-and-restore)"
	case errors.Is(err, store.ErrSchemaForeign):
		hint = "another build of flytrap (a development build?) has applied a migration this one numbers differently, so this one's never ran: " +
			"run the build that migrated the database, or restore the backup taken before it ran (docs/getting-started.md#back-up-and-restore)"
	case diskFull && store.IsPostgresDSN(dsn):
		hint = "the PostgreSQL server's disk is full: free disk space on it, then start again"
	case diskFull:
		hint = fmt.Sprintf("the disk is full: free disk space on %s (df -h %s), then start again", dir, cmdutil.ShellArg(dir))
	case store.Corrupt(err):
		name := filepath.Base(sqlitePath(dsn))
		hint = fmt.Sprintf("the database file is damaged or not a database: if %[1]s was copied or moved without its %[1]s-wal and %[1]s-shm, "+
			"put them back beside it; otherwise restore a backup (docs/getting-started.md#back-up-and-restore)", name)
	case store.IsPostgresDSN(dsn):
		hint = "check --database-url: name the database in its path (postgres://user:pass@host:5432/flytrap) and create it if need be (`createdb flytrap`); " +
			"the PostgreSQL server must be reachable and the user allowed to connect"
		if u, perr := url.Parse(dsn); perr == nil && strings.Trim(u.Path, "/") != "" {
			name := strings.Trim(u.Path, "/")
			hint = fmt.Sprintf("check --database-url: the database %s must exist (create it with `createdb %s`), "+
				"the PostgreSQL server must be reachable and the user allowed to connect", name, name)
		}
	}
	return &cmdutil.Error{Msg: "cannot open the database " + redact(dsn), Hint: hint, Err: linesOnce{err}}
}

// sqlitePath is the file of an SQLite dsn, without the prefixes
// store.Open accepts.
func sqlitePath(dsn string) string {
	for _, prefix := range []string{"sqlite:", "file:"} {
		if p, ok := strings.CutPrefix(dsn, prefix); ok {
			return p
		}
	}
	return dsn
}

// linesOnce is an error whose message repeats no line. pgx lists each
// attempt to connect on a line of its own, and with the default
// sslmode=prefer it tries every address twice (with TLS, then without),
// which fail alike when the server is down.
type linesOnce struct{ err error }

func (e linesOnce) Error() string {
	lines := strings.Split(e.err.Error(), "\n")
	seen := make(map[string]bool, len(lines))
	kept := lines[:0]
	for _, l := range lines {
		if !seen[l] {
			seen[l] = true
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

func (e linesOnce) Unwrap() error { return e.err }
