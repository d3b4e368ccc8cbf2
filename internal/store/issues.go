package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// MaxTagValues is how many of a tag key's most frequent values IssueTags
// returns; keys like URLs or request IDs can have a value per event.
const MaxTagValues = 100

// issueCols are the columns scanIssue reads, of the issues table named
// (or aliased) t, its assignee's email last.
func issueCols(t string) string {
	cols := []string{"id", "project_id", "fingerprint", "grouping_version", "title", "culprit", "level", "status",
		"resolved_in_release", "count", "user_count", "first_seen", "last_seen", "first_release", "last_release", "latest_event_id",
		"assigned_user_id", "resolved_after_release"}
	return t + "." + strings.Join(cols, ", "+t+".") + ", (SELECT u.email FROM users u WHERE u.id = " + t + ".assigned_user_id)"
}

// scopedIssueCols are issueCols("i") with an issue's figures in an
// environment, those of issue_environments aliased ie, in place of its
// own.
func scopedIssueCols() string {
	return strings.NewReplacer("i.count", "ie.count", "i.user_count", "ie.user_count",
		"i.first_seen", "ie.first_seen", "i.last_seen", "ie.last_seen").Replace(issueCols("i"))
}

type scanner interface{ Scan(dest ...any) error }

// scanIssue reads issueCols, and into extra the columns selected after
// them.
func scanIssue(row scanner, extra ...any) (Issue, error) {
	var (
		i                   Issue
		firstSeen, lastSeen int64
		assignee            sql.NullInt64
		assigneeEmail       sql.NullString
	)
	err := row.Scan(append([]any{&i.ID, &i.ProjectID, &i.Fingerprint, &i.GroupingVersion, &i.Title, &i.Culprit, &i.Level, &i.Status,
		&i.ResolvedInRelease, &i.Count, &i.UserCount, &firstSeen, &lastSeen, &i.FirstRelease, &i.LastRelease, &i.LatestEventID,
		&assignee, &i.ResolvedAfterRelease, &assigneeEmail}, extra...)...)
	if err != nil {
		return Issue{}, err
	}
	i.FirstSeen, i.LastSeen = fromMillis(firstSeen), fromMillis(lastSeen)
	if assignee.Valid {
		i.AssignedTo = &Assignee{ID: assignee.Int64, Email: assigneeEmail.String}
	}
	return i, nil
}

// sortColumns maps IssueFilter.Sort to the column issues are ordered by:
// each is the second column of an index of issues, and the fourth of one
// of issue_environments, so that a page is read in order.
var sortColumns = map[string]string{
	"":            "last_seen",
	SortLastSeen:  "last_seen",
	SortFirstSeen: "first_seen",
	SortCount:     "count",
	SortUserCount: "user_count",
}

func validStatus(s string) bool {
	return s == StatusUnresolved || s == StatusResolved || s == StatusIgnored
}

// likeEscaper takes LIKE's wildcards and its escape character literally
// (the statement says ESCAPE '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// globEscaper takes SQLite GLOB's wildcards literally: GLOB has no escape
// character, but a bracket holding one character matches that character.
var globEscaper = strings.NewReplacer(`*`, `[*]`, `?`, `[?]`, `[`, `[[]`)

// likePattern matches s, a title or message term, anywhere, with LIKE's
// wildcards in s taken literally; a pattern (with Wildcard) matches whole.
func likePattern(s string) string {
	s = capPattern(s, MaxTitleLength)
	if isPattern(s) {
		return wildcardPattern(s, likeEscaper, "%")
	}
	return "%" + likeEscaper.Replace(s) + "%"
}

// textPattern matches s, the free text of a search, anywhere, its
// Wildcards standing for any text within it: as in Sentry, Type*Error
// finds "TypeError" and "Type mismatch Error" wherever they are.
func textPattern(s string) string {
	return "%" + wildcardPattern(capPattern(s, MaxTitleLength), likeEscaper, "%") + "%"
}

// capPattern cuts pattern v to its first n literal runes, as truncate
// cuts an exact value to what the store keeps, so that a search's terms
// cannot make LIKE and GLOB patterns of any size. Nothing longer than n is
// stored for it to match whole anyway; a cut pattern ends in a Wildcard,
// to stand for whatever was cut off, as a value cut to n runes stands for
// its whole. Runs of Wildcards are one first (each would be another loop
// in the database's matcher, and ** means no more than *), and Wildcards
// do not count: `a***…***zzz` keeps its zzz.
func capPattern(v string, n int) string {
	for strings.Contains(v, Wildcard+Wildcard) {
		v = strings.ReplaceAll(v, Wildcard+Wildcard, Wildcard)
	}
	if utf8.RuneCountInString(v)-strings.Count(v, Wildcard) <= n {
		return v
	}
	kept := 0
	for pos, r := range v {
		if string(r) == Wildcard {
			continue
		}
		if kept == n-1 {
			v = v[:pos]
			break
		}
		kept++
	}
	if strings.HasSuffix(v, Wildcard) {
		return v
	}
	return v + Wildcard
}

// isPattern reports whether a value of an IssueFilter holds a Wildcard.
func isPattern(v string) bool { return strings.Contains(v, Wildcard) }

// wildcardPattern is pattern v, as capPattern returns it (its runs of
// Wildcards one), in the syntax of LIKE (escaped by likeEscaper, any is %)
// or GLOB (globEscaper, *): its literal parts escaped, each Wildcard any
// text, matching a value whole.
func wildcardPattern(v string, escaper *strings.Replacer, any string) string {
	parts := strings.Split(strings.ToValidUTF8(v, "\uFFFD"), Wildcard)
	for i, p := range parts {
		parts[i] = escaper.Replace(p)
	}
	return strings.Join(parts, any)
}

// valueMatch is the condition that col, a tag value or release, is v:
// equal to it, or matching it when it is a pattern. Both compare case as
// equality does: PostgreSQL's LIKE does, SQLite's folds ASCII letters, so
// there a pattern is a GLOB. Neither wraps col in a function: on SQLite a
// pattern with a literal start is a range of an index on col (GLOB on a
// BINARY column); PostgreSQL ranges LIKE only in a C-collated index, so
// there the index narrows by the columns before col (the tag's key).
// A pattern is cut to MaxTagLength runes (capPattern), as a value is.
func (d *DB) valueMatch(q *query, col, v string) string {
	if isPattern(v) {
		v = capPattern(v, MaxTagLength)
	}
	switch {
	case !isPattern(v):
		return col + ` = ` + q.arg(truncate(v, MaxTagLength))
	case d.dialect == DialectPostgres:
		return col + ` LIKE ` + q.arg(wildcardPattern(v, likeEscaper, "%")) + ` ESCAPE '\'`
	default:
		return col + ` GLOB ` + q.arg(wildcardPattern(v, globEscaper, "*"))
	}
}

