package store

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// mergeEvents are the events of testMergeIssues: by fingerprint, what
// each event has. The same events saved under one fingerprint are what
// the merged issue must read as.
var mergeEvents = []struct {
	fp   string
	opts []eventOpt
}{
	{"a", []eventOpt{withAt(t0), withRcv(t0), withEnv("production"), withUser("u1"), withTags("k", "x"), withRelease("1.0")}},
	{"a", []eventOpt{withAt(t0.Add(time.Hour)), withRcv(t0.Add(time.Hour)), withEnv("production"), withUser("u2"), withTags("k", "y")}},
	{"a", []eventOpt{withAt(t0.Add(2 * time.Hour)), withRcv(t0.Add(2 * time.Hour)), withEnv("staging"), withUser("u1")}},
	{"b", []eventOpt{withAt(t0.Add(-time.Hour)), withRcv(t0.Add(-time.Hour)), withEnv("production"), withUser("u3"),
		withTags("k", "x"), withRelease("0.9"), withLevel("warning")}},
	{"c", []eventOpt{withAt(t0.Add(3 * time.Hour)), withRcv(t0.Add(3 * time.Hour)), withEnv("staging"), withUser("u2"),
		withTags("k", "z"), withRelease("1.1"), withTitle("Newest")}},
	{"c", []eventOpt{withAt(t0.Add(time.Hour)), withRcv(t0.Add(time.Hour)), withUser("u4"), withTags("other", "1")}},
}

