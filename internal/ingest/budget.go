package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// overloadRetryAfter is the Retry-After, in seconds, of a request refused
// because the budget is spent: bodies in flight are done in milliseconds,
// and a Sentry SDK pauses all sending for that long, so it stays short.
const overloadRetryAfter = 1

// budget bounds what all of a Handler's requests hold at once: the bytes of
// body kept in memory (decoded, or as sent when not encoded) and the number
// of decompressors, whose windows (up to 16 MiB for brotli) are the memory
// a body does not account for. Without it, each request is bounded but
// concurrent ones are not: a hundred 77-byte bombs held gigabytes.
//
// Within those totals, no one holds more than a share: the bytes of one
// project (or of one client, before its request's project is known) and
// the decompressors of one client. Without the shares, 16 stalled gzip
// requests with no key held every decompressor, and 70 stalled envelopes
// of one project every byte, refusing every other project's events.
type budget struct {
	maxBytes, maxDecodes int64
	bytes, decodes       atomic.Int64
	held                 tally
	slots                clientSlots
}

func newBudget(maxBytes, maxHeld int64, maxDecodes, perClient int) *budget {
	return &budget{maxBytes: maxBytes, maxDecodes: int64(maxDecodes),
		held:  tally{max: maxHeld, used: make(map[holder]int64)},
		slots: clientSlots{per: perClient, m: make(map[string]*clientSlot)}}
}

// Reasons a charge is refused.
var (
	errOverBudget = errors.New("ingest: the in-flight body budget is spent")
	errOverShare  = errors.New("ingest: the project's or client's share of the in-flight body budget is spent")
)

// take adds n to used unless that passes limit. Concurrent takers may see
// each other's transient additions and be refused a little early, never
// late.
func take(used *atomic.Int64, n, limit int64) bool {
	if used.Add(n) > limit {
		used.Add(-n)
		return false
	}
	return true
}

// holder is who a lease's bytes count against: its project once known,
// and before that its client (a key of clientKey), whose requests cannot
// yet be told apart by project.
type holder struct {
	project int64
	client  string
}

// tally counts the bytes each holder has in flight. A holder's entry
// exists only while it holds something, so the map is bounded by the
// requests in flight, however many clients and projects come and go.
type tally struct {
	mu   sync.Mutex
	max  int64
	used map[holder]int64
}

// take charges n bytes to k unless that passes its share while the
// budget is tight (see lease.roomy).
func (t *tally) take(k holder, n int64, roomy bool) bool {
	if n == 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.used[k]+n > t.max && !roomy {
		return false
	}
	t.used[k] += n
	return true
}

// give returns n bytes k took.
func (t *tally) give(k holder, n int64) {
	if n == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if left := t.used[k] - n; left > 0 {
		t.used[k] = left
	} else {
		delete(t.used, k)
	}
}

// clientSlots bounds the decompressors each client holds. A request over
// its client's share waits for one of the client's own slots instead of
// being refused, so a busy sender is slowed to its share, not failed,
// while the slots it does not hold stay free for others.
type clientSlots struct {
	mu  sync.Mutex
	per int
	m   map[string]*clientSlot // only clients holding or awaiting a slot
}

// clientSlot is one client's semaphore. Blocked senders on a channel are
// woken in the order they came, so a client's requests take turns.
type clientSlot struct {
	sem  chan struct{}
	refs int // holders and waiters
}

// acquire takes one of client's slots, waiting for it until deadline or
// until done is closed.
func (c *clientSlots) acquire(client string, deadline time.Time, done <-chan struct{}) bool {
	c.mu.Lock()
	s := c.m[client]
	if s == nil {
		s = &clientSlot{sem: make(chan struct{}, c.per)}
		c.m[client] = s
	}
	s.refs++
	c.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case s.sem <- struct{}{}:
		return true
	case <-timer.C:
	case <-done:
	}
	c.drop(client, s)
	return false
}

// release gives back a slot acquire took.
func (c *clientSlots) release(client string) {
	c.mu.Lock()
	s := c.m[client]
	c.mu.Unlock()
	<-s.sem
	c.drop(client, s)
}

// drop ends one holder's or waiter's interest in s, forgetting the client
// once nobody holds or awaits its slots.
func (c *clientSlots) drop(client string, s *clientSlot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.refs--; s.refs == 0 {
		delete(c.m, client)
	}
}

