package dashboard

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/shell"
	"github.com/getflytrap/flytrap/internal/store"
)

// option is one choice of a filter's <select>.
type option struct {
	Value, Label string
}

// Choices of the issue list's filters. Values are the REST API's, so the
// list's URL reads like the API query it stands for.
var (
	statusOptions = []option{{"unresolved", "Unresolved"}, {"resolved", "Resolved"}, {"ignored", "Ignored"}, {"all", "All"}}
	rangeOptions  = []option{{"", "Any time"}, {"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"14d", "Last 14 days"}, {"30d", "Last 30 days"}}
	sortOptions   = []option{{"last_seen", "Last seen"}, {"first_seen", "First seen"}, {"count", "Events"}, {"user_count", "Users"}}
)

// issueListFilter is the issue list's filter form as the user set it.
type issueListFilter struct {
	Query, Status, Environment, Release, Level, Since, Sort string
}

// issuesData is the issue list's model.
type issuesData struct {
	Project  store.Project
	Filter   issueListFilter
	Statuses []option
	Ranges   []option
	Sorts    []option
	Levels   []string
	Issues   []store.Issue
	// Environment is the environment in effect, from the select or a
	// search term: the issues' figures are theirs there, and their links
	// open the issue with it.
	Environment string
	Error       string
	// NextURL is the next page, PrevURL the one before, FirstURL the
	// first one when this is not.
	NextURL, PrevURL, FirstURL string
	// Back is the list's query string, posted with bulk changes so the
	// list comes back as it was.
	Back string
	// Assignees are the project's members, whom the bulk Assign offers
	// besides the viewer and nobody.
	Assignees []option
	// NoIssues says the project has no issue at all, whatever the
	// filters: the list is a first-run prompt, with DSN, the project's
	// DSN ("" without an active key).
	NoIssues bool
	DSN      string
}

// listQuery is the issue list's query with the dashboard's default: a list
// opened without a status shows unresolved issues, as people triage them.
func listQuery(raw url.Values) url.Values {
	q := url.Values{}
	for _, k := range []string{"query", "status", "environment", "release", "level", "since", "sort", "cursor", "limit"} {
		if v := strings.TrimSpace(raw.Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	if q.Get("status") == "" {
		q.Set("status", store.StatusUnresolved)
	}
	return q
}

func issuesURL(projectID int64, q url.Values) string { return projectPageURL(projectID, "issues", q) }

// issueURL is the issue page's URL.
func issueURL(id int64) string { return "/issues/" + strconv.FormatInt(id, 10) }

// projectPageURL is the URL of a project's page with the query q.
func projectPageURL(projectID int64, page string, q url.Values) string {
	u := "/projects/" + strconv.FormatInt(projectID, 10) + "/" + page
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (d *Dashboard) issuesPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ctx, v := r.Context(), s.viewer()
	q := listQuery(r.URL.Query())
	data := issuesData{
		Project: p,
		Filter: issueListFilter{Query: q.Get("query"), Status: q.Get("status"), Environment: q.Get("environment"),
			Release: q.Get("release"), Level: q.Get("level"), Since: q.Get("since"), Sort: q.Get("sort")},
		Statuses: statusOptions, Ranges: withOption(rangeOptions, q.Get("since")), Sorts: sortOptions,
		Levels: event.Levels, Issues: []store.Issue{},
	}
	back := url.Values{}
	for k, vs := range q {
		if k != "cursor" {
			back[k] = vs
		}
	}
	data.Back = back.Encode()
	var err error
	if data.Assignees, err = d.assigneeOptions(r, s, p.ID, nil); err != nil {
		d.fail(w, r, err)
		return
	}
	status := http.StatusOK
	f, err := issuefilter.Parse(q, d.now())
	if err != nil {
		data.Error = err.Error()
		d.render(w, r, http.StatusBadRequest, "issues", &view{Title: p.Name, Nav: "projects", Tab: "issues", ProjectID: p.ID, Data: data, Manages: d.managesProject(r, s, p.ID)})
		return
	}
	// The search's is: wins over the status select, which defaults to
	// unresolved (in Sentry, is:unresolved is part of the default search);
	// show what is in effect. The other selects and the search box both
	// hold, and both show what they hold.
	data.Filter.Status = f.Status
	if f.Status == "" {
		data.Filter.Status = "all"
	}
	// Sentry's sort names (freq, new...) select Flytrap's order.
	data.Filter.Sort = f.Sort
	data.Environment = f.Environment
	f.ProjectID = p.ID
	pg, err := d.store.ListIssuesPage(ctx, v, f)
	switch {
	case errors.Is(err, store.ErrBadCursor), errors.Is(err, store.ErrInvalid):
		data.Error = "That page link is not valid any more; showing the first page."
		status = http.StatusBadRequest
		f.Cursor = ""
		pg, err = d.store.ListIssuesPage(ctx, v, f)
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Issues = pg.Issues
	if len(pg.Issues) == 0 && f.Cursor == "" {
		if data.NoIssues, data.DSN, err = d.firstRun(r, v, p.ID); err != nil {
			d.fail(w, r, err)
			return
		}
		if data.DSN != "" {
			// Beside the search the page reflects (see compressed).
			sendUncompressed(w)
		}
	}
	at := func(cursor string) string {
		nq := url.Values{}
		for k, vs := range back {
			nq[k] = vs
		}
		nq.Set("cursor", cursor)
		return issuesURL(p.ID, nq)
	}
	if pg.Next != "" {
		data.NextURL = at(pg.Next)
	}
	if pg.Prev != "" {
		data.PrevURL = at(pg.Prev)
	}
	if f.Cursor != "" {
		data.FirstURL = issuesURL(p.ID, back)
	}
	d.render(w, r, status, "issues", &view{Title: p.Name, Nav: "projects", Tab: "issues", ProjectID: p.ID, Data: data, Manages: d.managesProject(r, s, p.ID)})
}

// firstRun reports whether project projectID has no issue at all, in any
// status, and then its DSN, which the empty list offers instead of
// "no issues match these filters".
func (d *Dashboard) firstRun(r *http.Request, v store.Viewer, projectID int64) (bool, string, error) {
	ctx := r.Context()
	pg, err := d.store.ListIssuesPage(ctx, v, store.IssueFilter{ProjectID: projectID, Limit: 1})
	if err != nil || len(pg.Issues) > 0 {
		return false, "", err
	}
	keys, err := d.store.ProjectKeys(ctx, v, projectID)
	if err != nil {
		return false, "", err
	}
	if k := activeKey(keys); k != nil {
		return true, dsn(d.ingestBase(r), k.PublicKey, projectID), nil
	}
	return true, "", nil
}

// withOption adds value to opts when the URL carries a choice the select
// does not list (a hand-written since=3d), so the form shows it.
func withOption(opts []option, value string) []option {
	for _, o := range opts {
		if o.Value == value {
			return opts
		}
	}
	return append(slices.Clip(opts), option{value, value})
}

// bulkActions maps the bulk form's buttons to statuses.
var bulkActions = map[string]string{
	"resolve":   store.StatusResolved,
	"ignore":    store.StatusIgnored,
	"unresolve": store.StatusUnresolved,
}

// maxBulk bounds one bulk change; a page lists at most 100 issues.
const maxBulk = 100

func (d *Dashboard) bulkUpdate(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ctx, v := r.Context(), s.viewer()
	// The list URL is rebuilt from its parsed query under this project's
	// path, so the hidden field cannot redirect anywhere else.
	backQ, _ := url.ParseQuery(r.PostForm.Get("back"))
	back := issuesURL(p.ID, listQuery(backQ))
	action := r.PostForm.Get("action")
	status, ok := bulkActions[action]
	if !ok && action != "merge" && action != "assign" {
		d.redirectError(w, r, back, "Choose resolve, ignore, unresolve, assign or merge.")
		return
	}
	ids, ok := d.selectedIssues(w, r, r.PostForm["ids"], back)
	if !ok {
		return
	}
	if action == "merge" {
		// Merging cannot be undone: it is asked on a page of its own,
		// which also lets the user choose the issue to keep.
		if len(ids) < 2 {
			d.redirectError(w, r, back, "Select at least two issues to merge.")
			return
		}
		q := url.Values{"back": {backQ.Encode()}}
		for _, id := range ids {
			q.Add("ids", strconv.FormatInt(id, 10))
		}
		http.Redirect(w, r, issuesURL(p.ID, nil)+"/merge?"+q.Encode(), http.StatusSeeOther)
		return
	}
	if action == "assign" {
		d.bulkAssign(w, r, s, p, ids, back)
		return
	}
	n, err := d.store.BulkUpdateStatus(ctx, v, p.ID, ids, status)
	if d.refusedMerged(w, r, back, err) {
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, back, plural(n, "issue", "issues")+" marked "+strings.ToLower(statusTitle(status))+".")
}

// refusedMerged goes back with why, and reports whether it did, when err
// refused a bulk change or a merge for naming issues that were merged
// since the list was shown: the flash names the issues to select instead.
func (d *Dashboard) refusedMerged(w http.ResponseWriter, r *http.Request, back string, err error) bool {
	var m *store.MergedError
	if !errors.As(err, &m) {
		return false
	}
	var kept []string
	for _, id := range slices.Sorted(maps.Values(m.Into)) {
		if s := strconv.FormatInt(id, 10); !slices.Contains(kept, s) {
			kept = append(kept, s)
		}
	}
	what := "issue " + kept[0]
	if len(kept) > 1 {
		what = "issues " + strings.Join(kept[:len(kept)-1], ", ") + " and " + kept[len(kept)-1]
	}
	msg := m.Error()
	d.redirectError(w, r, back, strings.ToUpper(msg[:1])+msg[1:]+"; nothing was changed. Select "+what+" instead.")
	return true
}

// selectedIssues parses the issue IDs of a bulk form, of which there
// must be 1 to maxBulk; on failure it has redirected to back with why.
func (d *Dashboard) selectedIssues(w http.ResponseWriter, r *http.Request, raw []string, back string) ([]int64, bool) {
	var ids []int64
	for _, s := range raw {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			d.redirectError(w, r, back, "The selection was not understood; reload the page and try again.")
			return nil, false
		}
		if !slices.Contains(ids, n) {
			ids = append(ids, n)
		}
	}
	if len(ids) == 0 {
		d.redirectError(w, r, back, "Select at least one issue first.")
		return nil, false
	}
	if len(ids) > maxBulk {
		d.redirectError(w, r, back, "Select at most 100 issues at a time.")
		return nil, false
	}
	return ids, true
}

// mergeData is the model of the page that confirms a merge.
type mergeData struct {
	Project store.Project
	Issues  []store.Issue
	// Into is the issue kept unless the user picks another: the one with
	// the most events, as the store would choose.
	Into int64
	// Back is the issue list's query, BackURL the list.
	Back, BackURL string
}

// confirmMerge asks which issue the selected ones merge into, and whether
// to merge at all.
func (d *Dashboard) confirmMerge(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	backQ, _ := url.ParseQuery(q.Get("back"))
	back := issuesURL(p.ID, listQuery(backQ))
	ids, ok := d.selectedIssues(w, r, q["ids"], back)
	if !ok {
		return
	}
	data := mergeData{Project: p, Back: listQuery(backQ).Encode(), BackURL: back}
	merged := &store.MergedError{Into: make(map[int64]int64)}
	for _, id := range ids {
		is, err := d.store.GetIssue(r.Context(), s.viewer(), id)
		if errors.Is(err, store.ErrNotFound) {
			// Merged or deleted since the list was shown: a merged one
			// is refused as the merge would refuse it.
			if into, err := d.store.MergedInto(r.Context(), s.viewer(), id); err == nil {
				merged.Into[id] = into
			}
			continue
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		if is.ProjectID != p.ID {
			d.redirectError(w, r, back, "Only issues of this project can be merged.")
			return
		}
		data.Issues = append(data.Issues, is)
	}
	if len(merged.Into) > 0 {
		d.refusedMerged(w, r, back, merged)
		return
	}
	if len(data.Issues) < 2 {
		d.redirectError(w, r, back, "Select at least two issues to merge.")
		return
	}
	data.Into = slices.MaxFunc(data.Issues, func(a, b store.Issue) int {
		return cmp.Or(cmp.Compare(a.Count, b.Count), cmp.Compare(b.ID, a.ID))
	}).ID
	d.render(w, r, http.StatusOK, "confirm-merge", &view{Title: "Merge issues", Nav: "projects", ProjectID: p.ID, Data: data})
}

// mergeIssues merges the confirmed issues into the one chosen and shows
// it.
func (d *Dashboard) mergeIssues(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	backQ, _ := url.ParseQuery(r.PostForm.Get("back"))
	back := issuesURL(p.ID, listQuery(backQ))
	ids, ok := d.selectedIssues(w, r, r.PostForm["ids"], back)
	if !ok {
		return
	}
	into, err := strconv.ParseInt(r.PostForm.Get("into"), 10, 64)
	if err != nil || into <= 0 {
		d.redirectError(w, r, back, "Choose the issue to merge into.")
		return
	}
	is, err := d.store.MergeIssues(r.Context(), s.viewer(), p.ID, ids, into)
	if d.refusedMerged(w, r, back, err) {
		return
	}
	if errors.Is(err, store.ErrInvalid) {
		d.redirectError(w, r, back, "These issues cannot be merged: choose two or more issues of this project.")
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	// The kept issue is among ids (MergeIssues refuses fewer than two
	// different ones); the others are what was merged.
	merged := make(map[int64]bool)
	for _, id := range ids {
		if id != is.ID && id != into {
			merged[id] = true
		}
	}
	d.redirect(w, r, issueURL(is.ID), plural(int64(len(merged)), "issue", "issues")+" merged into this one.")
}

// tagValue is one value of a tag key with its share of the issue's events.
type tagValue struct {
	Value   string
	Count   int64
	Percent float64
	// SearchURL lists the project's issues with this tag value, when the
	// search syntax can express it.
	SearchURL string
}

// tagGroup is a tag key with its most frequent values.
type tagGroup struct {
	Key    string
	Total  int64
	Values []tagValue
	More   int // values not shown
	// Capped says the issue keeps no more values of the key, so values
	// not seen by then are not counted.
	Capped bool
}

// maxTagValuesShown is how many values of a key the issue page lists.
const maxTagValuesShown = 8

// tagGroups groups an issue's tag counts by key for the page, taking their
// text from b; it also returns how many keys were left out.
func tagGroups(projectID int64, tags []store.TagCount, b *budget) ([]tagGroup, int) {
	var (
		groups []tagGroup
		cut    int
		key    string // the last key seen, which may have been cut
	)
	for i, t := range tags {
		if i == 0 || t.Key != key {
			key = t.Key
			if cut > 0 || !b.item(len(groups)) {
				cut++
				continue
			}
			groups = append(groups, tagGroup{Key: b.text(t.Key)})
		} else if cut > 0 {
			continue
		}
		g := &groups[len(groups)-1]
		g.Total += t.Count
		g.Capped = g.Capped || t.Capped
		if len(g.Values) == maxTagValuesShown || !b.item(len(g.Values)) {
			g.More++
			continue
		}
		tv := tagValue{Value: b.text(t.Value), Count: t.Count}
		// A cut value would search for something else.
		if term, ok := issuefilter.Term(t.Key, t.Value); ok && tv.Value == t.Value {
			tv.SearchURL = issuesURL(projectID, url.Values{"query": {term}, "status": {"all"}})
		}
		g.Values = append(g.Values, tv)
	}
	for i := range groups {
		for j := range groups[i].Values {
			groups[i].Values[j].Percent = float64(groups[i].Values[j].Count) * 100 / float64(groups[i].Total)
		}
	}
	return groups, cut
}

// issueData is the issue page's model.
type issueData struct {
	Issue   store.Issue
	Project store.Project
	// Environment, from ?environment=, scopes the issue's figures and
	// charts to its events there.
	Environment string
	// Muted says the issue sends no alerts.
	Muted bool
	Event *eventView
	// EventMissing says there is no event to show: retention removed
	// them all, or, in an environment, the issue has none stored there
	// (none at all when Issue.Count is 0).
	EventMissing bool
	// OldestURL, OlderURL, NewerURL and LatestURL navigate between the
	// issue's events, in Environment when it is set; "" at either end.
	OldestURL, OlderURL, NewerURL, LatestURL string
	Day, Fortnight                           chart
	Tags                                     []tagGroup
	// TagsCut counts the tag keys left out.
	TagsCut int
	// RawURL downloads the event as JSON.
	RawURL  string
	ListURL string
	// OriginalURL and MinifiedURL show the event with its symbolicated
	// or its minified frames; ResymbolicateURL, when set, is where the
	// re-symbolicate form posts.
	OriginalURL, MinifiedURL, ResymbolicateURL string
	// Feedback is the newest user feedback about the issue's events, of
	// FeedbackCount in all.
	Feedback      []store.Feedback
	FeedbackCount int64
	// Assignees are whom the Assign form offers besides the viewer and
	// nobody; Assignee is the choice of the issue's assignee in it.
	Assignees []option
	Assignee  string
	Activity  activityData
	// LatestRelease is the project's latest release, which Resolve in
	// release offers as the current one and the one the next follows; ""
	// when it has none.
	LatestRelease string
}

// pathProject loads the project named by the path as the viewer may see
// it; on failure it has answered the request.
func (d *Dashboard) pathProject(w http.ResponseWriter, r *http.Request, s *session) (store.Project, bool) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return store.Project{}, false
	}
	p, err := d.store.GetProject(r.Context(), s.viewer(), id)
	if err != nil {
		d.fail(w, r, err)
		return store.Project{}, false
	}
	return p, true
}

// issueAndProject loads the issue named by the path and its project, as the
// viewer may see them; on failure it has answered the request.
func (d *Dashboard) issueAndProject(w http.ResponseWriter, r *http.Request, s *session) (store.Issue, store.Project, bool) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return store.Issue{}, store.Project{}, false
	}
	ctx, v := r.Context(), s.viewer()
	is, err := d.store.GetIssue(ctx, v, id)
	if err != nil {
		d.failIssue(w, r, s, id, err)
		return store.Issue{}, store.Project{}, false
	}
	p, err := d.store.GetProject(ctx, v, is.ProjectID)
	if err != nil {
		d.fail(w, r, err)
		return store.Issue{}, store.Project{}, false
	}
	return is, p, true
}

// failIssue is fail for an error about the issue id, which leads a
// request for an issue that was merged into another to that one
// (redirectMerged).
func (d *Dashboard) failIssue(w http.ResponseWriter, r *http.Request, s *session, id int64, err error) {
	if errors.Is(err, store.ErrNotFound) && d.redirectMerged(w, r, s, id) {
		return
	}
	d.fail(w, r, err)
}

// redirectMerged sends a page of the issue id that was merged into
// another to the same page of that issue, saying so, and reports whether
// it did: old links, bookmarks and alert emails keep working. A change to
// the merged issue (a form on its page, open since before the merge) goes
// to the kept issue's page undone: the user decides whether the kept issue,
// with all the merged events, should have it too.
func (d *Dashboard) redirectMerged(w http.ResponseWriter, r *http.Request, s *session, id int64) bool {
	into, err := d.store.MergedInto(r.Context(), s.viewer(), id)
	if err != nil {
		return false
	}
	if r.Method != http.MethodGet {
		d.redirectError(w, r, issueURL(into), fmt.Sprintf("Issue %d was merged into this one; nothing was changed.", id))
		return true
	}
	rest, ok := strings.CutPrefix(r.URL.Path, issueURL(id))
	if !ok {
		return false
	}
	to := issueURL(into) + rest
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	d.redirect(w, r, to, fmt.Sprintf("Issue %d was merged into this one.", id))
	return true
}

func (d *Dashboard) issuePage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showIssue(w, r, s, http.StatusOK, r.URL.Query(), nil)
}

// showIssue renders the issue page of the path's {id} with status, as
// the query q (environment, event, frames, activity) asks; draft, when
// not nil, is a refused comment, which the form shows again with why.
func (d *Dashboard) showIssue(w http.ResponseWriter, r *http.Request, s *session, status int, q url.Values, draft *commentDraft) {
	is, p, ok := d.issueAndProject(w, r, s)
	if !ok {
		return
	}
	ctx, v := r.Context(), s.viewer()
	var err error
	env := strings.TrimSpace(q.Get("environment"))
	if env != "" {
		if is, err = d.store.GetIssueIn(ctx, v, is.ID, env); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	data := issueData{Issue: is, Project: p, Environment: env, ListURL: issuesURL(p.ID, nil)}
	if data.Assignees, err = d.assigneeOptions(r, s, p.ID, is.AssignedTo); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.LatestRelease, err = d.store.LatestRelease(ctx, v, p.ID); err != nil {
		d.fail(w, r, err)
		return
	}
	switch {
	case is.AssignedTo == nil:
		data.Assignee = assignNobody
	case is.AssignedTo.ID == s.user.ID:
		data.Assignee = assignMe
	default:
		data.Assignee = strconv.FormatInt(is.AssignedTo.ID, 10)
	}
	// Moving between events and back to the list keeps the environment.
	keep := url.Values{}
	if env != "" {
		keep.Set("environment", env)
		data.ListURL = issuesURL(p.ID, keep)
	}
	if data.Muted, err = d.svc.Alerts.Muted(ctx, s.actor(), is.ID); err != nil {
		d.fail(w, r, err)
		return
	}

	var ev store.EventRow
	if raw := q.Get("event"); raw != "" {
		ev, err = d.issueEvent(r, s, is, raw)
		if err != nil {
			d.fail(w, r, err)
			return
		}
	} else {
		// In an environment, the newest of the issue's events there:
		// none there is an empty state, never another environment's.
		ev, err = d.store.LatestEvent(ctx, v, is.ID, env)
		switch {
		case errors.Is(err, store.ErrNotFound):
			data.EventMissing = true
		case err != nil:
			d.fail(w, r, err)
			return
		}
	}
	b := newBudget(d.limits)
	if !data.EventMissing {
		data.Event = newEventView(ev, b, q.Get("frames") == "minified")
		data.RawURL = rawEventURL(is.ID, ev.EventID)
		d.symbolicationLinks(&data, ev.EventID, keep)
		adj, err := d.store.AdjacentEvents(ctx, v, is.ID, ev.EventID, env)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		at := func(event string) string {
			q := url.Values{}
			maps.Copy(q, keep)
			if event != "" {
				q.Set("event", event)
			}
			u := "/issues/" + strconv.FormatInt(is.ID, 10)
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
			return u
		}
		if adj.Older != "" {
			data.OldestURL, data.OlderURL = at(adj.Oldest), at(adj.Older)
		}
		if adj.Newer != "" {
			data.NewerURL = at(adj.Newer)
			data.LatestURL = at("")
		}
	}

	now := d.now()
	buckets, err := d.store.IssueHourlyCounts(ctx, v, is.ID, now.Add(-14*24*time.Hour), env)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Day, data.Fortnight = hourlyChart(buckets, now), dailyChart(buckets, now)
	tags, err := d.store.IssueTags(ctx, v, is.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Tags, data.TagsCut = tagGroups(p.ID, tags, b)
	if data.FeedbackCount, err = d.store.CountIssueFeedback(ctx, v, is.ID); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.FeedbackCount > 0 {
		if data.Feedback, _, err = d.store.ListIssueFeedback(ctx, v, is.ID, "", issueFeedbackShown); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	manages := d.managesProject(r, s, p.ID)
	if data.Activity, err = d.issueActivity(r, s, is, q.Get("activity"), keep, manages); err != nil {
		d.fail(w, r, err)
		return
	}
	var fl *flash
	if draft != nil {
		if draft.CommentID != 0 {
			data.Activity.Edit = *draft
		} else {
			data.Activity.Draft = *draft
		}
		fl = &flash{Kind: "error", Message: draft.Error}
	}
	d.render(w, r, status, "issue", &view{Title: is.Title, Nav: "projects", ProjectID: p.ID, Data: data, Manages: manages, Flash: fl})
}

// issueEvent loads the event named by rawID (as the issue page's ?event=
// or the raw JSON route's path has it) as the viewer may see it, and only
// if it is an event of issue is: an event of another issue is not this
// issue's to show, even when the viewer may see it.
func (d *Dashboard) issueEvent(r *http.Request, s *session, is store.Issue, rawID string) (store.EventRow, error) {
	eid, ok := normalizeEventID(rawID)
	if !ok {
		return store.EventRow{}, store.ErrNotFound
	}
	// Looked up within the issue: event IDs are unique per project only,
	// and an event of another issue is not this page's to show.
	return d.store.GetIssueEvent(r.Context(), s.viewer(), is.ID, eid)
}

func rawEventURL(issueID int64, eventID string) string {
	return "/issues/" + strconv.FormatInt(issueID, 10) + "/events/" + url.PathEscape(eventID) + "/raw"
}

// rawEvent serves an event of the issue as the normalized JSON it is
// stored as: the whole event, however much of it the issue page cut. It
// is a download, never a page: a browser must not render what an SDK sent
// as anything but JSON.
func (d *Dashboard) rawEvent(w http.ResponseWriter, r *http.Request, s *session) {
	is, _, ok := d.issueAndProject(w, r, s)
	if !ok {
		return
	}
	ev, err := d.issueEvent(r, s, is, r.PathValue("event"))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Disposition", `attachment; filename="event-`+ev.EventID+`.json"`)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(ev.Payload)))
	w.Write(ev.Payload)
}

// normalizeEventID accepts an event ID as 32 hex digits, with or without
// UUID dashes, in any case.
func normalizeEventID(s string) (string, bool) {
	id := strings.ToLower(strings.ReplaceAll(s, "-", ""))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return "", false
	}
	return id, true
}

// issueReturn is where an issue action goes back to: the issue, at the
// event it was looking at, in the environment it was scoped to.
func issueReturn(id int64, form url.Values) string {
	u := "/issues/" + strconv.FormatInt(id, 10)
	q := url.Values{}
	if eid, ok := normalizeEventID(form.Get("event")); ok {
		q.Set("event", eid)
	}
	if env := strings.TrimSpace(form.Get("environment")); env != "" {
		q.Set("environment", env)
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (d *Dashboard) setStatus(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	status := r.PostForm.Get("status")
	release := strings.TrimSpace(r.PostForm.Get("release"))
	back := issueReturn(id, r.PostForm)
	ctx, v := r.Context(), s.viewer()
	// Look the issue up first so that an issue the viewer may not see is
	// a 404 whatever the form says.
	if _, err := d.store.GetIssue(ctx, v, id); err != nil {
		d.failIssue(w, r, s, id, err)
		return
	}
	// The popover's one-click choices: the next release, or the current
	// one, the project's latest; any other value is the release typed.
	choice := r.PostForm.Get("in_release")
	next := status == store.StatusResolved && choice == "next"
	if status == store.StatusResolved && choice == "latest" {
		release = store.LatestRelease
	}
	switch status {
	case store.StatusResolved:
	case store.StatusIgnored, store.StatusUnresolved:
		release = ""
	default:
		d.redirectError(w, r, back, "Choose resolve, ignore or unresolve.")
		return
	}
	if choice != "" && !next && release == "" {
		d.redirectError(w, r, back, "Enter the release that fixes this issue.")
		return
	}
	var (
		is  store.Issue
		err error
	)
	if next {
		is, _, err = d.store.UpdateIssue(ctx, v, id, store.IssueChange{Status: status, InNextRelease: true})
	} else {
		is, err = d.store.UpdateIssueStatus(ctx, v, id, status, release)
	}
	var unknown *store.UnknownReleaseError
	if errors.As(err, &unknown) {
		d.redirectError(w, r, back, fmt.Sprintf("No release %s in project %s: check the name on the project's Releases page, or create the release first (flytrap releases new -p %s %s).",
			unknown.Release, unknown.Project, shell.Quote(unknown.Project), shell.Arg(unknown.Release)))
		return
	}
	if errors.Is(err, store.ErrInvalid) {
		msg := "That release name is not valid (at most 200 characters of text)."
		if next || event.ReleaseProblem(release) != "" {
			// The store's reason says what is wrong with the name, for
			// "latest" what to give instead, and for latest and the next
			// release that the project has no release yet.
			reason := store.Reason(err)
			msg = strings.ToUpper(reason[:1]) + reason[1:] + "."
		}
		d.redirectError(w, r, back, msg)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	var msg string
	switch {
	case status == store.StatusIgnored:
		msg = "Issue ignored."
	case status == store.StatusUnresolved:
		msg = "Issue marked unresolved."
	case is.ResolvedInRelease != "":
		msg = "Issue resolved in release " + is.ResolvedInRelease + "."
	case is.ResolvedAfterRelease != "":
		msg = "Issue resolved in the next release (after " + is.ResolvedAfterRelease + ")."
	default:
		msg = "Issue resolved."
	}
	d.redirect(w, r, back, msg)
}

// confirmData is the delete confirmation page's model.
type confirmData struct {
	Issue   store.Issue
	Project store.Project
}

func (d *Dashboard) confirmDeleteIssue(w http.ResponseWriter, r *http.Request, s *session) {
	is, p, ok := d.issueAndProject(w, r, s)
	if !ok {
		return
	}
	d.render(w, r, http.StatusOK, "confirm-delete", &view{Title: "Delete issue", Nav: "projects",
		Data: confirmData{Issue: is, Project: p}})
}

func (d *Dashboard) deleteIssue(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	ctx, v := r.Context(), s.viewer()
	is, err := d.store.GetIssue(ctx, v, id)
	if err != nil {
		d.failIssue(w, r, s, id, err)
		return
	}
	if err := d.store.DeleteIssue(ctx, v, id); err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, issuesURL(is.ProjectID, nil), "Issue deleted with its events.")
}
