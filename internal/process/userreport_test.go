package process

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestUserReportInTheEventsBatch: a legacy user report queued beside the
// event it is about takes the event's user, so feedback is saved after
// the batch's events.
func TestUserReportInTheEventsBatch(t *testing.T) {
	ctx := context.Background()
	db, proj := openProject(t, sqliteFile(t), "shop")
	now := time.Now().UTC()
	about := strings.Repeat("5", 32)
	report := event.Event{EventID: about, ProjectID: proj.ID, Source: event.SourceSentry, Received: now, Timestamp: now, Level: "info",
		Feedback: &event.Feedback{Message: "it broke", AssociatedEventID: about, Source: "user_report"}}
	ev := event.Event{EventID: about, ProjectID: proj.ID, Source: event.SourceSentry, Received: now, Timestamp: now, Level: "error",
		Message: "boom", User: &event.User{Username: "ada.l", Email: "ada@example.com"}}
	for i, o := range New(Config{Saver: db}).ProcessBatch(ctx, [][]byte{body(t, report), body(t, ev)}) {
		if o.Err != nil {
			t.Fatalf("message %d: %v", i, o.Err)
		}
	}
	list, _, err := db.ListProjectFeedback(ctx, store.System, proj.ID, "", 0)
	if err != nil || len(list) != 1 || list[0].Name != "ada.l" || list[0].Email != "ada@example.com" {
		t.Errorf("feedback = %+v, %v; want the event user's name and email", list, err)
	}
}
