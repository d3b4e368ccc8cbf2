package store

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/getflytrap/flytrap/internal/debugid"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// migrationsUpTo is the store's migrations for dialect up to version last,
// with the files named in replace given other content.
func migrationsUpTo(t *testing.T, dialect string, last int64, replace map[string]string) Migrations {
	t.Helper()
	ms, err := migrations(dialect)
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{}
	for _, m := range ms {
		if m.version > last {
			break
		}
		body := m.sql
		if r, ok := replace[m.name]; ok {
			body = r
		}
		files[path.Join("migrations", dialect, m.name)] = &fstest.MapFile{Data: []byte(body)}
	}
	set := storeMigrations
	set.Files = files
	return set
}

// indexState is whether the named index is valid and the table it is on,
// or ok false when there is none.
func indexState(t *testing.T, db *DB, name string) (valid bool, table string, oid int64, ok bool) {
	t.Helper()
	err := db.SQL().QueryRow(`SELECT i.indisvalid, i.indrelid::regclass::text, i.indexrelid::bigint FROM pg_index i WHERE i.indexrelid = to_regclass($1)`, name).Scan(&valid, &table, &oid)
	if err != nil {
		return false, "", 0, false
	}
	return valid, table, oid, true
}

// TestMigrationOutsideTransaction: on PostgreSQL, 0016 builds its index
// concurrently, outside the migrations' transaction, so an upgrade does
// not block writes to events; a build that was interrupted, leaving an
// INVALID index, is redone on the next start; an install that ran the
// first 0016 (a plain CREATE INDEX) keeps its index.
func TestMigrationOutsideTransaction(t *testing.T) {
	ctx := context.Background()
	const index = "events_issue_environment"
	ms, err := migrations(DialectPostgres)
	if err != nil {
		t.Fatal(err)
	}
	var m16 migration
	for _, m := range ms {
		if m.version == 16 {
			m16 = m
		}
	}
	if !m16.outsideTx || !strings.Contains(m16.sql, "CREATE INDEX CONCURRENTLY IF NOT EXISTS "+index) {
		t.Fatalf("postgres %s is not a concurrent build outside the transaction:\n%s", m16.name, m16.sql)
	}
	sqliteMs, err := migrations(DialectSQLite)
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(sqliteMs, func(m migration) bool { return m.outsideTx }); i >= 0 {
		t.Errorf("sqlite %s is marked to run outside the transaction", sqliteMs[i].name)
	}
	all := migrationNames(t, DialectPostgres)

	t.Run("interrupted build", func(t *testing.T) {
		db, err := openPostgres(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Migrate(ctx, migrationsUpTo(t, DialectPostgres, 15, nil)); err != nil {
			t.Fatal(err)
		}
		// A concurrent build that fails leaves its index INVALID, as
		// one stopped half way does: here a unique index over
		// duplicates, under 0016's index name.
		for _, stmt := range []string{
			`CREATE TABLE interrupted (x INT)`,
			`INSERT INTO interrupted VALUES (1), (1)`,
		} {
			if _, err := db.SQL().Exec(stmt); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL().Exec(`CREATE UNIQUE INDEX CONCURRENTLY ` + index + ` ON interrupted (x)`); err == nil {
			t.Fatal("the unique index over duplicates was built")
		}
		if valid, _, _, ok := indexState(t, db, index); !ok || valid {
			t.Fatalf("index after the failed build: exists %v, valid %v; want an INVALID one", ok, valid)
		}
		for range 2 {
			if err := db.migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if valid, table, _, ok := indexState(t, db, index); !ok || !valid || table != "events" {
				t.Errorf("index after migrating: exists %v, valid %v, on %q; want a valid one on events", ok, valid, table)
			}
			if got := appliedMigrations(t, db); !slices.Equal(got, all) {
				t.Errorf("applied %v, want %v", got, all)
			}
		}
	})

	t.Run("first 0016 applied", func(t *testing.T) {
		db, err := openPostgres(pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		first := "CREATE INDEX events_issue_environment ON events (issue_id, environment, occurred_at, id);"
		if err := db.Migrate(ctx, migrationsUpTo(t, DialectPostgres, 16, map[string]string{m16.name: first})); err != nil {
			t.Fatal(err)
		}
		_, _, before, ok := indexState(t, db, index)
		if !ok {
			t.Fatal("the first 0016 built no index")
		}
		if err := db.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if valid, _, after, _ := indexState(t, db, index); !valid || after != before {
			t.Errorf("index after upgrading: valid %v, oid %d; want the same valid index, %d", valid, after, before)
		}
		if got := appliedMigrations(t, db); !slices.Equal(got, all) {
			t.Errorf("applied %v, want %v", got, all)
		}
	})
}

// TestOutsideTxMarkRefused: the mark is for one concurrent index build on
// PostgreSQL only; anything else is refused when the files load rather
// than half applied.
func TestOutsideTxMarkRefused(t *testing.T) {
	for _, tc := range []struct {
		dialect, body string
	}{
		{DialectSQLite, outsideTxMark + "\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x);"},
		{DialectPostgres, outsideTxMark + "\nCREATE INDEX a ON t (x);"},
		{DialectPostgres, outsideTxMark + "\nCREATE INDEX CONCURRENTLY IF NOT EXISTS a ON t (x);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS b ON t (y);"},
	} {
		set := Migrations{Owner: "test", Table: "test_migrations", Files: fstest.MapFS{
			path.Join("migrations", tc.dialect, "0001_index.sql"): &fstest.MapFile{Data: []byte(tc.body)},
		}}
		if _, err := set.load(tc.dialect); err == nil {
			t.Errorf("%s %q loaded", tc.dialect, tc.body)
		}
	}
}

// TestMigrationMergeGroupingVersion: 0020 gives the merged fingerprints of
// earlier merges the grouping version of the issue they were merged into,
// so a later grouping version change leads their events there too.
func TestMigrationMergeGroupingVersion(t *testing.T) {
	ctx := context.Background()
	atVersion(t, 19, func(t *testing.T, db *DB, p Project) {
		// Written as 0019's schema has it: saving reads columns later
		// migrations add.
		var kept int64
		if err := db.SQL().QueryRowContext(ctx, `INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level,
					status, resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
				VALUES ($1, 'fp-b', 'old', 'Error fp-b', '', 'error', 'unresolved', '', 0, 0, 0, 0, '', '', '') RETURNING id`, p.ID).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO issue_merges (project_id, fingerprint, merged_id, issue_id, merged_at)
				VALUES ($1, 'fp-a', 999, $2, 0)`, p.ID, kept); err != nil {
			t.Fatal(err)
		}
		if err := db.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var version string
		if err := db.SQL().QueryRowContext(ctx, `SELECT grouping_version FROM issue_merges WHERE fingerprint = 'fp-a'`).Scan(&version); err != nil || version != "old" {
			t.Errorf("merged fingerprint's grouping version after 0020: %q, %v; want the kept issue's, old", version, err)
		}
		next := request(p.ID, "fp-a-v2")
		next.GroupingVersion, next.Previous = "new", func() []string { return []string{"fp-a"} }
		if got, err := db.SaveEvent(ctx, next); err != nil || got.IssueID != kept || got.NewIssue {
			t.Errorf("event of a fingerprint merged before 0020, regrouped: %+v, %v; want issue %d", got, err, kept)
		}
	})
}

// TestMigrationReleaseLastSeen: 0027 counts the releases recorded before it
// as last seen when first seen, so retention keeps those of its window as
// before, and 0028 indexes the issues resolved by a release, which
// retention then still finds.
func TestMigrationReleaseLastSeen(t *testing.T) {
	ctx := context.Background()
	atVersion(t, 26, func(t *testing.T, db *DB, p Project) {
		now, maxAge := t0, 7*24*time.Hour
		// Written as 0026's schema has them.
		for v, at := range map[string]time.Time{"old": now.Add(-maxAge - time.Hour), "recent": now.Add(-maxAge + time.Hour), "resolved-in": now.Add(-maxAge - time.Hour)} {
			if _, err := db.SQL().ExecContext(ctx, `INSERT INTO releases (project_id, version, first_seen) VALUES ($1, $2, $3)`, p.ID, v, millis(at)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level,
					status, resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
				VALUES ($1, 'fp', '', 'Error fp', '', 'error', 'resolved', 'resolved-in', 0, 0, 0, 0, '', '', '')`, p.ID); err != nil {
			t.Fatal(err)
		}
		if err := db.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var last int64
		if err := db.SQL().QueryRowContext(ctx, `SELECT last_seen FROM releases WHERE version = 'recent'`).Scan(&last); err != nil || last != millis(now.Add(-maxAge+time.Hour)) {
			t.Errorf("last seen of a release recorded before 0027 = %d, %v; want its first seen", last, err)
		}
		if n, err := db.PruneReleases(ctx, now, maxAge); err != nil || n != 1 {
			t.Errorf("PruneReleases after 0027 = %d, %v; want the old release deleted", n, err)
		}
		for _, v := range []string{"recent", "resolved-in"} {
			if _, err := db.GetRelease(ctx, System, p.ID, v); err != nil {
				t.Errorf("release %s after PruneReleases: %v", v, err)
			}
		}
	})
}

// atVersion runs fn on each dialect with a store migrated up to version
// last, and a project made there.
func atVersion(t *testing.T, last int64, fn func(t *testing.T, db *DB, p Project)) {
	for _, c := range []struct {
		dialect string
		open    func(t *testing.T) (*DB, error)
	}{
		{DialectSQLite, func(t *testing.T) (*DB, error) { return openSQLite(path.Join(t.TempDir(), "flytrap.db")) }},
		{DialectPostgres, func(t *testing.T) (*DB, error) { return openPostgres(pgtest.URL(t)) }},
	} {
		t.Run(c.dialect, func(t *testing.T) {
			db, err := c.open(t)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(context.Background(), migrationsUpTo(t, c.dialect, last, nil)); err != nil {
				t.Fatal(err)
			}
			p, err := db.CreateProject(context.Background(), "web")
			if err != nil {
				t.Fatal(err)
			}
			fn(t, db, p)
		})
	}
}

// TestMigrationMonitorEnvironments: 0029 gives each monitor an environment
// per environment of its check-ins (production for those that named none),
// the one of its latest check-in taking over the monitor's state, and the
// others ok when their latest finished run was.
func TestMigrationMonitorEnvironments(t *testing.T) {
	ctx := context.Background()
	atVersion(t, 26, func(t *testing.T, db *DB, p Project) {
		// Written as 0026's schema has it: production (no
		// environment) ran ok at 10:00, staging failed at 10:01
		// and failed the monitor, due again at 11:00.
		due := millis(t0.Add(time.Hour))
		var id int64
		if err := db.SQL().QueryRowContext(ctx, `INSERT INTO monitors (project_id, slug, schedule_type, crontab, interval_n, interval_unit,
				timezone, margin_minutes, max_runtime_minutes, failure_threshold, recovery_threshold, status, failures, oks, last_checkin,
				last_status, next_expected, created_at)
			VALUES ($1, 'sync', 'crontab', '0 * * * *', 0, '', '', 1, 30, 1, 1, 'failing', 1, 0, $2, 'error', $3, $4) RETURNING id`,
			p.ID, millis(t0.Add(time.Minute)), due, millis(t0)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		for i, ci := range []struct {
			env, status string
			at          time.Time
		}{{"", "ok", t0}, {"staging", "error", t0.Add(time.Minute)}} {
			if _, err := db.SQL().ExecContext(ctx, `INSERT INTO monitor_checkins (monitor_id, project_id, check_in_id, status, duration_ms,
					environment, release, received_at, updated_at) VALUES ($1, $2, $3, $4, -1, $5, '', $6, $6)`,
				id, p.ID, fmt.Sprintf("%032x", i), ci.status, ci.env, millis(ci.at)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		m, cis, err := db.GetMonitor(ctx, System, p.ID, "sync", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != MonitorFailing || envStatuses(m) != "production:ok staging:failing" || len(cis) != 2 || cis[1].Environment != "production" {
			t.Fatalf("after 0029: %+v (%s), check-ins %+v", m, envStatuses(m), cis)
		}
		for _, e := range m.Environments {
			if !e.NextExpected.Equal(fromMillis(due)) {
				t.Errorf("%s next expected %s, want the monitor's", e.Name, e.NextExpected)
			}
			if want := map[string]string{"production": "ok", "staging": "error"}[e.Name]; e.LastStatus != want {
				t.Errorf("%s's last status %q, want %q", e.Name, e.LastStatus, want)
			}
		}
		// Staging's next ok recovers it; production is untouched.
		res, err := db.SaveCheckIns(ctx, []CheckInRequest{inEnv("staging", checkIn(p.ID, "sync", 9, event.CheckInOK, t0.Add(time.Hour), nil))})
		if err != nil || res[0].Transition != TransitionRecovered || res[0].Monitor.Status != MonitorOK {
			t.Errorf("staging's ok after 0029: %+v, %v; want recovered", res, err)
		}
	})
}

// gapSet is a migration set whose files log their runs in gap_log, with
// only the given versions of 1, 2 and 3.
func gapSet(dialect string, versions ...int) Migrations {
	bodies := map[int]string{
		1: "CREATE TABLE gap_log (v INTEGER NOT NULL);",
		2: "INSERT INTO gap_log (v) VALUES (2);",
		3: "INSERT INTO gap_log (v) VALUES (3);",
	}
	files := fstest.MapFS{}
	for _, v := range versions {
		files[path.Join("migrations", dialect, fmt.Sprintf("%04d_gap.sql", v))] = &fstest.MapFile{Data: []byte(bodies[v])}
	}
	return Migrations{Owner: "gap", Files: files, Table: "gap_migrations", LockKey: 0x67617074657374}
}

// gapDatabase is a new database of dialect and a function opening handles
// on it, as separate processes would.
func gapDatabase(t *testing.T, dialect string) func() *DB {
	t.Helper()
	dsn := filepath.Join(t.TempDir(), "f.db")
	if dialect == DialectPostgres {
		dsn = pgtest.URL(t)
	}
	return func() *DB {
		t.Helper()
		var db *DB
		var err error
		if dialect == DialectPostgres {
			db, err = openPostgres(dsn)
		} else {
			db, err = openSQLite(dsn)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
}

// gapLog is what gap_log and gap_migrations hold: the versions the
// migrations' bodies logged, in the order they ran, and the versions
// recorded.
func gapLog(t *testing.T, db *DB) (ran, recorded []int64) {
	t.Helper()
	// The order rows were inserted in: a new table's, never updated.
	order := "rowid"
	if db.Dialect() == DialectPostgres {
		order = "ctid"
	}
	ran = queryInts(t, db, `SELECT v FROM gap_log ORDER BY `+order)
	return ran, queryInts(t, db, `SELECT version FROM gap_migrations ORDER BY version`)
}

func queryInts(t *testing.T, db *DB, q string) []int64 {
	t.Helper()
	rows, err := db.SQL().Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var vs []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestMigrationGapFilled: a database that records a migration above one
// it lacks (a build shipped 3 before 2 landed, or an upgrade stopped half
// way) gets the missing one, once, also when processes start together; a
// recorded version the binary lacks is refused as a newer schema.
func TestMigrationGapFilled(t *testing.T) {
	ctx := context.Background()
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			t.Run("filled once", func(t *testing.T) {
				db := gapDatabase(t, dialect)()
				if err := db.Migrate(ctx, gapSet(dialect, 1, 3)); err != nil {
					t.Fatal(err)
				}
				for range 2 {
					if err := db.Migrate(ctx, gapSet(dialect, 1, 2, 3)); err != nil {
						t.Fatal(err)
					}
					if ran, recorded := gapLog(t, db); !slices.Equal(ran, []int64{3, 2}) || !slices.Equal(recorded, []int64{1, 2, 3}) {
						t.Errorf("ran %v, recorded %v; want 3 then 2, and 1, 2, 3", ran, recorded)
					}
				}
			})

			t.Run("processes starting together", func(t *testing.T) {
				open := gapDatabase(t, dialect)
				if err := open().Migrate(ctx, gapSet(dialect, 1, 3)); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for range 4 {
					db := open()
					wg.Go(func() {
						if err := db.Migrate(ctx, gapSet(dialect, 1, 2, 3)); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				if ran, recorded := gapLog(t, open()); !slices.Equal(ran, []int64{3, 2}) || !slices.Equal(recorded, []int64{1, 2, 3}) {
					t.Errorf("ran %v, recorded %v; want 3 then 2 once each, and 1, 2, 3", ran, recorded)
				}
			})

			t.Run("unknown version refused", func(t *testing.T) {
				db := gapDatabase(t, dialect)()
				if err := db.Migrate(ctx, gapSet(dialect, 1, 2, 3)); err != nil {
					t.Fatal(err)
				}
				err := db.Migrate(ctx, gapSet(dialect, 1, 3))
				if !errors.Is(err, ErrSchemaNewer) || !strings.Contains(err.Error(), "records migration 2, which this binary does not have") {
					t.Errorf("migrating a database that records 2 with 1 and 3: %v, want ErrSchemaNewer naming 2", err)
				}
				if ran, _ := gapLog(t, db); !slices.Equal(ran, []int64{2, 3}) {
					t.Errorf("ran %v, want 2 and 3 from the first migration only", ran)
				}
			})

			t.Run("version of another name refused", func(t *testing.T) {
				db := gapDatabase(t, dialect)()
				if err := db.Migrate(ctx, gapSet(dialect, 1, 3)); err != nil {
					t.Fatal(err)
				}
				if _, err := db.SQL().Exec(`UPDATE gap_migrations SET name = '0001_branch.sql' WHERE version = 1`); err != nil {
					t.Fatal(err)
				}
				err := db.Migrate(ctx, gapSet(dialect, 1, 2, 3))
				if !errors.Is(err, ErrSchemaForeign) || !strings.Contains(err.Error(), "records migration 1 as 0001_branch.sql, where this binary's is 0001_gap.sql") {
					t.Errorf("migrating a database that records 1 under another name: %v, want ErrSchemaForeign naming both", err)
				}
				if ran, _ := gapLog(t, db); !slices.Equal(ran, []int64{3}) {
					t.Errorf("ran %v, want only 3 from the first migration", ran)
				}
			})
		})
	}
}

// TestStoreMigrationGapFilled: a store database migrated by a build that
// lacked 0035 gets it when it is opened, on either database, by Open and
// by OpenPostgres, which looks before it migrates.
func TestStoreMigrationGapFilled(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name, dialect string
		dsn           func(t testing.TB) string
		open          func(dsn string) (*DB, error)
	}{
		{"sqlite Open", DialectSQLite, func(t testing.TB) string { return filepath.Join(t.TempDir(), "f.db") },
			func(dsn string) (*DB, error) { return Open(ctx, dsn) }},
		{"postgres Open", DialectPostgres, pgtest.URL,
			func(dsn string) (*DB, error) { return Open(ctx, dsn) }},
		{"postgres OpenPostgres", DialectPostgres, pgtest.URL,
			func(dsn string) (*DB, error) {
				return OpenPostgres(ctx, dsn, func(context.Context) (string, error) { return "x", nil })
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := migrationNames(t, tc.dialect)
			set := migrationsUpTo(t, tc.dialect, 1<<62, nil)
			gap := path.Join("migrations", tc.dialect, all[34])
			if !strings.HasPrefix(all[34], "0035_") {
				t.Fatalf("migration 35 is %s", all[34])
			}
			delete(set.Files.(fstest.MapFS), gap)
			dsn := tc.dsn(t)
			var old *DB
			var err error
			if tc.dialect == DialectPostgres {
				old, err = openPostgres(dsn)
			} else {
				old, err = openSQLite(dsn)
			}
			if err != nil {
				t.Fatal(err)
			}
			err = old.Migrate(ctx, set)
			if got := appliedMigrations(t, old); err != nil || slices.Contains(got, all[34]) {
				t.Fatalf("migrating without %s: applied %v, %v", all[34], got, err)
			}
			old.Close()
			db, err := tc.open(dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if got := appliedMigrations(t, db); !slices.Equal(got, all) {
				t.Errorf("applied %v, want %v", got, all)
			}
			if _, err := db.SQL().Exec(`SELECT COUNT(*) FROM filtered_counts`); err != nil {
				t.Errorf("reading 0035's table: %v", err)
			}
		})
	}
}

// TestMigrationLegacyBrowsers: 0037 leaves the legacy browsers filter off
// for the projects made before it, which an upgrade must not start
// dropping events of, and for projects made after (inbound.Defaults).
func TestMigrationLegacyBrowsers(t *testing.T) {
	ctx := context.Background()
	atVersion(t, 36, func(t *testing.T, db *DB, p Project) {
		if err := db.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := db.ProjectFilters(ctx, System, p.ID); err != nil || got.LegacyBrowsers == nil || len(got.LegacyBrowsers) != 0 {
			t.Errorf("legacy browsers of a project made before 0037 = %#v, %v; want none", got.LegacyBrowsers, err)
		}
		later, err := db.CreateProject(ctx, "later")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := db.ProjectFilters(ctx, System, later.ID); err != nil || !slices.Equal(got.LegacyBrowsers, inbound.Defaults.LegacyBrowsers) {
			t.Errorf("legacy browsers of a project made after 0037 = %q, %v; want %q", got.LegacyBrowsers, err, inbound.Defaults.LegacyBrowsers)
		}
	})
}

// TestMigrationCanonicalDebugIDs: 0039 rewrites the debug IDs uploads
// stored as the tool wrote them (lower-cased) as debugid.Canonical reads
// them, so an event's canonical ID finds them; what is no debug ID
// becomes none. Two files whose IDs become one are both kept, and the
// newest is found first.
func TestMigrationCanonicalDebugIDs(t *testing.T) {
	ctx := context.Background()
	const id = "6a1c4bd3-0c6e-5a28-9d1e-2b7a6f1c0d11"
	stored := []string{
		id,
		strings.ReplaceAll(id, "-", ""),
		"{" + id + "}",
		"(" + id + ")",
		"urn:uuid:" + id,
		// Written before uploads lower-cased them, or by hand.
		strings.ToUpper(id),
		"URN:UUID:" + strings.ToUpper(id),
		strings.ToUpper(strings.ReplaceAll(id, "-", "")),
		"c0ffee00-1111-1222-0333-444455556666",
		"",
		"00000000-0000-0000-0000-000000000000",
		"00000000000000000000000000000000",
		"not-a-debug-id",
		"__sentry_debug_id__",
		id + "-1",
		id[:35],
		"6a1c4bd30-c6e-5a28-9d1e-2b7a6f1c0d11",
		"6a1c4bd3-0c6e-5a28-9d1e-2b7a6f1c0d1g",
		"6a1c4bd30c6e5a289d1e2b7a6f1c0d1z",
		"6a1c4bd3-0c6e-5a28-9d1e2b7a6f1c0d",
		"urn:oid:" + id + "x",
		"«" + id + "»",
		"é" + id,
		" " + id + " ",
	}
	atVersion(t, 38, func(t *testing.T, db *DB, p Project) {
		var bundle int64
		if err := db.SQL().QueryRowContext(ctx, `INSERT INTO artifact_bundles (project_id, checksum, bundle_id, release_name, dist, file_count, size, created_at)
			VALUES ($1, 'sum', '', '', '', $2, 0, 0) RETURNING id`, p.ID, len(stored)+1).Scan(&bundle); err != nil {
			t.Fatal(err)
		}
		insert := func(debugID, blob string) {
			t.Helper()
			if _, err := db.SQL().ExecContext(ctx, `INSERT INTO artifact_files (bundle_id, project_id, kind, url, name, debug_id, sourcemap, blob, size, created_at)
				VALUES ($1, $2, 'source_map', '~/app.js.map', 'app.js.map', $3, '', $4, 0, 0)`, bundle, p.ID, debugID, blob); err != nil {
				t.Fatal(err)
			}
		}
		for i, s := range stored {
			insert(s, fmt.Sprint("blob-", i))
		}
		// The same build uploaded again, its ID spelled otherwise: the
		// newest row.
		insert("{"+id+"}", "newest")
		if err := db.migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for i, s := range stored {
			want, _ := debugid.Canonical(s)
			var got string
			if err := db.SQL().QueryRowContext(ctx, `SELECT debug_id FROM artifact_files WHERE blob = $1`, fmt.Sprint("blob-", i)).Scan(&got); err != nil || got != want {
				t.Errorf("debug ID stored as %q after 0039 = %q, %v; want %q", s, got, err, want)
			}
		}
		files, err := db.FindArtifacts(ctx, ArtifactFilter{ProjectID: p.ID, DebugID: id, Kind: ArtifactSourceMap})
		var blobs []string
		for _, f := range files {
			blobs = append(blobs, f.Blob)
		}
		// blob-0 to blob-7 and blob-23 hold id in some spelling, and the
		// newest too.
		if want := []string{"newest", "blob-23", "blob-7", "blob-6", "blob-5", "blob-4", "blob-3", "blob-2", "blob-1", "blob-0"}; err != nil || !slices.Equal(blobs, want) {
			t.Errorf("FindArtifacts(%s) after 0039 = %q, %v; want %q, the newest first", id, blobs, err, want)
		}
	})
}
