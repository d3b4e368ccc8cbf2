package process

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/queue"
	"github.com/getflytrap/flytrap/internal/store"
)

// fakeSaver records requests and reports duplicates per event_id, like the
// real store.
type fakeSaver struct {
	mu   sync.Mutex
	reqs []store.SaveRequest
	seen map[string]bool
	err  error
}

func (f *fakeSaver) SaveEvent(_ context.Context, req store.SaveRequest) (store.SaveResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return store.SaveResult{}, f.err
	}
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	dup := f.seen[req.Event.EventID]
	f.seen[req.Event.EventID] = true
	if !dup {
		f.reqs = append(f.reqs, req)
	}
	return store.SaveResult{IssueID: 1, Duplicate: dup, NewIssue: !dup}, nil
}

func body(t *testing.T, ev event.Event) []byte {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProcessFlytrapTextStack(t *testing.T) {
	s := &fakeSaver{}
	p := New(s, nil)
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
	res, err := p.Process(context.Background(), body(t, ev))
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
	if res, err := p.Process(context.Background(), body(t, ev)); err != nil || !res.Duplicate || len(s.reqs) != 1 {
		t.Errorf("redelivery = %+v, %v (%d saves)", res, err, len(s.reqs))
	}
}

func TestProcessTitleFromStackOnly(t *testing.T) {
	s := &fakeSaver{}
	ev := event.Event{EventID: "0123456789abcdef0123456789abcdee", ProjectID: 1, Level: "loud",
		Exceptions: []event.Exception{{RawStack: "RangeError: Invalid array length\n    at grow (/srv/a.js:1:2)"}}}
	if _, err := New(s, nil).Process(context.Background(), body(t, ev)); err != nil {
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
	p := New(&fakeSaver{}, nil)
	for _, b := range []string{`not json`, `{}`, `{"event_id":"x"}`, `{"project_id":3}`} {
		if _, err := p.Process(context.Background(), []byte(b)); !errors.Is(err, ErrMalformed) {
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
	msgs    []queue.Message
	acked   []int64
	retried []int64
}

func (f *fakeSource) Receive(_ context.Context, max int) ([]queue.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := min(max, len(f.msgs))
	out := f.msgs[:n]
	f.msgs = f.msgs[n:]
	return out, nil
}

func (f *fakeSource) Ack(_ context.Context, id int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acked = append(f.acked, id)
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
		src.msgs = append(src.msgs, queue.Message{ID: int64(i + 1), Body: body(t, ev)})
	}
	src.msgs = append(src.msgs, queue.Message{ID: 99, Body: []byte("garbage")})
	w := &Workers{Processor: New(&fakeSaver{}, nil), Source: src, Count: 3, Batch: 4, Idle: 5 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for src.settled() < 26 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(src.acked) != 25 || len(src.retried) != 1 || src.retried[0] != 99 {
		t.Errorf("acked %d, retried %v", len(src.acked), src.retried)
	}
}

func TestWorkersRetryOnStoreFailure(t *testing.T) {
	src := &fakeSource{msgs: []queue.Message{{ID: 1, Body: body(t, event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 1})}}}
	w := &Workers{Processor: New(&fakeSaver{err: errors.New("database is locked")}, nil), Source: src, Count: 1, Idle: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	for src.settled() < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if len(src.acked) != 0 || len(src.retried) != 1 {
		t.Errorf("a failed save was acked (%v) instead of retried (%v)", src.acked, src.retried)
	}
}