// testMergeIssues: issues merged into the one with the most events read
// as if their events had always grouped there: figures, charts, tags,
// users, environments, events and feedback. The others are gone from the
// list, their IDs lead to the primary, and new events of their
// fingerprints join it.
func testMergeIssues(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ref := e.createProject("reference")
	ids := map[string]int64{}
	for n, ev := range mergeEvents {
		opts := append([]eventOpt{withID(fmt.Sprintf("merge-%d", n))}, ev.opts...)
		ids[ev.fp] = e.save(ev.fp, opts...).IssueID
		e.saveIn(ref.ID, "all", opts...)
	}
	want := e.listAll(System, IssueFilter{ProjectID: ref.ID})[0]
	e.setStatus(ids["a"], StatusIgnored, "")
	e.saveFeedback(feedbackReq(e.project.ID, "fb-1", "merge-3", "about b", t0))

	merged, err := db.MergeIssues(ctx, System, e.project.ID, []int64{ids["c"], ids["b"], ids["a"]}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if merged.ID != ids["a"] {
		t.Fatalf("merged into %d, want %d, the issue with the most events", merged.ID, ids["a"])
	}
	got := e.issue(ids["a"])
	if got != merged {
		t.Errorf("MergeIssues returned %+v, GetIssue %+v", merged, got)
	}
	wantIssue := e.issue(want)
	wantIssue.ID, wantIssue.ProjectID, wantIssue.Fingerprint = got.ID, got.ProjectID, got.Fingerprint
	wantIssue.Status = StatusIgnored
	if got != wantIssue {
		t.Errorf("merged issue\n %+v\nwant as if grouped together\n %+v", got, wantIssue)
	}
	for _, env := range []string{"production", "staging"} {
		g, _ := db.GetIssueIn(ctx, System, got.ID, env)
		w, _ := db.GetIssueIn(ctx, System, want, env)
		if g.Count != w.Count || g.UserCount != w.UserCount || !g.FirstSeen.Equal(w.FirstSeen) || !g.LastSeen.Equal(w.LastSeen) {
			t.Errorf("in %s: %d events, %d users, %v to %v; want %d, %d, %v to %v", env,
				g.Count, g.UserCount, g.FirstSeen, g.LastSeen, w.Count, w.UserCount, w.FirstSeen, w.LastSeen)
		}
		gh, _ := db.IssueHourlyCounts(ctx, System, got.ID, t0.Add(-24*time.Hour), env)
		wh, _ := db.IssueHourlyCounts(ctx, System, want, t0.Add(-24*time.Hour), env)
		if !reflect.DeepEqual(gh, wh) {
			t.Errorf("hourly counts in %s: %v, want %v", env, gh, wh)
		}
	}
	gh, _ := db.IssueHourlyCounts(ctx, System, got.ID, t0.Add(-24*time.Hour), "")
	wh, _ := db.IssueHourlyCounts(ctx, System, want, t0.Add(-24*time.Hour), "")
	if !reflect.DeepEqual(gh, wh) || len(wh) != 5 {
		t.Errorf("hourly counts: %v, want %v", gh, wh)
	}
	gt, _ := db.IssueTags(ctx, System, got.ID)
	wt, _ := db.IssueTags(ctx, System, want)
	if !reflect.DeepEqual(gt, wt) {
		t.Errorf("tags:\n %v\nwant\n %v", gt, wt)
	}
	for _, table := range []string{"issue_tag_keys", "issue_minute_counts", "issue_users", "issue_environment_users"} {
		q := `SELECT COUNT(*) FROM ` + table + ` WHERE issue_id = $1`
		if g, w := e.count(q, got.ID), e.count(q, want); g != w {
			t.Errorf("%s: %d rows, want %d", table, g, w)
		}
	}
	evs, _, err := db.ListEvents(ctx, System, got.ID, "", 100, "")
	if err != nil || len(evs) != len(mergeEvents) {
		t.Errorf("events of the merged issue: %d, %v; want %d", len(evs), err, len(mergeEvents))
	}
	if fs, _, err := db.ListIssueFeedback(ctx, System, got.ID, "", 10); err != nil || len(fs) != 1 {
		t.Errorf("feedback of the merged issue: %v, %v; want b's", fs, err)
	}
	if list := e.listAll(System, IssueFilter{ProjectID: e.project.ID}); !reflect.DeepEqual(list, []int64{got.ID}) {
		t.Errorf("issue list after merge: %v, want only %d", list, got.ID)
	}
	for _, fp := range []string{"b", "c"} {
		_, err := db.GetIssue(ctx, System, ids[fp])
		wantErr(t, "GetIssue of merged "+fp, err, ErrNotFound)
		if into, err := db.MergedInto(ctx, System, ids[fp]); err != nil || into != got.ID {
			t.Errorf("MergedInto(%s) = %d, %v; want %d", fp, into, err, got.ID)
		}
		for _, table := range append(issueTables, "issue_minute_counts", "alert_issue_state") {
			if n := e.count(`SELECT COUNT(*) FROM `+table+` WHERE issue_id = $1`, ids[fp]); n != 0 {
				t.Errorf("%s keeps %d rows of merged issue %s", table, n, fp)
			}
		}
	}
	if _, err := db.MergedInto(ctx, System, got.ID); err == nil {
		t.Error("MergedInto of the primary found an issue")
	}

	// A new event of a merged fingerprint joins the primary.
	res := e.save("b", withAt(t0.Add(4*time.Hour)), withUser("u9"))
	if res.IssueID != got.ID || res.NewIssue || res.Count != got.Count+1 || res.UserCount != got.UserCount+1 {
		t.Errorf("event of a merged fingerprint: %+v, want issue %d with %d events", res, got.ID, got.Count+1)
	}

	// Again, or with only merged IDs, changes nothing and says why.
	before := e.issue(got.ID)
	for _, again := range [][]int64{{ids["a"], ids["b"], ids["c"]}, {ids["b"], ids["c"]}} {
		var me *MergedError
		if _, err := db.MergeIssues(ctx, System, e.project.ID, again, 0); !errors.As(err, &me) {
			t.Errorf("merge %v again: %v, want a MergedError", again, err)
		}
	}
	if after := e.issue(got.ID); after != before {
		t.Errorf("merges refused changed the kept issue: %+v, was %+v", after, before)
	}
}

// testMergeChains: a merge naming an issue that was already merged, among
// the IDs or as the one to keep, says which issue each such ID was merged
// into and changes nothing, rather than merging that issue whole or
// answering it unchanged.
func testMergeChains(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	at := time.Now().Add(-time.Hour)
	kept := e.save("kept", withAt(at)).IssueID
	old := e.save("old", withAt(at.Add(time.Minute))).IssueID
	own := e.save("own", withAt(at.Add(2*time.Minute))).IssueID
	third := e.save("third", withAt(at.Add(3*time.Minute))).IssueID
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{old}, kept); err != nil {
		t.Fatal(err)
	}
	before := map[int64]Issue{kept: e.issue(kept), own: e.issue(own), third: e.issue(third)}
	for _, c := range []struct {
		name string
		ids  []int64
		into int64
	}{
		// Meant: merge own with old, which is now kept.
		{"an ID merged before", []int64{own, old}, 0},
		// Meant: merge old into third; kept would follow whole.
		{"merged ID into another", []int64{old}, third},
		// Meant: keep old; kept already holds it.
		{"into a merged ID", []int64{kept}, old},
	} {
		_, err := db.MergeIssues(ctx, System, e.project.ID, c.ids, c.into)
		var me *MergedError
		if !errors.As(err, &me) || !reflect.DeepEqual(me.Into, map[int64]int64{old: kept}) {
			t.Errorf("%s: %v, want a MergedError of %d into %d", c.name, err, old, kept)
			continue
		}
		wantErr(t, c.name, err, ErrNotFound)
		if want := fmt.Sprintf("issue %d was merged into issue %d", old, kept); !strings.Contains(err.Error(), want) {
			t.Errorf("%s: message %q, want it to say %q", c.name, err, want)
		}
	}
	for id, was := range before {
		if now := e.issue(id); now != was {
			t.Errorf("issue %d changed by refused merges: %+v, was %+v", id, now, was)
		}
	}
	if into, err := db.MergedInto(ctx, System, old); err != nil || into != kept {
		t.Errorf("MergedInto(%d) = %d, %v; want %d", old, into, err, kept)
	}
}

