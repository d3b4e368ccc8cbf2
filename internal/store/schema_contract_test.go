package store_test

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/queue"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// The schema contract: a database migrated by the SQLite files and one
// migrated by the PostgreSQL files hold the same tables, columns (type,
// NOT NULL, default, identity), primary keys, unique constraints, indexes
// and foreign keys, the queue's tables included. Each schema is read back
// from the database as a set of facts in a vocabulary both dialects share;
// a fact found in one dialect only is drift.

// boolColumns hold booleans. SQLite has no boolean type: these are INTEGER
// columns the store writes Go bools to (stored 0/1), which PostgreSQL
// declares BOOLEAN. A boolean column missing here, or listed but not
// BOOLEAN in PostgreSQL, shows up as a type difference.
var boolColumns = map[string]bool{
	"projects.scrubbing":                 true,
	"projects.drop_ip":                   true,
	"projects.filter_browser_extensions": true,
	"projects.filter_localhost":          true,
	"projects.filter_web_crawlers":       true,
	"project_keys.active":                true,
	"alert_rules.enabled":                true,
	"alert_issue_state.muted":            true,
}

// dialectOnly are facts that intentionally hold in one dialect only,
// mapped to the dialect that has them. Keep each entry commented with why
// the other dialect cannot have it. An entry that no longer differs fails
// the test, so the list cannot outlive its reason.
var dialectOnly = map[string]string{
	// A count reads a project's issues in table order through it on
	// SQLite (countOrder). PostgreSQL's bitmap scans read a table in its
	// order through any index led by project_id, and there every update
	// of an issue (never HOT: its indexed figures change) would write one
	// more index entry for nothing.
	"issues: index issues_project (project_id)": store.DialectSQLite,
	// A count of an environment's issues reads its rows in issue order
	// through it on SQLite (countOrder). PostgreSQL's planner joins the
	// environment's rows and the issues by a hash or in the issues'
	// order, and there every update of an issue's figures in an
	// environment would write one more index entry for nothing.
	"issue_environments: index issue_environments_issue (project_id, environment, issue_id)": store.DialectSQLite,
}

func TestSchemaContract(t *testing.T) {
	ctx := context.Background()
	dialects := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{store.DialectSQLite, func(t *testing.T) string { return filepath.Join(t.TempDir(), "contract.db") }},
		{store.DialectPostgres, func(t *testing.T) string { return pgtest.URL(t) }},
	}
	facts := map[string][]string{}
	for _, d := range dialects {
		startup := migratedSchema(t, ctx, d.dsn(t), false)
		if !slices.Contains(startup, "queue_messages.body: bytes not null") {
			t.Fatalf("%s: the queue's tables are missing from the schema read back:\n%s", d.name, strings.Join(startup, "\n"))
		}
		facts[d.name] = startup
		// The store's 0001_init creates the queue's tables before the
		// queue's own 0001 does (see internal/queue/migrations), so a
		// fresh database never runs the queue's DDL. Run it here and
		// hold it to what 0001_init created.
		queueOwn := migratedSchema(t, ctx, d.dsn(t), true)
		for _, f := range missing(queueOwn, startup) {
			t.Errorf("%s: the queue's migrations create %q, which the store's 0001_init did not: the queue's 0001 must create the tables 0001_init did; change them in a new queue migration", d.name, f)
		}
		for _, f := range missing(startup, queueOwn) {
			t.Errorf("%s: the queue's migrations do not create %q, which the store's 0001_init did: the queue's 0001 must create the tables 0001_init did; change them in a new queue migration", d.name, f)
		}
	}
	for _, d := range diffDialects(facts[store.DialectSQLite], facts[store.DialectPostgres], dialectOnly) {
		t.Error(d)
	}
}

// missing returns the facts of a that b lacks.
func missing(a, b []string) []string {
	var m []string
	for _, f := range a {
		if !slices.Contains(b, f) {
			m = append(m, f)
		}
	}
	return m
}

// diffDialects describes the facts of one dialect's schema missing from the
// other's, except those allowed (fact → the dialect that alone has it), and
// allowed differences that are gone.
func diffDialects(lite, pg []string, allowed map[string]string) []string {
	var diffs []string
	only := func(facts []string, in, notIn string) {
		for _, f := range facts {
			if allowed[f] != in {
				diffs = append(diffs, fmt.Sprintf("%s only: %s\n\tadd it to the %s migrations in a new NNNN file, or, if %s cannot have it, to dialectOnly with the reason",
					in, f, notIn, notIn))
			}
		}
	}
	only(missing(lite, pg), store.DialectSQLite, store.DialectPostgres)
	only(missing(pg, lite), store.DialectPostgres, store.DialectSQLite)
	for fact, dialect := range allowed {
		if slices.Contains(lite, fact) == slices.Contains(pg, fact) {
			diffs = append(diffs, fmt.Sprintf("dialectOnly lists %q as %s only, but it no longer differs: remove the entry", fact, dialect))
		}
	}
	slices.Sort(diffs)
	return diffs
}

