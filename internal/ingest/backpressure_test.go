package ingest

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// unreadBody fails the test if the handler reads past prefix.
type unreadBody struct {
	t      *testing.T
	prefix *strings.Reader
}

func (b *unreadBody) Read(p []byte) (int, error) {
	if b.prefix.Len() > 0 {
		return b.prefix.Read(p)
	}
	b.t.Error("the handler read the body past what it had to")
	return 0, io.ErrUnexpectedEOF
}

// refusedUnread sends a request whose body must not be read beyond prefix
// and returns the response.
func refusedUnread(t *testing.T, h *Handler, path string, header map[string]string, prefix string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", path, &unreadBody{t: t, prefix: strings.NewReader(prefix)})
	r.ContentLength = 1 << 16
	for k, v := range header {
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// fixedBacklog is a Backlog of a set depth.
type fixedBacklog int64

func (b fixedBacklog) Pending() int64 { return int64(b) }

func TestBacklog(t *testing.T) {
	tests := []struct {
		name    string
		backlog Backlog
		max     int64
		refused bool
	}{
		{"under", fixedBacklog(100), 100, false},
		{"over", fixedBacklog(101), 100, true},
		{"default limit", fixedBacklog(DefaultMaxBacklog + 1), 0, true},
		{"disabled", fixedBacklog(1 << 40), -1, false},
		{"no backlog", nil, 100, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, func(c *Config) {
				c.Backlog = tt.backlog
				c.MaxBacklog = tt.max
			})
			if !tt.refused {
				rec := req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}.do(h)
				if rec.Code != 200 || len(q.bodies) != 1 {
					t.Fatalf("status %d, %d queued; want the event accepted", rec.Code, len(q.bodies))
				}
				return
			}
			for _, path := range []string{"/api/42/store/", "/api/42/envelope/", "/api/errors"} {
				rec := refusedUnread(t, h, path, sentryAuth(testKey), "")
				if rec.Code != 429 {
					t.Fatalf("%s: status %d, want 429", path, rec.Code)
				}
				if got := rec.Header().Get("Retry-After"); got != "5" {
					t.Errorf("%s: Retry-After %q, want 5", path, got)
				}
				if got := rec.Header().Get("X-Sentry-Rate-Limits"); got != "5::organization" {
					t.Errorf("%s: X-Sentry-Rate-Limits %q, want 5::organization", path, got)
				}
				if code, msg := errorResponse(t, rec); code != "backlog" || !strings.Contains(msg, "waiting to be processed") {
					t.Errorf("%s: code %q, message %q", path, code, msg)
				}
			}
			if got := h.Stats().Rejected[ReasonBacklog]; got != 3 {
				t.Errorf("Rejected[backlog] = %d, want 3", got)
			}
			if len(q.bodies) != 0 {
				t.Errorf("%d events queued past the backlog", len(q.bodies))
			}
		})
	}
}

func TestRateLimitBeforeDecode(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.RatePerMinute = 1 })
	if rec := (req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}).do(h); rec.Code != 200 {
		t.Fatalf("first event: status %d", rec.Code)
	}
	dsnHeader := `{"dsn":"https://` + testKey + `@example.com/42"}` + "\n"
	tests := []struct {
		name   string
		path   string
		header map[string]string
		// prefix is what the handler may read: the envelope header that
		// carries the key.
		prefix string
	}{
		{"store", "/api/42/store/", sentryAuth(testKey), ""},
		{"envelope, key in a header", "/api/42/envelope/", sentryAuth(testKey), ""},
		{"envelope, key in the query", "/api/42/envelope/?sentry_key=" + testKey, nil, ""},
		{"envelope, key in the envelope header", "/api/42/envelope/", nil, dsnHeader},
		{"flytrap", "/api/errors", map[string]string{"X-Api-Key": testKey}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := refusedUnread(t, h, tt.path, tt.header, tt.prefix)
			if rec.Code != 429 {
				t.Fatalf("status %d, want 429 (%s)", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("X-Sentry-Rate-Limits"); !strings.HasSuffix(got, ":error;default;session;monitor:project") {
				t.Errorf("X-Sentry-Rate-Limits %q", got)
			}
		})
	}
	if len(q.bodies) != 1 {
		t.Errorf("queued %d events, want the first only", len(q.bodies))
	}
}

