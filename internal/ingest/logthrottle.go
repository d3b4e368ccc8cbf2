package ingest

import (
	"sync"
	"time"
)

// warnEvery is how often ingest logs a WARN line for refusals with the
// same code (a full disk, an unavailable queue, a spent memory budget):
// during an outage every request is refused for the same cause, and one
// line per request buried everything else in the log (22,000 lines in
// 15 s of a full disk). The first refusal of a code is logged at once;
// the rest of its interval is counted and reported on the next line.
// Every refusal still counts in flytrap_ingest_rejected_total.
const warnEvery = 10 * time.Second

// warnThrottle decides which refusals are logged at WARN.
type warnThrottle struct {
	every time.Duration
	mu    sync.Mutex
	codes map[string]*warnState
}

type warnState struct {
	last       time.Time // when a line was last logged
	suppressed int64     // refusals since then that were not
}

// allow reports whether a refusal with code at now is logged, and how
// many of the same code were not logged since the last line that was.
func (t *warnThrottle) allow(code string, now time.Time) (bool, int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.codes == nil {
		t.codes = make(map[string]*warnState)
	}
	s, ok := t.codes[code]
	if !ok {
		// Codes are the handler's fixed constants: the map stays small.
		s = &warnState{}
		t.codes[code] = s
	} else if now.Sub(s.last) < t.every && now.Sub(s.last) >= 0 {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	return true, n
}
