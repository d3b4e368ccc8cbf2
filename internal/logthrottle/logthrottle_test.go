package logthrottle

import (
	"testing"
	"time"
)

func TestAllow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	th := New(10 * time.Second)
	steps := []struct {
		key       string
		at        time.Duration
		ok        bool
		suppresed int64
	}{
		{"a", 0, true, 0},
		{"a", time.Second, false, 0},
		{"a", 2 * time.Second, false, 0},
		{"b", 3 * time.Second, true, 0}, // another key has its own interval
		{"a", 10 * time.Second, true, 2},
		{"a", 11 * time.Second, false, 0},
		{"a", 5 * time.Second, true, 1}, // a clock that went back lets a line through
	}
	for i, s := range steps {
		ok, n := th.Allow(s.key, t0.Add(s.at))
		if ok != s.ok || n != s.suppresed {
			t.Errorf("step %d (%s at %v): %v, %d; want %v, %d", i, s.key, s.at, ok, n, s.ok, s.suppresed)
		}
	}
}
