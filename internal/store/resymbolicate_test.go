package store

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// ReplaceEventPayload is in the contract both dialects share; it runs
// beside runContract's list so that list stays as other changes left it.
func TestReplaceEventPayloadSQLite(t *testing.T) {
	testReplaceEventPayload(newEnv(t, openSQLiteTest(t)))
}

func TestReplaceEventPayloadPostgres(t *testing.T) {
	testReplaceEventPayload(newEnv(t, openPostgresTest(t)))
}

func testReplaceEventPayload(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	member := e.createUser("member@example.com", RoleMember)
	outsider := e.createUser("outsider@example.com", RoleMember)
	e.addMember(e.project, member)
	res := e.save("fp", withID("ev1"), withTitle("Error: x"))
	other := e.save("fp2", withID("ev2"))
	before, err := db.GetIssueEvent(ctx, System, res.IssueID, "ev1")
	if err != nil {
		t.Fatal(err)
	}
	var ev event.Event
	if err := json.Unmarshal(before.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	ev.Exceptions = []event.Exception{{Type: "Error",
		Frames:    []event.Frame{{Filename: "src/cart.js", Function: "lineTotal", Lineno: 4}},
		RawFrames: []event.Frame{{Filename: "app.min.js", Function: "u", Lineno: 1, Colno: 43}}}}

	for _, tt := range []struct {
		name    string
		v       Viewer
		issueID int64
		ev      event.Event
	}{
		{"outsider", Viewer{UserID: outsider.ID}, res.IssueID, ev},
		{"another issue", System, other.IssueID, ev},
		{"another project's event ID", System, res.IssueID, func() event.Event { c := ev; c.ProjectID++; return c }()},
		{"missing event", System, res.IssueID, func() event.Event { c := ev; c.EventID = "nope"; return c }()},
	} {
		err := db.ReplaceEventPayload(ctx, tt.v, tt.issueID, &tt.ev)
		wantErr(t, "ReplaceEventPayload as "+tt.name, err, ErrNotFound)
	}
	if got, _ := db.GetIssueEvent(ctx, System, res.IssueID, "ev1"); !reflect.DeepEqual(got.Payload, before.Payload) {
		t.Errorf("a refused replace changed the payload")
	}

	if err := db.ReplaceEventPayload(ctx, Viewer{UserID: member.ID}, res.IssueID, &ev); err != nil {
		t.Fatalf("ReplaceEventPayload as a member: %v", err)
	}
	after, err := db.GetIssueEvent(ctx, System, res.IssueID, "ev1")
	if err != nil {
		t.Fatal(err)
	}
	var stored event.Event
	if err := json.Unmarshal(after.Payload, &stored); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Exceptions, ev.Exceptions) {
		t.Errorf("stored exceptions %+v, want %+v", stored.Exceptions, ev.Exceptions)
	}
	if after.Title != before.Title || after.IssueID != before.IssueID || e.issue(res.IssueID).Count != 1 {
		t.Errorf("row or issue changed: %+v, count %d", after, e.issue(res.IssueID).Count)
	}
}