// testMergeIssuesRefused: a merge needs two different issues of the
// project named, which the viewer sees; a refused merge changes nothing.
func testMergeIssuesRefused(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	a := e.save("a").IssueID
	b := e.save("b").IssueID
	elsewhere := e.saveIn(other.ID, "x").IssueID
	outsider := e.createUser("outsider@example.com", RoleMember)
	for _, c := range []struct {
		name    string
		v       Viewer
		project int64
		ids     []int64
		into    int64
		want    error
	}{
		{"into itself", System, e.project.ID, []int64{a}, a, ErrInvalid},
		{"twice the same", System, e.project.ID, []int64{a, a}, 0, ErrInvalid},
		{"none", System, e.project.ID, nil, 0, ErrInvalid},
		{"two projects", System, e.project.ID, []int64{a, elsewhere}, 0, ErrInvalid},
		{"into another project's", System, e.project.ID, []int64{a, b}, elsewhere, ErrInvalid},
		{"unknown issue", System, e.project.ID, []int64{a, 999999}, 0, ErrNotFound},
		{"not a member", Viewer{UserID: outsider.ID}, e.project.ID, []int64{a, b}, 0, ErrNotFound},
		{"no such project", System, 999999, []int64{a, b}, 0, ErrNotFound},
	} {
		_, err := db.MergeIssues(ctx, c.v, c.project, c.ids, c.into)
		wantErr(t, c.name, err, c.want)
	}
	if list := e.listAll(System, IssueFilter{ProjectID: e.project.ID}); len(list) != 2 {
		t.Errorf("issues after refused merges: %v, want both", list)
	}
	// Who sees only another project learns nothing of this one's merges.
	e.addMember(other, outsider)
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{a, b}, b); err != nil {
		t.Fatal(err)
	}
	_, err := db.MergedInto(ctx, Viewer{UserID: outsider.ID}, a)
	wantErr(t, "MergedInto for a member of another project", err, ErrNotFound)
	a = e.save("a2").IssueID

	// A member may merge, into the issue they pick.
	e.addMember(e.project, outsider)
	if i, err := db.MergeIssues(ctx, Viewer{UserID: outsider.ID}, e.project.ID, []int64{a}, b); err != nil || i.ID != b {
		t.Errorf("member merging into %d: %+v, %v", b, i, err)
	}
	// Merged again into a third, both old IDs and fingerprints lead there.
	c := e.save("c").IssueID
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{b, c}, c); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a, b} {
		if into, err := db.MergedInto(ctx, System, id); err != nil || into != c {
			t.Errorf("MergedInto(%d) = %d, %v; want %d", id, into, err, c)
		}
	}
	if res := e.save("a"); res.IssueID != c {
		t.Errorf("event of a twice merged fingerprint went to %d, want %d", res.IssueID, c)
	}
	// Deleting the primary lets the fingerprints start new issues.
	if err := db.DeleteIssue(ctx, System, c); err != nil {
		t.Fatal(err)
	}
	if res := e.save("a"); !res.NewIssue {
		t.Errorf("event of a fingerprint merged into a deleted issue: %+v, want a new issue", res)
	}
	if _, err := db.MergedInto(ctx, System, a); err == nil {
		t.Error("MergedInto leads to a deleted issue")
	}
}

