package auth

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// maxLimiterKeys bounds each of the throttle's tables. A flood of
// distinct keys evicts the least recently used ones: the flooder's own
// keys are the busiest, so they stay, and losing some idle counts is
// better than running out of memory.
const maxLimiterKeys = 10000

// window counts failures per key in a sliding window, keeping at most
// max timestamps per key and maxLimiterKeys keys. It is not safe for
// concurrent use; Throttle locks around it.
type window struct {
	max   int
	span  time.Duration
	fails *simplelru.LRU[string, []time.Time] // ascending, at most max entries
}

func newWindow(limit int, span time.Duration) *window {
	fails, err := simplelru.NewLRU[string, []time.Time](maxLimiterKeys, nil)
	if err != nil {
		// Only a size below one fails.
		panic(err)
	}
	return &window{max: limit, span: span, fails: fails}
}

// recent returns key's failures still inside the window at now.
func (w *window) recent(key string, now time.Time) []time.Time {
	ts, _ := w.fails.Peek(key)
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-w.span)) {
		i++
	}
	return ts[i:]
}

// wait returns how long key must wait before its next attempt: zero while
// it is under the limit, else until its oldest counted failure expires.
func (w *window) wait(key string, now time.Time) time.Duration {
	ts := w.recent(key, now)
	if len(ts) < w.max {
		return 0
	}
	return ts[len(ts)-w.max].Add(w.span).Sub(now)
}

// fail records a failure of key at now.
func (w *window) fail(key string, now time.Time) {
	ts := append(w.recent(key, now), now)
	if len(ts) > w.max {
		// Only the newest max failures decide when the key may try again.
		ts = ts[len(ts)-w.max:]
	}
	w.fails.Add(key, ts)
}

// forget removes one failure of key recorded at at, if it is still
// counted.
func (w *window) forget(key string, at time.Time) {
	ts, ok := w.fails.Peek(key)
	if !ok {
		return
	}
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Equal(at) {
			ts = append(ts[:i:i], ts[i+1:]...)
			break
		}
	}
	if len(ts) == 0 {
		w.fails.Remove(key)
		return
	}
	w.fails.Add(key, ts)
}

// Throttle decides which sign-in attempts get their password
// checked. It counts failures per client (an address, or an IPv6 /64),
// per email address and client, and per email address from anywhere:
//
//   - a client over its limit is refused for every address;
//   - a client over the per-email limit for one address is refused for it;
//   - an address over the per-email limit from anywhere is only slowed
//     down, so a stranger's guesses cannot lock its owner out: the owner,
//     signing in from a client that has not been guessing, gets in.
//
// An attempt is counted as a failure before its password is checked (see
// Begin), so concurrent guesses cannot all pass the check before any is
// recorded. It is per process: several dashboard processes each allow the
// limits.
//
// The dashboard's sign-in form and password change and the API's token
// endpoint share one Throttle, so guesses through one count against the
// others.
type Throttle struct {
	slowDown time.Duration

	mu          sync.Mutex
	client      *window
	emailClient *window
	email       *window
}

// The sign-in limits of a server that sets none.
const (
	DefaultPerEmail = 5
	DefaultPerIP    = 20
	DefaultWindow   = 15 * time.Minute
	DefaultSlowDown = time.Second
)

// NewThrottle returns a Throttle allowing perEmail failures per address
// from one client (after which attempts for the address from anywhere are
// held for slowDown) and perIP failures per client, each counted for
// window.
func NewThrottle(perEmail, perIP int, window, slowDown time.Duration) *Throttle {
	return &Throttle{
		slowDown:    slowDown,
		client:      newWindow(perIP, window),
		emailClient: newWindow(perEmail, window),
		email:       newWindow(perEmail, window),
	}
}

// Attempt is a sign-in attempt the throttle let through. Its failure is
// already counted; Succeeded or Cancel takes it back.
type Attempt struct {
	email, client, pair string
	at                  time.Time
}

// Begin counts an attempt by client for email at now, atomically with
// checking the limits. It returns the attempt and how long to hold it
// before checking the password (non-zero while email is being guessed
// from elsewhere), or, for a client over a limit, how long it must wait.
func (t *Throttle) Begin(email, client string, now time.Time) (a Attempt, slow, refused time.Duration) {
	email = strings.ToLower(email)
	// NUL cannot occur in a form's email or a client key, so pairs of
	// different (email, client) never collide.
	pair := email + "\x00" + client
	t.mu.Lock()
	defer t.mu.Unlock()
	if wait := max(t.client.wait(client, now), t.emailClient.wait(pair, now)); wait > 0 {
		return Attempt{}, 0, wait
	}
	if t.email.wait(email, now) > 0 {
		slow = t.slowDown
	}
	t.client.fail(client, now)
	t.emailClient.fail(pair, now)
	t.email.fail(email, now)
	return Attempt{email: email, client: client, pair: pair, at: now}, slow, 0
}

// Hold waits out slow, the slow-down Begin returned with a. When ctx ends
// first (the client went away) it takes the attempt back and returns
// false.
func (t *Throttle) Hold(ctx context.Context, a Attempt, slow time.Duration) bool {
	if slow <= 0 {
		return true
	}
	timer := time.NewTimer(slow)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		t.Cancel(a)
		return false
	}
}

// Cancel takes back an attempt whose password was not checked (the
// hashing pool was busy, the store failed or the client went away).
func (t *Throttle) Cancel(a Attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.client.forget(a.client, a.at)
	t.emailClient.forget(a.pair, a.at)
	t.email.forget(a.email, a.at)
}

// Succeeded takes back an attempt with the right password and forgets the
// client's failures for that address. The client's and the address's
// other failures still count: one good sign-in must not reopen either to
// guessing.
func (t *Throttle) Succeeded(a Attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.client.forget(a.client, a.at)
	t.emailClient.fails.Remove(a.pair)
	t.email.forget(a.email, a.at)
}

// ClientKey names the client of r for per-address throttling: its IP
// address, or for IPv6 its /64, since one subscriber usually holds a whole
// /64 and could otherwise rotate through addresses. With trustXFF (behind
// a proxy that appends the client's address) the last X-Forwarded-For
// address is the client.
func ClientKey(r *http.Request, trustXFF bool) string {
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if trustXFF {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				addr = last
			}
		}
	}
	ip := net.ParseIP(addr)
	if ip == nil {
		return "addr:" + addr
	}
	if ip.To4() == nil {
		return "ip:" + ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return "ip:" + ip.String()
}
