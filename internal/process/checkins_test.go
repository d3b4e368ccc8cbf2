package process

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// checkInsEvent is the queue message of an envelope of check-ins alone.
func checkInsEvent(id string, cis ...event.CheckIn) event.Event {
	at := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	return event.Event{EventID: id, ProjectID: 1, Source: event.SourceSentry, Timestamp: at, Received: at, Level: "info",
		SessionsOnly: true, Crons: &event.Crons{CheckIns: cis}}
}

// TestProcessCheckIns: the check-ins of a message of their own and of an
// error event's are stored after the event; one of a monitor the store
// does not know is dropped without failing its message.
func TestProcessCheckIns(t *testing.T) {
	s := &fakeSaver{unknown: "ghost"}
	p := New(Config{Saver: s})
	cfg := &event.MonitorConfig{ScheduleType: event.ScheduleInterval, Interval: 1, Unit: "hour"}
	alone := checkInsEvent("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", event.CheckIn{ID: "1", Slug: "nightly", Status: "in_progress", Config: cfg},
		event.CheckIn{ID: "1", Slug: "nightly", Status: "ok"})
	errEv := acceptanceEvent("0123456789abcdef0123456789abcdef")
	errEv.Crons = &event.Crons{CheckIns: []event.CheckIn{{ID: "2", Slug: "nightly", Status: "error"}}}
	ghost := checkInsEvent("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", event.CheckIn{ID: "3", Slug: "ghost", Status: "ok"})
	out := p.ProcessBatch(context.Background(), [][]byte{body(t, alone), body(t, errEv), body(t, ghost)})
	for i, o := range out {
		if o.Err != nil || o.Orphan {
			t.Fatalf("message %d: %+v", i, o)
		}
	}
	if len(s.reqs) != 1 || s.reqs[0].Event.EventID != errEv.EventID {
		t.Fatalf("saved %d events, want only the error event", len(s.reqs))
	}
	if len(s.checkIns) != 3 || s.checkIns[0].CheckIn.Status != "in_progress" || s.checkIns[2].CheckIn.Status != "error" || s.checkIns[2].ProjectID != errEv.ProjectID {
		t.Fatalf("stored check-ins %+v, want the three of nightly in order", s.checkIns)
	}
	if !out[2].Result.Duplicate {
		t.Errorf("a message of a dropped check-in: %+v, want it done as a duplicate", out[2])
	}
	if out := New(Config{Saver: &fakeSaver{err: errors.New("disk full")}}).ProcessBatch(context.Background(), [][]byte{body(t, alone)}); out[0].Err == nil {
		t.Errorf("a failed save: %+v, want the error, so the message is retried", out[0])
	}
}

// TestDroppedCheckInsLogThrottled: a burst of dropped check-ins logs one
// line, not one per check-in.
func TestDroppedCheckInsLogThrottled(t *testing.T) {
	var log bytes.Buffer
	p := New(Config{Saver: &fakeSaver{unknown: "ghost"}, Log: slog.New(slog.NewTextHandler(&log, nil))})
	var cis []event.CheckIn
	for i := range 50 {
		cis = append(cis, event.CheckIn{ID: strconv.Itoa(i), Slug: "ghost", Status: "ok"})
	}
	p.ProcessBatch(context.Background(), [][]byte{body(t, checkInsEvent("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", cis...))})
	if n := strings.Count(log.String(), "dropped a check-in"); n != 1 {
		t.Errorf("%d lines of dropped check-ins for 50, want 1:\n%s", n, log.String())
	}
}

// TestHeldCheckInsDroppedLogged: check-ins held in a project at its bound
// of held ones push out older ones; that is logged, with the project and
// how many, once for the batch and then at most every 10 seconds.
func TestHeldCheckInsDroppedLogged(t *testing.T) {
	var log bytes.Buffer
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	p := New(Config{Saver: &fakeSaver{full: "early"}, Log: slog.New(slog.NewTextHandler(&log, nil)), Now: func() time.Time { return now }})
	batch := func(id string, n int) [][]byte {
		var cis []event.CheckIn
		for i := range n {
			cis = append(cis, event.CheckIn{ID: id + strconv.Itoa(i), Slug: "early", Status: "ok"})
		}
		return [][]byte{body(t, checkInsEvent(strings.Repeat(id, 32), cis...))}
	}
	p.ProcessBatch(context.Background(), batch("a", 30))
	p.ProcessBatch(context.Background(), batch("b", 5))
	now = now.Add(10 * time.Second)
	p.ProcessBatch(context.Background(), batch("c", 2))
	var lines []string
	for l := range strings.Lines(log.String()) {
		if strings.Contains(l, "dropped held check-ins") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || !strings.Contains(lines[0], "project=1 check_ins=30 ") || !strings.Contains(lines[0], "not_logged_since=0") ||
		!strings.Contains(lines[1], "check_ins=2 ") || !strings.Contains(lines[1], "not_logged_since=1") {
		t.Errorf("want two lines, of 30 and of 2 with one held back; log:\n%s", log.String())
	}
}
