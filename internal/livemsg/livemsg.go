// Package livemsg is the message the processor sends to open dashboard
// pages when it stores an event, and the two ways it travels. It is a leaf:
// the processor Lambda links it without the WebSocket server in
// internal/live, which fans the messages out to browsers.
//
// With SQLite (one process) messages go to a Publisher, the process's live
// hub, strictly after the transaction that stored their events committed.
// With PostgreSQL the processor sends them with Notify inside that
// transaction, so they reach every dashboard process's listener when, and
// only if, it commits.
//
// Delivery is best effort: a message sent while a listener reconnects is
// lost, and a subscriber too slow to keep up is cut off (so it knows to
// reload, or to fetch what it missed from GET /api/v1/events). Pages are
// always right after a reload.
package livemsg

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// Channel is the PostgreSQL NOTIFY channel of live messages.
const Channel = "flytrap_live"

// Limits that keep an encoded Message well below PostgreSQL's NOTIFY
// payload limit (8000 bytes) even when every byte of the title needs a
// six-byte JSON escape.
const (
	// MaxTitleRunes is the most runes of a title or culprit a Message
	// carries; a toast shows less than that anyway.
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
	// Title, Level, Culprit (where it happened: function and file) and
	// Environment are the event's own.
	Title       string `json:"title"`
	Level       string `json:"level,omitempty"`
	Culprit     string `json:"culprit,omitempty"`
	Environment string `json:"environment,omitempty"`
	// IssueTitle and Status are the issue's after the event was stored.
	// The issue keeps the title of its newest event by the SDK's
	// timestamp, which need not be this one.
	IssueTitle string `json:"issue_title,omitempty"`
	Status     string `json:"status,omitempty"`
	// Count is the issue's event count after the event was stored.
	Count   int64  `json:"count"`
	EventID string `json:"event_id,omitempty"`
	// At is when the event was received.
	At time.Time `json:"at"`
}

// Publisher delivers a Message to the pages of one process. The processor
// calls it only after the transaction that stored the event committed, and
// it must not block: a slow page loses messages, not the processor's time.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// Execer runs a statement; *sql.Tx is the one that matters, as a NOTIFY
// inside a transaction is delivered when it commits.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Notify sends msgs on Channel, in order, with one statement. Run in a
// transaction, PostgreSQL delivers them to every LISTENing connection when
// it commits and drops them if it rolls back.
func Notify(ctx context.Context, tx Execer, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	var q strings.Builder
	args := make([]any, len(msgs))
	q.WriteString("SELECT ")
	for i, m := range msgs {
		payload, err := Encode(m)
		if err != nil {
			return err
		}
		args[i] = payload
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("pg_notify('" + Channel + "', $" + strconv.Itoa(i+1) + ")")
	}
	if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("livemsg: notify %d messages: %w", len(msgs), err)
	}
	return nil
}

// Trimmed returns m with its strings cut to the lengths a Message may
// carry, so that both ways of sending it deliver the same thing.
func (m Message) Trimmed() Message {
	m.Title = truncate(m.Title, MaxTitleRunes)
	m.IssueTitle = truncate(m.IssueTitle, MaxTitleRunes)
	m.Level = truncate(m.Level, maxShortRunes)
	m.Status = truncate(m.Status, maxShortRunes)
	m.EventID = truncate(m.EventID, maxShortRunes)
	m.Culprit = truncate(m.Culprit, MaxTitleRunes)
	m.Environment = truncate(m.Environment, maxShortRunes)
	return m
}

// Encode trims m and returns its JSON, which always fits a NOTIFY payload.
func Encode(m Message) (string, error) {
	b, err := json.Marshal(m.Trimmed())
	if err != nil {
		return "", fmt.Errorf("livemsg: encode message: %w", err)
	}
	if len(b) > maxPayload {
		// Unreachable with the limits above; kept so a future field cannot
		// make NOTIFY fail in a way that is hard to trace.
		return "", fmt.Errorf("livemsg: message of %d bytes exceeds the NOTIFY limit", len(b))
	}
	return string(b), nil
}

// Decode parses a payload written by Encode.
func Decode(payload string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return Message{}, fmt.Errorf("livemsg: decode message: %w", err)
	}
	if m.Type == "" || m.ProjectID <= 0 {
		return Message{}, fmt.Errorf("livemsg: decode message: type and project_id are required")
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
