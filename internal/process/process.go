// Package process turns queued events into stored issues: it parses text
// stacks, scrubs secrets, fingerprints, groups and saves. It is the same
// code in `flytrap dev` (worker goroutines) and in the processor Lambda.
package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/grouping"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/stacktrace"
	"github.com/getflytrap/flytrap/internal/store"
)

// Saver stores a processed event and updates its issue atomically.
type Saver interface {
	SaveEvent(ctx context.Context, req store.SaveRequest) (store.SaveResult, error)
}

// ErrMalformed marks a message that is not a processable event. Ingest never
// queues one, so it points at a bug or a foreign producer; the queue's retry
// limit moves it to the dead-letter table where an operator can inspect it.
var ErrMalformed = errors.New("malformed queue message")

// IssueReader reads an issue after its event was saved, for the count,
// title and status a live message carries; *store.DB satisfies it.
type IssueReader interface {
	GetIssue(ctx context.Context, v store.Viewer, id int64) (store.Issue, error)
}

// publishTimeout bounds one publish, so a database that is slow to NOTIFY
// delays the queue by at most this much per event.
const publishTimeout = 5 * time.Second

// Processor processes one queued event at a time and is safe for concurrent
// use.
type Processor struct {
	saver   Saver
	log     *slog.Logger
	pub     live.Publisher
	issues  IssueReader
	privacy *privacyCache
}

// New returns a Processor that saves through s.
func New(s Saver, log *slog.Logger) *Processor {
	return &Processor{saver: s, log: log}
}

// WithPublisher returns a copy of p that publishes a live.Message after each
// event it stores (duplicates publish nothing): live.TypeNewIssue,
// live.TypeRegression, else live.TypeEvent.
//
// The message's count, title and status come from reading the issue through
// issues after the save, which costs one primary-key lookup per event. The
// store's SaveResult does not carry them, and a count the browser adds up
// itself would drift whenever a message is lost. issues may be nil: then
// TypeEvent messages have Count 0 ("add one") and the request's title.
//
// Publishing happens after the event's transaction committed and is best
// effort: a failure is logged and processing still succeeds, and a crash
// in between loses the message (the redelivered event is a duplicate).
func (p *Processor) WithPublisher(pub live.Publisher, issues IssueReader) *Processor {
	q := *p
	q.pub, q.issues = pub, issues
	return &q
}

