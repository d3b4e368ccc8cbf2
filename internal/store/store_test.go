package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

func openSQLiteTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "flytrap.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openPostgresTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestSQLite(t *testing.T) { runContract(t, openSQLiteTest) }

func TestPostgres(t *testing.T) { runContract(t, openPostgresTest) }

func TestOpenDSN(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		dsn     string
		dialect string // "" when Open must fail
		file    string // created SQLite file
	}{
		{dsn: filepath.Join(dir, "plain.db"), dialect: DialectSQLite, file: "plain.db"},
		{dsn: "sqlite:" + filepath.Join(dir, "sqlite.db"), dialect: DialectSQLite, file: "sqlite.db"},
		{dsn: "file:" + filepath.Join(dir, "file.db"), dialect: DialectSQLite, file: "file.db"},
		{dsn: ""},
		{dsn: "sqlite:"},
		{dsn: ":memory:"},
		{dsn: filepath.Join(dir, "q.db") + "?mode=ro"},
		{dsn: filepath.Join(dir, "missing-dir", "x.db")},
		{dsn: "postgres://127.0.0.1:1/flytrap?connect_timeout=2"},
		{dsn: "postgresql://%zz"},
	}
	for _, tt := range tests {
		db, err := Open(context.Background(), tt.dsn)
		if tt.dialect == "" {
			if err == nil {
				db.Close()
				t.Errorf("Open(%q) succeeded, want an error", tt.dsn)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tt.dsn, err)
			continue
		}
		if db.Dialect() != tt.dialect || db.Ping(context.Background()) != nil {
			t.Errorf("Open(%q): dialect %s", tt.dsn, db.Dialect())
		}
		db.Close()
		if _, err := os.Stat(filepath.Join(dir, tt.file)); err != nil {
			t.Errorf("Open(%q) did not create %s: %v", tt.dsn, tt.file, err)
		}
	}
}

func TestSQLiteSettings(t *testing.T) {
	db := openSQLiteTest(t)
	ctx := context.Background()
	processing, err := db.Pool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer processing.Close()
	for name, pool := range map[string]*sql.DB{"main pool": db.SQL(), "another pool": processing.SQL()} {
		for pragma, want := range map[string]string{
			"journal_mode": "wal",
			"synchronous":  "2", // FULL
			"foreign_keys": "1",
			"busy_timeout": "10000",
			"temp_store":   "2", // MEMORY: statement journals without temporary files
		} {
			var got string
			if err := pool.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
				t.Errorf("%s: PRAGMA %s = %q, %v; want %q", name, pragma, got, err, want)
			}
		}
	}

	// Transactions take the write lock at BEGIN: a second one waits for
	// the first instead of starting and failing at its first write.
	tx1, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	began := make(chan *sql.Tx)
	go func() {
		tx2, err := db.SQL().BeginTx(ctx, nil)
		if err != nil {
			t.Error(err)
		}
		began <- tx2
	}()
	select {
	case <-began:
		t.Fatal("a second transaction began while the first held the lock")
	case <-time.After(200 * time.Millisecond):
	}
	tx1.Commit()
	tx2 := <-began
	if tx2 != nil {
		tx2.Rollback()
	}
}

func appliedMigrations(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	return names
}

func migrationNames(t *testing.T, dialect string) []string {
	t.Helper()
	ms, err := migrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.name)
	}
	return names
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	sqliteNames, pgNames := migrationNames(t, DialectSQLite), migrationNames(t, DialectPostgres)
	if !slices.Equal(sqliteNames, pgNames) || len(sqliteNames) == 0 {
		t.Fatalf("migration files differ: sqlite %v, postgres %v", sqliteNames, pgNames)
	}

	t.Run("reopen", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f.db")
		for range 2 {
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if got := appliedMigrations(t, db); !slices.Equal(got, sqliteNames) {
				t.Errorf("applied %v, want %v", got, sqliteNames)
			}
			db.Close()
		}
	})

	t.Run("newer schema refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "f.db")
		db, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		db.SQL().Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`)
		db.Close()
		if db, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
			if db != nil {
				db.Close()
			}
			t.Errorf("Open of a database from a newer binary: %v, want an error", err)
		}
	})

	t.Run("postgres processes starting together", func(t *testing.T) {
		dsn := pgtest.URL(t)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				db, err := Open(ctx, dsn)
				if err != nil {
					t.Error(err)
					return
				}
				db.Close()
			})
		}
		wg.Wait()
		db := openPostgresWith(t, dsn)
		if got := appliedMigrations(t, db); !slices.Equal(got, pgNames) {
			t.Errorf("applied %v, want %v", got, pgNames)
		}
	})
}

func openPostgresWith(t *testing.T, dsn string) *DB {
	t.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// columns lists "table.column" of every table in the database.
func columns(t *testing.T, db *DB) []string {
	t.Helper()
	q := `SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'`
	if db.Dialect() == DialectSQLite {
		q = `SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
			WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`
	}
	rows, err := db.SQL().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		rows.Scan(&c)
		cols = append(cols, c)
	}
	slices.Sort(cols)
	return cols
}

