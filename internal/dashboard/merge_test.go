package dashboard

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
)

// TestMergeIssues follows a merge from the issue list: Merge asks on a
// page of its own, which offers the issue with the most events to keep
// and lets the user pick another; merging shows the kept issue, and the
// merged issue's pages lead to it.
func TestMergeIssues(t *testing.T) {
	f := newFixture(t)
	issue, issue2 := strconv.FormatInt(f.issue, 10), strconv.FormatInt(f.issue2, 10)
	bulk := fmt.Sprintf("/projects/%d/issues/bulk", f.web.ID)
	back := "query=error&status=unresolved"
	list := fmt.Sprintf("/projects/%d/issues?query=error&status=unresolved", f.web.ID)

	if r := f.get(roleMember, fmt.Sprintf("/projects/%d/issues", f.web.ID)); !strings.Contains(r.Body, `value="merge">Merge</button>`) {
		t.Error("the issue list offers no Merge")
	}
	// One issue is not enough, nor another project's among them.
	r := f.post(roleMember, bulk, url.Values{"ids": {issue}, "action": {"merge"}, "back": {back}})
	wantRedirect(t, r, list)
	if got := flashOf(t, r); got != "error: Select at least two issues to merge." {
		t.Errorf("merging one issue: flash %q", got)
	}
	r = f.get(roleAdmin, fmt.Sprintf("/projects/%d/issues/merge?ids=%s&ids=%d", f.web.ID, issue, f.otherIssue))
	if got := flashOf(t, r); got != "error: Only issues of this project can be merged." {
		t.Errorf("merging another project's issue: flash %q", got)
	}

	// Merge asks first, changing nothing.
	r = f.post(roleMember, bulk, url.Values{"ids": {issue2, issue}, "action": {"merge"}, "back": {back}})
	wantRedirect(t, r, fmt.Sprintf("/projects/%d/issues/merge?", f.web.ID))
	page := f.follow(roleMember, r)
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, "Merge 2 issues?", `name="into" value="`+issue+`" checked`, `name="into" value="`+issue2+`">`,
		"So does its assignee; if it has none, it takes the assignee of the merged issue with the most events.",
		"Its title, culprit and level become those of the issue seen last,",
		`name="ids" value="`+issue2+`"`, `href="`+strings.ReplaceAll(list, "&", "&amp;")+`"`, `action="/projects/`+strconv.FormatInt(f.web.ID, 10)+`/issues/merge"`)
	if _, err := f.db.GetIssue(f.ctx, store.System, f.issue2); err != nil {
		t.Fatalf("asking merged already: %v", err)
	}

	// Without the CSRF token nothing happens.
	merge := fmt.Sprintf("/projects/%d/issues/merge", f.web.ID)
	form := url.Values{"ids": {issue, issue2}, "into": {issue2}, "back": {back}}
	r = f.do(request{method: http.MethodPost, role: roleMember, path: merge, form: form, noCSRF: true})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("merge without CSRF token: HTTP %d", r.StatusCode)
	}
	// The user keeps the issue with fewer events.
	r = f.post(roleMember, merge, form)
	wantRedirect(t, r, issuePath(f.issue2))
	if got := flashOf(t, r); got != "ok: 1 issue merged into this one." {
		t.Errorf("flash %q, want the one merged counted, not the kept one", got)
	}
	if is, _ := f.db.GetIssue(f.ctx, store.System, f.issue2); is.Count != 3 {
		t.Errorf("kept issue has %d events, want 3", is.Count)
	}
	if r := f.get(roleMember, fmt.Sprintf("/projects/%d/issues", f.web.ID)); strings.Contains(r.Body, issuePath(f.issue)+`"`) {
		t.Error("the merged issue is still listed")
	}

	// The merged issue's pages lead to the kept one's, for those who see it.
	r = f.get(roleMember, issuePath(f.issue)+"?environment=production")
	wantRedirect(t, r, issuePath(f.issue2)+"?environment=production")
	if got := flashOf(t, r); got != fmt.Sprintf("ok: Issue %d was merged into this one.", f.issue) {
		t.Errorf("flash %q", got)
	}
	wantRedirect(t, f.get(roleMember, issuePath(f.issue)+"/delete"), issuePath(f.issue2)+"/delete")
	wantStatus(t, f.get(roleOutsider, issuePath(f.issue)), http.StatusNotFound)

	// A change to the merged issue, from its page open since before the
	// merge, leads to the kept issue's page and changes nothing.
	before, _ := f.db.GetIssue(f.ctx, store.System, f.issue2)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/status", url.Values{"status": {"resolved"}}},
		{"/assign", url.Values{"assignee": {"me"}}},
		{"/mute", url.Values{"muted": {"1"}}},
		{"/comments", url.Values{"text": {"on it"}}},
		{"/delete", nil},
	} {
		r := f.post(roleMember, issuePath(f.issue)+c.path, c.form)
		wantRedirect(t, r, issuePath(f.issue2))
		if got, want := flashOf(t, r), fmt.Sprintf("error: Issue %d was merged into this one; nothing was changed.", f.issue); got != want {
			t.Errorf("POST %s of the merged issue: flash %q, want %q", c.path, got, want)
		}
	}
	if after, err := f.db.GetIssue(f.ctx, store.System, f.issue2); err != nil || after != before {
		t.Errorf("changes to the merged issue changed the kept one: %+v, %v; was %+v", after, err, before)
	}
	if muted, _ := f.db.IssueMuted(f.ctx, store.System, f.issue2); muted {
		t.Error("muting the merged issue muted the kept one")
	}
	if as, _, err := f.db.ListActivity(f.ctx, store.System, f.issue2, "", 0); err != nil || as[0].Kind == store.ActivityComment {
		t.Errorf("a comment on the merged issue went to the kept one: %+v, %v", as, err)
	}
	wantStatus(t, f.post(roleOutsider, issuePath(f.issue)+"/status", url.Values{"status": {"resolved"}}), http.StatusNotFound)
}

