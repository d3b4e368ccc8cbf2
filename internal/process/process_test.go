package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// fakeSaver saves batches like the real store: duplicates per event_id
// (within a batch too), hooks inside the "transaction", and nothing kept
// when the batch fails.
type fakeSaver struct {
	mu      sync.Mutex
	reqs    []store.SaveRequest // stored events, in order
	seen    map[string]bool
	count   int64
	batches [][]string // event IDs of each SaveBatch call
	err     error      // every save fails
	reject  string     // an event ID that makes its batch fail
	// feedback are the stored feedback, in order; a repeated ID is a
	// duplicate, as in the store.
	feedback []store.FeedbackRequest
	// sessions are the messages of sessions counted, in order, each
	// once, as in the store; sessionsCalls counts the calls.
	sessions      []store.SessionsRequest
	sessionsCalls int
	// rejectSessions is a message ID whose sessions make their call
	// fail, as a counter out of range fails the store's transaction.
	rejectSessions string
	// checkIns are the check-ins stored, in order; unknown names slugs
	// of monitors the store does not know, whose check-ins it drops.
	checkIns []store.CheckInRequest
	unknown  string
	// full names slugs whose check-ins the store holds in a project at
	// its bound of held check-ins, dropping one held before.
	full string
}

func (f *fakeSaver) SaveCheckIns(_ context.Context, reqs []store.CheckInRequest) ([]store.CheckInResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	results := make([]store.CheckInResult, len(reqs))
	for i, r := range reqs {
		if r.CheckIn.Slug == f.unknown && r.CheckIn.Config == nil {
			results[i].Dropped = "no monitor"
			continue
		}
		if r.CheckIn.Slug == f.full && r.CheckIn.Config == nil {
			results[i].Held, results[i].HeldDropped = true, 1
			continue
		}
		f.checkIns = append(f.checkIns, r)
	}
	return results, nil
}

func (f *fakeSaver) SaveSessions(_ context.Context, reqs []store.SessionsRequest) ([]store.SessionsResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessionsCalls++
	if f.err != nil {
		return nil, f.err
	}
	if slices.ContainsFunc(reqs, func(r store.SessionsRequest) bool { return r.Event.EventID == f.rejectSessions }) {
		return nil, fmt.Errorf("sessions of %s: bigint out of range", f.rejectSessions)
	}
	results := make([]store.SessionsResult, len(reqs))
	for i, r := range reqs {
		if slices.ContainsFunc(f.sessions, func(s store.SessionsRequest) bool { return s.Event.EventID == r.Event.EventID }) {
			results[i].Duplicate = true
			continue
		}
		f.sessions = append(f.sessions, r)
	}
	return results, nil
}

func (f *fakeSaver) SaveFeedback(_ context.Context, reqs []store.FeedbackRequest) ([]store.FeedbackResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	results := make([]store.FeedbackResult, len(reqs))
	for i, r := range reqs {
		if slices.ContainsFunc(f.feedback, func(s store.FeedbackRequest) bool { return s.Event.EventID == r.Event.EventID }) {
			results[i].Duplicate = true
			continue
		}
		f.feedback = append(f.feedback, r)
	}
	return results, nil
}

func (f *fakeSaver) SaveBatch(ctx context.Context, reqs []store.SaveRequest, hooks ...store.TxHook) ([]store.SaveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range reqs {
		ids = append(ids, r.Event.EventID)
	}
	f.batches = append(f.batches, ids)
	if f.err != nil {
		return nil, f.err
	}
	if slices.Contains(ids, f.reject) {
		return nil, fmt.Errorf("event %s: value too long", f.reject)
	}
	seen := maps.Clone(f.seen)
	if seen == nil {
		seen = map[string]bool{}
	}
	count := f.count
	var stored []store.SaveRequest
	results := make([]store.SaveResult, len(reqs))
	for i, r := range reqs {
		if seen[r.Event.EventID] {
			results[i] = store.SaveResult{IssueID: 1, Duplicate: true}
			continue
		}
		seen[r.Event.EventID] = true
		count++
		stored = append(stored, r)
		results[i] = store.SaveResult{IssueID: 1, NewIssue: count == 1, Count: count, Status: store.StatusUnresolved,
			Title: r.Title, Level: r.Event.Level}
	}
	for _, h := range hooks {
		if err := h(ctx, nil, results); err != nil {
			return nil, err
		}
	}
	f.seen, f.count, f.reqs = seen, count, append(f.reqs, stored...)
	return results, nil
}

