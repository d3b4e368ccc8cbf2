package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	// max per issue
	crowdedIssuesSQL = `SELECT issue_id FROM events GROUP BY issue_id HAVING COUNT(*) > $1`
	// issue, max per issue
	pruneCutoffSQL = `SELECT occurred_at, id FROM events WHERE issue_id = $1
		ORDER BY occurred_at DESC, id DESC LIMIT 1 OFFSET $2`
	// issue, cutoff time, cutoff row, batch size
	prunePerIssueSQL = `DELETE FROM events WHERE id IN (
		SELECT id FROM events WHERE issue_id = $1 AND (occurred_at, id) <= ($2, $3) LIMIT $4) RETURNING issue_id`
	// issue
	fixLatestSQL = `UPDATE issues SET latest_event_id = COALESCE((
			SELECT e.event_id FROM events e WHERE e.issue_id = issues.id
			ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1), '')
		WHERE id = $1 AND NOT EXISTS (
			SELECT 1 FROM events e WHERE e.project_id = issues.project_id AND e.event_id = issues.latest_event_id)`
)

// Prune deletes events received before now-maxAge and all but the newest
// maxPerIssue events of each issue; zero disables either rule. Issues keep
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
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		var n int64
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, del, args...)
			if err != nil {
				return err
			}
			touched := make(map[int64]bool)
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				touched[id] = true
				n++
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for id := range touched {
				if _, err := tx.ExecContext(ctx, fixLatestSQL, id); err != nil {
					return err
				}
			}
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("store: prune: %w", err)
		}
		if n == 0 {
			return total, nil
		}
	}
}
