package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// Feedback is what a user wrote about a problem, as stored.
type Feedback struct {
	ID        int64
	ProjectID int64
	// EventID is the feedback's own ID.
	EventID string
	// AssociatedEventID is the event it is about; empty for none.
	AssociatedEventID string
	// IssueID is the issue of that event when the event is stored, else
	// 0: feedback can arrive before its event is processed, and outlive
	// it when retention deletes the event.
	IssueID int64
	Name    string
	Email   string
	Message string
	URL     string
	Source  string
	// Created is when the user gave it (the SDK's timestamp), Received
	// when ingest accepted it.
	Created  time.Time
	Received time.Time
}

// FeedbackRequest is one feedback to save: the queue's event that carries
// it (event.Event.Feedback set).
type FeedbackRequest struct {
	Event *event.Event
}

// FeedbackResult is what saving one feedback did.
type FeedbackResult struct {
	// Duplicate is true when the project already had feedback of this ID:
	// a redelivery or an SDK's retry, which changes nothing.
	Duplicate bool
	// Orphan is true when the project no longer exists; nothing was
	// stored.
	Orphan bool
}

// feedbackOrder names the order of feedback cursors.
const feedbackOrder = "feedback"

// feedbackCols are the columns scanFeedback reads, for a query over
// feedback f LEFT JOIN events e on its associated event.
const feedbackCols = `f.id, f.project_id, f.event_id, f.associated_event_id, COALESCE(e.issue_id, 0),
	f.name, f.email, f.message, f.url, f.source, f.created_at, f.received_at`

// feedbackFrom joins each feedback to its associated event, for the issue.
const feedbackFrom = ` FROM feedback f LEFT JOIN events e
	ON e.event_id = f.associated_event_id AND e.project_id = f.project_id`

// SaveFeedback stores feedback in one transaction and returns one result
// per request. It is idempotent per (project, event ID): the queue
// delivers at least once.
func (d *DB) SaveFeedback(ctx context.Context, reqs []FeedbackRequest) ([]FeedbackResult, error) {
	for _, r := range reqs {
		if r.Event == nil || r.Event.Feedback == nil || r.Event.EventID == "" || r.Event.ProjectID <= 0 {
			return nil, fmt.Errorf("store: save feedback: %w: an event ID, a project and the feedback are required", ErrInvalid)
		}
	}
	results := make([]FeedbackResult, len(reqs))
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		clear(results) // InTx may run it again
		for i, r := range reqs {
			ev, fb := r.Event, r.Event.Feedback
			if fb.Source == userReportSource && (fb.Name == "" || fb.Email == "") && fb.AssociatedEventID != "" {
				filled, err := d.fillFromEventUser(ctx, tx, ev.ProjectID, *fb)
				if err != nil {
					return err
				}
				fb = &filled
			}
			q := d.query()
			// Inserted only while the project exists: feedback of a
			// deleted project is dropped, as its events are.
			q.add(`INSERT INTO feedback (project_id, event_id, associated_event_id, name, email, message, url, source, created_at, received_at)
				SELECT `, q.arg(ev.ProjectID), `, `, q.arg(ev.EventID), `, `, q.arg(fb.AssociatedEventID), `, `,
				q.arg(Clean(fb.Name)), `, `, q.arg(Clean(fb.Email)), `, `, q.arg(Clean(fb.Message)), `, `, q.arg(Clean(fb.URL)), `, `,
				q.arg(Clean(fb.Source)), `, `, q.arg(millis(ev.Timestamp)), `, `, q.arg(millis(ev.Received)),
				` WHERE EXISTS (SELECT 1 FROM projects WHERE id = `, q.arg(ev.ProjectID), `)
				ON CONFLICT (project_id, event_id) DO NOTHING`)
			res, err := tx.ExecContext(ctx, q.sql(), q.args...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				continue
			}
			var one int
			err = tx.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = $1`, ev.ProjectID).Scan(&one)
			switch {
			case err == sql.ErrNoRows:
				results[i].Orphan = true
			case err != nil:
				return err
			default:
				results[i].Duplicate = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: save feedback: %w", err)
	}
	return results, nil
}

// userReportSource is event.Feedback.Source of a legacy user_report item.
const userReportSource = "user_report"

// fillFromEventUser fills a legacy user report's missing name and email
// from the user of the event it is about, when that event is stored, as
// Sentry does (shim_to_feedback: the report's name, else the user's name,
// else username; the report's email, else the user's): the crash-report
// dialog and captureUserFeedback leave them empty when the app already
// told the SDK who the user is. Ingest keeps no user.name, so the name
// comes from the username.
func (d *DB) fillFromEventUser(ctx context.Context, tx *sql.Tx, projectID int64, fb event.Feedback) (event.Feedback, error) {
	var compressed []byte
	err := tx.QueryRowContext(ctx, `SELECT payload FROM events WHERE project_id = $1 AND event_id = $2`,
		projectID, fb.AssociatedEventID).Scan(&compressed)
	if err == sql.ErrNoRows {
		return fb, nil
	}
	if err != nil {
		return fb, err
	}
	raw, err := decompress(compressed)
	if err != nil {
		return fb, err
	}
	var ev struct {
		User *event.User `json:"user"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil || ev.User == nil {
		// A payload this store wrote decodes; a user it lacks fills nothing.
		return fb, nil
	}
	fb.Name = cmp.Or(fb.Name, ev.User.Username)
	fb.Email = cmp.Or(fb.Email, ev.User.Email)
	return fb, nil
}

// ListProjectFeedback returns a page of a project's feedback, newest first,
// with and without an associated event, and the cursor of the next page.
func (d *DB) ListProjectFeedback(ctx context.Context, v Viewer, projectID int64, cursor string, limit int) ([]Feedback, string, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, "", fmt.Errorf("store: feedback of project %d: %w", projectID, err)
	}
	q := d.query()
	q.add(`SELECT `, feedbackCols, feedbackFrom, ` WHERE f.project_id = `, q.arg(projectID))
	return d.feedbackPage(ctx, &q, cursor, limit)
}

