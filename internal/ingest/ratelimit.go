package ingest

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per project: rate tokens per minute, holding at
// most rate tokens, so a project may burst a minute's worth of events.
type limiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu sync.Mutex
	// buckets holds one entry per project that sent an authenticated
	// event, so it is bounded by the number of projects.
	buckets map[int64]*rate.Limiter
}

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{limit: rate.Limit(float64(perMinute) / 60), burst: perMinute, now: now, buckets: map[int64]*rate.Limiter{}}
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
	// One lock across the check and the charge, so that two requests
	// cannot both spend the last token's check.
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[project]
	if !ok {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[project] = b
	}
	if tokens := b.TokensAt(now); tokens < 1 {
		return false, time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second))
	}
	// A reservation is the overdraft: it is never cancelled, so its
	// tokens stay spent. ReserveN refuses more than the burst at once,
	// so an envelope larger than the burst is charged in parts.
	for n > 0 {
		part := min(n, l.burst)
		b.ReserveN(now, part)
		n -= part
	}
	return true, 0
}
