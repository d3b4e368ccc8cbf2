package artifact_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/store"
)

const (
	appMap   = `{"version":3,"file":"app.min.js","sources":["../src/app.js"],"names":[],"mappings":"AAAA"}`
	vendMap  = `{"version":3,"file":"vendor.min.js","sources":["../src/vendor.js"],"names":[],"mappings":"AAAA"}`
	debugID  = "6a1c4bd3-0c6e-5a28-9d1e-2b7a6f1c0d11"
	debugID2 = "7b2d5ce4-1d7f-5b39-8e2f-3c8b7a2d1e22"
)

// env is an artifact store over a fresh SQLite database and blobs.
type env struct {
	t     *testing.T
	ctx   context.Context
	db    *store.DB
	s     *artifact.Store
	blobs artifact.Blobs
	proj  store.Project
	// user uploads the chunks.
	user store.User
}

func newEnv(t *testing.T, blobs artifact.Blobs) *env {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := db.CreateProject(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.CreateUser(ctx, "ci@example.com", "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if blobs == nil {
		blobs = artifact.Dir{Root: t.TempDir()}
	}
	return &env{t: t, ctx: ctx, db: db, s: artifact.New(db, blobs, artifact.DefaultLimits), blobs: blobs, proj: p, user: u}
}

// upload builds a bundle of files, uploads it in chunks of n bytes and
// assembles it for release and dist.
func (e *env) upload(release, dist string, n int, files ...artifact.BundleFile) artifact.AssembleResult {
	e.t.Helper()
	var buf bytes.Buffer
	if err := artifact.WriteBundle(&buf, map[string]string{"org": "x"}, files); err != nil {
		e.t.Fatal(err)
	}
	data := buf.Bytes()
	sum := sha1.Sum(data)
	req := artifact.AssembleRequest{UserID: e.user.ID, ProjectIDs: []int64{e.proj.ID}, Checksum: hex.EncodeToString(sum[:]), Release: release, Dist: dist}
	var chunks [][]byte
	for len(data) > 0 {
		c := data[:min(n, len(data))]
		data = data[len(c):]
		cs := sha1.Sum(c)
		req.Chunks = append(req.Chunks, hex.EncodeToString(cs[:]))
		chunks = append(chunks, c)
	}
	res, err := e.s.Assemble(e.ctx, req)
	if err != nil || res.State != "not_found" || len(res.Missing) != len(req.Chunks) {
		e.t.Fatalf("first Assemble = %+v, %v; want every chunk missing", res, err)
	}
	for i, c := range chunks {
		if err := e.s.SaveChunk(e.ctx, e.user.ID, req.Chunks[i], c); err != nil {
			e.t.Fatal(err)
		}
	}
	res, err = e.s.Assemble(e.ctx, req)
	if err != nil || res.State != "ok" {
		e.t.Fatalf("Assemble = %+v, %v", res, err)
	}
	if again, err := e.s.Assemble(e.ctx, req); err != nil || again.State != "ok" {
		e.t.Fatalf("Assemble again = %+v, %v", again, err)
	}
	return res
}

func key(body string) string {
	s := sha256.Sum256([]byte(body))
	return hex.EncodeToString(s[:])
}

func minified(url, debugID, sourcemap, body string) artifact.BundleFile {
	return artifact.BundleFile{Kind: store.ArtifactMinifiedSource, URL: url, DebugID: debugID, SourceMap: sourcemap, Data: []byte(body)}
}

func sourceMap(url, debugID, body string) artifact.BundleFile {
	return artifact.BundleFile{Kind: store.ArtifactSourceMap, URL: url, DebugID: debugID, Data: []byte(body)}
}

func TestFind(t *testing.T) {
	e := newEnv(t, nil)
	testFind(t, e)
}

func TestFindS3(t *testing.T) {
	c := awsxtest.S3Client(awsxtest.NewS3(t))
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("maps")}); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, artifact.S3{Client: c, Bucket: "maps", Prefix: "sourcemaps/"})
	testFind(t, e)
	n := 0
	if err := e.blobs.List(e.ctx, "files/", func(string, time.Time) error { n++; return nil }); err != nil || n == 0 {
		t.Errorf("List(files/) found %d blobs, %v", n, err)
	}
	out, err := c.HeadObject(e.ctx, &s3.HeadObjectInput{Bucket: aws.String("maps"), Key: aws.String("sourcemaps/files/" + key(appMap))})
	if err != nil {
		t.Fatalf("the map is not stored under the prefix: %v", err)
	}
	if out.ServerSideEncryption == "" {
		t.Log("gofakes3 does not echo server-side encryption; the request sets AES256")
	}
	// Cleanup lists and deletes chunks in the bucket too.
	cleaned, err := e.s.Cleanup(e.ctx, time.Now().Add(2*time.Hour))
	if err != nil || cleaned.Chunks == 0 || cleaned.Files != 0 {
		t.Errorf("Cleanup = %+v, %v; want the chunks deleted, every file kept", cleaned, err)
	}
	if err := e.blobs.List(e.ctx, "chunks/", func(k string, _ time.Time) error { return errors.New("left: " + k) }); err != nil {
		t.Error(err)
	}
}