// testMergeConcurrentEvents: events of the merged issues saved while
// merging are all counted, on the primary.
func testMergeConcurrentEvents(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	fps := []string{"a", "b", "c", "d"}
	var ids []int64
	for _, fp := range fps {
		ids = append(ids, e.save(fp).IssueID)
	}
	const workers, perWorker = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker+1)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range perWorker {
				reqs := []SaveRequest{request(e.project.ID, fps[(w+n)%len(fps)]), request(e.project.ID, fps[(w+n+1)%len(fps)])}
				if _, err := db.SaveBatch(ctx, reqs); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(5 * time.Millisecond)
		if _, err := db.MergeIssues(ctx, System, e.project.ID, ids, ids[0]); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	total := int64(len(fps) + workers*perWorker*2)
	if list := e.listAll(System, IssueFilter{ProjectID: e.project.ID}); !slices.Equal(list, ids[:1]) {
		t.Fatalf("issues after merging during saves: %v, want %d", list, ids[0])
	}
	if i := e.issue(ids[0]); i.Count != total {
		t.Errorf("merged issue counts %d events, want %d", i.Count, total)
	}
	if n := e.count(`SELECT COUNT(*) FROM events WHERE issue_id = $1`, ids[0]); n != total {
		t.Errorf("merged issue has %d events stored, want %d", n, total)
	}
	if n := e.count(`SELECT COALESCE(SUM(count), 0) FROM issue_counts WHERE issue_id = $1`, ids[0]); n != total {
		t.Errorf("merged issue's hourly counts sum to %d, want %d", n, total)
	}
}

