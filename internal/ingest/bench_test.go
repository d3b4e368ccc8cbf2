package ingest

import (
	"bytes"
	stdgzip "compress/gzip"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// BenchmarkEnvelope measures one request of a typical browser SDK: an
// envelope with a JavaScript error event, decoded, normalized and queued;
// and the same event grown to 50 KB with breadcrumbs.
func BenchmarkEnvelope(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "sentry", "javascript-browser.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		event []byte
	}{{"browser", payload}, {"50KB", bigEvent(payload)}} {
		b.Run(c.name, func(b *testing.B) {
			body := envelopeOf(`{"event_id":"c2b7f1a4e5d94b0f8a6e3d2c1b0a9f8e","sent_at":"2025-06-27T06:48:33Z","sdk":{"name":"sentry.javascript.browser","version":"8.55.0"}}`, true,
				[2]string{"event", string(c.event)}, [2]string{"client_report", `{"timestamp":1751006913,"discarded_events":[]}`})
			h, q := newTestHandler(b, defaultKeys, unlimited)
			r := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r.request())
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				q.bodies = q.bodies[:0]
			}
		})
	}
}

// BenchmarkInflate compares the gzip reader ingest uses with the standard
// library's on a typical event, so the choice can be checked again.
func BenchmarkInflate(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "sentry", "javascript-browser.json"))
	if err != nil {
		b.Fatal(err)
	}
	// A 50 KB event: the SDK's, with breadcrumbs of varied log lines.
	raw := bytes.Clone(payload)
	for i := 0; len(raw) < 50_000; i++ {
		raw = fmt.Appendf(raw, "\nGET /api/items/%d 200 in %d ms user=%d", i*7919%10007, i*31%997, i)
	}
	var buf bytes.Buffer
	w := stdgzip.NewWriter(&buf)
	w.Write(raw)
	w.Close()
	gz := buf.Bytes()
	kz, sz := new(gzip.Reader), new(stdgzip.Reader)
	for _, c := range []struct {
		name  string
		reset func(io.Reader) (io.Reader, error)
	}{
		{"klauspost", func(r io.Reader) (io.Reader, error) { return kz, kz.Reset(r) }},
		{"stdlib", func(r io.Reader) (io.Reader, error) { return sz, sz.Reset(r) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				r, err := c.reset(bytes.NewReader(gz))
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, r); err != nil || n != int64(len(raw)) {
					b.Fatalf("inflated %d bytes, %v", n, err)
				}
			}
		})
	}
}
