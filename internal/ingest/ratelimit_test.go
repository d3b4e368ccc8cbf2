package ingest

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLimiterOverdrawsAndWaits(t *testing.T) {
	clock := &testClock{now: testNow}
	l := newLimiter(2, clock.Now) // 2 a minute: a token every 30 s, burst 2
	steps := []struct {
		name    string
		advance time.Duration
		n       int
		ok      bool
		wait    time.Duration
	}{
		{name: "a full bucket lets a check through", n: 0, ok: true},
		// Five events against a burst of two: charged in parts, so the
		// bucket owes three.
		{name: "an envelope larger than the burst overdraws", n: 5, ok: true},
		{name: "the debt of three and one token more are four tokens away", n: 0, ok: false, wait: 120 * time.Second},
		{name: "the debt is not yet paid", advance: 90 * time.Second, n: 0, ok: false, wait: 30 * time.Second},
		{name: "one token is back", advance: 30 * time.Second, n: 1, ok: true},
		{name: "and spent", n: 0, ok: false, wait: 30 * time.Second},
		{name: "an idle hour refills the burst only", advance: time.Hour, n: 2, ok: true},
		{name: "the burst is spent", n: 0, ok: false, wait: 30 * time.Second},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		ok, wait, _ := l.allow(7, s.n)
		if ok != s.ok || wait != s.wait {
			t.Fatalf("%s: allow = %v, %v; want %v, %v", s.name, ok, wait, s.ok, s.wait)
		}
	}
	if ok, _, _ := l.allow(8, 1); !ok {
		t.Error("another project shares the first one's bucket")
	}
}

// TestLimiterIgnoresOlderKeySets: a request that looked its key up in an
// older key set than another request did, and reaches the limiter after
// it, does not put the older rate back; from no limit to one, that handed
// out a fresh burst per such request.
func TestLimiterIgnoresOlderKeySets(t *testing.T) {
	clock := &testClock{now: testNow}
	l := newLimiter(-1, clock.Now)
	l.setRate(7, 2, 2) // set 2 gave the project 2 a minute
	for range 2 {
		if ok, _, _ := l.allow(7, 1); !ok {
			t.Fatal("the burst of 2 refused")
		}
	}
	l.setRate(7, -1, 1) // a request of set 1, when it had no limit
	l.setRate(7, 2, 2)
	if ok, wait, perMinute := l.allow(7, 1); ok || perMinute != 2 || wait != 30*time.Second {
		t.Errorf("after a lookup in an older set: allow = %v, %v, %d a minute; want refused for 30s at 2 a minute", ok, wait, perMinute)
	}
	l.setRate(7, -1, 3) // set 3 lifts the limit
	if ok, _, perMinute := l.allow(7, 50); !ok || perMinute != -1 {
		t.Errorf("after a newer set lifted the limit: allow = %v at %d a minute", ok, perMinute)
	}
}

// projectRates is a Keys whose projects' rates a test changes, as an admin
// changes them between two loads of a key set.
type projectRates struct {
	mu    sync.Mutex
	rates map[int64]int
}

func (p *projectRates) ProjectForKey(ctx context.Context, key string) (Key, bool, error) {
	k, ok, err := defaultKeys.ProjectForKey(ctx, key)
	p.mu.Lock()
	defer p.mu.Unlock()
	k.RatePerMinute = p.rates[k.ProjectID]
	return k, ok, err
}

func (p *projectRates) set(project int64, perMinute int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rates[project] = perMinute
}