// storeRaw stores a map as an older installation may hold it, past the
// checks uploads make now, or as a bundle whose manifest names a dist
// without a release.
func (e *env) storeRaw(release, dist, url, body string) {
	e.t.Helper()
	if err := e.blobs.Put(e.ctx, "files/"+key(body), []byte(body)); err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.db.SaveArtifactBundle(e.ctx, store.ArtifactBundle{ProjectID: e.proj.ID, Checksum: key(release + dist + url), Release: release, Dist: dist},
		[]store.ArtifactFile{{Kind: store.ArtifactSourceMap, URL: url, Blob: "files/" + key(body), Size: int64(len(body))}}); err != nil {
		e.t.Fatal(err)
	}
}

// Every release's build has an app.min.js: a frame whose path no upload's
// URL matches (a Node file path, a page served under another prefix) gets
// its own release's map by name, or one uploaded without a release, and
// never another release's, whose positions would be another build's.
func TestFindByNameUsesOnlyTheEventsBuild(t *testing.T) {
	e := newEnv(t, nil)
	mapOf := func(src string) string {
		return `{"version":3,"file":"app.min.js","sources":["../src/` + src + `.js"],"names":[],"mappings":"AAAA"}`
	}
	app := func(release, dist, src string) {
		e.upload(release, dist, 1<<20, minified("~/static/js/app.min.js", "", "", src+"()\n"), sourceMap("~/static/js/app.min.js.map", "", mapOf(src)))
	}
	shared := func(release, src string) {
		e.upload(release, "", 1<<20, minified("~/lib/shared.min.js", "", "", src+"()\n"), sourceMap("~/lib/shared.min.js.map", "", mapOf(src)))
	}
	truncated := mapOf("app5")[:40]
	e.storeRaw("5.0", "", "~/static/js/app.min.js.map", truncated)
	e.storeRaw("", "web", "~/lib/web.min.js.map", mapOf("web"))
	app("1.0", "", "app1")
	app("2.0", "", "app2")
	// A release whose upload lost its map: the minified file alone.
	e.upload("3.0", "", 1<<20, minified("~/static/js/app.min.js", "", "", "z()\n"))
	shared("1.0", "shared1")
	// For every release, uploaded after 1.0's own.
	shared("", "shared")
	app("4.0", "web", "app4")

	p := e.proj.ID
	for _, tt := range []struct {
		name, release, dist, file string
		// want is the map's body, or else the error's text.
		want, wantErr string
		// wantRelease and wantDist are the upload's the map came from.
		wantRelease, wantDist string
	}{
		{name: "own release", release: "1.0", file: "app.min.js", want: mapOf("app1"), wantRelease: "1.0"},
		{name: "own release, not the newest", release: "2.0", file: "app.min.js", want: mapOf("app2"), wantRelease: "2.0"},
		{name: "own release and dist", release: "4.0", dist: "web", file: "app.min.js", want: mapOf("app4"), wantRelease: "4.0", wantDist: "web"},
		{name: "another release's never", release: "13.0", file: "app.min.js",
			wantErr: "no source map of app.min.js for release 13.0: it was uploaded for 4.0 (dist web), 3.0 and others, " +
				"and another build's map is never used — upload this release's build, or inject debug IDs"},
		{name: "own release lost its map: no other release's", release: "3.0", file: "app.min.js",
			wantErr: "no source map of app.min.js for release 3.0: it was uploaded for 4.0 (dist web), 2.0 and others, " +
				"and another build's map is never used — upload this release's build, or inject debug IDs"},
		{name: "own release, another dist", release: "4.0", file: "app.min.js",
			wantErr: "no source map of app.min.js for release 4.0: it was uploaded for 4.0 (dist web), 3.0 and others, " +
				"and another build's map is never used — upload this release's build, or inject debug IDs"},
		{name: "own release's truncated map, not another's", release: "5.0", file: "app.min.js", want: truncated, wantRelease: "5.0"},
		{name: "an upload without a release", release: "13.0", file: "shared.min.js", want: mapOf("shared")},
		{name: "own release before one without", release: "1.0", file: "shared.min.js", want: mapOf("shared1"), wantRelease: "1.0"},
		{name: "without a release, for the event's dist", release: "13.0", dist: "web", file: "web.min.js", want: mapOf("web"), wantDist: "web"},
		{name: "without a release, for another dist", release: "13.0", file: "web.min.js", wantErr: artifact.ErrNotFound.Error()},
		{name: "no release: the newest upload", file: "app.min.js", want: mapOf("app4"), wantRelease: "4.0", wantDist: "web"},
		{name: "uploaded nowhere", release: "13.0", file: "other.min.js", wantErr: artifact.ErrNotFound.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, Release: tt.release, Dist: tt.dist, AbsPath: "/srv/shop/dist/" + tt.file})
			if tt.wantErr != "" {
				if !errors.Is(err, artifact.ErrNotFound) || err.Error() != tt.wantErr {
					t.Errorf("Find = %s, %v; want ErrNotFound %q", m.Body, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(m.Body) != tt.want || m.Release != tt.wantRelease || m.Dist != tt.wantDist {
				t.Errorf("Find = %s of %q/%q, %v; want %s of %q/%q", m.Body, m.Release, m.Dist, err, tt.want, tt.wantRelease, tt.wantDist)
			}
		})
	}
}