// conflictStore loses a merge to a concurrent delete, as the store
// reports it.
type conflictStore struct{ Store }

func (conflictStore) MergeIssues(context.Context, store.Viewer, int64, []int64, int64) (store.Issue, error) {
	return store.Issue{}, fmt.Errorf("store: merge issues: %w: an issue was merged or deleted meanwhile; try again", store.ErrConflict)
}

// TestMergeConflictPage: a merge that lost a race is a 409 page giving
// the store's reason, not a 500.
func TestMergeConflictPage(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Store = conflictStore{c.Store} })
	form := url.Values{"ids": {strconv.FormatInt(f.issue, 10), strconv.FormatInt(f.issue2, 10)}, "into": {strconv.FormatInt(f.issue2, 10)}}
	r := f.post(roleMember, fmt.Sprintf("/projects/%d/issues/merge", f.web.ID), form)
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.Body, "an issue was merged or deleted meanwhile; try again") ||
		strings.Contains(r.Body, "already exists") {
		t.Errorf("a merge that lost a race: HTTP %d:\n%s", r.StatusCode, excerpt(r.Body))
	}
}

// TestBulkMerged: a bulk change of the list that names an issue merged
// since the list was shown changes nothing and says which issue it was
// merged into, to select instead.
func TestBulkMerged(t *testing.T) {
	f := newFixture(t)
	if _, err := f.db.MergeIssues(f.ctx, store.System, f.web.ID, []int64{f.issue}, f.issue2); err != nil {
		t.Fatal(err)
	}
	bulk := fmt.Sprintf("/projects/%d/issues/bulk", f.web.ID)
	ids := []string{strconv.FormatInt(f.issue2, 10), strconv.FormatInt(f.issue, 10)}
	want := fmt.Sprintf("error: Issue %d was merged into issue %d; nothing was changed. Select issue %d instead.", f.issue, f.issue2, f.issue2)
	for _, form := range []url.Values{
		{"ids": ids, "action": {"resolve"}, "back": {"status=unresolved"}},
		{"ids": ids, "action": {"assign"}, "assignee": {"me"}, "back": {"status=unresolved"}},
	} {
		r := f.post(roleMember, bulk, form)
		wantRedirect(t, r, fmt.Sprintf("/projects/%d/issues?status=unresolved", f.web.ID))
		if got := flashOf(t, r); got != want {
			t.Errorf("bulk %s naming a merged issue: flash %q, want %q", form.Get("action"), got, want)
		}
	}
	if i, err := f.db.GetIssue(f.ctx, store.System, f.issue2); err != nil || i.Status != store.StatusUnresolved || i.AssignedTo != nil {
		t.Errorf("kept issue after refused bulk changes: %+v, %v", i, err)
	}
}

// TestMergeMergedID: asking to merge, or merging, issues among which one
// was merged since the list was shown changes nothing and goes back to
// the list saying which issue it was merged into, as a bulk change does.
func TestMergeMergedID(t *testing.T) {
	f := newFixture(t)
	if _, err := f.db.MergeIssues(f.ctx, store.System, f.web.ID, []int64{f.issue}, f.issue2); err != nil {
		t.Fatal(err)
	}
	before, err := f.db.GetIssue(f.ctx, store.System, f.issue2)
	if err != nil {
		t.Fatal(err)
	}
	issue, issue2 := strconv.FormatInt(f.issue, 10), strconv.FormatInt(f.issue2, 10)
	list := fmt.Sprintf("/projects/%d/issues?status=unresolved", f.web.ID)
	want := fmt.Sprintf("error: Issue %d was merged into issue %d; nothing was changed. Select issue %d instead.", f.issue, f.issue2, f.issue2)
	merge := fmt.Sprintf("/projects/%d/issues/merge", f.web.ID)
	for _, r := range []response{
		f.get(roleMember, merge+"?ids="+issue2+"&ids="+issue+"&back=status%3Dunresolved"),
		f.post(roleMember, merge, url.Values{"ids": {issue2, issue}, "into": {issue}, "back": {"status=unresolved"}}),
		f.post(roleMember, merge, url.Values{"ids": {issue, issue2}, "into": {issue2}, "back": {"status=unresolved"}}),
	} {
		wantRedirect(t, r, list)
		if got := flashOf(t, r); got != want {
			t.Errorf("merge naming a merged issue: flash %q, want %q", got, want)
		}
	}
	if after, err := f.db.GetIssue(f.ctx, store.System, f.issue2); err != nil || after != before {
		t.Errorf("kept issue after refused merges: %+v, %v; was %+v", after, err, before)
	}
}
