// Package logthrottle decides which of many alike log lines are written:
// during an outage every request fails for the same cause, and one line
// per request buries everything else in the log (22,000 lines in 15 s of
// a full disk, 300 in 28 s of an unreachable database).
package logthrottle

import (
	"sync"
	"time"
)

// Throttle lets one line per key through every Every; the first line of
// a key at once. Keys are a caller's fixed constants (error codes) or
// project IDs, so the map stays small. The zero value is ready to use,
// with Every 0: every line through.
type Throttle struct {
	Every time.Duration
	mu    sync.Mutex
	keys  map[string]*state
}

type state struct {
	last       time.Time // when a line was last let through
	suppressed int64     // lines since then that were not
}

// New returns a Throttle of one line per key every every.
func New(every time.Duration) *Throttle { return &Throttle{Every: every} }

// Allow reports whether a line for key at now is written, and how many
// lines of the key were held back since the last one that was, for the
// caller to report on it.
func (t *Throttle) Allow(key string, now time.Time) (bool, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = make(map[string]*state)
	}
	s, ok := t.keys[key]
	if !ok {
		s = &state{}
		t.keys[key] = s
	} else if d := now.Sub(s.last); d < t.Every && d >= 0 {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	return true, n
}