// QA's case: `sentry-cli sourcemaps inject dist && sentry-cli sourcemaps
// upload dist` (debug IDs, no release), then a build of the same
// static/js/app.min.js without debug IDs deployed as web@3.0.0. Its frames
// must not be mapped by name with the injected build's map, which for
// another build gives wrong places (Sentry finds a bundle uploaded without
// a release by debug ID only); an upload without a release and without
// debug IDs still serves every release by name, as documented.
func TestFindReleaselessDebugIDBundleByDebugIDOnly(t *testing.T) {
	e := newEnv(t, nil)
	injected := `{"version":3,"file":"app.min.js","sources":["../src/app.js"],"names":[],"mappings":";AAAA","debugId":"` + debugID + `"}`
	e.upload("", "", 1<<20,
		minified("~/static/js/app.min.js", debugID, "app.min.js.map", "x()\n//# sourceMappingURL=app.min.js.map\n//# debugId="+debugID+"\n"),
		sourceMap("~/static/js/app.min.js.map", debugID, injected))
	legacy := `{"version":3,"file":"legacy.min.js","sources":["../src/legacy.js"],"names":[],"mappings":"AAAA"}`
	e.upload("", "", 1<<20, minified("~/static/js/legacy.min.js", "", "", "l()\n"), sourceMap("~/static/js/legacy.min.js.map", "", legacy))
	p := e.proj.ID
	const abs = "https://shop.example.com/static/js/app.min.js"

	if m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, DebugID: debugID, Release: "web@3.0.0", AbsPath: abs}); err != nil || string(m.Body) != injected {
		t.Errorf("by its debug ID: Find = %s, %v; want the injected map", m.Body, err)
	}
	for _, tt := range []struct {
		name    string
		q       artifact.Query
		wantErr string
	}{
		{"no debug ID, a release", artifact.Query{Release: "web@3.0.0", AbsPath: abs},
			"no source map of app.min.js for release web@3.0.0: its upload without a release has debug IDs and maps only files that carry the same one," +
				" which this file does not: it is another build — deploy the files `sourcemaps inject` wrote, or upload this build with its --release"},
		{"another debug ID, a release and dist", artifact.Query{DebugID: debugID2, Release: "web@3.0.0", Dist: "web", AbsPath: abs},
			"no source map of app.min.js for release web@3.0.0 (dist web): its upload without a release has debug IDs and maps only files that carry the same one," +
				" which this file does not: it is another build — deploy the files `sourcemaps inject` wrote, or upload this build with its --release"},
		{"no debug ID, no release", artifact.Query{AbsPath: abs},
			"no source map of app.min.js for an event without a release: its upload without a release has debug IDs and maps only files that carry the same one," +
				" which this file does not: it is another build — deploy the files `sourcemaps inject` wrote, or upload this build with its --release"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.ProjectID = p
			m, err := e.s.Find(e.ctx, tt.q)
			var other *artifact.OtherReleasesError
			if !errors.Is(err, artifact.ErrNotFound) || !errors.As(err, &other) || err.Error() != tt.wantErr {
				t.Errorf("Find = %s, %v; want ErrNotFound %q", m.Body, err, tt.wantErr)
			}
		})
	}
	// Once this build is uploaded for its release, its map is used.
	own := `{"version":3,"file":"app.min.js","sources":["../src/app.js"],"names":[],"mappings":"AAAA"}`
	e.upload("web@3.0.0", "", 1<<20, minified("~/static/js/app.min.js", "", "", "x()\n"), sourceMap("~/static/js/app.min.js.map", "", own))
	if m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, Release: "web@3.0.0", AbsPath: "/srv/app.min.js"}); err != nil || string(m.Body) != own {
		t.Errorf("after the release's upload: Find = %s, %v; want its map", m.Body, err)
	}
	// A legacy upload without a release or debug IDs serves every release
	// by name.
	for _, release := range []string{"web@3.0.0", ""} {
		if m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, Release: release, AbsPath: "/srv/legacy.min.js"}); err != nil || string(m.Body) != legacy {
			t.Errorf("legacy upload, release %q: Find = %s, %v; want its map", release, m.Body, err)
		}
	}
}

