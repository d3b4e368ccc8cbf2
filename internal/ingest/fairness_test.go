package ingest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// The attacks below are those a security pass ran against `flytrap dev`:
// stalled requests from one client, or with one project's public key,
// that held what every client and project shares.

// dialFrom dials the server from ip, a loopback address other than
// 127.0.0.1 (Linux routes all of 127/8 to lo), so the handler sees a
// client of its own.
func dialFrom(t *testing.T, ip string) *net.Dialer {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Skipf("cannot dial from %s, so the server cannot see a second client: %v", ip, err)
	}
	conn.Close()
	return d
}

// clientFrom is an HTTP client whose connections come from ip.
func clientFrom(t *testing.T, ip string) *http.Client {
	d := dialFrom(t, ip)
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// stall sends a request's head and the start of its body, and then
// nothing until the test ends.
func stall(t *testing.T, srv *httptest.Server, head string, start []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := fmt.Fprintf(conn, "%sHost: flytrap.test\r\n\r\n%s", head, start); err != nil {
		t.Fatal(err)
	}
}

// newFairnessServer serves a handler with the default limits over TCP;
// it is closed after the stalled connections, whose cleanups run first.
func newFairnessServer(t *testing.T) (*Handler, *memQueue, *httptest.Server) {
	h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.RatePerMinute = -1 })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, q, srv
}

