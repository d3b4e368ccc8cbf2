package ingest

import (
	"bytes"
	"errors"
	"log/slog"
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
	warns := func() []string {
		var out []string
		for l := range strings.Lines(logBuf.String()) {
			if strings.Contains(l, "level=WARN") && strings.Contains(l, "request rejected") {
				out = append(out, l)
			}
		}
		return out
	}

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