// migratedSchema migrates a fresh database the way flytrap does at start-up
// (store, then queue) and returns its schema's facts. With queueOwn, the
// queue's tables are dropped before the queue migrates, so its own
// migrations create them.
func migratedSchema(t *testing.T, ctx context.Context, dsn string, queueOwn bool) []string {
	t.Helper()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if queueOwn {
		for _, table := range []string{"queue_dead", "queue_messages"} {
			if _, err := db.SQL().ExecContext(ctx, "DROP TABLE "+table); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := queue.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var facts []string
	if db.Dialect() == store.DialectSQLite {
		facts, err = sqliteFacts(ctx, db.SQL())
	} else {
		facts, err = postgresFacts(ctx, db.SQL())
	}
	if err != nil {
		t.Fatalf("reading the %s schema: %v", db.Dialect(), err)
	}
	slices.Sort(facts)
	return facts
}

// Facts are strings, one per property, so two schemas compare as sets and a
// difference reads as the property itself:
//
//	table.column: TYPE [not null] [default] [identity]
//	table: primary key (a, b)
//	table: unique (a)                         a UNIQUE constraint
//	table: index NAME [unique] (a, b desc) [where PREDICATE]
//	table: foreign key (a) references other (b)

func columnFact(table, column, typ string, notNull, hasDefault, identity bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s.%s: %s", table, column, typ)
	if notNull {
		b.WriteString(" not null")
	}
	if hasDefault {
		b.WriteString(" default")
	}
	if identity {
		b.WriteString(" identity")
	}
	return b.String()
}

func indexFact(table, name string, unique bool, cols []string, predicate string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: index %s", table, name)
	if unique {
		b.WriteString(" unique")
	}
	fmt.Fprintf(&b, " (%s)", strings.Join(cols, ", "))
	if predicate != "" {
		fmt.Fprintf(&b, " where %s", normalizePredicate(predicate))
	}
	return b.String()
}

// expression stands for an index key that is an expression rather than a
// column: the dialects print expressions too differently to compare them.
const expression = "<expression>"

// sqliteType maps a declared SQLite type to the shared vocabulary by
// SQLite's own affinity rules, which are what the declared type means.
func sqliteType(column, declared string) string {
	d := strings.ToUpper(declared)
	switch {
	case strings.Contains(d, "INT"):
		if boolColumns[column] {
			return "bool"
		}
		return "integer"
	case strings.Contains(d, "CHAR"), strings.Contains(d, "CLOB"), strings.Contains(d, "TEXT"):
		return "text"
	case d == "", strings.Contains(d, "BLOB"):
		return "bytes"
	case strings.Contains(d, "REAL"), strings.Contains(d, "FLOA"), strings.Contains(d, "DOUB"):
		return "real"
	}
	return "numeric " + d
}

// postgresType maps information_schema.columns.data_type to the shared
// vocabulary. Only bigint is "integer": SQLite integers are 64-bit, so a
// PostgreSQL integer or smallint would reject values SQLite takes. Types
// without a SQLite counterpart keep their name, so they show up as drift:
// timestamp with time zone, say, since the store keeps times as integer
// unix milliseconds in both dialects.
func postgresType(dataType string) string {
	switch dataType {
	case "bigint":
		return "integer"
	case "integer":
		return "int32"
	case "smallint":
		return "int16"
	case "text", "character varying", "character":
		return "text"
	case "bytea":
		return "bytes"
	case "boolean":
		return "bool"
	case "double precision", "real":
		return "real"
	}
	return dataType
}

var (
	castRE  = regexp.MustCompile(`::(character varying|double precision|timestamp with(out)? time zone|[a-z_]+)(\[\])?`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// normalizePredicate makes a partial index's WHERE clause comparable:
// PostgreSQL prints it with casts and extra parentheses.
func normalizePredicate(p string) string {
	p = strings.ToLower(p)
	p = castRE.ReplaceAllString(p, "")
	p = strings.NewReplacer("(", " ", ")", " ").Replace(p)
	return strings.TrimSpace(spaceRE.ReplaceAllString(p, " "))
}

// whereRE finds the predicate of a partial index in its CREATE INDEX.
var whereRE = regexp.MustCompile(`(?is)\)\s*WHERE\s+(.*)$`)

// sqliteTable is a table as sqliteFacts reads it from sqlite_master.
type sqliteTable struct {
	name, sql    string
	withoutRowid bool
}

func sqliteFacts(ctx context.Context, db *sql.DB) ([]string, error) {
	var tables []sqliteTable
	err := queryRows(ctx, db, func(rows *sql.Rows) error {
		var tb sqliteTable
		err := rows.Scan(&tb.name, &tb.sql, &tb.withoutRowid)
		tables = append(tables, tb)
		return err
	}, `SELECT m.name, m.sql, l.wr FROM sqlite_master m JOIN pragma_table_list l ON l.name = m.name AND l.schema = 'main'
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name`)
	if err != nil {
		return nil, err
	}
	var facts []string
	for _, tb := range tables {
		for _, read := range []func(context.Context, *sql.DB, sqliteTable) ([]string, error){
			sqliteColumns, sqliteIndexes, sqliteForeignKeys,
		} {
			fs, err := read(ctx, db, tb)
			if err != nil {
				return nil, fmt.Errorf("table %s: %w", tb.name, err)
			}
			facts = append(facts, fs...)
		}
	}
	return facts, nil
}

var autoincrementRE = regexp.MustCompile(`(?i)\bAUTOINCREMENT\b`)

// sqliteColumns returns the facts of tb's columns and primary key.
func sqliteColumns(ctx context.Context, db *sql.DB, tb sqliteTable) ([]string, error) {
	// Only a lone INTEGER primary key column aliases the rowid.
	var pkCount int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE pk > 0`, tb.name).Scan(&pkCount); err != nil {
		return nil, err
	}
	var facts []string
	pk := make([]string, pkCount)
	err := queryRows(ctx, db, func(rows *sql.Rows) error {
		var (
			name, typ string
			notNull   bool
			dflt      sql.NullString
			pkSeq     int
		)
		if err := rows.Scan(&name, &typ, &notNull, &dflt, &pkSeq); err != nil {
			return err
		}
		if pkSeq > 0 {
			pk[pkSeq-1] = name
		}
		// A primary key column of a WITHOUT ROWID table, or the INTEGER
		// PRIMARY KEY that aliases the rowid, cannot hold NULL whatever
		// it declares; other SQLite primary key columns can, unlike
		// PostgreSQL's.
		rowidAlias := pkSeq > 0 && pkCount == 1 && !tb.withoutRowid && strings.EqualFold(typ, "INTEGER")
		notNull = notNull || pkSeq > 0 && tb.withoutRowid || rowidAlias
		identity := rowidAlias && autoincrementRE.MatchString(tb.sql)
		facts = append(facts, columnFact(tb.name, name, sqliteType(tb.name+"."+name, typ), notNull, dflt.Valid, identity))
		return nil
	}, `SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)`, tb.name)
	if err != nil {
		return nil, err
	}
	if pkCount > 0 {
		facts = append(facts, fmt.Sprintf("%s: primary key (%s)", tb.name, strings.Join(pk, ", ")))
	}
	return facts, nil
}

// sqliteIndexes returns the facts of tb's unique constraints and indexes.
func sqliteIndexes(ctx context.Context, db *sql.DB, tb sqliteTable) ([]string, error) {
	type index struct {
		name, origin    string
		unique, partial bool
	}
	var indexes []index
	err := queryRows(ctx, db, func(rows *sql.Rows) error {
		var ix index
		err := rows.Scan(&ix.name, &ix.unique, &ix.origin, &ix.partial)
		indexes = append(indexes, ix)
		return err
	}, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, tb.name)
	if err != nil {
		return nil, err
	}
	var facts []string
	for _, ix := range indexes {
		if ix.origin == "pk" { // the primary key fact covers it
			continue
		}
		var cols []string
		err := queryRows(ctx, db, func(rows *sql.Rows) error {
			var (
				name sql.NullString
				desc bool
			)
			if err := rows.Scan(&name, &desc); err != nil {
				return err
			}
			col := cmp.Or(name.String, expression)
			if desc {
				col += " desc"
			}
			cols = append(cols, col)
			return nil
		}, `SELECT name, "desc" FROM pragma_index_xinfo(?) WHERE key ORDER BY seqno`, ix.name)
		if err != nil {
			return nil, err
		}
		if ix.origin == "u" {
			facts = append(facts, fmt.Sprintf("%s: unique (%s)", tb.name, strings.Join(cols, ", ")))
			continue
		}
		var predicate string
		if ix.partial {
			var def string
			if err := db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`, ix.name).Scan(&def); err != nil {
				return nil, err
			}
			m := whereRE.FindStringSubmatch(def)
			if m == nil {
				return nil, fmt.Errorf("index %s is partial, but no WHERE found in %q", ix.name, def)
			}
			predicate = m[1]
		}
		facts = append(facts, indexFact(tb.name, ix.name, ix.unique, cols, predicate))
	}
	return facts, nil
}