// latestReleasesQuery selects the releases of each project that were
// first seen last: of f's project, or of each project v may see when f
// names none. Each project's newest first_seen is one read of the index
// on (project_id, first_seen), and its releases of that time the next.
func latestReleasesQuery(v Viewer, f IssueFilter) *query {
	q := &query{}
	q.add(`SELECT r.project_id, r.version FROM projects p JOIN releases r ON r.project_id = p.id
		AND r.first_seen = (SELECT MAX(l.first_seen) FROM releases l WHERE l.project_id = p.id) WHERE `)
	if f.ProjectID != 0 {
		q.add(`p.id = `, q.arg(f.ProjectID))
	} else {
		q.add(q.visible(v, "p.id"))
	}
	return q
}

// latestReleases returns the latest release of each project f's issues
// may be in (see latestReleasesQuery), by project; nil when f does not
// search for LatestRelease. Of releases first seen at the same time, the
// latest is the one newestFirst puts first: the highest version, done in
// Go since neither dialect orders versions.
func (d *DB) latestReleases(ctx context.Context, v Viewer, f IssueFilter) (map[int64]string, error) {
	if !searchesLatest(f) {
		return nil, nil
	}
	return latestByProject(ctx, d.db, latestReleasesQuery(v, f))
}

// latestByProject runs q, a latestReleasesQuery, on db and picks each
// project's latest of the releases first seen last.
func latestByProject(ctx context.Context, db querier, q *query) (map[int64]string, error) {
	rows, err := db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tied := map[int64][]string{}
	for rows.Next() {
		var (
			project int64
			version string
		)
		if err := rows.Scan(&project, &version); err != nil {
			return nil, err
		}
		tied[project] = append(tied[project], version)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	latest := make(map[int64]string, len(tied))
	for project, versions := range tied {
		latest[project] = newestFirst(versions)[0]
	}
	return latest, nil
}

// LatestRelease returns the latest release of a project v may see, by the
// rule release:latest searches by (latestReleases), "" when it has none.
func (d *DB) LatestRelease(ctx context.Context, v Viewer, projectID int64) (string, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return "", fmt.Errorf("store: latest release: project %d: %w", projectID, err)
	}
	latest, err := latestRelease(ctx, d.db, projectID)
	if err != nil {
		return "", fmt.Errorf("store: latest release: %w", err)
	}
	return latest, nil
}

// querier is a *sql.DB or a *sql.Tx, for reads done in a transaction or
// outside one.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// latestRelease is the latest release of the project, as latestReleases
// finds it, "" when it has none.
func latestRelease(ctx context.Context, db querier, projectID int64) (string, error) {
	latest, err := latestByProject(ctx, db, latestReleasesQuery(System, IssueFilter{ProjectID: projectID}))
	return latest[projectID], err
}

// searchesLatest reports whether f names LatestRelease anywhere it stands
// for the latest release.
func searchesLatest(f IssueFilter) bool {
	latestTag := func(t event.Tag) bool { return t.Key == "release" && t.Value == LatestRelease }
	if f.Release == LatestRelease || slices.ContainsFunc(f.Tags, latestTag) || slices.ContainsFunc(f.NotTags, latestTag) {
		return true
	}
	for _, set := range f.AnyTags {
		if slices.ContainsFunc(set, latestTag) {
			return true
		}
	}
	for _, set := range f.FirstReleases {
		if slices.Contains(set, LatestRelease) {
			return true
		}
	}
	return false
}

// isLatest is the condition that col holds the latest release of the
// issue's project, latest as latestReleases found them; none holds it
// when no project has a release.
func isLatest(q *query, latest map[int64]string, col string) string {
	if len(latest) == 0 {
		return `1 = 0`
	}
	projects := slices.Sorted(maps.Keys(latest))
	conds := make([]string, len(projects))
	for i, p := range projects {
		conds[i] = `i.project_id = ` + q.arg(p) + ` AND ` + col + ` = ` + q.arg(latest[p])
	}
	return `(` + strings.Join(conds, ` OR `) + `)`
}

// byteOrder is text column col to be sorted by its bytes, as SQLite's
// BINARY collation does, rather than by PostgreSQL's database collation
// (en_US.UTF-8 ignores punctuation and case at first), so that both
// dialects pick the same row of a tie.
func (d *DB) byteOrder(col string) string {
	if d.dialect == DialectPostgres {
		return col + ` COLLATE "C"`
	}
	return col
}

// tagValue is the condition that the issue_tags row t has tag's value:
// the value, a pattern, or for the release LatestRelease, the latest
// release of the issue's project (latest, from latestReleases).
func (d *DB) tagValue(q *query, latest map[int64]string, tag event.Tag) string {
	if tag.Key == "release" && tag.Value == LatestRelease {
		return isLatest(q, latest, "t.value")
	}
	return d.valueMatch(q, "t.value", tag.Value)
}

// issuesQuery builds ListIssuesPage's statement, with latest the latest
// releases latestReleases found. It asks for one row more
// than the page to learn whether another page follows. A cursor of the
// page before its position (before) reads upwards, in the opposite order:
// the rows come nearest first and are reversed into the list's order.
func (d *DB) issuesQuery(v Viewer, f IssueFilter, latest map[int64]string, rare int) (q *query, col string, limit int, before bool, err error) {
	col, ok := sortColumns[f.Sort]
	if !ok {
		return nil, "", 0, false, fmt.Errorf("store: list issues: %w: sort %q", ErrInvalid, f.Sort)
	}
	q = &query{}
	from, id, err := d.issuesWhere(q, v, f, false, latest, rare)
	if err != nil {
		return nil, "", 0, false, err
	}
	op, dir := "<", "DESC"
	if f.Cursor != "" {
		value, at, back, err := decodePageCursor(f.Cursor, col)
		if err != nil {
			return nil, "", 0, false, err
		}
		if back {
			op, dir, before = ">", "ASC", true
		}
		q.add(` AND (`, from, `.`, col, `, `, id, `) `, op, ` (`, q.arg(value), `, `, q.arg(at), `)`)
	}
	limit = pageSize(f.Limit)
	q.add(` ORDER BY `, from, `.`, col, ` `, dir, `, `, id, ` `, dir, ` LIMIT `, q.arg(limit+1))
	return q, col, limit, before, nil
}

