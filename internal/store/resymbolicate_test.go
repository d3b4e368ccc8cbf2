package store

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

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
	// QA's case: a frame mapped with another build's map gave the issue
	// the culprit "/ in ?".
	res := e.save("fp", withID("ev1"), withTitle("Error: x"), withCulprit("/ in ?"))
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
		err := db.ReplaceEventPayload(ctx, tt.v, tt.issueID, &tt.ev, "src/cart.js in lineTotal")
		wantErr(t, "ReplaceEventPayload as "+tt.name, err, ErrNotFound)
	}
	if got, _ := db.GetIssueEvent(ctx, System, res.IssueID, "ev1"); !reflect.DeepEqual(got.Payload, before.Payload) {
		t.Errorf("a refused replace changed the payload")
	}
	if is := e.issue(res.IssueID); is.Culprit != "/ in ?" {
		t.Errorf("a refused replace changed the issue's culprit to %q", is.Culprit)
	}
	issueBefore := e.issue(res.IssueID)

	if err := db.ReplaceEventPayload(ctx, Viewer{UserID: member.ID}, res.IssueID, &ev, "src/cart.js in lineTotal"); err != nil {
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
	// ev1 is the issue's latest event, whose culprit the issue shows: it
	// takes the one of the mapped frames. Its grouping does not change.
	is := e.issue(res.IssueID)
	if is.Culprit != "src/cart.js in lineTotal" {
		t.Errorf("issue culprit %q after replacing its latest event, want the mapped frames'", is.Culprit)
	}
	if is.Fingerprint != issueBefore.Fingerprint || is.GroupingVersion != issueBefore.GroupingVersion || is.Title != issueBefore.Title {
		t.Errorf("issue's grouping or title changed: %+v, was %+v", is, issueBefore)
	}
	// An older event replaced leaves the culprit of the newer one.
	e.save("fp", withID("ev3"), withAt(t0.Add(time.Hour)), withTitle("Error: x"), withCulprit("/ in ?"))
	if err := db.ReplaceEventPayload(ctx, System, res.IssueID, &ev, "src/other.js in f"); err != nil {
		t.Fatal(err)
	}
	if is := e.issue(res.IssueID); is.Culprit != "/ in ?" {
		t.Errorf("issue culprit %q after replacing an older event, want its latest event's", is.Culprit)
	}
}
