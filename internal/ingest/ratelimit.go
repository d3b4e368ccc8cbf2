package ingest

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per project: rate tokens per minute, holding at
// most rate tokens, so a project may burst a minute's worth of events. The
// rate is the project's own, from its keys (see setRate), or the handler's.
type limiter struct {
	// perMinute is the handler's rate, for projects without their own;
	// negative is none.
	perMinute int
	now       func() time.Time

	mu sync.Mutex
	// buckets holds one entry per project that sent an authenticated
	// event, so it is bounded by the number of projects.
	buckets map[int64]*bucket
}

// bucket is one project's rate and tokens.
type bucket struct {
	perMinute int           // negative: no limit
	tokens    *rate.Limiter // nil while the project has no limit
	set       uint64        // Key.Set of the rate
}

func newLimiter(perMinute int, now func() time.Time) *limiter {
	return &limiter{perMinute: perMinute, now: now, buckets: map[int64]*bucket{}}
}

// setRate makes perMinute the project's rate, as Key.RatePerMinute: 0 is
// the handler's, negative none. A project's existing bucket is changed in
// place, keeping its tokens and debt, so that a lowered limit binds at once
// and a raised one lets events through as fast as it refills. A rate of an
// older key set than the bucket's (set) is ignored: requests that looked
// their keys up before a reload finish after it, and putting their rate
// back would, from no limit to one, hand out a new burst each time.
func (l *limiter) setRate(project int64, perMinute int, set uint64) {
	if perMinute == 0 {
		perMinute = l.perMinute
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketOf(project, perMinute, now)
	if set < b.set {
		return
	}
	b.set = set
	b.setRate(perMinute, now)
}

// bucketOf returns the project's bucket, a new one at perMinute if it has
// none. Called with mu held.
func (l *limiter) bucketOf(project int64, perMinute int, now time.Time) *bucket {
	b, ok := l.buckets[project]
	if !ok {
		b = &bucket{perMinute: -1}
		b.setRate(perMinute, now)
		l.buckets[project] = b
	}
	return b
}

func (b *bucket) setRate(perMinute int, now time.Time) {
	if perMinute == b.perMinute {
		return
	}
	b.perMinute = perMinute
	switch {
	case perMinute < 0:
		// Unlimited, the project spends nothing; a limit set again
		// starts from a full bucket, not from a debt of long ago.
		b.tokens = nil
	case b.tokens == nil:
		b.tokens = rate.NewLimiter(perMinuteLimit(perMinute), perMinute)
	default:
		b.tokens.SetLimitAt(now, perMinuteLimit(perMinute))
		b.tokens.SetBurstAt(now, perMinute)
	}
}

func perMinuteLimit(n int) rate.Limit { return rate.Limit(float64(n) / 60) }

// allow takes n tokens from the project's bucket. It succeeds while at
// least one token is left and may then overdraw the bucket: an envelope's
// events are accepted or refused together, and the debt delays the next
// acceptance so the long-run rate holds. On refusal it returns how long
// until a token is available, and the project's rate for the message. With
// n = 0 it only checks, as ingest does before decoding a body, so that a
// project over its limit costs no decode; the events the body held are
// charged after.
func (l *limiter) allow(project int64, n int) (ok bool, wait time.Duration, perMinute int) {
	now := l.now()
	// One lock across the check and the charge, so that two requests
	// cannot both spend the last token's check.
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketOf(project, l.perMinute, now)
	if b.perMinute < 0 {
		return true, 0, b.perMinute
	}
	if tokens := b.tokens.TokensAt(now); tokens < 1 {
		return false, time.Duration((1 - tokens) / float64(b.tokens.Limit()) * float64(time.Second)), b.perMinute
	}
	// A reservation is the overdraft: it is never cancelled, so its
	// tokens stay spent. ReserveN refuses more than the burst at once,
	// so an envelope larger than the burst is charged in parts.
	for n > 0 {
		part := min(n, b.perMinute)
		b.tokens.ReserveN(now, part)
		n -= part
	}
	return true, 0, b.perMinute
}
