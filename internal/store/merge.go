package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// MergeIssues merges issues of one project, a project v may see, into
// one, as if their events had always grouped there, and returns it. The
// primary is into when not 0 (it need not be among ids), else the issue
// with the most events, the oldest of those that tie. The others' events,
// hourly and minute counts, tags (within the bounds saving keeps), users,
// figures per environment and activity move to the primary or are summed
// into it (user feedback follows its events), whose activity records the
// merge; its first seen is the earliest, its
// last seen, latest event, title, culprit and level those of the newest.
// Its status and mute stay, and its alert state takes on the digests the
// others owed (mergeAlertStates). Its assignee stays, or it takes that of
// the merged issue with the most events. The others are deleted, and
// their fingerprints and IDs lead to the primary from then on (see
// findIssue and MergedInto).
//
// An ID of an issue of the project that was already merged, into among
// them, is a *MergedError naming the issue each was merged into, and
// nothing changes: that issue may not be the one meant, and merging it
// would merge all it holds. Fewer than two different IDs, or an issue of
// another project, is ErrInvalid; an issue v may not see, or that never
// was, is ErrNotFound.
func (d *DB) MergeIssues(ctx context.Context, v Viewer, projectID int64, ids []int64, into int64) (Issue, error) {
	distinct := make(map[int64]bool)
	for _, id := range append(slices.Clone(ids), into) {
		if id > 0 {
			distinct[id] = true
		}
	}
	switch {
	case len(distinct) < 2:
		return Issue{}, fmt.Errorf("store: merge issues: %w: name at least two different issues to merge", ErrInvalid)
	case len(distinct) > MaxBulkIDs:
		return Issue{}, fmt.Errorf("store: merge issues: %w: at most %d issues at once", ErrInvalid, MaxBulkIDs)
	}
	// Saving locks issues in another order than merging does (by
	// fingerprint first), so a merge can still deadlock with it: InTx
	// runs it again.
	var merged Issue
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		merged, err = d.mergeIssues(ctx, tx, v, projectID, slices.Sorted(maps.Keys(distinct)), into)
		return err
	})
	if err != nil {
		return Issue{}, fmt.Errorf("store: merge issues: %w", err)
	}
	return merged, nil
}

// mergeIssues is MergeIssues in tx, ids sorted.
func (d *DB) mergeIssues(ctx context.Context, tx *sql.Tx, v Viewer, projectID int64, ids []int64, into int64) (Issue, error) {
	var (
		q   query
		one int
	)
	q.add(`SELECT 1 FROM projects WHERE id = `, q.arg(projectID), ` AND `, q.visibleProject(v, projectID))
	if err := tx.QueryRowContext(ctx, q.sql(), q.args...).Scan(&one); err != nil {
		return Issue{}, fmt.Errorf("project %d: %w", projectID, notFound(err))
	}
	issues, err := d.lockIssues(ctx, tx, v, ids)
	if err != nil {
		return Issue{}, err
	}
	var missing []int64
	for _, id := range ids {
		i, ok := issues[id]
		switch {
		case !ok:
			missing = append(missing, id)
		case i.ProjectID != projectID:
			return Issue{}, fmt.Errorf("%w: issue %d is in another project; only issues of one project can be merged", ErrInvalid, id)
		}
	}
	if len(missing) > 0 {
		// The caller chose the issues to merge: an ID that leads to
		// another issue is not silently that one, which may not be
		// the issue meant and would be merged whole.
		if err := refuseMerged(ctx, tx, d.query(), projectID, missing); err != nil {
			return Issue{}, err
		}
		return Issue{}, fmt.Errorf("issue %d: %w", missing[0], ErrNotFound)
	}
	group := make([]Issue, 0, len(ids))
	for _, id := range ids {
		group = append(group, issues[id])
	}
	primary := slices.MaxFunc(group, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Count, b.Count), cmp.Compare(b.ID, a.ID))
	})
	if into > 0 {
		primary = issues[into]
	}
	var others []int64
	for _, i := range group {
		if i.ID != primary.ID {
			others = append(others, i.ID)
		}
	}
	if err := d.moveIssueRows(ctx, tx, projectID, primary.ID, others); err != nil {
		return Issue{}, err
	}
	if err := d.mergeAlertStates(ctx, tx, projectID, primary, group); err != nil {
		return Issue{}, err
	}
	if _, err := addActivity(ctx, tx, primary.ID, ActivityMerge, v.UserID, activityData{Merged: others}); err != nil {
		return Issue{}, err
	}
	return d.foldIssues(ctx, tx, projectID, primary, group)
}

