package ingest

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"
)

// eventSeeds are small events covering the decoder's shapes. They are
// kept short on purpose: the fuzzer minimizes every new interesting input,
// which takes long enough on multi-kilobyte inputs to stall a 20-second run.
// The full-size samples run in TestSentrySamples.
var eventSeeds = []string{
	jsEvent,
	`{}`,
	`{"exception":[{"type":"E","value":"v","stacktrace":{"frames":[{"filename":"a.js","lineno":"3","colno":4.5,"in_app":"true","pre_context":[null,1]}]}}]}`,
	`{"sentry.interfaces.Exception":{"type":"KeyError","module":"m"},"sentry.interfaces.Stacktrace":{"frames":[{"function":"f"}]},"level":40}`,
	`{"exception":{"values":[null,{"thread_id":1}]},"threads":{"values":[{"id":1,"crashed":true,"stacktrace":{"frames":[{"function":"g"}]}}]}}`,
	`{"message":{"formatted":"x","params":[1]},"tags":[["a",1],["b",null]],"fingerprint":["{{ default }}",2],"timestamp":"2025-06-27T06:40:00"}`,
	`{"user":{"id":1,"ip_address":"{{auto}}","data":{"k":"v"}},"request":{"headers":[["Cookie","c"]],"query_string":[["q",null]],"data":"d"}}`,
	`{"breadcrumbs":{"values":[{"timestamp":1751006900.5,"level":"warn","data":{"a":1}},{"timestamp":"x"}]},"contexts":{"os":{}},"extra":[]}`,
	`{"debug_meta":{"images":[{"type":"sourcemap","code_file":"a.js","debug_id":"c941d872-647e-4f6e-a8f9-8ff0fa1f2a8d"}]},"exception":{"values":[{"stacktrace":{"frames":[{"abs_path":"a.js"}]}}]}}`,
}

func unlimited(c *Config) { c.RatePerMinute = -1 }

// checkEnvelopeOutcome is what every envelope a fuzzer makes must get: a
// 200 with sane events queued, or a 400 or 413 with nothing queued.
func checkEnvelopeOutcome(t *testing.T, rec *httptest.ResponseRecorder, q *memQueue) {
	t.Helper()
	switch rec.Code {
	case 200:
		for _, ev := range q.events(t) {
			checkSaneEvent(t, &ev)
		}
	case 400, 413:
		if len(q.bodies) != 0 {
			t.Fatalf("status %d but %d events queued", rec.Code, len(q.bodies))
		}
		errorResponse(t, rec)
	default:
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(jsEnvelope))
	f.Add(envelopeOf(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://`+testKey+`@h/42"}`, false,
		[2]string{"session", `{"sid":"x"}`}, [2]string{"event", `{"message":"m"}`}))
	f.Add([]byte("{}\r\n{\"type\":\"attachment\",\"length\":5}\r\n\x00\n\r\xff\n\r\n{\"type\":\"event\"}\r\n{\"exception\":[{\"type\":\"E\"}]}"))
	f.Add([]byte("{}\n{\"type\":\"event\",\"length\":1e1}\n{\"a\":[1]}\n"))
	for _, s := range eventSeeds {
		f.Add(envelopeOf(`{"sent_at":"2025-06-27T04:00:00Z"}`, true, [2]string{"event", s}))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, q := newTestHandler(t, defaultKeys, unlimited)
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
		checkEnvelopeOutcome(t, rec, q)
	})
}

func FuzzSentryEvent(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s), int64(0))
	}
	f.Add([]byte(`{"timestamp":1e300,"breadcrumbs":[{"timestamp":253402300799}]}`), int64(-1e12))
	f.Add([]byte(`{"exception":{"values":[{"thread_id":1}]},"threads":[{"id":1,"crashed":true,"stacktrace":[{"lineno":"7"}]}]}`), int64(7200))
	f.Fuzz(func(t *testing.T, payload []byte, driftSecs int64) {
		d := testDecoder()
		hdr := envelopeHeader{eventID: "9ec79c33ec9942ab8353589fcb2e04dc"}
		if driftSecs != 0 {
			hdr.sentAt = testNow.Add(-time.Duration(driftSecs) * time.Second)
		}
		ev, err := d.decodeSentry(payload, testProject, hdr)
		if err != nil {
			if _, perr := parseJSONObject(payload); perr == nil {
				t.Fatalf("decodeSentry failed (%v) on a JSON object", err)
			}
			return
		}
		checkSaneEvent(t, ev)
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("normalized event does not encode: %v", err)
		}
	})
}

func FuzzFlytrap(f *testing.F) {
	f.Add(false, []byte(flytrapErrBody))
	f.Add(true, []byte(`{"data":{"value":{"a":[1,null]},"handled":false,"timestamp":"2025-06-27T06:48:00.000Z","project_id":"42","ip":"::1"}}`))
	f.Add(false, []byte(`{"data":{"error":{"name":"E","message":"m","stack":"Traceback (most recent call last):\n"},"codeContexts":[{"file":"a.py","line":"3"}],"project_id":42}}`))
	f.Add(true, []byte(`{"data":{"project_id":"7"}}`))
	// As the SDKs send it: a double-encoded context, a browser file, a
	// forwarded ip.
	f.Add(false, flytrapErrorBody("at renderCart (http://localhost:5173/src/app.js", 4, doubleEncoded(sourceLines(1, 9)), `"203.0.113.9, 10.0.0.1"`))
	f.Fuzz(func(t *testing.T, rejection bool, body []byte) {
		h, q := newTestHandler(t, defaultKeys, unlimited)
		path := "/api/errors"
		if rejection {
			path = "/api/rejections"
		}
		rec := req{path: path, header: map[string]string{"x-api-key": testKey}, body: body}.do(h)
		switch rec.Code {
		case 200:
			ev := q.only(t)
			checkSaneEvent(t, &ev)
		case 400, 403, 413:
			if len(q.bodies) != 0 {
				t.Fatalf("status %d but an event was queued", rec.Code)
			}
			errorResponse(t, rec)
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// FuzzGzipBody sends arbitrary bytes as a gzip-encoded envelope: corrupt,
// truncated and concatenated streams get a 400 (or a 413 for a bomb), and
// whatever inflates is an envelope like any other.
func FuzzGzipBody(f *testing.F) {
	gz := func(parts ...[]byte) []byte {
		var buf bytes.Buffer
		for _, p := range parts {
			w := gzip.NewWriter(&buf)
			w.Write(p)
			w.Close()
		}
		return buf.Bytes()
	}
	whole := gz([]byte(jsEnvelope))
	f.Add(whole)
	f.Add(whole[:len(whole)/2])
	f.Add(gz([]byte(jsEnvelope[:40]), []byte(jsEnvelope[40:])))
	f.Add(append(bytes.Clone(whole), "trailing"...))
	f.Add(gz(bytes.Repeat([]byte{' '}, 1<<16)))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, q := newTestHandler(t, defaultKeys, func(c *Config) { c.RatePerMinute, c.MaxBodyBytes = -1, 1<<16 })
		hdr := sentryAuth(testKey)
		hdr["Content-Encoding"] = "gzip"
		rec := req{path: "/api/42/envelope/", header: hdr, body: body}.do(h)
		checkEnvelopeOutcome(t, rec, q)
	})
}
