package store

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// saveBundle stores a bundle of files (kind, url, debug ID) for the env's
// project and returns it.
func (e *env) saveBundle(projectID int64, checksum, release, dist string, files ...ArtifactFile) ArtifactBundle {
	e.t.Helper()
	b, created, err := e.db.SaveArtifactBundle(e.ctx, ArtifactBundle{ProjectID: projectID, Checksum: checksum, Release: release, Dist: dist, Size: 10}, files)
	if err != nil || !created {
		e.t.Fatalf("SaveArtifactBundle(%s) = %v, %v; want created", checksum, created, err)
	}
	return b
}

func (e *env) findArtifacts(f ArtifactFilter) []string {
	e.t.Helper()
	files, err := e.db.FindArtifacts(e.ctx, f)
	if err != nil {
		e.t.Fatalf("FindArtifacts(%+v): %v", f, err)
	}
	var urls []string
	for _, a := range files {
		urls = append(urls, a.Kind+" "+a.URL+" "+a.Release+"/"+a.Dist)
	}
	return urls
}

func testArtifacts(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	other := e.createProject("other").ID
	const id = "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"
	v1 := e.saveBundle(p, "sum1", "1.0", "", ArtifactFile{Kind: ArtifactMinifiedSource, URL: "~/static/js/app.min.js", DebugID: "0B9E1A52-3A0B-4AD5-9B0E-6B3C5A0B2C11", SourceMap: "app.min.js.map", Blob: "blobA", Size: 3},
		ArtifactFile{Kind: ArtifactSourceMap, URL: "~/static/js/app.min.js.map", DebugID: id, Blob: "blobB", Size: 4})
	e.saveBundle(p, "sum2", "1.0", "web", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/static/js/app.min.js.map", Blob: "blobC"})
	e.saveBundle(other, "sum1", "", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/static/js/app.min.js.map", DebugID: id, Blob: "blobD"})

	again, created, err := db.SaveArtifactBundle(ctx, ArtifactBundle{ProjectID: p, Checksum: "sum1", Release: "1.0"}, nil)
	if err != nil || created || again.ID != v1.ID || again.FileCount != 2 {
		t.Errorf("SaveArtifactBundle again = %+v, %v, %v; want bundle %d unchanged", again, created, err, v1.ID)
	}
	if got, err := db.ArtifactBundleByChecksum(ctx, p, "sum1"); err != nil || got.ID != v1.ID {
		t.Errorf("ArtifactBundleByChecksum = %+v, %v", got, err)
	}
	_, err = db.ArtifactBundleByChecksum(ctx, p, "nope")
	wantErr(t, "ArtifactBundleByChecksum(nope)", err, ErrNotFound)

	tests := []struct {
		name string
		f    ArtifactFilter
		want []string
	}{
		{"debug ID, any case, this project only", ArtifactFilter{ProjectID: p, DebugID: id, Kind: ArtifactSourceMap}, []string{"source_map ~/static/js/app.min.js.map 1.0/"}},
		{"debug ID of a minified file", ArtifactFilter{ProjectID: p, DebugID: id, Kind: ArtifactMinifiedSource}, []string{"minified_source ~/static/js/app.min.js 1.0/"}},
		{"release without dist", ArtifactFilter{ProjectID: p, ByRelease: true, Release: "1.0", URLs: []string{"https://x/static/js/app.min.js.map", "~/static/js/app.min.js.map"}}, []string{"source_map ~/static/js/app.min.js.map 1.0/"}},
		{"release with dist", ArtifactFilter{ProjectID: p, ByRelease: true, Release: "1.0", Dist: "web", URLs: []string{"~/static/js/app.min.js.map"}}, []string{"source_map ~/static/js/app.min.js.map 1.0/web"}},
		{"other release", ArtifactFilter{ProjectID: p, ByRelease: true, Release: "2.0", URLs: []string{"~/static/js/app.min.js.map"}}, nil},
		{"name, newest first", ArtifactFilter{ProjectID: p, Name: "app.min.js.map"}, []string{"source_map ~/static/js/app.min.js.map 1.0/web", "source_map ~/static/js/app.min.js.map 1.0/"}},
		{"bundle", ArtifactFilter{ProjectID: p, BundleID: v1.ID, URLs: []string{"~/static/js/app.min.js"}}, []string{"minified_source ~/static/js/app.min.js 1.0/"}},
		{"limit", ArtifactFilter{ProjectID: p, Name: "app.min.js.map", Limit: 1}, []string{"source_map ~/static/js/app.min.js.map 1.0/web"}},
	}
	for _, tt := range tests {
		if got := e.findArtifacts(tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("%s: FindArtifacts = %q, want %q", tt.name, got, tt.want)
		}
	}

	// A bundle's release becomes a release of the project.
	if r, err := db.GetRelease(ctx, System, p, "1.0"); err != nil || r.Version != "1.0" {
		t.Errorf("GetRelease(1.0) = %+v, %v", r, err)
	}
	// It is found among the projects that have it, by those who see them.
	for _, tt := range []struct {
		v       Viewer
		version string
		want    []int64
	}{
		{System, "1.0", []int64{p}},
		{System, "2.0", nil},
		{Viewer{UserID: 1 << 40}, "1.0", nil},
	} {
		if got, err := db.ReleaseProjectIDs(ctx, tt.v, tt.version); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ReleaseProjectIDs(%+v, %q) = %v, %v; want %v", tt.v, tt.version, got, err, tt.want)
		}
	}
	used, err := db.ArtifactBlobsInUse(ctx, []string{"blobA", "blobD", "blobZ"})
	if err != nil || !used["blobA"] || !used["blobD"] || used["blobZ"] {
		t.Errorf("ArtifactBlobsInUse = %v, %v", used, err)
	}
	bundles, err := db.ListArtifactBundles(ctx, System, p, "1.0")
	if err != nil || len(bundles) != 2 {
		t.Errorf("ListArtifactBundles = %+v, %v; want 2", bundles, err)
	}

	// Deleting the release deletes its bundles and files, not the other
	// project's.
	if err := db.DeleteReleases(ctx, System, []int64{p}, "1.0"); err != nil {
		t.Fatalf("DeleteReleases: %v", err)
	}
	wantErr(t, "DeleteReleases again", db.DeleteReleases(ctx, System, []int64{p}, "1.0"), ErrNotFound)
	if got := e.findArtifacts(ArtifactFilter{ProjectID: p, Name: "app.min.js.map"}); len(got) != 0 {
		t.Errorf("after DeleteReleases: %q", got)
	}
	if n := e.count(`SELECT COUNT(*) FROM artifact_bundles WHERE project_id = $1`, p); n != 0 {
		t.Errorf("after DeleteReleases: %d bundles left", n)
	}
	if got := e.findArtifacts(ArtifactFilter{ProjectID: other, DebugID: id}); len(got) != 1 {
		t.Errorf("other project's artifacts: %q", got)
	}
	used, _ = db.ArtifactBlobsInUse(ctx, []string{"blobA", "blobD"})
	if used["blobA"] || !used["blobD"] {
		t.Errorf("ArtifactBlobsInUse after delete = %v", used)
	}

	// Deleting the project deletes its artifacts.
	e.saveBundle(other, "sum3", "3.0", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/a.js.map", Blob: "blobE"})
	if err := db.DeleteProject(ctx, System, other); err != nil {
		t.Fatalf("DeleteProject: %v", err)
	}
	if n := e.count(`SELECT COUNT(*) FROM artifact_files`); n != 0 {
		t.Errorf("after DeleteProject: %d artifact files left", n)
	}
}

func testReleasesAndArtifactPruning(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	member := e.createUser("m@example.com", RoleMember)
	outsider := Viewer{UserID: e.createUser("o@example.com", RoleMember).ID}
	e.addMember(e.project, member)
	mv := Viewer{UserID: member.ID}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

	r, err := db.CreateRelease(ctx, mv, p, "2.0", at)
	if err != nil || r.Version != "2.0" || !r.FirstSeen.Equal(at) {
		t.Fatalf("CreateRelease = %+v, %v", r, err)
	}
	if r2, err := db.CreateRelease(ctx, mv, p, "2.0", at.Add(time.Hour)); err != nil || !r2.FirstSeen.Equal(at) {
		t.Errorf("CreateRelease again = %+v, %v; want the first unchanged", r2, err)
	}
	_, err = db.CreateRelease(ctx, outsider, p, "3.0", at)
	wantErr(t, "CreateRelease by an outsider", err, ErrNotFound)
	// Names Sentry refuses, and escape sequences sentry-cli would print
	// to a terminal as they are.
	for _, bad := range []string{"", " ", "latest", "web/1.0", "r\x1b]52;c;cHduZWQ=\x07", "r\u009b31m", "1.0\u202e"} {
		_, err = db.CreateRelease(ctx, mv, p, bad, at)
		wantErr(t, fmt.Sprintf("CreateRelease(%q)", bad), err, ErrInvalid)
	}
	if rs, err := db.ListReleases(ctx, outsider, p); err != nil || len(rs) != 0 {
		t.Errorf("ListReleases(outsider) = %+v, %v", rs, err)
	}
	wantErr(t, "DeleteReleases by an outsider", db.DeleteReleases(ctx, outsider, []int64{p}, "2.0"), ErrNotFound)

	e.saveBundle(p, "kept", "2.0", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/a.js.map", Blob: "b1"})
	e.saveBundle(p, "nodebug", "", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/b.js.map", Blob: "b2", DebugID: "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"})
	e.saveBundle(p, "orphan", "4.0", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/c.js.map", Blob: "b3"})
	// A release removed without its artifacts (as by a Flytrap before
	// artifacts existed): its bundle is what pruning removes.
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM releases WHERE version = '4.0'`); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneArtifacts(ctx)
	if err != nil || n != 1 {
		t.Errorf("PruneArtifacts = %d, %v; want 1", n, err)
	}
	if n, _ := db.PruneArtifacts(ctx); n != 0 {
		t.Errorf("PruneArtifacts again = %d, want 0", n)
	}
	used, _ := db.ArtifactBlobsInUse(ctx, []string{"b1", "b2", "b3"})
	if !used["b1"] || !used["b2"] || used["b3"] {
		t.Errorf("ArtifactBlobsInUse after pruning = %v; want b1, b2", used)
	}
	if rs, err := db.ListReleases(ctx, mv, p); err != nil || len(rs) != 1 || rs[0].Version != "2.0" {
		t.Errorf("ListReleases = %+v, %v", rs, err)
	}
}

// A file uploaded without a release that carries a debug ID is found by
// that ID only: ExcludeDebugIDOnly leaves it out of other lookups, and
// keeps release-less files without one and every release's file.
func testArtifactsDebugIDOnly(e *env) {
	p := e.project.ID
	const id = "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"
	e.saveBundle(p, "injected", "", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/static/js/app.min.js.map", DebugID: id, Blob: "blobA"})
	e.saveBundle(p, "legacy", "", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/legacy/app.min.js.map", Blob: "blobB"})
	e.saveBundle(p, "release", "1.0", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/v1/app.min.js.map", DebugID: id, Blob: "blobC"})
	for _, tt := range []struct {
		name string
		f    ArtifactFilter
		want []string
	}{
		{"by name", ArtifactFilter{ProjectID: p, Name: "app.min.js.map", ExcludeDebugIDOnly: true},
			[]string{"source_map ~/v1/app.min.js.map 1.0/", "source_map ~/legacy/app.min.js.map /"}},
		{"without a release", ArtifactFilter{ProjectID: p, ByRelease: true, Name: "app.min.js.map", ExcludeDebugIDOnly: true},
			[]string{"source_map ~/legacy/app.min.js.map /"}},
		{"not asked", ArtifactFilter{ProjectID: p, ByRelease: true, Name: "app.min.js.map"},
			[]string{"source_map ~/legacy/app.min.js.map /", "source_map ~/static/js/app.min.js.map /"}},
	} {
		if got := e.findArtifacts(tt.f); !slices.Equal(got, tt.want) {
			e.t.Errorf("%s: FindArtifacts = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// testArtifactDebugIDsCanonical: a file's debug ID, however the uploading
// tool spelled it, is stored canonical, the spelling an event's debug ID
// is read into, and a lookup by any spelling finds it; text that is no
// debug ID is refused, with nothing stored, and finds nothing.
func testArtifactDebugIDsCanonical(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	const id = "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"
	spellings := []string{
		"0B9E1A523A0B4AD59B0E6B3C5A0B2C11",
		"{0B9E1A52-3A0B-4AD5-9B0E-6B3C5A0B2C11}",
		"urn:uuid:" + id,
		id,
	}
	for i, s := range spellings {
		e.saveBundle(p, fmt.Sprint("sum", i), "", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/app.js.map", DebugID: s, Blob: fmt.Sprint("blob", i)})
	}
	for _, s := range spellings {
		files, err := db.FindArtifacts(ctx, ArtifactFilter{ProjectID: p, DebugID: s})
		if err != nil || len(files) != len(spellings) {
			t.Fatalf("FindArtifacts(%s) = %+v, %v; want every upload", s, files, err)
		}
		for i, f := range files {
			if want := fmt.Sprint("blob", len(spellings)-1-i); f.DebugID != id || f.Blob != want {
				t.Errorf("FindArtifacts(%s)[%d] = %s with debug ID %q; want %s with %s, newest first", s, i, f.Blob, f.DebugID, want, id)
			}
		}
	}
	for _, bad := range []string{"not-a-debug-id", "00000000-0000-0000-0000-000000000000", id + "-1", "\x00" + id[1:]} {
		_, _, err := db.SaveArtifactBundle(ctx, ArtifactBundle{ProjectID: p, Checksum: "bad"}, []ArtifactFile{{Kind: ArtifactSourceMap, URL: "~/bad.js.map", DebugID: bad, Blob: "bad"}})
		wantErr(t, fmt.Sprintf("SaveArtifactBundle with debug ID %q", bad), err, ErrInvalid)
		if got := e.findArtifacts(ArtifactFilter{ProjectID: p, DebugID: bad}); len(got) != 0 {
			t.Errorf("FindArtifacts(%q) = %q, want none", bad, got)
		}
	}
	if _, err := db.ArtifactBundleByChecksum(ctx, p, "bad"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a bundle refused for its debug ID was stored: %v", err)
	}
}

// testChunkUploads: a chunk counts as a user's once they uploaded it, not
// when another user did; uploading again moves its time forward, so
// pruning keeps it.
func testChunkUploads(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	alice := e.createUser("alice@example.com", RoleMember)
	bob := e.createUser("bob@example.com", RoleMember)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	uploaded := func(who User, checksums ...string) []string {
		t.Helper()
		got, err := db.ChunksUploadedBy(ctx, who.ID, checksums)
		if err != nil {
			t.Fatalf("ChunksUploadedBy: %v", err)
		}
		var out []string
		for _, c := range checksums {
			if got[c] {
				out = append(out, c)
			}
		}
		return out
	}
	if err := db.RecordChunkUploads(ctx, alice.ID, []string{"aa", "bb"}, t0); err != nil {
		t.Fatal(err)
	}
	if err := db.RecordChunkUploads(ctx, bob.ID, []string{"bb"}, t0); err != nil {
		t.Fatal(err)
	}
	if got := uploaded(alice, "aa", "bb", "cc"); !slices.Equal(got, []string{"aa", "bb"}) {
		t.Errorf("alice's chunks = %q, want aa bb", got)
	}
	if got := uploaded(bob, "aa", "bb"); !slices.Equal(got, []string{"bb"}) {
		t.Errorf("bob's chunks = %q, want bb only: alice's aa is not his", got)
	}
	if got := uploaded(bob); got != nil {
		t.Errorf("no checksums: %q", got)
	}
	// Alice uploads bb again later; the older records go.
	if err := db.RecordChunkUploads(ctx, alice.ID, []string{"bb"}, t0.Add(50*time.Minute)); err != nil {
		t.Fatal(err)
	}
	n, err := db.PruneChunkUploads(ctx, t0.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Errorf("PruneChunkUploads = %d, %v; want 2 (alice's aa, bob's bb)", n, err)
	}
	if got := uploaded(alice, "aa", "bb"); !slices.Equal(got, []string{"bb"}) {
		t.Errorf("alice's chunks after pruning = %q, want bb", got)
	}
	if got := uploaded(bob, "bb"); got != nil {
		t.Errorf("bob's chunks after pruning = %q, want none", got)
	}
}
