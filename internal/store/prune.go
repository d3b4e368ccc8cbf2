package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// pruneBatch is how many events one retention transaction deletes, so
// pruning a large backlog never holds the (SQLite: only) write lock for
// long and ingest keeps flowing between batches.
const pruneBatch = 500

// Retention statements; each names its arguments.
const (
	// cutoff, batch size
	pruneAgeSQL = `DELETE FROM events WHERE id IN (
		SELECT id FROM events WHERE received_at < $1 LIMIT $2) RETURNING issue_id`
	// cutoff, batch size
	pruneFeedbackSQL = `DELETE FROM feedback WHERE id IN (
		SELECT id FROM feedback WHERE received_at < $1 LIMIT $2)`
	// max per issue
	crowdedIssuesSQL = `SELECT issue_id FROM events GROUP BY issue_id HAVING COUNT(*) > $1`
	// issue, max per issue
	pruneCutoffSQL = `SELECT occurred_at, id FROM events WHERE issue_id = $1
		ORDER BY occurred_at DESC, id DESC LIMIT 1 OFFSET $2`
	// issue, cutoff time, cutoff row, batch size
	prunePerIssueSQL = `DELETE FROM events WHERE id IN (
		SELECT id FROM events WHERE issue_id = $1 AND (occurred_at, id) <= ($2, $3) LIMIT $4) RETURNING issue_id`
	// cutoff, batch size. The outer last_seen test is what PostgreSQL
	// checks again on a row an event's save updated while this ran
	// (addReleases), so a release seen since is kept. A release is seen
	// at the later of first_seen and last_seen: a process older than
	// migration 0027, still running during a rolling deploy, inserts
	// releases with last_seen 0. The issue tests name the partial
	// indexes' condition so that they are used.
	pruneReleasesSQL = `DELETE FROM releases WHERE last_seen < $1 AND first_seen < $1 AND (project_id, version) IN (
		SELECT r.project_id, r.version FROM releases r WHERE r.last_seen < $1 AND r.first_seen < $1
			AND NOT EXISTS (SELECT 1 FROM events e WHERE e.project_id = r.project_id AND e.release_name = r.version)
			AND NOT EXISTS (SELECT 1 FROM release_sessions s WHERE s.project_id = r.project_id AND s.release = r.version)
			AND NOT EXISTS (SELECT 1 FROM artifact_bundles b WHERE b.project_id = r.project_id AND b.release_name = r.version)
			AND NOT EXISTS (SELECT 1 FROM release_deploys d WHERE d.project_id = r.project_id AND d.version = r.version)
			AND NOT EXISTS (SELECT 1 FROM release_commits c WHERE c.project_id = r.project_id AND c.version = r.version)
			AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.project_id = r.project_id
				AND i.resolved_in_release = r.version AND i.resolved_in_release <> '')
			AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.project_id = r.project_id
				AND i.resolved_after_release = r.version AND i.resolved_after_release <> '')
		LIMIT $2)`
	// issue
	fixLatestSQL = `UPDATE issues SET latest_event_id = COALESCE((
			SELECT e.event_id FROM events e WHERE e.issue_id = issues.id
			ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), '')
		WHERE id = $1 AND NOT EXISTS (
			SELECT 1 FROM events e WHERE e.project_id = issues.project_id AND e.event_id = issues.latest_event_id)`
)

// Prune deletes events and user feedback received before now-maxAge, and
// all but the newest maxPerIssue events of each issue; zero disables either
// rule, and feedback, which belongs to no issue, is kept by age only. It
// returns the number of events and feedback deleted. Issues keep
// their counts, and an issue whose latest event is deleted points at its
// newest remaining event, or at none. Age is judged by the time the event
// was received, since SDK clocks are not to be trusted with deleting data.
func (d *DB) Prune(ctx context.Context, now time.Time, maxAge time.Duration, maxPerIssue int) (int64, error) {
	var total int64
	if maxAge > 0 {
		cutoff := millis(now.Add(-maxAge))
		n, err := d.pruneBatches(ctx, pruneAgeSQL, cutoff, pruneBatch)
		total += n
		if err != nil {
			return total, err
		}
		n, err = d.deleteBatches(ctx, pruneFeedbackSQL, cutoff, pruneBatch)
		total += n
		if err != nil {
			return total, fmt.Errorf("store: prune feedback: %w", err)
		}
	}
	if maxPerIssue > 0 {
		issues, err := d.crowdedIssues(ctx, maxPerIssue)
		if err != nil {
			return total, err
		}
		for _, id := range issues {
			// The newest event beyond the limit; it and everything
			// older goes.
			var at, row int64
			err := d.db.QueryRowContext(ctx, pruneCutoffSQL, id, maxPerIssue).Scan(&at, &row)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return total, fmt.Errorf("store: prune: %w", err)
			}
			n, err := d.pruneBatches(ctx, prunePerIssueSQL, id, at, row, pruneBatch)
			total += n
			if err != nil {
				return total, err
			}
		}
	}
	return total, nil
}

