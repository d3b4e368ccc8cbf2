package store

import (
	"context"
	"fmt"
)

// eventsOrder names the events ordering in cursors.
const eventsOrder = "events"

// eventCols are the columns scanEvent reads, followed by the row ID.
const eventCols = `e.event_id, e.project_id, e.issue_id, e.occurred_at, e.received_at, e.title, e.level, e.release_name, e.environment, e.id`

// scanEvent reads eventCols and, with withPayload, the compressed payload
// after them. It also returns the row ID, which pages are keyed on.
func scanEvent(row scanner, withPayload bool) (EventRow, int64, error) {
	var (
		e          EventRow
		at, rcv    int64
		id         int64
		compressed []byte
	)
	dest := []any{&e.EventID, &e.ProjectID, &e.IssueID, &at, &rcv, &e.Title, &e.Level, &e.Release, &e.Environment, &id}
	if withPayload {
		dest = append(dest, &compressed)
	}
	if err := row.Scan(dest...); err != nil {
		return EventRow{}, 0, err
	}
	e.Timestamp, e.Received = fromMillis(at), fromMillis(rcv)
	if withPayload {
		raw, err := decompress(compressed)
		if err != nil {
			return EventRow{}, 0, fmt.Errorf("event %s payload: %w", e.EventID, err)
		}
		e.Payload = raw
	}
	return e, id, nil
}

// ListEvents returns a page of an issue's events, newest first, without
// payloads, and the cursor of the next page ("" on the last one). A
// non-empty environment lists only the issue's events in it.
func (d *DB) ListEvents(ctx context.Context, v Viewer, issueID int64, cursor string, limit int, environment string) ([]EventRow, string, error) {
	if err := d.checkIssue(ctx, v, issueID); err != nil {
		return nil, "", err
	}
	q, limit, err := eventsQuery(issueID, cursor, limit, environment)
	if err != nil {
		return nil, "", err
	}
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: list events: %w", err)
	}
	defer rows.Close()
	events := []EventRow{}
	var lastID int64
	for rows.Next() {
		if len(events) == limit {
			last := events[limit-1]
			return events, encodeCursor(eventsOrder, millis(last.Timestamp), lastID), nil
		}
		e, id, err := scanEvent(rows, false)
		if err != nil {
			return nil, "", fmt.Errorf("store: list events: %w", err)
		}
		events = append(events, e)
		lastID = id
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: list events: %w", err)
	}
	return events, "", nil
}

// eventsQuery builds ListEvents' statement, asking for one row more than
// the page to learn whether another page follows.
func eventsQuery(issueID int64, cursor string, limit int, environment string) (*query, int, error) {
	q := &query{}
	q.add(`SELECT `, eventCols, ` FROM events e WHERE e.issue_id = `, q.arg(issueID))
	q.inEnvironment("e", environment)
	if cursor != "" {
		at, id, err := decodeCursor(cursor, eventsOrder)
		if err != nil {
			return nil, 0, err
		}
		q.add(` AND (e.occurred_at, e.id) < (`, q.arg(at), `, `, q.arg(id), `)`)
	}
	limit = pageSize(limit)
	q.add(` ORDER BY e.occurred_at DESC, e.id DESC LIMIT `, q.arg(limit+1))
	return q, limit, nil
}

// GetEvent returns the event with ID eventID of a project v may see, with
// its payload. Event IDs are unique per project only, and ingest keeps the
// ID an SDK sends, so anyone with one project's key can reuse another
// project's event ID: when projects v may see hold the ID more than once,
// GetEvent answers an *AmbiguousEventError (ErrAmbiguous) listing those
// projects rather than pick one, and the caller must name the project
// (GetProjectEvent) or issue (GetIssueEvent). A project v may not see
// never makes an ID ambiguous.
func (d *DB) GetEvent(ctx context.Context, v Viewer, eventID string) (EventRow, error) {
	if !storable(eventID) {
		return EventRow{}, fmt.Errorf("store: event %q: %w", eventID, ErrNotFound)
	}
	q := getEventQuery(v, eventID)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return EventRow{}, fmt.Errorf("store: event %s: %w", eventID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return EventRow{}, fmt.Errorf("store: event %s: %w", eventID, err)
		}
		return EventRow{}, fmt.Errorf("store: event %s: %w", eventID, ErrNotFound)
	}
	e, _, err := scanEvent(rows, true)
	if err != nil {
		return EventRow{}, fmt.Errorf("store: event %s: %w", eventID, err)
	}
	if rows.Next() {
		rows.Close()
		return EventRow{}, d.ambiguousEvent(ctx, v, eventID)
	}
	if err := rows.Err(); err != nil {
		return EventRow{}, fmt.Errorf("store: event %s: %w", eventID, err)
	}
	return e, nil
}