func TestEnvelopeEventsShareABatchAndEachTakeAToken(t *testing.T) {
	clock := &testClock{now: testNow}
	h, q := newTestHandler(t, defaultKeys, func(c *Config) {
		c.RatePerMinute = 4
		c.Now = clock.Now
	})
	ev := [2]string{"event", `{"message":"boom"}`}
	env := envelopeOf(`{}`, true, ev, [2]string{"session", `{}`}, ev, ev)
	send := func() int {
		return req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: env}.do(h).Code
	}
	// 4 tokens: the first envelope takes 3, the second is let in on the
	// last one and overdraws to -2, so the third waits for 3 tokens.
	for i, want := range []int{200, 200, 429} {
		if got := send(); got != want {
			t.Fatalf("envelope %d: status %d, want %d", i+1, got, want)
		}
	}
	if want := []int{3, 3}; len(q.batches) != 2 || q.batches[0] != 3 || q.batches[1] != 3 {
		t.Errorf("enqueue calls of %v messages, want %v: one batch per envelope", q.batches, want)
	}
	if got := h.Stats().Accepted; got != 6 {
		t.Errorf("Accepted = %d, want 6", got)
	}
	clock.Advance(30 * time.Second) // 2 tokens: the debt is paid, none left
	if got := send(); got != 429 {
		t.Errorf("after paying the debt: status %d, want 429", got)
	}
	clock.Advance(15 * time.Second)
	if got := send(); got != 200 {
		t.Errorf("with a token again: status %d, want 200", got)
	}
}

// gateQueue holds every enqueue until open is closed, then counts what it
// took as pending: a queue whose commits are slow.
type gateQueue struct {
	open    chan struct{}
	waiting atomic.Int64
	pending atomic.Int64
}

func (q *gateQueue) Enqueue(ctx context.Context, body []byte) error {
	return q.EnqueueBatch(ctx, [][]byte{body})
}

func (q *gateQueue) EnqueueBatch(_ context.Context, bodies [][]byte) error {
	q.waiting.Add(1)
	<-q.open
	q.pending.Add(int64(len(bodies)))
	return nil
}

func (q *gateQueue) Pending() int64 { return q.pending.Load() }

// TestBacklogHoldsUnderConcurrency sends 200 events at once against a limit
// of 20 while no commit has finished: requests that passed the check before
// their bodies were read must not all be let in.
func TestBacklogHoldsUnderConcurrency(t *testing.T) {
	const limit, senders = 20, 200
	q := &gateQueue{open: make(chan struct{})}
	h := New(Config{IPSalt: []byte(testSalt), Now: func() time.Time { return testNow }, Backlog: q, MaxBacklog: limit}, defaultKeys, q, nil)
	var refused atomic.Int64
	var wg sync.WaitGroup
	codes := make(chan int, senders)
	for range senders {
		wg.Go(func() {
			rec := req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}.do(h)
			if rec.Code == 429 {
				refused.Add(1)
			}
			codes <- rec.Code
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for q.waiting.Load()+refused.Load() < senders {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, %d enqueues waiting and %d refused of %d", q.waiting.Load(), refused.Load(), senders)
		}
		time.Sleep(time.Millisecond)
	}
	close(q.open)
	wg.Wait()
	close(codes)
	accepted := 0
	for code := range codes {
		switch code {
		case 200:
			accepted++
		case 429:
		default:
			t.Errorf("status %d, want 200 or 429", code)
		}
	}
	// A request is let in while at most limit events are ahead of it.
	if accepted != limit+1 || q.Pending() != limit+1 {
		t.Errorf("%d accepted, %d pending; want %d of %d let in", accepted, q.Pending(), limit+1, senders)
	}
	if rec := (req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}).do(h); rec.Code != 429 {
		t.Errorf("after the commits: status %d, want 429", rec.Code)
	}
}

