package ingest

import (
	"bytes"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRefusalWarnsThrottled: during an outage (here the queue failing, as
// on a full disk) every request is refused for the same cause. The first
// refusal is a WARN line at once; the others of the next 10 s are not,
// and the next WARN line says how many were left out. Another cause gets
// its own first line, and every refusal is still counted.
func TestRefusalWarnsThrottled(t *testing.T) {
	clock := &testClock{now: testNow}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	q := &memQueue{err: errors.New("disk full")}
	h := New(Config{IPSalt: []byte(testSalt), Now: clock.Now, MaxBacklog: 1000}, defaultKeys, q, log)
	send := func(n int) {
		for range n {
			if rec := (req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}).do(h); rec.Code != 503 {
				t.Fatalf("HTTP %d, want 503", rec.Code)
			}
		}
	}
	warns := func() []string { return logLines(&logBuf, "WARN", "request rejected") }

	send(500)
	if w := warns(); len(w) != 1 || !strings.Contains(w[0], "queue_unavailable") || !strings.Contains(w[0], "disk full") {
		t.Fatalf("500 refusals in a moment: WARN lines %q, want the first one only, with its cause", w)
	}
	clock.Advance(5 * time.Second)
	send(100)
	if w := warns(); len(w) != 1 {
		t.Fatalf("5 s later: %d WARN lines, want still 1", len(w))
	}
	clock.Advance(6 * time.Second)
	send(1)
	w := warns()
	if len(w) != 2 || !strings.Contains(w[1], "suppressed=599") {
		t.Fatalf("11 s after the first: WARN lines %q, want a second one counting the 599 left out", w)
	}
	// Another cause is not hidden behind the first.
	h.budget.maxBytes = 1
	(req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(jsEnvelope)}).do(h)
	if w := warns(); len(w) != 3 || !strings.Contains(w[2], "overloaded") {
		t.Fatalf("another cause: WARN lines %q, want a third one for it", w)
	}
	if got := h.Stats().Rejected[ReasonQueueError]; got != 601 {
		t.Errorf("rejected %s = %d, want every refusal counted (601)", ReasonQueueError, got)
	}
}

// TestInvalidCheckInLogged: a check-in ingest drops, such as one whose
// slug keeps no character, is answered 200 as Sentry answers it, so its
// reason is an INFO line, one per project every 10 s, the next counting
// those left out.
func TestInvalidCheckInLogged(t *testing.T) {
	clock := &testClock{now: testNow}
	var logBuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := New(Config{IPSalt: []byte(testSalt), Now: clock.Now}, defaultKeys, &memQueue{}, log)
	cjk := envelopeOf(`{}`, false, [2]string{"check_in", `{"check_in_id":"2c3a8a5cb4a64b3a9b4a3f0b6a0e1d2c","monitor_slug":"日本語","status":"ok"}`})
	send := func(pid int, key string, n int) {
		for range n {
			if rec := (req{path: "/api/" + strconv.Itoa(pid) + "/envelope/", header: sentryAuth(key), body: cjk}.do(h)); rec.Code != 200 {
				t.Fatalf("HTTP %d, want 200: %s", rec.Code, rec.Body)
			}
		}
	}
	lines := func() []string { return logLines(&logBuf, "INFO", "dropped an invalid check-in") }
	send(testProject, testKey, 3)
	if l := lines(); len(l) != 1 || !strings.Contains(l[0], "project=42") ||
		!strings.Contains(l[0], `with monitor_slug \"日本語\", which has no letter or digit a slug keeps`) {
		t.Fatalf("3 check-ins dropped: INFO lines %q, want one with the project and reason", l)
	}
	// Another project's is not hidden behind the first's.
	send(otherProject, otherKey, 1)
	if l := lines(); len(l) != 2 || !strings.Contains(l[1], "project=7") {
		t.Fatalf("another project's: INFO lines %q, want a second, of project 7", l)
	}
	clock.Advance(11 * time.Second)
	send(testProject, testKey, 1)
	if l := lines(); len(l) != 3 || !strings.Contains(l[2], "not_logged_since=2") {
		t.Fatalf("11 s later: INFO lines %q, want a third counting the 2 left out", l)
	}
}

// logLines returns the lines of buf, a text handler's output, of level
// whose message has msg.
func logLines(buf *bytes.Buffer, level, msg string) []string {
	var out []string
	for l := range strings.Lines(buf.String()) {
		if strings.Contains(l, "level="+level) && strings.Contains(l, msg) {
			out = append(out, l)
		}
	}
	return out
}