// QA's case: `sentry-cli sourcemaps inject dist` injects a debug ID into
// run.js, which has no map, and `sourcemaps upload dist` uploads it
// without a release ("no sourcemap found"). A frame of run.js carrying
// that ID is of the uploaded build: the reason is its missing map, not
// another build, though the upload without a release carries debug IDs.
func TestFindDebugIDUploadedWithoutMap(t *testing.T) {
	e := newEnv(t, nil)
	injected := `{"version":3,"file":"app.min.js","sources":["../src/app.js"],"names":[],"mappings":";AAAA","debugId":"` + debugID + `"}`
	e.upload("", "", 1<<20,
		minified("~/app.min.js", debugID, "app.min.js.map", "x()\n//# sourceMappingURL=app.min.js.map\n//# debugId="+debugID+"\n"),
		sourceMap("~/app.min.js.map", debugID, injected),
		minified("~/run.js", debugID2, "", "run()\n//# debugId="+debugID2+"\n"))
	for _, tt := range []struct {
		name, release, abs string
	}{
		{"a release", "web@1.0.0", "http://127.0.0.1:21001/run.js"},
		{"no release", "", "http://127.0.0.1:21001/run.js"},
		{"no path", "web@1.0.0", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: e.proj.ID, DebugID: debugID2, Release: tt.release, AbsPath: tt.abs})
			const want = "~/run.js, the file with debug ID " + debugID2 + ", was uploaded without a source map — " +
				"make the bundler emit a map for it, then inject and upload the build again with its maps"
			var alone *artifact.WithoutMapError
			if !errors.Is(err, artifact.ErrNotFound) || !errors.As(err, &alone) || err.Error() != want {
				t.Errorf("Find = %s, %v; want ErrNotFound %q", m.Body, err, want)
			}
		})
	}
}

// A release deployed again without new uploads: its first build, injected
// with debugID, was uploaded for web@1.0.0, and the frame's file carries
// the next build's debugID2. The release and URL (or name) find the first
// build's map, whose debug ID says it is not the frame's build: it is not
// used. A map without a debug ID (an upload without inject) still serves
// any frame by release and URL, as one side alone cannot tell builds
// apart.
func TestFindRefusesAnotherBuildsDebugID(t *testing.T) {
	e := newEnv(t, nil)
	const chunkID = "8c3e6df5-2e80-5c4a-9f30-4d9c8b3e2f33"
	injected := `{"version":3,"file":"app.min.js","sources":["../src/app.js"],"names":[],"mappings":"AAAA","debugId":"` + debugID + `"}`
	e.upload("web@1.0.0", "", 1<<20,
		minified("~/static/js/app.min.js", debugID, "app.min.js.map", "x()\n//# sourceMappingURL=app.min.js.map\n//# debugId="+debugID+"\n"),
		sourceMap("~/static/js/app.min.js.map", debugID, injected),
		// Only the file carries the ID: the map is the file's build all
		// the same.
		minified("~/static/js/chunk.min.js", chunkID, "chunk.min.js.map", "c()\n//# sourceMappingURL=chunk.min.js.map\n//# debugId="+chunkID+"\n"),
		sourceMap("~/static/js/chunk.min.js.map", "", vendMap),
		minified("~/static/js/vendor.min.js", "", "", "v()\n"),
		sourceMap("~/static/js/vendor.min.js.map", "", vendMap))
	p := e.proj.ID
	for _, tt := range []struct {
		name string
		q    artifact.Query
		// file is the upload refused, "" for a query that finds its map.
		file, fileID string
	}{
		{"by release and URL", artifact.Query{ProjectID: p, DebugID: debugID2, Release: "web@1.0.0", AbsPath: "https://shop.example.com/static/js/app.min.js"},
			"~/static/js/app.min.js", debugID},
		{"by file name", artifact.Query{ProjectID: p, DebugID: debugID2, Release: "web@1.0.0", AbsPath: "app:///app.min.js"}, "~/static/js/app.min.js", debugID},
		{"the minified file's debug ID", artifact.Query{ProjectID: p, DebugID: debugID2, Release: "web@1.0.0", AbsPath: "https://shop.example.com/static/js/chunk.min.js"},
			"~/static/js/chunk.min.js", chunkID},
		{"its own debug ID", artifact.Query{ProjectID: p, DebugID: debugID, Release: "web@1.0.0", AbsPath: "https://shop.example.com/static/js/app.min.js"}, "", ""},
		{"a frame without a debug ID", artifact.Query{ProjectID: p, Release: "web@1.0.0", AbsPath: "https://shop.example.com/static/js/app.min.js"}, "", ""},
		{"an upload without a debug ID", artifact.Query{ProjectID: p, DebugID: debugID2, Release: "web@1.0.0", AbsPath: "https://shop.example.com/static/js/vendor.min.js"}, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := e.s.Find(e.ctx, tt.q)
			if tt.file == "" {
				if err != nil || len(m.Body) == 0 {
					t.Errorf("Find = %s, %v; want a map", m.Body, err)
				}
				return
			}
			want := "the source map found for " + tt.q.AbsPath + " (" + tt.file + ") has debug ID " + tt.fileID + ", and the file has debug ID " + tt.q.DebugID +
				": it is another build's map, and is not used — upload the maps of the deployed build (inject debug IDs into it, deploy it and upload its files)"
			var other *artifact.OtherBuildError
			if !errors.Is(err, artifact.ErrNotFound) || !errors.As(err, &other) || err.Error() != want {
				t.Errorf("Find = %s, %v; want ErrNotFound %q", m.Body, err, want)
			}
		})
	}
}

