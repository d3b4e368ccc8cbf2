// Package store keeps Flytrap's data in SQLite (flytrap dev) or PostgreSQL
// (AWS) behind one API. Both dialects share one logical schema, migrated from
// embedded SQL files when the database is opened, and the same SQL text:
// placeholders are $N in both, and the few differences (locking clauses,
// case folding) are chosen by dialect.
//
// Methods that read or change project data take a Viewer and filter in
// SQL; what the viewer may not see is ErrNotFound, like what does not
// exist. List methods return empty, non-nil slices, which encode as JSON
// arrays.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// Dialects returned by (*DB).Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DB is an open store. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect string
	// connector opens connections like the pool's, for NewPool.
	connector driver.Connector
	// writeTurn holds a token while a writer of this process has SQLite's
	// write lock; nil on PostgreSQL. See WriteTurn.
	writeTurn chan struct{}
	// path is the SQLite database file Open opened; empty on PostgreSQL
	// and for a Pool, whose Close leaves the log to d's.
	path string
	// dir is the directory of the SQLite database file, a Pool's too,
	// whose free space DiskFull reads; empty on PostgreSQL.
	dir string
	// stmts keeps the statements of db's transactions prepared on
	// SQLite; nil on PostgreSQL.
	stmts *stmtCache

	hooksMu     sync.Mutex
	accessHooks []func()
	usageHooks  []func(error)

	// tagLimits lowers the bounds of tagBounds in tests; zero keeps the
	// defaults.
	tagLimits struct{ values, keys int64 }
	// feedbackFirstUpTo lowers feedbackFirstMax in tests; zero keeps it.
	feedbackFirstUpTo int
}

// OnAccessChange registers fn to run after every change through d that
// may take someone's access away: an API token revoked, a session ended, a
// user removed or given another role, a membership or a project deleted,
// an ingest key rotated; and after a project's rate limit is set, which
// ingest's key set carries. The live stream uses it to authorize its open
// connections again at once, and ingest to reload its project keys.
// fn runs on the caller's goroutine and must not block.
func (d *DB) OnAccessChange(fn func()) {
	d.hooksMu.Lock()
	defer d.hooksMu.Unlock()
	d.accessHooks = append(d.accessHooks, fn)
}

// OnUsageNotRecorded registers fn to receive the error of bookkeeping a
// read could not write, such as an API token's last use on a full disk:
// the read goes on without it, and fn (the server's throttled log) is the
// only place the failure shows. fn runs on the caller's goroutine and must
// not block.
func (d *DB) OnUsageNotRecorded(fn func(error)) {
	d.hooksMu.Lock()
	defer d.hooksMu.Unlock()
	d.usageHooks = append(d.usageHooks, fn)
}

// usageNotRecorded runs the OnUsageNotRecorded hooks.
func (d *DB) usageNotRecorded(err error) {
	d.hooksMu.Lock()
	hooks := d.usageHooks
	d.hooksMu.Unlock()
	for _, fn := range hooks {
		fn(err)
	}
}

// accessChanged runs the OnAccessChange hooks.
func (d *DB) accessChanged() {
	d.hooksMu.Lock()
	hooks := d.accessHooks
	d.hooksMu.Unlock()
	for _, fn := range hooks {
		fn()
	}
}