func TestProjectRateLimit(t *testing.T) {
	clock := &testClock{now: testNow}
	keys := &projectRates{rates: map[int64]int{}}
	h, q := newTestHandler(t, keys, func(c *Config) {
		c.RatePerMinute = 6
		c.Now = clock.Now
	})
	store := func(key, pid string) *httptest.ResponseRecorder {
		return req{path: "/api/" + pid + "/store/", header: sentryAuth(key), body: []byte(`{"message":"hi"}`)}.do(h)
	}
	steps := []struct {
		name       string
		advance    time.Duration
		setRate    int // project 42's, when not 0
		key, pid   string
		n          int // requests, all answered alike
		wantStatus int
		wantRetry  string
		wantLimit  string // in the 429's message
	}{
		{name: "the server's rate until the project has one", key: testKey, pid: "42", n: 5, wantStatus: 200},
		// A new bucket would let two through; the project's has one
		// token left.
		{name: "a lowered limit applies to the bucket as it is", setRate: 2, key: testKey, pid: "42", n: 1, wantStatus: 200},
		{name: "and binds at once", key: testKey, pid: "42", n: 1, wantStatus: 429, wantRetry: "30", wantLimit: "limit of 2 events, session items and check-ins per minute"},
		{name: "another project at the same rate is let through", key: otherKey, pid: "7", n: 6, wantStatus: 200},
		{name: "a raised limit is named", setRate: 600, key: testKey, pid: "42", n: 1, wantStatus: 429, wantRetry: "1", wantLimit: "limit of 600 events, session items and check-ins per minute"},
		{name: "and refills at its rate", advance: 100 * time.Millisecond, key: testKey, pid: "42", n: 1, wantStatus: 200},
		{name: "no limit", setRate: -1, key: testKey, pid: "42", n: 50, wantStatus: 200},
		{name: "a limit after none starts from a full bucket", setRate: 3, key: testKey, pid: "42", n: 3, wantStatus: 200},
		{name: "of its size", key: testKey, pid: "42", n: 1, wantStatus: 429, wantRetry: "20", wantLimit: "limit of 3 events, session items and check-ins per minute"},
		{name: "the other project keeps the server's", key: otherKey, pid: "7", n: 1, wantStatus: 429, wantRetry: "10", wantLimit: "limit of 6 events, session items and check-ins per minute"},
	}
	queued := 0
	for _, s := range steps {
		clock.Advance(s.advance)
		if s.setRate != 0 {
			keys.set(testProject, s.setRate)
		}
		for i := range s.n {
			rec := store(s.key, s.pid)
			if rec.Code != s.wantStatus {
				t.Fatalf("%s: request %d: status %d, want %d (%s)", s.name, i+1, rec.Code, s.wantStatus, rec.Body)
			}
			if rec.Code == 200 {
				queued++
				continue
			}
			if got := rec.Header().Get("Retry-After"); got != s.wantRetry {
				t.Errorf("%s: Retry-After %q, want %q", s.name, got, s.wantRetry)
			}
			if got, want := rec.Header().Get("X-Sentry-Rate-Limits"), s.wantRetry+":error;default;session;monitor:project"; got != want {
				t.Errorf("%s: X-Sentry-Rate-Limits %q, want %q", s.name, got, want)
			}
			if code, msg := errorResponse(t, rec); code != "rate_limited" || !strings.Contains(msg, s.wantLimit) {
				t.Errorf("%s: %s: %q, want rate_limited naming the %s", s.name, code, msg, s.wantLimit)
			}
		}
	}
	if len(q.bodies) != queued {
		t.Errorf("queued %d events, want %d", len(q.bodies), queued)
	}

	t.Run("a project's limit on a server without one", func(t *testing.T) {
		keys := &projectRates{rates: map[int64]int{testProject: 1}}
		h, _ := newTestHandler(t, keys, func(c *Config) { c.RatePerMinute = -1 })
		for i, want := range []int{200, 429} {
			if rec := (req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}).do(h); rec.Code != want {
				t.Errorf("project 42, request %d: status %d, want %d", i+1, rec.Code, want)
			}
		}
		for range 20 {
			if rec := (req{path: "/api/7/store/", header: sentryAuth(otherKey), body: []byte(`{"message":"hi"}`)}).do(h); rec.Code != 200 {
				t.Fatalf("project 7 without a limit: status %d", rec.Code)
			}
		}
	})
}

func TestRetryMessagesCountSeconds(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want string
	}{
		{time.Millisecond, "retry in 1 second"},
		{time.Second, "retry in 1 second"},
		{1500 * time.Millisecond, "retry in 2 seconds"},
		{30 * time.Second, "retry in 30 seconds"},
	}
	for _, tt := range tests {
		msg := rateLimited(2, tt.wait, 100).msg
		if !strings.HasSuffix(msg, tt.want) {
			t.Errorf("wait %v: %q, want it to end %q", tt.wait, msg, tt.want)
		}
	}
	if msg := overloaded("busy").msg; !strings.HasSuffix(msg, "retry in 1 second") {
		t.Errorf("overloaded: %q", msg)
	}
}