// PruneReleases deletes the releases last seen before now-maxAge (named
// by no event, session, upload or API call since) that nothing refers to
// any more: no event of theirs is left (Prune deleted them), nor session
// counts (PruneHistory), artifact bundles, deploys or commits, and no
// issue is resolved in or after them, whose regressions are judged by the
// release's first seen. Releases are made by any SDK that names one
// (within MaxNewReleasesPerHour), so without this a project's list would
// only grow. A release deleted so that an SDK names again is recorded
// anew, first seen then; one named by an event saved while this runs is
// kept. It returns how many it deleted; maxAge <= 0 deletes none.
func (d *DB) PruneReleases(ctx context.Context, now time.Time, maxAge time.Duration) (int64, error) {
	if maxAge <= 0 {
		return 0, nil
	}
	n, err := d.deleteBatches(ctx, pruneReleasesSQL, millis(now.Add(-maxAge)), pruneBatch)
	if err != nil {
		return n, fmt.Errorf("store: prune releases: %w", err)
	}
	return n, nil
}

// crowdedIssues returns the issues with more than max stored events.
func (d *DB) crowdedIssues(ctx context.Context, max int) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, crowdedIssuesSQL, max)
	if err != nil {
		return nil, fmt.Errorf("store: prune: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: prune: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// pruneBatches runs del, a DELETE of at most pruneBatch events returning
// their issue IDs, until it deletes nothing. Each batch repairs the latest_event_id of the issues it touched in the
// same transaction, so no committed state points at a deleted event.
func (d *DB) pruneBatches(ctx context.Context, del string, args ...any) (int64, error) {
	total, err := d.inBatches(ctx, func(tx *sql.Tx) (int64, error) {
		rows, err := tx.QueryContext(ctx, del, args...)
		if err != nil {
			return 0, err
		}
		var n int64
		touched := make(map[int64]bool)
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			touched[id] = true
			n++
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
		for id := range touched {
			if _, err := tx.ExecContext(ctx, fixLatestSQL, id); err != nil {
				return 0, err
			}
		}
		return n, nil
	})
	if err != nil && ctx.Err() == nil {
		err = fmt.Errorf("store: prune: %w", err)
	}
	return total, err
}

// inBatches runs step, each time in a transaction of its own, until it
// handles no rows (its count) or fails, and returns the rows of all: a
// batch per transaction keeps each short, so ingest's commits get the
// write lock between them.
func (d *DB) inBatches(ctx context.Context, step func(tx *sql.Tx) (int64, error)) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int64
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			n, err = step(tx)
			return err
		})
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// History retention statements, each deleting at most a batch (its last
// argument) so that no transaction holds the write lock for long.
const (
	// cutoff, batch size
	pruneDeadSQL = `DELETE FROM queue_dead WHERE id IN (
		SELECT id FROM queue_dead WHERE died_at < $1 LIMIT $2)`
	// cutoff, batch size
	pruneCountsSQL = `DELETE FROM issue_counts WHERE (issue_id, hour) IN (
		SELECT issue_id, hour FROM issue_counts WHERE hour < $1 LIMIT $2)`
	// cutoff, batch size
	pruneProjectCountsSQL = `DELETE FROM project_counts WHERE (project_id, hour) IN (
		SELECT project_id, hour FROM project_counts WHERE hour < $1 LIMIT $2)`
	// cutoff, batch size
	pruneFilteredCountsSQL = `DELETE FROM filtered_counts WHERE (project_id, reason, hour) IN (
		SELECT project_id, reason, hour FROM filtered_counts WHERE hour < $1 LIMIT $2)`
	// cutoff, batch size
	pruneFilteredEventsSQL = `DELETE FROM filtered_events WHERE (project_id, event_id) IN (
		SELECT project_id, event_id FROM filtered_events WHERE received_at < $1 LIMIT $2)`
	// cutoff, batch size
	pruneEnvCountsSQL = `DELETE FROM issue_environment_counts WHERE (issue_id, environment, hour) IN (
		SELECT issue_id, environment, hour FROM issue_environment_counts WHERE hour < $1 LIMIT $2)`
	// cutoff, batch size
	pruneSessionsSQL = `DELETE FROM release_sessions WHERE (project_id, release, environment, hour) IN (
		SELECT project_id, release, environment, hour FROM release_sessions WHERE hour < $1 LIMIT $2)`
	// cutoff, batch size
	pruneSessionIDsSQL = `DELETE FROM release_session_ids WHERE (project_id, release, environment, hour, kind, id) IN (
		SELECT project_id, release, environment, hour, kind, id FROM release_session_ids WHERE hour < $1 LIMIT $2)`
	// cutoff, batch size
	pruneSessionMessagesSQL = `DELETE FROM session_messages WHERE (project_id, event_id) IN (
		SELECT project_id, event_id FROM session_messages WHERE received_at < $1 LIMIT $2)`
	// cutoff, batch size: settled notifications only; pending and
	// sending ones are still the outbox.
	settledNotificationsSQL = `SELECT id FROM alert_notifications
		WHERE status IN ('sent', 'logged', 'dead') AND created_at < $1 ORDER BY id LIMIT $2`
)

