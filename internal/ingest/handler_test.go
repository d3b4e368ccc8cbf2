package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const (
	jsEvent        = `{"event_id":"6bb1e190a7f54f4c8f3c1ec8ea2f1a54","exception":{"values":[{"type":"TypeError","value":"x is undefined"}]}}`
	flytrapErrBody = `{"data":{"error":{"name":"TypeError","message":"Cannot read property 'foo' of undefined","stack":"TypeError: Cannot read property 'foo' of undefined\n    at app.js:42:13"},"handled":false,"timestamp":"2025-06-27T06:40:00.000Z","project_id":"42"}}`
)

var jsEnvelope = string(envelopeOf(`{"event_id":"6bb1e190a7f54f4c8f3c1ec8ea2f1a54","sent_at":"2025-06-27T06:48:33Z"}`, true, [2]string{"event", jsEvent}))

func TestStatusCodes(t *testing.T) {
	withDSN := func(key string) string {
		return string(envelopeOf(`{"dsn":"https://`+key+`@flytrap.example.com/42"}`, false, [2]string{"event", jsEvent}))
	}
	tests := []struct {
		name       string
		req        req
		keys       Keys
		queue      *memQueue
		edit       func(*Config)
		wantStatus int
		wantCode   string // error code; "" for 200
		wantReason string // Stats.Rejected key; "" for 200
	}{
		{name: "envelope with X-Sentry-Auth", req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 200},
		{name: "envelope with Authorization: Sentry", req: req{path: "/api/42/envelope/", header: map[string]string{"Authorization": "Sentry sentry_key=" + testKey}, body: []byte(jsEnvelope)}, wantStatus: 200},
		{name: "envelope with quoted key", req: req{path: "/api/42/envelope/", header: map[string]string{"X-Sentry-Auth": `sentry sentry_version=7,sentry_key="` + testKey + `"`}, body: []byte(jsEnvelope)}, wantStatus: 200},
		{name: "envelope with sentry_key query", req: req{path: "/api/42/envelope/?sentry_key=" + testKey + "&sentry_version=7", body: []byte(jsEnvelope)}, wantStatus: 200},
		{name: "envelope with dsn header", req: req{path: "/api/42/envelope/", body: []byte(withDSN(testKey))}, wantStatus: 200},
		{name: "envelope without trailing slash", req: req{path: "/api/42/envelope", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 200},
		{name: "store", req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 200},
		{name: "store without trailing slash", req: req{path: "/api/42/store?sentry_key=" + testKey, body: []byte(jsEvent)}, wantStatus: 200},
		{name: "flytrap error", req: req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: []byte(flytrapErrBody)}, wantStatus: 200},
		{name: "flytrap rejection", req: req{path: "/api/rejections", header: map[string]string{"x-api-key": testKey}, body: []byte(`{"data":{"value":"boom","handled":false,"project_id":"42"}}`)}, wantStatus: 200},

		{name: "envelope without any key", req: req{path: "/api/42/envelope/", body: []byte(jsEnvelope)}, wantStatus: 401, wantCode: "missing_key", wantReason: ReasonUnauthorized},
		{name: "envelope with unknown key", req: req{path: "/api/42/envelope/", header: sentryAuth("nope"), body: []byte(jsEnvelope)}, wantStatus: 401, wantCode: "unknown_key", wantReason: ReasonUnauthorized},
		{name: "envelope with an overlong key", req: req{path: "/api/42/envelope/", header: sentryAuth(strings.Repeat("k", 300)), body: []byte(jsEnvelope)}, wantStatus: 401, wantCode: "unknown_key", wantReason: ReasonUnauthorized},
		{name: "envelope with unknown dsn key", req: req{path: "/api/42/envelope/", body: []byte(withDSN("nope"))}, wantStatus: 401, wantCode: "unknown_key", wantReason: ReasonUnauthorized},
		{name: "envelope with a dsn without key", req: req{path: "/api/42/envelope/", body: envelopeOf(`{"dsn":"https://flytrap.example.com/42"}`, false, [2]string{"event", jsEvent})}, wantStatus: 401, wantCode: "missing_key", wantReason: ReasonUnauthorized},
		{name: "store without key", req: req{path: "/api/42/store/", body: []byte(jsEvent)}, wantStatus: 401, wantCode: "missing_key", wantReason: ReasonUnauthorized},
		{name: "store with a non-Sentry Authorization", req: req{path: "/api/42/store/", header: map[string]string{"Authorization": "Bearer " + testKey}, body: []byte(jsEvent)}, wantStatus: 401, wantCode: "missing_key", wantReason: ReasonUnauthorized},
		{name: "flytrap without x-api-key", req: req{path: "/api/errors", body: []byte(flytrapErrBody)}, wantStatus: 401, wantCode: "missing_key", wantReason: ReasonUnauthorized},
		{name: "flytrap with unknown key", req: req{path: "/api/errors", header: map[string]string{"x-api-key": "nope"}, body: []byte(flytrapErrBody)}, wantStatus: 401, wantCode: "unknown_key", wantReason: ReasonUnauthorized},

		{name: "envelope key of another project", req: req{path: "/api/42/envelope/", header: sentryAuth(otherKey), body: []byte(jsEnvelope)}, wantStatus: 403, wantCode: "wrong_project", wantReason: ReasonForbidden},
		{name: "dsn key of another project", req: req{path: "/api/42/envelope/", body: []byte(withDSN(otherKey))}, wantStatus: 403, wantCode: "wrong_project", wantReason: ReasonForbidden},
		{name: "store key of another project", req: req{path: "/api/7/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 403, wantCode: "wrong_project", wantReason: ReasonForbidden},
		{name: "flytrap key of another project", req: req{path: "/api/errors", header: map[string]string{"x-api-key": otherKey}, body: []byte(flytrapErrBody)}, wantStatus: 403, wantCode: "wrong_project", wantReason: ReasonForbidden},

		{name: "project ID not a number", req: req{path: "/api/abc/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 400, wantCode: "invalid_project_id", wantReason: ReasonBadRequest},
		{name: "project ID zero", req: req{path: "/api/0/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 400, wantCode: "invalid_project_id", wantReason: ReasonBadRequest},
		{name: "project ID negative", req: req{path: "/api/-42/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 400, wantCode: "invalid_project_id", wantReason: ReasonBadRequest},
		{name: "project ID with sign", req: req{path: "/api/+42/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 400, wantCode: "invalid_project_id", wantReason: ReasonBadRequest},
		{name: "project ID with leading zero", req: req{path: "/api/042/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 400, wantCode: "invalid_project_id", wantReason: ReasonBadRequest},
		{name: "project ID overflowing int64", req: req{path: "/api/99999999999999999999/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 400, wantCode: "invalid_project_id", wantReason: ReasonBadRequest},
		{name: "envelope header not JSON", req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte("hello\n{}\n")}, wantStatus: 400, wantCode: "invalid_envelope", wantReason: ReasonBadRequest},
		{name: "empty envelope", req: req{path: "/api/42/envelope/", header: sentryAuth(testKey)}, wantStatus: 400, wantCode: "invalid_envelope", wantReason: ReasonBadRequest},
		{name: "event item not an object", req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: envelopeOf(`{}`, true, [2]string{"event", `["not","an","object"]`})}, wantStatus: 400, wantCode: "invalid_event", wantReason: ReasonBadRequest},
		{name: "store body a list", req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`[1,2]`)}, wantStatus: 400, wantCode: "invalid_event", wantReason: ReasonBadRequest},
		{name: "store body empty", req: req{path: "/api/42/store/", header: sentryAuth(testKey)}, wantStatus: 400, wantCode: "invalid_event", wantReason: ReasonBadRequest},
		{name: "store body with trailing garbage", req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(jsEvent + "}")}, wantStatus: 400, wantCode: "invalid_event", wantReason: ReasonBadRequest},
		{name: "store body bad base64", req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte("eJzz")}, wantStatus: 400, wantCode: "invalid_body", wantReason: ReasonBadRequest},
		{name: "flytrap project_id not numeric", req: req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: []byte(`{"data":{"error":{"name":"E"},"project_id":"project-id-123-456"}}`)}, wantStatus: 400, wantCode: "invalid_payload", wantReason: ReasonBadRequest},
		{name: "flytrap project_id missing", req: req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: []byte(`{"data":{"error":{"name":"E"}}}`)}, wantStatus: 400, wantCode: "invalid_payload", wantReason: ReasonBadRequest},
		{name: "flytrap without data", req: req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: []byte(`{"error":{"name":"E"},"project_id":"42"}`)}, wantStatus: 400, wantCode: "invalid_payload", wantReason: ReasonBadRequest},
		{name: "flytrap error without error", req: req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: []byte(`{"data":{"project_id":"42"}}`)}, wantStatus: 400, wantCode: "invalid_payload", wantReason: ReasonBadRequest},
		{name: "flytrap body not JSON", req: req{path: "/api/rejections", header: map[string]string{"x-api-key": testKey}, body: []byte(`data=1`)}, wantStatus: 400, wantCode: "invalid_payload", wantReason: ReasonBadRequest},
		{name: "unsupported encoding", req: req{path: "/api/42/store/", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + testKey, "Content-Encoding": "compress"}, body: []byte(jsEvent)}, wantStatus: 415, wantCode: "unsupported_encoding", wantReason: ReasonBadRequest},
		{name: "stacked encodings", req: req{path: "/api/42/store/", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + testKey, "Content-Encoding": "gzip, br"}, body: []byte(jsEvent)}, wantStatus: 415, wantCode: "unsupported_encoding", wantReason: ReasonBadRequest},
		{name: "corrupt gzip", req: req{path: "/api/42/store/", header: map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + testKey, "Content-Encoding": "gzip"}, body: []byte(jsEvent)}, wantStatus: 400, wantCode: "invalid_encoding", wantReason: ReasonBadRequest},
		{name: "wrong method on envelope", req: req{method: http.MethodGet, path: "/api/42/envelope/"}, wantStatus: 405, wantCode: "method_not_allowed", wantReason: ReasonBadRequest},
		{name: "wrong method on flytrap", req: req{method: http.MethodPut, path: "/api/errors"}, wantStatus: 405, wantCode: "method_not_allowed", wantReason: ReasonBadRequest},
		{name: "unknown path", req: req{path: "/api/42/attachments/"}, wantStatus: 404, wantCode: "not_found", wantReason: ReasonBadRequest},
		{name: "envelope slash form does not match deeper paths", req: req{path: "/api/42/envelope/x", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 404, wantCode: "not_found", wantReason: ReasonBadRequest},

		{name: "envelope header over 64 KiB, key only in its dsn", req: req{path: "/api/42/envelope/",
			body: envelopeOf(`{"dsn":"http://`+testKey+`@localhost/42","pad":"`+strings.Repeat("x", 70<<10)+`"}`, true, [2]string{"event", jsEvent})},
			wantStatus: 400, wantCode: "invalid_envelope", wantReason: ReasonBadRequest},
		{name: "envelope header of 64 KiB, key only in its dsn", req: req{path: "/api/42/envelope/",
			body: envelopeOf(`{"dsn":"http://`+testKey+`@localhost/42","pad":"`+strings.Repeat("x", 60<<10)+`"}`, true, [2]string{"event", jsEvent})},
			wantStatus: 200},
		{name: "body over MaxBodyBytes", edit: func(c *Config) { c.MaxBodyBytes, c.MaxEnvelopeBytes = 100, 100 }, req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: bytes.Repeat([]byte("x"), 101)}, wantStatus: 413, wantCode: "too_large", wantReason: ReasonTooLarge},
		{name: "event item over MaxEventBytes", edit: func(c *Config) { c.MaxEventBytes = 50 }, req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 413, wantCode: "too_large", wantReason: ReasonTooLarge},
		{name: "store body over MaxEventBytes", edit: func(c *Config) { c.MaxEventBytes = 50 }, req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 413, wantCode: "too_large", wantReason: ReasonTooLarge},
		{name: "flytrap body over MaxEventBytes", edit: func(c *Config) { c.MaxEventBytes = 50 }, req: req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: []byte(flytrapErrBody)}, wantStatus: 413, wantCode: "too_large", wantReason: ReasonTooLarge},

		{name: "event over twice MaxEventBytes once normalized", edit: func(c *Config) { c.MaxEventBytes = 400 },
			req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"` + strings.Repeat("\xff", 300) + `"}`)}, wantStatus: 413, wantCode: "too_large", wantReason: ReasonTooLarge},
		{name: "event under twice MaxEventBytes once normalized", edit: func(c *Config) { c.MaxEventBytes = 400 },
			req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"` + strings.Repeat("\xff", 150) + `"}`)}, wantStatus: 200},

		{name: "queue failure", queue: &memQueue{err: errors.New("disk full")}, req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 503, wantCode: "queue_unavailable", wantReason: ReasonQueueError},
		{name: "event too large for the queue", queue: &memQueue{err: fmt.Errorf("sqs: %w", queueTooLarge{})}, req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 413, wantCode: "too_large", wantReason: ReasonTooLarge},
		{name: "key lookup failure", keys: testKeys{err: errors.New("db down")}, req: req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, wantStatus: 503, wantCode: "keys_unavailable", wantReason: ReasonKeyError},
		{name: "panic in the queue", queue: &memQueue{panicWith: "boom"}, req: req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}, wantStatus: 503, wantCode: "internal_error", wantReason: ReasonPanic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys := tt.keys
			if keys == nil {
				keys = defaultKeys
			}
			h, q := newTestHandler(t, keys, tt.edit)
			if tt.queue != nil {
				h.queue, q = tt.queue, tt.queue
			}
			rec := tt.req.do(h)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "X-Sentry-Rate-Limits") {
				t.Errorf("CORS headers missing: %v", rec.Header())
			}
			st := h.Stats()
			if tt.wantStatus == 200 {
				var body idBody
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || len(body.ID) != 32 {
					t.Fatalf("body %s, want {\"id\": <32 hex>}", rec.Body)
				}
				if ev := q.only(t); ev.EventID != body.ID {
					t.Errorf("response id %s, queued event %s", body.ID, ev.EventID)
				}
				if st.Accepted != 1 {
					t.Errorf("Stats.Accepted = %d, want 1", st.Accepted)
				}
				return
			}
			code, msg := errorResponse(t, rec)
			if code != tt.wantCode || len(msg) < 20 {
				t.Errorf("error %q %q, want code %q and a real message", code, msg, tt.wantCode)
			}
			// Every 503 tells the SDK when to retry, or it retries at once.
			if tt.wantStatus == 503 && rec.Header().Get("Retry-After") == "" {
				t.Errorf("503 %s without Retry-After", code)
			}
			if len(q.bodies) != 0 {
				t.Errorf("rejected request queued %d events", len(q.bodies))
			}
			for reason, n := range st.Rejected {
				want := uint64(0)
				if reason == tt.wantReason {
					want = 1
				}
				if n != want {
					t.Errorf("Stats.Rejected[%s] = %d, want %d", reason, n, want)
				}
			}
			if tt.wantStatus == 405 && rec.Header().Get("Allow") != "POST, OPTIONS" {
				t.Errorf("Allow = %q", rec.Header().Get("Allow"))
			}
		})
	}
}

