package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The tests in this file post payloads in the shapes the original Flytrap
// SDKs and current Sentry SDKs really send (issue 8).

// sourceLines returns "line from..to" lines, as a file's source would have.
func sourceLines(from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("const line%d = %d; // <b>&</b>", n, n))
	}
	return out
}

// doubleEncoded is a code context as the SDKs put it in the JSON body: the
// lines joined by newlines, JSON-encoded, and that string JSON-encoded again
// by the body's own encoding.
func doubleEncoded(lines []string) string {
	inner, _ := json.Marshal(strings.Join(lines, "\n"))
	outer, _ := json.Marshal(string(inner))
	return string(outer)
}

// flytrapErrorBody is an /api/errors body with one code context, whose
// "context" is the given JSON value, and the given "ip" JSON value.
func flytrapErrorBody(file string, line int, context, ip string) []byte {
	return fmt.Appendf(nil, `{"data":{"error":{"name":"TypeError","message":"x is undefined","stack":"TypeError: x is undefined\n    at checkout (%[1]s:%[2]d:7)"},`+
		`"codeContexts":[{"file":%[1]q,"line":%[2]d,"column":7,"context":%[3]s}],"handled":false,"timestamp":"2025-06-27T06:48:00Z",`+
		`"project_id":"42","method":"GET","path":"/checkout","ip":%[4]s,"os":"Linux","runtime":"Node.js v20.11.0"}}`, file, line, context, ip)
}

