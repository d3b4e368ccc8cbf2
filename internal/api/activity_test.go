package api

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
)

// timeline is an issue's activity as the API answers it, one line per
// entry, newest first.
func timeline(t *testing.T, f *fixture, token string, issue int64, query string) ([]string, string) {
	t.Helper()
	code, _, out := f.do(t, token, "GET", fmt.Sprintf("/api/v1/issues/%d/activity%s", issue, query), "")
	if code != 200 {
		t.Fatalf("GET activity: HTTP %d %v", code, out)
	}
	var lines []string
	for _, d := range out["data"].([]any) {
		a := d.(map[string]any)
		line := a["kind"].(string)
		if actor, ok := a["actor"].(map[string]any); ok {
			line = actor["email"].(string) + " " + line
		}
		if text, ok := a["text"].(string); ok {
			line += ": " + text
		}
		lines = append(lines, line)
	}
	next, _ := out["next_cursor"].(string)
	return lines, next
}

// TestComments: members comment on an issue they may see; its activity
// lists the comments with its changes, newest first, a page at a time;
// only the author edits a comment, the author or a project admin deletes
// it; bad text is a 400 that says why.
func TestComments(t *testing.T) {
	f := newFixture(t)
	comments := fmt.Sprintf("/api/v1/issues/%d/comments", f.issueA)
	if code, _, out := f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", f.issueA), `{"status":"resolved"}`); code != 200 {
		t.Fatalf("resolve: HTTP %d %v", code, out)
	}
	code, _, out := f.do(t, f.memberToken, "POST", comments, `{"text":"<script>alert(1)</script>\nsecond line"}`)
	if code != 201 || out["text"] != "<script>alert(1)</script>\nsecond line" || out["kind"] != "comment" {
		t.Fatalf("POST comment: HTTP %d %v", code, out)
	}
	cid := int64(out["id"].(float64))
	comment := fmt.Sprintf("%s/%d", comments, cid)

	refused := []struct {
		token, method, path, body string
		code                      int
		msg                       string
	}{
		{f.memberToken, "POST", comments, `{"text":""}`, 400, "a comment needs some text"},
		{f.memberToken, "POST", comments, `{}`, 400, "a comment needs some text"},
		{f.memberToken, "POST", comments, `{"text":1}`, 400, `send the comment as {"text": "..."}`},
		{f.memberToken, "POST", comments, `{"text":"a\u0000b"}`, 400, "without NUL bytes"},
		{f.memberToken, "POST", comments, "{\"text\":\"a\xffb\"}", 400, "bytes that are not UTF-8"},
		{f.memberToken, "POST", comments, `{"text":"` + strings.Repeat("x", 10001) + `"}`, 400, "at most 10000 characters, this one has 10001"},
		{f.memberToken, "POST", comments, `{"text":"hi","extra":1}`, 400, "unknown field"},
		{f.outsider, "POST", comments, `{"text":"hi"}`, 404, "not found"},
		{f.memberReadToken, "POST", comments, `{"text":"hi"}`, 403, "read-only"},
		{f.leadToken, "PATCH", comment, `{"text":"edited"}`, 403, "only a comment's author may edit it"},
		{f.memberToken, "PATCH", comment, `{"text":"a\u0000b"}`, 400, "without NUL bytes"},
		{f.outsider, "PATCH", comment, `{"text":"edited"}`, 404, "not found"},
		{f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d/comments/%d", f.issueB, cid), `{"text":"edited"}`, 404, "not found"},
		{f.memberToken, "PATCH", comments + "/x", `{"text":"edited"}`, 400, "comment_id must be a positive integer"},
		{f.adminToken, "DELETE", comments + "/999999", "", 404, "not found"},
	}
	for _, r := range refused {
		code, _, out := f.do(t, r.token, r.method, r.path, r.body)
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != r.code || !strings.Contains(msg, r.msg) {
			t.Errorf("%s %s %.60s: HTTP %d %v, want %d with %q", r.method, r.path, r.body, code, out, r.code, r.msg)
		}
	}
	if code, _, out := f.do(t, f.memberToken, "PATCH", comment, `{"text":"edited\nnow"}`); code != 200 || out["text"] != "edited\nnow" || out["edited_at"] == nil {
		t.Errorf("the author edits: HTTP %d %v", code, out)
	}
	code, _, out = f.do(t, f.leadToken, "POST", comments, `{"text":"lead's"}`)
	if code != 201 {
		t.Fatalf("lead comments: HTTP %d %v", code, out)
	}
	want := []string{"lead@example.com comment: lead's", "member@example.com comment: edited\nnow", "member@example.com resolved", "first_seen"}
	if got, next := timeline(t, f, f.memberToken, f.issueA, ""); fmt.Sprint(got) != fmt.Sprint(want) || next != "" {
		t.Errorf("activity: %q (next %q), want %q", got, next, want)
	}
	var paged []string
	for query, pages := "?limit=1", 0; ; pages++ {
		got, next := timeline(t, f, f.memberToken, f.issueA, query)
		paged = append(paged, got...)
		if next == "" || pages > 10 {
			break
		}
		query = "?limit=1&cursor=" + next
	}
	if fmt.Sprint(paged) != fmt.Sprint(want) {
		t.Errorf("activity a page of 1 at a time: %q, want %q", paged, want)
	}
	if code, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d/activity?cursor=bogus", f.issueA), ""); code != 400 {
		t.Errorf("a bad cursor: HTTP %d %v", code, out)
	}

	// The project's admin deletes another's comment, a member does not.
	if code, _, out := f.do(t, f.memberToken, "DELETE", fmt.Sprintf("%s/%d", comments, cid+1), ""); code != 403 ||
		!strings.Contains(fmt.Sprint(out), "only a comment's author or an admin of its project may delete it") {
		t.Errorf("a member deletes the lead's comment: HTTP %d %v", code, out)
	}
	if code, _, out := f.do(t, f.leadToken, "DELETE", comment, ""); code != 204 {
		t.Errorf("the project's admin deletes a member's comment: HTTP %d %v", code, out)
	}
	if code, _, out := f.do(t, f.leadToken, "DELETE", comment, ""); code != 404 {
		t.Errorf("delete again: HTTP %d %v", code, out)
	}
}

