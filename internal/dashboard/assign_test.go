package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// assigneeEmail is the email of the user issue id is assigned to, "" for
// nobody.
func (f *fixture) assigneeEmail(id int64) string {
	f.t.Helper()
	is, err := f.db.GetIssue(f.ctx, store.System, id)
	f.must(err)
	if is.AssignedTo == nil {
		return ""
	}
	return is.AssignedTo.Email
}

// TestAssignIssue: the issue page's Assign form assigns to a member of
// the project, the viewer or nobody, behind the CSRF check, and refuses
// anyone else; the page shows who has the issue.
func TestAssignIssue(t *testing.T) {
	f := newFixture(t)
	path := issuePath(f.issue) + "/assign"
	page := f.get(roleMember, issuePath(f.issue))
	wantBody(t, page, `action="/issues/`+strconv.FormatInt(f.issue, 10)+`/assign"`, `<option value="" selected>Nobody</option>`,
		`<option value="me">Me</option>`, fmt.Sprintf(`<option value="%d">lead@example.com</option>`, f.lead.ID), "Unassigned")
	noBody(t, page, "outsider@example.com")

	steps := []struct {
		role, assignee string
		flash, want    string
	}{
		{roleMember, "me", "ok: Issue assigned to member@example.com.", "member@example.com"},
		{roleMember, strconv.FormatInt(f.lead.ID, 10), "ok: Issue assigned to lead@example.com.", "lead@example.com"},
		{roleAdmin, strconv.FormatInt(f.admin.ID, 10), "ok: Issue assigned to admin@example.com.", "admin@example.com"},
		{roleMember, strconv.FormatInt(f.outsider.ID, 10), "error: " + notAssignable, "admin@example.com"},
		{roleMember, strconv.FormatInt(f.admin.ID, 10), "error: " + notAssignable, "admin@example.com"},
		{roleMember, "someone", "error: Choose whom to assign the issue to.", "admin@example.com"},
		{roleMember, "", "ok: Issue unassigned.", ""},
	}
	for _, s := range steps {
		r := f.post(s.role, path, url.Values{"assignee": {s.assignee}, "event": {f.event1}})
		wantRedirect(t, r, issuePath(f.issue)+"?event="+f.event1)
		if got := flashOf(t, r); got != s.flash {
			t.Errorf("assign %q: flash %q, want %q", s.assignee, got, s.flash)
		}
		if got := f.assigneeEmail(f.issue); got != s.want {
			t.Errorf("assign %q: assignee %q, want %q", s.assignee, got, s.want)
		}
	}
	// A member may not assign an admin user who is not a member: the
	// flash would show the admin's email.
	r := f.post(roleMember, path, url.Values{"assignee": {strconv.FormatInt(f.admin.ID, 10)}})
	if got := flashOf(t, r); !strings.Contains(got, "and admin users by an admin") || strings.Contains(got, "admin@example.com") {
		t.Errorf("a member assigning an admin user: flash %q", got)
	}
	// An admin may; the admin user shows, selected, as the assignee.
	f.post(roleAdmin, path, url.Values{"assignee": {strconv.FormatInt(f.admin.ID, 10)}})
	wantBody(t, f.get(roleMember, issuePath(f.issue)), "Assigned to <strong>admin@example.com</strong>",
		fmt.Sprintf(`<option value="%d" selected>admin@example.com</option>`, f.admin.ID))
	// The viewer's own assignment is Me.
	f.post(roleLead, path, url.Values{"assignee": {"me"}})
	wantBody(t, f.get(roleLead, issuePath(f.issue)), `<option value="me" selected>Me</option>`)

	// Without the CSRF token, or for a user who cannot see the issue,
	// nothing changes.
	r = f.do(request{method: http.MethodPost, role: roleMember, path: path, form: url.Values{"assignee": {""}}, noCSRF: true})
	wantStatus(t, r, http.StatusForbidden)
	r = f.post(roleOutsider, path, url.Values{"assignee": {"me"}})
	wantStatus(t, r, http.StatusNotFound)
	if got := f.assigneeEmail(f.issue); got != "lead@example.com" {
		t.Errorf("refused requests changed the assignee to %q", got)
	}
}

