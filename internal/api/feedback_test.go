package api

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// saveFeedback stores feedback of project pid with ID id about assoc.
func saveFeedback(t *testing.T, db *store.DB, pid int64, id, assoc, msg string, at time.Time) {
	t.Helper()
	_, err := db.SaveFeedback(context.Background(), []store.FeedbackRequest{{Event: &event.Event{
		EventID: id, ProjectID: pid, Timestamp: at, Received: at, Level: "info",
		Feedback: &event.Feedback{Message: msg, Name: "Ada", Email: "ada@example.com", AssociatedEventID: assoc},
	}}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFeedbackEndpoints reads feedback per project and per issue as a
// member: the issue's feedback is that about its events, the project's
// includes feedback about nothing, both page like every list, and feedback
// in another project that names the same event ID is not the issue's.
func TestFeedbackEndpoints(t *testing.T) {
	f := newFixture(t)
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	saveFeedback(t, f.db, f.project.ID, "f0000000000000000000000000000001", f.eventA, "Pay <b>failed</b>", at)
	saveFeedback(t, f.db, f.project.ID, "f0000000000000000000000000000002", "", "Nice app", at.Add(time.Minute))
	saveFeedback(t, f.db, f.other.ID, "f0000000000000000000000000000003", f.eventA, "Other project's", at)

	code, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d/feedback", f.issueA), "")
	data, _ := out["data"].([]any)
	if code != 200 || len(data) != 1 {
		t.Fatalf("issue feedback: HTTP %d %v, want the one about eventA", code, out)
	}
	fb := data[0].(map[string]any)
	if fb["message"] != "Pay <b>failed</b>" || fb["associated_event_id"] != f.eventA || fb["issue_id"] != float64(f.issueA) ||
		fb["email"] != "ada@example.com" || fb["created"] != "2026-05-01T12:00:00Z" {
		t.Errorf("issue feedback = %v", fb)
	}

	code, _, out = f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d", f.issueA), "")
	if code != 200 || out["feedback_count"] != float64(1) {
		t.Errorf("issue detail: HTTP %d feedback_count %v, want 1", code, out["feedback_count"])
	}

	base := fmt.Sprintf("/api/v1/projects/%d/feedback", f.project.ID)
	code, _, out = f.do(t, f.memberToken, "GET", base+"?limit=1", "")
	data, _ = out["data"].([]any)
	if code != 200 || len(data) != 1 || data[0].(map[string]any)["message"] != "Nice app" || out["next_cursor"] == "" {
		t.Fatalf("project feedback page 1: HTTP %d %v", code, out)
	}
	if _, ok := data[0].(map[string]any)["issue_id"]; ok {
		t.Errorf("feedback about nothing has an issue: %v", data[0])
	}
	code, _, out = f.do(t, f.memberToken, "GET", base+"?limit=1&cursor="+out["next_cursor"].(string), "")
	data, _ = out["data"].([]any)
	if code != 200 || len(data) != 1 || data[0].(map[string]any)["message"] != "Pay <b>failed</b>" || out["next_cursor"] != "" {
		t.Errorf("project feedback page 2: HTTP %d %v", code, out)
	}
	for _, bad := range []string{base + "?cursor=nope", base + "?limit=1000", "/api/v1/issues/abc/feedback"} {
		if code, _, _ := f.do(t, f.memberToken, "GET", bad, ""); code != 400 {
			t.Errorf("%s: HTTP %d, want 400", bad, code)
		}
	}
}
