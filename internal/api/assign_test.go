package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// assigneeOf is the email of the assignee in an issue's answer, "" for
// none.
func assigneeOf(t *testing.T, issue map[string]any) string {
	t.Helper()
	a, ok := issue["assignedTo"]
	if !ok {
		t.Fatalf("the issue has no assignedTo: %v", issue)
	}
	if a == nil {
		return ""
	}
	m := a.(map[string]any)
	if m["type"] != "user" || m["name"] != m["email"] || m["id"] == nil {
		t.Errorf("assignedTo = %v, want type user, id, email and name", m)
	}
	return m["email"].(string)
}

// TestAssign: PATCH assigns an issue to a member of its project (or, by
// an admin, an admin user), by ID, email or "me", for whoever may change its status;
// anyone else is a 400 that says why and changes nothing.
func TestAssign(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	steps := []struct {
		token, body string
		code        int
		assignee    string // afterwards
		status      string // afterwards
		msg         string // in the refusal
	}{
		{f.memberToken, `{"assignedTo":"me"}`, 200, "member@example.com", "unresolved", ""},
		{f.memberToken, `{"assignedTo":"Spare@Example.com"}`, 200, "spare@example.com", "unresolved", ""},
		{f.memberToken, fmt.Sprintf(`{"assignedTo":%d}`, f.lead.ID), 200, "lead@example.com", "unresolved", ""},
		{f.memberToken, fmt.Sprintf(`{"assignedTo":"user:%d"}`, f.member.ID), 200, "member@example.com", "unresolved", ""},
		// A member may not assign an admin user who is no member (by
		// ID, that would list the admins' emails); an admin may.
		{f.memberToken, fmt.Sprintf(`{"assignedTo":%d}`, f.admin.ID), 400, "member@example.com", "unresolved", "and admin users by an admin"},
		{f.memberToken, `{"assignedTo":"admin@example.com"}`, 400, "member@example.com", "unresolved", "and admin users by an admin"},
		{f.adminToken, `{"assignedTo":"admin@example.com","status":"resolved"}`, 200, "admin@example.com", "resolved", ""},
		// A refused status leaves the assignee as it was, and the reverse.
		{f.memberToken, `{"assignedTo":null,"status":"resolved","resolved_in_release":"Latest"}`, 400, "admin@example.com", "resolved",
			`"Latest" is a reserved word`},
		{f.memberToken, `{"assignedTo":"outsider@example.com","status":"ignored"}`, 400, "admin@example.com", "resolved",
			"cannot assign to outsider@example.com: only members of the issue's project can be assigned its issues, and admin users by an admin"},
		{f.memberToken, fmt.Sprintf(`{"assignedTo":%d}`, f.outsiderU.ID), 400, "admin@example.com", "resolved", "only members of the issue's project"},
		{f.memberToken, `{"assignedTo":"nobody@example.com"}`, 400, "admin@example.com", "resolved", "cannot assign to nobody@example.com: only members"},
		{f.memberToken, `{"assignedTo":"bob"}`, 400, "admin@example.com", "resolved", `assignedTo must be a user's ID, email or "me"`},
		{f.memberToken, `{"assignedTo":true}`, 400, "admin@example.com", "resolved", "assignedTo must be"},
		{f.memberToken, `{}`, 400, "admin@example.com", "resolved", `send a status ("resolved", "unresolved" or "ignored"), an assignedTo, or both`},
		{f.memberToken, `{"resolved_in_release":"app@2","assignedTo":"me"}`, 400, "admin@example.com", "resolved", "send a status"},
		{f.outsider, `{"assignedTo":"me"}`, 404, "admin@example.com", "resolved", ""},
		{f.memberReadToken, `{"assignedTo":"me"}`, 403, "admin@example.com", "resolved", "read-only"},
		{f.memberToken, `{"status":"unresolved"}`, 200, "admin@example.com", "unresolved", ""},
		{f.memberToken, `{"assignedTo":null}`, 200, "", "unresolved", ""},
		{f.memberToken, `{"assignedTo":"me"}`, 200, "member@example.com", "unresolved", ""},
		{f.memberToken, `{"assignedTo":""}`, 200, "", "unresolved", ""},
	}
	for _, s := range steps {
		code, _, out := f.do(t, s.token, "PATCH", path, s.body)
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != s.code || !strings.Contains(msg, s.msg) {
			t.Errorf("PATCH %s: HTTP %d %v, want %d with %q", s.body, code, out, s.code, s.msg)
		}
		if code == 200 && assigneeOf(t, out) != s.assignee {
			t.Errorf("PATCH %s: answered assignee %q, want %q", s.body, assigneeOf(t, out), s.assignee)
		}
		_, _, issue := f.do(t, f.adminToken, "GET", path, "")
		if got := assigneeOf(t, issue); got != s.assignee || issue["status"] != s.status {
			t.Errorf("after PATCH %s: assignee %q, status %v; want %q, %s", s.body, got, issue["status"], s.assignee, s.status)
		}
	}
	// A session assigns as a token does, with the CSRF proof.
	if code, _, _ := f.send(t, "PATCH", path, `{"assignedTo":"me"}`, session(f.memberSession, false)); code != 403 {
		t.Errorf("a session's PATCH without the CSRF proof: HTTP %d, want 403", code)
	}
	if code, _, out := f.send(t, "PATCH", path, `{"assignedTo":"me"}`, session(f.memberSession, true)); code != 200 || assigneeOf(t, out) != "member@example.com" {
		t.Errorf("a session's PATCH: HTTP %d %v", code, out)
	}

	// The list shows the assignee and searches by it.
	list := func(token, query string) []string {
		t.Helper()
		code, _, out := f.do(t, token, "GET", fmt.Sprintf("/api/v1/projects/%d/issues?query=%s", f.project.ID, url.QueryEscape(query)), "")
		if code != 200 {
			t.Fatalf("list %q: HTTP %d %v", query, code, out)
		}
		var got []string
		for _, d := range out["data"].([]any) {
			issue := d.(map[string]any)
			got = append(got, fmt.Sprintf("%v:%s", issue["id"], assigneeOf(t, issue)))
		}
		return got
	}
	a, b := fmt.Sprint(f.issueA), fmt.Sprint(f.issueB)
	for _, tt := range []struct {
		token, query string
		want         []string
	}{
		{f.memberToken, "assigned:me", []string{a + ":member@example.com"}},
		{f.adminToken, "assigned:me", nil},
		{f.adminToken, "assigned:MEMBER@example.com", []string{a + ":member@example.com"}},
		{f.memberToken, "is:unassigned", []string{b + ":"}},
		{f.memberToken, "assigned:none", []string{b + ":"}},
		{f.memberToken, "is:assigned", []string{a + ":member@example.com"}},
		{f.memberToken, "!assigned:me", []string{b + ":"}},
	} {
		if got := list(tt.token, tt.query); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("search %q: %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestBulkAssign: the bulk endpoint assigns the project's issues among
// those listed, alone or with a status.
func TestBulkAssign(t *testing.T) {
	f := newFixture(t)
	bulk := fmt.Sprintf("/api/v1/projects/%d/issues/bulk", f.project.ID)
	steps := []struct {
		body              string
		code              int
		updated, assigned float64
		msg               string
	}{
		{fmt.Sprintf(`{"ids":[%d,%d,%d],"assignedTo":"me"}`, f.issueA, f.issueB, f.otherIssue), 200, 2, 2, ""},
		{fmt.Sprintf(`{"ids":[%d,%d],"assignedTo":"me"}`, f.issueA, f.issueB), 200, 0, 0, ""},
		{fmt.Sprintf(`{"ids":[%d],"assignedTo":"outsider@example.com"}`, f.issueA), 400, 0, 0, "cannot assign to outsider@example.com"},
		{fmt.Sprintf(`{"ids":[%d],"assignedTo":"someone"}`, f.issueA), 400, 0, 0, "assignedTo must be"},
		{fmt.Sprintf(`{"ids":[%d]}`, f.issueA), 400, 0, 0, "send a status"},
		{fmt.Sprintf(`{"ids":[%d,%d],"assignedTo":null,"status":"ignored"}`, f.issueA, f.issueB), 200, 2, 2, ""},
	}
	for _, s := range steps {
		code, _, out := f.do(t, f.memberToken, "POST", bulk, s.body)
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != s.code || !strings.Contains(msg, s.msg) || (code == 200 && (out["updated"] != s.updated || out["assigned"] != s.assigned)) {
			t.Errorf("POST %s: HTTP %d %v, want %d, updated %v, assigned %v, message %q", s.body, code, out, s.code, s.updated, s.assigned, s.msg)
		}
	}
	if _, _, out := f.do(t, f.adminToken, "GET", fmt.Sprintf("/api/v1/issues/%d", f.otherIssue), ""); assigneeOf(t, out) != "" {
		t.Errorf("another project's issue was assigned: %v", out["assignedTo"])
	}
	if _, _, out := f.do(t, f.memberToken, "POST", bulk, fmt.Sprintf(`{"ids":[%d],"status":"resolved"}`, f.issueA)); out["assigned"] != nil {
		t.Errorf("a status change alone answered assigned: %v", out)
	}
}

// TestBulkAtomic: a bulk change of statuses and assignees that fails
// changes neither.
func TestBulkAtomic(t *testing.T) {
	f := newFixture(t)
	if _, err := f.db.SQL().Exec(`CREATE TRIGGER no_status BEFORE UPDATE OF status ON issues BEGIN SELECT RAISE(ABORT, 'status unwritable'); END`); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"ids":[%d],"assignedTo":"me","status":"resolved"}`, f.issueA)
	if code, _, out := f.do(t, f.memberToken, "POST", fmt.Sprintf("/api/v1/projects/%d/issues/bulk", f.project.ID), body); code < 500 {
		t.Errorf("POST %s with statuses unwritable: HTTP %d %v, want a failure", body, code, out)
	}
	if _, _, out := f.do(t, f.adminToken, "GET", fmt.Sprintf("/api/v1/issues/%d", f.issueA), ""); assigneeOf(t, out) != "" {
		t.Errorf("a failed bulk change assigned the issue to %q", assigneeOf(t, out))
	}
}

// TestUnassignOnRemoval: removing a member from the project, or deleting
// the user, unassigns their issues.
func TestUnassignOnRemoval(t *testing.T) {
	f := newFixture(t)
	issue := func(id int64) string { return fmt.Sprintf("/api/v1/issues/%d", id) }
	for id, who := range map[int64]string{f.issueA: "spare@example.com", f.issueB: "lead@example.com"} {
		if code, _, out := f.do(t, f.memberToken, "PATCH", issue(id), `{"assignedTo":"`+who+`"}`); code != 200 {
			t.Fatalf("assign to %s: HTTP %d %v", who, code, out)
		}
	}
	if code, _, out := f.do(t, f.adminToken, "DELETE", fmt.Sprintf("/api/v1/projects/%d/members/%d", f.project.ID, f.spare.ID), ""); code != 204 {
		t.Fatalf("remove spare: HTTP %d %v", code, out)
	}
	if _, _, out := f.do(t, f.adminToken, "GET", issue(f.issueA), ""); assigneeOf(t, out) != "" {
		t.Errorf("after removing spare from the project: assignee %q", assigneeOf(t, out))
	}
	if code, _, out := f.do(t, f.adminToken, "DELETE", fmt.Sprintf("/api/v1/users/%d", f.lead.ID), ""); code != 204 {
		t.Fatalf("delete lead: HTTP %d %v", code, out)
	}
	if _, _, out := f.do(t, f.adminToken, "GET", issue(f.issueB), ""); assigneeOf(t, out) != "" {
		t.Errorf("after deleting lead: assignee %q", assigneeOf(t, out))
	}
}

// assignMailer records the assignment emails it is asked to send.
type assignMailer struct {
	fakeMailer
	sent []string
}

func (m *assignMailer) MailAssignment(_ context.Context, to, by, title, url string) error {
	m.sent = append(m.sent, to+" by "+by+": "+title+" "+url)
	return nil
}

// TestAssignEmail: with a server that sends email, the assignee hears of
// an issue someone else assigned them, once, and nobody of one they took
// themselves, of an unassignment or of a refused change.
func TestAssignEmail(t *testing.T) {
	f := newFixture(t)
	mail := &assignMailer{}
	f.srv = httptest.NewServer(New(f.db, nil, nil).WithMailer(mail).WithPublicURL("https://flytrap.example"))
	t.Cleanup(f.srv.Close)
	path := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	for _, body := range []string{`{"assignedTo":"spare@example.com"}`, `{"assignedTo":"spare@example.com","status":"ignored"}`,
		`{"assignedTo":"me"}`, `{"assignedTo":null}`, `{"assignedTo":"outsider@example.com"}`,
		`{"assignedTo":"lead@example.com","status":"resolved","resolved_in_release":"Latest"}`} {
		f.do(t, f.memberToken, "PATCH", path, body)
	}
	want := fmt.Sprintf("spare@example.com by member@example.com: TypeError: x is undefined https://flytrap.example/issues/%d", f.issueA)
	if len(mail.sent) != 1 || mail.sent[0] != want {
		t.Errorf("emails %q, want one: %q", mail.sent, want)
	}
}

// TestAssignEmailIgnoresHost: the assignment email's link is on the
// server's public URL, never on the Host the assigning request names
// (which any member chooses, and would put their host into an email the
// server sends someone else); without a public URL no email is sent.
func TestAssignEmailIgnoresHost(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	for _, tc := range []struct{ publicURL, want string }{
		{"https://flytrap.example", fmt.Sprintf("spare@example.com by member@example.com: TypeError: x is undefined https://flytrap.example/issues/%d", f.issueA)},
		{"", ""},
	} {
		mail := &assignMailer{}
		api := New(f.db, nil, nil).WithMailer(mail).WithPublicURL(tc.publicURL)
		for _, who := range []string{"null", `"spare@example.com"`} {
			r := httptest.NewRequest("PATCH", "http://attacker.example"+path, strings.NewReader(`{"assignedTo":`+who+`}`))
			r.Header.Set("Authorization", "Bearer "+f.memberToken)
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			if w.Code != 200 {
				t.Fatalf("assign %s: HTTP %d %s", who, w.Code, w.Body)
			}
		}
		if got := strings.Join(mail.sent, "\n"); got != tc.want {
			t.Errorf("public URL %q: emails %q, want %q", tc.publicURL, got, tc.want)
		}
	}
}