// ambiguousEvent is the error of GetEvent for an ID in more than one of
// the projects v may see: an *AmbiguousEventError naming them.
func (d *DB) ambiguousEvent(ctx context.Context, v Viewer, eventID string) error {
	q := &query{}
	q.add(`SELECT e.project_id FROM events e WHERE e.event_id = `, q.arg(eventID), ` AND `, q.visible(v, "e.project_id"),
		` ORDER BY e.project_id LIMIT `, q.arg(MaxAmbiguousProjects))
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return fmt.Errorf("store: projects of event %s: %w", eventID, err)
	}
	defer rows.Close()
	amb := &AmbiguousEventError{EventID: eventID}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("store: projects of event %s: %w", eventID, err)
		}
		amb.ProjectIDs = append(amb.ProjectIDs, id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: projects of event %s: %w", eventID, err)
	}
	return amb
}

// GetProjectEvent returns the event with ID eventID of project projectID,
// with its payload, if v may see the project.
func (d *DB) GetProjectEvent(ctx context.Context, v Viewer, projectID int64, eventID string) (EventRow, error) {
	if !storable(eventID) {
		return EventRow{}, fmt.Errorf("store: event %q of project %d: %w", eventID, projectID, ErrNotFound)
	}
	q := &query{}
	q.add(`SELECT `, eventCols, `, e.payload FROM events e WHERE e.event_id = `, q.arg(eventID),
		` AND e.project_id = `, q.arg(projectID), ` AND `, q.visibleProject(v, projectID))
	e, _, err := scanEvent(d.db.QueryRowContext(ctx, q.sql(), q.args...), true)
	if err != nil {
		return EventRow{}, fmt.Errorf("store: event %s of project %d: %w", eventID, projectID, notFound(err))
	}
	return e, nil
}

// GetIssueEvent returns the event with ID eventID of issue issueID, with
// its payload, if v may see the issue. An event of another issue, even of
// the same project, is ErrNotFound.
func (d *DB) GetIssueEvent(ctx context.Context, v Viewer, issueID int64, eventID string) (EventRow, error) {
	if !storable(eventID) {
		return EventRow{}, fmt.Errorf("store: event %q of issue %d: %w", eventID, issueID, ErrNotFound)
	}
	q := &query{}
	issue := q.arg(issueID)
	q.add(`SELECT `, eventCols, `, e.payload FROM events e WHERE e.event_id = `, q.arg(eventID), ` AND e.issue_id = `, issue,
		` AND EXISTS (SELECT 1 FROM issues i WHERE i.id = `, issue, ` AND i.project_id = e.project_id AND `, q.visible(v, "i.project_id"), `)`)
	e, _, err := scanEvent(d.db.QueryRowContext(ctx, q.sql(), q.args...), true)
	if err != nil {
		return EventRow{}, fmt.Errorf("store: event %s of issue %d: %w", eventID, issueID, notFound(err))
	}
	return e, nil
}

// LatestEvent returns the newest event of an issue v may see, with its
// payload; ErrNotFound when retention removed them all. A non-empty
// environment returns the newest of the issue's events in it, and
// ErrNotFound when the issue has none stored there.
func (d *DB) LatestEvent(ctx context.Context, v Viewer, issueID int64, environment string) (EventRow, error) {
	q := latestEventQuery(v, issueID, environment)
	e, _, err := scanEvent(d.db.QueryRowContext(ctx, q.sql(), q.args...), true)
	if err != nil {
		return EventRow{}, fmt.Errorf("store: latest event of issue %d: %w", issueID, notFound(err))
	}
	return e, nil
}

