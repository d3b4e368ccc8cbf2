// Package process turns queued events into stored issues. It is the same
// code in `flytrap dev` (worker goroutines) and in the processor Lambda: a
// batch of queue messages goes through an explicit, ordered list of stages
// (see New), the last of which saves the whole batch in one transaction.
package process

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/grouping"
	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/logthrottle"
	"github.com/getflytrap/flytrap/internal/scrub"
	"github.com/getflytrap/flytrap/internal/stacktrace"
	"github.com/getflytrap/flytrap/internal/store"
)

// Saver stores a batch of processed events and updates their issues in one
// transaction, running hooks inside it, and stores user feedback;
// *store.DB satisfies it.
type Saver interface {
	SaveBatch(ctx context.Context, reqs []store.SaveRequest, hooks ...store.TxHook) ([]store.SaveResult, error)
	SaveFeedback(ctx context.Context, reqs []store.FeedbackRequest) ([]store.FeedbackResult, error)
	SaveSessions(ctx context.Context, reqs []store.SessionsRequest) ([]store.SessionsResult, error)
	SaveCheckIns(ctx context.Context, reqs []store.CheckInRequest) ([]store.CheckInResult, error)
}

// Symbolicator rewrites an event's frames to their original source
// (JavaScript source maps): file, line, column, function name and context.
// It is the slot between parsing stacks and attaching code contexts and
// marking in-app frames, which both need the original files. An event
// without a map keeps its frames, and the Symbolicator says so on the
// event; an error means the maps could not be read, and the event is
// retried.
type Symbolicator interface {
	Symbolicate(ctx context.Context, ev *event.Event) error
}

// Config is everything the processor depends on.
type Config struct {
	// Saver stores events; required.
	Saver Saver
	// Notify, when not nil, sends the live messages of a batch's stored
	// events from inside the batch's transaction: livemsg.Notify on
	// PostgreSQL, where every dashboard process listens. The messages go
	// out when, and only if, the batch commits, and a failure rolls the
	// batch back like any other save error.
	Notify func(ctx context.Context, tx livemsg.Execer, msgs []livemsg.Message) error
	// Outbox, when not nil, writes the batch's alert notifications inside
	// its transaction (store.DB.AlertHook), so they commit with the
	// events that cause them or not at all.
	Outbox store.TxHook
	// Publisher, when not nil, receives the same messages strictly after
	// the commit, built from the state the transaction returned: the
	// process's live hub with SQLite. A failure is logged and changes
	// nothing: the events are stored.
	Publisher livemsg.Publisher
	// Privacy reads each project's scrubbing settings (cached for
	// settingsTTL); nil scrubs every event with store.DefaultPrivacy.
	Privacy PrivacyReader
	// Filters reads each project's inbound filters (cached for
	// settingsTTL) and counts the events they drop; nil stores every
	// event.
	Filters FilterStore
	// Symbolicator is the symbolicate stage (symbolicate.New over the
	// artifact store); nil leaves frames as the SDK sent them.
	Symbolicator Symbolicator
	// Log receives processing warnings; nil is slog.Default().
	Log *slog.Logger
	// Now is the clock (nil: time.Now); it dates live messages of events
	// received without a time and expires cached privacy settings.
	Now func() time.Time
}

// ErrMalformed marks a message that is not a processable event. Ingest never
// queues one, so it points at a bug or a foreign producer; the queue's retry
// limit moves it to the dead-letter table where an operator can inspect it.
var ErrMalformed = errors.New("malformed queue message")

// Processor processes batches of queued events and is safe for concurrent
// use.
type Processor struct {
	cfg     Config
	privacy *projectCache[store.PrivacySettings]
	filters *projectCache[*inbound.Filter]
	stages  []stage
	// dropped throttles "dropped a check-in": a DSN may send hundreds
	// of check-ins a minute that are all dropped.
	dropped logthrottle.Throttle
}

// item is one queue message on its way through the stages.
type item struct {
	body []byte
	ev   event.Event
	req  store.SaveRequest // set by the group stage
	res  store.SaveResult  // set by the save stage
	err  error             // set by the stage that failed; later stages skip the item
	// orphan is set by the save stage for an event whose project was
	// deleted after ingest accepted it.
	orphan bool
	// scrub is the project's scrubbing configuration, set by the scrub
	// stage for the group stage's derived culprit.
	scrub scrub.Config
	// filtered is the inbound filter that dropped the event, set by the
	// filter stage: the later stages skip the item, and saving counts
	// it instead of storing it.
	filtered inbound.Reason
}

