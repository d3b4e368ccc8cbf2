package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// TestIssueActivity: the issue page's Activity section lists the issue's
// changes and comments newest first, escaped, with its line breaks; its
// comment form adds one behind the CSRF check; the author edits and
// deletes a comment, a project admin deletes it, other members do
// neither.
func TestIssueActivity(t *testing.T) {
	f := newFixture(t)
	page := issuePath(f.issue)
	comments := page + "/comments"
	if _, err := f.db.CreateRelease(f.ctx, store.System, f.web.ID, "<b>1.4<b>", time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.db.UpdateIssue(f.ctx, store.Viewer{UserID: f.lead.ID}, f.issue, store.IssueChange{Status: store.StatusResolved, ResolvedInRelease: "<b>1.4<b>"}); err != nil {
		t.Fatal(err)
	}
	hostile := "<script>alert(1)</script>\r\n<img src=x onerror=alert(2)>"
	r := f.post(roleMember, comments, url.Values{"text": {hostile}, "event": {f.event1}})
	wantRedirect(t, r, page+"?event="+f.event1+"#activity")
	if got := flashOf(t, r); got != "ok: Comment added." {
		t.Errorf("comment: flash %q", got)
	}
	as, _, err := f.db.ListActivity(f.ctx, store.System, f.issue, "", 0)
	f.must(err)
	if as[0].Text != "<script>alert(1)</script>\n<img src=x onerror=alert(2)>" {
		t.Errorf("stored comment %q, want the text with its CRLF as LF", as[0].Text)
	}
	cid := as[0].ID
	edit, del := fmt.Sprintf("%s/%d/edit", comments, cid), fmt.Sprintf("%s/%d/delete", comments, cid)

	body := f.get(roleMember, page)
	wantBody(t, body, `<section class="panel" id="activity">`, `action="/issues/`+fmt.Sprint(f.issue)+`/comments"`,
		`<p class="message">&lt;script&gt;alert(1)&lt;/script&gt;
&lt;img src=x onerror=alert(2)&gt;</p>`,
		fmt.Sprintf(`id="activity-%d"`, cid), "<strong>member@example.com</strong> commented",
		"<strong>lead@example.com</strong> resolved this issue in release <code>&lt;b&gt;1.4&lt;b&gt;</code>", "First seen",
		`action="`+edit+`"`, `action="`+del+`"`)
	noBody(t, body, "<script>alert(1)", "<b>1.4")
	if strings.Index(body.Body, "commented") > strings.Index(body.Body, "resolved this issue") {
		t.Error("the comment is not listed before the older resolve")
	}
	// Another member neither edits nor deletes it; the project's admin
	// deletes it.
	other := f.createUser("other@example.com", store.RoleMember)
	f.must(f.db.AddMember(f.ctx, f.web.ID, other.ID, store.RoleMember))
	lead := f.get(roleLead, page)
	wantBody(t, lead, `action="`+del+`"`)
	noBody(t, lead, `action="`+edit+`"`)

	steps := []struct {
		role, path, text string
		status           int
		flash            string
	}{
		// A new comment refused is the page again, its form holding the
		// text, with the message (TestLongComments).
		{roleMember, comments, "", http.StatusBadRequest, "error: A comment needs some text."},
		{roleMember, comments, strings.Repeat("x", store.MaxCommentLength+1), http.StatusBadRequest,
			"error: A comment may hold at most 10000 characters, this one has 10001."},
		{roleMember, comments, "a\x00b", http.StatusBadRequest, "error: A comment must be UTF-8 text without NUL bytes."},
		{roleMember, comments, "a\xffb", http.StatusBadRequest, "error: A comment must be UTF-8 text without NUL bytes."},
		{roleOutsider, comments, "hi", http.StatusNotFound, ""},
		// So is a refused edit, its edit form holding the text
		// (TestRefusedEdit).
		{roleMember, edit, "", http.StatusBadRequest, "error: A comment needs some text."},
		{roleMember, edit, strings.Repeat("x", store.MaxCommentLength+1), http.StatusBadRequest,
			"error: A comment may hold at most 10000 characters, this one has 10001."},
		{roleMember, edit, "a\x00b", http.StatusBadRequest, "error: A comment must be UTF-8 text without NUL bytes."},
		{roleMember, edit, "a\xffb", http.StatusBadRequest, "error: A comment must be UTF-8 text without NUL bytes."},
		{roleLead, edit, "mine", http.StatusSeeOther, "error: Only the author of a comment can edit it."},
		{roleMember, edit, "edited\r\nnow", http.StatusSeeOther, "ok: Comment edited."},
		{roleOutsider, del, "", http.StatusNotFound, ""},
		{roleLead, del, "", http.StatusSeeOther, "ok: Comment deleted."},
		{roleLead, del, "", http.StatusNotFound, ""},
	}
	for _, s := range steps {
		r := f.post(s.role, s.path, url.Values{"text": {s.text}})
		if r.StatusCode == http.StatusBadRequest {
			wantBody(t, r, `role="alert">`+strings.TrimPrefix(s.flash, "error: ")+"</p>")
			s.flash = ""
		}
		if r.StatusCode != s.status || (s.flash != "" && flashOf(t, r) != s.flash) {
			t.Errorf("%s POST %s %.30q: HTTP %d, flash %q; want %d, %q", s.role, s.path, s.text, r.StatusCode, flashOf(t, r), s.status, s.flash)
		}
		if s.path == edit && s.role == roleMember && s.status == http.StatusSeeOther {
			wantBody(t, f.get(roleMember, page), "<p class=\"message\">edited\nnow</p>", "(edited)")
		}
	}
	r = f.do(request{method: http.MethodPost, role: roleMember, path: comments, form: url.Values{"text": {"hi"}}, noCSRF: true})
	wantStatus(t, r, http.StatusForbidden)
	as, _, err = f.db.ListActivity(f.ctx, store.System, f.issue, "", 0)
	f.must(err)
	if len(as) != 2 || as[0].Kind != store.ActivityResolved {
		t.Errorf("after the refused requests and the delete: %+v, want the resolve and first seen", as)
	}
}

// TestIssueActivityPages: the issue page shows the newest 50 entries and
// links to the older ones, keeping the environment.
func TestIssueActivityPages(t *testing.T) {
	f := newFixture(t)
	for n := range activityShown + 1 {
		_, err := f.db.AddComment(f.ctx, store.Viewer{UserID: f.member.ID}, f.issue, fmt.Sprintf("comment %d.", n))
		f.must(err)
	}
	first := f.get(roleMember, issuePath(f.issue)+"?environment=production")
	wantBody(t, first, "comment 50.", "comment 1.", "Older activity")
	noBody(t, first, "comment 0.", "First seen")
	more := moreRE.FindStringSubmatch(first.Body)
	if more == nil || !strings.Contains(more[1], "environment=production") {
		t.Fatalf("no link to the older activity keeping the environment: %v", more)
	}
	second := f.get(roleMember, strings.ReplaceAll(more[1], "&amp;", "&"))
	wantBody(t, second, "comment 0.", "First seen")
	noBody(t, second, "comment 1.", "Older activity")
}

// TestRefusedEdit: a refused edit of a comment is the issue page again,
// status 400, the comment's edit form open and holding the edited text
// (escaped) with why, the comment and the new comment form as they were;
// on a page of older activity, that page.
func TestRefusedEdit(t *testing.T) {
	f := newFixture(t)
	page := issuePath(f.issue)
	c, err := f.db.AddComment(f.ctx, store.Viewer{UserID: f.member.ID}, f.issue, "first take")
	f.must(err)
	for n := range activityShown {
		_, err := f.db.AddComment(f.ctx, store.Viewer{UserID: f.member.ID}, f.issue, fmt.Sprintf("comment %d.", n))
		f.must(err)
	}
	edit := fmt.Sprintf("%s/comments/%d/edit", page, c.ID)
	first := f.get(roleMember, page)
	noBody(t, first, `action="`+edit+`"`)
	more := moreRE.FindStringSubmatch(first.Body)
	if more == nil {
		t.Fatal("no link to the older activity")
	}
	link, _, _ := strings.Cut(strings.ReplaceAll(more[1], "&amp;", "&"), "#")
	older := f.get(roleMember, link)
	cursor := regexp.MustCompile(`name="activity" value="([^"]+)"`).FindStringSubmatch(older.Body)
	if cursor == nil {
		t.Fatalf("the edit form of an older page does not send its page back:\n%s", older.Body)
	}

	r := f.post(roleMember, edit, url.Values{"text": {"<i>second\r\ntake\x00"}, "event": {f.event1}, "activity": {cursor[1]}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `<details class="comment-edit" open>`,
		fmt.Sprintf(`aria-describedby="comment-%d-error">`+"\n&lt;i&gt;second\ntake\uFFFD</textarea>", c.ID),
		fmt.Sprintf(`<p class="form-error" id="comment-%d-error" role="alert">A comment must be UTF-8 text without NUL bytes.</p>`, c.ID),
		`<p class="message">first take</p>`, `<input type="hidden" name="event" value="`+f.event1+`">`)
	noBody(t, r, "<i>second", `id="comment-error"`, "comment 49.")
	wantBody(t, r, `<div class="flash flash-error" role="status">A comment must be UTF-8 text without NUL bytes.</div>`)
	as, _, err := f.db.ListActivity(f.ctx, store.System, f.issue, "", 0)
	f.must(err)
	for _, a := range as {
		if a.ID == c.ID && (a.Text != "first take" || a.Edited != nil) {
			t.Errorf("the refused edit changed the comment: %+v", a)
		}
	}
}

// moreRE finds the link to the older activity.
var moreRE = regexp.MustCompile(`<a href="([^"]+)">Older activity ›</a>`)

// TestLongComments: any comment of 10,000 characters fits the comment
// forms however many bytes its characters take (12 each, percent-encoded,
// for 4-byte ones), while other forms keep their 64 KiB bound; a refused
// comment comes back in the form with why, not lost.
func TestLongComments(t *testing.T) {
	f := newFixture(t)
	page := issuePath(f.issue)
	comments := page + "/comments"
	for _, c := range []string{"中", "😀"} {
		text := strings.Repeat(c, store.MaxCommentLength)
		r := f.post(roleMember, comments, url.Values{"text": {text}})
		wantRedirect(t, r, page+"#activity")
		as, _, err := f.db.ListActivity(f.ctx, store.System, f.issue, "", 1)
		f.must(err)
		if as[0].Text != text {
			t.Fatalf("10,000 %q (%d bytes of form): not stored", c, len(url.Values{"text": {text}}.Encode()))
		}
		r = f.post(roleMember, fmt.Sprintf("%s/%d/edit", comments, as[0].ID), url.Values{"text": {text + "\r\n" + strings.Repeat(c, 9)}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, fmt.Sprintf(`id="comment-%d-error" role="alert">A comment may hold at most 10000 characters, this one has 10010.</p>`, as[0].ID),
			">\n"+text+"\n"+strings.Repeat(c, 9)+"</textarea>")
	}
	// One character too many: refused, and the page shows the form again
	// holding the text, with the reason.
	text := "<b>" + strings.Repeat("中", store.MaxCommentLength-2)
	r := f.post(roleMember, comments, url.Values{"text": {text}, "event": {f.event1}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, ">\n&lt;b&gt;"+strings.Repeat("中", store.MaxCommentLength-2)+"</textarea>",
		`<p class="form-error" id="comment-error" role="alert">A comment may hold at most 10000 characters, this one has 10001.</p>`,
		`<input type="hidden" name="event" value="`+f.event1+`">`)
	noBody(t, r, "<b>中")
	// Other forms are still bounded at 64 KiB.
	r = f.post(roleMember, page+"/assign", url.Values{"assignee": {strings.Repeat("中", 10000)}})
	wantStatus(t, r, http.StatusRequestEntityTooLarge)
}

// TestCommentCap: a comment on an issue that holds MaxCommentsPerIssue
// comments is refused with a 400, and the page shows the form again with
// the text and why.
func TestCommentCap(t *testing.T) {
	f := newFixture(t)
	for range store.MaxCommentsPerIssue {
		_, err := f.db.AddComment(f.ctx, store.System, f.issue, "+1")
		f.must(err)
	}
	r := f.post(roleMember, issuePath(f.issue)+"/comments", url.Values{"text": {"one more <b>"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, ">\none more &lt;b&gt;</textarea>",
		`<p class="form-error" id="comment-error" role="alert">An issue holds at most 1000 comments and this one has reached it: delete old comments`)
}