// settableBacklog is a Backlog a test moves.
type settableBacklog struct{ n atomic.Int64 }

func (b *settableBacklog) Pending() int64 { return b.n.Load() }

// A request that finds more events waiting than PaceBacklog is held
// before its body is read, and goes on, accepted, as soon as processing
// brings the backlog back under it; every held request shares that.
func TestPaceHoldsUntilProcessingCatchesUp(t *testing.T) {
	var backlog settableBacklog
	backlog.n.Store(DefaultPaceBacklog + 1)
	h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.Backlog = &backlog })
	const n = 20
	var done atomic.Int32
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			codes[i] = req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}.do(h).Code
			done.Add(1)
		})
	}
	time.Sleep(maxPace / 5)
	if got := done.Load(); got != 0 {
		t.Fatalf("%d of %d requests answered while the backlog was over the pace", got, n)
	}
	released := time.Now()
	backlog.n.Store(DefaultPaceBacklog)
	wg.Wait()
	if waited := time.Since(released); waited > maxPace/2 {
		t.Errorf("held requests went on %v after the backlog dropped", waited)
	}
	for i, code := range codes {
		if code != 200 {
			t.Errorf("request %d: status %d, want 200", i, code)
		}
	}
	if len(q.bodies) != n {
		t.Errorf("%d events queued, want %d", len(q.bodies), n)
	}
}

// A request is held at most maxPace, then accepted whatever the backlog
// (MaxBacklog bounds it); no hold at all when pacing or the backlog limit
// is off, or when the client has gone.
func TestPaceBounds(t *testing.T) {
	tests := []struct {
		name          string
		pace, max     int64
		cancelAfter   time.Duration
		minHeld, most time.Duration
	}{
		{"held at most maxPace", 0, 0, 0, maxPace, maxPace + maxPace/2},
		{"pacing off", -1, 0, 0, 0, maxPace / 2},
		{"backlog limit off", 0, -1, 0, 0, maxPace / 2},
		{"client gone", 0, 0, maxPace / 10, 0, maxPace / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, func(c *Config) {
				c.Backlog = fixedBacklog(DefaultPaceBacklog * 10)
				c.PaceBacklog, c.MaxBacklog = tt.pace, tt.max
			})
			r := req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}.request()
			if tt.cancelAfter > 0 {
				ctx, cancel := context.WithTimeout(r.Context(), tt.cancelAfter)
				defer cancel()
				r = r.WithContext(ctx)
			}
			start := time.Now()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			held := time.Since(start)
			if held < tt.minHeld || held > tt.most {
				t.Errorf("held %v, want %v to %v", held, tt.minHeld, tt.most)
			}
			if tt.cancelAfter == 0 && (rec.Code != 200 || len(q.bodies) != 1) {
				t.Errorf("status %d, %d queued; want the event accepted", rec.Code, len(q.bodies))
			}
			// The watcher of the backlog stops with the last request it held.
			time.Sleep(10 * paceTick)
			h.pacer.mu.Lock()
			defer h.pacer.mu.Unlock()
			if h.pacer.release != nil || h.pacer.held != 0 {
				t.Errorf("after the request: a watcher still runs (%d held)", h.pacer.held)
			}
		})
	}
}

// A request its key or rate limit refuses is refused at once, not held
// first (QA: a wrong key's 401 came after 0.96 s during a flood).
func TestPaceHoldsOnlyAdmittedRequests(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.Backlog = fixedBacklog(DefaultPaceBacklog * 10) })
	start := time.Now()
	rec := req{path: "/api/42/store/", header: sentryAuth("99999999999999999999999999999999"), body: []byte(`{"message":"hi"}`)}.do(h)
	if held := time.Since(start); rec.Code != 401 || held > maxPace/2 || len(q.bodies) != 0 {
		t.Errorf("unknown key: status %d after %v, %d queued; want 401 at once", rec.Code, held, len(q.bodies))
	}
}
