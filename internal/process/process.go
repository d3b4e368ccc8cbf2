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
	"net/url"
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

// attachCodeContexts puts each Flytrap code context on the frame at the
// same file and line. Ingest stores a context as the plain source lines the
// SDK captured (see event.CodeContext); they are split here, where the
// frame's line is known, into pre_context, context_line and post_context.
func attachCodeContexts(ex *event.Exception) {
	for _, cc := range ex.CodeContexts {
		for i := range ex.Frames {
			f := &ex.Frames[i]
			if f.ContextLine != "" || len(f.PreContext) > 0 || f.Lineno != cc.Line {
				continue
			}
			if sameFile(f, cc.File) {
				f.PreContext, f.ContextLine, f.PostContext = splitContext(cc.Context, cc.Line)
				break
			}
		}
	}
}

// contextRadius is how many lines the Flytrap SDKs capture on either side
// of the frame's line.
const contextRadius = 5

// splitContext finds the frame's line in the lines the SDKs send: they
// start at line-5, or at the file's first line when the frame is nearer
// the top (an error on line 4 sends lines 1-9), and end at line+5 or the
// file's end, which does not move the frame's line. A single line is the
// frame's line itself, as older or hand-written clients send it. A context
// too short to reach that position came from a different window, and its
// last line is taken as the frame's, so nothing sent is hidden.
func splitContext(text string, line int) (pre []string, current string, post []string) {
	lines := strings.Split(text, "\n")
	at := min(max(line-1, 0), contextRadius, len(lines)-1)
	return lines[:at], lines[at], lines[at+1:]
}

// sameFile matches a code context's file to a frame. The server SDKs send
// the frame's path; the browser SDKs send the stack line up to the line
// number ("at renderCart (http://host/app.js"), whose URL is compared by
// path, as the frame's host may differ in spelling and its query string
// (cache busters) is not part of the file.
func sameFile(f *event.Frame, file string) bool {
	file = stackLineFile(file)
	if file == "" {
		return false
	}
	filePath := urlPath(file)
	for _, p := range []string{f.AbsPath, f.Filename} {
		if p == "" {
			continue
		}
		if p == file || strings.HasSuffix(p, "/"+strings.TrimPrefix(file, "/")) {
			return true
		}
		if filePath != "" && (p == filePath || urlPath(p) == filePath) {
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

// stackLineFile strips what a stack line puts before the file: V8's "at "
// and "at name (", Firefox's and Safari's "name@".
func stackLineFile(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "at "); ok {
		s = strings.TrimSpace(rest)
		if i := strings.LastIndex(s, " ("); i >= 0 {
			s = s[i+2:]
		}
		return strings.TrimPrefix(s, "(")
	}
	if i := strings.Index(s, "@"); i >= 0 && !strings.Contains(s[:i], "/") {
		return s[i+1:]
	}
	return s
}

// urlPath is the path of an absolute http(s) URL, "" for anything else.
func urlPath(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path == "" {
		return ""
	}
	return u.Path
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