func TestStatsListsEveryReason(t *testing.T) {
	h, _ := newTestHandler(t, defaultKeys, nil)
	st := h.Stats()
	for _, r := range []string{ReasonBadRequest, ReasonUnauthorized, ReasonForbidden, ReasonTooLarge, ReasonRateLimited, ReasonBacklog, ReasonQueueError, ReasonKeyError, ReasonPanic} {
		if n, ok := st.Rejected[r]; !ok || n != 0 {
			t.Errorf("Rejected[%s] = %d, %v; want 0, present", r, n, ok)
		}
	}
}

func TestAbortHandlerPanicPropagates(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	q.panicWith = http.ErrAbortHandler
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler to reach net/http", v)
		}
	}()
	req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(jsEvent)}.do(h)
	t.Error("ServeHTTP swallowed http.ErrAbortHandler")
}

func TestCORS(t *testing.T) {
	h, _ := newTestHandler(t, defaultKeys, nil)
	for _, path := range []string{"/api/42/envelope/", "/api/42/envelope", "/api/42/store/", "/api/42/store", "/api/errors", "/api/rejections"} {
		t.Run("preflight "+path, func(t *testing.T) {
			rec := req{method: http.MethodOptions, path: path, header: map[string]string{
				"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-sentry-auth",
			}}.do(h)
			if rec.Code != 200 {
				t.Fatalf("status %d", rec.Code)
			}
			hdr := rec.Header()
			if hdr.Get("Access-Control-Allow-Origin") != "https://app.example.com" || hdr.Get("Vary") != "Origin" {
				t.Errorf("origin not echoed: %v", hdr)
			}
			if !strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("Allow-Methods %q", hdr.Get("Access-Control-Allow-Methods"))
			}
			for _, want := range []string{"content-type", "x-sentry-auth", "sentry-trace", "baggage", "x-api-key"} {
				if !strings.Contains(hdr.Get("Access-Control-Allow-Headers"), want) {
					t.Errorf("Allow-Headers %q lacks %s", hdr.Get("Access-Control-Allow-Headers"), want)
				}
			}
			if hdr.Get("Access-Control-Max-Age") == "" {
				t.Error("no Max-Age")
			}
		})
	}
	t.Run("simple request echoes origin", func(t *testing.T) {
		rec := req{path: "/api/42/envelope/", header: map[string]string{"Origin": "https://app.example.com", "X-Sentry-Auth": "Sentry sentry_key=" + testKey}, body: []byte(jsEnvelope)}.do(h)
		if rec.Code != 200 || rec.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Errorf("status %d, ACAO %q", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
		}
		if got := rec.Header().Get("Access-Control-Expose-Headers"); got != "X-Sentry-Rate-Limits, Retry-After" {
			t.Errorf("Expose-Headers %q", got)
		}
	})
}

