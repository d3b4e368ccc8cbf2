package ingest

import (
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
		ok, wait := l.allow(7, s.n)
		if ok != s.ok || wait != s.wait {
			t.Fatalf("%s: allow = %v, %v; want %v, %v", s.name, ok, wait, s.ok, s.wait)
		}
	}
	if ok, _ := l.allow(8, 1); !ok {
		t.Error("another project shares the first one's bucket")
	}
}