// TestBulkAssign: the issue list's bulk Assign, and its assignee column,
// which escapes what it shows.
func TestBulkAssign(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/projects/%d/issues/bulk", f.web.ID)
	ids := []string{strconv.FormatInt(f.issue, 10), strconv.FormatInt(f.issue2, 10), strconv.FormatInt(f.otherIssue, 10)}
	r := f.post(roleMember, path, url.Values{"ids": ids, "action": {"assign"}, "assignee": {"me"}, "back": {"status=unresolved"}})
	wantRedirect(t, r, fmt.Sprintf("/projects/%d/issues?status=unresolved", f.web.ID))
	if got := flashOf(t, r); got != "ok: 2 issues assigned." {
		t.Errorf("flash %q", got)
	}
	if f.assigneeEmail(f.issue) != "member@example.com" || f.assigneeEmail(f.issue2) != "member@example.com" || f.assigneeEmail(f.otherIssue) != "" {
		t.Errorf("assignees after bulk assign: %q, %q, another project's %q", f.assigneeEmail(f.issue), f.assigneeEmail(f.issue2), f.assigneeEmail(f.otherIssue))
	}
	list := f.get(roleMember, fmt.Sprintf("/projects/%d/issues", f.web.ID))
	wantBody(t, list, `<th>Assignee</th>`, `<span class="assignee-name" title="member@example.com">member@example.com</span>`,
		`<button type="submit" name="action" value="assign">Assign</button>`, fmt.Sprintf(`<option value="%d">lead@example.com</option>`, f.lead.ID))
	wantBody(t, f.get(roleMember, fmt.Sprintf("/projects/%d/issues?query=%s", f.web.ID, url.QueryEscape("assigned:me"))), "member@example.com")

	r = f.post(roleMember, path, url.Values{"ids": ids[:1], "action": {"assign"}, "assignee": {strconv.FormatInt(f.outsider.ID, 10)}})
	if got := flashOf(t, r); got != "error: "+notAssignable {
		t.Errorf("bulk assign to an outsider: flash %q", got)
	}
	r = f.post(roleMember, path, url.Values{"ids": ids[:2], "action": {"assign"}, "assignee": {""}})
	if got := flashOf(t, r); got != "ok: 2 issues unassigned." {
		t.Errorf("bulk unassign: flash %q", got)
	}
	// An email is shown escaped.
	evil := f.createUser(`x"><script>alert(1)</script>@example.com`, store.RoleMember)
	f.must(f.db.AddMember(f.ctx, f.web.ID, evil.ID, store.RoleMember))
	if _, _, err := f.db.UpdateIssue(f.ctx, store.System, f.issue, store.IssueChange{Assign: true, AssigneeID: evil.ID}); err != nil {
		t.Fatal(err)
	}
	list = f.get(roleMember, fmt.Sprintf("/projects/%d/issues", f.web.ID))
	page := f.get(roleMember, issuePath(f.issue))
	for _, body := range []string{list.Body, page.Body} {
		if strings.Contains(body, "<script>alert(1)") {
			t.Error("the assignee's email is not escaped")
		}
	}
}

// recordingMailer records the assignment emails it is asked to send.
type recordingMailer struct{ sent []string }

func (m *recordingMailer) MailPasswordLink(context.Context, string, string, string, time.Time) error {
	return nil
}

func (m *recordingMailer) MailAssignment(_ context.Context, to, by, title, url string) error {
	m.sent = append(m.sent, to+" by "+by+" "+url)
	return nil
}

// TestAssignEmail: the Assign form emails the assignee when someone else
// assigned them, through the server's mailer, and not again when the
// issue is assigned to them once more.
func TestAssignEmail(t *testing.T) {
	mail := &recordingMailer{}
	f := newFixture(t, func(c *Config) { c.Mailer = mail })
	path := issuePath(f.issue) + "/assign"
	f.post(roleMember, path, url.Values{"assignee": {strconv.FormatInt(f.lead.ID, 10)}})
	f.post(roleMember, path, url.Values{"assignee": {strconv.FormatInt(f.lead.ID, 10)}})
	f.post(roleMember, path, url.Values{"assignee": {"me"}})
	f.post(roleMember, path, url.Values{"assignee": {""}})
	want := fmt.Sprintf("lead@example.com by member@example.com http://flytrap.test/issues/%d", f.issue)
	if len(mail.sent) != 1 || mail.sent[0] != want {
		t.Errorf("emails %q, want one: %q", mail.sent, want)
	}
}