func TestEnvelopeWithoutEvents(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	body := envelopeOf(`{"sent_at":"2025-06-27T06:48:33Z"}`, false,
		[2]string{"session", `{"sid":"7c7b6585f6c14a5d8b2a1e7b3e5a0d11","status":"ok","errors":0}`},
		[2]string{"client_report", `{"discarded_events":[]}`},
		[2]string{"transaction", `{"type":"transaction","spans":[]}`},
	)
	rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" {
		t.Fatalf("status %d body %q, want 200 {}", rec.Code, rec.Body)
	}
	if len(q.bodies) != 0 {
		t.Errorf("queued %d events", len(q.bodies))
	}
	if st := h.Stats(); st.DroppedItems != 3 || st.Accepted != 0 {
		t.Errorf("stats %+v, want 3 dropped, 0 accepted", st)
	}
}

func TestEnvelopeWithSeveralEvents(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	body := envelopeOf(`{"event_id":"11111111111111111111111111111111"}`, true,
		[2]string{"event", `{"message":"first"}`},
		[2]string{"attachment", "binary\x00\ndata"},
		[2]string{"event", `{"message":"second"}`},
	)
	rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "11111111111111111111111111111111") {
		t.Fatalf("status %d body %s", rec.Code, rec.Body)
	}
	evs := q.events(t)
	if len(evs) != 2 || evs[0].Message != "first" || evs[1].Message != "second" {
		t.Fatalf("queued %+v", evs)
	}
	if evs[0].EventID != "11111111111111111111111111111111" || evs[1].EventID == evs[0].EventID {
		t.Errorf("event IDs %s, %s: the header ID belongs to the first event only", evs[0].EventID, evs[1].EventID)
	}
	if st := h.Stats(); st.Accepted != 2 || st.DroppedItems != 1 {
		t.Errorf("stats %+v, want 2 accepted, 1 dropped", st)
	}
}

