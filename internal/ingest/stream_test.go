package ingest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// filler yields n bytes of b without holding them, so a test can send a
// body of 100 MiB without its own memory showing in the measurement.
type filler struct {
	n     int64
	block []byte
}

func newFiller(c byte, n int64) *filler {
	return &filler{n: n, block: bytes.Repeat([]byte{c}, 32<<10)}
}

func (f *filler) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(int64(len(p)), f.n)], f.block)
	f.n -= int64(k)
	return k, nil
}

// peakHeapGrowth runs fn and returns by how much the heap grew at most
// while it ran, sampled every 100µs.
func peakHeapGrowth(fn func()) float64 {
	runtime.GC()
	base := heapObjects()
	var peak atomic.Uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if v := heapObjects(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	fn()
	close(stop)
	<-sampled
	return float64(peak.Load()-min(base, peak.Load())) / mib
}

// streamedRequest is a POST of the parts, read one after the other; size
// is the Content-Length to announce, -1 for none (chunked).
func streamedRequest(path string, header map[string]string, size int64, parts ...io.Reader) *http.Request {
	r := req{path: path, header: header}.request()
	r.Body = io.NopCloser(io.MultiReader(parts...))
	r.ContentLength = size
	return r
}

// TestLargeAttachmentKeepsTheEvent is QA finding #5: an event sent with an
// attachment larger than the 20 MiB body limit was refused whole (413),
// and the SDK then dropped the event too. Attachments are skipped as they
// arrive, so the envelope is accepted up to 100 MiB, its event is stored,
// and the heap does not grow by the attachment.
func TestLargeAttachmentKeepsTheEvent(t *testing.T) {
	const eid = "4c0bd4e4b5e54ba0a2f2a8d0c7b4e8a1"
	head := func(attachment string) string {
		return `{"event_id":"` + eid + `"}` + "\n" + `{"type":"event"}` + "\n" + `{"message":"crash with big minidump"}` + "\n" + attachment + "\n"
	}
	tests := []struct {
		name       string
		header     string // the attachment's item header
		size       int64  // attachment bytes
		chunked    bool
		afterEvent bool // a second event after the attachment
	}{
		// The report's envelope, byte for byte but for the event ID.
		{name: "21 MiB minidump with a length", header: `{"type":"attachment","length":%d,"filename":"crash.dmp","attachment_type":"event.minidump"}`, size: 21 << 20},
		{name: "99 MiB attachment, chunked", header: `{"type":"attachment","length":%d,"filename":"big.log"}`, size: 99 << 20, chunked: true},
		{name: "30 MiB attachment without a length, then an event", header: `{"type":"attachment"}`, size: 30 << 20, afterEvent: true},
		{name: "25 MiB replay recording", header: `{"type":"replay_recording","length":%d}`, size: 25 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, unlimited)
			ih := tt.header
			if strings.Contains(ih, "%d") {
				ih = fmt.Sprintf(ih, tt.size)
			}
			prefix := head(ih)
			suffix := "\n"
			if tt.afterEvent {
				suffix += `{"type":"event"}` + "\n" + `{"message":"second"}` + "\n"
			}
			total := int64(len(prefix)) + tt.size + int64(len(suffix))
			if tt.chunked {
				total = -1
			}
			r := streamedRequest("/api/42/envelope/", sentryAuth(testKey), total, strings.NewReader(prefix), newFiller('M', tt.size), strings.NewReader(suffix))
			rec := httptest.NewRecorder()
			grew := peakHeapGrowth(func() { h.ServeHTTP(rec, r) })
			t.Logf("the heap grew by %.1f MiB at peak", grew)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), eid) {
				t.Fatalf("status %d, want 200 with the event's ID: %s", rec.Code, rec.Body)
			}
			evs := q.events(t)
			want := 1
			if tt.afterEvent {
				want = 2
			}
			if len(evs) != want || evs[0].Message != "crash with big minidump" {
				t.Fatalf("queued %d events (%+v), want %d with the message", len(evs), evs, want)
			}
			// The reader's 64 KiB buffer, the event and the test's
			// scaffolding; buffering the attachment grows the heap by
			// its size.
			if grew > 4 {
				t.Errorf("the heap grew by %.1f MiB reading a %d MiB attachment; it should be skipped, not held", grew, tt.size>>20)
			}
			if st := h.Stats(); st.DroppedItems != 1 {
				t.Errorf("DroppedItems = %d, want 1", st.DroppedItems)
			}
		})
	}
}

