package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
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

// releaseLockKey is the first key of the PostgreSQL advisory locks, one
// per project (the second key), that serialise adding releases
// (addReleases). Two-key locks are apart from the one-key ones above.
const releaseLockKey int32 = 0x666c79

// monitorLockKey is the first key of the PostgreSQL advisory locks, one
// per project, that a batch of check-ins takes before anything else
// (lockMonitorProjects), so that none is held after the check-in that
// makes its monitor took the held ones, and the monitors bounds count
// after other batches' commits.
const monitorLockKey = releaseLockKey + 1

// burstLockKey is the first key of the PostgreSQL advisory locks, one per
// alert channel, that serialise counting a channel's recent alerts
// against its burst limit (holdBurst).
const burstLockKey = releaseLockKey + 2

// lockPair takes, until tx ends, the PostgreSQL advisory lock of id in
// the two-key space key (releaseLockKey, monitorLockKey, burstLockKey). A
// lock tx holds already is taken again without waiting. IDs past 2^31
// share a lock, and only wait for each other.
func lockPair(ctx context.Context, tx *sql.Tx, key int32, id int64) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, key, int32(id))
	return err
}

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
	// outsideTx says the file starts with outsideTxMark.
	outsideTx bool
}

// outsideTxMark starts a PostgreSQL migration that cannot run in the
// migrations' transaction: one statement, CREATE INDEX CONCURRENTLY IF NOT
// EXISTS, which builds an index on a large table without blocking its
// writes, as a plain CREATE INDEX in a transaction does for the whole
// build. Migrate commits the migrations before it, runs the statement on
// its own, records it, and goes on.
const outsideTxMark = "-- flytrap:outside-transaction"

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
		outside := strings.HasPrefix(string(body), outsideTxMark)
		if outside && (dialect != DialectPostgres || len(concurrentIndexes(string(body))) != 1) {
			return nil, fmt.Errorf("%s: migration %s/%s: %s is for one CREATE INDEX CONCURRENTLY IF NOT EXISTS on PostgreSQL", m.Owner, dir, e.Name(), outsideTxMark)
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body), outsideTx: outside})
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