// TestChunkedBody sends through a real server so the body arrives with
// Transfer-Encoding: chunked and no Content-Length, as Node SDKs send it.
func TestChunkedBody(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	var sawLength int64
	var sawTE []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawLength, sawTE = r.ContentLength, r.TransferEncoding
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		for _, part := range strings.SplitAfter(jsEnvelope, "\n") {
			_, _ = pw.Write([]byte(part))
		}
		_ = pw.Close()
	}()
	r, err := http.NewRequest(http.MethodPost, srv.URL+"/api/42/envelope/", pr)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Sentry-Auth", "Sentry sentry_key="+testKey)
	resp, err := srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if sawLength != -1 || len(sawTE) != 1 || sawTE[0] != "chunked" {
		t.Errorf("request had Content-Length %d, Transfer-Encoding %v; the test did not exercise chunking", sawLength, sawTE)
	}
	if ev := q.only(t); ev.Title() != "TypeError: x is undefined" {
		t.Errorf("title %q", ev.Title())
	}
}

func TestRateLimit(t *testing.T) {
	clock := &testClock{now: testNow}
	h, q := newTestHandler(t, defaultKeys, func(c *Config) {
		c.RatePerMinute = 2
		c.Now = clock.Now
	})
	store := func(key string, pid string) *httptest.ResponseRecorder {
		return req{path: "/api/" + pid + "/store/", header: sentryAuth(key), body: []byte(`{"message":"hi"}`)}.do(h)
	}
	steps := []struct {
		advance    time.Duration
		key, pid   string
		wantStatus int
		wantRetry  string
	}{
		{key: testKey, pid: "42", wantStatus: 200}, // burst of 2
		{key: testKey, pid: "42", wantStatus: 200},
		{key: testKey, pid: "42", wantStatus: 429, wantRetry: "30"}, // 2/min = one token per 30 s
		{key: otherKey, pid: "7", wantStatus: 200},                  // buckets are per project
		{advance: 10 * time.Second, key: testKey, pid: "42", wantStatus: 429, wantRetry: "20"},
		{advance: 20 * time.Second, key: testKey, pid: "42", wantStatus: 200}, // recovered
		{key: testKey, pid: "42", wantStatus: 429, wantRetry: "30"},
		{advance: time.Hour, key: testKey, pid: "42", wantStatus: 200}, // refill caps at the burst
		{key: testKey, pid: "42", wantStatus: 200},
		{key: testKey, pid: "42", wantStatus: 429, wantRetry: "30"},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		rec := store(s.key, s.pid)
		if rec.Code != s.wantStatus {
			t.Fatalf("step %d: status %d, want %d (%s)", i, rec.Code, s.wantStatus, rec.Body)
		}
		if s.wantStatus != 429 {
			continue
		}
		if got := rec.Header().Get("Retry-After"); got != s.wantRetry {
			t.Errorf("step %d: Retry-After %q, want %q", i, got, s.wantRetry)
		}
		if got, want := rec.Header().Get("X-Sentry-Rate-Limits"), s.wantRetry+":error;default;session;monitor:project"; got != want {
			t.Errorf("step %d: X-Sentry-Rate-Limits %q, want %q", i, got, want)
		}
		if code, _ := errorResponse(t, rec); code != "rate_limited" {
			t.Errorf("step %d: code %q", i, code)
		}
	}
	if got := len(q.bodies); got != 6 {
		t.Errorf("queued %d events, want 6", got)
	}
	if got := h.Stats().Rejected[ReasonRateLimited]; got != 4 {
		t.Errorf("rate_limited = %d, want 4", got)
	}

	t.Run("envelopes without events take no token", func(t *testing.T) {
		// The limit is checked before the body is decoded, so a session
		// envelope of a project over its limit is refused too; one let
		// through leaves the token to the next event.
		body := envelopeOf(`{}`, false, [2]string{"session", `{}`})
		if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}).do(h); rec.Code != 429 {
			t.Errorf("status %d over the limit, want 429", rec.Code)
		}
		clock.Advance(30 * time.Second) // one token
		if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}).do(h); rec.Code != 200 {
			t.Errorf("status %d", rec.Code)
		}
		if rec := store(testKey, "42"); rec.Code != 200 {
			t.Errorf("event after a session envelope: status %d, want 200 (the token unspent)", rec.Code)
		}
	})
	t.Run("negative rate is unlimited", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, func(c *Config) { c.RatePerMinute = -1 })
		for i := range 200 {
			if rec := (req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{}`)}).do(h); rec.Code != 200 {
				t.Fatalf("request %d: status %d", i, rec.Code)
			}
		}
	})
}

// queueTooLarge is a queue error that says the body can never fit, as the
// SQS adapter's does.
type queueTooLarge struct{}

func (queueTooLarge) Error() string  { return "message is larger than the queue accepts" }
func (queueTooLarge) TooLarge() bool { return true }