// sqliteForeignKeys returns the facts of tb's foreign keys.
func sqliteForeignKeys(ctx context.Context, db *sql.DB, tb sqliteTable) ([]string, error) {
	type foreignKey struct {
		ref      string
		from, to []string
	}
	var fks []*foreignKey // in id order, one row per column
	lastID := -1
	err := queryRows(ctx, db, func(rows *sql.Rows) error {
		var (
			id        int
			ref, from string
			to        sql.NullString
		)
		if err := rows.Scan(&id, &ref, &from, &to); err != nil {
			return err
		}
		if id != lastID {
			fks = append(fks, &foreignKey{ref: ref})
			lastID = id
		}
		fk := fks[len(fks)-1]
		fk.from = append(fk.from, from)
		// REFERENCES t without columns means t's primary key.
		fk.to = append(fk.to, cmp.Or(to.String, "<primary key>"))
		return nil
	}, `SELECT id, "table", "from", "to" FROM pragma_foreign_key_list(?) ORDER BY id, seq`, tb.name)
	if err != nil {
		return nil, err
	}
	var facts []string
	for _, fk := range fks {
		facts = append(facts, fmt.Sprintf("%s: foreign key (%s) references %s (%s)",
			tb.name, strings.Join(fk.from, ", "), fk.ref, strings.Join(fk.to, ", ")))
	}
	return facts, nil
}