// ListIssueFeedback returns a page of the feedback about an issue's stored
// events, newest first, and the cursor of the next page.
func (d *DB) ListIssueFeedback(ctx context.Context, v Viewer, issueID int64, cursor string, limit int) ([]Feedback, string, error) {
	if err := d.checkIssue(ctx, v, issueID); err != nil {
		return nil, "", fmt.Errorf("store: feedback of issue %d: %w", issueID, err)
	}
	q := d.query()
	q.add(`SELECT `, feedbackCols)
	if err := d.issueFeedbackWhere(ctx, &q, issueID); err != nil {
		return nil, "", fmt.Errorf("store: feedback of issue %d: %w", issueID, err)
	}
	return d.feedbackPage(ctx, &q, cursor, limit)
}

// feedbackFirstMax is how many feedback items about events a project may
// have for an issue's feedback to be found from them, rather than from
// the issue's events.
const feedbackFirstMax = 1000

// issueFeedbackWhere adds to q the FROM and WHERE of the feedback about
// the issue's stored events, aliased f and e, from whichever side is
// smaller. Reading the issue's events and looking each up in the feedback
// costs a row of events per event: 40,000 reads, 0.4 s on SQLite, for
// every page of a busy issue, to count the no feedback most projects
// have. So while the project has fewer than feedbackFirstMax feedback
// items about events (counted in their index, without reading them), they
// are read and their events looked up by event ID instead. SQLite keeps
// no statistics to choose so itself, and CROSS JOIN holds it to the
// order written; PostgreSQL plans either by its statistics.
func (d *DB) issueFeedbackWhere(ctx context.Context, q *query, issueID int64) error {
	upTo := cmp.Or(d.feedbackFirstUpTo, feedbackFirstMax)
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM feedback
		WHERE project_id = (SELECT project_id FROM issues WHERE id = $1) AND associated_event_id > '' LIMIT $2) about`,
		issueID, upTo).Scan(&n); err != nil {
		return err
	}
	if n < upTo {
		q.add(` FROM feedback f CROSS JOIN events e
			WHERE f.project_id = (SELECT project_id FROM issues WHERE id = `, q.arg(issueID), `) AND f.associated_event_id > ''
			AND e.event_id = f.associated_event_id AND e.project_id = f.project_id AND e.issue_id = `, q.arg(issueID))
		return nil
	}
	q.add(` FROM events e JOIN feedback f ON f.project_id = e.project_id AND f.associated_event_id = e.event_id
		WHERE e.issue_id = `, q.arg(issueID))
	return nil
}

// CountIssueFeedback counts the feedback about an issue's stored events.
func (d *DB) CountIssueFeedback(ctx context.Context, v Viewer, issueID int64) (int64, error) {
	q, err := d.issueFeedbackCountQuery(ctx, v, issueID)
	if err != nil {
		return 0, fmt.Errorf("store: count feedback of issue %d: %w", issueID, err)
	}
	var n int64
	if err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count feedback of issue %d: %w", issueID, err)
	}
	return n, nil
}

// issueFeedbackCountQuery is CountIssueFeedback's statement: the feedback
// about the issue's stored events that v may see.
func (d *DB) issueFeedbackCountQuery(ctx context.Context, v Viewer, issueID int64) (*query, error) {
	q := d.query()
	q.add(`SELECT COUNT(*)`)
	if err := d.issueFeedbackWhere(ctx, &q, issueID); err != nil {
		return nil, err
	}
	q.add(` AND `, q.visible(v, "e.project_id"))
	return &q, nil
}

// feedbackPage finishes q, a query of feedbackCols with its WHERE begun,
// with the cursor's position, the order and one row more than the page.
func (d *DB) feedbackPage(ctx context.Context, q *query, cursor string, limit int) ([]Feedback, string, error) {
	if cursor != "" {
		at, id, err := decodeCursor(cursor, feedbackOrder)
		if err != nil {
			return nil, "", err
		}
		q.add(` AND (f.created_at, f.id) < (`, q.arg(at), `, `, q.arg(id), `)`)
	}
	limit = pageSize(limit)
	q.add(` ORDER BY f.created_at DESC, f.id DESC LIMIT `, q.arg(limit+1))
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list feedback: %w", err)
	}
	defer rows.Close()
	out := []Feedback{}
	for rows.Next() {
		if len(out) == limit {
			last := out[limit-1]
			return out, encodeCursor(feedbackOrder, millis(last.Created), last.ID), nil
		}
		var (
			f                 Feedback
			created, received int64
		)
		if err := rows.Scan(&f.ID, &f.ProjectID, &f.EventID, &f.AssociatedEventID, &f.IssueID,
			&f.Name, &f.Email, &f.Message, &f.URL, &f.Source, &created, &received); err != nil {
			return nil, "", fmt.Errorf("store: list feedback: %w", err)
		}
		f.Created, f.Received = fromMillis(created), fromMillis(received)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: list feedback: %w", err)
	}
	return out, "", nil
}