// TestFindDebugIDSpellings: an upload whose debug ID is written otherwise
// than the canonical dashed lower case an event's is read into (without
// dashes, in capitals, in braces, as a URN) in its bundle's manifest, its
// map's debugId or debug_id or its minified file's debugId comment, is
// found by the event's debug ID alone, uploaded without a release; and
// one uploaded for a release is the frame's own build when found by
// release and URL, not another build's.
func TestFindDebugIDSpellings(t *testing.T) {
	e := newEnv(t, nil)
	p := e.proj.ID
	mapWith := func(name, field, id string) string {
		return `{"version":3,"file":"` + name + `","sources":["../src/` + name + `"],"names":[],"mappings":"AAAA","` + field + `":"` + id + `"}`
	}
	for i, spell := range []struct {
		name string
		fn   func(id string) string
	}{
		{"without dashes", func(id string) string { return strings.ReplaceAll(id, "-", "") }},
		{"capitals without dashes", func(id string) string { return strings.ToUpper(strings.ReplaceAll(id, "-", "")) }},
		{"capitals in braces", func(id string) string { return "{" + strings.ToUpper(id) + "}" }},
		{"URN", func(id string) string { return "urn:uuid:" + id }},
	} {
		// Each upload is a build of its own.
		id := fmt.Sprintf("%08x", i) + debugID[8:]
		legacyID := fmt.Sprintf("%08x", 100+i) + debugID[8:]
		spelled, legacySpelled := spell.fn(id), spell.fn(legacyID)
		name, legacy := fmt.Sprintf("app%d.min.js", i), fmt.Sprintf("legacy%d.min.js", i)
		t.Run(spell.name, func(t *testing.T) {
			// A bundle (sentry-cli's chunk upload and assemble), the
			// ID in its manifest, its map and its minified file.
			e.upload("", "", 1<<20,
				minified("~/static/js/"+name, spelled, name+".map", "x()\n//# sourceMappingURL="+name+".map\n//# debugId="+spelled+"\n"),
				sourceMap("~/static/js/"+name+".map", spelled, mapWith(name, "debugId", spelled)))
			m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, DebugID: id, AbsPath: "https://any.example.com/x.js"})
			if err != nil || m.Body == nil || m.File != "~/static/js/"+name || m.DebugID != id || m.Minified == "" {
				t.Errorf("bundle: Find(%s) = %+v, %v; want %s's map and file, debug ID %s", id, m, err, name, id)
			}
			// Release files (sentry-cli before bundles): the ID in the
			// map's debug_id and the file's comment only.
			for _, f := range []struct{ url, body string }{
				{"~/static/js/" + legacy, "x()\n//# sourceMappingURL=" + legacy + ".map\n//# debugId=" + legacySpelled + "\n"},
				{"~/static/js/" + legacy + ".map", mapWith(legacy, "debug_id", legacySpelled)},
			} {
				if _, err := e.s.SaveReleaseFile(e.ctx, p, "web@0.9.0", "", artifact.BundleFile{URL: f.url},
					strings.NewReader(f.body), int64(len(f.body)), func(int64) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			m, err = e.s.Find(e.ctx, artifact.Query{ProjectID: p, DebugID: legacyID, Release: "web@2.0.0", AbsPath: "https://any.example.com/x.js"})
			if err != nil || m.Body == nil || m.File != "~/static/js/"+legacy || m.DebugID != legacyID {
				t.Errorf("release files: Find(%s) = %+v, %v; want %s's map, debug ID %s", legacyID, m, err, legacy, legacyID)
			}
		})
	}
	// Uploaded for a release with the map alone carrying the ID, found by
	// release and URL: the frame's build.
	written := "{" + strings.ToUpper(debugID2) + "}"
	e.upload("web@1.0.0", "", 1<<20,
		minified("~/static/js/rel.min.js", "", "rel.min.js.map", "x()\n//# sourceMappingURL=rel.min.js.map\n"),
		sourceMap("~/static/js/rel.min.js.map", written, mapWith("rel.min.js", "debugId", written)))
	q := artifact.Query{ProjectID: p, DebugID: debugID2, Release: "web@1.0.0", AbsPath: "https://shop.example.com/static/js/rel.min.js"}
	if m, err := e.s.Find(e.ctx, q); err != nil || len(m.Body) == 0 {
		t.Errorf("by release and URL: Find = %s, %v; want its map", m.Body, err)
	}
}

// TestFindRefusesAnotherBuildWrittenOtherwise: a map of another build
// found by release and URL is refused whatever the spelling of its debug
// ID, which the refusal names canonical.
func TestFindRefusesAnotherBuildWrittenOtherwise(t *testing.T) {
	e := newEnv(t, nil)
	for _, written := range []string{strings.ToUpper(strings.ReplaceAll(debugID, "-", "")), "{" + strings.ToUpper(debugID) + "}"} {
		t.Run(written, func(t *testing.T) {
			name := "app-" + written[:2] + ".min.js"
			injected := `{"version":3,"file":"` + name + `","sources":["../src/app.js"],"names":[],"mappings":"AAAA","debugId":"` + written + `"}`
			e.upload("web@1.0.0", "", 1<<20,
				minified("~/static/js/"+name, written, name+".map", "x()\n//# sourceMappingURL="+name+".map\n//# debugId="+written+"\n"),
				sourceMap("~/static/js/"+name+".map", written, injected))
			q := artifact.Query{ProjectID: e.proj.ID, DebugID: debugID2, Release: "web@1.0.0", AbsPath: "https://shop.example.com/static/js/" + name}
			m, err := e.s.Find(e.ctx, q)
			var other *artifact.OtherBuildError
			if !errors.As(err, &other) || other.FileDebugID != debugID || other.DebugID != debugID2 {
				t.Errorf("Find = %s, %v; want another build's, debug ID %s", m.Body, err, debugID)
			}
		})
	}
}