// lockIssues returns those of the issues ids that v may see, locked for
// update, by ID.
func (d *DB) lockIssues(ctx context.Context, tx *sql.Tx, v Viewer, ids []int64) (map[int64]Issue, error) {
	var q query
	q.add(`SELECT `, issueCols("i"), ` FROM issues i WHERE i.id IN (`, q.list(ids), `) AND `, q.visible(v, "i.project_id"),
		` ORDER BY i.id`, d.forUpdate())
	rows, err := tx.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	issues := make(map[int64]Issue, len(ids))
	for rows.Next() {
		i, err := scanIssue(rows)
		if err != nil {
			return nil, err
		}
		issues[i.ID] = i
	}
	return issues, rows.Err()
}

// summedTables are the tables of an issue's counters, keyed by issue_id
// and the other columns of their primary key: merging sums the counts of
// the rows that share those.
var summedTables = []struct{ table, cols string }{
	{"issue_counts", "hour"},
	{"issue_minute_counts", "minute"},
	{"issue_environment_counts", "environment, hour"},
	{"issue_tags", "key, value"},
}

// moveIssueRows moves the rows of the issues others to the issue primary
// of the project: events move, counters are summed, users are merged,
// figures per environment combined, and the rows of others are deleted.
func (d *DB) moveIssueRows(ctx context.Context, tx *sql.Tx, projectID, primary int64, others []int64) error {
	// $P is the primary, $O the list of others, $A1 on args. PostgreSQL
	// takes an untyped parameter in a SELECT list for text: values that
	// INSERT ... SELECT writes to integer columns are cast.
	exec := func(stmt string, args ...any) (int64, error) {
		q := d.query()
		// Only the parameters a statement names are bound: PostgreSQL
		// refuses others.
		if strings.Contains(stmt, "$P") {
			stmt = strings.ReplaceAll(stmt, "$P", q.arg(primary))
		}
		if strings.Contains(stmt, "$O") {
			stmt = strings.ReplaceAll(stmt, "$O", q.list(others))
		}
		for i, a := range args {
			if name := fmt.Sprintf("$A%d", i+1); strings.Contains(stmt, name) {
				stmt = strings.ReplaceAll(stmt, name, q.arg(a))
			}
		}
		q.add(stmt)
		res, err := tx.ExecContext(ctx, q.sql(), q.args...)
		if err != nil {
			return 0, fmt.Errorf("%.60s: %w", stmt, err)
		}
		return res.RowsAffected()
	}
	// The merged issues' timelines go on in the primary's.
	for _, table := range []string{"events", "issue_activity"} {
		if _, err := exec(`UPDATE ` + table + ` SET issue_id = $P WHERE issue_id IN ($O)`); err != nil {
			return err
		}
	}
	refused, err := d.mergedTagsRefused(ctx, tx, primary, others)
	if err != nil {
		return err
	}
	for _, t := range summedTables {
		// WHERE before ON CONFLICT keeps SQLite from reading ON as a join's.
		if _, err := exec(`INSERT INTO ` + t.table + ` (issue_id, ` + t.cols + `, count)
			SELECT CAST($P AS BIGINT), ` + t.cols + `, SUM(count) FROM ` + t.table + ` WHERE issue_id IN ($O) GROUP BY ` + t.cols + `
			ON CONFLICT (issue_id, ` + t.cols + `) DO UPDATE SET count = ` + t.table + `.count + excluded.count`); err != nil {
			return err
		}
	}
	if err := d.deleteTagRows(ctx, tx, refused); err != nil {
		return err
	}
	// Users per environment count up by the ones the primary did not have
	// there, as saving counts them; read before they are added.
	newEnvUsers := make(map[string]int64)
	q := d.query()
	q.add(`SELECT environment, COUNT(*) FROM (SELECT DISTINCT s.environment, s.user_key FROM issue_environment_users s
		WHERE s.issue_id IN (`, q.list(others), `) AND NOT EXISTS (SELECT 1 FROM issue_environment_users p
			WHERE p.issue_id = `, q.arg(primary), ` AND p.environment = s.environment AND p.user_key = s.user_key)) n
		GROUP BY environment`)
	rows, err := tx.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var (
			env string
			n   int64
		)
		if err := rows.Scan(&env, &n); err != nil {
			rows.Close()
			return err
		}
		newEnvUsers[env] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	least, greatest := "LEAST", "GREATEST"
	if d.dialect == DialectSQLite {
		least, greatest = "MIN", "MAX"
	}
	stmts := []string{
		`INSERT INTO issue_environment_users (issue_id, environment, user_key)
			SELECT DISTINCT CAST($P AS BIGINT), environment, user_key FROM issue_environment_users WHERE issue_id IN ($O)
			ON CONFLICT (issue_id, environment, user_key) DO NOTHING`,
		`INSERT INTO issue_environments (issue_id, environment, project_id, count, user_count, first_seen, last_seen)
			SELECT CAST($P AS BIGINT), environment, CAST($A1 AS BIGINT), SUM(count), 0, MIN(first_seen), MAX(last_seen)
			FROM issue_environments WHERE issue_id IN ($O) GROUP BY environment
			ON CONFLICT (issue_id, environment) DO UPDATE SET count = issue_environments.count + excluded.count,
				first_seen = ` + least + `(issue_environments.first_seen, excluded.first_seen),
				last_seen = ` + greatest + `(issue_environments.last_seen, excluded.last_seen)`,
	}
	for _, s := range stmts {
		if _, err := exec(s, projectID); err != nil {
			return err
		}
	}
	for _, env := range slices.Sorted(maps.Keys(newEnvUsers)) {
		if _, err := exec(`UPDATE issue_environments SET user_count = user_count + $A1
			WHERE issue_id = $P AND environment = $A2`, newEnvUsers[env], env); err != nil {
			return err
		}
	}
	// The primary's tag keys are counted again from its merged tags.
	for _, s := range []string{
		`DELETE FROM issue_tag_keys WHERE issue_id = $P OR issue_id IN ($O)`,
		`INSERT INTO issue_tag_keys (issue_id, key, value_count)
			SELECT issue_id, key, COUNT(*) FROM issue_tags WHERE issue_id = $P GROUP BY issue_id, key`,
	} {
		if _, err := exec(s); err != nil {
			return err
		}
	}
	for _, t := range []string{"issue_counts", "issue_minute_counts", "issue_environment_counts", "issue_tags",
		"issue_environment_users", "issue_environments"} {
		if _, err := exec(`DELETE FROM ` + t + ` WHERE issue_id IN ($O)`); err != nil {
			return err
		}
	}
	return nil
}

