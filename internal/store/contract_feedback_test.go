package store

import (
	"fmt"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// feedbackReq is feedback of project pid with ID id about the event assoc
// ("" for none), given and received at at.
func feedbackReq(pid int64, id, assoc, msg string, at time.Time) FeedbackRequest {
	return FeedbackRequest{Event: &event.Event{EventID: id, ProjectID: pid, Timestamp: at, Received: at, Level: "info",
		Feedback: &event.Feedback{Message: msg, Name: "Ada", Email: "ada@example.com", URL: "https://shop.example/", AssociatedEventID: assoc, Source: "api"}}}
}

// saveFeedback saves reqs and fails the test on an error.
func (e *env) saveFeedback(reqs ...FeedbackRequest) []FeedbackResult {
	e.t.Helper()
	res, err := e.db.SaveFeedback(e.ctx, reqs)
	if err != nil {
		e.t.Fatalf("SaveFeedback: %v", err)
	}
	return res
}

// feedbackIDs lists the feedback IDs of a page.
func feedbackIDs(fs []Feedback) []string {
	ids := []string{}
	for _, f := range fs {
		ids = append(ids, f.EventID)
	}
	return ids
}

// testFeedback: feedback is stored once per ID however often it is
// delivered, linked to its issue when it is read (also when it arrived
// before its event), listed per project and per issue, newest first, and
// seen only by those who see the project.
func testFeedback(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	// The feedback about "crash-1" arrives before its event.
	res := e.saveFeedback(
		feedbackReq(e.project.ID, "fb-about-crash", "crash-1", "It broke <script>alert(1)</script>", t0),
		feedbackReq(e.project.ID, "fb-standalone", "", "Nice app", t0.Add(time.Minute)),
		// The same IDs in another project are other feedback.
		feedbackReq(other.ID, "fb-about-crash", "crash-1", "Another project's", t0),
	)
	if res[0].Duplicate || res[1].Duplicate || res[2].Duplicate {
		t.Fatalf("first save reported duplicates: %+v", res)
	}
	list, _, err := db.ListProjectFeedback(ctx, System, e.project.ID, "", 0)
	if err != nil || fmt.Sprint(feedbackIDs(list)) != "[fb-standalone fb-about-crash]" {
		t.Fatalf("ListProjectFeedback = %v, %v; want the standalone then the crash's, newest first", feedbackIDs(list), err)
	}
	if list[1].IssueID != 0 || list[1].Message != "It broke <script>alert(1)</script>" || list[1].Email != "ada@example.com" || !list[1].Created.Equal(t0) {
		t.Errorf("before its event: %+v, want no issue yet and the text as sent", list[1])
	}

	issue := e.save("crash", withID("crash-1")).IssueID
	e.save("crash", withID("crash-2"))
	e.saveFeedback(feedbackReq(e.project.ID, "fb-about-crash-2", "crash-2", "Again", t0.Add(2*time.Minute)))

	// A redelivery, or the SDK's retry, stores nothing new.
	res = e.saveFeedback(feedbackReq(e.project.ID, "fb-about-crash", "crash-1", "It broke (changed)", t0))
	if !res[0].Duplicate || res[0].Orphan {
		t.Errorf("redelivery: %+v, want a duplicate", res[0])
	}
	if n := e.count(`SELECT COUNT(*) FROM feedback WHERE project_id = $1`, e.project.ID); n != 3 {
		t.Errorf("%d feedback rows after a redelivery, want 3", n)
	}

	got, _, err := db.ListIssueFeedback(ctx, System, issue, "", 0)
	if err != nil || fmt.Sprint(feedbackIDs(got)) != "[fb-about-crash-2 fb-about-crash]" {
		t.Fatalf("ListIssueFeedback = %v, %v; want both feedback about the issue's events", feedbackIDs(got), err)
	}
	if got[1].IssueID != issue || got[1].Message != "It broke <script>alert(1)</script>" {
		t.Errorf("linked feedback %+v, want issue %d and the first text", got[1], issue)
	}
	if n, err := db.CountIssueFeedback(ctx, System, issue); err != nil || n != 2 {
		t.Errorf("CountIssueFeedback = %d, %v; want 2", n, err)
	}
	// With more feedback than the bound, the issue's events are read
	// first instead, with the same answers.
	db.feedbackFirstUpTo = 1
	if got, _, err := db.ListIssueFeedback(ctx, System, issue, "", 0); err != nil || fmt.Sprint(feedbackIDs(got)) != "[fb-about-crash-2 fb-about-crash]" {
		t.Errorf("ListIssueFeedback from the events = %v, %v; want both", feedbackIDs(got), err)
	}
	if n, err := db.CountIssueFeedback(ctx, System, issue); err != nil || n != 2 {
		t.Errorf("CountIssueFeedback from the events = %d, %v; want 2", n, err)
	}
	db.feedbackFirstUpTo = 0
	list, _, _ = db.ListProjectFeedback(ctx, System, e.project.ID, "", 0)
	for _, f := range list {
		if want := map[bool]int64{true: issue, false: 0}[f.AssociatedEventID != ""]; f.IssueID != want {
			t.Errorf("project list: %s has issue %d, want %d", f.EventID, f.IssueID, want)
		}
	}

	// Paging, newest first, with a cursor of this order only.
	page, next, err := db.ListProjectFeedback(ctx, System, e.project.ID, "", 2)
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page: %v, %q, %v", feedbackIDs(page), next, err)
	}
	page, next, err = db.ListProjectFeedback(ctx, System, e.project.ID, next, 2)
	if err != nil || fmt.Sprint(feedbackIDs(page)) != "[fb-about-crash]" || next != "" {
		t.Errorf("second page: %v, %q, %v", feedbackIDs(page), next, err)
	}
	if _, _, err := db.ListProjectFeedback(ctx, System, e.project.ID, encodeCursor(eventsOrder, 1, 1), 2); err == nil {
		t.Error("a cursor of another order was accepted")
	}

	// Authorization: a member of the other project sees none of it.
	stranger := e.createUser("stranger@example.com", RoleMember)
	e.addMember(other, stranger)
	v := Viewer{UserID: stranger.ID}
	_, _, err = db.ListProjectFeedback(ctx, v, e.project.ID, "", 0)
	wantErr(t, "stranger lists the project's feedback", err, ErrNotFound)
	_, _, err = db.ListIssueFeedback(ctx, v, issue, "", 0)
	wantErr(t, "stranger lists the issue's feedback", err, ErrNotFound)
	if n, err := db.CountIssueFeedback(ctx, v, issue); err != nil || n != 0 {
		t.Errorf("stranger counts %d, %v; want 0", n, err)
	}
	if mine, _, err := db.ListProjectFeedback(ctx, v, other.ID, "", 0); err != nil || len(mine) != 1 || mine[0].Message != "Another project's" {
		t.Errorf("stranger's own project: %+v, %v", mine, err)
	}

	// Feedback of a deleted project is dropped, and deleting a project
	// deletes its feedback.
	if err := db.DeleteProject(ctx, System, other.ID); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM feedback WHERE project_id = $1`, other.ID); n != 0 {
		t.Errorf("%d feedback rows of a deleted project", n)
	}
	res = e.saveFeedback(feedbackReq(other.ID, "fb-late", "", "Too late", t0))
	if !res[0].Orphan {
		t.Errorf("feedback of a deleted project: %+v, want an orphan", res[0])
	}
	if _, err := db.SaveFeedback(ctx, []FeedbackRequest{{Event: &event.Event{EventID: "x", ProjectID: e.project.ID}}}); err == nil {
		t.Error("an event without feedback was saved as feedback")
	}
}

// testPruneFeedback: retention deletes feedback received before the
// retention age, with or without an event, and keeps the rest.
func testPruneFeedback(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	now := t0.Add(72 * time.Hour)
	e.save("crash", withID("old-crash"), withRcv(now.Add(-48*time.Hour)))
	e.saveFeedback(
		feedbackReq(e.project.ID, "old-about-crash", "old-crash", "old", now.Add(-48*time.Hour)),
		feedbackReq(e.project.ID, "old-standalone", "", "old", now.Add(-47*time.Hour)),
		feedbackReq(e.project.ID, "recent", "", "recent", now.Add(-time.Hour)),
	)
	n, err := db.Prune(ctx, now, 0, 1)
	if err != nil || e.count(`SELECT COUNT(*) FROM feedback`) != 3 {
		t.Errorf("Prune per issue only = %d, %v: feedback belongs to no issue and stays", n, err)
	}
	n, err = db.Prune(ctx, now, 24*time.Hour, 0)
	if err != nil || n != 3 {
		t.Errorf("Prune = %d, %v; want the old event and two old feedback", n, err)
	}
	list, _, err := db.ListProjectFeedback(ctx, System, e.project.ID, "", 0)
	if err != nil || fmt.Sprint(feedbackIDs(list)) != "[recent]" {
		t.Errorf("after pruning: %v, %v; want only the recent feedback", feedbackIDs(list), err)
	}
}

// testUserReportFromEventUser: a legacy user report without a name or
// email takes them from the user of the event it is about, as Sentry's
// shim_to_feedback does; what the report has is kept, and a report about
// an event not stored (or of another project) is kept as sent.
func testUserReportFromEventUser(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	about, other := newEventID(), newEventID()
	e.save("fp-user", withID(about), func(s *SaveRequest) {
		s.Event.User = &event.User{ID: "7", Username: "ada.l", Email: "ada@example.com"}
	})
	otherProject := e.createProject("other")
	e.saveIn(otherProject.ID, "fp-other", withID(other), func(s *SaveRequest) {
		s.Event.User = &event.User{Username: "eve", Email: "eve@example.com"}
	})
	report := func(assoc, name, email string) FeedbackRequest {
		return FeedbackRequest{Event: &event.Event{EventID: newEventID(), ProjectID: e.project.ID, Timestamp: t0, Received: t0, Level: "info",
			Feedback: &event.Feedback{Message: "it broke", Name: name, Email: email, AssociatedEventID: assoc, Source: "user_report"}}}
	}
	reqs := []FeedbackRequest{
		report(about, "", ""),
		report(about, "Ada Lovelace", ""),
		report(newEventID(), "", ""),
		report(other, "", ""),
	}
	// Feedback of the new kind is what the user typed, never filled.
	api := report(about, "", "")
	api.Event.Feedback.Source = "api"
	reqs = append(reqs, api)
	e.saveFeedback(reqs...)
	list, _, err := db.ListProjectFeedback(ctx, System, e.project.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range list {
		got[f.EventID] = f.Name + " <" + f.Email + ">"
	}
	for i, want := range []string{"ada.l <ada@example.com>", "Ada Lovelace <ada@example.com>", " <>", " <>", " <>"} {
		if g := got[reqs[i].Event.EventID]; g != want {
			t.Errorf("report %d: %q, want %q", i, g, want)
		}
	}
}