func TestFlytrapCodeContextIsDecoded(t *testing.T) {
	long := strings.Repeat("x", 3*maxLine)
	tests := []struct {
		name    string
		context string // the JSON value of codeContexts[0].context
		line    int
		want    []string
	}{
		{"double-encoded 11 lines", doubleEncoded(sourceLines(37, 47)), 42, sourceLines(37, 47)},
		{"clamped at the file's start", doubleEncoded(sourceLines(1, 9)), 4, sourceLines(1, 9)},
		{"clamped at the file's end", doubleEncoded(sourceLines(37, 43)), 42, sourceLines(37, 43)},
		{"plain text with newlines", mustJSON(strings.Join(sourceLines(37, 47), "\r\n")), 42, sourceLines(37, 47)},
		{"a single line", `"function example() { return foo.bar; }"`, 42, []string{"function example() { return foo.bar; }"}},
		{"a single line that is a JSON string", mustJSON(`"use strict"`), 1, []string{"use strict"}},
		{"an invalid JSON literal stays text", mustJSON(`"unterminated \"`), 1, []string{`"unterminated \"`}},
		{"quotes inside a line stay", mustJSON(`"a" + "b"`), 1, []string{`"a" + "b"`}},
		{"lines beyond the limit are dropped", doubleEncoded(sourceLines(1, 500)), 4, sourceLines(1, maxSourceLines)},
		{"long lines are cut", doubleEncoded([]string{long, "y"}), 1, []string{clamp(long, maxLine), "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: flytrapErrorBody("/srv/app/checkout.js", tt.line, tt.context, "null")}.do(h)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			ccs := q.only(t).Exceptions[0].CodeContexts
			if len(ccs) != 1 {
				t.Fatalf("%d code contexts", len(ccs))
			}
			if got := strings.Split(ccs[0].Context, "\n"); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("context has %d lines:\n%s\nwant %d lines:\n%s", len(got), ccs[0].Context, len(tt.want), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestFlytrapForwardedIP(t *testing.T) {
	d := testDecoder()
	tests := []struct {
		name string
		ip   string // the JSON value of data.ip
		want string // the address that must be hashed; "" for no user
	}{
		{"X-Forwarded-For list", `"203.0.113.9, 10.0.0.1"`, "203.0.113.9"},
		{"list without spaces", `"203.0.113.9,10.0.0.1,10.0.0.2"`, "203.0.113.9"},
		{"garbage before the client", `"unknown, 203.0.113.9"`, "203.0.113.9"},
		{"address with port", `"203.0.113.9:51234"`, "203.0.113.9"},
		{"IPv6 with port", `"[2001:db8::1]:443, 10.0.0.1"`, "2001:db8::1"},
		{"one address", `"203.0.113.9"`, "203.0.113.9"},
		{"IPv4-mapped", `"::ffff:203.0.113.9"`, "203.0.113.9"},
		{"no address at all is hashed as sent", `"unknown"`, "unknown"},
		{"null", `null`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/errors", header: map[string]string{"x-api-key": testKey}, body: flytrapErrorBody("/srv/app/app.js", 3, `"x"`, tt.ip)}.do(h)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			u := q.only(t).User
			switch {
			case tt.want == "" && u != nil:
				t.Errorf("user %+v, want none", u)
			case tt.want != "" && (u == nil || u.IPHash != d.hashIP(tt.want)):
				t.Errorf("user %+v, want the hash of %s (%s)", u, tt.want, d.hashIP(tt.want))
			}
		})
	}
}

func TestSentryInferIP(t *testing.T) {
	d := testDecoder()
	tests := []struct {
		name     string
		user     string // the JSON of "user", or ""
		inferIP  string // sdk.settings.infer_ip, or ""
		wantHash string
	}{
		{"infer_ip auto without a user", "", "auto", d.hashIP(testClientIP)},
		{"infer_ip auto with a user without address", `{"id":"7"}`, "auto", d.hashIP(testClientIP)},
		{"infer_ip auto keeps a sent address", `{"ip_address":"198.51.100.1"}`, "auto", d.hashIP("198.51.100.1")},
		{"infer_ip auto with {{auto}}", `{"ip_address":"{{auto}}"}`, "auto", d.hashIP(testClientIP)},
		{"{{auto}} without settings", `{"ip_address":"{{auto}}"}`, "", d.hashIP(testClientIP)},
		{"infer_ip legacy does not infer a missing address", `{"id":"7"}`, "legacy", ""},
		{"no settings, no address", "", "", ""},
		{"infer_ip never drops {{auto}}", `{"ip_address":"{{auto}}","id":"7"}`, "never", ""},
		{"infer_ip never without a user", "", "never", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sdk := `{"name":"sentry.javascript.browser","version":"9.1.0"}`
			if tt.inferIP != "" {
				sdk = `{"name":"sentry.javascript.browser","version":"9.1.0","settings":{"infer_ip":"` + tt.inferIP + `"}}`
			}
			payload := `{"event_id":"6bb1e190a7f54f4c8f3c1ec8ea2f1a54","platform":"javascript","exception":{"values":[{"type":"Error","value":"x"}]},"sdk":` + sdk
			if tt.user != "" {
				payload += `,"user":` + tt.user
			}
			payload += "}"
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), remote: testClientIP + ":50000",
				body: envelopeOf(`{}`, false, [2]string{"event", payload})}.do(h)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			var got string
			if u := q.only(t).User; u != nil {
				got = u.IPHash
			}
			if got != tt.wantHash {
				t.Errorf("IP hash %q, want %q", got, tt.wantHash)
			}
		})
	}
}

// TestSentryTunnelForwardedFor posts what @sentry/node 11.12.0's
// handleTunnelRequest (the SDK's tunnel for browsers, behind a CDN)
// forwarded for an anonymous visitor: the envelope from the tunnel
// server's address with the browser's in X-Sentry-Forwarded-For, where
// Relay reads it. Its first address is the user's; without one that
// parses, the sender's, as before.
func TestSentryTunnelForwardedFor(t *testing.T) {
	const tunnelServer = "10.1.2.3"
	d := testDecoder()
	tests := []struct {
		name      string
		forwarded string // X-Sentry-Forwarded-For, or ""
		user      string // the JSON of "user", or ""
		want      string // the address whose hash the user gets
	}{
		{"the browser's address, as the tunnel forwards it", "198.51.100.7, 10.0.0.1", "", "198.51.100.7"},
		{"one IPv6 address", "2001:db8::7", "", "2001:db8::7"},
		{"{{auto}}", "198.51.100.7", `{"ip_address":"{{auto}}"}`, "198.51.100.7"},
		{"a sent address wins", "198.51.100.7", `{"ip_address":"192.0.2.44"}`, "192.0.2.44"},
		{"no address in the header", "unknown, 198.51.100.7", "", tunnelServer},
		{"no header", "", "", tunnelServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := `{"event_id":"11111111111111111111111111111111","platform":"javascript","exception":{"values":[{"type":"TypeError","value":"tunnelled visitor error"}]},` +
				`"sdk":{"name":"sentry.javascript.browser","version":"11.12.0","settings":{"infer_ip":"auto"}}`
			if tt.user != "" {
				payload += `,"user":` + tt.user
			}
			payload += "}"
			header := map[string]string{"Content-Type": "application/x-sentry-envelope", "User-Agent": "Mozilla/5.0 visitor 1"}
			if tt.forwarded != "" {
				header["X-Sentry-Forwarded-For"] = tt.forwarded
			}
			h, q := newTestHandler(t, defaultKeys, nil)
			rec := req{path: "/api/42/envelope/?sentry_version=7&sentry_key=" + testKey, header: header, remote: tunnelServer + ":50000",
				body: envelopeOf(`{"event_id":"11111111111111111111111111111111","dsn":"https://`+testKey+`@flytrap.example/42","sdk":{"name":"sentry.javascript.browser","version":"11.12.0"}}`,
					false, [2]string{"event", payload})}.do(h)
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if u := q.only(t).User; u == nil || u.IPHash != d.hashIP(tt.want) {
				t.Errorf("user %+v, want the hash of %s (%s)", u, tt.want, d.hashIP(tt.want))
			}
		})
	}
}