// planQuery is a statement whose plan must use an index.
type planQuery struct {
	name     string
	sql      string
	args     []any
	want     string // index the plan must name
	order    bool   // the index must also provide the ORDER BY
	scansAll bool   // reads all of the index by design
	not      string // a table the plan must not read
}

func planQueries(dialect string) []planQuery {
	member := Viewer{UserID: 7}
	var qs []planQuery
	addQ := func(name string, q *query, want string, order bool) {
		qs = append(qs, planQuery{name: name, sql: q.sql(), args: q.args, want: want, order: order})
	}
	// The project cards' counts read project_counts, never the hours of
	// every issue seen in the charts' 14 days. PostgreSQL may sort each
	// project's few rows by hour (an incremental sort).
	cards := func(name string, q *query) {
		qs = append(qs, planQuery{name: name, sql: q.sql(), args: q.args, want: "project_counts", not: "issue_counts"})
	}
	for _, tt := range []struct {
		name  string
		v     Viewer
		f     IssueFilter
		index string
		order bool
	}{
		{"issues by last seen", System, IssueFilter{ProjectID: 1}, "issues_last_seen", true},
		{"issues by last seen, next page", System, IssueFilter{ProjectID: 1, Cursor: encodeCursor("last_seen", 5, 9)}, "issues_last_seen", true},
		// The page before reads the same index upwards.
		{"issues by last seen, previous page", System, IssueFilter{ProjectID: 1, Cursor: encodeBeforeCursor("last_seen", 5, 9)}, "issues_last_seen", true},
		{"unresolved issues by count, previous page", member, IssueFilter{ProjectID: 1, Status: StatusUnresolved, Sort: SortCount,
			Cursor: encodeBeforeCursor("count", 5, 9)}, "issues_count", true},
		{"unresolved issues, member", member, IssueFilter{ProjectID: 1, Status: StatusUnresolved}, "issues_status_last_seen", true},
		{"issues by first seen, next page", System, IssueFilter{ProjectID: 1, Sort: SortFirstSeen, Cursor: encodeCursor("first_seen", 5, 9)}, "issues_first_seen", true},
		{"issues by users, next page", member, IssueFilter{ProjectID: 1, Sort: SortUserCount, Cursor: encodeCursor("user_count", 5, 9)}, "issues_user_count", true},
		{"issues by count, filtered", member, IssueFilter{ProjectID: 1, Sort: SortCount, Tags: []event.Tag{{Key: "browser", Value: "x"}}, Query: "x"}, "issues_count", true},
		// The search's terms filter the rows the index yields in order.
		{"issues by last seen, searched", member, IssueFilter{ProjectID: 1, Levels: [][]string{{"warning", "info"}},
			AnyTags: [][]event.Tag{{{Key: "release", Value: "a"}, {Key: "release", Value: "b"}}}, FirstReleases: [][]string{{"a", LatestRelease}},
			TimesSeen: []CountBound{{">", 1}}, FirstSeen: []TimeBound{{">=", t0}}, LastSeen: []TimeBound{{"<", t0}},
			Titles: []string{"x"}, Messages: []string{"y"}}, "issues_last_seen", true},
		// Wildcards (a prefix an index range on SQLite) and
		// release:latest too, and never a whole scan.
		{"issues by last seen, wildcards", member, IssueFilter{ProjectID: 1, Tags: []event.Tag{{Key: "browser", Value: "Headless" + Wildcard}},
			NotTags:       []event.Tag{{Key: "os", Value: Wildcard + "x" + Wildcard}},
			AnyTags:       [][]event.Tag{{{Key: "release", Value: LatestRelease}, {Key: "release", Value: "a@1." + Wildcard}}},
			FirstReleases: [][]string{{"a@" + Wildcard}}, Titles: []string{"x" + Wildcard}, Messages: []string{Wildcard + "y"}}, "issues_last_seen", true},
		{"issues of the latest release", member, IssueFilter{ProjectID: 1, Tags: []event.Tag{{Key: "release", Value: LatestRelease}}}, "issues_last_seen", true},
		// Filtered by an environment, the project's issues of it are
		// read in the order of the sort's figure in the environment,
		// never by a whole scan nor sorted.
		{"issues of an environment by last seen", member, IssueFilter{ProjectID: 1, Environment: "prod"}, "issue_environments_last_seen", true},
		{"issues of an environment by last seen, next page", System, IssueFilter{ProjectID: 1, Environment: "prod",
			Cursor: encodeCursor("last_seen", 5, 9)}, "issue_environments_last_seen", true},
		{"unresolved issues of an environment seen lately", member, IssueFilter{ProjectID: 1, Environment: "prod", Status: StatusUnresolved,
			Since: t0}, "issue_environments_last_seen", true},
		{"issues of an environment by first seen, next page", member, IssueFilter{ProjectID: 1, Sort: SortFirstSeen, Environment: "prod",
			Cursor: encodeCursor("first_seen", 5, 9)}, "issue_environments_first_seen", true},
		{"issues of an environment by count, next page", member, IssueFilter{ProjectID: 1, Sort: SortCount, Environment: "prod",
			Cursor: encodeCursor("count", 5, 9)}, "issue_environments_count", true},
		{"unresolved issues of an environment by users", member, IssueFilter{ProjectID: 1, Sort: SortUserCount, Environment: "prod",
			Status: StatusUnresolved}, "issue_environments_user_count", true},
		{"issues of an environment by users, previous page", member, IssueFilter{ProjectID: 1, Sort: SortUserCount, Environment: "prod",
			Cursor: encodeBeforeCursor("user_count", 5, 9)}, "issue_environments_user_count", true},
	} {
		q, _, _, _, err := (&DB{dialect: dialect}).issuesQuery(tt.v, tt.f, map[int64]string{1: "a@1.0.0"}, -1)
		if err != nil {
			panic(err)
		}
		addQ(tt.name, q, tt.index, tt.order)
	}
	// release:latest's candidates: each project's newest releases.
	addQ("latest releases of a project", latestReleasesQuery(member, IssueFilter{ProjectID: 1}), "releases_first_seen", false)
	addQ("latest releases of every project, member", latestReleasesQuery(member, IssueFilter{}), "releases_first_seen", false)
	// The total of the issue list (X-Hits) reads an index of the
	// project's issues, and at most its cap of rows. On SQLite, one that
	// reads the issues themselves reads them in table order
	// (issues_project), not by the index of a status or of the planner's
	// choice, so that counting a text search or a common tag value reads
	// each page of the table once; PostgreSQL's bitmap scans do that
	// through any index.
	for _, tt := range []struct {
		name          string
		f             IssueFilter
		index, sqlite string
	}{
		{"count of unresolved issues", IssueFilter{ProjectID: 1, Status: StatusUnresolved}, "issues_status_last_seen", "issues_project"},
		{"count of a text search", IssueFilter{ProjectID: 1, Query: "widget"}, "issues_", "issues_project"},
		{"count of unresolved issues with a title", IssueFilter{ProjectID: 1, Status: StatusUnresolved, Titles: []string{"x"}},
			"issues_status_last_seen", "issues_project"},
		{"count of a common tag value", IssueFilter{ProjectID: 1, Tags: []event.Tag{{Key: "browser", Value: "Chrome"}}}, "issues_", "issues_project"},
		// Any of the environment's indexes serves PostgreSQL, each led
		// by it; SQLite reads the environment's rows in issue order
		// (issue_environments_issue), so that its issues are read in
		// table order, but a bound on a figure there as a range of the
		// figure's index.
		{"count of an environment's issues", IssueFilter{ProjectID: 1, Environment: "prod"}, "issue_environments_", "issue_environments_issue"},
		{"count of an environment's unresolved issues", IssueFilter{ProjectID: 1, Environment: "prod", Status: StatusUnresolved},
			"issue_environments_", "issue_environments_issue"},
		{"count of a text search in an environment", IssueFilter{ProjectID: 1, Environment: "prod", Query: "widget"},
			"issue_environments_", "issue_environments_issue"},
		{"count of an environment's issues seen lately", IssueFilter{ProjectID: 1, Environment: "prod", Since: t0},
			"issue_environments_", "issue_environments_last_seen"},
		{"count of an environment's issues seen often", IssueFilter{ProjectID: 1, Environment: "prod", TimesSeen: []CountBound{{">", 100}}},
			"issue_environments_", "issue_environments_count"},
	} {
		q, err := (&DB{dialect: dialect}).countQuery(member, tt.f, 10000, nil, -1)
		if err != nil {
			panic(err)
		}
		index := tt.index
		if dialect == DialectSQLite {
			index = tt.sqlite
		}
		addQ(tt.name, q, index, false)
	}
	q, _, _ := eventsQuery(1, encodeCursor(eventsOrder, 5, 9), 25, "")
	addQ("events of an issue, next page", q, "events_issue_time", true)
	// In an environment, an issue's events there are read in order
	// without reading those of its other environments.
	q, _, _ = eventsQuery(1, encodeCursor(eventsOrder, 5, 9), 25, "prod")
	addQ("events of an issue in an environment, next page", q, "events_issue_environment", true)
	addQ("event by ID, member", getEventQuery(member, "abc"), "events_event_id", true)
	addQ("latest event", latestEventQuery(member, 1, ""), "events_issue_time", true)
	addQ("latest event in an environment", latestEventQuery(member, 1, "prod"), "events_issue_environment", true)
	addQ("events next to one", adjacentEventsQuery(member, 1, "abc", ""), "events_event_id", false)
	addQ("events next to one in an environment", adjacentEventsQuery(member, 1, "abc", "prod"), "events_issue_environment", false)
	addQ("project cards, member", statsProjectsQuery(member), "issues_status_last_seen", false)
	// A release's issue figures, and every listed release's on the
	// releases page, are ranges of the issues' release indexes, never the
	// issues themselves nor all of their index entries.
	db := &DB{dialect: dialect}
	list := db.listReleasesQuery(member, 1)
	addQ("new issues of the listed releases", list, "issues_first_release", false)
	addQ("last event of the listed releases", list, "issues_last_release", false)
	addQ("listed releases", list, "releases_first_seen", false)
	cards("project cards' counts, admin", statsHourlyQuery(System, t0))
	cards("project cards' counts, member", statsHourlyQuery(member, t0))
	return append(qs,
		planQuery{name: "hourly counts", sql: hourlyCountsSQL, args: []any{1, 0}, want: "issue_counts", order: true},
		planQuery{name: "hourly counts of an environment", sql: envHourlyCountsSQL, args: []any{1, 0, "prod"}, want: "issue_environment_counts", order: true},
		planQuery{name: "project hourly counts", sql: projectHourlySQL, args: []any{1, 0}, want: "project_counts", order: true, not: "issue_counts"},
		planQuery{name: "issue tags", sql: issueTagsSQL, args: []any{1, 10}, want: "issue_tags"},
		planQuery{name: "prune by age", sql: pruneAgeSQL, args: []any{0, 10}, want: "events_received"},
		// Every release last seen before the cutoff is a candidate: a
		// scan of releases, but never of events or of issues, whose
		// checks each use an index of their own.
		planQuery{name: "prune releases", sql: pruneReleasesSQL, args: []any{0, 10}, want: "events_release"},
		planQuery{name: "prune releases, resolved in", sql: pruneReleasesSQL, args: []any{0, 10}, want: "issues_resolved_in_release"},
		planQuery{name: "prune releases, resolved after", sql: pruneReleasesSQL, args: []any{0, 10}, want: "issues_resolved_after_release"},
		planQuery{name: "prune cutoff", sql: pruneCutoffSQL, args: []any{1, 10}, want: "events_issue_time", order: true},
		planQuery{name: "prune per issue", sql: prunePerIssueSQL, args: []any{1, 0, 0, 10}, want: "events_issue_time"},
		// Either index led by issue_id counts the events of each issue
		// in order; the planner of an empty table may take either.
		planQuery{name: "crowded issues", sql: crowdedIssuesSQL, args: []any{10}, want: "events_issue_", scansAll: true},
	)
}