// send posts body (nil: an envelope of one event) to project's envelope
// endpoint with key and returns the status and the answer.
func send(t *testing.T, c *http.Client, srv *httptest.Server, project int, key, encoding string, body []byte) (int, string) {
	t.Helper()
	if body == nil {
		body = []byte(jsEnvelope)
	}
	if encoding == "gzip" {
		body = encode(t, bombEncodings[0].encode, body)
	}
	rq, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/%d/envelope/", srv.URL, project), bytes.NewReader(body))
	for k, v := range sentryAuth(key) {
		rq.Header.Set(k, v)
	}
	if encoding != "" {
		rq.Header.Set("Content-Encoding", encoding)
	}
	resp, err := c.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

// TestStalledGzipOfOneClientLeavesOthersTheirDecoders is finding F2: 16
// requests with no key send the first two bytes of a gzip body and stall.
// Each took a decoder slot, all 16 of them, until its body's deadline, and
// every compressed event of every project was answered 503. Now one
// client holds at most its share of the slots; its other requests wait.
func TestStalledGzipOfOneClientLeavesOthersTheirDecoders(t *testing.T) {
	_, q, srv := newFairnessServer(t)
	other := clientFrom(t, "127.0.0.2")
	for range DefaultMaxConcurrentDecodes {
		stall(t, srv, "POST /api/999999/envelope/ HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 100000\r\n", []byte{0x1f, 0x8b})
	}
	time.Sleep(300 * time.Millisecond) // the server is reading them all by then
	if code, msg := send(t, other, srv, testProject, testKey, "gzip", nil); code != http.StatusOK {
		t.Fatalf("a gzip event from another client beside %d stalled gzip requests: HTTP %d %s", DefaultMaxConcurrentDecodes, code, msg)
	}
	if n := len(q.events(t)); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
}

// TestStalledEnvelopesOfOneProjectLeaveOthersTheirBytes is finding F3: 70
// requests with project 42's public key announce an event of 1 MiB, the
// largest allowed, and stall once it is charged; they held the 64 MiB every
// project shares, and every event, plain or compressed, of every project
// was answered 503.
// Now a project holds at most its share; past it, its own requests are
// refused, not other projects'.
func TestStalledEnvelopesOfOneProjectLeaveOthersTheirBytes(t *testing.T) {
	_, q, srv := newFairnessServer(t)
	head := "POST /api/42/envelope/?sentry_key=" + testKey + " HTTP/1.1\r\nContent-Length: 20000000\r\n"
	start := "{}\n" + `{"type":"event","length":1048576}` + "\n"
	for range 70 {
		stall(t, srv, head, []byte(start))
	}
	time.Sleep(300 * time.Millisecond)
	for _, ip := range []string{"127.0.0.1", "127.0.0.2"} {
		if code, msg := send(t, clientFrom(t, ip), srv, otherProject, otherKey, "", nil); code != http.StatusOK {
			t.Errorf("an event of project %d from %s beside project %d's 70 stalled envelopes: HTTP %d %s", otherProject, ip, testProject, code, msg)
		}
	}
	big := envelopeOf(`{}`, true, [2]string{"event", `{"message":"` + strings.Repeat("x", 600<<10) + `"}`})
	code, msg := send(t, http.DefaultClient, srv, testProject, testKey, "", big)
	if code != http.StatusServiceUnavailable || !strings.Contains(msg, "overloaded") || !strings.Contains(msg, "this project") {
		t.Errorf("a 600 KiB event of project %d, whose share is spent: HTTP %d %s, want 503 overloaded for the project", testProject, code, msg)
	}
	if n := len(q.events(t)); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
}

// TestStalledBrotliWithoutKeyLeavesOthersTheirBytes: a brotli body's first
// byte declares a window of up to 16 MiB, charged before the key in its
// envelope header can be read. Four such requests with no key, stalled
// after that byte, held the whole 64 MiB budget; before its project is
// known a request's bytes count against its client's share.
func TestStalledBrotliWithoutKeyLeavesOthersTheirBytes(t *testing.T) {
	_, q, srv := newFairnessServer(t)
	wire := encode(t, func(w io.Writer) io.WriteCloser {
		return brotli.NewWriterOptions(w, brotli.WriterOptions{Quality: 5, LGWin: 24})
	}, []byte(jsEnvelope))
	for range 4 {
		stall(t, srv, "POST /api/42/envelope/ HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 100000\r\n", wire[:1])
	}
	time.Sleep(300 * time.Millisecond)
	if code, msg := send(t, clientFrom(t, "127.0.0.2"), srv, testProject, testKey, "", nil); code != http.StatusOK {
		t.Errorf("an event from another client beside 4 stalled brotli bodies: HTTP %d %s", code, msg)
	}
	if n := len(q.events(t)); n != 1 {
		t.Errorf("%d events stored, want 1", n)
	}
}

// TestOneClientsBurstOfGzipEventsWaitsItsTurn: a busy backend (or many
// behind one NAT address) sends 32 gzip events at once, each taking a
// while to arrive. Over its share of decoder slots, its requests wait for
// one of its own instead of being refused; all 32 are stored. Afterwards
// nothing is left in the handler's per-client and per-project tables.
func TestOneClientsBurstOfGzipEventsWaitsItsTurn(t *testing.T) {
	h, q, srv := newFairnessServer(t)
	const senders = 32
	wire := encode(t, bombEncodings[0].encode, []byte(jsEnvelope))
	codes := make([]int, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			// By hand: net/http's client buffers a body this small
			// until all of it is written.
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /api/42/envelope/?sentry_key=%s HTTP/1.1\r\nHost: flytrap.test\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s",
				testKey, len(wire), wire[:len(wire)/2])
			time.Sleep(100 * time.Millisecond)
			conn.Write(wire[len(wire)/2:])
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != http.StatusOK {
			t.Errorf("event %d of %d sent at once by one client: HTTP %d, want 200", i, senders, code)
		}
	}
	if n := len(q.events(t)); n != senders {
		t.Errorf("%d events stored, want %d", n, senders)
	}
	assertSharesEmpty(t, h.budget)
}

// assertSharesEmpty fails unless b's per-client and per-project tables
// are empty, as they must be with no request in flight.
func assertSharesEmpty(t *testing.T, b *budget) {
	t.Helper()
	b.slots.mu.Lock()
	slots := len(b.slots.m)
	b.slots.mu.Unlock()
	b.held.mu.Lock()
	held := len(b.held.used)
	b.held.mu.Unlock()
	if slots != 0 || held != 0 || b.bytes.Load() != 0 || b.decodes.Load() != 0 {
		t.Errorf("with no request in flight: %d clients with decoder slots, %d holders of bytes, %d bytes and %d decoders held; want none",
			slots, held, b.bytes.Load(), b.decodes.Load())
	}
}