func postgresFacts(ctx context.Context, db *sql.DB) ([]string, error) {
	var facts []string
	err := queryRows(ctx, db, func(rows *sql.Rows) error {
		var (
			table, column, dataType string
			nullable, identity      string
			dflt                    sql.NullString
		)
		if err := rows.Scan(&table, &column, &dataType, &nullable, &dflt, &identity); err != nil {
			return err
		}
		// serial columns are identities by another name.
		isIdentity := identity == "YES" || strings.HasPrefix(dflt.String, "nextval(")
		facts = append(facts, columnFact(table, column, postgresType(dataType), nullable == "NO", dflt.Valid && !isIdentity, isIdentity))
		return nil
	}, `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default, c.is_identity
		FROM information_schema.columns c JOIN information_schema.tables t USING (table_schema, table_name)
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'`)
	if err != nil {
		return nil, err
	}

	// One row per index key, in key order. A key number 0 is an
	// expression; bit 1 of indoption is DESC.
	type index struct {
		table, name, constraint, predicate string
		unique                             bool
		cols                               []string
	}
	var indexes []*index
	err = queryRows(ctx, db, func(rows *sql.Rows) error {
		var (
			ix         index
			col        string
			expr, desc bool
		)
		if err := rows.Scan(&ix.table, &ix.name, &ix.unique, &ix.constraint, &ix.predicate, &col, &expr, &desc); err != nil {
			return err
		}
		if expr {
			col = expression
		}
		if desc {
			col += " desc"
		}
		if n := len(indexes); n == 0 || indexes[n-1].table != ix.table || indexes[n-1].name != ix.name {
			indexes = append(indexes, &ix)
		}
		last := indexes[len(indexes)-1]
		last.cols = append(last.cols, col)
		return nil
	}, `SELECT t.relname, i.relname, x.indisunique, COALESCE(con.contype::text, ''),
			COALESCE(pg_get_expr(x.indpred, x.indrelid), ''),
			pg_get_indexdef(x.indexrelid, k.n, true), x.indkey[k.n - 1] = 0, (x.indoption[k.n - 1] & 1) = 1
		FROM pg_index x
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace ns ON ns.oid = t.relnamespace
		LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype IN ('p', 'u')
		CROSS JOIN LATERAL generate_series(1, x.indnkeyatts) k(n)
		WHERE ns.nspname = current_schema()
		ORDER BY t.relname, i.relname, k.n`)
	if err != nil {
		return nil, err
	}
	for _, ix := range indexes {
		cols := strings.Join(ix.cols, ", ")
		switch ix.constraint {
		case "p":
			facts = append(facts, fmt.Sprintf("%s: primary key (%s)", ix.table, cols))
		case "u":
			facts = append(facts, fmt.Sprintf("%s: unique (%s)", ix.table, cols))
		default:
			facts = append(facts, indexFact(ix.table, ix.name, ix.unique, ix.cols, ix.predicate))
		}
	}

	err = queryRows(ctx, db, func(rows *sql.Rows) error {
		var table, from, ref, to string
		if err := rows.Scan(&table, &from, &ref, &to); err != nil {
			return err
		}
		facts = append(facts, fmt.Sprintf("%s: foreign key (%s) references %s (%s)", table, from, ref, to))
		return nil
	}, `SELECT t.relname,
			(SELECT string_agg(a.attname, ', ' ORDER BY k.o) FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n),
			r.relname,
			(SELECT string_agg(a.attname, ', ' ORDER BY k.o) FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
				JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n)
		FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_class r ON r.oid = c.confrelid
		JOIN pg_namespace ns ON ns.oid = t.relnamespace
		WHERE c.contype = 'f' AND ns.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	return facts, nil
}

// queryRows runs q and calls scan for each row.
func queryRows(ctx context.Context, db *sql.DB, scan func(*sql.Rows) error, q string, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, q)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func TestSchemaTypes(t *testing.T) {
	tests := []struct {
		dialect, column, declared, want string
	}{
		{store.DialectSQLite, "t.c", "INTEGER", "integer"},
		{store.DialectSQLite, "t.c", "bigint", "integer"},
		{store.DialectSQLite, "projects.scrubbing", "INTEGER", "bool"},
		{store.DialectSQLite, "t.c", "TEXT", "text"},
		{store.DialectSQLite, "t.c", "VARCHAR(20)", "text"},
		{store.DialectSQLite, "t.c", "BLOB", "bytes"},
		{store.DialectSQLite, "t.c", "", "bytes"},
		{store.DialectSQLite, "t.c", "DOUBLE PRECISION", "real"},
		{store.DialectSQLite, "t.c", "BOOLEAN", "numeric BOOLEAN"},
		{store.DialectSQLite, "t.c", "TIMESTAMPTZ", "numeric TIMESTAMPTZ"},
		{store.DialectPostgres, "", "bigint", "integer"},
		{store.DialectPostgres, "", "integer", "int32"},
		{store.DialectPostgres, "", "text", "text"},
		{store.DialectPostgres, "", "character varying", "text"},
		{store.DialectPostgres, "", "bytea", "bytes"},
		{store.DialectPostgres, "", "boolean", "bool"},
		{store.DialectPostgres, "", "timestamp with time zone", "timestamp with time zone"},
	}
	for _, tt := range tests {
		got := postgresType(tt.declared)
		if tt.dialect == store.DialectSQLite {
			got = sqliteType(tt.column, tt.declared)
		}
		if got != tt.want {
			t.Errorf("%s type %q of %s = %q, want %q", tt.dialect, tt.declared, tt.column, got, tt.want)
		}
	}
}

func TestDiffDialects(t *testing.T) {
	const (
		col   = "t.c: integer not null"
		index = "t: index t_c (c)"
	)
	tests := []struct {
		name     string
		lite, pg []string
		allowed  map[string]string
		want     []string // prefixes of the differences reported
	}{
		{"same", []string{col, index}, []string{col, index}, nil, nil},
		{"index missing", []string{col, index}, []string{col}, nil, []string{"sqlite only: " + index}},
		{"allowed", []string{col}, []string{col, index}, map[string]string{index: store.DialectPostgres}, nil},
		{"allowed in the other dialect", []string{col}, []string{col, index},
			map[string]string{index: store.DialectSQLite}, []string{"postgres only: " + index}},
		{"allowed but gone", []string{col}, []string{col}, map[string]string{index: store.DialectPostgres},
			[]string{"dialectOnly lists"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := diffDialects(tt.lite, tt.pg, tt.allowed)
			if len(got) != len(tt.want) {
				t.Fatalf("differences %q, want %d starting %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("difference %q, want it to start %q", got[i], tt.want[i])
				}
			}
		})
	}
}

func TestNormalizePredicate(t *testing.T) {
	tests := []struct{ sqlite, postgres string }{
		{`status = 'unresolved'`, `(status = 'unresolved'::text)`},
		{`status = 'unresolved' AND count > 0`, `((status = 'unresolved'::text) AND (count > 0))`},
		{`name <> 'a b'`, `((name)::text <> 'a b'::character varying)`},
		{`last_seen IS NOT NULL`, `(last_seen IS NOT NULL)`},
	}
	for _, tt := range tests {
		if l, p := normalizePredicate(tt.sqlite), normalizePredicate(tt.postgres); l != p {
			t.Errorf("predicates normalize apart: SQLite %q → %q, PostgreSQL %q → %q", tt.sqlite, l, tt.postgres, p)
		}
	}
}
