package store

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// activity pages through an issue's activity as v, limit entries a page,
// and returns it newest first.
func (e *env) activity(v Viewer, id int64, limit int) []Activity {
	e.t.Helper()
	var all []Activity
	cursor := ""
	for page := 0; ; page++ {
		as, next, err := e.db.ListActivity(e.ctx, v, id, cursor, limit)
		if err != nil {
			e.t.Fatalf("ListActivity(%d) page %d: %v", id, page, err)
		}
		if len(as) > pageSize(limit) || page > 1000 {
			e.t.Fatalf("ListActivity(%d) page %d has %d entries, limit %d", id, page, len(as), limit)
		}
		all = append(all, as...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

// describe is an entry as a line, for comparing timelines.
func describe(a Activity) string {
	s := a.Kind
	if a.Actor != nil {
		s = a.Actor.Email + " " + s
	}
	if a.Release != "" {
		s += " in " + a.Release
	}
	if a.Assignee != nil {
		s += " to " + a.Assignee.Email
	}
	if a.Merged != nil {
		s += fmt.Sprint(" ", a.Merged)
	}
	if a.Text != "" {
		s += ": " + a.Text
	}
	return s
}

func describeAll(as []Activity) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = describe(a)
	}
	return out
}

// testIssueActivity: changes of status and assignee, regressions, merges
// and comments are an issue's activity, newest first and ending with its
// first seen; ordinary events and changes to the same state write none.
func testIssueActivity(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ann := e.createUser("ann@example.com", RoleMember)
	bob := e.createUser("bob@example.com", RoleMember)
	admin := e.createUser("admin@example.com", RoleAdmin)
	e.addMember(e.project, ann)
	e.addMember(e.project, bob)
	asAnn, asBob := Viewer{UserID: ann.ID}, Viewer{UserID: bob.ID}
	id := e.save("a", withRelease("1.0")).IssueID
	e.save("a", withRelease("1.0"))
	e.createRelease("2.0")
	if n := e.count(`SELECT COUNT(*) FROM issue_activity`); n != 0 {
		t.Errorf("ordinary events wrote %d activity rows, want 0", n)
	}

	steps := []func() error{
		func() error {
			_, _, err := db.UpdateIssue(ctx, asAnn, id, IssueChange{Status: StatusResolved})
			return err
		},
		// The same status again is no news.
		func() error {
			_, _, err := db.UpdateIssue(ctx, asAnn, id, IssueChange{Status: StatusResolved})
			return err
		},
		func() error {
			_, _, err := db.UpdateIssue(ctx, asBob, id, IssueChange{Status: StatusResolved, ResolvedInRelease: "2.0"})
			return err
		},
		// An event of an older release leaves it resolved.
		func() error { e.save("a", withRelease("1.0")); return nil },
		func() error { e.save("a", withRelease("2.0")); return nil },
		// Unresolved now: no second regression.
		func() error { e.save("a", withRelease("2.0")); return nil },
		func() error {
			_, _, err := db.UpdateIssue(ctx, asAnn, id, IssueChange{Status: StatusIgnored, Assign: true, AssigneeID: bob.ID})
			return err
		},
		func() error { _, err := e.assign(asAnn, id, bob.ID); return err },
		func() error { _, err := e.assign(System, id, 0); return err },
		func() error { _, err := db.AddComment(ctx, asBob, id, "<b>looking</b>\n& on it"); return err },
	}
	for n, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
	}
	want := []string{
		"bob@example.com comment: <b>looking</b>\n& on it",
		"unassigned",
		"ann@example.com assigned to bob@example.com",
		"ann@example.com ignored",
		"regression in 2.0",
		"bob@example.com resolved in 2.0",
		"ann@example.com resolved",
		"first_seen",
	}
	for _, limit := range []int{0, 1, 3, 7, 8} {
		if got := describeAll(e.activity(asAnn, id, limit)); !slices.Equal(got, want) {
			t.Errorf("activity, %d a page:\n%s\nwant\n%s", limit, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	all := e.activity(asAnn, id, 0)
	if last := all[len(all)-1]; !last.Created.Equal(e.issue(id).FirstSeen) || last.ID != 0 {
		t.Errorf("first seen entry %+v, want the issue's first seen %v", last, e.issue(id).FirstSeen)
	}

	// Bulk changes record each issue that changed.
	x, y := e.save("x").IssueID, e.save("y").IssueID
	if _, _, err := db.BulkUpdate(ctx, asBob, e.project.ID, []int64{x, y}, BulkChange{Status: StatusResolved, Assign: true, AssigneeID: ann.ID}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.BulkUpdate(ctx, asBob, e.project.ID, []int64{x, y}, BulkChange{Status: StatusResolved, Assign: true, AssigneeID: ann.ID}); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int64{x, y} {
		got := describeAll(e.activity(asAnn, i, 0))
		want := []string{"bob@example.com resolved", "bob@example.com assigned to ann@example.com", "first_seen"}
		if !slices.Equal(got, want) {
			t.Errorf("activity of bulk-changed issue %d: %q, want %q", i, got, want)
		}
	}

	// A merge moves the merged issues' activity to the kept one.
	if _, err := db.MergeIssues(ctx, asAnn, e.project.ID, []int64{id, x}, id); err != nil {
		t.Fatal(err)
	}
	got := describeAll(e.activity(asAnn, id, 0))
	if got[0] != fmt.Sprintf("ann@example.com merge [%d]", x) || len(got) != len(want)+3 ||
		!slices.Contains(got, "bob@example.com assigned to ann@example.com") || got[len(got)-1] != "first_seen" {
		t.Errorf("activity after merging %d into %d:\n%s", x, id, strings.Join(got, "\n"))
	}
	if n := e.count(`SELECT COUNT(*) FROM issue_activity WHERE issue_id = $1`, x); n != 0 {
		t.Errorf("merged issue keeps %d activity rows", n)
	}

	// Deleting an issue deletes its activity.
	if err := db.DeleteIssue(ctx, System, y); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM issue_activity WHERE issue_id = $1`, y); n != 0 {
		t.Errorf("deleted issue left %d activity rows", n)
	}
	_, _, err := db.ListActivity(ctx, asAnn, y, "", 0)
	wantErr(t, "activity of a deleted issue", err, ErrNotFound)
	_, _, err = db.ListActivity(ctx, asAnn, id, "bm90IGEgY3Vyc29y", 0)
	wantErr(t, "a bad cursor", err, ErrInvalid)

	// A deleted user's comment stays, without their email; a refused
	// change writes nothing.
	if _, err := db.AddComment(ctx, Viewer{UserID: admin.ID, Admin: true}, id, "from admin"); err != nil {
		t.Fatal(err)
	}
	before := e.count(`SELECT COUNT(*) FROM issue_activity`)
	if _, _, err := db.UpdateIssue(ctx, asAnn, id, IssueChange{Status: StatusIgnored, Assign: true, AssigneeID: 999999}); err == nil {
		t.Error("assigning to nobody that exists was accepted")
	}
	if after := e.count(`SELECT COUNT(*) FROM issue_activity`); after != before {
		t.Errorf("a refused change wrote %d activity rows", after-before)
	}
	second := e.createUser("admin2@example.com", RoleAdmin)
	if err := db.DeleteUser(ctx, Viewer{UserID: second.ID, Admin: true}, admin.ID); err != nil {
		t.Fatal(err)
	}
	if a := e.activity(asAnn, id, 0)[0]; a.Kind != ActivityComment || a.Actor == nil || a.Actor.ID != admin.ID || a.Actor.Email != "" {
		t.Errorf("a deleted user's comment: %+v, want their ID without an email", a)
	}

	// Unassigning by taking the assignee out of the project, demoting an
	// admin assignee or deleting the assignee is recorded too, by whoever
	// did it.
	asSecond := Viewer{UserID: second.ID, Admin: true}
	third := e.createUser("admin3@example.com", RoleAdmin)
	for _, tt := range []struct {
		name     string
		assignee int64
		unassign func() error
	}{
		{"removed from the project", bob.ID, func() error { return db.RemoveMember(ctx, asSecond, e.project.ID, bob.ID) }},
		{"made a member", third.ID, func() error { _, err := db.SetUserRole(ctx, asSecond, third.ID, RoleMember); return err }},
		{"deleted", ann.ID, func() error { return db.DeleteUser(ctx, asSecond, ann.ID) }},
	} {
		if _, err := e.assign(System, id, tt.assignee); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if err := tt.unassign(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := describe(e.activity(System, id, 0)[0]); got != "admin2@example.com unassigned" || e.assignee(id) != 0 {
			t.Errorf("assignee %s: newest activity %q, assignee %d; want admin2@example.com unassigned", tt.name, got, e.assignee(id))
		}
	}
}

// testComments: any member who sees an issue comments on it, its author
// edits a comment, its author or an admin of the project deletes it; the
// text is kept as written within bounds.
func testComments(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ann := e.createUser("ann@example.com", RoleMember)
	bob := e.createUser("bob@example.com", RoleMember)
	lead := e.createUser("lead@example.com", RoleMember)
	outsider := e.createUser("out@example.com", RoleMember)
	e.addMember(e.project, ann)
	e.addMember(e.project, bob)
	if err := db.AddMember(ctx, e.project.ID, lead.ID, RoleAdmin); err != nil {
		t.Fatal(err)
	}
	e.addMember(e.createProject("other"), outsider)
	asAnn, asBob, asLead, asOutsider := Viewer{UserID: ann.ID}, Viewer{UserID: bob.ID}, Viewer{UserID: lead.ID}, Viewer{UserID: outsider.ID}
	id := e.save("a").IssueID

	hostile := "<script>alert(1)</script>\r\n\n**not bold** 🐛"
	c, err := db.AddComment(ctx, asAnn, id, hostile)
	if err != nil {
		t.Fatal(err)
	}
	if c.Text != hostile || c.Kind != ActivityComment || c.Actor == nil || c.Actor.Email != "ann@example.com" || c.Edited != nil || c.IssueID != id {
		t.Errorf("AddComment = %+v", c)
	}
	refused := []struct {
		name string
		v    Viewer
		text string
		want error
	}{
		{"empty", asAnn, "", ErrInvalid},
		{"only spaces", asAnn, " \n\t", ErrInvalid},
		{"NUL", asAnn, "a\x00b", ErrInvalid},
		{"invalid UTF-8", asAnn, "a\xffb", ErrInvalid},
		{"too long", asAnn, strings.Repeat("é", MaxCommentLength+1), ErrInvalid},
		{"another project's member", asOutsider, "hi", ErrNotFound},
	}
	for _, tt := range refused {
		_, err := db.AddComment(ctx, tt.v, id, tt.text)
		wantErr(t, "AddComment: "+tt.name, err, tt.want)
		_, err = db.EditComment(ctx, tt.v, id, c.ID, tt.text)
		wantErr(t, "EditComment: "+tt.name, err, tt.want)
	}
	if _, err := db.AddComment(ctx, asAnn, id, strings.Repeat("é", MaxCommentLength)); err != nil {
		t.Errorf("a comment of the most characters: %v", err)
	}
	_, err = db.AddComment(ctx, asAnn, 999999, "hi")
	wantErr(t, "comment on no issue", err, ErrNotFound)

	_, err = db.EditComment(ctx, asBob, id, c.ID, "mine now")
	wantErr(t, "another member edits", err, ErrForbidden)
	_, err = db.EditComment(ctx, asLead, id, c.ID, "mine now")
	wantErr(t, "the project's admin edits", err, ErrForbidden)
	_, err = db.EditComment(ctx, System, id, c.ID, "mine now")
	wantErr(t, "an admin user edits", err, ErrForbidden)
	edited, err := db.EditComment(ctx, asAnn, id, c.ID, "fixed\nit")
	if err != nil || edited.Text != "fixed\nit" || edited.Edited == nil || !edited.Created.Equal(c.Created) || edited.ID != c.ID {
		t.Errorf("author edits: %+v, %v", edited, err)
	}
	other := e.save("b").IssueID
	_, err = db.EditComment(ctx, asAnn, other, c.ID, "x")
	wantErr(t, "edit through another issue", err, ErrNotFound)
	wantErr(t, "delete through another issue", db.DeleteComment(ctx, asAnn, other, c.ID), ErrNotFound)

	// Only comments are edited or deleted, not the record of a change.
	if _, _, err := db.UpdateIssue(ctx, asAnn, id, IssueChange{Status: StatusResolved}); err != nil {
		t.Fatal(err)
	}
	resolved := e.activity(asAnn, id, 0)[0]
	_, err = db.EditComment(ctx, asAnn, id, resolved.ID, "x")
	wantErr(t, "edit a status change", err, ErrNotFound)
	wantErr(t, "delete a status change", db.DeleteComment(ctx, System, id, resolved.ID), ErrNotFound)

	wantErr(t, "another member deletes", db.DeleteComment(ctx, asBob, id, c.ID), ErrForbidden)
	wantErr(t, "another project's member deletes", db.DeleteComment(ctx, asOutsider, id, c.ID), ErrNotFound)
	if err := db.DeleteComment(ctx, asLead, id, c.ID); err != nil {
		t.Errorf("the project's admin deletes: %v", err)
	}
	wantErr(t, "delete again", db.DeleteComment(ctx, asAnn, id, c.ID), ErrNotFound)
	b, err := db.AddComment(ctx, asBob, id, "bob's")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteComment(ctx, asBob, id, b.ID); err != nil {
		t.Errorf("the author deletes: %v", err)
	}
	a, err := db.AddComment(ctx, asBob, id, "again")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteComment(ctx, System, id, a.ID); err != nil {
		t.Errorf("an admin user deletes: %v", err)
	}
	_, _, err = db.ListActivity(ctx, asOutsider, id, "", 0)
	wantErr(t, "another project's member lists", err, ErrNotFound)
}

// TestCommentLimit: the limit counts characters, not bytes.
func TestCommentLimit(t *testing.T) {
	for _, tt := range []struct {
		text string
		ok   bool
	}{
		{strings.Repeat("🐛", MaxCommentLength), true},
		{strings.Repeat("a", MaxCommentLength+1), false},
		{"ok", true},
	} {
		if err := commentText(tt.text); (err == nil) != tt.ok {
			t.Errorf("commentText(%d runes) = %v, want ok %v", len([]rune(tt.text)), err, tt.ok)
		}
	}
}

// testCommentCap: an issue takes MaxCommentsPerIssue comments and refuses
// the next with ErrInvalid and why, whatever other activity it has, until
// one is deleted.
func testCommentCap(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ann := e.createUser("ann@example.com", RoleMember)
	e.addMember(e.project, ann)
	asAnn := Viewer{UserID: ann.ID}
	id := e.save("a").IssueID
	e.setStatus(id, StatusIgnored, "")
	// All but one written at once: a thousand requests would be slow.
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		for range MaxCommentsPerIssue - 1 {
			if _, err := addActivity(ctx, tx, id, ActivityComment, ann.ID, activityData{Text: "+1"}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	last, err := db.AddComment(ctx, asAnn, id, "the last one")
	if err != nil {
		t.Fatalf("comment %d: %v", MaxCommentsPerIssue, err)
	}
	_, err = db.AddComment(ctx, asAnn, id, "one too many")
	wantErr(t, "a comment over the cap", err, ErrInvalid)
	if want := fmt.Sprintf("at most %d comments", MaxCommentsPerIssue); err != nil && !strings.Contains(Reason(err), want) {
		t.Errorf("reason %q, want it to say %q", Reason(err), want)
	}
	if err := db.DeleteComment(ctx, asAnn, id, last.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AddComment(ctx, asAnn, id, "in the space freed"); err != nil {
		t.Errorf("a comment after one was deleted: %v", err)
	}
	if _, err := db.AddComment(ctx, asAnn, e.save("b").IssueID, "another issue"); err != nil {
		t.Errorf("a comment on another issue: %v", err)
	}
}