// clientKey names the client of an address for its shares: the address,
// or for IPv6 its /64, which one subscriber usually holds whole and could
// otherwise spread a flood over.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	switch {
	case err != nil || a.Is4():
		return ip
	case a.Is4In6():
		return a.Unmap().String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// lease is one request's share of the budget. Its methods are not safe for
// concurrent use; a request reads its body from one goroutine.
type lease struct {
	b        *budget
	holder   holder
	client   string // clientKey of the request, for its decoder slot
	bytes    int64
	window   int64 // a decoder's window, held until the decode ends
	decoding bool
}

// charge takes n bytes from the budget and from the holder's share.
func (l *lease) charge(n int64) error {
	if !take(&l.b.bytes, n, l.b.maxBytes) {
		return errOverBudget
	}
	if !l.b.held.take(l.holder, n, l.roomy()) {
		l.b.bytes.Add(-n)
		return errOverShare
	}
	return nil
}

// roomy reports whether at most half the budget is spent. Until then a
// holder may pass its share: a busy project sending alone is not held to
// a quarter of an idle budget (64 large events at once were refused), and
// whatever it takes, half stays for everyone else, each within its share.
func (l *lease) roomy() bool { return l.b.bytes.Load() <= l.b.maxBytes/2 }

// uncharge gives back n bytes charge took.
func (l *lease) uncharge(n int64) {
	l.b.bytes.Add(-n)
	l.b.held.give(l.holder, n)
}

// grow charges n more bytes, before they are allocated.
func (l *lease) grow(n int64) error {
	if err := l.charge(n); err != nil {
		return err
	}
	l.bytes += n
	return nil
}

// chargeWindow charges a decompressor's window, which it allocates as it
// decodes and frees when the decode ends.
func (l *lease) chargeWindow(n int64) error {
	if err := l.charge(n); err != nil {
		return err
	}
	l.window += n
	return nil
}

// attach counts what the lease holds, and will hold, against project from
// now on, no longer against its client: the project has just become known
// (from the key in the envelope header).
func (l *lease) attach(project int64) error {
	to := holder{project: project}
	n := l.bytes + l.window
	if !l.b.held.take(to, n, l.roomy()) {
		return errOverShare
	}
	l.b.held.give(l.holder, n)
	l.holder = to
	return nil
}

// Reasons a decompressor slot is refused.
var (
	errClientDecodes = errors.New("ingest: the client's decompressor slots stayed taken")
	errDecodes       = errors.New("ingest: every decompressor slot is taken")
)

// startDecode takes a decompressor slot: one of its client's, waiting for
// it until deadline or done, then one of all, without waiting.
func (l *lease) startDecode(deadline time.Time, done <-chan struct{}) error {
	if !l.b.slots.acquire(l.client, deadline, done) {
		return errClientDecodes
	}
	if !take(&l.b.decodes, 1, l.b.maxDecodes) {
		l.b.slots.release(l.client)
		return errDecodes
	}
	l.decoding = true
	return nil
}

// endDecode gives the decompressor slot back once the body is decoded,
// before the request is done with the bytes.
func (l *lease) endDecode() {
	if l.window != 0 {
		l.uncharge(l.window)
		l.window = 0
	}
	if l.decoding {
		l.b.decodes.Add(-1)
		l.b.slots.release(l.client)
		l.decoding = false
	}
}

// release returns everything the lease holds.
func (l *lease) release() {
	l.endDecode()
	l.uncharge(l.bytes)
	l.bytes = 0
}

// overloaded refuses a request the budget has no room for. It is a 503,
// not a 429: the server is busy, the project is not over any quota, so no
// X-Sentry-Rate-Limits header is sent.
func overloaded(what string) *apiError {
	return &apiError{status: http.StatusServiceUnavailable, code: "overloaded", reason: ReasonOverloaded, retryAfter: overloadRetryAfter,
		msg: fmt.Sprintf("the server is %s right now; retry in %s", what, seconds(overloadRetryAfter))}
}

// budgetError is the answer to a refused charge or decoder slot, nil for
// any other error.
func budgetError(err error) *apiError {
	switch {
	case errors.Is(err, errOverBudget):
		return overloaded("holding as many request bytes in memory as it allows")
	case errors.Is(err, errOverShare):
		return overloaded("holding as many request bytes for this project (or this client, before the project is known) as it allows")
	case errors.Is(err, errClientDecodes):
		return overloaded("decompressing as many request bodies from this client as it allows")
	case errors.Is(err, errDecodes):
		return overloaded("decompressing as many request bodies as it allows")
	}
	return nil
}
