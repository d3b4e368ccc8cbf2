package store

import (
	"slices"
	"time"
)

// assignee is the ID of the user issue id is assigned to, 0 for nobody.
func (e *env) assignee(id int64) int64 {
	e.t.Helper()
	if a := e.issue(id).AssignedTo; a != nil {
		return a.ID
	}
	return 0
}

// assign assigns issue id to user, 0 for nobody, as v.
func (e *env) assign(v Viewer, id, user int64) (Issue, error) {
	i, _, err := e.db.UpdateIssue(e.ctx, v, id, IssueChange{Assign: true, AssigneeID: user})
	return i, err
}

// testAssignIssue: an issue is assigned to one member of its project (or
// by an admin, admin user) at a time, by whoever may see it, and unassigned when its
// assignee leaves the project, stops being an admin or is deleted.
func testAssignIssue(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	admin := e.createUser("admin@example.com", RoleAdmin)
	ann := e.createUser("Ann@Example.com", RoleMember)
	bob := e.createUser("bob@example.com", RoleMember)
	outsider := e.createUser("out@example.com", RoleMember)
	e.addMember(e.project, ann)
	e.addMember(e.project, bob)
	other := e.createProject("other")
	e.addMember(other, outsider)
	id := e.save("a").IssueID
	asAnn, asOutsider := Viewer{UserID: ann.ID}, Viewer{UserID: outsider.ID}

	i, err := e.assign(asAnn, id, bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if i.AssignedTo == nil || *i.AssignedTo != (Assignee{ID: bob.ID, Email: "bob@example.com"}) {
		t.Errorf("assigned to bob: AssignedTo = %+v", i.AssignedTo)
	}
	if got := e.issue(id).AssignedTo; got == nil || got.Email != "bob@example.com" {
		t.Errorf("GetIssue after assigning: AssignedTo = %+v", got)
	}
	if i, err = e.assign(asAnn, id, ann.ID); err != nil || i.AssignedTo.Email != "Ann@Example.com" {
		t.Errorf("reassign to ann: %+v, %v", i.AssignedTo, err)
	}
	// An admin may assign an admin user any project's issues; a member
	// may not, or trying IDs would list the admins' emails.
	_, err = e.assign(asAnn, id, admin.ID)
	wantErr(t, "a member assigns an admin user who is no member", err, ErrNotAssignable)
	if _, err := e.assign(Viewer{UserID: admin.ID, Admin: true}, id, admin.ID); err != nil || e.assignee(id) != admin.ID {
		t.Errorf("an admin assigns an admin: %v, assignee %d", err, e.assignee(id))
	}
	_, err = e.assign(asAnn, id, outsider.ID)
	wantErr(t, "assign to a member of another project", err, ErrNotAssignable)
	wantErr(t, "ErrNotAssignable is ErrInvalid", err, ErrInvalid)
	_, err = e.assign(asAnn, id, 999999)
	wantErr(t, "assign to nobody that exists", err, ErrNotAssignable)
	_, err = e.assign(asOutsider, id, outsider.ID)
	wantErr(t, "assign an issue one cannot see", err, ErrNotFound)
	if e.assignee(id) != admin.ID {
		t.Errorf("refused assignments changed the assignee to %d", e.assignee(id))
	}
	if i, err = e.assign(asAnn, id, 0); err != nil || i.AssignedTo != nil {
		t.Errorf("unassign: %+v, %v", i.AssignedTo, err)
	}

	// Bulk: only the project's issues, only those that change count.
	x, y := e.save("x").IssueID, e.save("y").IssueID
	elsewhere := e.saveIn(other.ID, "z").IssueID
	if _, err := e.assign(System, x, bob.ID); err != nil {
		t.Fatal(err)
	}
	n, err := db.BulkAssign(ctx, asAnn, e.project.ID, []int64{x, y, elsewhere}, bob.ID)
	if err != nil || n != 1 {
		t.Errorf("BulkAssign = %d, %v; want 1 (y; x was bob's, z is another project's)", n, err)
	}
	if e.assignee(y) != bob.ID || e.assignee(elsewhere) != 0 {
		t.Errorf("after BulkAssign: y's assignee %d, the other project's issue's %d", e.assignee(y), e.assignee(elsewhere))
	}
	_, err = db.BulkAssign(ctx, asAnn, e.project.ID, []int64{x}, outsider.ID)
	wantErr(t, "bulk assign to a non-member", err, ErrNotAssignable)
	_, err = db.BulkAssign(ctx, asOutsider, e.project.ID, []int64{x}, 0)
	wantErr(t, "bulk assign in a project one cannot see", err, ErrNotFound)
	if n, err := db.BulkAssign(ctx, asAnn, e.project.ID, []int64{x, y}, 0); err != nil || n != 2 {
		t.Errorf("bulk unassign = %d, %v; want 2", n, err)
	}

	// Leaving the project unassigns the member's issues of it only.
	e.addMember(other, bob)
	if _, err := e.assign(System, x, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.assign(System, elsewhere, bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveMember(ctx, System, e.project.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if e.assignee(x) != 0 || e.assignee(elsewhere) != bob.ID {
		t.Errorf("after removing bob from the project: x's assignee %d, want 0; the other project's %d, want bob's", e.assignee(x), e.assignee(elsewhere))
	}
	// An admin user stays assigned when leaving a project, until made a
	// member.
	e.addMember(other, admin)
	for _, issue := range []int64{x, y} {
		if _, err := e.assign(System, issue, admin.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.assign(System, elsewhere, admin.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.RemoveMember(ctx, System, other.ID, admin.ID); err != nil {
		t.Fatal(err)
	}
	if e.assignee(elsewhere) != admin.ID {
		t.Errorf("an admin removed from a project lost their assignment there")
	}
	e.addMember(other, admin)
	root := e.createUser("root@example.com", RoleAdmin)
	if _, err := db.SetUserRole(ctx, System, admin.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	if e.assignee(x) != 0 || e.assignee(y) != 0 || e.assignee(elsewhere) != admin.ID {
		t.Errorf("after demoting the admin (a member of the other project only): assignees %d, %d, %d; want 0, 0, %d",
			e.assignee(x), e.assignee(y), e.assignee(elsewhere), admin.ID)
	}
	// Deleting the assignee unassigns, and does not fail on the reference.
	if err := db.DeleteUser(ctx, Viewer{UserID: root.ID, Admin: true}, admin.ID); err != nil {
		t.Fatalf("deleting an assigned user: %v", err)
	}
	if e.assignee(elsewhere) != 0 {
		t.Errorf("the deleted user is still assigned")
	}
	// Status changes keep the assignee.
	if _, err := e.assign(System, id, ann.ID); err != nil {
		t.Fatal(err)
	}
	if i := e.setStatus(id, StatusResolved, ""); i.AssignedTo == nil || i.AssignedTo.ID != ann.ID {
		t.Errorf("resolving: AssignedTo = %+v, want ann", i.AssignedTo)
	}
}

// testListIssuesAssigned: assigned:, is:assigned, is:unassigned and
// !assigned: in the issue search.
func testListIssuesAssigned(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ann := e.createUser("Ann@Example.com", RoleMember)
	bob := e.createUser("bob@example.com", RoleMember)
	e.addMember(e.project, ann)
	e.addMember(e.project, bob)
	at := func(m int) eventOpt { return withAt(t0.Add(time.Duration(m) * time.Minute)) }
	annIssue := e.save("ann", at(3), withEnv("production")).IssueID
	bobIssue := e.save("bob", at(2)).IssueID
	nobody := e.save("nobody", at(1)).IssueID
	for issue, user := range map[int64]int64{annIssue: ann.ID, bobIssue: bob.ID} {
		if _, err := e.assign(System, issue, user); err != nil {
			t.Fatal(err)
		}
	}
	asAnn := Viewer{UserID: ann.ID}
	for _, tt := range []struct {
		name string
		f    IssueFilter
		want []int64
	}{
		{"assigned:me", IssueFilter{Assigned: [][]string{{AssigneeMe}}}, []int64{annIssue}},
		{"assigned:EMAIL, any case", IssueFilter{Assigned: [][]string{{"BOB@example.com"}}}, []int64{bobIssue}},
		{"assigned:none", IssueFilter{Assigned: [][]string{{AssigneeNone}}}, []int64{nobody}},
		{"is:assigned", IssueFilter{Assigned: [][]string{{AssigneeAny}}}, []int64{annIssue, bobIssue}},
		{"assigned:[me,none]", IssueFilter{Assigned: [][]string{{AssigneeMe, AssigneeNone}}}, []int64{annIssue, nobody}},
		{"assigned:me assigned:none", IssueFilter{Assigned: [][]string{{AssigneeMe}, {AssigneeNone}}}, nil},
		{"!assigned:me, unassigned included", IssueFilter{NotAssigned: []string{AssigneeMe}}, []int64{bobIssue, nobody}},
		{"!assigned:EMAIL", IssueFilter{NotAssigned: []string{"ann@example.com"}}, []int64{bobIssue, nobody}},
		{"!assigned:none", IssueFilter{NotAssigned: []string{AssigneeNone}}, []int64{annIssue, bobIssue}},
		{"assigned to nobody that exists", IssueFilter{Assigned: [][]string{{"ghost@example.com"}}}, nil},
		{"in an environment", IssueFilter{Environment: "production", Assigned: [][]string{{AssigneeMe}}}, []int64{annIssue}},
	} {
		tt.f.ProjectID = e.project.ID
		if got := e.listAll(asAnn, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
		if n, err := db.CountIssues(ctx, asAnn, tt.f, 100); err != nil || n != len(tt.want) {
			t.Errorf("%s: CountIssues = %d, %v; want %d", tt.name, n, err, len(tt.want))
		}
	}
}

// testUpdateIssue: UpdateIssue and BulkUpdate change the status and the
// assignee together or, when either is refused, neither; UpdateIssue tells
// whom the issue was assigned to before.
func testUpdateIssue(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ann := e.createUser("ann@example.com", RoleMember)
	bob := e.createUser("bob@example.com", RoleMember)
	outsider := e.createUser("out@example.com", RoleMember)
	e.addMember(e.project, ann)
	e.addMember(e.project, bob)
	id := e.save("a").IssueID
	e.createRelease("app@2")
	asAnn := Viewer{UserID: ann.ID}
	steps := []struct {
		name   string
		c      IssueChange
		err    error
		before int64
		// afterwards
		status, release string
		assignee        int64
	}{
		{"assign and resolve", IssueChange{Status: StatusResolved, ResolvedInRelease: "app@2", Assign: true, AssigneeID: ann.ID},
			nil, 0, StatusResolved, "app@2", ann.ID},
		{"unassign with a refused release", IssueChange{Status: StatusResolved, ResolvedInRelease: "Latest", Assign: true},
			ErrInvalid, 0, StatusResolved, "app@2", ann.ID},
		{"ignore with a refused assignee", IssueChange{Status: StatusIgnored, Assign: true, AssigneeID: outsider.ID},
			ErrNotAssignable, 0, StatusResolved, "app@2", ann.ID},
		{"a release without resolving", IssueChange{Status: StatusIgnored, ResolvedInRelease: "app@3", Assign: true, AssigneeID: bob.ID},
			ErrInvalid, 0, StatusResolved, "app@2", ann.ID},
		{"nothing", IssueChange{}, ErrInvalid, 0, StatusResolved, "app@2", ann.ID},
		{"the status alone keeps the assignee", IssueChange{Status: StatusIgnored}, nil, ann.ID, StatusIgnored, "", ann.ID},
		{"the assignee alone keeps the status", IssueChange{Assign: true, AssigneeID: bob.ID}, nil, ann.ID, StatusIgnored, "", bob.ID},
		{"the same assignee again", IssueChange{Assign: true, AssigneeID: bob.ID}, nil, bob.ID, StatusIgnored, "", bob.ID},
		{"unassign and reopen", IssueChange{Status: StatusUnresolved, Assign: true}, nil, bob.ID, StatusUnresolved, "", 0},
	}
	for _, s := range steps {
		i, before, err := db.UpdateIssue(ctx, asAnn, id, s.c)
		wantErr(t, s.name, err, s.err)
		if err == nil && (before != s.before || i.Status != s.status || e.assignee(id) != s.assignee) {
			t.Errorf("%s: before %d, status %s; want %d, %s", s.name, before, i.Status, s.before, s.status)
		}
		if got := e.issue(id); got.Status != s.status || got.ResolvedInRelease != s.release || e.assignee(id) != s.assignee {
			t.Errorf("after %s: status %s in %q, assignee %d; want %s in %q, %d", s.name, got.Status, got.ResolvedInRelease,
				e.assignee(id), s.status, s.release, s.assignee)
		}
	}
	_, _, err := db.UpdateIssue(ctx, Viewer{UserID: outsider.ID}, id, IssueChange{Status: StatusResolved, Assign: true})
	wantErr(t, "an issue one cannot see", err, ErrNotFound)

	// BulkUpdate: both or neither, each counted.
	x, y := e.save("x").IssueID, e.save("y").IssueID
	bulk := func(c BulkChange) (int64, int64, error) {
		return db.BulkUpdate(ctx, asAnn, e.project.ID, []int64{x, y}, c)
	}
	if st, as, err := bulk(BulkChange{Status: StatusIgnored, Assign: true, AssigneeID: ann.ID}); err != nil || st != 2 || as != 2 {
		t.Errorf("bulk ignore and assign = %d, %d, %v; want 2, 2", st, as, err)
	}
	_, _, err = bulk(BulkChange{Status: StatusResolved, Assign: true, AssigneeID: outsider.ID})
	wantErr(t, "bulk resolve with a refused assignee", err, ErrNotAssignable)
	_, _, err = bulk(BulkChange{})
	wantErr(t, "bulk nothing", err, ErrInvalid)
	for _, issue := range []int64{x, y} {
		if got := e.issue(issue); got.Status != StatusIgnored || e.assignee(issue) != ann.ID {
			t.Errorf("after refused bulk changes: status %s, assignee %d; want ignored, ann's", got.Status, e.assignee(issue))
		}
	}
	if st, as, err := bulk(BulkChange{Status: StatusResolved, Assign: true, AssigneeID: ann.ID}); err != nil || st != 2 || as != 0 {
		t.Errorf("bulk resolve, assigned as before = %d, %d, %v; want 2, 0", st, as, err)
	}
}