// sqliteParams configure every SQLite connection. busy_timeout comes first
// because switching the journal mode itself may have to wait for a lock.
// synchronous=FULL makes each commit fsync the WAL, so an event that was
// acknowledged survives SIGKILL and power loss; _txlock=immediate takes the
// write lock at BEGIN, so two writers queue on busy_timeout instead of both
// reading and then failing to upgrade (SQLITE_BUSY that no timeout resolves).
// temp_store=MEMORY keeps statement journals in memory: a multi-row
// statement in a transaction saves the pages it changes so that it alone
// can be undone, and in a temporary file that took a file created, written
// and unlinked per statement, 4% of the server's CPU under load
// (docs/benchmarks.md). A statement journal is never read after a crash,
// so durability is unchanged.
//
// auto_vacuum(INCREMENTAL) comes before anything that writes: it only takes
// effect on a database that has no table yet, where it lets ReclaimSpace
// give free pages back to the file system; on an existing database without
// it, it changes nothing (CompactAtStart converts those).
// journal_size_limit truncates the WAL back to 16 MiB when it is reused after
// a checkpoint: one large delete (a project of 100,000 events) wrote a WAL
// of the deleted data's size, 77 MB, which SQLite otherwise keeps at its
// high-water mark. Under steady load the WAL stays near 4 MiB (the
// automatic checkpoint's 1000 pages), under the limit.
const sqliteParams = "_pragma=busy_timeout(10000)" +
	"&_pragma=auto_vacuum(INCREMENTAL)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=journal_size_limit(16777216)" +
	"&_pragma=synchronous(FULL)" +
	"&_pragma=foreign_keys(1)" +
	"&_pragma=temp_store(memory)" +
	"&_txlock=immediate"

// IsPostgresDSN reports whether dsn is a PostgreSQL connection string, the
// ones Open reads as such: postgres:// or postgresql://.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to dsn and migrates the schema. A dsn starting with
// postgres:// or postgresql:// is a PostgreSQL connection string; anything
// else is the path of a SQLite file, optionally prefixed with "sqlite:" or
// "file:", which is created if missing.
func Open(ctx context.Context, dsn string) (*DB, error) {
	var (
		d   *DB
		err error
	)
	if IsPostgresDSN(dsn) {
		d, err = openPostgres(dsn)
	} else {
		d, err = openSQLite(dsn)
	}
	if err != nil {
		return nil, err
	}
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := d.migrate(ctx); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

func openSQLite(dsn string) (*DB, error) {
	path := dsn
	if p, ok := strings.CutPrefix(path, "sqlite:"); ok {
		path = p
	} else if p, ok := strings.CutPrefix(path, "file:"); ok {
		path = p
	}
	switch {
	case path == "":
		return nil, errors.New("store: empty database path")
	case path == ":memory:":
		// Every pooled connection would get its own empty database.
		return nil, errors.New("store: in-memory SQLite is not supported; give a file path")
	case strings.Contains(path, "?"):
		// The driver would read it as parameters that fight the ones set here.
		return nil, fmt.Errorf("store: SQLite path %q must not contain '?'", path)
	}
	if err := restrictSQLiteFiles(path); err != nil {
		return nil, err
	}
	// The driver only parses the name here; it cannot fail.
	db, _ := sql.Open("sqlite", path+"?"+sqliteParams)
	// Writers serialize on the file lock anyway; extra connections serve
	// concurrent readers, which WAL lets run beside the writer.
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	return &DB{db: db, dialect: DialectSQLite, connector: dsnConnector{db.Driver(), path + "?" + sqliteParams},
		writeTurn: make(chan struct{}, 1), path: path, dir: filepath.Dir(path), stmts: newStmtCache(db)}, nil
}

// restrictSQLiteFiles makes the database file, and the -wal, -shm and
// -journal files an earlier run may have left, readable by their owner
// only: they hold every event and the users' password hashes. SQLite
// creates a database with mode 0644 (less the umask) and its other files
// with the database's mode, so a database created 0600 here stays 0600;
// files from versions that did not do this are tightened.
//
// The files beside the database are also made writable by their owner: a
// start while the database was read-only leaves a -shm (and -wal) of mode
// 0400, copied from the database, which would refuse every later start
// with SQLite's "attempt to write a readonly database" after the database
// itself was made writable again. The database is not changed that way
// (someone made it read-only); it must open for writing, or the error
// names it.
func restrictSQLiteFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("store: the database %s is not writable (chmod 600 it, or run as its owner): %w", path, err)
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("store: restrict %s to its owner (run as the file's owner, or chmod 600 it): %w", p, err)
		}
		perm := fi.Mode().Perm()
		want := perm & 0o700
		if p != path {
			want |= 0o600
		}
		if want != perm {
			if err := os.Chmod(p, want); err != nil {
				return fmt.Errorf("store: make %s readable and writable by its owner only (run as the file's owner, or chmod 600 it): %w", p, err)
			}
		}
	}
	return nil
}

