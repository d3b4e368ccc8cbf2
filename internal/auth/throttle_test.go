package auth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestThrottleTakesBackUncheckedAttempts(t *testing.T) {
	th := NewThrottle(2, 10, time.Minute, time.Second)
	const client = "ip:192.0.2.1"
	begin := func(at time.Duration) (Attempt, time.Duration, time.Duration) {
		return th.Begin("Ada@example.com", client, now.Add(at))
	}
	// Attempts whose password was not checked (pool busy) do not count.
	for i := range 5 {
		a, _, refused := begin(time.Duration(i) * time.Second)
		if refused != 0 {
			t.Fatalf("cancelled attempt %d was counted: refused for %v", i, refused)
		}
		th.Cancel(a)
	}
	// Two counted failures refuse the client for the address; the second
	// is counted the moment it begins, before any password is checked.
	begin(10 * time.Second)
	begin(11 * time.Second)
	if _, _, refused := begin(12 * time.Second); refused != 58*time.Second {
		t.Errorf("third attempt refused for %v, want 58s", refused)
	}
	// Another client is slowed down, not refused; its success forgets
	// only its own attempt.
	a, slow, refused := th.Begin("ada@example.com", "ip:198.51.100.7", now.Add(13*time.Second))
	if refused != 0 || slow != time.Second {
		t.Fatalf("other client: slow %v, refused %v; want 1s, 0", slow, refused)
	}
	th.Succeeded(a)
	if _, _, refused := begin(14 * time.Second); refused == 0 {
		t.Error("another client's success let the guesser in again")
	}
}

func TestWindow(t *testing.T) {
	l := newWindow(3, time.Minute)
	t0 := now
	for i := range 3 {
		if w := l.wait("k", t0); w != 0 {
			t.Fatalf("attempt %d: wait %v", i, w)
		}
		l.fail("k", t0.Add(time.Duration(i)*10*time.Second))
	}
	tests := []struct {
		at   time.Duration
		want time.Duration
	}{
		{20 * time.Second, 40 * time.Second},
		{59 * time.Second, time.Second},
		{60 * time.Second, 0}, // the first failure left the window
	}
	for _, tt := range tests {
		if got := l.wait("k", t0.Add(tt.at)); got != tt.want {
			t.Errorf("wait at +%v = %v, want %v", tt.at, got, tt.want)
		}
	}
	l.forget("k", t0)
	if w := l.wait("k", t0.Add(time.Second)); w != 0 {
		t.Errorf("wait after forgetting a failure = %v", w)
	}
	// Memory stays bounded under a flood of keys, and the flood evicts
	// the least recently used keys, not the busy one.
	for i := range maxLimiterKeys + 50 {
		l.fail(strconv.Itoa(i), t0)
		if i%1000 == 0 {
			l.fail("k", t0.Add(20*time.Second))
		}
	}
	if n := l.fails.Len(); n > maxLimiterKeys {
		t.Errorf("%d keys kept, want at most %d", n, maxLimiterKeys)
	}
	if w := l.wait("k", t0.Add(21*time.Second)); w == 0 {
		t.Error("the flood evicted the busiest key")
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct {
		remote, xff string
		trust       bool
		want        string
	}{
		{"192.0.2.1:5000", "", false, "ip:192.0.2.1"},
		{"192.0.2.1:5000", "203.0.113.9", false, "ip:192.0.2.1"},
		{"192.0.2.1:5000", "10.0.0.1, 203.0.113.9", true, "ip:203.0.113.9"},
		{"[2001:db8::1]:443", "", false, "ip:2001:db8::/64"},
		{"[2001:db8:0:0:ffff::2]:443", "", false, "ip:2001:db8::/64"},
		{"pipe", "", false, "addr:pipe"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remote
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := ClientKey(r, tt.trust); got != tt.want {
			t.Errorf("ClientKey(%s, %q, trust=%v) = %q, want %q", tt.remote, tt.xff, tt.trust, got, tt.want)
		}
	}
}
