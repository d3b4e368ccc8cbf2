package server

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestDirectionControlTagsDropped: a tag value holding a direction
// control (U+202E reads "invoice_\u202egnp.exe" as "invoice_exe.png") is
// dropped with a note, wherever the tag came from: the SDK's tags, a
// context or an event field. The event itself is kept, with its other
// tags.
func TestDirectionControlTagsDropped(t *testing.T) {
	s, db, b := devServer(t)
	payload := `{"message":"upload failed","transaction":"/upload/\u202egnp.exe",` +
		`"tags":{"file":"invoice_\u202egnp.exe","region":"eu-west-1","user.kind":"\u2067admin\u2069"},` +
		`"contexts":{"browser":{"type":"browser","name":"Chrome\u200f","version":"131"}}}`
	row := postEvents(t, s, db, b, payload)[0]
	var ev event.Event
	if err := json.Unmarshal(row.Payload, &ev); err != nil {
		t.Fatalf("payload: %v", err)
	}
	if v, ok := ev.Tag("region"); !ok || v != "eu-west-1" {
		t.Errorf("tag region = %q, %v; want eu-west-1 kept", v, ok)
	}
	for _, tag := range ev.Tags {
		if strings.ContainsFunc(tag.Value, event.IsControl) {
			t.Errorf("tag %s = %q kept, holding a direction control", tag.Key, tag.Value)
		}
	}
	if !slices.ContainsFunc(ev.Notes, func(n string) bool {
		return strings.Contains(n, `"file" (the value holds a direction control character`) && strings.Contains(n, `"user.kind"`)
	}) {
		t.Errorf("notes = %q, want the SDK's tags file and user.kind dropped for their direction controls", ev.Notes)
	}
	// The tags the store derives from the event's fields pass the same
	// rule: the transaction is no tag.
	counts, err := db.IssueTags(context.Background(), store.System, row.IssueID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range counts {
		if strings.ContainsFunc(c.Value, event.IsControl) || c.Key == "transaction" {
			t.Errorf("issue tag %s = %q, want no tag holding a direction control", c.Key, c.Value)
		}
	}
	if ev.Transaction != "/upload/\u202egnp.exe" {
		t.Errorf("transaction = %q, want the event's field as sent (shown escaped), only its tag dropped", ev.Transaction)
	}
}