// processOne processes a batch of one message.
func processOne(ctx context.Context, p *Processor, body []byte) (store.SaveResult, error) {
	out := p.ProcessBatch(ctx, [][]byte{body})
	return out[0].Result, out[0].Err
}

func body(t *testing.T, ev event.Event) []byte {
	t.Helper()
	// As today's ingest queues it.
	ev.Shape = event.CurrentShape
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProcessFlytrapTextStack(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s})
	f := false
	ev := event.Event{
		EventID: "0123456789abcdef0123456789abcdef", ProjectID: 7, Source: event.SourceFlytrap,
		Exceptions: []event.Exception{{
			Type: "TypeError", Value: "Cannot read property 'foo' of undefined",
			RawStack:     "TypeError: Cannot read property 'foo' of undefined\n    at example (/app/app.js:42:13)\n    at Layer.handle (/app/node_modules/express/lib/router/layer.js:95:5)",
			CodeContexts: []event.CodeContext{{File: "/app/app.js", Line: 42, Column: 13, Context: "function example() { return foo.bar; }"}},
			Mechanism:    &event.Mechanism{Handled: &f},
		}},
		User: &event.User{IPHash: "abc"},
	}
	res, err := processOne(context.Background(), p, body(t, ev))
	if err != nil || !res.NewIssue {
		t.Fatalf("Process = %+v, %v", res, err)
	}
	req := s.reqs[0]
	frames := req.Event.Exceptions[0].Frames
	if len(frames) != 2 {
		t.Fatalf("frames = %+v", frames)
	}
	inner := frames[len(frames)-1]
	if inner.Function != "example" || inner.Lineno != 42 || inner.ContextLine != "function example() { return foo.bar; }" {
		t.Errorf("innermost frame = %+v", inner)
	}
	if frames[0].InApp == nil || *frames[0].InApp || inner.InApp == nil || !*inner.InApp {
		t.Errorf("in_app flags: node_modules frame %v, app frame %v", frames[0].InApp, inner.InApp)
	}
	if req.Event.Level != "error" || req.Title != "TypeError: Cannot read property 'foo' of undefined" || req.Culprit != "app.js in example" {
		t.Errorf("level %q title %q culprit %q", req.Event.Level, req.Title, req.Culprit)
	}
	if req.UserKey != "ip:abc" || req.Fingerprint == "" || req.GroupingVersion == "" {
		t.Errorf("user key %q fingerprint %q version %q", req.UserKey, req.Fingerprint, req.GroupingVersion)
	}
	// A redelivery is a duplicate, not a second event.
	if res, err := processOne(context.Background(), p, body(t, ev)); err != nil || !res.Duplicate || len(s.reqs) != 1 {
		t.Errorf("redelivery = %+v, %v (%d saves)", res, err, len(s.reqs))
	}
}

func TestProcessTitleFromStackOnly(t *testing.T) {
	s := &fakeSaver{}
	ev := event.Event{EventID: "0123456789abcdef0123456789abcdee", ProjectID: 1, Level: "loud",
		Exceptions: []event.Exception{{RawStack: "RangeError: Invalid array length\n    at grow (/srv/a.js:1:2)"}}}
	if _, err := processOne(context.Background(), New(Config{Saver: s}), body(t, ev)); err != nil {
		t.Fatal(err)
	}
	if got := s.reqs[0].Title; got != "RangeError: Invalid array length" {
		t.Errorf("title = %q", got)
	}
	if got := s.reqs[0].Event.Level; got != "error" {
		t.Errorf("invalid level normalized to %q, want error", got)
	}
}