// countQuery builds CountIssues' statement: the issues of f, whatever its
// cursor and page size, counted up to upTo.
func (d *DB) countQuery(v Viewer, f IssueFilter, upTo int, latest map[int64]string, rare int) (*query, error) {
	q := &query{}
	q.add(`SELECT COUNT(*) FROM (`)
	if _, _, err := d.issuesWhere(q, v, f, true, latest, rare); err != nil {
		return nil, err
	}
	q.add(` LIMIT `, q.arg(upTo), `) counted`)
	return q, nil
}

// issuesWhere adds to q the SELECT of the issues f matches, every
// condition but the cursor's, and returns the alias of the row whose
// figures the list sorts by (the issue's, or its environment's) and the
// column of the issue's ID in it. ids selects only a constant, for
// counting, instead of the issue's columns. rare is the index in
// searchedTags(f) of the tag term to read the issues from (see rareTag),
// -1 to read them from the sort's index.
func (d *DB) issuesWhere(q *query, v Viewer, f IssueFilter, ids bool, latest map[int64]string, rare int) (from, id string, err error) {
	if f.Status != "" && !validStatus(f.Status) {
		return "", "", fmt.Errorf("store: list issues: %w: status %q", ErrInvalid, f.Status)
	}
	// With an environment, an issue's figures are its figures there
	// (issue_environments), and sorting, the since filter and the cursor
	// go by them: "production" must not list an issue first for its
	// 10,000 staging events, nor as seen a minute ago when production
	// last saw it last week. The project's rows of the environment are
	// read in the order of the sort, as the issues' own indexes are read
	// unfiltered; a count's, in issue order (countOrder).
	from, id = "i", "i.id"
	cols, scoped := issueCols("i"), scopedIssueCols()
	if ids {
		cols, scoped = "1", "1"
	}
	tags := searchedTags(f)
	// A rare tag's rows come first (CROSS JOIN keeps SQLite's join in
	// the order written), each issue then found by its key.
	driver := ""
	if rare >= 0 {
		driver = `issue_tags rt CROSS JOIN `
	}
	if f.Environment != "" {
		from, id = "ie", "ie.issue_id"
		q.add(`SELECT `, scoped, ` FROM `, driver, `issue_environments ie`, d.countOrder(f, ids, rare), ` JOIN issues i ON i.id = ie.issue_id WHERE ie.environment = `,
			q.arg(truncate(f.Environment, MaxTagLength)), ` AND `)
	} else {
		q.add(`SELECT `, cols, ` FROM `, driver, `issues i`, d.countOrder(f, ids, rare), ` WHERE `)
	}
	if rare >= 0 {
		q.add(`rt.key = `, q.arg(truncate(tags[rare].Key, MaxTagLength)), ` AND rt.value = `, q.arg(truncate(tags[rare].Value, MaxTagLength)),
			` AND `, id, ` = rt.issue_id AND `)
	}
	if f.ProjectID != 0 {
		q.add(from, `.project_id = `, q.arg(f.ProjectID), ` AND `, q.visibleProject(v, f.ProjectID))
	} else {
		q.add(q.visible(v, "i.project_id"))
	}
	if f.Status != "" {
		q.add(` AND i.status = `, q.arg(f.Status))
	}
	if f.Level != "" {
		q.add(` AND i.level = `, q.arg(f.Level))
	}
	if !f.Since.IsZero() {
		q.add(` AND `, from, `.last_seen >= `, q.arg(millis(f.Since)))
	}
	tagged := func(not string, t event.Tag, byValue bool) {
		q.add(` AND `, not, `EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id AND t.key = `, q.arg(truncate(t.Key, MaxTagLength)))
		if byValue {
			q.add(` AND `, d.tagValue(q, latest, t))
		}
		q.add(`)`)
	}
	for i, t := range tags {
		if i != rare {
			tagged("", t, true)
		}
	}
	for _, t := range f.NotTags {
		tagged("NOT ", t, true)
	}
	for _, k := range f.Has {
		tagged("", event.Tag{Key: k}, false)
	}
	for _, k := range f.Missing {
		tagged("NOT ", event.Tag{Key: k}, false)
	}
	if f.Query != "" {
		conds := d.foldedLike(q, f.Query, textPattern, "i.title", "i.culprit")
		q.add(` AND (`, conds[0], ` OR `, conds[1], `)`)
	}
	if err := d.searchConditions(q, f, from, latest); err != nil {
		return "", "", err
	}
	assignedConditions(q, v, f)
	return from, id, nil
}

// countOrder is how a count reads a project's issues on SQLite: in table
// order, through issues_project, rather than through the index of the sort
// or of the status the planner would pick, which yields them in the order
// of a figure, each a page of the table apart. Without statistics SQLite
// cannot weigh the two; read in table order, counting a text search's
// 20,000 issues took a fifth of the time (docs/benchmarks.md), and a
// status that few issues have is counted only when it fills more than a
// page. In an environment, the project's rows of it are read in issue
// order (issue_environments_issue), each issue then a lookup in table
// order, where any of the sorts' indexes the planner picked read them in
// the order of a figure: a text search's 18,422 issues of one environment
// were counted in half the time. A bound on the environment's figures
// (since, times seen, first or last seen) is a range of that figure's
// index instead, fewer rows for a recent since, and is left to the
// planner. PostgreSQL's bitmap scans already read a table in its order,
// its planner, with statistics, joins an environment's rows to the issues
// by a hash, and the issues reached from a rare tag's rows are looked up
// by ID.
func (d *DB) countOrder(f IssueFilter, ids bool, rare int) string {
	switch {
	case !ids || d.dialect != DialectSQLite || f.ProjectID == 0 || rare >= 0:
		return ""
	case f.Environment != "" && (!f.Since.IsZero() || len(f.TimesSeen) > 0 || len(f.FirstSeen) > 0 || len(f.LastSeen) > 0):
		return ""
	case f.Environment != "":
		return ` INDEXED BY issue_environments_issue`
	default:
		return ` INDEXED BY issues_project`
	}
}

// searchedTags are the tag values every issue f matches must have had:
// its Tags, and its Release.
func searchedTags(f IssueFilter) []event.Tag {
	tags := f.Tags
	if f.Release != "" {
		tags = append(tags[:len(tags):len(tags)], event.Tag{Key: "release", Value: f.Release})
	}
	return tags
}

// rareTagIssues is the most issues, of all projects, a searched tag value
// may be on for SQLite to read a page of the search's issues from that
// value's rows and sort them (a value no issue has costs nothing), rather
// than read the sort's index and check each issue's tags until a page is
// full. SQLite keeps no statistics to tell a rare value from a common one;
// PostgreSQL does, and its planner chooses.
const rareTagIssues = 1000

