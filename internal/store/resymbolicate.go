package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/getflytrap/flytrap/internal/event"
)

// ReplaceEventPayload stores ev as the payload of its event (ev.EventID in
// ev.ProjectID) in issue issueID, if v may see the issue: the dashboard's
// re-symbolication of an event whose source maps arrived after it was
// processed. The row's columns and the issue's counts, tags, title and
// fingerprint were derived when the event was saved and stay: the event
// stays in its issue, whose grouping never changes behind the user's back.
// The issue's culprit, though, follows its latest event (as on save), and
// only names a place: when ev is that event, culprit (computed from the
// new frames, as the processor would have) replaces it, so an issue
// whose frames were mapped stops naming the minified file. ErrNotFound
// when v may see no such event.
func (d *DB) ReplaceEventPayload(ctx context.Context, v Viewer, issueID int64, ev *event.Event, culprit string) error {
	raw, err := event.Marshal(ev)
	if err != nil {
		return fmt.Errorf("store: replace event %s: %w", ev.EventID, err)
	}
	if len(raw) > maxPayload {
		return fmt.Errorf("store: replace event %s: %w: payload over %d bytes", ev.EventID, ErrInvalid, maxPayload)
	}
	return d.InTx(ctx, func(tx *sql.Tx) error {
		q := &query{}
		issue := q.arg(issueID)
		q.add(`UPDATE events SET payload = `, q.arg(compress(raw)), ` WHERE event_id = `, q.arg(ev.EventID),
			` AND project_id = `, q.arg(ev.ProjectID), ` AND issue_id = `, issue,
			` AND EXISTS (SELECT 1 FROM issues i WHERE i.id = `, issue, ` AND i.project_id = events.project_id AND `, q.visible(v, "i.project_id"), `)`)
		res, err := tx.ExecContext(ctx, q.sql(), q.args...)
		if err != nil {
			return fmt.Errorf("store: replace event %s: %w", ev.EventID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return fmt.Errorf("store: replace event %s of issue %d: %w", ev.EventID, issueID, ErrNotFound)
		}
		if culprit == "" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE issues SET culprit = $1 WHERE id = $2 AND latest_event_id = $3`,
			truncate(culprit, MaxTitleLength), issueID, ev.EventID); err != nil {
			return fmt.Errorf("store: replace event %s: the issue's culprit: %w", ev.EventID, err)
		}
		return nil
	})
}
