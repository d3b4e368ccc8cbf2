package api

import (
	"context"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestEventSyntheticFlag checks that the REST event carries the synthetic
// flag of the stack a browser SDK attached to captureMessage.
func TestEventSyntheticFlag(t *testing.T) {
	f := newFixture(t)
	id := "dddddddddddddddddddddddddddddd01"
	ev := &event.Event{EventID: id, ProjectID: f.project.ID, Source: event.SourceSentry, Level: "info",
		Timestamp: now.Add(-time.Hour), Received: now.Add(-time.Hour), Message: "Checkout total mismatch",
		Exceptions: []event.Exception{{Value: "Checkout total mismatch",
			Mechanism: &event.Mechanism{Type: "generic", Synthetic: true},
			Frames:    []event.Frame{{Filename: "http://localhost:5173/src/checkout.js", Function: "submitOrder", Lineno: 42}}}}}
	if _, err := f.db.SaveEvent(context.Background(), store.SaveRequest{Event: ev, Fingerprint: "synthetic", GroupingVersion: "test",
		Title: ev.Title()}); err != nil {
		t.Fatal(err)
	}
	code, _, out := f.do(t, f.memberToken, "GET", "/api/v1/events/"+id, "")
	if code != 200 {
		t.Fatalf("HTTP %d %v", code, out)
	}
	ex := out["event"].(map[string]any)["exceptions"].([]any)[0].(map[string]any)
	mech, _ := ex["mechanism"].(map[string]any)
	if mech["synthetic"] != true || mech["type"] != "generic" {
		t.Errorf("mechanism = %v, want synthetic generic", ex["mechanism"])
	}
	if _, typed := ex["type"]; typed {
		t.Errorf("a synthetic exception without type got one: %v", ex)
	}
}