// rareTag returns the index in searchedTags(f) of the exact tag value
// fewest issues have, if at most most have it, else -1; always -1 on
// PostgreSQL. Each value is counted in issue_tags' index on (key, value),
// up to the fewest found so far.
func (d *DB) rareTag(ctx context.Context, f IssueFilter, most int) (int, error) {
	if d.dialect != DialectSQLite {
		return -1, nil
	}
	rare, fewest := -1, most+1
	for i, t := range searchedTags(f) {
		if isPattern(t.Value) || (t.Key == "release" && t.Value == LatestRelease) {
			continue
		}
		var n int
		if err := d.db.QueryRowContext(ctx, rareTagSQL, truncate(t.Key, MaxTagLength), truncate(t.Value, MaxTagLength), fewest).Scan(&n); err != nil {
			return -1, err
		}
		if n < fewest {
			rare, fewest = i, n
		}
	}
	return rare, nil
}

// countRare is rareTag for CountIssues, which reads every issue the
// search may match, not a page: any value on fewer issues than it counts
// up to is fewer rows to read than the project's issues, and no more than
// upTo. So, on SQLite, is a value on no more issues (of all projects) than
// the project has: its rows are next to each other in their index and in
// issue order, each issue then a lookup in table order, where reading the
// project's issues looks up each one's tags (a common browser of 20,000
// issues: a fifth of the time, docs/benchmarks.md).
func (d *DB) countRare(ctx context.Context, f IssueFilter, upTo int) (int, error) {
	most := max(rareTagIssues, upTo)
	if d.dialect == DialectSQLite && f.ProjectID != 0 && len(searchedTags(f)) > 0 {
		var n int
		if err := d.db.QueryRowContext(ctx, projectIssuesSQL, f.ProjectID, maxTagDriver).Scan(&n); err != nil {
			return -1, err
		}
		most = max(most, n)
	}
	return d.rareTag(ctx, f, most)
}

// maxTagDriver bounds the rows of a tag value a count reads instead of
// the project's issues (CountIssues), and so what counting the project's
// issues and the value's rows to choose between them may read.
const maxTagDriver = 100000

// projectIssuesSQL counts a project's issues, up to $2, in issues_project.
const projectIssuesSQL = `SELECT COUNT(*) FROM (SELECT 1 FROM issues WHERE project_id = $1 LIMIT $2) n`

// rareTagSQL counts the issues that have a tag value, up to $3.
const rareTagSQL = `SELECT COUNT(*) FROM (SELECT 1 FROM issue_tags WHERE key = $1 AND value = $2 LIMIT $3) n`

// comparisons are the operators CountBound and TimeBound may hold.
var comparisons = []string{"<", "<=", ">", ">=", "=", "!="}

// searchConditions adds the conditions of the search's sets, bounds and
// text terms to q. figures is the alias of the row whose count and first
// and last seen the list shows: the issue's, or its environment's; latest
// are the latest releases latestReleases found.
func (d *DB) searchConditions(q *query, f IssueFilter, figures string, latest map[int64]string) error {
	in := func(col string, vals []string) {
		q.add(col, ` IN (`)
		for j, v := range vals {
			if j > 0 {
				q.add(`, `)
			}
			q.add(q.arg(v))
		}
		q.add(`)`)
	}
	for _, set := range f.Levels {
		q.add(` AND `)
		in("i.level", set)
	}
	for _, set := range f.AnyTags {
		q.add(` AND EXISTS (SELECT 1 FROM issue_tags t WHERE t.issue_id = i.id AND (`)
		for j, t := range set {
			if j > 0 {
				q.add(` OR `)
			}
			q.add(`(t.key = `, q.arg(truncate(t.Key, MaxTagLength)), ` AND `, d.tagValue(q, latest, t), `)`)
		}
		q.add(`))`)
	}
	// The releases pages' index on first_release must not drive the list:
	// SQLite, which keeps no statistics, would take a release pattern such
	// as web@* for a narrow range and sort every issue it matches (often
	// all of them) instead of reading the sort's index until a page is full.
	firstRelease := "i.first_release"
	if d.dialect == DialectSQLite {
		firstRelease = "+i.first_release"
	}
	for _, set := range f.FirstReleases {
		versions := slices.DeleteFunc(slices.Clone(set), func(v string) bool { return v == LatestRelease || isPattern(v) })
		q.add(` AND (`)
		or := ``
		if len(versions) > 0 {
			in(firstRelease, versions)
			or = ` OR `
		}
		for _, v := range set {
			switch {
			case v == LatestRelease:
				q.add(or, isLatest(q, latest, firstRelease))
			case isPattern(v):
				q.add(or, d.valueMatch(q, firstRelease, v))
			default:
				continue
			}
			or = ` OR `
		}
		q.add(`)`)
	}
	for _, b := range f.TimesSeen {
		if !slices.Contains(comparisons, b.Op) {
			return fmt.Errorf("store: list issues: %w: times seen %q", ErrInvalid, b.Op)
		}
		q.add(` AND `, figures, `.count `, b.Op, ` `, q.arg(b.N))
	}
	for _, c := range []struct {
		col    string
		bounds []TimeBound
	}{{figures + ".first_seen", f.FirstSeen}, {figures + ".last_seen", f.LastSeen}} {
		for _, b := range c.bounds {
			if !slices.Contains(comparisons, b.Op) {
				return fmt.Errorf("store: list issues: %w: time %q", ErrInvalid, b.Op)
			}
			q.add(` AND `, c.col, ` `, b.Op, ` `, q.arg(millis(b.T)))
		}
	}
	for _, c := range []struct {
		not   string
		terms []string
		cols  []string
	}{
		{"", f.Titles, []string{"i.title"}},
		{"NOT ", f.NotTitles, []string{"i.title"}},
		{"", f.Messages, []string{"i.title", "i.culprit"}},
		{"NOT ", f.NotMessages, []string{"i.title", "i.culprit"}},
	} {
		for _, t := range c.terms {
			q.add(` AND `, c.not, `(`, strings.Join(d.foldedLike(q, t, likePattern, c.cols...), ` OR `), `)`)
		}
	}
	return nil
}

// IssuePage is a page of ListIssuesPage: the issues, and the cursors of
// the pages after and before it ("" when there is none).
type IssuePage struct {
	Issues     []Issue
	Next, Prev string
}

// ListIssues is ListIssuesPage's issues and next cursor.
func (d *DB) ListIssues(ctx context.Context, v Viewer, f IssueFilter) ([]Issue, string, error) {
	p, err := d.ListIssuesPage(ctx, v, f)
	return p.Issues, p.Next, err
}

