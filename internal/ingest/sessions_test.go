package ingest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// Session items as the SDKs send them: @sentry/browser's page session
// (init, then an update on its first error), a crashed mobile session, and
// @sentry/node's server-mode aggregates.
const (
	browserSession = `{"sid":"0d5bb1b9a2f44c3e8b6a9b51c3b0a0f1","init":true,"started":"2025-06-27T06:48:30.000Z","timestamp":"2025-06-27T06:48:30.000Z",` +
		`"status":"ok","errors":0,"duration":0,"did":"ada@example.com","attrs":{"release":"shop@1.2.3","environment":"production","user_agent":"Mozilla/5.0"}}`
	browserSessionErrored = `{"sid":"0d5bb1b9a2f44c3e8b6a9b51c3b0a0f1","init":false,"started":"2025-06-27T06:48:30.000Z","status":"ok","errors":1,` +
		`"did":"ada@example.com","attrs":{"release":"shop@1.2.3","environment":"production"}}`
	mobileCrash = `{"sid":"5a4d8b7e-1f2a-4c3b-9d8e-7f6a5b4c3d2e","did":"install-1","init":false,"started":"2025-06-27T06:40:00Z","status":"crashed","errors":1,` +
		`"seq":3,"attrs":{"release":"app@2.0.0+14","environment":"prod"}}`
	nodeAggregates = `{"aggregates":[{"started":"2025-06-27T06:48:00.000Z","exited":3,"errored":1,"crashed":1},` +
		`{"started":"2025-06-27T06:47:00.000Z","exited":2,"did":"u-7"}],"attrs":{"release":"api@3.1.0","environment":"production"}}`
)

