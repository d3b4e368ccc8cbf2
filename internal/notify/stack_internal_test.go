package notify

import (
	"slices"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// TestStackLinesMainException checks that an alert's stack starts with the
// exception that titles the issue: the TypeError a group of its copies is
// titled by, not the AggregateError holding them; without a main exception
// it starts with the outermost, as before.
func TestStackLinesMainException(t *testing.T) {
	id := func(n int) *int { return &n }
	ex := func(typ string, eid int, fn string) event.Exception {
		return event.Exception{Type: typ, Value: "v", Mechanism: &event.Mechanism{ExceptionID: id(eid)},
			Frames: []event.Frame{{Filename: "jobs.js", Function: fn, Lineno: 1}}}
	}
	exs := []event.Exception{ex("TypeError", 2, "c2"), ex("TypeError", 1, "c1"), ex("AggregateError", 0, "root")}
	tests := []struct {
		main *int
		want []string
	}{
		{nil, []string{"AggregateError: v", "at root (jobs.js:1)", "at c1 (jobs.js:1)", "at c2 (jobs.js:1)"}},
		{id(1), []string{"TypeError: v", "at c1 (jobs.js:1)", "at root (jobs.js:1)", "at c2 (jobs.js:1)"}},
		{id(2), []string{"TypeError: v", "at c2 (jobs.js:1)", "at root (jobs.js:1)", "at c1 (jobs.js:1)"}},
	}
	for _, tt := range tests {
		ev := event.Event{Exceptions: exs, MainExceptionID: tt.main}
		if got := stackLines(&ev); !slices.Equal(got, tt.want) {
			t.Errorf("main %v: stack %q, want %q", tt.main, got, tt.want)
		}
	}
}

// TestStackLinesNameFilesAsThePageDoes checks that an alert names a frame's
// file as the issue page does: a URL by its path, so the address a page
// was served from, masked in the event's request URL, is not sent to
// Slack, webhooks and e-mail in its frames (docs/privacy.md); a Node
// file below the application's root relative to it.
func TestStackLinesNameFilesAsThePageDoes(t *testing.T) {
	ev := event.Event{
		Request: &event.Request{URL: "http://[ip]:19401/"},
		Exceptions: []event.Exception{{Type: "TypeError", Value: "x", Frames: []event.Frame{
			{AbsPath: "/srv/app/routes/users.js", Module: "routes:users", Function: "list", Lineno: 3},
			{Filename: "http://127.0.0.1:19402/static/js/app.min.js", Function: "Jp", Lineno: 15},
			{AbsPath: "http://[2001:db8::1]:8080/app.js?v=1", Lineno: 2},
		}}},
	}
	want := []string{"TypeError: x", "at /app.js:2", "at Jp (/static/js/app.min.js:15)", "at list (routes/users.js:3)"}
	if got := stackLines(&ev); !slices.Equal(got, want) {
		t.Errorf("stack %q, want %q", got, want)
	}
}
