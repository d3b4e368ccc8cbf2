package store

import (
	"time"
)

// A release an issue was first or last seen in, or is resolved in, is not
// deleted (the issue's page links to it, and a resolution in it is
// ordered by its first seen), from any project: Sentry refuses with "This
// release is referenced by active issues and cannot be removed.".
func testReleaseInUse(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	other := e.createProject("other").ID
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for _, v := range []string{"first", "last", "resolved", "free"} {
		for _, id := range []int64{p, other} {
			if _, err := db.CreateRelease(ctx, System, id, v, at); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.save("a", withRelease("first"), withAt(at.Add(time.Minute)))
	e.save("a", withRelease("last"), withAt(at.Add(2*time.Minute)))
	b := e.save("b", withAt(at.Add(3*time.Minute)))
	e.setStatus(b.IssueID, StatusResolved, "resolved")

	for _, v := range []string{"first", "last", "resolved"} {
		wantErr(t, "DeleteReleases("+v+")", db.DeleteReleases(ctx, System, []int64{p}, v), ErrReleaseInUse)
		if _, err := db.GetRelease(ctx, System, p, v); err != nil {
			t.Errorf("after a refused DeleteReleases(%s): %v, want it kept", v, err)
		}
		// All or none: the other project's release stays too.
		wantErr(t, "DeleteReleases("+v+") of both projects", db.DeleteReleases(ctx, System, []int64{other, p}, v), ErrReleaseInUse)
		if _, err := db.GetRelease(ctx, System, other, v); err != nil {
			t.Errorf("after a refused DeleteReleases(%s): the other project's: %v, want it kept", v, err)
		}
	}
	// The other project's issues do not hold this project's release.
	if err := db.DeleteReleases(ctx, System, []int64{other}, "first"); err != nil {
		t.Errorf("DeleteReleases of the other project's first: %v", err)
	}
	if err := db.DeleteReleases(ctx, System, []int64{p, other}, "free"); err != nil {
		t.Errorf("DeleteReleases(free): %v", err)
	}
	for _, id := range []int64{p, other} {
		_, err := db.GetRelease(ctx, System, id, "free")
		wantErr(t, "GetRelease(free) after DeleteReleases", err, ErrNotFound)
	}
	wantErr(t, "DeleteReleases(free) again", db.DeleteReleases(ctx, System, []int64{p, other}, "free"), ErrNotFound)
}