func openPostgres(dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse PostgreSQL DSN: %w", err)
	}
	connector := stdlib.GetConnector(*cfg)
	db := sql.OpenDB(connector)
	// Small RDS instances allow ~80 connections shared by every process.
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{db: db, dialect: DialectPostgres, connector: connector}, nil
}

// dsnConnector is what database/sql makes of a driver without
// DriverContext, kept so NewPool can open more connections like it.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// NewPool opens another pool of at most n connections to the same
// database, with the same settings, for a component whose writes must not
// wait for a connection behind the main pool's readers and writers (the
// local queue's committer). The caller closes it.
func (d *DB) NewPool(n int) *sql.DB {
	p := sql.OpenDB(d.connector)
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	return p
}

// Pool opens another connection pool, of at most conns connections, to
// d's database with d's settings, for work that must not wait behind d's
// other users: flytrap dev's processor workers, so that ingest requests
// holding every connection of d cannot leave processing without one. It
// shares d's schema, so it does not migrate, and d's SQLite write turn, so
// its writers queue with d's instead of racing them; close it before d.
func (d *DB) Pool(conns int) (*DB, error) {
	if conns < 1 {
		return nil, fmt.Errorf("store: a pool needs at least one connection, not %d", conns)
	}
	db := d.NewPool(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	p := &DB{db: db, dialect: d.dialect, connector: d.connector, writeTurn: d.writeTurn, dir: d.dir}
	if d.dialect == DialectSQLite {
		p.stmts = newStmtCache(db)
	}
	return p, nil
}

// ErrWALKept is the error of a Close that left SQLite's write-ahead log
// (the database file's -wal) beside the database: the database file alone
// lacks what the log holds, and may not even open without it.
var ErrWALKept = errors.New("store: the write-ahead log could not be folded into the database file")

// Close closes the database. On SQLite, closing the last connection folds
// the write-ahead log into the database file and removes it, but SQLite
// says nothing when it cannot (a full disk): the log stays and Close
// reports success. So Close folds the log itself first, to learn why it
// fails, and after closing checks that the log is gone; if it is not, the
// error wraps ErrWALKept (and the cause). Close a Pool of d before d, or
// its open connections keep the log.
func (d *DB) Close() error {
	if d.path == "" {
		return d.db.Close()
	}
	// PASSIVE: copying the log's pages fails, with the cause, when they
	// do not fit on the disk; it does not wait for readers, which Close
	// would only report.
	var busy, logPages, moved int
	cause := d.db.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &logPages, &moved)
	if err := d.db.Close(); err != nil {
		return err
	}
	fi, err := os.Stat(d.path + "-wal")
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size() == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: check the write-ahead log of %s: %w", d.path, err)
	}
	if cause != nil {
		return fmt.Errorf("%w: %s-wal holds %d bytes: %w", ErrWALKept, d.path, fi.Size(), cause)
	}
	return fmt.Errorf("%w: %s-wal holds %d bytes (is another program using the database?)", ErrWALKept, d.path, fi.Size())
}

// Ping checks that the database is reachable.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Dialect returns DialectSQLite or DialectPostgres.
func (d *DB) Dialect() string { return d.dialect }

// SQL returns the underlying pool for packages that keep their own tables in
// this database (the local queue). Placeholders are $N in both dialects.
func (d *DB) SQL() *sql.DB { return d.db }

// forUpdate is the row-locking suffix for a SELECT whose rows the
// transaction goes on to modify. SQLite needs none: an immediate
// transaction already holds the database's only write lock.
func (d *DB) forUpdate() string {
	if d.dialect == DialectPostgres {
		return " FOR UPDATE"
	}
	return ""
}

// sqliteLower is a function registered with SQLite (sqlite_driver.go) that
// lowercases all of Unicode, as PostgreSQL's lower() does; SQLite's own
// lower() and LIKE fold ASCII letters only.
const sqliteLower = "flytrap_lower"

