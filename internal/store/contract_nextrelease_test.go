package store

import (
	"errors"
	"strings"
	"time"
)

// testResolveNextRelease: resolving in the current release resolves in
// the project's latest release; resolving in the next release reopens the
// issue only for an event of a release first seen after that one, whether
// this batch or an earlier request created it. Without a release both are
// refused with why, changing nothing.
func testResolveNextRelease(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	at := t0
	save := func(release string) SaveResult {
		t.Helper()
		at = at.Add(time.Minute)
		return e.save("fp", withRelease(release), withAt(at), withRcv(at))
	}
	id := save("build-a").IssueID
	save("shop@1.2.0")
	next := func(after string) {
		t.Helper()
		i, _, err := db.UpdateIssue(ctx, System, id, IssueChange{Status: StatusResolved, InNextRelease: true})
		if err != nil || i.Status != StatusResolved || i.ResolvedAfterRelease != after || i.ResolvedInRelease != "" {
			t.Fatalf("resolve in the next release: %+v, %v; want resolved after %s", i, err, after)
		}
	}

	next("shop@1.2.0")
	for _, r := range []string{"shop@1.2.0", "", "build-a"} {
		if res := save(r); res.Regression || e.issue(id).Status != StatusResolved {
			t.Errorf("event of release %q reopened an issue resolved in the next release: %+v", r, res)
		}
	}
	if err := db.DeleteReleases(ctx, System, []int64{e.project.ID}, "shop@1.2.0"); !errors.Is(err, ErrReleaseInUse) {
		t.Errorf("deleting the release an issue was resolved after: %v, want ErrReleaseInUse", err)
	}
	// A release this batch creates is first seen after.
	if res := save("shop@1.3.0"); !res.Regression {
		t.Errorf("event of a new release: %+v, want a regression", res)
	}
	if i := e.issue(id); i.Status != StatusUnresolved || i.ResolvedAfterRelease != "" {
		t.Errorf("reopened issue: %+v, want unresolved without a release", i)
	}
	// So is one created by an earlier request, after the resolve; the
	// latest is now shop@1.3.0.
	next("shop@1.3.0")
	if _, err := db.CreateRelease(ctx, System, e.project.ID, "build-b", time.Now()); err != nil {
		t.Fatal(err)
	}
	if res := save("build-b"); !res.Regression {
		t.Errorf("event of a release created after the resolve: %+v, want a regression", res)
	}
	// Any other status, one by one or in bulk, clears the release.
	next("build-b")
	if i := e.setStatus(id, StatusIgnored, ""); i.ResolvedAfterRelease != "" {
		t.Errorf("ignored: %+v, want no release", i)
	}
	next("build-b")
	if n, err := db.BulkUpdateStatus(ctx, System, e.project.ID, []int64{id}, StatusResolved); err != nil || n != 1 || e.issue(id).ResolvedAfterRelease != "" {
		t.Errorf("bulk resolve: %d, %v, %+v; want the release cleared", n, err, e.issue(id))
	}

	// The current release is the latest, by the rule release:latest uses.
	latest, err := db.LatestRelease(ctx, System, e.project.ID)
	if err != nil || latest != "build-b" {
		t.Errorf("LatestRelease = %q, %v; want build-b", latest, err)
	}
	if i := e.setStatus(id, StatusResolved, LatestRelease); i.ResolvedInRelease != "build-b" || i.ResolvedAfterRelease != "" {
		t.Errorf("resolve in the latest release: %+v, want resolved in build-b", i)
	}

	for _, c := range []struct {
		name string
		c    IssueChange
	}{
		{"next release, ignored", IssueChange{Status: StatusIgnored, InNextRelease: true}},
		{"next release and a release", IssueChange{Status: StatusResolved, InNextRelease: true, ResolvedInRelease: "build-b"}},
	} {
		_, _, err := db.UpdateIssue(ctx, System, id, c.c)
		wantErr(t, c.name, err, ErrInvalid)
	}

	// Without a release neither has a release to go by.
	bare := e.createProject("bare")
	other := e.saveIn(bare.ID, "fp").IssueID
	if latest, err := db.LatestRelease(ctx, System, bare.ID); err != nil || latest != "" {
		t.Errorf("LatestRelease of a project without releases = %q, %v", latest, err)
	}
	for _, c := range []IssueChange{{Status: StatusResolved, InNextRelease: true}, {Status: StatusResolved, ResolvedInRelease: LatestRelease}} {
		_, _, err := db.UpdateIssue(ctx, System, other, c)
		wantErr(t, "no release yet", err, ErrInvalid)
		if err != nil && !strings.Contains(Reason(err), "the project has no release yet") {
			t.Errorf("reason %q, want it to say the project has no release yet", Reason(err))
		}
	}
	if i := e.issue(other); i.Status != StatusUnresolved {
		t.Errorf("refused resolves changed the issue: %+v", i)
	}
	if _, err := db.GetRelease(ctx, System, bare.ID, LatestRelease); !errors.Is(err, ErrNotFound) {
		t.Errorf("a release named latest was recorded: %v", err)
	}
}