func TestProcessMalformed(t *testing.T) {
	p := New(Config{Saver: &fakeSaver{}})
	for _, b := range []string{`not json`, `{}`, `{"event_id":"x"}`, `{"project_id":3}`} {
		if _, err := processOne(context.Background(), p, []byte(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Process(%s) = %v, want ErrMalformed", b, err)
		}
	}
}

func TestUserKey(t *testing.T) {
	tests := []struct {
		u    *event.User
		want string
	}{
		{nil, ""},
		{&event.User{}, ""},
		{&event.User{ID: "42", Email: "a@b.c"}, "id:42"},
		{&event.User{Email: "Ann@Example.com"}, "email:ann@example.com"},
		{&event.User{Username: "42"}, "username:42"},
		{&event.User{IPHash: "ff"}, "ip:ff"},
	}
	for _, tt := range tests {
		if got := userKey(tt.u); got != tt.want {
			t.Errorf("userKey(%+v) = %q, want %q", tt.u, got, tt.want)
		}
	}
}

// fakeSource is an in-memory queue recording acks and retries.
type fakeSource struct {
	mu      sync.Mutex
	msgs    []Message
	acked   []int64
	retried []int64
	// ackCalls counts Ack calls, which acknowledge a batch at a time.
	ackCalls int
	// per, when positive, is the most messages a Receive returns, as
	// the local queue's byte budget cuts a claim short.
	per int
}

func (f *fakeSource) Receive(_ context.Context, max int) ([]Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := min(max, len(f.msgs))
	if f.per > 0 {
		n = min(n, f.per)
	}
	out := f.msgs[:n]
	f.msgs = f.msgs[n:]
	return out, nil
}

func (f *fakeSource) Ack(_ context.Context, ids []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ackCalls++
	f.acked = append(f.acked, ids...)
	return nil
}

func (f *fakeSource) Retry(_ context.Context, id int64, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retried = append(f.retried, id)
	return nil
}

func (f *fakeSource) settled() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.acked) + len(f.retried)
}

func TestWorkersAckAndRetry(t *testing.T) {
	src := &fakeSource{}
	for i := range 25 {
		ev := event.Event{EventID: "0123456789abcdef0123456789ab" + string(rune('a'+i%26)) + "000", ProjectID: 1, Message: "m"}
		src.msgs = append(src.msgs, Message{ID: int64(i + 1), Body: body(t, ev)})
	}
	src.msgs = append(src.msgs, Message{ID: 99, Body: []byte("garbage")})
	w := &Workers{Processor: New(Config{Saver: &fakeSaver{}}), Source: src, Count: 3, Batch: 4, Idle: 5 * time.Millisecond}
	runUntilSettled(t, w, src, 26)
	if len(src.acked) != 25 || len(src.retried) != 1 || src.retried[0] != 99 {
		t.Errorf("acked %d, retried %v", len(src.acked), src.retried)
	}
	// 26 messages claimed 4 at a time are 7 batches, each with a message
	// to acknowledge.
	if src.ackCalls != 7 {
		t.Errorf("%d Ack calls for 7 batches; want one per batch", src.ackCalls)
	}
}

func TestWorkersRetryOnStoreFailure(t *testing.T) {
	src := &fakeSource{msgs: []Message{{ID: 1, Body: body(t, event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 1})}}}
	w := &Workers{Processor: New(Config{Saver: &fakeSaver{err: errors.New("database is locked")}}), Source: src, Count: 1, Idle: time.Millisecond}
	runUntilSettled(t, w, src, 1)
	if len(src.acked) != 0 || len(src.retried) != 1 {
		t.Errorf("a failed save was acked (%v) instead of retried (%v)", src.acked, src.retried)
	}
}