// Migrate applies the migrations of set that the database lacks, in
// version order, including any below the highest version recorded, all in
// one transaction so a failure leaves the schema as it was, except that on
// PostgreSQL a migration marked with outsideTxMark runs between two such
// transactions. A database migrated by a newer binary is refused rather
// than used with a schema this code does not know.
func (d *DB) Migrate(ctx context.Context, set Migrations) error {
	ms, err := set.load(d.dialect)
	if err != nil {
		return err
	}
	if d.dialect == DialectPostgres {
		err = migratePostgres(ctx, d.db, set, ms)
	} else {
		err = d.InTx(ctx, func(tx *sql.Tx) error {
			_, err := applyInTx(ctx, tx, set, ms)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("%s: migrate: %w", set.Owner, err)
	}
	return nil
}

// applyInTx applies the migrations that the database lacks, in tx and in
// version order, up to the first that must run outside a transaction,
// which it returns (nil when all are applied).
func applyInTx(ctx context.Context, tx *sql.Tx, set Migrations, ms []migration) (*migration, error) {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+set.Table+` (
		version    BIGINT NOT NULL PRIMARY KEY,
		name       TEXT   NOT NULL,
		applied_at BIGINT NOT NULL
	)`); err != nil {
		return nil, err
	}
	recorded, err := recordedMigrations(ctx, tx, set.Table)
	if err != nil {
		return nil, err
	}
	todo, err := pending(set, ms, recorded)
	if err != nil {
		return nil, err
	}
	for i, m := range todo {
		if m.outsideTx {
			return &todo[i], nil
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return nil, fmt.Errorf("%s: %w", m.name, err)
		}
		if err := recordMigration(ctx, tx, set, m); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// appliedMigration is one row of a versions table.
type appliedMigration struct {
	version int64
	name    string
}

// recordedMigrations are the migrations table records as applied, in
// version order.
func recordedMigrations(ctx context.Context, q querier, table string) ([]appliedMigration, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, name FROM `+table+` ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var as []appliedMigration
	for rows.Next() {
		var a appliedMigration
		if err := rows.Scan(&a.version, &a.name); err != nil {
			return nil, err
		}
		as = append(as, a)
	}
	return as, rows.Err()
}

// pending are the migrations of ms (in version order) whose versions
// recorded lacks, wherever they fall: a database can lack one below its
// highest version, when a build that had a later migration ran before the
// one that added an earlier number, or when an upgrade stopped half way.
// A recorded version that ms lacks was applied by a newer flytrap, whose
// tables this binary does not know: that is refused with ErrSchemaNewer.
// A recorded version that ms has under another file name was applied by
// another build (a development build numbers its migrations before they
// are merged): its migration is not this binary's, so treating the
// version as done would skip this binary's own, and it is refused with
// ErrSchemaForeign.
func pending(set Migrations, ms []migration, recorded []appliedMigration) ([]migration, error) {
	known := make(map[int64]string, len(ms))
	for _, m := range ms {
		known[m.version] = m.name
	}
	var latest, highest int64
	if n := len(ms); n > 0 {
		latest = ms[n-1].version
	}
	for _, a := range recorded {
		highest = max(highest, a.version)
	}
	if highest > latest {
		return nil, fmt.Errorf("database %s schema version %d is newer than this binary's %d; %w", set.Owner, highest, latest, ErrSchemaNewer)
	}
	done := make(map[int64]bool, len(recorded))
	for _, a := range recorded {
		name, ok := known[a.version]
		if !ok {
			return nil, fmt.Errorf("database %s schema records migration %d, which this binary does not have: a newer flytrap applied it; %w", set.Owner, a.version, ErrSchemaNewer)
		}
		if name != a.name {
			return nil, fmt.Errorf("database %s schema records migration %d as %s, where this binary's is %s: another build of flytrap migrated it; %w", set.Owner, a.version, a.name, name, ErrSchemaForeign)
		}
		done[a.version] = true
	}
	var todo []migration
	for _, m := range ms {
		if !done[m.version] {
			todo = append(todo, m)
		}
	}
	return todo, nil
}

// execer is what recordMigration writes with: a transaction or, after a
// migration run outside one, the connection that ran it.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func recordMigration(ctx context.Context, db execer, set Migrations, m migration) error {
	_, err := db.ExecContext(ctx, `INSERT INTO `+set.Table+` (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, millis(nowUTC()))
	return err
}

// migrateLockPoll is how often a process waits before asking again for the
// lock another process holds while it migrates.
const migrateLockPoll = 100 * time.Millisecond

// migratePostgres applies ms on one connection that holds set.LockKey
// throughout, so that processes starting together migrate one after
// another. The lock is asked for again and again rather than waited for:
// a CREATE INDEX CONCURRENTLY waits for every transaction older than its
// build to end, and a process blocked on the lock inside a statement
// would be one, waiting in turn for the lock the builder holds.
func migratePostgres(ctx context.Context, db *sql.DB, set Migrations, ms []migration) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		var locked bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, set.LockKey).Scan(&locked); err != nil {
			return err
		}
		if locked {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(migrateLockPoll):
		}
	}
	defer func() {
		// A session's lock outlives the request: a connection that
		// could not let go of it must not go back to the pool.
		if _, uerr := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, set.LockKey); uerr != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	for {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		next, err := applyInTx(ctx, tx, set, ms)
		if err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		if err := buildIndexConcurrently(ctx, conn, *next); err != nil {
			return fmt.Errorf("%s: %w", next.name, err)
		}
		if err := recordMigration(ctx, conn, set, *next); err != nil {
			return err
		}
	}
}

// concurrentIndexRe finds the index an outside-transaction migration
// builds.
var concurrentIndexRe = regexp.MustCompile(`(?i)\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+([a-z_][a-z0-9_]*)\b`)

// concurrentIndexes are the names of the indexes sql builds concurrently.
func concurrentIndexes(sql string) []string {
	var names []string
	for _, m := range concurrentIndexRe.FindAllStringSubmatch(sql, -1) {
		names = append(names, m[1])
	}
	return names
}

// buildIndexConcurrently runs m, an outside-transaction migration, on conn.
// A build that was interrupted (the process stopped, the connection
// dropped) leaves its index behind, INVALID: never used by queries but
// still updated by every write, and kept as it is by IF NOT EXISTS. So an
// INVALID index of that name is dropped, concurrently too, and built
// again; a valid one, built by an earlier run that stopped before it
// recorded the migration, is kept.
func buildIndexConcurrently(ctx context.Context, conn *sql.Conn, m migration) error {
	name := concurrentIndexes(m.sql)[0]
	var valid bool
	err := conn.QueryRowContext(ctx, `SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)`, name).Scan(&valid)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	case !valid:
		if _, err := conn.ExecContext(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+name); err != nil {
			return fmt.Errorf("drop the index an interrupted build left invalid: %w", err)
		}
	}
	_, err = conn.ExecContext(ctx, m.sql)
	return err
}
