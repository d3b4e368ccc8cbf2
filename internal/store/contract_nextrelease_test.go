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

// testBulkResolveInRelease: a bulk change resolves in a release, the
// project's latest or the next one as UpdateIssue does, recording the
// release in each changed issue's activity and among the releases, and
// refuses what UpdateIssue refuses, changing nothing.
func testBulkResolveInRelease(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	a := e.save("a", withRelease("shop@1.0.0")).IssueID
	b := e.save("b", withRelease("shop@1.0.0")).IssueID
	ids := []int64{a, b}
	for _, c := range []struct {
		create    string // a release to create first
		c         BulkChange
		in, after string
	}{
		{"", BulkChange{Status: StatusResolved, InNextRelease: true}, "", "shop@1.0.0"},
		{"", BulkChange{Status: StatusResolved, ResolvedInRelease: LatestRelease}, "shop@1.0.0", ""},
		{"shop@2.0.0", BulkChange{Status: StatusResolved, ResolvedInRelease: "shop@2.0.0"}, "shop@2.0.0", ""},
		{"", BulkChange{Status: StatusResolved}, "", ""},
	} {
		if c.create != "" {
			e.createRelease(c.create)
		}
		if n, _, err := db.BulkUpdate(ctx, System, e.project.ID, ids, c.c); err != nil || n != 2 {
			t.Fatalf("bulk %+v: %d, %v; want 2 changed", c.c, n, err)
		}
		for _, id := range ids {
			i := e.issue(id)
			if i.Status != StatusResolved || i.ResolvedInRelease != c.in || i.ResolvedAfterRelease != c.after {
				t.Errorf("bulk %+v: issue %+v, want resolved in %q after %q", c.c, i, c.in, c.after)
			}
			as, _, err := db.ListActivity(ctx, System, id, "", 1)
			if err != nil || len(as) == 0 || as[0].Kind != ActivityResolved || as[0].Release != c.in || as[0].AfterRelease != c.after {
				t.Errorf("bulk %+v: activity %+v, %v; want resolved in %q after %q", c.c, as, err, c.in, c.after)
			}
		}
	}
	for name, c := range map[string]BulkChange{
		"next release, ignored":      {Status: StatusIgnored, InNextRelease: true},
		"next release and a release": {Status: StatusResolved, InNextRelease: true, ResolvedInRelease: "shop@1.0.0"},
		"a release, unresolved":      {Status: StatusUnresolved, ResolvedInRelease: "shop@1.0.0"},
		"a reserved release":         {Status: StatusResolved, ResolvedInRelease: "Latest"},
		"no release yet, next":       {Status: StatusResolved, InNextRelease: true},
		"no release yet, the latest": {Status: StatusResolved, ResolvedInRelease: LatestRelease},
	} {
		project, target := e.project.ID, ids
		if strings.HasPrefix(name, "no release yet") {
			bare := e.createProject("bare " + name)
			project, target = bare.ID, []int64{e.saveIn(bare.ID, "fp").IssueID}
		}
		_, _, err := db.BulkUpdate(ctx, System, project, target, c)
		wantErr(t, name, err, ErrInvalid)
		if i := e.issue(target[0]); i.ResolvedInRelease != "" || (i.Status != StatusResolved && i.Status != StatusUnresolved) {
			t.Errorf("%s changed the issue: %+v", name, i)
		}
	}
}

// testResolveInUnknownRelease: resolving in a release the project does
// not have (a typo, or another project's release) is refused, one issue
// or many, changing nothing and creating no release, so that the typo
// does not become the project's latest release.
func testResolveInUnknownRelease(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	id := e.save("a", withRelease("shop@1.2.3")).IssueID
	other := e.createProject("other")
	if _, err := db.CreateRelease(ctx, System, other.ID, "shop@1.3.0", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, release string
		change        func(release string) error
	}{
		{"UpdateIssueStatus", "shop@1.3.0", func(r string) error {
			_, err := db.UpdateIssueStatus(ctx, System, id, StatusResolved, r)
			return err
		}},
		{"UpdateIssue with an assignee", "shop@1.2.4", func(r string) error {
			_, _, err := db.UpdateIssue(ctx, System, id, IssueChange{Status: StatusResolved, ResolvedInRelease: r, Assign: true})
			return err
		}},
		{"BulkUpdate", "Shop@1.2.3", func(r string) error {
			_, _, err := db.BulkUpdate(ctx, System, e.project.ID, []int64{id}, BulkChange{Status: StatusResolved, ResolvedInRelease: r})
			return err
		}},
	} {
		err := tt.change(tt.release)
		var unknown *UnknownReleaseError
		if !errors.Is(err, ErrInvalid) || !errors.As(err, &unknown) ||
			*unknown != (UnknownReleaseError{ProjectID: e.project.ID, Project: e.project.Name, Release: tt.release}) {
			t.Errorf("%s in %s: %v, want an UnknownReleaseError wrapping ErrInvalid", tt.name, tt.release, err)
			continue
		}
		if want := `no release "` + tt.release + `" in project ` + e.project.Name; Reason(err) != want {
			t.Errorf("%s: Reason = %q, want %q", tt.name, Reason(err), want)
		}
		if i := e.issue(id); i.Status != StatusUnresolved || i.ResolvedInRelease != "" {
			t.Errorf("%s changed the issue: %+v", tt.name, i)
		}
		if n := e.count(`SELECT COUNT(*) FROM releases WHERE project_id = $1`, e.project.ID); n != 1 {
			t.Errorf("%s: the project has %d releases, want 1: the refused one was created", tt.name, n)
		}
		if latest, err := db.LatestRelease(ctx, System, e.project.ID); err != nil || latest != "shop@1.2.3" {
			t.Errorf("%s: LatestRelease = %q, %v; want shop@1.2.3", tt.name, latest, err)
		}
		if n := e.count(`SELECT COUNT(*) FROM issue_activity WHERE issue_id = $1`, id); n != 0 {
			t.Errorf("%s wrote %d activity rows", tt.name, n)
		}
	}
	// The project's own release, and its latest, still resolve.
	if i := e.setStatus(id, StatusResolved, "shop@1.2.3"); i.ResolvedInRelease != "shop@1.2.3" {
		t.Errorf("resolve in a known release: %+v", i)
	}
}