// work is a batch in flight. A stage that fails an item records why on it
// and leaves the rest of the batch alone.
type work struct {
	items []*item
}

// stage is one named step of processing.
type stage struct {
	name string
	run  func(ctx context.Context, w *work)
}

// New returns a Processor whose stages are, in order:
//
//   - decode: the message's JSON into an event (ErrMalformed without an
//     event ID or project), with an unknown level made "error";
//   - parse stacks: text stacks into frames, and a type and value for an
//     exception known only by its stack;
//   - filter: the project's inbound filters (Config.Filters), which drop
//     the event: it is counted, not stored;
//   - symbolicate: Config.Symbolicator, nothing without one;
//   - code contexts: the Flytrap SDKs' source lines onto their frames;
//   - in-app: frames of the app versus libraries and the SDKs themselves;
//   - lambda tags: AWS Lambda invocation data as tags;
//   - scrub: secrets and, per project, IP addresses out, before anything
//     is derived from the event;
//   - contexts: the browser, OS and device from the User-Agent where the
//     SDK sent none, and contexts promoted to tags, as Sentry does;
//   - group: fingerprint, title, culprit and user;
//   - save: the batch in one transaction, with its live messages.
//
// A message of user feedback (event.Event.Feedback set) goes through
// decode and scrub only, and is saved as feedback beside the batch. A
// message of sessions or check-ins alone (event.Event.SessionsOnly) goes
// through decode only. The sessions of every message of the batch, alone
// or beside an event, are counted after its events are saved, in one
// transaction, and its check-ins stored in another.
func New(cfg Config) *Processor {
	if cfg.Saver == nil {
		// A wiring mistake: fail at start-up, not on the first event.
		panic("process: Config.Saver is required (a *store.DB)")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Processor{cfg: cfg, dropped: logthrottle.Throttle{Every: 10 * time.Second}}
	if cfg.Privacy != nil {
		p.privacy = newProjectCache(func(ctx context.Context, projectID int64) (store.PrivacySettings, error) {
			return cfg.Privacy.ProjectPrivacy(ctx, store.System, projectID)
		}, store.DefaultPrivacy, cfg.Now)
	}
	if cfg.Filters != nil {
		p.filters = newProjectCache(func(ctx context.Context, projectID int64) (*inbound.Filter, error) {
			s, err := cfg.Filters.ProjectFilters(ctx, store.System, projectID)
			if err != nil {
				return nil, err
			}
			return inbound.Compile(s), nil
		}, inbound.Compile(inbound.Settings{}), cfg.Now)
	}
	p.stages = []stage{
		{"decode", anyItem(decode)},
		{"parse stacks", perEvent(parseStacks)},
		{"filter", perItem(p.filter)},
		{"symbolicate", perItem(p.symbolicate)},
		{"code contexts", perEvent(attachCodeContexts)},
		{"in-app", perEvent(markInApp)},
		{"lambda tags", perEvent(promoteLambdaTags)},
		{"scrub", notSessionsOnly(p.scrub)},
		{"contexts", perEvent(clientContexts)},
		{"group", perItem(group)},
		{"save", p.save},
	}
	return p
}

// anyItem makes a stage of fn, run on each item no earlier stage failed,
// user feedback included.
func anyItem(fn func(ctx context.Context, it *item) error) func(context.Context, *work) {
	return func(ctx context.Context, w *work) {
		for _, it := range w.items {
			if it.err == nil {
				it.err = fn(ctx, it)
			}
		}
	}
}

// perItem makes a stage of fn, run on each event no earlier stage failed
// nor an inbound filter dropped: user feedback and sessions have no stack,
// grouping or issue, and skip such stages.
func perItem(fn func(ctx context.Context, it *item) error) func(context.Context, *work) {
	return anyItem(func(ctx context.Context, it *item) error {
		if it.ev.Feedback != nil || it.ev.SessionsOnly || it.filtered != inbound.ReasonNone {
			return nil
		}
		return fn(ctx, it)
	})
}

// notSessionsOnly makes a stage of fn, run on each item no earlier stage
// failed but messages of sessions alone, which hold nothing to scrub, and
// events an inbound filter dropped, which are not stored.
func notSessionsOnly(fn func(ctx context.Context, it *item) error) func(context.Context, *work) {
	return anyItem(func(ctx context.Context, it *item) error {
		if it.ev.SessionsOnly || it.filtered != inbound.ReasonNone {
			return nil
		}
		return fn(ctx, it)
	})
}

// perEvent makes a stage of fn, which cannot fail.
func perEvent(fn func(ev *event.Event)) func(context.Context, *work) {
	return perItem(func(_ context.Context, it *item) error {
		fn(&it.ev)
		return nil
	})
}

// Outcome is what became of one message of a batch.
type Outcome struct {
	// Result is what saving did; zero when Err is set.
	Result store.SaveResult
	// Err is why the event was not stored: ErrMalformed for a message
	// that no retry can fix, else a failure worth retrying.
	Err error
	// Orphan is true, with no Err, for an event whose project was
	// deleted after ingest accepted it: nothing was stored, and no retry
	// would store it, so the message is done with.
	Orphan bool
	// Filtered names, with no Err, the inbound filter that dropped the
	// event: it was counted, not stored.
	Filtered inbound.Reason
}

// ProcessBatch runs bodies (each the JSON of an event.Event) through the
// stages and returns one Outcome per body, in order. A message that fails
// fails alone. Processing the same event twice stores it once: saving is
// idempotent per event_id, and a repeat is a Duplicate.
func (p *Processor) ProcessBatch(ctx context.Context, bodies [][]byte) []Outcome {
	w := &work{items: make([]*item, len(bodies))}
	for i, b := range bodies {
		w.items[i] = &item{body: b}
	}
	for _, s := range p.stages {
		s.run(ctx, w)
	}
	out := make([]Outcome, len(bodies))
	for i, it := range w.items {
		switch {
		case it.err != nil:
			out[i].Err = it.err
		case it.orphan:
			out[i].Orphan = true
		case it.filtered != inbound.ReasonNone:
			out[i].Filtered = it.filtered
		default:
			out[i].Result = it.res
		}
	}
	return out
}

// decode is the decode stage, on event.Unmarshal, where encoding/json
// took 7 and 12% of the server's CPU at 2 KB and 50 KB (docs/benchmarks.md).
func decode(_ context.Context, it *item) error {
	if err := event.Unmarshal(it.body, &it.ev); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if it.ev.EventID == "" || it.ev.ProjectID <= 0 {
		return fmt.Errorf("%w: event_id and project_id are required", ErrMalformed)
	}
	if !event.ValidLevel(it.ev.Level) {
		it.ev.Level = "error"
	}
	return nil
}

// parseStacks is the parse stacks stage: the Flytrap SDKs send text stacks
// (V8, Firefox, Safari, Python tracebacks), parsed into the frames Sentry
// SDKs send.
func parseStacks(ev *event.Event) {
	for i := range ev.Exceptions {
		ex := &ev.Exceptions[i]
		if len(ex.Frames) == 0 && ex.RawStack != "" {
			ex.Frames = stacktrace.Parse(ex.RawStack)
			if ex.Type == "" && ex.Value == "" {
				ex.Type, ex.Value = stacktrace.ParseTitle(ex.RawStack)
			}
		}
	}
}

// symbolicate is the symbolicate stage.
func (p *Processor) symbolicate(ctx context.Context, it *item) error {
	if p.cfg.Symbolicator == nil {
		return nil
	}
	if err := p.cfg.Symbolicator.Symbolicate(ctx, &it.ev); err != nil {
		return fmt.Errorf("symbolicate event %s: %w", it.ev.EventID, err)
	}
	return nil
}

// markInApp is the in-app stage: frames the SDK did not flag get defaults
// by path, and the SDKs' own frames are never the app's. The other
// threads' frames are marked too, for the issue page.
func markInApp(ev *event.Event) {
	for i := range ev.Exceptions {
		stacktrace.MarkInApp(ev.Exceptions[i].Frames, ev.Platform)
	}
	for i := range ev.Threads {
		stacktrace.MarkInApp(ev.Threads[i].Frames, ev.Platform)
	}
}

// group is the group stage: it turns the finished event into the request
// the store saves, with the hashes earlier grouping versions gave it, so
// that an issue made before an upgrade keeps its events.
func group(_ context.Context, it *item) error {
	g := grouping.Group(&it.ev)
	// Set before the title and culprit are taken from the event, and kept
	// with it, so that pages name the same exception.
	it.ev.MainExceptionID = g.MainExceptionID
	it.req = store.SaveRequest{
		Event:           &it.ev,
		Fingerprint:     g.Hash,
		GroupingVersion: g.Version,
		Title:           it.ev.Title(),
		Culprit:         scrub.IssueCulprit(it.ev, it.scrub),
		UserKey:         userKey(it.ev.User),
		// Only an event no issue has the hash of pays for this.
		Previous:        func() []string { return grouping.Previous(&it.ev, g.Hash) },
		FromOlderIngest: it.ev.Shape < event.CurrentShape,
	}
	return nil
}

// save is the save stage: the batch's events in one transaction. When that
// fails, each event is saved again on its own, so one that cannot be saved
// (its project was deleted, a value the database rejects) does not hold up
// the others.
func (p *Processor) save(ctx context.Context, w *work) {
	defer p.saveCheckIns(ctx, w.items)
	defer p.saveSessions(ctx, w.items)
	var ready, feedback, filtered []*item
	for _, it := range w.items {
		switch {
		case it.err != nil, it.ev.SessionsOnly:
		case it.filtered != inbound.ReasonNone:
			filtered = append(filtered, it)
		case it.ev.Feedback != nil:
			feedback = append(feedback, it)
		default:
			ready = append(ready, it)
		}
	}
	// After the events: a legacy user report takes its name and email
	// from the user of the event it is about (store.SaveFeedback), which
	// may be in this batch.
	defer p.saveFeedback(ctx, feedback)
	p.countFiltered(ctx, filtered)
	if len(ready) == 0 {
		return
	}
	err := p.saveBatch(ctx, ready)
	if err == nil || len(ready) == 1 {
		return
	}
	p.cfg.Log.Warn("batch save failed; saving its events one by one", "events", len(ready), "err", err)
	orphans := 0
	for _, it := range ready {
		it.err = nil
		// Each failure is recorded on its item.
		err := p.saveBatch(ctx, []*item{it})
		if errors.Is(err, store.ErrNotFound) {
			// Saving one event fails so only when its project is gone
			// (store.SaveBatch): retrying would fail the same way, five
			// times, and end in the dead-letter table.
			it.err, it.orphan = nil, true
			orphans++
		}
	}
	if orphans > 0 {
		p.cfg.Log.Info("dropped events of deleted projects", "events", orphans)
	}
}

// saveFeedback saves the batch's user feedback in one transaction of its
// own: it touches no issue, so the events' transaction does not wait for
// it, nor fail with it. A failure is recorded on each feedback, which is
// retried like an event.
func (p *Processor) saveFeedback(ctx context.Context, items []*item) {
	if len(items) == 0 {
		return
	}
	reqs := make([]store.FeedbackRequest, len(items))
	for i, it := range items {
		reqs[i] = store.FeedbackRequest{Event: &it.ev}
	}
	results, err := p.cfg.Saver.SaveFeedback(ctx, reqs)
	if err == nil && len(results) != len(items) {
		err = fmt.Errorf("the store returned %d results for %d feedback", len(results), len(items))
	}
	for i, it := range items {
		switch {
		case err != nil:
			it.err = fmt.Errorf("save feedback %s: %w", it.ev.EventID, err)
		case results[i].Orphan:
			it.orphan = true
		default:
			it.res = store.SaveResult{Duplicate: results[i].Duplicate}
		}
	}
}

// saveSessions counts the sessions of the items that were saved (or are
// sessions alone) in one transaction of their own, after the events: a
// message whose event failed is retried whole, and its sessions counted
// then. The store counts a message once, so the sessions of an event that
// is retried after its sessions were counted are not counted again. When
// the transaction fails, each message's sessions are counted again on
// their own, so that one the store cannot count (or another project's
// trouble) does not hold up the others; a failure is recorded on its item,
// which is retried.
func (p *Processor) saveSessions(ctx context.Context, items []*item) {
	var with []*item
	for _, it := range items {
		if it.err == nil && !it.orphan && it.ev.Sessions != nil {
			with = append(with, it)
		}
	}
	if len(with) == 0 {
		return
	}
	err := p.saveSessionsBatch(ctx, with)
	if err == nil || len(with) == 1 {
		return
	}
	p.cfg.Log.Warn("sessions save failed; saving its messages one by one", "messages", len(with), "err", err)
	for _, it := range with {
		it.err = nil
		// Each failure is recorded on its item.
		_ = p.saveSessionsBatch(ctx, []*item{it})
	}
}

// saveSessionsBatch counts the sessions of items in one transaction and
// records each one's result, or the error on all of them, which it also
// returns.
func (p *Processor) saveSessionsBatch(ctx context.Context, items []*item) error {
	reqs := make([]store.SessionsRequest, len(items))
	for i, it := range items {
		reqs[i] = store.SessionsRequest{Event: &it.ev}
	}
	results, err := p.cfg.Saver.SaveSessions(ctx, reqs)
	if err == nil && len(results) != len(items) {
		err = fmt.Errorf("the store returned %d results for %d messages of sessions", len(results), len(items))
	}
	for i, it := range items {
		switch {
		case err != nil:
			it.err = fmt.Errorf("save the sessions of message %s: %w", it.ev.EventID, err)
		case it.ev.SessionsOnly && results[i].Orphan:
			it.orphan = true
		case it.ev.SessionsOnly:
			it.res = store.SaveResult{Duplicate: results[i].Duplicate}
		}
	}
	return err
}

// saveCheckIns stores the check-ins of the items that were saved (or are
// check-ins alone) in one transaction of their own, after the sessions.
// Storing a check-in again changes nothing, so a message retried after its
// check-ins were stored is harmless. A check-in the store drops (a
// project at its monitors' bound) is logged; one of a monitor not made yet
// the store holds for the check-in that makes it, and the held ones that
// makes the store drop (the project's bound) are logged by project. A
// failure is recorded on each item, which is retried.
func (p *Processor) saveCheckIns(ctx context.Context, items []*item) {
	var (
		with []*item
		reqs []store.CheckInRequest
	)
	for _, it := range items {
		if it.err == nil && !it.orphan && it.ev.Crons != nil && len(it.ev.Crons.CheckIns) > 0 {
			with = append(with, it)
			for _, ci := range it.ev.Crons.CheckIns {
				reqs = append(reqs, store.CheckInRequest{ProjectID: it.ev.ProjectID, CheckIn: ci})
			}
		}
	}
	if len(with) == 0 {
		return
	}
	results, err := p.cfg.Saver.SaveCheckIns(ctx, reqs)
	if err == nil && len(results) != len(reqs) {
		err = fmt.Errorf("the store returned %d results for %d check-ins", len(results), len(reqs))
	}
	n := 0
	heldDropped := map[int64]int64{} // by project
	for _, it := range with {
		orphan, dup := false, true
		for _, ci := range it.ev.Crons.CheckIns {
			if err != nil {
				break
			}
			r := results[n]
			n++
			orphan = orphan || r.Orphan
			dup = dup && (r.Duplicate || r.Dropped != "")
			heldDropped[it.ev.ProjectID] += r.HeldDropped
			if r.Dropped != "" {
				if ok, held := p.dropped.Allow("dropped a check-in", p.cfg.Now()); ok {
					p.cfg.Log.Info("dropped a check-in", "project", it.ev.ProjectID, "monitor", ci.Slug, "check_in_id", ci.ID, "reason", r.Dropped, "not_logged_since", held)
				}
			}
		}
		switch {
		case err != nil:
			it.err = fmt.Errorf("save the check-ins of message %s: %w", it.ev.EventID, err)
		case !it.ev.SessionsOnly:
		case orphan:
			it.orphan = true
		case it.ev.Sessions == nil:
			it.res = store.SaveResult{Duplicate: dup}
		}
	}
	for _, pid := range slices.Sorted(maps.Keys(heldDropped)) {
		if heldDropped[pid] == 0 {
			continue
		}
		if ok, held := p.dropped.Allow("dropped held check-ins", p.cfg.Now()); ok {
			p.cfg.Log.Info("dropped held check-ins", "project", pid, "check_ins", heldDropped[pid],
				"reason", fmt.Sprintf("the project holds %d check-ins of monitors not made yet, the most it may; the oldest go first", store.MaxHeldCheckInsPerProject),
				"not_logged_since", held)
		}
	}
}

// saveBatch saves items in one transaction and records each one's result,
// or the error on all of them, which it also returns. Live messages go out
// inside the transaction (Notify) or after it (Publisher), from the
// results alone.
func (p *Processor) saveBatch(ctx context.Context, items []*item) error {
	reqs := make([]store.SaveRequest, len(items))
	for i, it := range items {
		reqs[i] = it.req
	}
	var hooks []store.TxHook
	if p.cfg.Outbox != nil {
		hooks = append(hooks, p.cfg.Outbox)
	}
	if p.cfg.Notify != nil {
		hooks = append(hooks, func(ctx context.Context, tx *sql.Tx, results []store.SaveResult) error {
			return p.cfg.Notify(ctx, tx, p.messages(items, results))
		})
	}
	results, err := p.cfg.Saver.SaveBatch(ctx, reqs, hooks...)
	if err == nil && len(results) != len(items) {
		err = fmt.Errorf("the store returned %d results for %d events", len(results), len(items))
	}
	if err != nil {
		for _, it := range items {
			it.err = fmt.Errorf("save event %s: %w", it.ev.EventID, err)
		}
		return err
	}
	for i, it := range items {
		it.res = results[i]
		if !it.res.Duplicate {
			p.cfg.Log.Debug("event stored", "event_id", it.ev.EventID, "issue_id", it.res.IssueID,
				"new_issue", it.res.NewIssue, "regression", it.res.Regression)
		}
	}
	if p.cfg.Publisher != nil {
		for _, m := range p.messages(items, results) {
			if err := p.cfg.Publisher.Publish(ctx, m); err != nil {
				p.cfg.Log.Warn("live: publish failed", "event_id", m.EventID, "issue_id", m.IssueID, "err", err)
			}
		}
	}
	return nil
}

// messages are the live messages of the stored (not duplicate) events:
// each says what its own event was (title, level, culprit), which the
// save's results carry with the issue's state, so that a late or
// concurrent event of an issue is not shown as the issue's newest one.
func (p *Processor) messages(items []*item, results []store.SaveResult) []livemsg.Message {
	var msgs []livemsg.Message
	for i, res := range results {
		if res.Duplicate {
			continue
		}
		ev := &items[i].ev
		m := livemsg.Message{
			Type:        livemsg.TypeEvent,
			ProjectID:   ev.ProjectID,
			IssueID:     res.IssueID,
			Title:       res.EventTitle,
			Level:       res.EventLevel,
			IssueTitle:  res.Title,
			Status:      res.Status,
			Count:       res.Count,
			EventID:     ev.EventID,
			Culprit:     res.EventCulprit,
			Environment: ev.Environment,
			At:          ev.Received.UTC(),
		}
		if ev.Received.IsZero() {
			m.At = p.cfg.Now().UTC()
		}
		switch {
		case res.NewIssue:
			m.Type = livemsg.TypeNewIssue
		case res.Regression:
			m.Type = livemsg.TypeRegression
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// attachCodeContexts is the code contexts stage: it puts each Flytrap code
// context on the frame at the same file and line. Ingest stores a context
// as the plain source lines the SDK captured (see event.CodeContext); they
// are split here, where the frame's line is known, into pre_context,
// context_line and post_context.
func attachCodeContexts(ev *event.Event) {
	for i := range ev.Exceptions {
		ex := &ev.Exceptions[i]
		for _, cc := range ex.CodeContexts {
			for j := range ex.Frames {
				f := &ex.Frames[j]
				if f.ContextLine != "" || len(f.PreContext) > 0 {
					continue
				}
				if cc.Locates(f) {
					f.PreContext, f.ContextLine, f.PostContext = splitContext(cc.Context, cc.Line)
					break
				}
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
