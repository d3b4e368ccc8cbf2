package ingest

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkEnvelope measures one request of a typical browser SDK: an
// envelope with a JavaScript error event, decoded, normalized and queued.
func BenchmarkEnvelope(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "sentry", "javascript-browser.json"))
	if err != nil {
		b.Fatal(err)
	}
	body := envelopeOf(`{"event_id":"c2b7f1a4e5d94b0f8a6e3d2c1b0a9f8e","sent_at":"2025-06-27T06:48:33Z","sdk":{"name":"sentry.javascript.browser","version":"8.55.0"}}`, true,
		[2]string{"event", string(payload)}, [2]string{"client_report", `{"timestamp":1751006913,"discarded_events":[]}`})
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
}