func TestRepeatedSlashes(t *testing.T) {
	preflight := map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
	flytrapAuth := map[string]string{"x-api-key": testKey, "Content-Type": "application/json"}
	tests := []struct {
		name   string
		req    req
		status int
	}{
		{"Flytrap preflight", req{method: http.MethodOptions, path: "//api/errors", header: preflight}, http.StatusOK},
		{"Flytrap error", req{path: "//api/errors", header: flytrapAuth, body: flytrapErrorBody("/srv/app.js", 1, `"x"`, "null")}, http.StatusOK},
		{"Flytrap rejection", req{path: "///api//rejections", header: flytrapAuth, body: []byte(`{"data":{"value":"x","project_id":"42"}}`)}, http.StatusOK},
		{"Sentry envelope", req{path: "//api/42//envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}, http.StatusOK},
		{"Sentry store preflight", req{method: http.MethodOptions, path: "//api/42/store/", header: preflight}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("%s %s reached the outer handler", r.Method, r.URL.Path)
			})
			// Alone (the Lambda adapter) and in front of a mux that
			// would redirect (flytrap dev).
			for _, via := range []http.Handler{h, h.AcceptRepeatedSlashes(next)} {
				rec := tt.req.do(via)
				if rec.Code != tt.status {
					t.Errorf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				if rec.Code == http.StatusOK && rec.Header().Get("Access-Control-Allow-Origin") == "" && tt.req.method == http.MethodOptions {
					t.Errorf("preflight without CORS headers: %v", rec.Header())
				}
			}
			if tt.req.method == "" && tt.status == http.StatusOK && len(q.events(t)) != 2 {
				t.Errorf("queued %d events, want 2", len(q.events(t)))
			}
		})
	}
	t.Run("unknown path alone is a JSON 404", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, nil)
		rec := req{path: "//api/nope", header: flytrapAuth}.do(h)
		if code, msg := errorResponse(t, rec); rec.Code != http.StatusNotFound || code != "not_found" || !strings.Contains(msg, "/api/nope") {
			t.Errorf("status %d code %q message %q", rec.Code, code, msg)
		}
	})
	t.Run("other paths go to the outer handler", func(t *testing.T) {
		h, _ := newTestHandler(t, defaultKeys, nil)
		var reached string
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = r.URL.Path })
		for _, p := range []string{"//projects", "/api/v1//projects", "/api/errors", "//api/nope"} {
			reached = ""
			req{method: http.MethodGet, path: p}.do(h.AcceptRepeatedSlashes(next))
			if reached != p {
				t.Errorf("%s: the outer handler saw %q", p, reached)
			}
		}
	})
}

func TestEnvelopeErrorItem(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	payload := `{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","exception":{"values":[{"type":"ValueError","value":"bad"}]}}`
	for _, withLength := range []bool{true, false} {
		body := envelopeOf(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}`, withLength, [2]string{"error", payload})
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "9ec79c33ec9942ab8353589fcb2e04dc") {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	evs := q.events(t)
	if len(evs) != 2 || evs[0].Title() != "ValueError: bad" {
		t.Fatalf("queued %d events (%+v), want 2 ValueErrors", len(evs), evs)
	}
	if st := h.Stats(); st.DroppedItems != 0 || st.Accepted != 2 {
		t.Errorf("stats %+v: an error item must count as an event", st)
	}
}
