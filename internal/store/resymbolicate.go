package store

import (
	"context"
	"fmt"

	"github.com/getflytrap/flytrap/internal/event"
)

// ReplaceEventPayload stores ev as the payload of its event (ev.EventID in
// ev.ProjectID) in issue issueID, if v may see the issue: the dashboard's
// re-symbolication of an event whose source maps arrived after it was
// processed. Only the payload changes; the row's columns and the issue's
// counts, tags and fingerprint were derived when the event was saved and
// stay. ErrNotFound when v may see no such event.
func (d *DB) ReplaceEventPayload(ctx context.Context, v Viewer, issueID int64, ev *event.Event) error {
	raw, err := event.Marshal(ev)
	if err != nil {
		return fmt.Errorf("store: replace event %s: %w", ev.EventID, err)
	}
	if len(raw) > maxPayload {
		return fmt.Errorf("store: replace event %s: %w: payload over %d bytes", ev.EventID, ErrInvalid, maxPayload)
	}
	q := &query{}
	issue := q.arg(issueID)
	q.add(`UPDATE events SET payload = `, q.arg(compress(raw)), ` WHERE event_id = `, q.arg(ev.EventID),
		` AND project_id = `, q.arg(ev.ProjectID), ` AND issue_id = `, issue,
		` AND EXISTS (SELECT 1 FROM issues i WHERE i.id = `, issue, ` AND i.project_id = events.project_id AND `, q.visible(v, "i.project_id"), `)`)
	res, err := d.db.ExecContext(ctx, q.sql(), q.args...)
	if err != nil {
		return fmt.Errorf("store: replace event %s: %w", ev.EventID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("store: replace event %s of issue %d: %w", ev.EventID, issueID, ErrNotFound)
	}
	return nil
}