// explain returns the plan of q, one line per node.
func explain(t *testing.T, db *DB, q planQuery) string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stmt := "EXPLAIN QUERY PLAN " + q.sql
	if db.Dialect() == DialectPostgres {
		// Tables are empty here, so the planner would rightly prefer
		// sequential scans and sorts; penalizing them shows whether an
		// index can serve the query at all.
		for _, s := range []string{"SET enable_seqscan = off", "SET enable_sort = off", "SET enable_bitmapscan = off"} {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		defer conn.ExecContext(ctx, "RESET ALL")
		stmt = "EXPLAIN " + q.sql
	}
	rows, err := conn.QueryContext(ctx, stmt, q.args...)
	if err != nil {
		t.Fatalf("%s: %v", q.name, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n")
}

// seedPlanIssues gives PostgreSQL's planner issues to estimate from: on
// empty tables every index led by project_id costs the same, and which
// of them a plan names would depend on the order they were created in.
func seedPlanIssues(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	p, err := db.CreateProject(ctx, "plans")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level, status,
		resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
		SELECT $1, 'f' || n, 'v', 't' || n, 'c', 'error', (ARRAY['unresolved', 'resolved', 'ignored'])[n % 3 + 1], '',
			n % 97, n % 89, n * 1000, n * 2000, 'r' || n % 50, 'r' || n % 40, ''
		FROM generate_series(1, 3000) AS n`, p.ID); err != nil {
		t.Fatal(err)
	}
	// VACUUM too, so that the visibility map lets index-only scans skip
	// the table, as it does on a database autovacuum has seen.
	if _, err := db.SQL().ExecContext(ctx, `VACUUM ANALYZE issues`); err != nil {
		t.Fatal(err)
	}
}

func TestQueryPlans(t *testing.T) {
	for _, open := range []func(*testing.T) *DB{openSQLiteTest, openPostgresTest} {
		db := open(t)
		if db.Dialect() == DialectPostgres {
			seedPlanIssues(t, db)
		}
		for _, q := range planQueries(db.Dialect()) {
			plan := explain(t, db, q)
			full := regexp.MustCompile(`Seq Scan`)
			sorted := "Sort"
			if db.Dialect() == DialectSQLite {
				// Scans of subquery results (SCAN ranked) are fine, and
				// so are scans of projects (p), which are few.
				full = regexp.MustCompile(`(?m)^SCAN (issues|events|issue_\w+|project_\w+|[iemtcon])\b`)
				sorted = "TEMP B-TREE FOR ORDER BY"
			}
			switch {
			case !strings.Contains(plan, q.want):
				t.Errorf("%s %s: plan does not use %s:\n%s", db.Dialect(), q.name, q.want, plan)
			case q.not != "" && strings.Contains(plan, q.not):
				t.Errorf("%s %s: plan reads %s:\n%s", db.Dialect(), q.name, q.not, plan)
			case full.MatchString(plan) && !q.scansAll:
				t.Errorf("%s %s: plan scans a whole table:\n%s", db.Dialect(), q.name, plan)
			case q.order && strings.Contains(plan, sorted):
				t.Errorf("%s %s: plan sorts instead of reading the index in order:\n%s", db.Dialect(), q.name, plan)
			}
		}
	}
}

// TestIssueFeedbackPlan: counting an issue's feedback in a project with
// little feedback reads the feedback and looks up its events by ID, never
// the issue's events, which a busy issue has tens of thousands of. SQLite
// only: PostgreSQL picks the join order by its statistics.
func TestIssueFeedbackPlan(t *testing.T) {
	db := openSQLiteTest(t)
	e := newEnv(t, db)
	issue := e.save("crash").IssueID
	e.saveFeedback(feedbackReq(e.project.ID, "fb", newEventID(), "Broke", t0))
	q, err := db.issueFeedbackCountQuery(context.Background(), Viewer{UserID: 7}, issue)
	if err != nil {
		t.Fatal(err)
	}
	plan := explain(t, db, planQuery{name: "feedback of an issue", sql: q.sql(), args: q.args})
	if strings.Contains(plan, "events_issue_") || !strings.Contains(plan, "feedback_associated") || !strings.Contains(plan, "events_event_id") {
		t.Errorf("plan reads the issue's events, or not the feedback first:\n%s", plan)
	}
}

// TestPool checks that a second pool reaches the same database and serves
// while every connection of the first is taken, which is what it is for.
func TestPool(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	if _, err := db.Pool(0); err == nil {
		t.Error("Pool(0) succeeded")
	}
	p, err := db.Pool(1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	created, err := db.CreateProject(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	db.SQL().SetMaxOpenConns(2)
	for range 2 {
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	got, err := p.GetProject(tctx, System, created.ID)
	if err != nil || got.Name != "shared" {
		t.Errorf("project through the pool = %+v, %v; want the one created through the store", got, err)
	}
}

// TestInTxRerunsDeadlockVictim: two transactions that lock two rows in
// opposite orders deadlock, and PostgreSQL cancels one; InTx runs that
// one again, so both commit. Any other error ends the transaction at once.
func TestInTxRerunsDeadlockVictim(t *testing.T) {
	ctx := context.Background()
	db := openPostgresTest(t)
	if _, err := db.SQL().ExecContext(ctx, `CREATE TABLE rows_locked (id INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO rows_locked VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		both sync.WaitGroup // each holds its first row
		runs [2]atomic.Int32
		errs [2]error
	)
	both.Add(2)
	for i, order := range [2][2]int{{1, 2}, {2, 1}} {
		wg.Go(func() {
			errs[i] = db.InTx(ctx, func(tx *sql.Tx) error {
				again := runs[i].Add(1) > 1
				if _, err := tx.ExecContext(ctx, `SELECT id FROM rows_locked WHERE id = $1 FOR UPDATE`, order[0]); err != nil {
					return err
				}
				if !again {
					both.Done()
					both.Wait()
				}
				_, err := tx.ExecContext(ctx, `SELECT id FROM rows_locked WHERE id = $1 FOR UPDATE`, order[1])
				return err
			})
		})
	}
	wg.Wait()
	if errs != [2]error{} || runs[0].Load()+runs[1].Load() < 3 {
		t.Errorf("deadlocked transactions: errors %v, runs %d and %d; want none, a victim run again", errs, runs[0].Load(), runs[1].Load())
	}
	n := 0
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		n++
		_, err := tx.ExecContext(ctx, `INSERT INTO rows_locked VALUES (1)`)
		return err
	})
	if !pgUniqueViolation(err) || n != 1 {
		t.Errorf("a transaction that broke a key: %v after %d runs, want a unique violation after one", err, n)
	}
}

