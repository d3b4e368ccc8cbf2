package store

import (
	"fmt"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// testCountAtCap: CountIssues is the number of issues a search matches,
// exactly, up to its cap: one under the total it stops at the cap, at the
// total and over it it is the total. The searches are those a count
// reads all of a project's issues for (free text, a title or message
// term, a tag value most issues have, with and without a status), over
// issues of another project that match them too and of this one that do
// not, so that a count reading more or fewer rows than it should, or
// stopping one row early or late, is off. The same searches in an
// environment count its issues alone, each once however many
// environments it has, and none of another project's there.
func testCountAtCap(e *env) {
	other := e.createProject("other")
	at := func(m int) eventOpt { return withAt(t0.Add(time.Duration(m) * time.Minute)) }
	var resolved int64
	for i := range 14 {
		title, culprit := fmt.Sprintf("CheckoutError: cart %d", i), "cart.js in pay"
		if i%2 == 1 {
			// Odd issues match the text by their culprit alone.
			title, culprit = fmt.Sprintf("Error %d", i), "checkout.js in pay"
		}
		tags := withTags("browser", "Chrome", "tier", "free")
		if i%7 == 6 {
			tags = withTags("browser", "Firefox")
		}
		// Issues 2, 5, 8 and 11 are in staging only, the others in
		// prod, and the even ones in staging too.
		environ := withEnv("prod")
		if i%3 == 2 {
			environ = withEnv("staging")
		}
		res := e.save(fmt.Sprintf("match-%d", i), at(i), withTitle(title), withCulprit(culprit), tags, environ)
		if i == 0 {
			resolved = res.IssueID
		}
		if i%2 == 0 {
			e.save(fmt.Sprintf("match-%d", i), at(i), withTitle(title), withCulprit(culprit), tags, withEnv("staging"))
		}
		e.saveIn(other.ID, fmt.Sprintf("match-%d", i), at(i), withTitle(title), withCulprit(culprit), tags, withEnv("prod"))
	}
	for i := range 5 {
		e.save(fmt.Sprintf("other-%d", i), at(20+i), withTitle("TypeError: x"), withCulprit("app.js in run"), withTags("browser", "Safari"),
			withEnv("prod"))
	}
	e.setStatus(resolved, StatusResolved, "")
	chrome := []event.Tag{{Key: "browser", Value: "Chrome"}}
	for _, tt := range []struct {
		name string
		f    IssueFilter
		want int
	}{
		{"free text", IssueFilter{Query: "checkout"}, 14},
		{"free text, unresolved", IssueFilter{Query: "checkout", Status: StatusUnresolved}, 13},
		{"title term", IssueFilter{Titles: []string{"checkouterror"}}, 7},
		{"message term", IssueFilter{Messages: []string{"checkout"}}, 14},
		{"common tag value", IssueFilter{Tags: chrome}, 12},
		{"common tag value, unresolved", IssueFilter{Tags: chrome, Status: StatusUnresolved}, 11},
		{"two tag values", IssueFilter{Tags: []event.Tag{chrome[0], {Key: "tier", Value: "free"}}}, 12},
		{"tag value and text", IssueFilter{Tags: chrome, Query: "cart"}, 6},
		{"no tag value", IssueFilter{NotTags: chrome}, 7},
		{"every issue", IssueFilter{}, 19},
		{"nothing", IssueFilter{Query: "nothing like it"}, 0},
		{"environment", IssueFilter{Environment: "prod"}, 15},
		{"environment, unresolved", IssueFilter{Environment: "prod", Status: StatusUnresolved}, 14},
		{"environment, free text", IssueFilter{Environment: "prod", Query: "checkout"}, 10},
		{"environment, free text, unresolved", IssueFilter{Environment: "prod", Query: "checkout", Status: StatusUnresolved}, 9},
		{"environment, title term", IssueFilter{Environment: "prod", Titles: []string{"checkouterror"}}, 5},
		{"environment, common tag value", IssueFilter{Environment: "prod", Tags: chrome}, 8},
		{"environment, common tag value, unresolved", IssueFilter{Environment: "prod", Tags: chrome, Status: StatusUnresolved}, 7},
		{"environment, tag value and text", IssueFilter{Environment: "prod", Tags: chrome, Query: "cart"}, 4},
		{"environment, seen since", IssueFilter{Environment: "prod", Since: t0.Add(5 * time.Minute)}, 11},
		{"other environment, free text", IssueFilter{Environment: "staging", Query: "checkout"}, 9},
		{"environment of no issue", IssueFilter{Environment: "dev", Query: "checkout"}, 0},
	} {
		tt.f.ProjectID = e.project.ID
		for _, upTo := range []int{1, tt.want - 1, tt.want, tt.want + 1, 10000} {
			if upTo < 1 {
				continue
			}
			// A later page's cursor and size change nothing.
			later := tt.f
			later.Limit, later.Cursor = 2, encodeCursor("last_seen", millis(t0.Add(time.Hour)), 1<<40)
			for _, f := range []IssueFilter{tt.f, later} {
				if got, err := e.db.CountIssues(e.ctx, System, f, upTo); err != nil || got != min(upTo, tt.want) {
					e.t.Errorf("%s: CountIssues up to %d (limit %d) = %d, %v; want %d", tt.name, upTo, f.Limit, got, err, min(upTo, tt.want))
				}
			}
		}
	}
}
