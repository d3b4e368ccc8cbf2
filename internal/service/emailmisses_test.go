package service

import (
	"testing"
	"time"
)

func TestEmailMisses(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	m := newEmailMisses(3, time.Minute, func() time.Time { return now })
	miss := func(actor int64) time.Duration {
		done, wait := m.begin(actor)
		if wait == 0 {
			done(true)
		}
		return wait
	}
	// Hits spend nothing.
	for range 10 {
		done, wait := m.begin(1)
		if wait > 0 {
			t.Fatalf("a hit was refused, wait %s", wait)
		}
		done(false)
	}
	for i := range 3 {
		if wait := miss(1); wait > 0 {
			t.Fatalf("miss %d refused, wait %s", i+1, wait)
		}
	}
	if wait := miss(1); wait != time.Minute {
		t.Errorf("a fourth miss: wait %s, want 1m", wait)
	}
	if wait := miss(2); wait > 0 {
		t.Errorf("another actor refused, wait %s", wait)
	}
	now = now.Add(time.Minute)
	if wait := miss(1); wait > 0 {
		t.Errorf("a miss a minute later refused, wait %s", wait)
	}
	if wait := miss(1); wait == 0 {
		t.Error("a second miss a minute later let through")
	}
}

// TestEmailMissesBound: a flood of distinct actors keeps at most
// maxEmailMissActors, and an actor that keeps trying stays limited.
func TestEmailMissesBound(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	m := newEmailMisses(2, time.Hour, func() time.Time { return now })
	miss := func(actor int64) time.Duration {
		done, wait := m.begin(actor)
		if wait == 0 {
			done(true)
		}
		return wait
	}
	const attacker = -1
	miss(attacker)
	miss(attacker)
	for i := range 3 * maxEmailMissActors {
		miss(int64(i))
		if i%1000 == 0 {
			if wait := miss(attacker); wait == 0 {
				t.Fatalf("after %d other actors, the attacker's miss was let through", i)
			}
		}
	}
	if n := m.actors.Len(); n > maxEmailMissActors {
		t.Errorf("%d actors kept, want at most %d", n, maxEmailMissActors)
	}
}

func TestRoundUp(t *testing.T) {
	for d, want := range map[time.Duration]time.Duration{
		1500 * time.Millisecond:          2 * time.Second,
		time.Minute:                      time.Minute,
		2*time.Minute + time.Millisecond: 3 * time.Minute,
	} {
		if got := roundUp(d); got != want {
			t.Errorf("roundUp(%s) = %s, want %s", d, got, want)
		}
	}
}
