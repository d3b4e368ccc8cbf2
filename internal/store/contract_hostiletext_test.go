package store

import (
	"fmt"
	"time"
)

// hostileText is text a request may carry that no stored text holds:
// saving cleans NUL bytes and invalid UTF-8 out (Clean), and PostgreSQL
// refuses a statement that carries them (SQLSTATE 22021).
var hostileText = []string{"a\x00b", "a\xffb", "\x00", "\xff\xfe", "1.0\x00"}

// testHostileLookups: a lookup by text no stored text can hold finds
// nothing, as SQLite's byte comparison does, on both databases: a release,
// user, event, bundle or file named so is ErrNotFound or an empty answer,
// never PostgreSQL's refusal of the statement (which was a 500). A release
// that exists is not found under a name that differs from it by a NUL.
func testHostileLookups(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := db.CreateRelease(ctx, System, p, "1.0", at); err != nil {
		t.Fatal(err)
	}
	e.createUser("a@b.c", RoleMember)
	res := e.save("x", withRelease("1.0"), withEnv("prod"))
	e.saveBundle(p, "sum1", "1.0", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/app.js.map", DebugID: "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11", Blob: "blobA"})

	for _, s := range hostileText {
		_, err := db.UserByEmail(ctx, s)
		wantErr(t, "UserByEmail("+q(s)+")", err, ErrNotFound)
		_, err = db.GetRelease(ctx, System, p, s)
		wantErr(t, "GetRelease("+q(s)+")", err, ErrNotFound)
		if ids, err := db.ReleaseProjectIDs(ctx, System, s); err != nil || len(ids) != 0 {
			t.Errorf("ReleaseProjectIDs(%s) = %v, %v; want none", q(s), ids, err)
		}
		wantErr(t, "DeleteReleases("+q(s)+")", db.DeleteReleases(ctx, System, []int64{p}, s), ErrNotFound)
		_, err = db.SetReleaseDate(ctx, System, p, s, at)
		wantErr(t, "SetReleaseDate("+q(s)+")", err, ErrNotFound)
		_, err = db.ListDeploys(ctx, System, p, s)
		wantErr(t, "ListDeploys("+q(s)+")", err, ErrNotFound)
		_, err = db.ListReleaseCommits(ctx, System, p, s)
		wantErr(t, "ListReleaseCommits("+q(s)+")", err, ErrNotFound)
		wantErr(t, "SetReleaseCommits("+q(s)+")", db.SetReleaseCommits(ctx, System, p, s, nil), ErrNotFound)
		_, _, err = db.PreviousCommit(ctx, System, p, s)
		wantErr(t, "PreviousCommit("+q(s)+")", err, ErrNotFound)

		_, err = db.GetEvent(ctx, System, s)
		wantErr(t, "GetEvent("+q(s)+")", err, ErrNotFound)
		_, err = db.GetProjectEvent(ctx, System, p, s)
		wantErr(t, "GetProjectEvent("+q(s)+")", err, ErrNotFound)
		_, err = db.GetIssueEvent(ctx, System, res.IssueID, s)
		wantErr(t, "GetIssueEvent("+q(s)+")", err, ErrNotFound)
		_, err = db.AdjacentEvents(ctx, System, res.IssueID, s, "")
		wantErr(t, "AdjacentEvents("+q(s)+")", err, ErrNotFound)

		_, err = db.ArtifactBundleByChecksum(ctx, p, s)
		wantErr(t, "ArtifactBundleByChecksum("+q(s)+")", err, ErrNotFound)
		if bs, err := db.ListArtifactBundles(ctx, System, p, s); err != nil || len(bs) != 0 {
			t.Errorf("ListArtifactBundles(%s) = %v, %v; want none", q(s), bs, err)
		}
		if up, err := db.ChunksUploadedBy(ctx, 1, []string{s}); err != nil || len(up) != 0 {
			t.Errorf("ChunksUploadedBy(%s) = %v, %v; want none", q(s), up, err)
		}
		if used, err := db.ArtifactBlobsInUse(ctx, []string{s}); err != nil || len(used) != 0 {
			t.Errorf("ArtifactBlobsInUse(%s) = %v, %v; want none", q(s), used, err)
		}
		for _, f := range []ArtifactFilter{
			{ProjectID: p, DebugID: s},
			{ProjectID: p, ByRelease: true, Release: s},
			{ProjectID: p, ByRelease: true, Release: "1.0", Dist: s},
			{ProjectID: p, URLs: []string{s}},
			{ProjectID: p, Name: s},
			{ProjectID: p, Kind: s},
		} {
			if got := e.findArtifacts(f); len(got) != 0 {
				t.Errorf("FindArtifacts(%+v) = %v, want none", f, got)
			}
		}
	}
	// A file of a URL the database can hold is still found next to one
	// it cannot, and a release that only ranks files does not hide them.
	for _, s := range hostileText {
		if got := e.findArtifacts(ArtifactFilter{ProjectID: p, Release: s, Dist: s}); len(got) != 1 {
			t.Errorf("FindArtifacts ranking release %q = %v, want the project's file", s, got)
		}
	}
	if got := e.findArtifacts(ArtifactFilter{ProjectID: p, URLs: []string{"a\x00b", "~/app.js.map"}}); len(got) != 1 {
		t.Errorf("FindArtifacts of a good and a bad URL = %v, want the good one's file", got)
	}
}

// q quotes s for a test's message.
func q(s string) string { return fmt.Sprintf("%q", s) }
