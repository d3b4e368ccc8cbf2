package process

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// feedbackEvent is a queue message of feedback as ingest queues it.
func feedbackEvent(id, msg string) event.Event {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	return event.Event{EventID: id, ProjectID: 7, Source: event.SourceSentry, Timestamp: at, Received: at, Level: "info",
		Feedback: &event.Feedback{Message: msg, Name: "Ada", Email: "ada@example.com",
			URL: "https://shop.example/pay?token=abc&step=2", AssociatedEventID: "0123456789abcdef0123456789abcdef"}}
}

// TestProcessFeedback: a feedback message is told apart from an event, on
// the worker's path and the Lambda's alike (both run ProcessBatch): it is
// saved as feedback beside the batch's events, grouped into no issue, and
// its text is scrubbed like a message while the name and address the user
// typed are kept.
func TestProcessFeedback(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s, Privacy: &fakePrivacy{s: store.DefaultPrivacy}})
	errEv := acceptanceEvent("0123456789abcdef0123456789abcdef")
	fb := feedbackEvent("fedcba9876543210fedcba9876543210", "Charged twice to 4111 1111 1111 1111 from 203.0.113.9")
	out := p.ProcessBatch(context.Background(), [][]byte{body(t, errEv), body(t, fb)})
	for i, o := range out {
		if o.Err != nil || o.Orphan {
			t.Fatalf("message %d: %+v", i, o)
		}
	}
	if len(s.reqs) != 1 || s.reqs[0].Event.EventID != errEv.EventID {
		t.Fatalf("saved %d events, want only the error event", len(s.reqs))
	}
	if len(s.feedback) != 1 {
		t.Fatalf("saved %d feedback, want 1", len(s.feedback))
	}
	got := s.feedback[0].Event
	want := event.Feedback{Message: "Charged twice to [creditcard] from [ip]", Name: "Ada", Email: "ada@example.com",
		URL: "https://shop.example/pay?token=[Filtered]&step=2", AssociatedEventID: "0123456789abcdef0123456789abcdef"}
	if got.EventID != fb.EventID || *got.Feedback != want {
		t.Errorf("feedback %s %+v\nwant %s %+v", got.EventID, *got.Feedback, fb.EventID, want)
	}
	if out[1].Result.IssueID != 0 {
		t.Errorf("feedback joined issue %d", out[1].Result.IssueID)
	}

	// A redelivery is a duplicate, done with like a stored event.
	out = p.ProcessBatch(context.Background(), [][]byte{body(t, fb)})
	if out[0].Err != nil || !out[0].Result.Duplicate || len(s.feedback) != 1 {
		t.Errorf("redelivery: %+v with %d stored, want a duplicate", out[0], len(s.feedback))
	}
}

// TestProcessFeedbackPrivacy: with scrubbing off, feedback is stored as
// written, as events are.
func TestProcessFeedbackPrivacy(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s, Privacy: &fakePrivacy{s: store.PrivacySettings{}}})
	fb := feedbackEvent("fedcba9876543210fedcba9876543210", "card 4111 1111 1111 1111")
	if _, err := processOne(context.Background(), p, body(t, fb)); err != nil {
		t.Fatal(err)
	}
	if got := s.feedback[0].Event.Feedback; got.Message != fb.Feedback.Message || got.URL != fb.Feedback.URL {
		t.Errorf("stored %+v, want it as sent", got)
	}
}

// TestProcessFeedbackFailures: feedback the store cannot take is retried,
// and feedback of a deleted project is done with, as events are.
func TestProcessFeedbackFailures(t *testing.T) {
	fb := feedbackEvent("fedcba9876543210fedcba9876543210", "hi")
	p := New(Config{Saver: &fakeSaver{err: errors.New("disk full")}})
	if _, err := processOne(context.Background(), p, body(t, fb)); err == nil || errors.Is(err, ErrMalformed) {
		t.Errorf("a failed save: %v, want an error worth retrying", err)
	}
	p = New(Config{Saver: orphanSaver{}})
	if out := p.ProcessBatch(context.Background(), [][]byte{body(t, fb)}); out[0].Err != nil || !out[0].Orphan {
		t.Errorf("feedback of a deleted project: %+v, want an orphan", out[0])
	}
}

// orphanSaver answers every feedback as of a deleted project.
type orphanSaver struct{ fixedSaver }

func (orphanSaver) SaveFeedback(_ context.Context, reqs []store.FeedbackRequest) ([]store.FeedbackResult, error) {
	res := make([]store.FeedbackResult, len(reqs))
	for i := range res {
		res[i].Orphan = true
	}
	return res, nil
}
