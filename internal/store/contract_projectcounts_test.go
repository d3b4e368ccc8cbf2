package store

import (
	"fmt"
	"reflect"
	"slices"
	"time"
)

// issueSumSQL is what the project cards charted before project_counts:
// the sum of the project's issues' hourly counts from a first hour on.
const issueSumSQL = `SELECT c.hour, CAST(SUM(c.count) AS BIGINT) FROM issues i JOIN issue_counts c ON c.issue_id = i.id
	WHERE i.project_id = $1 AND c.hour >= $2 GROUP BY c.hour ORDER BY c.hour`

// issueSums returns issueSumSQL's hours of the project from the hour
// containing since on.
func (e *env) issueSums(projectID int64, since time.Time) []Bucket {
	e.t.Helper()
	buckets := []Bucket{}
	for _, r := range e.rows(issueSumSQL, projectID, millis(since.Truncate(time.Hour))) {
		var hour, n int64
		if _, err := fmt.Sscan(r[0]+" "+r[1], &hour, &n); err != nil {
			e.t.Fatal(err)
		}
		buckets = append(buckets, Bucket{Hour: fromMillis(hour), Count: n})
	}
	return buckets
}

// sameAsIssueSums fails unless ProjectStats and ProjectHourlyCounts show
// every project's issueSums from since on, and since is within data.
func (e *env) sameAsIssueSums(step string, since time.Time) {
	e.t.Helper()
	stats, err := e.db.ProjectStats(e.ctx, System, since)
	if err != nil {
		e.t.Fatal(err)
	}
	nonEmpty := false
	for _, s := range stats {
		want := e.issueSums(s.ID, since)
		nonEmpty = nonEmpty || len(want) > 0
		if !reflect.DeepEqual(s.Hourly, want) {
			e.t.Errorf("%s: ProjectStats of %s =\n %v\nwant the issues' sums\n %v", step, s.Name, s.Hourly, want)
		}
		got, err := e.db.ProjectHourlyCounts(e.ctx, System, s.ID, since)
		if err != nil || !reflect.DeepEqual(got, want) {
			e.t.Errorf("%s: ProjectHourlyCounts of %s = %v, %v; want %v", step, s.Name, got, err, want)
		}
	}
	if !nonEmpty {
		e.t.Fatalf("%s: no counts to compare", step)
	}
}

// testProjectCounts: the project cards' hourly counts, read from
// project_counts, are the sums of the issues' hourly counts they were
// summed from before, through batches over several projects, issues and
// hours (duplicates included), a merge, events pruned, an issue deleted,
// hours pruned by retention, a project deleted and migration 0032's
// backfill.
func testProjectCounts(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	main, other := e.project, e.createProject("other")
	h := func(n int) eventOpt { return withAt(t0.Add(time.Duration(n)*time.Hour + time.Duration(n)*time.Minute)) }
	var reqs []SaveRequest
	for n := range 60 {
		p := main.ID
		if n%4 == 3 {
			p = other.ID
		}
		reqs = append(reqs, request(p, fmt.Sprintf("fp-%d", n%7), h(-(n%30))))
	}
	// A duplicate counts once, as it is stored once.
	reqs = append(reqs, reqs[0])
	if _, err := db.SaveBatch(ctx, reqs[:25]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveBatch(ctx, reqs[25:]); err != nil {
		t.Fatal(err)
	}
	for n := range 5 {
		e.save("single", h(-n))
	}
	since := t0.Add(-20 * time.Hour)
	e.sameAsIssueSums("saved", since)
	e.sameAsIssueSums("saved, all hours", time.Time{})

	ids := make([]int64, 3)
	for n := range ids {
		ids[n] = e.save(fmt.Sprintf("fp-%d", n), h(0)).IssueID
	}
	if _, err := db.MergeIssues(ctx, System, main.ID, ids, 0); err != nil {
		t.Fatal(err)
	}
	e.sameAsIssueSums("merged", since)
	// Events pruned leave their issues' counts, and the project's.
	if _, err := db.Prune(ctx, t0, 0, 1); err != nil {
		t.Fatal(err)
	}
	e.sameAsIssueSums("events pruned", since)
	if err := db.DeleteIssue(ctx, System, ids[0]); err != nil {
		t.Fatal(err)
	}
	e.sameAsIssueSums("merged issue deleted", since)
	e.sameAsIssueSums("merged issue deleted, all hours", time.Time{})
	// An issue alone in its hours leaves no hour of 0 behind.
	lone := e.save("lone", withAt(t0.Add(-100*time.Hour))).IssueID
	if err := db.DeleteIssue(ctx, System, lone); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM project_counts WHERE count <= 0`); n != 0 {
		t.Errorf("%d project hours of no events left", n)
	}
	// Retention deletes the hours it deletes of the issues.
	if _, err := db.PruneHistory(ctx, t0, 10*time.Hour); err != nil {
		t.Fatal(err)
	}
	e.sameAsIssueSums("hours pruned", time.Time{})
	if n := e.count(`SELECT COUNT(*) FROM project_counts WHERE hour < $1`, millis(t0.Add(-11*time.Hour))); n != 0 {
		t.Errorf("%d project hours older than retention kept", n)
	}

	// Migration 0032 fills the table from issue_counts, as it is now.
	e.save("before the upgrade", h(-3))
	ms, err := migrations(db.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migration) bool { return m.name == "0032_project_counts.sql" })
	if i < 0 {
		t.Fatal("no migration 0032_project_counts.sql")
	}
	for _, stmt := range []string{`DROP TABLE project_counts`, ms[i].sql} {
		if _, err := db.SQL().ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	e.sameAsIssueSums("backfilled", time.Time{})

	if err := db.DeleteProject(ctx, System, other.ID); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM project_counts WHERE project_id = $1`, other.ID); n != 0 {
		t.Errorf("a deleted project keeps %d hours", n)
	}
}