// TestCompressedAttachmentsKeepTheEvent is the report's second case: a gzip
// body of an event and 30 attachments of 1 MB, over 20 MiB once decoded.
func TestCompressedAttachmentsKeepTheEvent(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, "{}\n{\"type\":\"event\"}\n{\"message\":\"thirty attachments\"}\n")
	att := bytes.Repeat([]byte("L"), 1_000_000)
	for i := range 30 {
		fmt.Fprintf(zw, "{\"type\":\"attachment\",\"length\":%d,\"filename\":\"log%d.txt\"}\n", len(att), i)
		zw.Write(att)
		zw.Write([]byte("\n"))
	}
	zw.Close()
	h, q := newTestHandler(t, defaultKeys, unlimited)
	hdr := sentryAuth(testKey)
	hdr["Content-Encoding"] = "gzip"
	var rec *httptest.ResponseRecorder
	grew := peakHeapGrowth(func() { rec = req{path: "/api/42/envelope/", header: hdr, body: buf.Bytes()}.do(h) })
	if rec.Code != 200 {
		t.Fatalf("status %d, want 200: %s", rec.Code, rec.Body)
	}
	if ev := q.only(t); ev.Message != "thirty attachments" {
		t.Errorf("message %q", ev.Message)
	}
	if grew > 4 {
		t.Errorf("the heap grew by %.1f MiB decoding 30 MB of attachments; they should be skipped", grew)
	}
}

// TestEnvelopeLimits keeps the limits the streaming reader must still
// apply: the envelope's size as sent and decoded, each event's size (a
// declared length over it refused before a byte is read), and the events
// of one envelope together.
func TestEnvelopeLimits(t *testing.T) {
	t.Run("over 100 MiB as sent", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, unlimited)
		prefix := "{}\n{\"type\":\"event\"}\n{\"message\":\"m\"}\n{\"type\":\"attachment\"}\n"
		r := streamedRequest("/api/42/envelope/", sentryAuth(testKey), -1, strings.NewReader(prefix), newFiller('a', DefaultMaxEnvelopeBytes))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if code, msg := errorResponse(t, rec); rec.Code != 413 || !strings.Contains(msg, fmt.Sprint(DefaultMaxEnvelopeBytes)) {
			t.Errorf("status %d %q %q, want 413 naming the limit", rec.Code, code, msg)
		}
		if len(q.bodies) != 0 {
			t.Error("queued an event of a refused envelope")
		}
	})
	t.Run("gzip bomb over 100 MiB decoded", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, unlimited)
		wire := bomb(t, bombEncodings[0].encode, `{}`, DefaultMaxEnvelopeBytes+1)
		hdr := sentryAuth(testKey)
		hdr["Content-Encoding"] = "gzip"
		var rec *httptest.ResponseRecorder
		grew := peakHeapGrowth(func() { rec = req{path: "/api/42/envelope/", header: hdr, body: wire}.do(h) })
		if code, msg := errorResponse(t, rec); rec.Code != 413 || !strings.Contains(msg, "gzip-decoded body exceeds") {
			t.Errorf("status %d %q %q, want 413 for the decoded size", rec.Code, code, msg)
		}
		if grew > 4 {
			t.Errorf("the heap grew by %.1f MiB decoding a bomb of skipped bytes", grew)
		}
	})
	t.Run("event length over the event limit", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, unlimited)
		// Only the header is sent: the length alone condemns it.
		r := streamedRequest("/api/42/envelope/", sentryAuth(testKey), -1, strings.NewReader("{}\n{\"type\":\"event\",\"length\":5000000}\n"), &gatedBody{r: bytes.NewReader(nil), gate: make(chan struct{}), arrived: func() {}})
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() { h.ServeHTTP(rec, r); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the handler waited for the event's bytes")
		}
		if _, msg := errorResponse(t, rec); rec.Code != 413 || !strings.Contains(msg, "item 1 (event) is 5000000 bytes") {
			t.Errorf("status %d %q, want 413 naming the item", rec.Code, msg)
		}
	})
	t.Run("event without length over the event limit", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, unlimited)
		body := "{}\n{\"type\":\"event\"}\n{\"message\":\"" + strings.Repeat("x", DefaultMaxEventBytes) + "\"}\n"
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(body)}.do(h)
		if _, msg := errorResponse(t, rec); rec.Code != 413 || !strings.Contains(msg, "item 1 (event)") {
			t.Errorf("status %d %q, want 413 naming the item", rec.Code, msg)
		}
	})
	t.Run("header lines of 64 KiB, with CRLF", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, unlimited)
		hdr := func(n int) string { return `{"x":"` + strings.Repeat("a", n-8) + `"}` }
		for _, tt := range []struct {
			n    int
			want int
		}{{maxHeaderLine, 200}, {maxHeaderLine + 1, 400}} {
			body := hdr(tt.n) + "\r\n" + `{"type":"session","pad":"` + strings.Repeat("b", tt.n-28) + `"}` + "\r\n{}\r\n"
			if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(body)}).do(h); rec.Code != tt.want {
				t.Errorf("lines of %d bytes: status %d, want %d: %s", tt.n, rec.Code, tt.want, rec.Body)
			}
		}
	})
	t.Run("events together over MaxBodyBytes", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, func(c *Config) { c.RatePerMinute, c.MaxBodyBytes, c.MaxEventBytes = -1, 3*mib, 1*mib })
		ev := `{"message":"` + strings.Repeat("x", mib-100) + `"}`
		body := envelopeOf(`{}`, true, [2]string{"event", ev}, [2]string{"event", ev}, [2]string{"event", ev}, [2]string{"event", ev})
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
		if _, msg := errorResponse(t, rec); rec.Code != 413 || !strings.Contains(msg, "events of the envelope together exceed 3145728") {
			t.Errorf("status %d %q, want 413 for the events together", rec.Code, msg)
		}
	})
}

