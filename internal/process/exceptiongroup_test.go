package process

import (
	"context"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// TestExceptionGroupTitle checks that an exception group of copies of one
// error (as @sentry/node sends new AggregateError([e, e, e])) is titled,
// and its culprit named, by that error, and that the event keeps which
// exception that is for the pages.
func TestExceptionGroupTitle(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s})
	id := func(n int) *int { return &n }
	inApp := true
	child := func(n int) event.Exception {
		return event.Exception{Type: "TypeError", Value: "x", Mechanism: &event.Mechanism{Type: "chained", ExceptionID: id(n), ParentID: id(0)},
			Frames: []event.Frame{{Filename: "jobs.js", Function: "copy", InApp: &inApp}}}
	}
	ev := event.Event{EventID: strings.Repeat("c", 32), ProjectID: 7, Platform: "node", Exceptions: []event.Exception{child(2), child(1),
		{Type: "AggregateError", Value: "same", Mechanism: &event.Mechanism{Type: "generic", ExceptionID: id(0), IsExceptionGroup: true},
			Frames: []event.Frame{{Filename: "jobs.js", Function: "copies", InApp: &inApp}}}}}
	if _, err := processOne(context.Background(), p, body(t, ev)); err != nil {
		t.Fatal(err)
	}
	r := s.reqs[0]
	if r.Title != "TypeError: x" || r.Culprit != "jobs.js in copy" || r.Event.MainExceptionID == nil || *r.Event.MainExceptionID != 1 {
		t.Errorf("title %q, culprit %q, main exception %v; want the TypeError's", r.Title, r.Culprit, r.Event.MainExceptionID)
	}
}