// inEnvironment restricts the events aliased alias to those of
// environment, unless it is empty. The events_issue_environment index
// serves it with the issue: an issue's events in one environment are read
// in time order without reading its events elsewhere. The environment is
// cut as saving cuts it, as GetIssueIn looks it up.
func (q *query) inEnvironment(alias, environment string) {
	if environment != "" {
		q.add(` AND `, alias, `.environment = `, q.arg(truncate(environment, MaxTagLength)))
	}
}

func getEventQuery(v Viewer, eventID string) *query {
	q := &query{}
	q.add(`SELECT `, eventCols, `, e.payload FROM events e WHERE e.event_id = `, q.arg(eventID),
		` AND `, q.visible(v, "e.project_id"), ` LIMIT 2`)
	return q
}

func latestEventQuery(v Viewer, issueID int64, environment string) *query {
	q := &query{}
	issue := q.arg(issueID)
	// The visibility test does not depend on the event row, so the
	// planner evaluates it once and reads the index in order.
	q.add(`SELECT `, eventCols, `, e.payload FROM events e WHERE e.issue_id = `, issue)
	q.inEnvironment("e", environment)
	q.add(` AND EXISTS (SELECT 1 FROM issues i WHERE i.id = `, issue, ` AND `, q.visible(v, "i.project_id"), `)`,
		` ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1`)
	return q
}

// adjacentEventsQuery finds the events either side of one event of an
// issue, and the issue's oldest before it, ordered like ListEvents (time,
// then row ID), among the issue's events in environment when it is not
// empty. The event is found by its ID; the unary + keeps SQLite from
// reading all of the issue's events through the (issue_id, ...) index
// instead.
func adjacentEventsQuery(v Viewer, issueID int64, eventID, environment string) *query {
	q := &query{}
	issue := q.arg(issueID)
	q.add(`SELECT
		COALESCE((SELECT f.event_id FROM events f WHERE f.issue_id = e.issue_id`)
	q.inEnvironment("f", environment)
	q.add(` AND (f.occurred_at, f.id) < (e.occurred_at, e.id)
			ORDER BY f.occurred_at, f.id LIMIT 1), ''),
		COALESCE((SELECT o.event_id FROM events o WHERE o.issue_id = e.issue_id`)
	q.inEnvironment("o", environment)
	q.add(` AND (o.occurred_at, o.id) < (e.occurred_at, e.id)
			ORDER BY o.occurred_at DESC, o.id DESC LIMIT 1), ''),
		COALESCE((SELECT n.event_id FROM events n WHERE n.issue_id = e.issue_id`)
	q.inEnvironment("n", environment)
	q.add(` AND (n.occurred_at, n.id) > (e.occurred_at, e.id)
			ORDER BY n.occurred_at, n.id LIMIT 1), '')
		FROM events e WHERE e.event_id = `, q.arg(eventID), ` AND +e.issue_id = `, issue,
		` AND EXISTS (SELECT 1 FROM issues i WHERE i.id = `, issue, ` AND `, q.visible(v, "i.project_id"), `)`)
	return q
}

// AdjacentEvents are the IDs of the events around one event of an issue,
// "" where there is none: Oldest and Older are "" for the issue's oldest
// event, Newer for its newest.
type AdjacentEvents struct {
	Oldest, Older, Newer string
}

// AdjacentEvents returns the events just older and just newer than an
// event of an issue v may see, and the oldest, in the order ListEvents
// pages through them, for event navigation. A non-empty environment steps
// only through the issue's events in it (the event itself may be of
// another). An event that is not the issue's is ErrNotFound.
func (d *DB) AdjacentEvents(ctx context.Context, v Viewer, issueID int64, eventID, environment string) (AdjacentEvents, error) {
	if !storable(eventID) {
		return AdjacentEvents{}, fmt.Errorf("store: events next to %q: %w", eventID, ErrNotFound)
	}
	q := adjacentEventsQuery(v, issueID, eventID, environment)
	var a AdjacentEvents
	if err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&a.Oldest, &a.Older, &a.Newer); err != nil {
		return AdjacentEvents{}, fmt.Errorf("store: events next to %s: %w", eventID, notFound(err))
	}
	return a, nil
}