// testAlertMerge: an event of a merged issue's fingerprint joins the
// primary, which is no new issue: no new-issue alert fires again, and the
// merged issue's alert state is gone with it.
func testAlertMerge(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	now := t0.Add(time.Minute)
	a := e.saveAlerting(now, request(e.project.ID, "a"), request(e.project.ID, "a"))[0].IssueID
	b := e.saveAlerting(now, request(e.project.ID, "b"))[0].IssueID
	if got := reasons(e.outbox()); !slices.Equal(got, []string{RuleNewIssue, RuleNewIssue}) {
		t.Fatalf("before the merge: outbox %v", got)
	}
	if n := e.count(`SELECT COUNT(*) FROM alert_issue_state WHERE issue_id = $1`, b); n != 1 {
		t.Fatalf("before the merge: %d alert states of the issue to merge, want 1", n)
	}
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{a, b}, 0); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM alert_issue_state WHERE issue_id = $1`, b); n != 0 {
		t.Errorf("the merged issue keeps %d alert states", n)
	}
	res := e.saveAlerting(now.Add(time.Hour), request(e.project.ID, "b"))
	if res[0].IssueID != a || res[0].NewIssue {
		t.Errorf("event of the merged fingerprint: %+v", res[0])
	}
	if got := reasons(e.outbox()); len(got) != 2 {
		t.Errorf("after an event of the merged fingerprint: outbox %v, want no new alert", got)
	}
}

// testMergeBulkRefused: a bulk change naming an issue that was merged
// says which issue it was merged into and changes nothing, whatever the
// change; a merged issue of another project is ignored, as its issues are.
func testMergeBulkRefused(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	a, b, c := e.save("a").IssueID, e.save("b").IssueID, e.save("c").IssueID
	d, f := e.save("d").IssueID, e.save("f").IssueID
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{b, c}, a); err != nil {
		t.Fatal(err)
	}
	other := e.createProject("other")
	x := e.saveIn(other.ID, "x").IssueID
	y := e.saveIn(other.ID, "y").IssueID
	if _, err := db.MergeIssues(ctx, System, other.ID, []int64{y}, x); err != nil {
		t.Fatal(err)
	}
	admin := e.createUser("admin@example.com", RoleAdmin)
	for _, c2 := range []BulkChange{{Status: StatusResolved}, {Assign: true, AssigneeID: admin.ID},
		{Status: StatusIgnored, Assign: true}} {
		_, _, err := db.BulkUpdate(ctx, System, e.project.ID, []int64{d, c, b}, c2)
		var me *MergedError
		if !errors.As(err, &me) || !reflect.DeepEqual(me.Into, map[int64]int64{b: a, c: a}) {
			t.Fatalf("bulk %+v naming merged issues: %v, want a MergedError of %d and %d into %d", c2, err, b, c, a)
		}
		wantErr(t, "bulk naming merged issues", err, ErrNotFound)
		if want := fmt.Sprintf("issue %d was merged into issue %d; issue %d was merged into issue %d", b, a, c, a); !strings.Contains(err.Error(), want) {
			t.Errorf("message %q, want it to say %q", err, want)
		}
		if i := e.issue(d); i.Status != StatusUnresolved || i.AssignedTo != nil {
			t.Errorf("issue %d changed by a refused bulk change: %+v", d, i)
		}
	}
	if n, err := db.BulkUpdateStatus(ctx, System, e.project.ID, []int64{d, f, y}, StatusResolved); err != nil || n != 2 {
		t.Errorf("bulk naming another project's merged issue: %d, %v; want 2 changed", n, err)
	}
}

// testMergeTagBounds: a merge keeps the bounds on an issue's tags as
// saving does: the kept issue's pairs stay, and the merged ones' pairs it
// lacks are taken in sorted order while there is room; the rest are not
// kept, and their events are counted in the pairs kept only.
func testMergeTagBounds(e *env) {
	t, db := e.t, e.db
	db.tagLimits.values, db.tagLimits.keys = 3, 2
	kept := e.save("kept", withTags("k", "a", "j", "1")).IssueID
	e.save("kept", withTags("k", "b"))
	other := e.save("other", withTags("k", "c", "m", "1")).IssueID
	e.save("other", withTags("k", "d"))
	e.save("other", withTags("k", "a"))
	if pairs, _ := e.tagRows(other, "k", "m"); pairs != "k=a:1 k=c:1 k=d:1 m=1:1" {
		t.Fatalf("before the merge: %s", pairs)
	}
	if _, err := db.MergeIssues(e.ctx, System, e.project.ID, []int64{other}, kept); err != nil {
		t.Fatal(err)
	}
	const wantPairs, wantKept = "j=1:1 k=a:2 k=b:1 k=c:1", "j:1 k:3"
	if pairs, keys := e.tagRows(kept, "j", "k", "m"); pairs != wantPairs || keys != wantKept {
		t.Errorf("after the merge:\n issue_tags     %s\n want           %s\n issue_tag_keys %s\n want           %s", pairs, wantPairs, keys, wantKept)
	}
	tags, err := db.IssueTags(e.ctx, System, kept)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tags {
		if tc.Key == "k" && !tc.Capped {
			t.Errorf("tag k after the merge: %+v, want capped", tc)
		}
	}
}

// testAlertMergeDigest: a digest a merged issue owed is sent once, about
// the kept issue, when it was due; the kept issue's status and mute win,
// and events owed by a muted or ignored issue, or to a kept issue that
// is, are dropped as muting drops them.
func testAlertMergeDigest(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	now := t0.Add(time.Minute)
	digests := func(at time.Time) []AlertPayload {
		t.Helper()
		if _, err := db.QueueDigests(ctx, at); err != nil {
			t.Fatal(err)
		}
		var out []AlertPayload
		for _, n := range e.outbox() {
			if n.Reason == ReasonDigest {
				out = append(out, n.Payload)
			}
		}
		return out
	}
	merge := func(into int64, ids ...int64) Issue {
		t.Helper()
		i, err := db.MergeIssues(ctx, System, p, ids, into)
		if err != nil {
			t.Fatal(err)
		}
		return i
	}

	// a alerted and has its window open with nothing owed; b alerted
	// later and owes a digest of two events when its window ends.
	a := e.saveAlerting(now, request(p, "a"))[0].IssueID
	b := e.saveAlerting(now.Add(10*time.Minute), request(p, "b"))[0].IssueID
	e.saveAlerting(now.Add(20*time.Minute), request(p, "b"), request(p, "b"))
	merge(a, b)
	if n := e.count(`SELECT COUNT(*) FROM alert_issue_state WHERE issue_id = $1`, b); n != 0 {
		t.Errorf("the merged issue keeps %d alert states", n)
	}
	if got := digests(now.Add(69 * time.Minute)); len(got) != 0 {
		t.Errorf("digests before b's window ended: %+v", got)
	}
	got := digests(now.Add(70 * time.Minute))
	if len(got) != 1 || got[0].IssueID != a || got[0].Events != 2 {
		t.Fatalf("digests when b's window ended: %+v, want one of issue %d for 2 events", got, a)
	}
	if got := digests(now.Add(5 * time.Hour)); len(got) != 1 {
		t.Errorf("digests later: %d, want the one", len(got))
	}

	// The kept issue muted: what the merged one owed is dropped.
	c := e.saveAlerting(now, request(p, "c"))[0].IssueID
	d := e.saveAlerting(now, request(p, "d"))[0].IssueID
	e.saveAlerting(now.Add(time.Minute), request(p, "d"))
	if err := db.SetIssueMuted(ctx, System, c, true); err != nil {
		t.Fatal(err)
	}
	merge(c, d)
	if muted, err := db.IssueMuted(ctx, System, c); err != nil || !muted {
		t.Errorf("kept muted issue: muted %v, %v", muted, err)
	}
	if n := e.count(`SELECT pending FROM alert_issue_state WHERE issue_id = $1`, c); n != 0 {
		t.Errorf("muted kept issue owes %d events", n)
	}

	// A merged issue that was ignored and muted leaves the kept one
	// unresolved and unmuted, and what it owed is dropped.
	f := e.saveAlerting(now, request(p, "f"))[0].IssueID
	g := e.saveAlerting(now, request(p, "g"))[0].IssueID
	e.saveAlerting(now.Add(time.Minute), request(p, "g"))
	e.setStatus(g, StatusIgnored, "")
	if err := db.SetIssueMuted(ctx, System, g, true); err != nil {
		t.Fatal(err)
	}
	if kept := merge(f, g); kept.Status != StatusUnresolved {
		t.Errorf("kept issue's status %q, want its own, unresolved", kept.Status)
	}
	if muted, err := db.IssueMuted(ctx, System, f); err != nil || muted {
		t.Errorf("kept unmuted issue: muted %v, %v", muted, err)
	}
	if got := digests(now.Add(10 * time.Hour)); len(got) != 1 {
		t.Errorf("digests: %+v, want only a's", got)
	}
}

// testAlertMergeDigestSent: a digest of the merged issue written while
// the merge waits for its alert state is not carried over to be sent
// again.
func testAlertMergeDigestSent(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	now := t0.Add(time.Minute)
	a := e.saveAlerting(now, request(p, "a"))[0].IssueID
	b := e.saveAlerting(now, request(p, "b"))[0].IssueID
	e.saveAlerting(now.Add(time.Minute), request(p, "b"), request(p, "b"))
	// As QueueDigests does when it sends b's digest, in a transaction
	// that commits only once the merge has started.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE alert_issue_state SET pending = 0 WHERE issue_id = $1`, b); err != nil {
		t.Fatal(err)
	}
	merged := make(chan error, 1)
	go func() {
		_, err := db.MergeIssues(ctx, System, p, []int64{b}, a)
		merged <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-merged; err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT pending FROM alert_issue_state WHERE issue_id = $1`, a); n != 0 {
		t.Errorf("the kept issue owes %d events of a digest already sent", n)
	}
}

// testMergeGroupingVersion: a merged issue's events keep joining the issue
// it was merged into after a grouping version change gives them new
// hashes, as an issue's own events keep joining it, and without a
// new-issue alert.
func testMergeGroupingVersion(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	calls := 0
	regrouped := func(version string, previous ...string) eventOpt {
		return func(r *SaveRequest) {
			r.GroupingVersion = version
			r.Previous = func() []string { calls++; return previous }
		}
	}
	a := e.save("fp-a").IssueID
	b := e.save("fp-b").IssueID
	e.save("fp-b")
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{a, b}, b); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	res := e.saveAlerting(now, request(e.project.ID, "fp-a-v2", regrouped("next", "fp-a")))[0]
	if res.IssueID != b || res.NewIssue || res.Count != 4 {
		t.Errorf("event of a merged issue under a new grouping version: %+v, want issue %d, not new, 4 events", res, b)
	}
	if got := reasons(e.outbox()); len(got) != 0 {
		t.Errorf("outbox %v, want no new-issue alert", got)
	}
	calls = 0
	if res := e.save("fp-a-v2", regrouped("next", "fp-a")); res.IssueID != b || calls != 0 {
		t.Errorf("a later event: %+v, previous hashes asked for %d times; want issue %d, not asked", res, calls, b)
	}
	if into, err := db.MergedInto(ctx, System, a); err != nil || into != b {
		t.Errorf("MergedInto(%d) = %d, %v; want %d", a, into, err, b)
	}
	if res := e.save("fp-a"); res.IssueID != b {
		t.Errorf("event grouped the old way: %+v, want issue %d", res, b)
	}

	// Merged again into a third, the new hash leads there, and on to the
	// version after.
	c := e.save("fp-c").IssueID
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{b, c}, c); err != nil {
		t.Fatal(err)
	}
	if res := e.save("fp-a-v3", regrouped("third", "fp-a-v2", "fp-a")); res.IssueID != c || res.NewIssue {
		t.Errorf("event after a second version change: %+v, want issue %d", res, c)
	}

	// A merged issue of the event's own grouping version is another group
	// of today's rules, not an old issue: it is not followed.
	own := e.save("fp-own", regrouped("next")).IssueID
	if _, err := db.MergeIssues(ctx, System, e.project.ID, []int64{own, c}, c); err != nil {
		t.Fatal(err)
	}
	if res := e.save("fp-frames", regrouped("next", "fp-own")); res.IssueID == c || !res.NewIssue {
		t.Errorf("event whose previous hash is a merged group of its own version: %+v, want a new issue", res)
	}
}

// testMergeAssignee: the kept issue keeps its assignee, or takes that of
// the merged issue with the most events: a merge unassigns nobody's work.
func testMergeAssignee(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ann := e.createUser("ann@example.com", RoleMember)
	bob := e.createUser("bob@example.com", RoleMember)
	e.addMember(e.project, ann)
	e.addMember(e.project, bob)
	issues := map[string]int64{}
	for _, fp := range []string{"few", "most", "most", "most", "kept", "none", "none", "none", "none"} {
		issues[fp] = e.save(fp).IssueID
	}
	for fp, u := range map[string]int64{"few": ann.ID, "most": bob.ID} {
		if _, err := e.assign(System, issues[fp], u); err != nil {
			t.Fatal(err)
		}
	}
	merged, err := db.MergeIssues(ctx, System, e.project.ID, []int64{issues["few"], issues["most"], issues["none"]}, issues["kept"])
	if err != nil {
		t.Fatal(err)
	}
	if merged.AssignedTo == nil || merged.AssignedTo.ID != bob.ID || e.assignee(merged.ID) != bob.ID {
		t.Errorf("unassigned issue merged with assigned ones: assignee %+v (stored %d), want bob's, of the merged issue with the most events",
			merged.AssignedTo, e.assignee(merged.ID))
	}
	// The kept issue's own assignee stays.
	other := e.save("other").IssueID
	if _, err := e.assign(System, other, ann.ID); err != nil {
		t.Fatal(err)
	}
	if merged, err := db.MergeIssues(ctx, System, e.project.ID, []int64{merged.ID, other}, other); err != nil || e.assignee(merged.ID) != ann.ID {
		t.Errorf("merge into an assigned issue: %+v, %v, assignee %d; want ann's", merged, err, e.assignee(merged.ID))
	}
}