// TestSessionItems: session and sessions items are decoded into the queue
// message of the envelope: its event's when it has one (one message for an
// error and its session), else one of their own; did is kept as a salted
// hash; a session that cannot be counted is dropped and the rest kept.
func TestSessionItems(t *testing.T) {
	started := time.Date(2025, 6, 27, 6, 48, 30, 0, time.UTC)
	t.Run("sessions alone", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		body := envelopeOf(`{"sent_at":"2025-06-27T06:48:33Z"}`, false,
			[2]string{"session", browserSession},
			[2]string{"session", mobileCrash},
			[2]string{"sessions", nodeAggregates},
			[2]string{"session", `{"sid":"x","started":"2025-06-27T06:48:30Z","status":"ok"}`}, // no release
			[2]string{"client_report", `{"discarded_events":[]}`},
		)
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "{}" {
			t.Fatalf("status %d body %q, want 200 {}", rec.Code, rec.Body)
		}
		if got := rec.Header().Get("X-Sentry-Rate-Limits"); got != "" {
			t.Errorf("X-Sentry-Rate-Limits %q: SDKs would stop sending sessions", got)
		}
		ev := q.only(t)
		if ev.ProjectID != 42 || len(ev.EventID) != 32 || ev.Sessions == nil || !ev.SessionsOnly || len(ev.Exceptions) != 0 || ev.Message != "" {
			t.Fatalf("queued %+v, want a message of sessions alone", ev)
		}
		s := ev.Sessions
		if len(s.Updates) != 2 || len(s.Aggregates) != 2 {
			t.Fatalf("sessions %+v, want 2 updates and 2 aggregates", s)
		}
		b := s.Updates[0]
		if b.Release != "shop@1.2.3" || b.Environment != "production" || !b.Started.Equal(started) || !b.Init ||
			b.Status != "ok" || b.Errored || b.SID != "0d5bb1b9a2f44c3e8b6a9b51c3b0a0f1" {
			t.Errorf("browser session %+v", b)
		}
		if len(b.DID) != 32 || strings.Contains(b.DID, "ada") {
			t.Errorf("did %q, want a 32-digit hash, not the address", b.DID)
		}
		if m := s.Updates[1]; m.Status != "crashed" || !m.Errored || m.Init || m.Release != "app@2.0.0+14" {
			t.Errorf("mobile crash %+v", m)
		}
		want := []event.SessionAggregate{
			{Release: "api@3.1.0", Environment: "production", Started: time.Date(2025, 6, 27, 6, 48, 0, 0, time.UTC), Exited: 3, Errored: 1, Crashed: 1},
			{Release: "api@3.1.0", Environment: "production", Started: time.Date(2025, 6, 27, 6, 47, 0, 0, time.UTC), Exited: 2, DID: s.Aggregates[1].DID},
		}
		if fmt.Sprint(s.Aggregates) != fmt.Sprint(want) || len(s.Aggregates[1].DID) != 32 {
			t.Errorf("aggregates %+v, want %+v", s.Aggregates, want)
		}
		// The session without a release and the client report.
		if st := h.Stats(); st.DroppedItems != 2 || st.Accepted != 0 {
			t.Errorf("stats %+v, want 2 dropped, no events accepted", st)
		}
	})
	t.Run("with an event", func(t *testing.T) {
		h, q := newTestHandler(t, defaultKeys, nil)
		body := envelopeOf(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}`, false,
			[2]string{"event", `{"message":"boom","release":"shop@1.2.3"}`},
			[2]string{"session", browserSessionErrored},
		)
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "9ec79c33ec9942ab8353589fcb2e04dc") {
			t.Fatalf("status %d body %q, want the event's ID", rec.Code, rec.Body)
		}
		ev := q.only(t)
		if ev.Message != "boom" || ev.SessionsOnly || ev.Sessions == nil || len(ev.Sessions.Updates) != 1 || !ev.Sessions.Updates[0].Errored {
			t.Fatalf("queued %+v, want the event carrying its errored session", ev)
		}
		if st := h.Stats(); st.Accepted != 1 {
			t.Errorf("stats %+v, want 1 event accepted", st)
		}
	})
}

// TestInvalidSessions: a session that cannot be counted is dropped, never
// a 4xx or 5xx, which would make the SDK drop the envelope's event too.
func TestInvalidSessions(t *testing.T) {
	tests := []struct{ name, typ, payload string }{
		{"not JSON", "session", `{"sid":`},
		{"not an object", "session", `[1]`},
		{"no sid", "session", `{"started":"2025-06-27T06:48:30Z","attrs":{"release":"r"}}`},
		{"no start", "session", `{"sid":"a","attrs":{"release":"r"}}`},
		{"started too long ago", "session", `{"sid":"a","started":"2025-06-01T00:00:00Z","attrs":{"release":"r"}}`},
		{"started in the future", "session", `{"sid":"a","started":"2025-06-28T00:00:00Z","attrs":{"release":"r"}}`},
		{"an unknown status", "session", `{"sid":"a","started":"2025-06-27T06:48:30Z","status":"gone","attrs":{"release":"r"}}`},
		{"negative errors", "session", `{"sid":"a","started":"2025-06-27T06:48:30Z","errors":-1,"attrs":{"release":"r"}}`},
		{"no release", "session", `{"sid":"a","started":"2025-06-27T06:48:30Z","attrs":{}}`},
		{"a reserved release", "session", `{"sid":"a","started":"2025-06-27T06:48:30Z","attrs":{"release":"latest"}}`},
		{"a release with a slash", "session", `{"sid":"a","started":"2025-06-27T06:48:30Z","attrs":{"release":"a/b"}}`},
		{"a release with a zero-width space", "session", `{"sid":"a","started":"2025-06-27T06:48:30Z","attrs":{"release":"r1\u200b"}}`},
		{"a release with a word joiner", "sessions", `{"aggregates":[{"started":"2025-06-27T06:48:00Z","exited":1}],"attrs":{"release":"r1\u2060"}}`},
		{"a release with a byte order mark", "session", `{"sid":"a","started":"2025-06-27T06:48:30Z","attrs":{"release":"r1\ufeff"}}`},
		{"a release with a soft hyphen", "sessions", `{"aggregates":[{"started":"2025-06-27T06:48:00Z","exited":1}],"attrs":{"release":"r1\u00ad"}}`},
		{"aggregates without a release", "sessions", `{"aggregates":[{"started":"2025-06-27T06:48:00Z","exited":1}]}`},
		{"a negative count", "sessions", `{"aggregates":[{"started":"2025-06-27T06:48:00Z","exited":-1}],"attrs":{"release":"r"}}`},
		{"a fractional count", "sessions", `{"aggregates":[{"started":"2025-06-27T06:48:00Z","crashed":1.5}],"attrs":{"release":"r"}}`},
		{"no aggregates", "sessions", `{"attrs":{"release":"r"}}`},
		{"a count over a million", "sessions", `{"aggregates":[{"started":"2025-06-27T06:48:00Z","exited":1000001}],"attrs":{"release":"r"}}`},
		{"a count as Relay's widest", "sessions", `{"aggregates":[{"started":"2025-06-27T06:48:00Z","crashed":4294967295}],"attrs":{"release":"r"}}`},
		{"over ten million sessions in the item", "sessions", `{"aggregates":[` +
			strings.Repeat(`{"started":"2025-06-27T06:48:00Z","exited":1000000},`, 10) + `{"started":"2025-06-27T06:48:00Z","unhandled":1}],"attrs":{"release":"r"}}`},
		{"only out-of-range aggregates", "sessions", `{"aggregates":[{"started":"2020-01-01T00:00:00Z","exited":1},{"exited":1}],"attrs":{"release":"r"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			body := envelopeOf(`{}`, true, [2]string{tt.typ, tt.payload})
			rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}.do(h)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if len(q.bodies) != 0 {
				t.Errorf("queued %d messages, want none", len(q.bodies))
			}
		})
	}
}