func testFind(t *testing.T, e *env) {
	inline := "//# sourceMappingURL=data:application/json;base64," + base64.StdEncoding.EncodeToString([]byte(vendMap))
	// Debug-ID bundle, uploaded without a release.
	e.upload("", "", 300,
		minified("~/static/js/app.min.js", debugID, "app.min.js.map", "x()\n//# sourceMappingURL=app.min.js.map\n//# debugId="+debugID+"\n"),
		sourceMap("~/static/js/app.min.js.map", debugID, appMap))
	// Release bundle: one file whose map is found through its comment, one
	// by <file>.map, one inline.
	res := e.upload("1.0", "web", 1<<20,
		minified("~/static/js/app.min.js", "", "", "x()\n//# sourceMappingURL=maps/app.js.map\n"),
		sourceMap("~/static/js/maps/app.js.map", "", appMap),
		minified("~/static/js/vendor.min.js", "", "", "v()\n"),
		sourceMap("~/static/js/vendor.min.js.map", "", vendMap),
		minified("https://cdn.example.com/lib.min.js", "", "", "l()\n"+inline+"\n"),
		sourceMap("~/static/js/alone.min.js.map", "", appMap),
	)
	if res.Files != 6 {
		t.Errorf("Assemble stored %d files, want 6", res.Files)
	}
	p := e.proj.ID
	// wantSource is the minified file Source reads for the map found.
	tests := []struct {
		name       string
		q          artifact.Query
		wantBody   string
		wantFile   string
		wantSource string
	}{
		{"debug ID", artifact.Query{ProjectID: p, DebugID: debugID, AbsPath: "https://any/x.js"}, appMap, "~/static/js/app.min.js", "x()\n//# sourceMappingURL=app.min.js.map\n//# debugId=" + debugID + "\n"},
		{"debug ID upper case", artifact.Query{ProjectID: p, DebugID: "6A1C4BD3-0C6E-5A28-9D1E-2B7A6F1C0D11"}, appMap, "~/static/js/app.min.js", "x()\n//# sourceMappingURL=app.min.js.map\n//# debugId=" + debugID + "\n"},
		{"release + ~/ on any host, via the comment", artifact.Query{ProjectID: p, Release: "1.0", Dist: "web", AbsPath: "https://shop.example.com/static/js/app.min.js?v=3"}, appMap, "~/static/js/app.min.js", "x()\n//# sourceMappingURL=maps/app.js.map\n"},
		{"release + <file>.map", artifact.Query{ProjectID: p, Release: "1.0", Dist: "web", AbsPath: "http://localhost:3000/static/js/vendor.min.js"}, vendMap, "~/static/js/vendor.min.js", "v()\n"},
		{"release + full URL, inline map", artifact.Query{ProjectID: p, Release: "1.0", Dist: "web", AbsPath: "https://cdn.example.com/lib.min.js"}, vendMap, "https://cdn.example.com/lib.min.js", "l()\n" + inline + "\n"},
		{"unknown debug ID falls back to the name", artifact.Query{ProjectID: p, DebugID: debugID2, AbsPath: "app:///vendor.min.js"}, vendMap, "~/static/js/vendor.min.js", "v()\n"},
		{"a map uploaded alone", artifact.Query{ProjectID: p, Release: "1.0", Dist: "web", AbsPath: "https://x/static/js/alone.min.js"}, appMap, "~/static/js/alone.min.js", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := e.s.Find(e.ctx, tt.q)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			if string(m.Body) != tt.wantBody || m.File != tt.wantFile || m.Key != key(tt.wantBody) {
				t.Errorf("Find = {Key %s File %s Body %s}, want {Key %s File %s Body %s}", m.Key, m.File, m.Body, key(tt.wantBody), tt.wantFile, tt.wantBody)
			}
			if tt.wantSource == "" {
				if m.Minified != "" {
					t.Errorf("Minified = %q for a map uploaded without its file", m.Minified)
				}
				return
			}
			if src, err := e.s.Source(e.ctx, m.Minified); err != nil || string(src) != tt.wantSource {
				t.Errorf("Source(%q) = %q, %v; want %q", m.Minified, src, err, tt.wantSource)
			}
		})
	}
	for _, q := range []artifact.Query{
		{ProjectID: p, AbsPath: "https://x/static/js/other.min.js"},
		{ProjectID: p, DebugID: debugID2},
		{ProjectID: p + 1, DebugID: debugID, AbsPath: "https://x/static/js/app.min.js"},
		// Another dist's build is another build.
		{ProjectID: p, Release: "1.0", AbsPath: "https://x/static/js/vendor.min.js"},
		{ProjectID: p},
	} {
		if _, err := e.s.Find(e.ctx, q); !errors.Is(err, artifact.ErrNotFound) {
			t.Errorf("Find(%+v) err = %v, want ErrNotFound", q, err)
		}
	}
}

