package dashboard

import (
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// TestIssuePageExceptionGroup checks that an exception group shows as a
// tree, in the shape @sentry/node 11.12.0 sends a nested AggregateError
// (outermost last): the group first, its errors under it, each with its
// own stack and where the group holds it, the inner group's errors a level
// further in, and everything the SDK sent escaped.
func TestIssuePageExceptionGroup(t *testing.T) {
	f := newFixture(t)
	id := func(n int) *int { return &n }
	ex := func(typ, value, source string, eid, parent *int, group bool, fn string) event.Exception {
		return event.Exception{Type: typ, Value: value,
			Mechanism: &event.Mechanism{Type: "chained", Handled: ptr(true), ExceptionID: eid, ParentID: parent, IsExceptionGroup: group, Source: source},
			Frames:    []event.Frame{{Filename: "/srv/app/jobs.js", Function: fn, Lineno: 3, InApp: ptr(true)}}}
	}
	ev := &event.Event{EventID: "66666666666666666666666666666666", ProjectID: f.web.ID, Platform: "node", Level: "error",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute),
		Exceptions: []event.Exception{
			ex("TypeError", "c", `errors[1]"><script>alert(1)</script>`, id(4), id(2), false, "fnC"),
			ex("RangeError", "b", "errors[0]", id(3), id(2), false, "fnB"),
			ex("AggregateError", "inner", "errors[1]", id(2), id(0), true, "fnInner"),
			ex("<img src=x onerror=alert(1)>", "a", "errors[0]", id(1), id(0), false, "fnA"),
			ex("AggregateError", "outer", "", id(0), nil, true, "fnOuter"),
		}}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	checkSafeHTML(t, r.Body)
	order := []string{"fnOuter", "fnA", "fnInner", "fnB", "fnC"}
	last := -1
	for _, fn := range order {
		i := strings.Index(r.Body, `<span class="frame-fn">`+fn+`</span>`)
		if i < last {
			t.Errorf("%s's stack is not in tree order %v", fn, order)
		}
		last = i
	}
	wantBody(t, r,
		`<div class="exception">
    <h3 class="exc-head"><span class="muted">Exception group</span> <span class="exc-type">AggregateError</span></h3>`,
		`<div class="exception exc-child exc-indent-1">
    <h3 class="exc-head"><span class="muted">In the group</span> <span class="exc-type">&lt;img src=x onerror=alert(1)&gt;</span> <span class="muted small exc-source">errors[0]</span></h3>`,
		`<div class="exception exc-child exc-indent-1">
    <h3 class="exc-head"><span class="muted">In the group</span> <span class="muted">Exception group</span> <span class="exc-type">AggregateError</span> <span class="muted small exc-source">errors[1]</span></h3>`,
		`<div class="exception exc-child exc-indent-2">`,
		`<span class="muted small exc-source">errors[1]&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</span>`)
	noBody(t, r, "Caused by")
}

// TestIssuePageChainWithIDs checks that a chain whose exceptions carry
// IDs but no group (sentry-python's raise ... from) still shows as a chain
// of causes.
func TestIssuePageChainWithIDs(t *testing.T) {
	f := newFixture(t)
	id := func(n int) *int { return &n }
	ev := &event.Event{EventID: "77777777777777777777777777777777", ProjectID: f.web.ID, Platform: "python", Level: "error",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute),
		Exceptions: []event.Exception{
			{Type: "KeyError", Value: "'sku'", Mechanism: &event.Mechanism{Type: "chained", ExceptionID: id(1), ParentID: id(0), Source: "__cause__"}},
			{Type: "LookupFailed", Value: "no such product", Mechanism: &event.Mechanism{Type: "excepthook", ExceptionID: id(0)}},
		}}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<div class="exception">
    <h3 class="exc-head"><span class="muted">Caused by</span> <span class="exc-type">KeyError</span></h3>`)
	noBody(t, r, "exc-child", "In the group", "exc-source")
}
