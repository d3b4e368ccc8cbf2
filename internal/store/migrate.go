package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFiles embed.FS

// migrateLockKey is the PostgreSQL advisory lock that makes processes
// starting together migrate the store one after another ("flytrap" in
// ASCII).
const migrateLockKey = 0x666c7974726170

// projectNameLockKey is the PostgreSQL advisory lock that serialises
// naming projects (checkNameFree); migrateLockKey+1 guards roles.
const projectNameLockKey = migrateLockKey + 2

// storeMigrations are the store's own tables. The queue's tables appear in
// 0001_init too, because installs applied that file before the queue had
// migrations of its own; internal/queue owns them now (see Migrations).
var storeMigrations = Migrations{
	Owner:   "store",
	Files:   migrationFiles,
	Table:   "schema_migrations",
	LockKey: migrateLockKey,
}

// Migrations is one component's numbered schema migrations. Each component
// that keeps tables in the database (the store, the local queue) has its
// own set and its own version table, so the components evolve their
// tables independently and their version numbers never collide.
type Migrations struct {
	// Owner names the component in errors ("store", "queue").
	Owner string
	// Files holds migrations/<dialect>/NNNN_description.sql for each
	// dialect ("sqlite", "postgres"). Applied files are history: change the
	// schema with a new file, never by editing an applied one.
	Files fs.FS
	// Table records the applied versions; it is created when missing.
	Table string
	// LockKey is the PostgreSQL advisory lock that makes processes
	// starting together migrate the component one after another.
	LockKey int64
}

type migration struct {
	version int64
	name    string
	sql     string
}

// migrations returns the store's migration files for dialect in version
// order.
func migrations(dialect string) ([]migration, error) {
	return storeMigrations.load(dialect)
}

// load returns the dialect's migration files in version order; versions
// must be unique.
func (m Migrations) load(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(m.Files, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: migrations: %w", m.Owner, err)
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("%s: migration %s/%s: name must be NNNN_description.sql", m.Owner, dir, e.Name())
		}
		body, err := fs.ReadFile(m.Files, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("%s: migrations: %w", m.Owner, err)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return int(a.version - b.version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("%s: migrations %s and %s share a version", m.Owner, ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies the store's migrations.
func (d *DB) migrate(ctx context.Context) error { return d.Migrate(ctx, storeMigrations) }

// Migrate applies the migrations of set that the database lacks, all in one
// transaction so a failure leaves the schema as it was. A database migrated
// by a newer binary is refused rather than used with a schema this code
// does not know.
func (d *DB) Migrate(ctx context.Context, set Migrations) error {
	ms, err := set.load(d.dialect)
	if err != nil {
		return err
	}
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		if d.dialect == DialectPostgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, set.LockKey); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+set.Table+` (
			version    BIGINT NOT NULL PRIMARY KEY,
			name       TEXT   NOT NULL,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return err
		}
		var latest int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+set.Table).Scan(&latest); err != nil {
			return err
		}
		if n := len(ms); n > 0 && latest > ms[n-1].version {
			return fmt.Errorf("database %s schema version %d is newer than this binary's %d; %w", set.Owner, latest, ms[n-1].version, ErrSchemaNewer)
		}
		for _, m := range ms {
			if m.version <= latest {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+set.Table+` (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.version, m.name, millis(nowUTC())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", set.Owner, err)
	}
	return nil
}