// ListIssuesPage returns a page of the issues v may see that match f, and
// the cursors of the pages after and before it. Issues are ordered by the
// sort column, newest or largest first, then by ID, so pages neither
// repeat nor skip issues that share a sort value; a page's cursors are
// the positions of its last and first issues, and Prev reads the keyset
// upwards from the first, as cheaply as Next reads on. Environment and
// Release match the values the issue's events carried; every Tag must
// match. Query is case-insensitive for all letters on PostgreSQL, for
// ASCII on SQLite. With Environment, each issue's Count, UserCount,
// FirstSeen and LastSeen are of its events in that environment, and Since
// and the sort go by them.
func (d *DB) ListIssuesPage(ctx context.Context, v Viewer, f IssueFilter) (IssuePage, error) {
	latest, err := d.latestReleases(ctx, v, f)
	if err != nil {
		return IssuePage{}, fmt.Errorf("store: list issues: latest release: %w", err)
	}
	rare, err := d.rareTag(ctx, f, rareTagIssues)
	if err != nil {
		return IssuePage{}, fmt.Errorf("store: list issues: %w", err)
	}
	q, col, limit, before, err := d.issuesQuery(v, f, latest, rare)
	if err != nil {
		return IssuePage{}, err
	}
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return IssuePage{}, fmt.Errorf("store: list issues: %w", err)
	}
	defer rows.Close()
	issues := []Issue{}
	for rows.Next() {
		i, err := scanIssue(rows)
		if err != nil {
			return IssuePage{}, fmt.Errorf("store: list issues: %w", err)
		}
		issues = append(issues, i)
	}
	if err := rows.Err(); err != nil {
		return IssuePage{}, fmt.Errorf("store: list issues: %w", err)
	}
	if before && len(issues) == 0 {
		// Nothing precedes the cursor any more: the issues that did were
		// resolved or deleted since it was made. The list's start is
		// what precedes it now.
		f.Cursor = ""
		return d.ListIssuesPage(ctx, v, f)
	}
	more := len(issues) > limit
	if more {
		issues = issues[:limit]
	}
	if before {
		slices.Reverse(issues)
	}
	value := func(i Issue) int64 {
		switch col {
		case "last_seen":
			return millis(i.LastSeen)
		case "first_seen":
			return millis(i.FirstSeen)
		case "user_count":
			return i.UserCount
		}
		return i.Count
	}
	first, last := func() string {
		return encodeBeforeCursor(col, value(issues[0]), issues[0].ID)
	}, func() string {
		l := issues[len(issues)-1]
		return encodeCursor(col, value(l), l.ID)
	}
	p := IssuePage{Issues: issues}
	// Read downwards, a further page follows when the query found one
	// more row, and one precedes whenever the page was reached by a
	// cursor; read upwards, the other way round.
	switch {
	case len(issues) == 0:
	case before:
		p.Next = last()
		if more {
			p.Prev = first()
		}
	default:
		if more {
			p.Next = last()
		}
		if f.Cursor != "" {
			p.Prev = first()
		}
	}
	return p, nil
}

// CountIssues counts the issues v may see that match f, whatever its
// cursor and page size, up to upTo: it stops there, so that the total of a
// project's millions of issues costs no more than upTo rows read.
func (d *DB) CountIssues(ctx context.Context, v Viewer, f IssueFilter, upTo int) (int, error) {
	latest, err := d.latestReleases(ctx, v, f)
	if err != nil {
		return 0, fmt.Errorf("store: count issues: latest release: %w", err)
	}
	rare, err := d.countRare(ctx, f, upTo)
	if err != nil {
		return 0, fmt.Errorf("store: count issues: %w", err)
	}
	q, err := d.countQuery(v, f, upTo, latest, rare)
	if err != nil {
		return 0, err
	}
	var n int
	if err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count issues: %w", err)
	}
	return n, nil
}

// GetIssue returns an issue v may see.
func (d *DB) GetIssue(ctx context.Context, v Viewer, id int64) (Issue, error) {
	var q query
	q.add(`SELECT `, issueCols("i"), ` FROM issues i WHERE i.id = `, q.arg(id), ` AND `, q.visible(v, "i.project_id"))
	i, err := scanIssue(d.db.QueryRowContext(ctx, q.sql(), q.args...))
	if err != nil {
		return Issue{}, fmt.Errorf("store: issue %d: %w", id, notFound(err))
	}
	return i, nil
}

// GetIssueIn returns an issue v may see with its figures in environment,
// as ListIssues filtered by it has them: Count, UserCount, FirstSeen and
// LastSeen are of its events there, zero when it has none there. An empty
// environment is GetIssue.
func (d *DB) GetIssueIn(ctx context.Context, v Viewer, id int64, environment string) (Issue, error) {
	if environment == "" {
		return d.GetIssue(ctx, v, id)
	}
	var (
		q                         query
		count, users, first, last sql.NullInt64
	)
	q.add(`SELECT `, issueCols("i"), `, ie.count, ie.user_count, ie.first_seen, ie.last_seen
		FROM issues i LEFT JOIN issue_environments ie ON ie.issue_id = i.id AND ie.environment = `,
		q.arg(truncate(environment, MaxTagLength)), ` WHERE i.id = `, q.arg(id), ` AND `, q.visible(v, "i.project_id"))
	i, err := scanIssue(d.db.QueryRowContext(ctx, q.sql(), q.args...), &count, &users, &first, &last)
	if err != nil {
		return Issue{}, fmt.Errorf("store: issue %d: %w", id, notFound(err))
	}
	i.Count, i.UserCount, i.FirstSeen, i.LastSeen = count.Int64, users.Int64, time.Time{}, time.Time{}
	if first.Valid {
		i.FirstSeen, i.LastSeen = fromMillis(first.Int64), fromMillis(last.Int64)
	}
	return i, nil
}

// checkIssue returns ErrNotFound unless v may see the issue.
func (d *DB) checkIssue(ctx context.Context, v Viewer, id int64) error {
	var (
		q   query
		one int
	)
	q.add(`SELECT 1 FROM issues i WHERE i.id = `, q.arg(id), ` AND `, q.visible(v, "i.project_id"))
	return notFound(d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&one))
}

// UpdateIssueStatus sets an issue's status. resolvedInRelease may only come
// with StatusResolved: the issue then stays resolved for events of releases
// older than that one, and an event of it or a newer one reopens it
// (ordered as versions when both parse as one, else by first seen; see
// compareReleases). The release must be one of the project's (else an
// *UnknownReleaseError), so that a typo does not become its newest
// release; resolving in it marks it seen now. LatestRelease is the
// project's latest release, and ErrInvalid when it has none. Any other
// status clears it.
func (d *DB) UpdateIssueStatus(ctx context.Context, v Viewer, id int64, status, resolvedInRelease string) (Issue, error) {
	if status == "" {
		return Issue{}, fmt.Errorf("store: update issue: %w: status %q", ErrInvalid, status)
	}
	i, _, err := d.UpdateIssue(ctx, v, id, IssueChange{Status: status, ResolvedInRelease: resolvedInRelease})
	return i, err
}