// commentMailer records the comment emails it is asked to send.
type commentMailer struct {
	fakeMailer
	sent []string
}

func (m *commentMailer) MailComment(_ context.Context, to, by, title, text, url string, _ int) error {
	m.sent = append(m.sent, to+" by "+by+": "+title+": "+text+" "+url)
	return nil
}

// TestCommentEmail: with a server that sends email, a comment on an issue
// assigned to someone else emails the assignee a link on the public URL;
// one by the assignee, on an unassigned issue, or on a server without a
// public URL, emails nobody.
func TestCommentEmail(t *testing.T) {
	f := newFixture(t)
	comments := fmt.Sprintf("/api/v1/issues/%d/comments", f.issueA)
	mail := &commentMailer{}
	f.srv = httptest.NewServer(New(f.db, nil, nil).WithMailer(mail))
	f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", f.issueA), `{"assignedTo":"spare@example.com"}`)
	f.do(t, f.memberToken, "POST", comments, `{"text":"no public URL"}`)
	f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", f.issueA), `{"assignedTo":null}`)
	f.srv.Close()
	f.srv = httptest.NewServer(New(f.db, nil, nil).WithMailer(mail).WithPublicURL("https://flytrap.example"))
	t.Cleanup(f.srv.Close)
	f.do(t, f.memberToken, "POST", comments, `{"text":"nobody's yet"}`)
	if code, _, out := f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", f.issueA), `{"assignedTo":"spare@example.com"}`); code != 200 {
		t.Fatalf("assign: HTTP %d %v", code, out)
	}
	code, _, out := f.do(t, f.memberToken, "POST", comments, `{"text":"over to you"}`)
	if code != 201 {
		t.Fatalf("comment: HTTP %d %v", code, out)
	}
	want := fmt.Sprintf("spare@example.com by member@example.com: TypeError: x is undefined: over to you https://flytrap.example/issues/%d#activity-%v",
		f.issueA, out["id"])
	spare, _, _ := f.db.CreateAPIToken(context.Background(), f.spare.ID, "t")
	f.do(t, spare, "POST", comments, `{"text":"mine, thanks"}`)
	if len(mail.sent) != 1 || mail.sent[0] != want {
		t.Errorf("emails %q, want one: %q", mail.sent, want)
	}
}

