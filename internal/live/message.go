// Package live carries "something happened to an issue" messages from the
// processor to open dashboard pages.
//
// The processor hands each Message to a Publisher. With SQLite (one process)
// the Publisher is the Hub itself; with PostgreSQL it is a PGPublisher that
// runs pg_notify, and every dashboard process runs a Listener that feeds
// its own Hub, so all processes on one database see every message. The Hub
// fans messages out to per-project rooms, and Handler serves those rooms to
// browsers over a WebSocket.
//
// Delivery is best effort: a message published while a listener reconnects,
// or one a slow subscriber has no room for, is lost. Pages are always right
// after a reload, so live updates only need to be timely, not complete.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Message types.
const (
	// TypeNewIssue: the event created its issue.
	TypeNewIssue = "issue.new"
	// TypeRegression: the event reopened a resolved issue.
	TypeRegression = "issue.regression"
	// TypeEvent: the event joined an existing issue.
	TypeEvent = "issue.event"
)

// Limits that keep an encoded Message well below PostgreSQL's NOTIFY
// payload limit (8000 bytes) even when every byte of the title needs a
// six-byte JSON escape.
const (
	// MaxTitleRunes is the most runes of an issue title a Message carries;
	// a toast shows less than that anyway.
	MaxTitleRunes = 200
	// maxShortRunes bounds level, status and event ID, which are short
	// unless something upstream went wrong.
	maxShortRunes = 64
	// maxPayload is PostgreSQL's limit minus the terminating NUL.
	maxPayload = 7999
)

// Message says that an event was stored for an issue. It is sent to browsers
// as a JSON text frame.
type Message struct {
	Type      string `json:"type"`
	ProjectID int64  `json:"project_id"`
	IssueID   int64  `json:"issue_id"`
	// Title, Level and Status are the issue's after the event was stored.
	Title  string `json:"title"`
	Level  string `json:"level,omitempty"`
	Status string `json:"status,omitempty"`
	// Count is the issue's event count after the event was stored, or 0
	// when the publisher could not read it; a page then adds one to what it
	// shows.
	Count   int64  `json:"count"`
	EventID string `json:"event_id,omitempty"`
	// At is when the event was received.
	At time.Time `json:"at"`
}

// Publisher sends a Message to every process that serves live pages.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// trimmed returns m with its strings cut to the lengths a Message may carry,
// so that both backends send the same thing.
func (m Message) trimmed() Message {
	m.Title = truncate(m.Title, MaxTitleRunes)
	m.Level = truncate(m.Level, maxShortRunes)
	m.Status = truncate(m.Status, maxShortRunes)
	m.EventID = truncate(m.EventID, maxShortRunes)
	return m
}

// encode trims m and returns its JSON, which always fits a NOTIFY payload.
func encode(m Message) (string, error) {
	b, err := json.Marshal(m.trimmed())
	if err != nil {
		return "", fmt.Errorf("live: encode message: %w", err)
	}
	if len(b) > maxPayload {
		// Unreachable with the limits above; kept so a future field cannot
		// make NOTIFY fail in a way that is hard to trace.
		return "", fmt.Errorf("live: message of %d bytes exceeds the NOTIFY limit", len(b))
	}
	return string(b), nil
}

// decode parses a payload written by encode.
func decode(payload string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return Message{}, fmt.Errorf("live: decode message: %w", err)
	}
	if m.Type == "" || m.ProjectID <= 0 {
		return Message{}, fmt.Errorf("live: decode message: type and project_id are required")
	}
	return m, nil
}

// truncate keeps at most n runes of s; each invalid byte counts as one.
func truncate(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