// IssueChange is a change of an issue's status, its assignee or both.
type IssueChange struct {
	// Status is the new status, "" to keep it; ResolvedInRelease is as
	// UpdateIssueStatus's, LatestRelease naming the project's latest
	// release (see LatestRelease).
	Status, ResolvedInRelease string
	// InNextRelease resolves the issue in the release after the project's
	// latest, as Sentry's "the next release": an event of a release first
	// seen after the latest reopens it, other events do not. It needs
	// StatusResolved and no ResolvedInRelease.
	InNextRelease bool
	// Assign says to assign the issue to user AssigneeID, or to nobody
	// when that is 0.
	Assign     bool
	AssigneeID int64
}

// UpdateIssue makes change c to an issue v may see, all of it or, on an
// error, none of it: a refused assignee or release leaves the status and
// the assignee as they were. Whoever may change the issue's status may
// assign it; the assignee must be a member of the issue's project, or an
// admin user when v is an admin (else ErrNotAssignable). It returns the issue as it is now
// and the ID of the user it was assigned to before, 0 for nobody, so
// that the caller can tell whether the assignee changed. The issue's
// activity records each change, by v, in the same transaction.
func (d *DB) UpdateIssue(ctx context.Context, v Viewer, id int64, c IssueChange) (Issue, int64, error) {
	if err := checkChange(c.Status, c.ResolvedInRelease, c.InNextRelease, c.Assign); err != nil {
		return Issue{}, 0, fmt.Errorf("store: update issue: %w", err)
	}
	var (
		i      Issue
		before sql.NullInt64
	)
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var (
			q                  query
			project            int64
			status, resolvedIn string
			resolvedAfter      string
		)
		q.add(`SELECT i.project_id, i.assigned_user_id, i.status, i.resolved_in_release, i.resolved_after_release FROM issues i WHERE i.id = `, q.arg(id), ` AND `,
			q.visible(v, "i.project_id"), d.forUpdate())
		if err := tx.QueryRowContext(ctx, q.sql(), q.args...).Scan(&project, &before, &status, &resolvedIn, &resolvedAfter); err != nil {
			return notFound(err)
		}
		if c.Assign && c.AssigneeID != 0 {
			if err := d.assignable(ctx, tx, v, project, c.AssigneeID); err != nil {
				return err
			}
		}
		in, after, err := resolveRelease(ctx, tx, project, c.ResolvedInRelease, c.InNextRelease)
		if err != nil {
			return err
		}
		var u query
		sep := `UPDATE issues SET `
		if c.Assign {
			u.add(sep, `assigned_user_id = `, u.arg(assigneeArg(c.AssigneeID)))
			sep = `, `
		}
		if c.Status != "" {
			u.add(sep, `status = `, u.arg(c.Status), `, resolved_in_release = `, u.arg(in), `, resolved_after_release = `, u.arg(after))
		}
		u.add(` WHERE id = `, u.arg(id), ` RETURNING `, issueCols("issues"))
		if i, err = scanIssue(tx.QueryRowContext(ctx, u.sql(), u.args...)); err != nil {
			return err
		}
		// The activity records what changed; the same status or
		// assignee again is no news.
		if c.Status != "" && (c.Status != status || in != resolvedIn || after != resolvedAfter) {
			if _, err := addActivity(ctx, tx, id, statusActivity(c.Status), v.UserID,
				activityData{Release: in, AfterRelease: after}); err != nil {
				return err
			}
		}
		if c.Assign && c.AssigneeID != before.Int64 {
			kind, data := assignActivity(c.AssigneeID)
			if _, err := addActivity(ctx, tx, id, kind, v.UserID, data); err != nil {
				return err
			}
		}
		return recordRelease(ctx, tx, i.ProjectID, in)
	})
	if err != nil {
		return Issue{}, 0, fmt.Errorf("store: update issue %d: %w", id, err)
	}
	return i, before.Int64, nil
}

// checkChange checks the status, release and assignment of a change of
// one issue or of many alike (see IssueChange), so that PATCH of an issue
// and the bulk change refuse the same requests with the same reasons.
func checkChange(status, release string, next, assign bool) error {
	switch {
	case status == "" && !assign:
		return fmt.Errorf("%w: nothing to change", ErrInvalid)
	case status != "" && !validStatus(status):
		return fmt.Errorf("%w: status %q", ErrInvalid, status)
	case release != "" && status != StatusResolved:
		return fmt.Errorf("%w: resolved_in_release needs status %q", ErrInvalid, StatusResolved)
	case Clean(release) != release || utf8.RuneCountInString(release) > MaxTagLength:
		return fmt.Errorf("%w: release must be valid text of at most %d characters", ErrInvalid, MaxTagLength)
	case next && (status != StatusResolved || release != ""):
		return fmt.Errorf("%w: the next release needs status %q and no other release", ErrInvalid, StatusResolved)
	case release != "" && release != LatestRelease && releaseRefusal("release", release) != "":
		return fmt.Errorf("%w: %s", ErrInvalid, releaseRefusal("release", release))
	}
	return nil
}

// resolveRelease returns the resolved_in_release and
// resolved_after_release a change resolving in release (LatestRelease
// naming the project's latest) or, with next, in the next release sets
// on the project's issues: the project's latest release becomes the
// release or the one resolved after. A project without a release has no
// latest, which is ErrInvalid with why, and a release the project does
// not have is an *UnknownReleaseError.
func resolveRelease(ctx context.Context, tx *sql.Tx, project int64, release string, next bool) (in, after string, err error) {
	if release == "" && !next {
		return "", "", nil
	}
	if release != LatestRelease && !next {
		return release, "", knownRelease(ctx, tx, project, release)
	}
	latest, err := latestRelease(ctx, tx, project)
	if err != nil {
		return "", "", err
	}
	if latest == "" {
		what := fmt.Sprintf("%q names the project's latest release", release)
		if next {
			what = "the next release is the one after the project's latest"
		}
		return "", "", fmt.Errorf("%w: %s, and the project has no release yet: give the version of the release that fixes it, e.g. shop@1.2.3, or resolve it without one", ErrInvalid, what)
	}
	if next {
		return "", latest, nil
	}
	return latest, "", nil
}

