package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/scrub"
)

// feedOrder names the feed's ordering in cursors.
const feedOrder = "feed"

// FeedFilter selects the events of Feed. Zero fields mean "any".
type FeedFilter struct {
	// Since is the earliest receive time.
	Since       time.Time
	ProjectIDs  []int64
	Level       string
	Environment string
	Cursor      string // opaque, from a previous page
	Limit       int    // default 25, at most 100
}

// FeedEvent is an event with what a one-line summary needs of its issue.
// EventRow has no payload.
type FeedEvent struct {
	EventRow
	// Culprit is the event's own, as the processor derived it for the
	// live stream (EventCulprit), not its issue's, which is its newest
	// event's.
	Culprit string
	// IssueTitle, Count and Status are the issue's now.
	IssueTitle string
	Count      int64
	Status     string
}

// Feed returns the events of the projects v may see received since
// f.Since, in the order they were received (oldest first), and the cursor
// of the next page ("" on the last). It is what a live tail reads to fill
// the gap after it lost its stream.
func (d *DB) Feed(ctx context.Context, v Viewer, f FeedFilter) ([]FeedEvent, string, error) {
	q := &query{}
	q.add(`SELECT `, eventCols, `, e.payload, i.title, i.count, i.status FROM events e JOIN issues i ON i.id = e.issue_id WHERE `,
		q.visible(v, "e.project_id"), ` AND e.received_at >= `, q.arg(millis(f.Since)))
	if len(f.ProjectIDs) > 0 {
		q.add(` AND e.project_id IN (`)
		for i, id := range f.ProjectIDs {
			if i > 0 {
				q.add(`, `)
			}
			q.add(q.arg(id))
		}
		q.add(`)`)
	}
	if f.Level != "" {
		q.add(` AND e.level = `, q.arg(f.Level))
	}
	if f.Environment != "" {
		q.add(` AND e.environment = `, q.arg(f.Environment))
	}
	if f.Cursor != "" {
		at, id, err := decodeCursor(f.Cursor, feedOrder)
		if err != nil {
			return nil, "", err
		}
		q.add(` AND (e.received_at > `, q.arg(at), ` OR (e.received_at = `, q.arg(at), ` AND e.id > `, q.arg(id), `))`)
	}
	// Each event's culprit is derived from its payload, which is read one
	// row at a time and dropped: a page of 100 events of 1 MiB each must
	// not be held at once.
	scrubs, err := d.scrubConfigs(ctx, v, f.ProjectIDs)
	if err != nil {
		return nil, "", fmt.Errorf("store: feed: %w", err)
	}
	limit := pageSize(f.Limit)
	q.add(` ORDER BY e.received_at, e.id LIMIT `, q.arg(limit+1))
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, "", fmt.Errorf("store: feed: %w", err)
	}
	defer rows.Close()
	events := []FeedEvent{}
	var lastID int64
	for rows.Next() {
		if len(events) == limit {
			return events, encodeCursor(feedOrder, millis(events[limit-1].Received), lastID), nil
		}
		var fe FeedEvent
		e, id, err := scanEvent(scanFunc(func(dest ...any) error {
			return rows.Scan(append(dest, &fe.IssueTitle, &fe.Count, &fe.Status)...)
		}), true)
		if err != nil {
			return nil, "", fmt.Errorf("store: feed: %w", err)
		}
		c, ok := scrubs[e.ProjectID]
		if !ok {
			// A project made since the settings were read.
			c = DefaultPrivacy.ScrubConfig()
		}
		if fe.Culprit, err = eventCulprit(e.Payload, c); err != nil {
			return nil, "", fmt.Errorf("store: feed: event %s: %w", e.EventID, err)
		}
		e.Payload = nil
		fe.EventRow = e
		events = append(events, fe)
		lastID = id
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("store: feed: %w", err)
	}
	return events, "", nil
}

// eventCulprit is the culprit of the stored event payload, as the
// processor derived it for its live message and the issue (see
// SaveRequest and scrub.IssueCulprit), under scrubbing c: events keep no
// culprit of their own, since a column written with every event would
// cost each save for the feed's sake. Settings changed since the event
// was saved apply to a culprit derived from its transaction or frames.
func eventCulprit(payload []byte, c scrub.Config) (string, error) {
	var ev event.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return "", err
	}
	culprit := scrub.IssueCulprit(ev, c)
	if culprit == "" {
		culprit = ev.Culprit()
	}
	return truncate(culprit, MaxTitleLength), nil
}

// scanFunc is a scanner made of a function.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
