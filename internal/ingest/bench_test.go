package ingest

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/json"
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
// and the same event grown to 50 KB with breadcrumbs; and a 50 KB Python
// event whose frames carry local variables, as `flytrap bench` sends
// (internal/bench/envelope.go). queued-B/op is the size of what is queued.
func BenchmarkEnvelope(b *testing.B) {
	payload, err := os.ReadFile(filepath.Join("testdata", "sentry", "javascript-browser.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		event []byte
	}{{"browser", payload}, {"50KB", bigEvent(payload)}, {"python50KB", pythonEvent()}} {
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
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r.request())
			b.ReportMetric(float64(len(q.bodies[0])), "queued-B/op")
			q.bodies = q.bodies[:0]
		})
	}
}

// BenchmarkSessionEnvelope measures the browser SDK's envelope of a session
// update alone (one per page load): decoded and queued as one message.
func BenchmarkSessionEnvelope(b *testing.B) {
	body := envelopeOf(`{"sent_at":"2025-06-27T06:48:33Z","sdk":{"name":"sentry.javascript.browser","version":"8.55.0"}}`, true,
		[2]string{"session", browserSession})
	h, q := newTestHandler(b, defaultKeys, unlimited)
	r := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r.request())
		if rec.Code != 200 || len(q.bodies) != 1 {
			b.Fatalf("status %d, %d queued: %s", rec.Code, len(q.bodies), rec.Body)
		}
		q.bodies = q.bodies[:0]
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

// pythonEvent is a 50 KB sentry-python event shaped like the load tool's
// (internal/bench/envelope.go): 29 frames with source context and local
// variables, a request, contexts, the SDKs' 100 breadcrumbs, and rows in
// the frames' variables up to the size.
func pythonEvent() []byte {
	var frames []any
	for i := range 29 {
		frames = append(frames, map[string]any{
			"filename": fmt.Sprintf("app/svc/m%d.py", i), "abs_path": fmt.Sprintf("/srv/app/app/svc/m%d.py", i),
			"module": fmt.Sprintf("app.svc.m%d", i), "function": fmt.Sprintf("handle_%d", i), "lineno": 10 + i*13%400,
			"in_app": i >= 14, "context_line": "total = order.total + discount(customer, cart)",
			"pre_context":  []string{"def handle(order):", "    customer = order.customer", "    cart = load_cart(order)"},
			"post_context": []string{"    return total", ""},
			"vars":         map[string]any{"order_id": 100000 + i*7919, "user": "customer invoice", "retries": i % 5},
		})
	}
	ev := map[string]any{
		"platform": "python", "level": "error", "logger": "app.worker", "server_name": "web-1", "release": "bench@1.0.0",
		"exception": map[string]any{"values": []any{map[string]any{"type": "ValueError", "module": "builtins",
			"value": "invalid literal for int() with base 10: 'item-7'", "mechanism": map[string]any{"type": "generic", "handled": false},
			"stacktrace": map[string]any{"frames": frames}}}},
		"request":  map[string]any{"url": "https://shop.example.com/api/v1/orders/7", "method": "POST", "headers": map[string]string{"User-Agent": "Mozilla/5.0 Firefox/133.0"}},
		"tags":     map[string]string{"region": "eu-west-1", "customer_tier": "gold"},
		"contexts": map[string]any{"os": map[string]any{"name": "Linux", "version": "6.8.0"}, "runtime": map[string]any{"name": "CPython", "version": "3.12.7"}},
		"user":     map[string]any{"id": "user-7"},
		"sdk":      map[string]any{"name": "sentry.python", "version": "2.19.0"},
	}
	var crumbs []any
	for i := range 100 {
		crumbs = append(crumbs, map[string]any{"timestamp": 1751006913.25 + float64(i), "category": "query", "level": "info",
			"message": fmt.Sprintf("SELECT total FROM orders WHERE id = %d AND status = 'pending'", i*7919%10007),
			"data":    map[string]any{"db.system": "postgresql", "db.params": []any{i * 7919 % 10007}}})
	}
	ev["breadcrumbs"] = map[string]any{"values": crumbs}
	for row := 0; ; row++ {
		b, _ := json.Marshal(ev)
		if len(b) >= 50_000 {
			return b
		}
		vars := frames[row%len(frames)].(map[string]any)["vars"].(map[string]any)
		vars[fmt.Sprintf("row_%d", row)] = map[string]any{"id": row * 7919 % 10007, "status": "pending", "note": "customer invoice payment retry after the card was declined by the issuer twice"}
	}
}

// bigEvent is payload with breadcrumbs added until it is 50 KB.
func bigEvent(payload []byte) []byte {
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		panic(err)
	}
	var crumbs []any
	for i := 0; ; i++ {
		crumbs = append(crumbs, map[string]any{"timestamp": 1751006913.25 + float64(i), "category": "http", "level": "info",
			"message": "GET /api/items/" + string(rune('a'+i%26)) + " 200", "data": map[string]any{"status_code": 200, "url": "https://shop.example.com/api/items?page=" + string(rune('0'+i%10))}})
		ev["breadcrumbs"] = crumbs
		b, _ := json.Marshal(ev)
		if len(b) >= 50_000 {
			return b
		}
	}
}