func TestCleanup(t *testing.T) {
	e := newEnv(t, nil)
	e.upload("1.0", "", 100, minified("~/a.min.js", "", "", "a()\n"), sourceMap("~/a.min.js.map", "", appMap))
	e.upload("", "", 100, sourceMap("~/b.min.js.map", debugID, vendMap))
	count := func(prefix string) int {
		n := 0
		if err := e.blobs.List(e.ctx, prefix, func(string, time.Time) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if c, err := e.s.Cleanup(e.ctx, time.Now()); err != nil || c != (artifact.Cleaned{}) {
		t.Errorf("Cleanup now = %+v, %v; want nothing deleted (all referenced or recent)", c, err)
	}
	if err := e.db.DeleteReleases(e.ctx, store.System, []int64{e.proj.ID}, "1.0"); err != nil {
		t.Fatal(err)
	}
	chunks := count("chunks/")
	var sums []string
	if err := e.blobs.List(e.ctx, "chunks/", func(k string, _ time.Time) error {
		sums = append(sums, strings.TrimPrefix(k, "chunks/"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c, err := e.s.Cleanup(e.ctx, time.Now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.Files != 2 || c.Chunks != int64(chunks) {
		t.Errorf("Cleanup = %+v, want the release's 2 file blobs and %d chunks", c, chunks)
	}
	if mine, err := e.db.ChunksUploadedBy(e.ctx, e.user.ID, sums); err != nil || len(mine) != 0 {
		t.Errorf("after cleanup the user still has %d of %d chunks recorded, %v; want none", len(mine), len(sums), err)
	}
	if n := count("files/"); n != 1 {
		t.Errorf("%d file blobs left, want the debug-ID bundle's 1", n)
	}
	if _, err := e.s.Find(e.ctx, artifact.Query{ProjectID: e.proj.ID, DebugID: debugID}); err != nil {
		t.Errorf("the debug-ID map after cleanup: %v", err)
	}
}

func TestChunksRefused(t *testing.T) {
	e := newEnv(t, nil)
	sum := sha1.Sum([]byte("data"))
	tests := []struct {
		name     string
		checksum string
		data     []byte
	}{
		{"not a SHA-1", "../../etc/passwd", []byte("data")},
		{"upper case", "A" + hex.EncodeToString(sum[:])[1:], []byte("data")},
		{"wrong checksum", hex.EncodeToString(sum[:]), []byte("other")},
		{"too large", hex.EncodeToString(sum[:]), make([]byte, artifact.ChunkSize+1)},
	}
	for _, tt := range tests {
		var be *artifact.BundleError
		if err := e.s.SaveChunk(e.ctx, e.user.ID, tt.checksum, tt.data); !errors.As(err, &be) {
			t.Errorf("%s: SaveChunk err = %v, want a BundleError", tt.name, err)
		}
	}
	// Assembling chunks that do not add up to the checksum.
	good := sha1.Sum([]byte("chunk"))
	if err := e.s.SaveChunk(e.ctx, e.user.ID, hex.EncodeToString(good[:]), []byte("chunk")); err != nil {
		t.Fatal(err)
	}
	_, err := e.s.Assemble(e.ctx, artifact.AssembleRequest{UserID: e.user.ID, ProjectIDs: []int64{e.proj.ID}, Checksum: hex.EncodeToString(sum[:]), Chunks: []string{hex.EncodeToString(good[:])}})
	var be *artifact.BundleError
	if !errors.As(err, &be) {
		t.Errorf("Assemble of mismatched chunks: err = %v, want a BundleError", err)
	}
}

func TestBlobKeys(t *testing.T) {
	d := artifact.Dir{Root: t.TempDir()}
	ctx := context.Background()
	for _, k := range []string{"", "../x", "files/../../x", "/abs", "files/", "files//a", "Files/A", "files/a.b", `files\a`} {
		if err := d.Put(ctx, k, []byte("x")); err == nil {
			t.Errorf("Put(%q) accepted an unsafe key", k)
		}
		if _, err := d.Get(ctx, k, 10); err == nil || errors.Is(err, artifact.ErrBlobNotFound) {
			t.Errorf("Get(%q) = %v, want an invalid key error", k, err)
		}
	}
	if err := d.Put(ctx, "files/ab12", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(ctx, "files/ab12", 4); err == nil {
		t.Error("Get over the limit succeeded")
	}
	if b, err := d.Get(ctx, "files/ab12", 5); err != nil || string(b) != "hello" {
		t.Errorf("Get = %q, %v", b, err)
	}
	if _, err := d.Get(ctx, "files/cd34", 5); !errors.Is(err, artifact.ErrBlobNotFound) {
		t.Errorf("Get(missing) = %v, want ErrBlobNotFound", err)
	}
	if err := d.Delete(ctx, "files/cd34"); err != nil {
		t.Errorf("Delete(missing) = %v", err)
	}
}

// A Node build with two index.js in different directories, uploaded by
// release without debug IDs: a frame's file finds the upload whose URL
// ends like its path, whichever was uploaded last, and a path that fits
// neither better is reported, not given the newest.
func TestFindByNameLongestPathSuffix(t *testing.T) {
	e := newEnv(t, nil)
	const (
		serverMap  = `{"version":3,"file":"index.js","sources":["../src/server.ts"],"names":[],"mappings":"AAAA"}`
		serverMap2 = `{"version":3,"file":"index.js","sources":["../src/server2.ts"],"names":[],"mappings":"AAAA"}`
		workerMap  = `{"version":3,"file":"index.js","sources":["../src/worker.ts"],"names":[],"mappings":"AAAA"}`
	)
	js := "x()\n//# sourceMappingURL=index.js.map\n"
	e.upload("multi-1", "", 1<<20,
		minified("~/server/index.js", "", "", js), sourceMap("~/server/index.js.map", "", serverMap),
		minified("~/worker/index.js", "", "", js), sourceMap("~/worker/index.js.map", "", workerMap))
	e.upload("multi-1", "", 1<<20, minified("~/server/index.js", "", "", js), sourceMap("~/server/index.js.map", "", serverMap2))
	// Another release's build, newer still, with the same layout.
	e.upload("multi-0", "", 1<<20, minified("~/worker/index.js", "", "", js), sourceMap("~/worker/index.js.map", "", appMap))
	p := e.proj.ID
	for _, tt := range []struct {
		name, release, absPath, want string
	}{
		{"worker", "multi-1", "/srv/app/dist/worker/index.js", workerMap},
		{"server, re-uploaded", "multi-1", "/srv/app/dist/server/index.js", serverMap2},
		{"file URL", "multi-1", "file:///srv/app/dist/worker/index.js", workerMap},
		{"the event's release first", "multi-0", "/srv/app/dist/server/index.js", appMap},
		{"no release: the longest suffix", "", "/srv/app/dist/server/index.js", serverMap2},
	} {
		m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, Release: tt.release, AbsPath: tt.absPath})
		if err != nil || string(m.Body) != tt.want {
			t.Errorf("%s: Find(%s) = %s, %v; want %s", tt.name, tt.absPath, m.Body, err, tt.want)
		}
	}
	for _, absPath := range []string{"/srv/app/dist/index.js", "/srv/app/dist/other/index.js"} {
		var amb *artifact.AmbiguousError
		if m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, Release: "multi-1", AbsPath: absPath}); !errors.As(err, &amb) {
			t.Errorf("Find(%s) = %s, %v; want an AmbiguousError", absPath, m.Body, err)
		}
	}
	// Two files with one map are not ambiguous.
	e.upload("same", "", 1<<20,
		minified("~/a/index.js", "", "", js), sourceMap("~/a/index.js.map", "", workerMap),
		minified("~/b/index.js", "", "", js), sourceMap("~/b/index.js.map", "", workerMap))
	if m, err := e.s.Find(e.ctx, artifact.Query{ProjectID: p, Release: "same", AbsPath: "/srv/index.js"}); err != nil || string(m.Body) != workerMap {
		t.Errorf("two uploads of one map: Find = %s, %v; want %s", m.Body, err, workerMap)
	}
}

// TestSaveReleaseFileCharges: a legacy release file is charged before it
// is stored, and a refused charge stores nothing; the same file again
// for the release is the bundle stored before, free.
func TestSaveReleaseFileCharges(t *testing.T) {
	e := newEnv(t, nil)
	body := "x()\n//# sourceMappingURL=app.min.js.map\n"
	var charged []int64
	save := func(refuse error) (store.ArtifactBundle, error) {
		return e.s.SaveReleaseFile(e.ctx, e.proj.ID, "1.0", "", artifact.BundleFile{URL: "~/app.min.js"}, strings.NewReader(body), int64(len(body)),
			func(n int64) error { charged = append(charged, n); return refuse })
	}
	refused := errors.New("over quota")
	if _, err := save(refused); err != refused {
		t.Fatalf("refused charge: err = %v, want it as it is", err)
	}
	if bs, _ := e.db.ListArtifactBundles(e.ctx, store.System, e.proj.ID, ""); len(bs) != 0 {
		t.Errorf("a refused charge stored %d bundles", len(bs))
	}
	first, err := save(nil)
	if err != nil || first.FileCount != 1 {
		t.Fatalf("SaveReleaseFile = %+v, %v", first, err)
	}
	again, err := save(nil)
	if err != nil || again.ID != first.ID {
		t.Errorf("the same file again = %+v, %v; want bundle %d", again, err, first.ID)
	}
	if want := []int64{int64(len(body)), int64(len(body))}; !slices.Equal(charged, want) {
		t.Errorf("charged %v, want %v: the refused try and the first save, not the repeat", charged, want)
	}
}