// foldedLike returns, for each of cols, the condition that it matches
// pattern(term), a LIKE pattern escaped with \, whatever the case of
// either. On PostgreSQL that is lower(col) LIKE lower(pattern): what ILIKE
// computes in a UTF-8 database, but lowercasing the pattern once, where
// ILIKE lowercases it again for every row and column (a search counted over
// 20,000 issues took a third less time; docs/benchmarks.md). On SQLite,
// a term with letters beyond ASCII compares the lowercased columns with the
// lowercased term, so that "über" finds "Über"; an ASCII term keeps the
// plain columns, which LIKE already folds without calling into Go for
// every row.
func (d *DB) foldedLike(q *query, term string, pattern func(string) string, cols ...string) []string {
	conds := make([]string, len(cols))
	switch {
	case d.dialect == DialectPostgres:
		p := q.arg(pattern(term))
		for i, c := range cols {
			conds[i] = `lower(` + c + `) LIKE lower(` + p + `) ESCAPE '\'`
		}
	case strings.ContainsFunc(term, func(r rune) bool { return r >= utf8.RuneSelf }):
		p := q.arg(pattern(strings.ToLower(term)))
		for i, c := range cols {
			conds[i] = sqliteLower + `(` + c + `) LIKE ` + p + ` ESCAPE '\'`
		}
	default:
		p := q.arg(pattern(term))
		for i, c := range cols {
			conds[i] = c + ` LIKE ` + p + ` ESCAPE '\'`
		}
	}
	return conds
}