// TestSharesForgetIdleHolders: the per-client and per-project tables keep
// only who holds or awaits something, so a flood from many addresses (an
// IPv6 /64 has 2^64) leaves nothing behind.
func TestSharesForgetIdleHolders(t *testing.T) {
	// Shares bind once half the budget is spent: from 100 bytes on.
	b := newBudget(200, 100, 4, 1)
	far := time.Now().Add(time.Minute)
	for i := range 1000 {
		l := &lease{b: b, client: fmt.Sprintf("10.0.%d.%d", i/256, i%256), holder: holder{project: int64(i + 1)}}
		if err := l.startDecode(far, nil); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if err := l.grow(1); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		l.release()
	}
	assertSharesEmpty(t, b)

	// A request that waits for its client's slot in vain leaves nothing.
	first := &lease{b: b, client: "10.0.0.1", holder: holder{client: "10.0.0.1"}}
	if err := first.startDecode(far, nil); err != nil {
		t.Fatal(err)
	}
	second := &lease{b: b, client: "10.0.0.1", holder: holder{client: "10.0.0.1"}}
	if err := second.startDecode(time.Now().Add(10*time.Millisecond), nil); err != errClientDecodes {
		t.Errorf("a second decode of a client with one slot: %v, want errClientDecodes", err)
	}
	// Bytes charged before the project is known move to it.
	if err := first.grow(60); err != nil {
		t.Fatal(err)
	}
	if err := second.grow(60); err != errOverShare {
		t.Errorf("the client's bytes over its share: %v, want errOverShare", err)
	}
	if err := first.attach(7); err != nil {
		t.Fatal(err)
	}
	if err := second.grow(60); err != nil {
		t.Errorf("the client's bytes once the first request's moved to its project: %v", err)
	}
	if err := second.attach(7); err != errOverShare {
		t.Errorf("attaching 60 bytes to a project holding 60 of 100: %v, want errOverShare", err)
	}
	first.release()
	second.release()
	assertSharesEmpty(t, b)
}

// TestClientKey groups IPv6 addresses by /64, which one subscriber
// usually holds whole.
func TestClientKey(t *testing.T) {
	for _, tt := range []struct{ ip, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8::1", "2001:db8::/64"},
		{"2001:db8::ffff:ffff:ffff:2", "2001:db8::/64"},
		{"2001:db8:0:1::1", "2001:db8:0:1::/64"},
		{"not an address", "not an address"},
	} {
		if got := clientKey(tt.ip); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
}

// TestShareBindsWhenTheBudgetIsTight: a project sending alone may hold up
// to half the budget past its share; then it keeps to its share while
// another project still gets its own.
func TestShareBindsWhenTheBudgetIsTight(t *testing.T) {
	b := newBudget(1000, 250, 16, 4)
	busy := func(project int64) *lease { return &lease{b: b, client: "10.0.0.1", holder: holder{project: project}} }
	var held []*lease
	for i := range 5 {
		l := busy(1)
		if err := l.grow(100); err != nil {
			t.Fatalf("project 1's request %d, %d bytes of 1000 spent: %v", i, b.bytes.Load(), err)
		}
		held = append(held, l)
	}
	over := busy(1)
	if err := over.grow(100); err != errOverShare {
		t.Errorf("project 1 holding 500 of 1000, over its share of 250: %v, want errOverShare", err)
	}
	other := busy(2)
	if err := other.grow(250); err != nil {
		t.Errorf("project 2's share while project 1 holds half: %v", err)
	}
	other.release()
	for _, l := range append(held, over) {
		l.release()
	}
	assertSharesEmpty(t, b)
}
