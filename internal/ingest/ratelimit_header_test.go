package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getsentry/sentry-go"
)

// jsLimits applies an X-Sentry-Rate-Limits value as @sentry/core's
// updateRateLimits does (utils/ratelimit.ts): category → limited, "all"
// for a limit with no categories.
func jsLimits(header string) map[string]bool {
	out := map[string]bool{}
	for _, limit := range strings.Split(strings.TrimSpace(header), ",") {
		parts := strings.SplitN(limit, ":", 5)
		if len(parts) < 2 || parts[1] == "" {
			out["all"] = true
			continue
		}
		for _, c := range strings.Split(parts[1], ";") {
			out[c] = true
		}
	}
	return out
}

// TestNotStoredCategoriesAreRateLimited is QA finding #13: SDKs were never
// told to stop sending what Flytrap drops. An envelope holding only such
// items is answered 200 {} with X-Sentry-Rate-Limits naming their
// categories; errors, messages, security reports and feedback are never
// named, and an envelope with an event gets no header.
func TestNotStoredCategoriesAreRateLimited(t *testing.T) {
	tests := []struct {
		name  string
		items [][2]string
		want  string // the header; "" for none
	}{
		{"a transaction and a client report (the JS SDK's)", [][2]string{{"transaction", `{"type":"transaction","transaction":"/checkout","spans":[]}`}, {"client_report", `{"discarded_events":[]}`}}, "3600:transaction:organization:not_stored"},
		{"a replay", [][2]string{{"replay_event", `{"type":"replay_event"}`}, {"replay_recording", `{"segment_id":0}`}}, "3600:replay;replay_event;replay_recording:organization:not_stored"},
		{"session aggregates, which are counted", [][2]string{{"sessions", `{"aggregates":[]}`}}, ""},
		{"a session, which is counted, and a transaction", [][2]string{{"session", browserSession}, {"transaction", `{}`}}, "3600:transaction:organization:not_stored"},
		{"a profile chunk, spans and logs", [][2]string{{"profile_chunk", `{}`}, {"span", `{}`}, {"log", `{"items":[]}`}}, "3600:profile_chunk;profile;span;log_item:organization:not_stored"},
		{"a check-in, which is stored", [][2]string{{"check_in", nodeCheckIn}}, ""},
		{"an invalid check-in", [][2]string{{"check_in", `{"status":"ok"}`}}, ""},
		{"an event with a transaction", [][2]string{{"event", `{"message":"m"}`}, {"transaction", `{}`}}, ""},
		{"a client report alone", [][2]string{{"client_report", `{}`}}, ""},
		{"user feedback", [][2]string{{"feedback", widgetFeedback}, {"user_report", userReport}}, ""},
		{"a security report", [][2]string{{"raw_security", `{}`}, {"security", `{}`}, {"nel", `[]`}}, ""},
		{"an unknown item", [][2]string{{"something_new", `{}`}, {"", `{}`}}, ""},
		// As documented: feedback, which is stored, or an unknown type
		// beside dropped data gets no header either.
		{"feedback with an attachment", [][2]string{{"feedback", widgetFeedback}, {"attachment", `x`}}, ""},
		{"an unknown item with a transaction", [][2]string{{"something_new", `{}`}, {"transaction", `{}`}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: envelopeOf(`{}`, false, tt.items...)}.do(h)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("X-Sentry-Rate-Limits"); got != tt.want {
				t.Errorf("X-Sentry-Rate-Limits %q, want %q", got, tt.want)
			}
			if ra := rec.Header().Get("Retry-After"); ra != "" {
				t.Errorf("Retry-After %q: SDKs would read it as a limit on everything", ra)
			}
		})
	}
	// Whatever an envelope holds, the header never limits what Flytrap
	// stores, as the JS SDK reads it.
	h, _ := newTestHandler(t, defaultKeys, unlimited)
	for typ := range itemCategories {
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: envelopeOf(`{}`, true, [2]string{typ, `{}`})}.do(h)
		limited := jsLimits(rec.Header().Get("X-Sentry-Rate-Limits"))
		for _, c := range []string{"all", "error", "default", "security", "feedback", "internal"} {
			if limited[c] {
				t.Errorf("an envelope of %s limits %q: %q", typ, c, rec.Header().Get("X-Sentry-Rate-Limits"))
			}
		}
		if !limited[itemCategories[typ][0]] {
			t.Errorf("an envelope of %s does not limit %q: %q", typ, itemCategories[typ][0], rec.Header().Get("X-Sentry-Rate-Limits"))
		}
	}
}

// countingHandler counts the envelopes that reach h by their first item's
// type.
type countingHandler struct {
	h  http.Handler
	mu sync.Mutex
	n  map[string]int
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	typ := "?"
	if env, err := parseEnvelope(body); err == nil && len(env.items) > 0 {
		typ = env.items[0].typ
	}
	c.mu.Lock()
	c.n[typ]++
	c.mu.Unlock()
	c.h.ServeHTTP(w, r)
}

func (c *countingHandler) count(typ string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[typ]
}

// TestSentryGoStopsSendingTransactions runs sentry-go with tracing on
// against ingest: after the first transaction is answered with the
// header, the SDK keeps the next one to itself, and still sends errors.
func TestSentryGoStopsSendingTransactions(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	ch := &countingHandler{h: h, n: map[string]int{}}
	srv := httptest.NewServer(ch)
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://"+testKey+"@", 1) + "/" + strconv.Itoa(testProject)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, EnableTracing: true, TracesSampleRate: 1, Transport: sentry.NewHTTPSyncTransport()})
	if err != nil {
		t.Fatal(err)
	}
	hub := sentry.NewHub(client, sentry.NewScope())
	ctx := sentry.SetHubOnContext(context.Background(), hub)
	for _, name := range []string{"GET /checkout", "GET /cart"} {
		tx := sentry.StartTransaction(ctx, name)
		tx.Finish()
	}
	if n := ch.count("transaction"); n != 1 {
		t.Errorf("%d transaction envelopes reached the server, want 1: the SDK should stop after the first answer", n)
	}
	hub.CaptureException(errors.New("card declined"))
	if n := ch.count("event"); n != 1 || len(q.events(t)) != 1 {
		t.Errorf("%d event envelopes reached the server and %d events were queued, want 1 and 1: errors are never limited", n, len(q.events(t)))
	}
}
