package dashboard

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxLimiterKeys bounds a limiter's memory. A flood of distinct keys first
// drops the expired ones and then arbitrary others: losing some counts is
// better than running out of memory, and the per-address limit still
// bounds how fast one address can guess.
const maxLimiterKeys = 10000

// limiter counts failures per key in a sliding window. It is per process:
// several dashboard processes each allow the limit, which still bounds a
// password guesser to a handful of tries per window.
type limiter struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[string][]time.Time // ascending, at most max entries
}

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, fails: make(map[string][]time.Time)}
}

// recent returns key's failures still inside the window at now.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-l.window)) {
		i++
	}
	return ts[i:]
}

// wait returns how long key must wait before its next attempt: zero while
// it is under the limit, else until its oldest counted failure expires.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.recent(key, now)
	if len(ts) < l.max {
		return 0
	}
	return ts[len(ts)-l.max].Add(l.window).Sub(now)
}

// fail records a failure of key at now.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.fails[key]; !ok && len(l.fails) >= maxLimiterKeys {
		l.evict(now)
	}
	ts := append(l.recent(key, now), now)
	if len(ts) > l.max {
		// Only the newest max failures decide when the key may try again.
		ts = ts[len(ts)-l.max:]
	}
	l.fails[key] = ts
}

// evict makes room for a new key.
func (l *limiter) evict(now time.Time) {
	for k := range l.fails {
		if len(l.recent(k, now)) == 0 {
			delete(l.fails, k)
		}
	}
	for k := range l.fails {
		if len(l.fails) < maxLimiterKeys {
			return
		}
		delete(l.fails, k)
	}
}

// reset forgets key's failures (after it signed in successfully).
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

// clientKey names the client for per-address throttling: its IP address,
// or for IPv6 its /64, since one subscriber usually holds a whole /64 and
// could otherwise rotate through addresses.
func (d *Dashboard) clientKey(r *http.Request) string {
	addr := r.RemoteAddr
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	if d.trustXFF {
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
