package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// TestIPsNeverStoredRaw checks the queued bytes, not just the User field:
// an address must not survive anywhere an SDK commonly puts it.
func TestIPsNeverStoredRaw(t *testing.T) {
	const ip = "198.51.100.77"
	wantHash := func(salt, addr string) string {
		sum := sha256.Sum256([]byte(salt + addr))
		return hex.EncodeToString(sum[:])[:32]
	}
	sentryEvent := `{"user":{"id":"u1","ip_address":"` + ip + `"},"request":{"url":"https://x/","headers":{"X-Forwarded-For":"` + ip + `","X-Real-IP":"` + ip + `","Forwarded":"for=` + ip + `","X-Original-For":"` + ip + `:51097"},"env":{"REMOTE_ADDR":"` + ip + `"}},"tags":[["sentry:user","ip:` + ip + `"]],"message":"m"}`
	sources := []struct {
		name string
		req  req
		// hashed is the address the hash must be of; "" when the event
		// carries no user address at all.
		hashed string
	}{
		{"sentry user.ip_address and request", req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: envelopeOf(`{}`, false, [2]string{"event", sentryEvent})}, ip},
		{"IPv4-mapped IPv6 counts as IPv4", req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"user":{"ip_address":"::ffff:` + ip + `"}}`)}, ip},
		{"{{auto}} is the peer address", req{path: "/api/42/store/", header: sentryAuth(testKey), remote: ip + ":51234", body: []byte(`{"user":{"ip_address":"{{auto}}"}}`)}, ip},
		{"{{auto}} ignores X-Forwarded-For unless trusted", req{path: "/api/42/store/", remote: "10.9.9.9:1", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + testKey, "X-Forwarded-For": ip}, body: []byte(`{"user":{"ip_address":"{{auto}}"}}`)}, "10.9.9.9"},
		{"flytrap ip", req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: []byte(`{"data":{"error":{"name":"E","message":"m"},"project_id":"42","ip":"` + ip + `"}}`)}, ip},
		{"flytrap rejection ip", req{path: "/api/rejections", header: map[string]string{"x-api-key": testKey}, body: []byte(`{"data":{"value":"v","project_id":"42","ip":" ` + ip + ` "}}`)}, ip},
	}
	modes := []struct {
		name   string
		cfg    func(*Config)
		hashed bool
	}{
		{"salted", nil, true},
		{"DropIPs", func(c *Config) { c.DropIPs = true }, false},
		{"no salt drops", func(c *Config) { c.IPSalt = nil }, false},
	}
	for _, m := range modes {
		for _, s := range sources {
			t.Run(m.name+"/"+s.name, func(t *testing.T) {
				h, q := newTestHandler(t, defaultKeys, m.cfg)
				rec := s.req.do(h)
				if rec.Code != 200 {
					t.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				if len(q.bodies) != 1 {
					t.Fatalf("queued %d events", len(q.bodies))
				}
				if raw := q.bodies[0]; bytes.Contains(raw, []byte(ip)) || bytes.Contains(raw, []byte("10.9.9.9")) {
					t.Fatalf("raw IP in the queued body:\n%s", raw)
				}
				ev := q.only(t)
				var got string
				if ev.User != nil {
					got = ev.User.IPHash
				}
				want := ""
				if m.hashed {
					want = wantHash(testSalt, s.hashed)
				}
				if got != want {
					t.Errorf("ip_hash %q, want %q", got, want)
				}
			})
		}
	}
}

func TestTrustForwardedFor(t *testing.T) {
	tests := []struct {
		name   string
		xff    []string
		remote string
		want   string
	}{
		{"last entry of the last header", []string{"1.1.1.1", "6.6.6.6, 198.51.100.77"}, "10.0.0.1:443", "198.51.100.77"},
		{"single entry", []string{"198.51.100.77"}, "10.0.0.1:443", "198.51.100.77"},
		{"empty entry falls back to the peer", []string{"1.1.1.1, "}, "10.0.0.1:443", "10.0.0.1"},
		{"no header", nil, "10.0.0.1:443", "10.0.0.1"},
		{"peer without port", nil, "10.0.0.1", "10.0.0.1"},
	}
	h, _ := newTestHandler(t, defaultKeys, func(c *Config) { c.TrustForwardedFor = true })
	for _, tt := range tests {
		r := req{path: "/"}.request()
		r.RemoteAddr = tt.remote
		for _, v := range tt.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := h.clientIP(r); got != tt.want {
			t.Errorf("%s: clientIP = %q, want %q", tt.name, got, tt.want)
		}
	}
	plain, _ := newTestHandler(t, defaultKeys, nil)
	r := req{path: "/"}.request()
	r.RemoteAddr = "[2001:db8::5]:443"
	r.Header.Set("X-Forwarded-For", "198.51.100.77")
	if got := plain.clientIP(r); got != "2001:db8::5" {
		t.Errorf("untrusted: clientIP = %q, want the peer", got)
	}
}

func TestHashIPNonAddresses(t *testing.T) {
	d := testDecoder()
	if d.hashIP("") != "" || d.hashIP("   ") != "" {
		t.Error("empty input hashed")
	}
	// Strings that are not addresses are still hashed, never kept.
	if h := d.hashIP("F528764D624DB129B32C21FBCA0CB8D6"); len(h) != 32 || strings.Contains(h, "F528") {
		t.Errorf("hashIP = %q", h)
	}
	other := &decoder{salt: []byte("other salt")}
	if d.hashIP("192.0.2.1") == other.hashIP("192.0.2.1") {
		t.Error("the salt does not change the hash")
	}
}