// UnknownReleaseError refuses to resolve issues in a release their
// project does not have: Sentry refuses it too, and recording it would
// make a typo (shop@1.3.0 for shop@1.2.3) the project's newest release,
// the one release:latest and the next release go by. It comes wrapped
// with ErrInvalid, so that Reason is its message.
type UnknownReleaseError struct {
	// ProjectID and Project are the project's ID and name; Release is the
	// release asked for.
	ProjectID        int64
	Project, Release string
}

// Error names the release and the project.
func (e *UnknownReleaseError) Error() string {
	return fmt.Sprintf("no release %q in project %s", e.Release, e.Project)
}

// knownRelease returns an *UnknownReleaseError unless release is one of
// the project's releases.
func knownRelease(ctx context.Context, tx *sql.Tx, project int64, release string) error {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT p.name FROM projects p WHERE p.id = $1
		AND NOT EXISTS (SELECT 1 FROM releases r WHERE r.project_id = p.id AND r.version = $2)`, project, release).Scan(&name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalid, &UnknownReleaseError{ProjectID: project, Project: name, Release: release})
}

// recordRelease marks release, a known one an issue was resolved in (or
// ""), seen now.
func recordRelease(ctx context.Context, tx *sql.Tx, project int64, release string) error {
	if release == "" {
		return nil
	}
	return seeRelease(ctx, tx, project, release, millis(nowUTC()))
}

// issueTables are the tables of an issue's rows, besides issues.
var issueTables = []string{"events", "issue_activity", "issue_counts", "issue_tags", "issue_tag_keys", "issue_users",
	"issue_environments", "issue_environment_users", "issue_environment_counts"}

// DeleteIssue removes an issue with its events, counts, tags, users and
// activity, and takes its hourly counts off its project's. An
// event of the same fingerprint, or of one of the issues merged into it,
// arriving later starts a new issue.
func (d *DB) DeleteIssue(ctx context.Context, v Viewer, id int64) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var (
			q       query
			project int64
		)
		q.add(`SELECT i.project_id FROM issues i WHERE i.id = `, q.arg(id), ` AND `, q.visible(v, "i.project_id"), d.forUpdate())
		if err := tx.QueryRowContext(ctx, q.sql(), q.args...).Scan(&project); err != nil {
			return notFound(err)
		}
		if err := d.subtractProjectCounts(ctx, tx, project, id); err != nil {
			return err
		}
		// The fingerprints of issues merged into it go with it too.
		for _, table := range append(issueTables, "issue_merges") {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE issue_id = $1`, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM issues WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete issue %d: %w", id, err)
	}
	return nil
}

// Statements that take an issue's hourly counts off its project's: issue,
// project.
const (
	lockProjectHoursSQL = `SELECT hour FROM project_counts WHERE project_id = $2
		AND hour IN (SELECT hour FROM issue_counts WHERE issue_id = $1) ORDER BY hour`
	subtractProjectHoursSQL = `UPDATE project_counts SET count = count - (SELECT c.count FROM issue_counts c
			WHERE c.issue_id = $1 AND c.hour = project_counts.hour)
		WHERE project_id = $2 AND hour IN (SELECT hour FROM issue_counts WHERE issue_id = $1)`
	dropProjectHoursSQL = `DELETE FROM project_counts WHERE project_id = $2 AND count <= 0
		AND hour IN (SELECT hour FROM issue_counts WHERE issue_id = $1)`
)

// subtractProjectCounts takes the hourly counts of the issue, about to be
// deleted, off its project's, so the project's charts no longer show its
// events, as they did not when they summed the issues' counts; hours left
// with none go. On PostgreSQL the hours are locked in order first, the
// order saving adds to them in, after the issue row as saving does: an
// UPDATE would lock them in the order it finds them and could deadlock
// with a batch.
func (d *DB) subtractProjectCounts(ctx context.Context, tx *sql.Tx, project, issue int64) error {
	stmts := []string{subtractProjectHoursSQL, dropProjectHoursSQL}
	if d.dialect == DialectPostgres {
		stmts = append([]string{lockProjectHoursSQL + d.forUpdate()}, stmts...)
	}
	for _, stmt := range stmts {
		if _, err := tx.ExecContext(ctx, stmt, issue, project); err != nil {
			return err
		}
	}
	return nil
}

// Hourly counts of an issue, and of an issue in an environment.
const (
	hourlyCountsSQL    = `SELECT hour, count FROM issue_counts WHERE issue_id = $1 AND hour >= $2 ORDER BY hour`
	envHourlyCountsSQL = `SELECT hour, count FROM issue_environment_counts
		WHERE issue_id = $1 AND hour >= $2 AND environment = $3 ORDER BY hour`
)

// IssueHourlyCounts returns the issue's event counts per hour from the hour
// containing since on, oldest first, of its events in environment or, when
// that is empty, of all of them. Hours without events are left out.
func (d *DB) IssueHourlyCounts(ctx context.Context, v Viewer, issueID int64, since time.Time, environment string) ([]Bucket, error) {
	if err := d.checkIssue(ctx, v, issueID); err != nil {
		return nil, err
	}
	stmt, args := hourlyCountsSQL, []any{issueID, millis(since.Truncate(time.Hour))}
	if environment != "" {
		stmt, args = envHourlyCountsSQL, append(args, truncate(environment, MaxTagLength))
	}
	rows, err := d.db.QueryContext(ctx, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("store: hourly counts: %w", err)
	}
	defer rows.Close()
	buckets := []Bucket{}
	for rows.Next() {
		var (
			b    Bucket
			hour int64
		)
		if err := rows.Scan(&hour, &b.Count); err != nil {
			return nil, fmt.Errorf("store: hourly counts: %w", err)
		}
		b.Hour = fromMillis(hour)
		buckets = append(buckets, b)
	}
	return buckets, rows.Err()
}

const issueTagsSQL = `SELECT r.key, r.value, r.count, COALESCE(k.value_count, 0) FROM (
		SELECT key, value, count, ROW_NUMBER() OVER (PARTITION BY key ORDER BY count DESC, value) AS n
		FROM issue_tags WHERE issue_id = $1
	) r LEFT JOIN issue_tag_keys k ON k.issue_id = $1 AND k.key = r.key
	WHERE r.n <= $2 ORDER BY r.key, r.count DESC, r.value`