// capPattern keeps n literal runes of a pattern, its Wildcards free and
// their runs one, so a long run of stars cannot push a pattern's literal
// tail out (QA: `t:a***…***zzz` matched every value starting with a).
func TestCapPattern(t *testing.T) {
	w := Wildcard
	long := strings.Repeat("x", 300)
	for _, tt := range []struct{ name, in, want string }{
		{"short", "abc", "abc"},
		{"a run of wildcards is one, the tail kept", "a" + strings.Repeat(w, 300) + "zzz", "a" + w + "zzz"},
		{"wildcards do not count", strings.Repeat("a"+w, 150) + "b", strings.Repeat("a"+w, 150) + "b"},
		{"literal runes past n cut, a wildcard after", long, long[:199] + w},
		{"cut after a wildcard keeps one", w + long, w + long[:199] + w},
		{"runes, not bytes", strings.Repeat("é", 250), strings.Repeat("é", 199) + w},
	} {
		if got := capPattern(tt.in, 200); got != tt.want {
			t.Errorf("%s: capPattern = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestRareTagPlan: on SQLite, a search for a tag value few issues have
// reads those issues from the value's rows and sorts them, for the list
// and its count, instead of reading the project's issues in the sort's
// order and checking each one's tags (a value no issue has read all
// 20,000 issues of a big project, 68-98 ms). A common value keeps the
// sort's index, which fills a page after a few issues.
func TestRareTagPlan(t *testing.T) {
	ctx := context.Background()
	db := openSQLiteTest(t)
	p, err := db.CreateProject(ctx, "plans")
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 1200)
		INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level, status,
			resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
		SELECT $1, 'f' || k, 'v', 't' || k, 'c', 'error', 'unresolved', '', k % 97, k % 89, k * 1000, k * 2000, '', '', '' FROM n`,
		`INSERT INTO issue_tags (issue_id, key, value, count) SELECT id, 'browser', 'Chrome', 1 FROM issues WHERE project_id = $1`,
		`INSERT INTO issue_tags (issue_id, key, value, count) SELECT id, 'os', 'Haiku', 1 FROM issues WHERE project_id = $1 AND id % 100 = 0`,
	} {
		if _, err := db.SQL().ExecContext(ctx, stmt, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	chrome, haiku := event.Tag{Key: "browser", Value: "Chrome"}, event.Tag{Key: "os", Value: "Haiku"}
	f := IssueFilter{ProjectID: p.ID, Sort: SortCount, Tags: []event.Tag{chrome, haiku}}
	rare, err := db.rareTag(ctx, f, rareTagIssues)
	if err != nil || rare != 1 {
		t.Fatalf("rareTag(browser:Chrome os:Haiku) = %d, %v; want 1, os:Haiku", rare, err)
	}
	list, _, _, _, err := db.issuesQuery(System, f, nil, rare)
	if err != nil {
		t.Fatal(err)
	}
	count, err := db.countQuery(System, f, 10000, nil, rare)
	if err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]*query{"list": list, "count": count} {
		plan := explain(t, db, planQuery{name: name, sql: q.sql(), args: q.args})
		if !strings.Contains(plan, "SEARCH rt USING COVERING INDEX issue_tags_value") || strings.Contains(plan, "issues_count") {
			t.Errorf("%s of a rare tag value: plan does not start from its rows:\n%s", name, plan)
		}
	}
	page, err := db.ListIssuesPage(ctx, System, f)
	if err != nil || len(page.Issues) != 12 || page.Issues[0].Count < page.Issues[11].Count {
		t.Errorf("list of a rare tag value: %d issues, %v; want the 12 with os:Haiku by count", len(page.Issues), err)
	}
	if n, err := db.CountIssues(ctx, System, f, 10000); n != 12 || err != nil {
		t.Errorf("count of a rare tag value = %d, %v; want 12", n, err)
	}
	chromeOnly := IssueFilter{ProjectID: p.ID, Tags: []event.Tag{chrome}}
	if rare, err := db.rareTag(ctx, chromeOnly, rareTagIssues); rare != -1 || err != nil {
		t.Errorf("rareTag(browser:Chrome), on 1,200 issues = %d, %v; want -1, the sort's index", rare, err)
	}
	// Counting up to 10,000, a value on 1,200 issues is fewer rows to
	// read than the project's issues.
	if rare, err := db.rareTag(ctx, chromeOnly, 10000); rare != 0 || err != nil {
		t.Errorf("rareTag(browser:Chrome) for a count up to 10,000 = %d, %v; want 0", rare, err)
	}
	if n, err := db.CountIssues(ctx, System, chromeOnly, 10000); n != 1200 || err != nil {
		t.Errorf("count of browser:Chrome = %d, %v; want 1200", n, err)
	}
	// Counting up to fewer, a value on no more issues than the project has
	// is still read from its rows (each a lookup of its issue in table
	// order), not by looking up each of the project's issues' tags; one
	// that other projects' issues have too, more than this project's
	// issues, is not.
	small, err := db.CreateProject(ctx, "small")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level, status,
		resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
		SELECT $1, fingerprint, 'v', title, 'c', 'error', 'unresolved', '', 1, 1, 1, 1, '', '', '' FROM issues WHERE project_id = $2 AND id % 100 = 0`,
		small.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	// This project has more issues than the value has rows in all.
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level, status,
		resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
		SELECT $1, 'untagged' || fingerprint, 'v', title, 'c', 'error', 'unresolved', '', 1, 1, 1, 1, '', '', '' FROM issues WHERE project_id = $1 AND id % 50 = 0`,
		p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO issue_tags (issue_id, key, value, count) SELECT id, 'browser', 'Chrome', 1 FROM issues WHERE project_id = $1`,
		small.ID); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		project int64
		want    int
		count   int
	}{
		{"the project's own", p.ID, 0, 100},
		{"mostly other projects'", small.ID, -1, 12},
	} {
		f := IssueFilter{ProjectID: tt.project, Tags: []event.Tag{chrome}}
		if rare, err := db.countRare(ctx, f, 100); rare != tt.want || err != nil {
			t.Errorf("%s browser:Chrome, counted up to 100: countRare = %d, %v; want %d", tt.name, rare, err, tt.want)
		}
		if n, err := db.CountIssues(ctx, System, f, 100); n != tt.count || err != nil {
			t.Errorf("%s browser:Chrome, counted up to 100 = %d, %v; want %d", tt.name, n, err, tt.count)
		}
	}
}
