package ingest

import (
	"sync"
	"time"
)

// limiter is a token bucket per project: rate tokens per minute, holding at
// most rate tokens, so a project may burst a minute's worth of events.
type limiter struct {
	perSec float64
	burst  float64
	now    func() time.Time

	mu sync.Mutex
	// buckets holds one entry per project that sent an authenticated
	// event, so it is bounded by the number of projects.
	buckets map[int64]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{perSec: float64(perMinute) / 60, burst: float64(perMinute), now: now, buckets: map[int64]*bucket{}}
}

// allow takes n tokens from the project's bucket. It succeeds while at
// least one token is left and may then overdraw the bucket: an envelope's
// events are accepted or refused together, and the debt delays the next
// acceptance so the long-run rate holds. On refusal it returns how long
// until a token is available. With n = 0 it only checks, as ingest does
// before decoding a body, so that a project over its limit costs no
// decode; the events the body held are charged after.
func (l *limiter) allow(project int64, n int) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[project]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[project] = b
	}
	// A clock that steps back refills nothing rather than refilling twice.
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(l.burst, b.tokens+elapsed.Seconds()*l.perSec)
		b.last = now
	}
	if b.tokens < 1 {
		return false, time.Duration((1 - b.tokens) / l.perSec * float64(time.Second))
	}
	b.tokens -= float64(n)
	return true, 0
}