// Process handles one queue message body (the JSON of an event.Event).
// Processing the same event twice stores it once: SaveEvent is idempotent
// per event_id.
func (p *Processor) Process(ctx context.Context, body []byte) (store.SaveResult, error) {
	var ev event.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return store.SaveResult{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if ev.EventID == "" || ev.ProjectID <= 0 {
		return store.SaveResult{}, fmt.Errorf("%w: event_id and project_id are required", ErrMalformed)
	}
	Normalize(&ev)
	if err := p.scrub(ctx, &ev); err != nil {
		return store.SaveResult{}, err
	}
	g := grouping.Group(&ev)
	title := ev.Title()
	res, err := p.saver.SaveEvent(ctx, store.SaveRequest{
		Event:           &ev,
		Fingerprint:     g.Hash,
		GroupingVersion: g.Version,
		Title:           title,
		Culprit:         displayCulprit(ev),
		UserKey:         userKey(ev.User),
	})
	if err != nil {
		return res, fmt.Errorf("save event %s: %w", ev.EventID, err)
	}
	if p.log != nil && !res.Duplicate {
		p.log.Debug("event stored", "event_id", ev.EventID, "issue_id", res.IssueID, "new_issue", res.NewIssue, "regression", res.Regression)
	}
	if p.pub != nil && !res.Duplicate {
		p.publish(ctx, &ev, title, res)
	}
	return res, nil
}

// publish tells live pages about a stored event. It never fails the event.
func (p *Processor) publish(ctx context.Context, ev *event.Event, title string, res store.SaveResult) {
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	m := live.Message{
		Type:      live.TypeEvent,
		ProjectID: ev.ProjectID,
		IssueID:   res.IssueID,
		Title:     title,
		Level:     ev.Level,
		EventID:   ev.EventID,
		At:        ev.Received.UTC(),
	}
	if m.At.IsZero() {
		m.At = time.Now().UTC()
	}
	switch {
	case res.NewIssue:
		m.Type, m.Status, m.Count = live.TypeNewIssue, store.StatusUnresolved, 1
	case res.Regression:
		m.Type, m.Status = live.TypeRegression, store.StatusUnresolved
	}
	if p.issues != nil {
		is, err := p.issues.GetIssue(ctx, store.System, res.IssueID)
		if err == nil {
			m.Title, m.Level, m.Status, m.Count = is.Title, is.Level, is.Status, is.Count
		} else {
			// Deleted meanwhile, or the database is busy: the message
			// still says something happened.
			p.logger().Warn("live: read issue for message", "issue_id", res.IssueID, "err", err)
		}
	}
	if err := p.pub.Publish(ctx, m); err != nil {
		p.logger().Warn("live: publish failed", "event_id", ev.EventID, "issue_id", res.IssueID, "err", err)
	}
}

func (p *Processor) logger() *slog.Logger {
	if p.log != nil {
		return p.log
	}
	return slog.Default()
}

// Normalize completes an event before grouping: text stacks become frames,
// Flytrap code contexts attach to their frames, in-app flags get defaults,
// an exception known only by its stack gets a type and value, and AWS
// Lambda invocation data becomes tags.
func Normalize(ev *event.Event) {
	for i := range ev.Exceptions {
		ex := &ev.Exceptions[i]
		if len(ex.Frames) == 0 && ex.RawStack != "" {
			ex.Frames = stacktrace.Parse(ex.RawStack)
			if ex.Type == "" && ex.Value == "" {
				ex.Type, ex.Value = stacktrace.ParseTitle(ex.RawStack)
			}
		}
		attachCodeContexts(ex)
		stacktrace.MarkInApp(ex.Frames, ev.Platform)
	}
	if ev.Level == "" || !event.ValidLevel(ev.Level) {
		ev.Level = "error"
	}
	promoteLambdaTags(ev)
}

// attachCodeContexts copies each Flytrap code context onto the frame at the
// same file and line; the SDK captured the line the frame points at.
func attachCodeContexts(ex *event.Exception) {
	for _, cc := range ex.CodeContexts {
		for i := range ex.Frames {
			f := &ex.Frames[i]
			if f.ContextLine != "" || f.Lineno != cc.Line {
				continue
			}
			if sameFile(f, cc.File) {
				f.ContextLine = cc.Context
				break
			}
		}
	}
}

func sameFile(f *event.Frame, file string) bool {
	if file == "" {
		return false
	}
	for _, p := range []string{f.AbsPath, f.Filename} {
		if p == file || strings.HasSuffix(p, "/"+strings.TrimPrefix(file, "/")) {
			return true
		}
	}
	return false
}

// displayCulprit is the event's culprit with the file names shown as the
// issue page shows them (stacktrace.DisplayNames): the same code gets the
// same culprit whichever SDK reported it. Grouping keeps the raw culprit.
func displayCulprit(ev event.Event) string {
	n := len(ev.Exceptions)
	if ev.Transaction != "" || n == 0 {
		return ev.Culprit()
	}
	frames := slices.Clone(ev.Exceptions[n-1].Frames)
	for i, name := range stacktrace.DisplayNames(frames) {
		frames[i].Filename, frames[i].AbsPath = name, ""
	}
	last := ev.Exceptions[n-1]
	last.Frames = frames
	ev.Exceptions = append(slices.Clone(ev.Exceptions[:n-1]), last)
	return ev.Culprit()
}

// userKey picks the most stable identity the SDK sent, prefixed so that an
// id "42" and a username "42" count as different users.
func userKey(u *event.User) string {
	if u == nil {
		return ""
	}
	switch {
	case u.ID != "":
		return "id:" + u.ID
	case u.Email != "":
		return "email:" + strings.ToLower(u.Email)
	case u.Username != "":
		return "username:" + u.Username
	case u.IPHash != "":
		return "ip:" + u.IPHash
	}
	return ""
}
