package process

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// sessionsEvent is a queue message of sessions alone, as ingest queues it.
func sessionsEvent(id string) event.Event {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return event.Event{EventID: id, ProjectID: 7, Source: event.SourceSentry, Timestamp: at, Received: at, Level: "info",
		SessionsOnly: true, Sessions: &event.Sessions{Updates: []event.SessionUpdate{
			{Release: "shop@1.0", Environment: "production", Started: at, SID: "s1", Init: true, Status: "ok"}}}}
}

// TestProcessSessions: a message of sessions alone stores no event and
// joins no issue; the sessions of a batch, alone or beside an event, are
// counted in one call after its events are saved, and a redelivery is a
// duplicate.
func TestProcessSessions(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s, Privacy: &fakePrivacy{s: store.DefaultPrivacy}})
	alone := sessionsEvent("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	errEv := acceptanceEvent("0123456789abcdef0123456789abcdef")
	errEv.Sessions = &event.Sessions{Updates: []event.SessionUpdate{{Release: "shop@1.0", SID: "s2", Status: "crashed", Errored: true}}}
	out := p.ProcessBatch(context.Background(), [][]byte{body(t, alone), body(t, errEv), body(t, sessionsEvent("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"))})
	for i, o := range out {
		if o.Err != nil || o.Orphan || o.Result.IssueID != 0 && i != 1 {
			t.Fatalf("message %d: %+v", i, o)
		}
	}
	if len(s.reqs) != 1 || s.reqs[0].Event.EventID != errEv.EventID {
		t.Fatalf("saved %d events, want only the error event", len(s.reqs))
	}
	if s.sessionsCalls != 1 || len(s.sessions) != 3 || s.sessions[1].Event.Sessions.Updates[0].SID != "s2" {
		t.Fatalf("%d calls counted %d messages of sessions, want 1 call of 3", s.sessionsCalls, len(s.sessions))
	}
	out = p.ProcessBatch(context.Background(), [][]byte{body(t, alone)})
	if out[0].Err != nil || !out[0].Result.Duplicate || len(s.sessions) != 3 {
		t.Errorf("redelivery: %+v with %d counted, want a duplicate", out[0], len(s.sessions))
	}
}

// TestProcessSessionsFailure: when the sessions cannot be counted, their
// messages fail and are retried; an event that failed to save does not
// have its sessions counted before its retry.
func TestProcessSessionsFailure(t *testing.T) {
	p := New(Config{Saver: &fakeSaver{err: errors.New("disk full")}})
	if out := p.ProcessBatch(context.Background(), [][]byte{body(t, sessionsEvent("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))}); out[0].Err == nil {
		t.Errorf("outcome %+v, want the error", out[0])
	}
	errEv := acceptanceEvent("0123456789abcdef0123456789abcdef")
	errEv.Sessions = &event.Sessions{Updates: []event.SessionUpdate{{Release: "shop@1.0", SID: "s2", Status: "crashed", Errored: true}}}
	s := &fakeSaver{reject: errEv.EventID}
	p = New(Config{Saver: s})
	out := p.ProcessBatch(context.Background(), [][]byte{body(t, errEv), body(t, sessionsEvent("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))})
	if out[0].Err == nil || out[1].Err != nil {
		t.Fatalf("outcomes %+v, want the event's failure alone", out)
	}
	if len(s.sessions) != 1 || s.sessions[0].Event.EventID != "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("counted %d messages, want the one of sessions alone", len(s.sessions))
	}
}

// TestProcessSessionsPoison: when a batch's sessions cannot be counted
// because of one message, the others are counted one by one and only that
// message fails (to be retried and dead-lettered alone), its event stored.
func TestProcessSessionsPoison(t *testing.T) {
	errEv := acceptanceEvent("0123456789abcdef0123456789abcdef")
	errEv.Sessions = &event.Sessions{Updates: []event.SessionUpdate{{Release: "shop@1.0", SID: "s2", Status: "crashed", Errored: true}}}
	poison := sessionsEvent("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	s := &fakeSaver{rejectSessions: poison.EventID}
	p := New(Config{Saver: s, Privacy: &fakePrivacy{s: store.DefaultPrivacy}})
	out := p.ProcessBatch(context.Background(), [][]byte{
		body(t, sessionsEvent("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")), body(t, poison), body(t, errEv),
		body(t, sessionsEvent("cccccccccccccccccccccccccccccccc")),
	})
	for i, o := range out {
		if (o.Err != nil) != (i == 1) {
			t.Errorf("message %d: error %v, want one only for the poison message (1)", i, o.Err)
		}
	}
	var counted []string
	for _, r := range s.sessions {
		counted = append(counted, r.Event.EventID)
	}
	want := []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", errEv.EventID, "cccccccccccccccccccccccccccccccc"}
	if !slices.Equal(counted, want) || len(s.reqs) != 1 {
		t.Errorf("counted the sessions of %v and saved %d events, want %v and the one event", counted, len(s.reqs), want)
	}
}