// TestIdleRequestsHoldNothing: requests that send their headers and then
// nothing, as a stalled or hostile client does, must not spend what real
// events need. QA: 1,025 idle envelope requests with no key (whose key
// would be in the envelope) each held a 64 KiB buffer charged to the 64
// MiB budget, and 16 idle gzip requests held every decoder slot; either
// answered every real event 503.
func TestIdleRequestsHoldNothing(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, func(c *Config) {
		c.MaxInflightBytes = 1 << 20 // 16 of the old 64 KiB buffers
		c.MaxBodyBytes, c.MaxEventBytes = 256<<10, 64<<10
		c.MaxConcurrentDecodes = 2
	})
	srv := httptest.NewServer(h)
	// Closed after the idle connections, whose cleanups run first.
	t.Cleanup(srv.Close)
	idle := func(header string) {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST /api/42/envelope/ HTTP/1.1\r\nHost: flytrap.test\r\nContent-Length: 100000\r\n%s\r\n", header)
	}
	for range 40 {
		idle("")
	}
	for range 4 {
		idle("Content-Encoding: gzip\r\nX-Sentry-Auth: Sentry sentry_key=" + testKey + "\r\n")
	}
	time.Sleep(200 * time.Millisecond) // the server is reading them all by then
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(envelopeOf(`{}`, true, [2]string{"event", `{"message":"still here"}`}))
	w.Close()
	for _, enc := range []string{"", "gzip"} {
		body := envelopeOf(`{}`, true, [2]string{"event", `{"message":"still here"}`})
		if enc != "" {
			body = gz.Bytes()
		}
		rq, _ := http.NewRequest("POST", srv.URL+"/api/42/envelope/", bytes.NewReader(body))
		for k, v := range sentryAuth(testKey) {
			rq.Header.Set(k, v)
		}
		if enc != "" {
			rq.Header.Set("Content-Encoding", enc)
		}
		resp, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("a real event (%q) among idle requests: HTTP %d %s", enc, resp.StatusCode, msg)
		}
	}
	if n := len(q.events(t)); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
}