// mergeAlertStates gives the primary one alert state for the group, so
// that a digest a merged issue owed is sent once, about the primary,
// rather than lost: the primary's status and mute stay, and the events
// the others' digests owed join its own unless it, or the issue they
// came from, is muted or ignored (such events are never sent, as for an
// issue muted before its digest was due), each channel's count to that
// channel's. The digest is due when the
// first of the counted ones was, and goes to every channel of the
// group's windows; without one the window is the longest of the group's,
// so the cooldown of an alert about any of them holds. The others'
// states are deleted.
func (d *DB) mergeAlertStates(ctx context.Context, tx *sql.Tx, projectID int64, primary Issue, group []Issue) error {
	ids := make([]int64, len(group))
	for j, i := range group {
		ids[j] = i.ID
	}
	// Locked before they are read (PostgreSQL): a digest QueueDigests is
	// writing meanwhile is then read as sent, not carried over and sent
	// again.
	q := d.query()
	q.add(`SELECT issue_id FROM alert_issue_state WHERE issue_id IN (`, q.list(ids), `) ORDER BY issue_id`, d.forUpdate())
	rows, err := tx.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	states, err := d.alertStates(ctx, tx, ids)
	if err != nil || len(states) == 0 {
		return err
	}
	st := states[primary.ID]
	silenced := st.muted || primary.Status == StatusIgnored
	var due, last int64 = 0, st.windowEnd
	if st.pending > 0 {
		due = st.windowEnd
	}
	for _, i := range group {
		o, ok := states[i.ID]
		if i.ID == primary.ID || !ok {
			continue
		}
		last = max(last, o.windowEnd)
		for _, c := range o.channels {
			if !slices.Contains(st.channels, c) {
				st.channels = append(st.channels, c)
			}
		}
		if o.pending > 0 && !silenced && !o.muted && i.Status != StatusIgnored {
			st.pending += o.pending
			if due == 0 || o.windowEnd < due {
				due = o.windowEnd
			}
			// What it owed each channel is owed by the primary.
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_digest_owed (issue_id, channel_id, owed, event_id)
				SELECT $1, channel_id, owed, event_id FROM alert_digest_owed WHERE issue_id = $2 AND owed > 0
				ON CONFLICT (issue_id, channel_id) DO UPDATE SET owed = alert_digest_owed.owed + excluded.owed`,
				primary.ID, i.ID); err != nil {
				return err
			}
		}
	}
	st.windowEnd = last
	if st.pending > 0 {
		st.windowEnd = due
	}
	if st.channels == nil {
		st.channels = []int64{}
	}
	list, err := json.Marshal(st.channels)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO alert_issue_state (issue_id, project_id, muted, window_end, pending, channels)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issue_id) DO UPDATE SET
		window_end = excluded.window_end, pending = excluded.pending, channels = excluded.channels`,
		primary.ID, projectID, st.muted, st.windowEnd, st.pending, string(list)); err != nil {
		return err
	}
	for _, table := range []string{"alert_digest_owed", "alert_issue_state"} {
		q = d.query()
		q.add(`DELETE FROM `+table+` WHERE issue_id IN (`, q.list(ids), `) AND issue_id <> `, q.arg(primary.ID))
		if _, err := tx.ExecContext(ctx, q.sql(), q.args...); err != nil {
			return err
		}
	}
	return nil
}

// mergedTagsRefused returns the tag pairs of the issues others that the
// issue primary cannot take within the bounds on an issue's tags: it keeps
// its own, and takes the others' pairs it lacks as saving takes a batch's
// new ones, in sorted order while there is room, so a merge leaves no
// issue with more keys or values than saving would.
func (d *DB) mergedTagsRefused(ctx context.Context, tx *sql.Tx, primary int64, others []int64) ([]issueTag, error) {
	kept := make(map[tagKey]int64)
	rows, err := tx.QueryContext(ctx, `SELECT key, COUNT(*) FROM issue_tags WHERE issue_id = $1 GROUP BY key`, primary)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		k := tagKey{issueID: primary}
		var n int64
		if err := rows.Scan(&k.key, &n); err != nil {
			rows.Close()
			return nil, err
		}
		kept[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	q := d.query()
	q.add(`SELECT DISTINCT s.key, s.value FROM issue_tags s WHERE s.issue_id IN (`, q.list(others), `) AND NOT EXISTS
		(SELECT 1 FROM issue_tags p WHERE p.issue_id = `, q.arg(primary), ` AND p.key = s.key AND p.value = s.value)`)
	rows, err = tx.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var added []issueTag
	for rows.Next() {
		k := issueTag{issueID: primary}
		if err := rows.Scan(&k.key, &k.value); err != nil {
			return nil, err
		}
		added = append(added, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(added, func(a, b issueTag) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	})
	refused, _ := d.boundTags(kept, added)
	return refused, nil
}

// foldIssues merges the issue rows of group into primary's, whose rows
// moveIssueRows has already moved, records where the others' fingerprints
// and IDs lead, deletes the others and returns the primary as it is now.
func (d *DB) foldIssues(ctx context.Context, tx *sql.Tx, projectID int64, primary Issue, group []Issue) (Issue, error) {
	var others []int64
	p := primary
	for _, i := range group {
		if i.ID != primary.ID {
			others = append(others, i.ID)
			p.Count += i.Count
		}
	}
	// The first release is the earliest issue's, the rest the newest's,
	// as saving keeps them; an issue without releases gives way to the
	// next.
	byFirst := slices.SortedFunc(slices.Values(group), func(a, b Issue) int { return a.FirstSeen.Compare(b.FirstSeen) })
	byLast := slices.SortedFunc(slices.Values(group), func(a, b Issue) int { return b.LastSeen.Compare(a.LastSeen) })
	p.FirstSeen, p.LastSeen = byFirst[0].FirstSeen, byLast[0].LastSeen
	p.FirstRelease, p.LastRelease = "", ""
	for j := range group {
		p.FirstRelease = cmp.Or(p.FirstRelease, byFirst[j].FirstRelease)
		p.LastRelease = cmp.Or(p.LastRelease, byLast[j].LastRelease)
	}
	last := byLast[0]
	p.Title, p.Culprit, p.Level, p.LatestEventID = last.Title, last.Culprit, last.Level, last.LatestEventID
	// Someone who took on one of the issues goes on with all of them: the
	// primary's assignee, else that of the merged issue with the most
	// events, the oldest of those that tie. Assignees are members of the
	// project or admins, so they may have the primary too.
	if p.AssignedTo == nil {
		var from *Issue
		for _, i := range group {
			if i.AssignedTo != nil && (from == nil || i.Count > from.Count || i.Count == from.Count && i.ID < from.ID) {
				from = &i
			}
		}
		if from != nil {
			p.AssignedTo = from.AssignedTo
		}
	}
	var assignee *int64
	if p.AssignedTo != nil {
		assignee = &p.AssignedTo.ID
	}

	// Users count up by the ones the primary did not have, as saving
	// counts them.
	q := d.query()
	q.add(`INSERT INTO issue_users (issue_id, user_key) SELECT DISTINCT CAST(`, q.arg(primary.ID),
		` AS BIGINT), user_key FROM issue_users WHERE issue_id IN (`, q.list(others), `) ON CONFLICT (issue_id, user_key) DO NOTHING`)
	res, err := tx.ExecContext(ctx, q.sql(), q.args...)
	if err != nil {
		return Issue{}, err
	}
	added, err := res.RowsAffected()
	if err != nil {
		return Issue{}, err
	}
	p.UserCount += added
	now := millis(nowUTC())
	q = d.query()
	q.add(`UPDATE issue_merges SET issue_id = `, q.arg(primary.ID), ` WHERE issue_id IN (`, q.list(others), `)`)
	if _, err := tx.ExecContext(ctx, q.sql(), q.args...); err != nil {
		return Issue{}, err
	}
	for _, i := range group {
		if i.ID == primary.ID {
			continue
		}
		// The fingerprint may be an alias of another issue, the hash it
		// had before a grouping change (see adoptIssue), which today's
		// events do not follow: the merge takes it over.
		if _, err := tx.ExecContext(ctx, `INSERT INTO issue_merges (project_id, fingerprint, merged_id, issue_id, merged_at, grouping_version)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id, fingerprint) DO UPDATE SET merged_id = excluded.merged_id,
			issue_id = excluded.issue_id, merged_at = excluded.merged_at, grouping_version = excluded.grouping_version`,
			projectID, i.Fingerprint, i.ID, primary.ID, now, i.GroupingVersion); err != nil {
			return Issue{}, err
		}
	}
	for _, table := range []string{"issue_users", "issues"} {
		col := "issue_id"
		if table == "issues" {
			col = "id"
		}
		q := d.query()
		q.add(`DELETE FROM `, table, ` WHERE `, col, ` IN (`, q.list(others), `)`)
		if _, err := tx.ExecContext(ctx, q.sql(), q.args...); err != nil {
			return Issue{}, err
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE issues SET count = $2, user_count = $3, first_seen = $4, last_seen = $5,
			first_release = $6, last_release = $7, title = $8, culprit = $9, level = $10, latest_event_id = $11,
			assigned_user_id = $12
		WHERE id = $1`, p.ID, p.Count, p.UserCount, millis(p.FirstSeen), millis(p.LastSeen),
		p.FirstRelease, p.LastRelease, p.Title, p.Culprit, p.Level, p.LatestEventID, assignee)
	return p, err
}

// MergedError refuses a change to issues that were merged into others.
// It wraps ErrNotFound, which the merged issues now are.
type MergedError struct {
	// Into is the issue each merged ID named was merged into.
	Into map[int64]int64
}

// Error says which issue each merged ID was merged into, by merged ID.
func (e *MergedError) Error() string {
	var b strings.Builder
	for j, id := range slices.Sorted(maps.Keys(e.Into)) {
		if j > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "issue %d was merged into issue %d", id, e.Into[id])
	}
	return b.String()
}

func (e *MergedError) Unwrap() error { return ErrNotFound }

// refuseMerged returns a *MergedError when any of ids is an issue of the
// project that was merged into another, writing its statement to q.
func refuseMerged(ctx context.Context, tx *sql.Tx, q query, projectID int64, ids []int64) error {
	q.add(`SELECT DISTINCT merged_id, issue_id FROM issue_merges WHERE project_id = `, q.arg(projectID),
		` AND merged_id IN (`, q.list(ids), `)`)
	rows, err := tx.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	into := make(map[int64]int64)
	for rows.Next() {
		var merged, kept int64
		if err := rows.Scan(&merged, &kept); err != nil {
			return err
		}
		into[merged] = kept
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(into) > 0 {
		return &MergedError{Into: into}
	}
	return nil
}

// MergedInto returns the issue that the merged issue id, of a project v
// may see, was merged into, so its old links can lead there; ErrNotFound
// when id was never merged or v may not see it.
func (d *DB) MergedInto(ctx context.Context, v Viewer, id int64) (int64, error) {
	var (
		q      query
		target int64
	)
	// Not aliased m, which names project_members in visible's subquery.
	q.add(`SELECT im.issue_id FROM issue_merges im WHERE im.merged_id = `, q.arg(id), ` AND `, q.visible(v, "im.project_id"))
	err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&target)
	if err != nil {
		return 0, fmt.Errorf("store: merged issue %d: %w", id, notFound(err))
	}
	return target, nil
}
