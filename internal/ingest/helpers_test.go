package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

const (
	testKey      = "0123456789abcdef0123456789abcdef"
	otherKey     = "fedcba9876543210fedcba9876543210"
	testProject  = 42
	otherProject = 7
	testSalt     = "pepper"
)

// testNow is just after python-modern.json's timestamp in the samples
// corpus, so that event keeps its own time.
var testNow = time.Date(2025, 6, 27, 6, 48, 33, 0, time.UTC)

// testKeys is a Keys over a fixed map, optionally failing.
type testKeys struct {
	keys map[string]Key
	err  error
}

func (k testKeys) ProjectForKey(_ context.Context, key string) (Key, bool, error) {
	if k.err != nil {
		return Key{}, false, k.err
	}
	pk, ok := k.keys[key]
	return pk, ok, nil
}

var defaultKeys = testKeys{keys: map[string]Key{testKey: {ProjectID: testProject}, otherKey: {ProjectID: otherProject}}}

// memQueue records enqueued bodies; err makes Enqueue fail, panicWith makes
// it panic.
type memQueue struct {
	mu        sync.Mutex
	bodies    [][]byte
	batches   []int // the size of each Enqueue (1) or EnqueueBatch call
	err       error
	panicWith any
}

func (q *memQueue) Enqueue(ctx context.Context, body []byte) error {
	return q.EnqueueBatch(ctx, [][]byte{body})
}

func (q *memQueue) EnqueueBatch(_ context.Context, bodies [][]byte) error {
	if q.panicWith != nil {
		panic(q.panicWith)
	}
	if q.err != nil {
		return q.err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, b := range bodies {
		q.bodies = append(q.bodies, bytes.Clone(b))
	}
	q.batches = append(q.batches, len(bodies))
	return nil
}

// events decodes every enqueued body, failing the test on a body that does
// not decode into event.Event.
func (q *memQueue) events(t testing.TB) []event.Event {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]event.Event, 0, len(q.bodies))
	for _, b := range q.bodies {
		var ev event.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatalf("queued body is not an event.Event: %v\n%s", err, b)
		}
		out = append(out, ev)
	}
	return out
}

// only returns the single queued event.
func (q *memQueue) only(t testing.TB) event.Event {
	t.Helper()
	evs := q.events(t)
	if len(evs) != 1 {
		t.Fatalf("queued %d events, want 1", len(evs))
	}
	return evs[0]
}

// testClock is an adjustable clock for rate limits and key TTLs.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newTestHandler returns a handler with the test keys, a salted IP hash and
// a fixed clock; edit adjusts the config.
func newTestHandler(t testing.TB, keys Keys, edit func(*Config)) (*Handler, *memQueue) {
	t.Helper()
	cfg := Config{IPSalt: []byte(testSalt), Now: func() time.Time { return testNow }}
	if edit != nil {
		edit(&cfg)
	}
	q := &memQueue{}
	return New(cfg, keys, q, nil), q
}

// req describes a test request; the zero method is POST.
type req struct {
	method  string
	path    string
	header  map[string]string
	body    []byte
	remote  string
	chunked bool // hide the length, as chunked transfer does
}

func (rq req) do(h http.Handler) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, rq.request())
	return rec
}

func (rq req) request() *http.Request {
	method := rq.method
	if method == "" {
		method = http.MethodPost
	}
	var body io.Reader = bytes.NewReader(rq.body)
	if rq.chunked {
		body = io.MultiReader(body) // not a *bytes.Reader: no length known
	}
	r := httptest.NewRequest(method, rq.path, body)
	if rq.chunked {
		r.ContentLength = -1
	}
	if rq.remote != "" {
		r.RemoteAddr = rq.remote
	}
	for k, v := range rq.header {
		r.Header.Set(k, v)
	}
	return r
}

// sentryAuth is the header value the Sentry SDKs send.
func sentryAuth(key string) map[string]string {
	return map[string]string{"X-Sentry-Auth": "Sentry sentry_key=" + key + ", sentry_version=7, sentry_client=sentry.javascript.browser/8.0.0"}
}

// envelopeOf builds an envelope with the given header and items; each item
// is a type and a payload, written with a length when withLength is set.
func envelopeOf(header string, withLength bool, items ...[2]string) []byte {
	var b bytes.Buffer
	b.WriteString(header + "\n")
	for _, it := range items {
		if withLength {
			fmt.Fprintf(&b, `{"type":%q,"length":%d}`+"\n", it[0], len(it[1]))
		} else {
			fmt.Fprintf(&b, `{"type":%q}`+"\n", it[0])
		}
		b.WriteString(it[1] + "\n")
	}
	return b.Bytes()
}

// errorResponse decodes a JSON error body.
func errorResponse(t testing.TB, rec *httptest.ResponseRecorder) (code, message string) {
	t.Helper()
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("error response is not JSON: %v\n%s", err, rec.Body)
	}
	return body.Error.Code, body.Error.Message
}

// tagList builds tags from alternating keys and values.
func tagList(kv ...string) []event.Tag {
	var out []event.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, event.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return out
}