// TestCommentBodyFitsLongestComment: any comment of 10,000 characters
// fits the body of a comment request however JSON escapes it (a pair of
// \u escapes, 12 bytes, for a character beyond U+FFFF), while other
// requests keep the 64 KiB bound.
func TestCommentBodyFitsLongestComment(t *testing.T) {
	f := newFixture(t)
	comments := fmt.Sprintf("/api/v1/issues/%d/comments", f.issueA)
	escaped := func(n int) string { return `{"text":"` + strings.Repeat(`\ud83d\ude00`, n) + `"}` }
	code, _, out := f.do(t, f.memberToken, "POST", comments, escaped(store.MaxCommentLength))
	if code != 201 {
		t.Fatalf("10,000 escaped emoji (%d bytes): HTTP %d %v", len(escaped(store.MaxCommentLength)), code, out)
	}
	cid := int64(out["id"].(float64))
	if code, _, out := f.do(t, f.memberToken, "PATCH", fmt.Sprintf("%s/%d", comments, cid), escaped(store.MaxCommentLength)); code != 200 {
		t.Errorf("edit to 10,000 escaped emoji: HTTP %d %v", code, out)
	}
	if code, _, out := f.do(t, f.memberToken, "POST", comments, escaped(store.MaxCommentLength+1)); code != 400 {
		t.Errorf("10,001 escaped emoji: HTTP %d %v, want 400 naming the length", code, out)
	}
	if code, _, out := f.do(t, f.memberToken, "POST", comments, escaped(17000)); code != 413 || errorMessage(out) != "request body is over 192 KiB" {
		t.Errorf("a 204,000-byte comment body: HTTP %d %v, want 413", code, out)
	}
	big := `{"status":"resolved","assignedTo":"` + strings.Repeat("x", 70<<10) + `"}`
	if code, _, out := f.do(t, f.memberToken, "PATCH", fmt.Sprintf("/api/v1/issues/%d", f.issueA), big); code != 413 || errorMessage(out) != "request body is over 64 KiB" {
		t.Errorf("a 70 KiB issue update: HTTP %d %v, want 413", code, out)
	}
}

// errorMessage is the message of an API error answer.
func errorMessage(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// TestCommentCap: a comment on an issue that holds MaxCommentsPerIssue
// comments is a 400 saying so and what to do.
func TestCommentCap(t *testing.T) {
	f := newFixture(t)
	for range store.MaxCommentsPerIssue {
		if _, err := f.db.AddComment(t.Context(), store.System, f.issueA, "+1"); err != nil {
			t.Fatal(err)
		}
	}
	code, _, out := f.do(t, f.memberToken, "POST", fmt.Sprintf("/api/v1/issues/%d/comments", f.issueA), `{"text":"one more"}`)
	e, _ := out["error"].(map[string]any)
	if msg := fmt.Sprint(e["message"]); code != 400 || !strings.Contains(msg, "at most 1000 comments") || !strings.Contains(msg, "delete old comments") {
		t.Errorf("comment over the cap: HTTP %d %v, want 400 saying the cap and what to do", code, out)
	}
}