// TestSessionCountsAtTheBounds: an item of maxItemSessions sessions in
// counts of maxSessionCount is counted whole; one more is refused
// (TestInvalidSessions).
func TestSessionCountsAtTheBounds(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	aggs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf(`{"started":"2025-06-27T06:48:00Z","exited":%d},`, maxSessionCount), maxItemSessions/maxSessionCount), ",")
	body := envelopeOf(`{"sent_at":"2025-06-27T06:48:33Z"}`, false,
		[2]string{"sessions", `{"aggregates":[` + aggs + `],"attrs":{"release":"r"}}`})
	if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}).do(h); rec.Code != 200 {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	var sum int64
	for _, a := range q.only(t).Sessions.Aggregates {
		sum += a.Exited
	}
	if sum != maxItemSessions {
		t.Errorf("counted %d sessions, want %d", sum, maxItemSessions)
	}
}

// TestSessionsTakeTokens: each session item takes a token of the project's
// rate, as an event does, so sessions cannot write more than the rate
// allows (each may name a new release); an envelope of many items overdraws
// the bucket and the debt holds the project's next envelopes back.
func TestSessionsTakeTokens(t *testing.T) {
	clock := &testClock{now: testNow}
	h, q := newTestHandler(t, defaultKeys, func(c *Config) {
		c.RatePerMinute = 10
		c.Now = clock.Now
	})
	send := func(body []byte) int {
		t.Helper()
		return (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}).do(h).Code
	}
	event := func() int {
		t.Helper()
		return (req{path: "/api/42/store/", header: sentryAuth(testKey), body: []byte(`{"message":"hi"}`)}).do(h).Code
	}
	session := envelopeOf(`{}`, false, [2]string{"session", browserSession})
	for i := range 10 {
		if code := send(session); code != 200 {
			t.Fatalf("session envelope %d of 10 per minute: status %d, want 200", i+1, code)
		}
	}
	rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: session}.do(h)
	if code, msg := errorResponse(t, rec); rec.Code != 429 || code != "rate_limited" ||
		!strings.Contains(msg, "over its limit of 10 events, session items and check-ins per minute") {
		t.Errorf("11th session envelope in a minute: %d %s %q, want 429 naming the limit's unit, session items included", rec.Code, code, msg)
	}
	if code := event(); code != 429 {
		t.Errorf("event after 10 session envelopes: status %d, want 429 (the tokens spent)", code)
	}
	clock.Advance(time.Minute)
	var many [][2]string
	for i := range 50 {
		many = append(many, [2]string{"session", strings.Replace(browserSession, `"shop@1.2.3"`, fmt.Sprintf(`"flood-%d"`, i), 1)})
	}
	if code := send(envelopeOf(`{}`, false, many...)); code != 200 {
		t.Fatalf("envelope of 50 sessions on a full bucket: status %d, want 200", code)
	}
	if code := send(session); code != 429 {
		t.Errorf("session envelope after 50 sessions: status %d, want 429", code)
	}
	clock.Advance(4 * time.Minute)
	if code := event(); code != 429 {
		t.Errorf("event 4 minutes after 50 sessions at 10 a minute: status %d, want 429 (the debt not yet repaid)", code)
	}
	clock.Advance(6 * time.Second)
	if code := event(); code != 200 {
		t.Errorf("event once the debt is repaid: status %d, want 200", code)
	}
	if len(q.bodies) != 12 {
		t.Errorf("queued %d messages, want 12", len(q.bodies))
	}
}

