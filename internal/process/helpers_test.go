package process

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// bothStores give a new database of each kind, for tests that process
// into SQLite and PostgreSQL alike.
var bothStores = map[string]func(t *testing.T) string{
	"sqlite":   sqliteFile,
	"postgres": func(t *testing.T) string { return pgtest.URL(t) },
}

// sqliteFile is a new SQLite database file in t's temporary directory.
func sqliteFile(t *testing.T) string { return filepath.Join(t.TempDir(), "flytrap.db") }

// openProject opens the store at dsn, closed when t ends, and creates the
// project name in it.
func openProject(t *testing.T, dsn, name string) (*store.DB, store.Project) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	proj, err := db.CreateProject(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return db, proj
}