// WriteTurn waits for this process's turn to write and returns the
// function that ends it, to call once the write has committed or rolled
// back. On SQLite, writers of one process take turns in arrival order:
// SQLite has one write lock, and a writer that finds it taken sleeps in
// its busy handler (1, 2, 5, ... 25 ms at a time) and may lose it again
// and again to writers that did not wait, so under load the queue's
// committer starved the processor or the other way round. On PostgreSQL,
// where writers run side by side, it returns at once.
func (d *DB) WriteTurn(ctx context.Context) (func(), error) {
	if d.writeTurn == nil {
		return func() {}, nil
	}
	select {
	case d.writeTurn <- struct{}{}:
		return func() { <-d.writeTurn }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// InTx runs fn in a transaction, in its WriteTurn, and commits it if fn
// returns nil; the queue shares it so both packages handle transactions
// alike. SQLite transactions are immediate, so every one is a write.
//
// On PostgreSQL a transaction that fn ends with a deadlock or a
// serialization failure (pgRetryable) is rolled back and run again, up to
// maxDeadlockRuns times: writers that lock rows in orders the store cannot
// fix (saving finds issues by fingerprint, not ID) may still deadlock,
// and PostgreSQL cancels one of them, which then normally succeeds. It
// waits a few milliseconds at random first, so that the transaction it
// lost to takes the rows before it instead of meeting it again. fn must
// therefore be re-runnable: nothing but statements in tx, and values it
// hands out set afresh by each run, never added to.
func (d *DB) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	// Before the write turn: preparing may wait for a connection, which
	// a connection's holder waiting for the turn would never give back.
	d.stmts.prepareMissed(ctx)
	done, err := d.WriteTurn(ctx)
	if err != nil {
		return err
	}
	defer done()
	for runs := 0; ; runs++ {
		tx, err := d.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		err = fn(tx)
		if err == nil {
			return tx.Commit()
		}
		tx.Rollback()
		if !pgRetryable(err) || runs >= maxDeadlockRuns {
			return err
		}
		select {
		case <-time.After(time.Duration(1+rand.IntN(10*(runs+1))) * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

// query builds a statement with numbered placeholders.
type query struct {
	sb   strings.Builder
	args []any
	// mark is '?' for SQLite's ?N, else PostgreSQL's $N: SQLite takes $N
	// for a name and looks each one up among the names before it, which
	// made preparing a multi-row statement quadratic in its parameters.
	mark byte
}

// query returns a query with the placeholders of d's dialect. The zero
// query writes $N, which both dialects accept.
func (d *DB) query() query {
	if d.dialect == DialectSQLite {
		return query{mark: '?'}
	}
	return query{}
}

// arg records v and returns its placeholder.
func (q *query) arg(v any) string {
	q.args = append(q.args, v)
	if q.mark == '?' {
		return "?" + strconv.Itoa(len(q.args))
	}
	return "$" + strconv.Itoa(len(q.args))
}

// sql returns the statement. On SQLite, when every ?N appears once and in
// the order of its argument, they become plain ?: the driver asks SQLite
// for each parameter's name before binding it, and SQLite finds a ?N's
// name by a scan of the names before it, so binding a multi-row statement
// was quadratic in its parameters (3% of the server's CPU under load,
// docs/benchmarks.md). Any other statement keeps its numbers.
func (q *query) sql() string {
	if q.mark != '?' {
		return q.sb.String()
	}
	return positional(q.sb.String(), '?', len(q.args))
}

// Positional returns statement, whose nargs placeholders are written $1 to
// $N, for d's dialect: on SQLite plain ? when each appears once and in
// order (see query.sql), else unchanged. The local queue writes its
// multi-row statements through it.
func (d *DB) Positional(statement string, nargs int) string {
	if d.dialect != DialectSQLite {
		return statement
	}
	return positional(statement, '$', nargs)
}

// positional returns s with mark1 to markn (?1 or $1 onwards), which must
// appear once each and in order, written as plain ?; anything else returns
// s unchanged.
func positional(s string, mark byte, n int) string {
	var b strings.Builder
	b.Grow(len(s))
	next, rest := 1, s
	for {
		i := strings.IndexByte(rest, mark)
		if i < 0 {
			break
		}
		j := i + 1
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if k, err := strconv.Atoi(rest[i+1 : j]); err != nil || k != next {
			return s
		}
		next++
		b.WriteString(rest[:i])
		b.WriteByte('?')
		rest = rest[j:]
	}
	if next != n+1 {
		return s
	}
	b.WriteString(rest)
	return b.String()
}

// add appends SQL text.
func (q *query) add(s ...string) {
	for _, p := range s {
		q.sb.WriteString(p)
	}
}

// visible returns a condition that holds for rows whose project (the SQL
// expression projectCol) v may see.
func (q *query) visible(v Viewer, projectCol string) string {
	if v.Admin {
		return "TRUE"
	}
	return "EXISTS (SELECT 1 FROM project_members m WHERE m.project_id = " + projectCol +
		" AND m.user_id = " + q.arg(v.UserID) + ")"
}

// visibleProject is visible for a query about one known project. It is a
// scalar subquery, which both planners evaluate once: SQLite turns an
// EXISTS into a join that it may run first, and then sorts the project's
// rows instead of reading them in index order.
func (q *query) visibleProject(v Viewer, projectID int64) string {
	if v.Admin {
		return "TRUE"
	}
	return "(SELECT COUNT(*) FROM project_members m WHERE m.project_id = " + q.arg(projectID) +
		" AND m.user_id = " + q.arg(v.UserID) + ") > 0"
}

// millis is how times are stored: unix milliseconds.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis turns a stored time back into a UTC time.Time.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// nowUTC is the current time at the precision it is stored with, so a value
// returned on create equals the value read back later.
func nowUTC() time.Time { return fromMillis(millis(time.Now())) }

// dbtx is what *sql.DB and *sql.Tx share, so a statement can run inside or
// outside a transaction.
type dbtx interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// pgUniqueViolation reports whether err is PostgreSQL's unique_violation.
// Most writes avoid it with ON CONFLICT or a check in the same transaction,
// which is exact on SQLite (transactions run one at a time) but on
// PostgreSQL leaves a window in which a concurrent transaction can take the
// value first.
func pgUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// pgRetryable reports whether err is PostgreSQL's deadlock_detected or
// serialization_failure: the transaction was rolled back to break a cycle
// of waits or a conflict, and running it again normally succeeds.
func pgRetryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// notFound turns sql.ErrNoRows into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}