// TestSessionNoUser: a did that names no one (empty, blanks, the nil UUID
// that SDKs send for an unknown install) is no user, as Relay treats it;
// counted as a user it would make every anonymous session one user.
func TestSessionNoUser(t *testing.T) {
	for _, tc := range []struct {
		did    string
		noUser bool
	}{
		{`"00000000-0000-0000-0000-000000000000"`, true},
		{`" 00000000-0000-0000-0000-000000000000 "`, true},
		{`"00000000000000000000000000000000"`, true},
		{`""`, true},
		{"\" \\t \"", true},
		{`null`, true},
		{`"00000000-0000-0000-0000-000000000001"`, false},
		{`"ada@example.com"`, false},
	} {
		t.Run(tc.did, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			session := strings.Replace(browserSession, `"did":"ada@example.com"`, `"did":`+tc.did, 1)
			aggregates := strings.Replace(nodeAggregates, `"did":"u-7"`, `"did":`+tc.did, 1)
			body := envelopeOf(`{"sent_at":"2025-06-27T06:48:33Z"}`, false, [2]string{"session", session}, [2]string{"sessions", aggregates})
			if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}).do(h); rec.Code != 200 {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			s := q.only(t).Sessions
			if len(s.Updates) != 1 || len(s.Aggregates) != 2 {
				t.Fatalf("sessions %+v, want 1 update and 2 aggregates", s)
			}
			for _, did := range []string{s.Updates[0].DID, s.Aggregates[1].DID} {
				if (did == "") != tc.noUser {
					t.Errorf("did %s kept as %q, want no user: %v", tc.did, did, tc.noUser)
				}
			}
		})
	}
}