// FilteredEventsKept is how long PruneHistory keeps the record of a
// filtered event's count (filtered_events), at most: far longer than a
// queue redelivers a message whose count was made (SQS after its
// visibility timeout, 395 s here, at most five times), where the history's
// own age, 30 days by default, would keep a row for every event a flood
// of crawlers sent.
const FilteredEventsKept = 24 * time.Hour

// HistoryPruned counts the rows PruneHistory deleted.
type HistoryPruned struct {
	DeadLetters   int64 // queue_dead
	Notifications int64 // alert_notifications, with their attempts and recipients
	// HourlyCounts counts issue_counts, issue_environment_counts,
	// project_counts and filtered_counts, with the records of the
	// filtered events counted (filtered_events).
	HourlyCounts int64
	// Sessions counts release health's hourly buckets, their IDs and
	// the records of counted queue messages.
	Sessions int64
}

// Total is the number of rows deleted, not counting a notification's
// attempts and recipients.
func (p HistoryPruned) Total() int64 {
	return p.DeadLetters + p.Notifications + p.HourlyCounts + p.Sessions
}

// PruneHistory deletes what only records the past, older than now-maxAge:
// dead letters of the local queue (by the time they died), alert
// notifications that were sent or given up (by the time they were
// written) with their delivery attempts and recipients, and the hourly
// event counts of issues, overall and per environment, of projects and
// of the events inbound filters dropped (the charts show 14 days; issues
// keep their totals) with the records of which were counted (at most
// FilteredEventsKept), and release health's hourly session
// counts (by the hour the sessions started) with their IDs. Pending notifications are kept whatever their age. It works in
// transactions of at most pruneBatch rows, like Prune; maxAge <= 0
// deletes nothing.
func (d *DB) PruneHistory(ctx context.Context, now time.Time, maxAge time.Duration) (HistoryPruned, error) {
	var p HistoryPruned
	if maxAge <= 0 {
		return p, nil
	}
	cutoff := millis(now.Add(-maxAge))
	var err error
	if p.DeadLetters, err = d.deleteBatches(ctx, pruneDeadSQL, cutoff, pruneBatch); err != nil {
		return p, fmt.Errorf("store: prune dead letters: %w", err)
	}
	if p.Notifications, err = d.pruneNotifications(ctx, cutoff); err != nil {
		return p, fmt.Errorf("store: prune alert history: %w", err)
	}
	// Hours are the start of the hour in unix milliseconds: an hour is
	// deleted once all of it is older than the cutoff.
	hours := cutoff - int64(time.Hour/time.Millisecond) + 1
	if p.HourlyCounts, err = d.deleteBatches(ctx, pruneCountsSQL, hours, pruneBatch); err != nil {
		return p, fmt.Errorf("store: prune hourly counts: %w", err)
	}
	for _, del := range []struct {
		sql string
		at  int64
	}{{pruneEnvCountsSQL, hours}, {pruneProjectCountsSQL, hours}, {pruneFilteredCountsSQL, hours},
		{pruneFilteredEventsSQL, millis(now.Add(-min(maxAge, FilteredEventsKept)))}} {
		n, err := d.deleteBatches(ctx, del.sql, del.at, pruneBatch)
		p.HourlyCounts += n
		if err != nil {
			return p, fmt.Errorf("store: prune hourly counts: %w", err)
		}
	}
	for _, del := range []struct {
		sql string
		at  int64
	}{{pruneSessionsSQL, hours}, {pruneSessionIDsSQL, hours}, {pruneSessionMessagesSQL, cutoff}} {
		n, err := d.deleteBatches(ctx, del.sql, del.at, pruneBatch)
		p.Sessions += n
		if err != nil {
			return p, fmt.Errorf("store: prune session counts: %w", err)
		}
	}
	return p, nil
}

// deleteBatches runs del, a DELETE of at most a batch of rows, in its own
// transaction until it deletes nothing.
func (d *DB) deleteBatches(ctx context.Context, del string, args ...any) (int64, error) {
	return d.inBatches(ctx, func(tx *sql.Tx) (int64, error) {
		res, err := tx.ExecContext(ctx, del, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// pruneNotifications deletes settled notifications written before cutoff
// with their attempts and recipients, a batch per transaction.
func (d *DB) pruneNotifications(ctx context.Context, cutoff int64) (int64, error) {
	return d.inBatches(ctx, func(tx *sql.Tx) (int64, error) {
		rows, err := tx.QueryContext(ctx, settledNotificationsSQL, cutoff, pruneBatch)
		if err != nil {
			return 0, err
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return 0, err
			}
			ids = append(ids, id)
		}
		if err := rows.Close(); err != nil {
			return 0, err
		}
		if len(ids) == 0 {
			return 0, nil
		}
		in := placeholders(len(ids))
		for _, table := range []string{"alert_attempts", "alert_recipients"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE notification_id IN (`+in+`)`, ids...); err != nil {
				return 0, err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_notifications WHERE id IN (`+in+`)`, ids...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	})
}

// placeholders returns "$1, $2, ..., $n".
func placeholders(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
	}
	return b.String()
}
