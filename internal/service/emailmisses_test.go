package service

import (
	"testing"
	"time"
)

// missOn looks up for actor an email no user has, as PutByEmail does,
// and returns how long it was told to wait (0: looked up and counted).
func missOn(m *EmailMisses, actor int64) time.Duration {
	done, wait := m.begin(actor)
	if wait == 0 {
		done(true)
	}
	return wait
}

func TestEmailMisses(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	m := newEmailMisses(3, time.Minute, func() time.Time { return now })
	// Hits spend nothing.
	for range 10 {
		done, wait := m.begin(1)
		if wait > 0 {
			t.Fatalf("a hit was refused, wait %s", wait)
		}
		done(false)
	}
	for i := range 3 {
		if wait := missOn(m, 1); wait > 0 {
			t.Fatalf("miss %d refused, wait %s", i+1, wait)
		}
	}
	if wait := missOn(m, 1); wait != time.Minute {
		t.Errorf("a fourth miss: wait %s, want 1m", wait)
	}
	if wait := missOn(m, 2); wait > 0 {
		t.Errorf("another actor refused, wait %s", wait)
	}
	now = now.Add(time.Minute)
	if wait := missOn(m, 1); wait > 0 {
		t.Errorf("a miss a minute later refused, wait %s", wait)
	}
	if wait := missOn(m, 1); wait == 0 {
		t.Error("a second miss a minute later let through")
	}
}

// TestEmailMissesBound: a flood of distinct actors keeps at most
// maxEmailMissActors, and an actor that keeps trying stays limited.
func TestEmailMissesBound(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	m := newEmailMisses(2, time.Hour, func() time.Time { return now })
	const attacker = -1
	missOn(m, attacker)
	missOn(m, attacker)
	for i := range 3 * maxEmailMissActors {
		missOn(m, int64(i))
		if i%1000 == 0 {
			if wait := missOn(m, attacker); wait == 0 {
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