// IssueTags returns how often each tag value was seen on the issue, by key,
// then most frequent first; at most MaxTagValues values per key. The values
// of a key that has MaxIssueTagValues are marked Capped.
func (d *DB) IssueTags(ctx context.Context, v Viewer, issueID int64) ([]TagCount, error) {
	if err := d.checkIssue(ctx, v, issueID); err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, issueTagsSQL, issueID, MaxTagValues)
	if err != nil {
		return nil, fmt.Errorf("store: issue tags: %w", err)
	}
	defer rows.Close()
	maxValues, _ := d.tagBounds()
	tags := []TagCount{}
	for rows.Next() {
		var (
			t      TagCount
			values int64
		)
		if err := rows.Scan(&t.Key, &t.Value, &t.Count, &values); err != nil {
			return nil, fmt.Errorf("store: issue tags: %w", err)
		}
		t.Capped = values >= maxValues && !unboundedTagKeys[t.Key]
		tags = append(tags, t)
	}
	return tags, rows.Err()
}

// MaxBulkIDs is the most issues one BulkUpdateStatus call takes, far below
// both dialects' limits on statement parameters.
const MaxBulkIDs = 1000

// BulkUpdateStatus sets the status of those of ids that are issues of the
// project, a project v may see (else ErrNotFound), and clears their
// resolved_in_release. IDs of other projects' issues are ignored. It
// returns how many issues changed; ones already in that state do not count.
func (d *DB) BulkUpdateStatus(ctx context.Context, v Viewer, projectID int64, ids []int64, status string) (int64, error) {
	if status == "" {
		return 0, fmt.Errorf("store: bulk update: %w: status %q", ErrInvalid, status)
	}
	n, _, err := d.BulkUpdate(ctx, v, projectID, ids, BulkChange{Status: status})
	return n, err
}

// BulkChange is a change of many issues of a project: their status, their
// assignee or both.
type BulkChange struct {
	// Status is the new status, "" to keep it; ResolvedInRelease and
	// InNextRelease are as IssueChange's, the latest release being the
	// project's.
	Status, ResolvedInRelease string
	InNextRelease             bool
	// Assign says to assign the issues to user AssigneeID, or to nobody
	// when that is 0.
	Assign     bool
	AssigneeID int64
}

// BulkUpdate makes change c to those of ids that are issues of the
// project, a project v may see (else ErrNotFound), all of it or, on an
// error, none of it; as BulkUpdateStatus and BulkAssign would one after
// the other. IDs of issues of the project that were merged into others
// are a *MergedError, and nothing changes: the caller chose those issues,
// and the ones they were merged into may need another change. A release
// to resolve in is checked and set as UpdateIssue checks and sets it, the
// same for every issue. It returns how many issues changed status (or
// release) and how many changed assignee; the activity of each records
// its change, by v.
func (d *DB) BulkUpdate(ctx context.Context, v Viewer, projectID int64, ids []int64, c BulkChange) (status, assigned int64, err error) {
	if err := checkChange(c.Status, c.ResolvedInRelease, c.InNextRelease, c.Assign); err != nil {
		return 0, 0, fmt.Errorf("store: bulk update: %w", err)
	}
	if len(ids) > MaxBulkIDs {
		return 0, 0, fmt.Errorf("store: bulk update: %w: at most %d issues at once", ErrInvalid, MaxBulkIDs)
	}
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return 0, 0, fmt.Errorf("store: bulk update: %w", err)
	}
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		if c.Assign && c.AssigneeID != 0 {
			if err := d.assignable(ctx, tx, v, projectID, c.AssigneeID); err != nil {
				return err
			}
		}
		if len(ids) == 0 {
			return nil
		}
		var lock query
		lock.add(`project_id = `, lock.arg(projectID), ` AND id IN (`, lock.list(ids), `)`)
		if err := d.lockIssueRows(ctx, tx, &lock); err != nil {
			return err
		}
		if err := refuseMerged(ctx, tx, d.query(), projectID, ids); err != nil {
			return err
		}
		// Each issue that changed records it in its activity.
		if c.Assign {
			changed, err := bulkAssign(ctx, tx, d.query(), v, projectID, ids, c.AssigneeID)
			if err != nil {
				return err
			}
			kind, data := assignActivity(c.AssigneeID)
			if err := d.addActivities(ctx, tx, changed, kind, v.UserID, data); err != nil {
				return err
			}
			assigned = int64(len(changed))
		}
		if c.Status != "" {
			in, after, err := resolveRelease(ctx, tx, projectID, c.ResolvedInRelease, c.InNextRelease)
			if err != nil {
				return err
			}
			changed, err := bulkStatus(ctx, tx, d.query(), v, projectID, ids, c.Status, in, after)
			if err != nil {
				return err
			}
			if err := d.addActivities(ctx, tx, changed, statusActivity(c.Status), v.UserID,
				activityData{Release: in, AfterRelease: after}); err != nil {
				return err
			}
			status = int64(len(changed))
			if len(changed) > 0 {
				return recordRelease(ctx, tx, projectID, in)
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: bulk update: %w", err)
	}
	return status, assigned, nil
}

// lockIssueRows locks, on PostgreSQL, the issues that where (a condition
// on the issues table, with $N placeholders) selects, in ID order: the
// order in which saving locks the issues of a batch (updateIssues). An
// UPDATE of many issues locks them in the order it finds them, so it and
// a batch could each hold an issue the other waits for: a deadlock (QA:
// 13 of 92 bulk changes). FOR NO KEY UPDATE is the lock such an UPDATE
// takes anyway, and lets saving's key-share locks be. SQLite needs none:
// its transactions run one at a time.
func (d *DB) lockIssueRows(ctx context.Context, tx *sql.Tx, where *query) error {
	if d.dialect != DialectPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `SELECT id FROM issues WHERE `+where.sql()+` ORDER BY id`+d.forNoKeyUpdate(), where.args...)
	return err
}

// bulkStatus sets the status, resolved_in_release in and
// resolved_after_release after of those of ids that are issues of the
// project, writing its statement to q, and returns the IDs of those that
// changed.
func bulkStatus(ctx context.Context, tx *sql.Tx, q query, v Viewer, projectID int64, ids []int64, status, in, after string) ([]int64, error) {
	st, rin, raf := q.arg(status), q.arg(in), q.arg(after)
	q.add(`UPDATE issues SET status = `, st, `, resolved_in_release = `, rin, `, resolved_after_release = `, raf, ` WHERE project_id = `, q.arg(projectID),
		` AND `, q.visibleProject(v, projectID), ` AND (status <> `, st, ` OR resolved_in_release <> `, rin, ` OR resolved_after_release <> `, raf, `) AND id IN (`, q.list(ids),
		`) RETURNING id`)
	return changedIDs(ctx, tx, q)
}

// changedIDs runs q, an UPDATE that returns the IDs of the rows it
// changed, and returns them in order.
func changedIDs(ctx context.Context, tx *sql.Tx, q query) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var changed []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		changed = append(changed, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(changed)
	return changed, nil
}