// TestSessionLongNames: a release or environment longer than
// event.MaxNameLength characters is cut to them, in an event and in
// sessions alike, so that the sessions count under the release the errors
// of the same app are filed under; a release of 201 to 256 characters too,
// which the store would cut for the event alone.
func TestSessionLongNames(t *testing.T) {
	for _, c := range []struct{ name, release, env string }{
		{"250 characters", strings.Repeat("r", 250), strings.Repeat("e", 250)},
		{"over 256 bytes", " " + strings.Repeat("r", 300), strings.Repeat("é", 300)},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, q := newTestHandler(t, defaultKeys, nil)
			body := envelopeOf(`{"sent_at":"2025-06-27T06:48:33Z"}`, false,
				[2]string{"event", fmt.Sprintf(`{"message":"boom","release":%q,"environment":%q}`, c.release, c.env)},
				[2]string{"session", fmt.Sprintf(`{"sid":"a","init":true,"started":"2025-06-27T06:48:30Z","attrs":{"release":%q,"environment":%q}}`, c.release, c.env)},
				[2]string{"sessions", fmt.Sprintf(`{"aggregates":[{"started":"2025-06-27T06:48:00Z","exited":1}],"attrs":{"release":%q,"environment":%q}}`, c.release, c.env)},
			)
			if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: body}).do(h); rec.Code != 200 {
				t.Fatalf("status %d, want 200", rec.Code)
			}
			ev := q.only(t)
			want := [2]string{string([]rune(strings.TrimSpace(c.release))[:event.MaxNameLength]), string([]rune(c.env)[:event.MaxNameLength])}
			if got := [2]string{ev.Release, ev.Environment}; got != want {
				t.Fatalf("event release and environment %q, want them cut to %d characters, %q", got, event.MaxNameLength, want)
			}
			s := ev.Sessions
			if s == nil || len(s.Updates) != 1 || len(s.Aggregates) != 1 {
				t.Fatalf("sessions %+v, want the update and the aggregate kept", s)
			}
			for _, got := range [][2]string{{s.Updates[0].Release, s.Updates[0].Environment}, {s.Aggregates[0].Release, s.Aggregates[0].Environment}} {
				if got != want {
					t.Errorf("session release and environment %q, want the event's %q", got, want)
				}
			}
		})
	}
}

// TestSessionsCarrierID: an envelope of sessions alone sent again is
// queued under the same ID, which the store counts once; other sessions,
// another project, or aggregates sent at another time get another ID.
func TestSessionsCarrierID(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	send := func(header string, items ...[2]string) string {
		t.Helper()
		before := len(q.events(t))
		rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: envelopeOf(header, false, items...)}.do(h)
		evs := q.events(t)
		if rec.Code != 200 || len(evs) != before+1 {
			t.Fatalf("status %d body %q, %d queued; want 200 and one message", rec.Code, rec.Body, len(evs)-before)
		}
		return evs[len(evs)-1].EventID
	}
	const sent, later = `{"sent_at":"2025-06-27T06:48:33Z"}`, `{"sent_at":"2025-06-27T06:49:33Z"}`
	crash := send(sent, [2]string{"session", mobileCrash})
	if again := send(later, [2]string{"session", mobileCrash}); again != crash {
		t.Errorf("a session update sent again is queued as %s, then %s; want one ID", crash, again)
	}
	if other := send(sent, [2]string{"session", browserSession}); other == crash || len(other) != 32 {
		t.Errorf("another session's message has ID %q (the first's is %s); want another 32-digit ID", other, crash)
	}
	aggs := send(sent, [2]string{"sessions", nodeAggregates})
	if again := send(sent, [2]string{"sessions", nodeAggregates}); again != aggs {
		t.Errorf("aggregates sent again are queued as %s, then %s; want one ID", aggs, again)
	}
	if next := send(later, [2]string{"sessions", nodeAggregates}); next == aggs {
		t.Errorf("a server's next flush of equal aggregates has the first's ID %s; want another", next)
	}
	if a, b := send(`{}`, [2]string{"sessions", nodeAggregates}), send(`{}`, [2]string{"sessions", nodeAggregates}); a == b {
		t.Errorf("equal aggregates without a sent_at have one ID %s; want one each (two flushes cannot be told from a resend)", a)
	}
	items := []envelopeItem{{typ: "session", payload: []byte(mobileCrash)}}
	if sessionsCarrierID(42, items, envelopeHeader{}) == sessionsCarrierID(43, items, envelopeHeader{}) {
		t.Error("two projects' equal sessions have one ID; want one each")
	}
}
