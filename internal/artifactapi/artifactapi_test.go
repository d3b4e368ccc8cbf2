package artifactapi_test

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/artifactapi"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/fulldisk"
)

type env struct {
	t        *testing.T
	db       *store.DB
	store    *artifact.Store
	srv      *httptest.Server
	token    string
	outsider string
	readOnly string
	proj     store.Project
	// blobs is where the chunks and files are stored.
	blobs string
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith is newEnv with the handler adjusted by configure (when not
// nil) before it serves.
func newEnvWith(t *testing.T, configure func(*artifactapi.Handler)) *env {
	return newEnvOn(t, filepath.Join(t.TempDir(), "a.db"), configure)
}

// newEnvOn is newEnvWith over the database dsn names.
func newEnvOn(t *testing.T, dsn string, configure func(*artifactapi.Handler)) *env {
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin, _ := db.CreateUser(ctx, "a@example.com", "h", store.RoleAdmin)
	other, _ := db.CreateUser(ctx, "o@example.com", "h", store.RoleMember)
	token, _, _ := db.CreateAPIToken(ctx, admin.ID, "ci")
	outsider, _, _ := db.CreateAPIToken(ctx, other.ID, "ci")
	readOnly, _, _ := db.IssueAPIToken(ctx, admin.ID, store.NewAPIToken{Name: "viewer", Scope: store.ScopeReadOnly})
	p, err := db.CreateProject(ctx, "Web Shop")
	if err != nil {
		t.Fatal(err)
	}
	blobs := t.TempDir()
	s := artifact.New(db, artifact.Dir{Root: blobs}, artifact.DefaultLimits)
	// After the captured bodies' dates: deploys may not be dated ahead.
	now := func() time.Time { return time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC) }
	h := artifactapi.New(db, s, slog.New(slog.DiscardHandler), now)
	if configure != nil {
		configure(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, store: s, srv: srv, token: token, outsider: outsider, readOnly: readOnly, proj: p, blobs: blobs}
}

// do sends a request with the admin's token and decodes a JSON answer
// into out (when not nil); it returns the status.
func (e *env) do(method, path, contentType string, body io.Reader, out any) int {
	return e.doAs(e.token, method, path, contentType, body, out)
}

func (e *env) doAs(token, method, path, contentType string, body io.Reader, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

func sha(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// chunkBody is a multipart body of gzipped chunks, as sentry-cli sends.
func chunkBody(t *testing.T, chunks ...[]byte) (string, *bytes.Buffer) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, c := range chunks {
		w, err := mw.CreateFormFile("file_gzip", sha(c))
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(w)
		zw.Write(c)
		zw.Close()
	}
	mw.Close()
	return mw.FormDataContentType(), &buf
}

type assembleResponse struct {
	State         string   `json:"state"`
	MissingChunks []string `json:"missingChunks"`
	Detail        string   `json:"detail"`
}

// assemble runs sentry-cli's protocol for bundle: assemble, upload the
// missing chunks, assemble again.
func (e *env) assemble(bundle []byte, project, version string) (int, assembleResponse) {
	e.t.Helper()
	return e.assembleAt("/api/0/organizations/any/artifactbundle/assemble/", bundle, map[string]any{"projects": []string{project}, "version": version})
}

// assembleAt is assemble at path, with fields added to the checksums in
// the body.
func (e *env) assembleAt(path string, bundle []byte, fields map[string]any) (int, assembleResponse) {
	e.t.Helper()
	var chunks [][]byte
	var sums []string
	for data := bundle; len(data) > 0; {
		c := data[:min(len(data), 4096)]
		data = data[len(c):]
		chunks = append(chunks, c)
		sums = append(sums, sha(c))
	}
	body := map[string]any{"checksum": sha(bundle), "chunks": sums}
	maps.Copy(body, fields)
	req, _ := json.Marshal(body)
	var first assembleResponse
	if code := e.do("POST", path, "application/json", bytes.NewReader(req), &first); code != 200 || first.State != "not_found" {
		e.t.Fatalf("first assemble: %d %+v", code, first)
	}
	ct, chunkReq := chunkBody(e.t, chunks...)
	if code := e.do("POST", "/api/0/organizations/any/chunk-upload/", ct, chunkReq, nil); code != 200 {
		e.t.Fatalf("chunk upload: %d", code)
	}
	var res assembleResponse
	code := e.do("POST", path, "application/json", bytes.NewReader(req), &res)
	return code, res
}

// TestReleaseAssemble: sentry-cli before 2.15 assembles source maps as a
// release's bundle, naming no project: it lands in the projects that have
// the release, with its manifest's dist; a release no project of the
// user's has is a 404 (sentry-cli's "Release not found"), and a manifest
// naming another release a 400.
func TestReleaseAssemble(t *testing.T) {
	e := newEnv(t)
	const m = `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}`
	bundle := func(release string) []byte {
		var buf bytes.Buffer
		artifact.WriteBundle(&buf, map[string]string{"org": "any", "release": release, "dist": "web"}, []artifact.BundleFile{
			{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", Data: []byte("x()\n//# sourceMappingURL=app.min.js.map\n"), SourceMap: "app.min.js.map"},
			{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", Data: []byte(m)},
		})
		return buf.Bytes()
	}
	var detail map[string]any
	if code := e.do("POST", "/api/0/organizations/any/releases/4.0/assemble/", "application/json",
		strings.NewReader(`{"checksum":"`+sha(bundle("4.0"))+`","chunks":[]}`), &detail); code != 404 {
		t.Errorf("assemble for a release nobody has: %d %v, want 404", code, detail)
	}
	if code := e.do("POST", "/api/0/organizations/any/releases/", "application/json", strings.NewReader(`{"version":"4.0","projects":["web-shop"]}`), nil); code != 201 {
		t.Fatalf("releases new: %d", code)
	}
	if code, res := e.assembleAt("/api/0/organizations/any/releases/4.0/assemble/", bundle("3.0"), nil); code != 400 || !strings.Contains(res.Detail, `for release "3.0", not "4.0"`) {
		t.Errorf("a bundle of another release: %d %+v, want 400 naming both", code, res)
	}
	code, res := e.assembleAt("/api/0/organizations/any/releases/4.0/assemble/", bundle("4.0"), nil)
	if code != 200 || res.State != "ok" {
		t.Fatalf("assemble: %d %+v", code, res)
	}
	got, err := e.store.Find(context.Background(), artifact.Query{ProjectID: e.proj.ID, Release: "4.0", Dist: "web", AbsPath: "https://x/static/js/app.min.js"})
	if err != nil || string(got.Body) != m {
		t.Errorf("Find(4.0, dist web) after the release's bundle = %s, %v", got.Body, err)
	}
}

// TestBearerSchemeAnyCase: sentry-cli's routes read the token whatever
// the case of the scheme's name, which RFC 9110 makes case-insensitive.
func TestBearerSchemeAnyCase(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + e.token, 200},
		{"bearer " + e.token, 200},
		{"BEARER " + e.token, 200},
		{"bearer", 401},
		{"Basic " + e.token, 401},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/0/organizations/x/chunk-upload/", nil)
		req.Header.Set("Authorization", tc.header)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("Authorization: %.12s…: %d, want %d", tc.header, resp.StatusCode, tc.want)
		}
	}
}

func TestUploadFlow(t *testing.T) {
	e := newEnv(t)
	var opts map[string]any
	if code := e.do("GET", "/api/0/organizations/flytrap/chunk-upload/", "", nil, &opts); code != 200 {
		t.Fatalf("chunk-upload options: %d", code)
	}
	if opts["url"] != e.srv.URL+"/api/0/organizations/flytrap/chunk-upload/" || opts["hashAlgorithm"] != "sha1" || toStrings(opts["compression"])[0] != "gzip" {
		t.Errorf("options = %v", opts)
	}
	// sentry-cli 2.x uploads source maps as chunks only with
	// release_files, and assembles them as an artifact bundle only with
	// artifact_bundles; _v2 has it ask which chunks are missing first.
	if got, want := toStrings(opts["accept"]), []string{"release_files", "artifact_bundles", "artifact_bundles_v2"}; !slices.Equal(got, want) {
		t.Errorf("accept = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	const m = `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}`
	artifact.WriteBundle(&buf, nil, []artifact.BundleFile{
		{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", Data: []byte("x()\n" + strings.Repeat("//pad\n", 3000))},
		{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", Data: []byte(m)},
	})
	code, res := e.assemble(buf.Bytes(), "web-shop", "1.0")
	if code != 200 || res.State != "ok" {
		t.Fatalf("assemble: %d %+v", code, res)
	}
	got, err := e.store.Find(context.Background(), artifact.Query{ProjectID: e.proj.ID, Release: "1.0", AbsPath: "https://x/static/js/app.min.js"})
	if err != nil || string(got.Body) != m {
		t.Errorf("Find after upload = %s, %v", got.Body, err)
	}

	// Releases: the upload created 1.0; sentry-cli releases new/list/delete.
	var rel map[string]any
	if code := e.do("POST", "/api/0/organizations/any/releases/", "application/json", strings.NewReader(`{"version":"2.0","projects":["Web Shop"]}`), &rel); code != 201 || rel["version"] != "2.0" {
		t.Errorf("create release: %d %v", code, rel)
	}
	var list []map[string]any
	if code := e.do("GET", "/api/0/projects/any/"+itoa(e.proj.ID)+"/releases/", "", nil, &list); code != 200 || len(list) != 2 {
		t.Errorf("list releases: %d %v", code, list)
	}
	if code := e.do("GET", "/api/0/organizations/any/releases/1.0/", "", nil, &rel); code != 200 || rel["version"] != "1.0" {
		t.Errorf("get release: %d %v", code, rel)
	}
	if code := e.do("DELETE", "/api/0/organizations/any/releases/1.0/", "", nil, nil); code != 204 {
		t.Errorf("delete release: %d", code)
	}
	if _, err := e.store.Find(context.Background(), artifact.Query{ProjectID: e.proj.ID, Release: "1.0", AbsPath: "https://x/static/js/app.min.js"}); err != artifact.ErrNotFound {
		t.Errorf("Find after deleting the release: %v, want ErrNotFound", err)
	}
	if code := e.do("GET", "/api/0/organizations/any/releases/1.0/", "", nil, nil); code != 404 {
		t.Errorf("get deleted release: %d", code)
	}
}

// TestDebugIDSpellingsUploaded: a debug-ID bundle whose manifest writes
// an ID in capitals in braces, as sentry-cli's chunk upload and assemble
// send it, is found by the event's canonical ID; a debug-id header that
// is no debug ID is accepted (200), the file found as one without a
// debug ID by release and URL.
func TestDebugIDSpellingsUploaded(t *testing.T) {
	e := newEnv(t)
	const id = "c0ffee00-1111-4222-8333-444455556666"
	mapOf := func(name string) string {
		return `{"version":3,"file":"` + name + `","sources":["` + name + `.src"],"names":[],"mappings":"AAAA"}`
	}
	var buf bytes.Buffer
	artifact.WriteBundle(&buf, nil, []artifact.BundleFile{
		{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", DebugID: "{" + strings.ToUpper(id) + "}", Data: []byte("x()\n")},
		{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", DebugID: "{" + strings.ToUpper(id) + "}", Data: []byte(mapOf("app.min.js"))},
		{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/odd.min.js", DebugID: "__SENTRY_DEBUG_ID__", Data: []byte("y()\n")},
		{Kind: store.ArtifactSourceMap, URL: "~/static/js/odd.min.js.map", DebugID: "__SENTRY_DEBUG_ID__", Data: []byte(mapOf("odd.min.js"))},
	})
	if code, res := e.assemble(buf.Bytes(), "web-shop", "2.0"); code != 200 || res.State != "ok" {
		t.Fatalf("assemble: %d %+v", code, res)
	}
	got, err := e.store.Find(context.Background(), artifact.Query{ProjectID: e.proj.ID, DebugID: id, AbsPath: "https://x/elsewhere.js"})
	if err != nil || string(got.Body) != mapOf("app.min.js") || got.DebugID != id {
		t.Errorf("Find(%s) = %s (debug ID %q), %v; want app.min.js's map", id, got.Body, got.DebugID, err)
	}
	// A frame of another ID: the odd upload carries none to tell it
	// another build's.
	got, err = e.store.Find(context.Background(), artifact.Query{ProjectID: e.proj.ID, DebugID: "d0000000-1111-4222-8333-444455556666", Release: "2.0", AbsPath: "https://x/static/js/odd.min.js"})
	if err != nil || string(got.Body) != mapOf("odd.min.js") || got.DebugID != "" {
		t.Errorf("Find(2.0, odd.min.js) = %s (debug ID %q), %v; want its map, without a debug ID", got.Body, got.DebugID, err)
	}
}

// TestLegacyReleaseFiles uploads a minified file and its map one by one,
// as sentry-cli did before artifact bundles.
func TestLegacyReleaseFiles(t *testing.T) {
	e := newEnv(t)
	const m = `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}`
	upload := func(name, body string, fields ...string) (int, map[string]any) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		for i := 0; i+1 < len(fields); i += 2 {
			mw.WriteField(fields[i], fields[i+1])
		}
		w, _ := mw.CreateFormFile("file", name)
		w.Write([]byte(body))
		mw.Close()
		var out map[string]any
		code := e.do("POST", "/api/0/projects/any/web-shop/releases/legacy-1/files/", mw.FormDataContentType(), &buf, &out)
		return code, out
	}
	if code, out := upload("app.min.js", "x()\n", "name", "~/js/app.min.js", "header", "Sourcemap: maps/app.map"); code != 201 || out["name"] != "~/js/app.min.js" {
		t.Fatalf("upload minified: %d %v", code, out)
	}
	if code, out := upload("app.map", m, "name", "~/js/maps/app.map"); code != 201 || out["sha1"] != sha([]byte(m)) {
		t.Fatalf("upload map: %d %v", code, out)
	}
	got, err := e.store.Find(context.Background(), artifact.Query{ProjectID: e.proj.ID, Release: "legacy-1", AbsPath: "https://cdn.example/js/app.min.js"})
	if err != nil || string(got.Body) != m {
		t.Errorf("Find = %s, %v; want the map the Sourcemap header names", got.Body, err)
	}
	if code, out := upload("broken.js.map", `{"version":3`, "name", "~/js/broken.js.map"); code != 400 || !strings.Contains(out["detail"].(string), "not a JSON source map") {
		t.Errorf("broken map: %d %v, want 400", code, out)
	}
	if code, out := upload("b.js", "y()\n", "file", "x()\n"); code != 400 || !strings.Contains(out["detail"].(string), "more than one file field") {
		t.Errorf("two files: %d %v, want 400", code, out)
	}
	// Names are URLs, checked as a bundle's are: one holding a control
	// character is refused; `..` and absolute paths are kept as given,
	// nothing being written under a name (a Node server's files are
	// named by absolute path).
	for _, tc := range []struct {
		name       string
		code       int
		wantDetail string
	}{
		{"~/static/app.js.map", 201, ""},
		{"/app/dist/x.map", 201, ""},
		{"../../x.map", 201, ""},
		{"app:///../etc/x.map", 201, ""},
		{"~/a\x00.map", 400, `release file: file name "~/a\x00.map" holds a control character`},
		{"~/\x1b[31mapp.js.map", 400, "holds a control character"},
		{"~/app\u202e.js.map", 400, "holds a control character"},
	} {
		code, out := upload("x.map", m, "name", tc.name)
		detail, _ := out["detail"].(string)
		if code != tc.code || !strings.Contains(detail, tc.wantDetail) {
			t.Errorf("name %q: %d %v, want %d %q", tc.name, code, out, tc.code, tc.wantDetail)
		}
		if code == 201 && out["name"] != tc.name {
			t.Errorf("name %q: stored as %v", tc.name, out["name"])
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestReleaseAssembleToManifestProject: sentry-cli 1.47 to 2.14 name no
// project in the release's assemble request, but put the --project they
// were given in the bundle's manifest; the bundle goes to that project
// alone, which must be the user's and have the release, and to every
// project with the release only when the manifest names none.
func TestReleaseAssembleToManifestProject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	web2, err := e.db.CreateProject(ctx, "web2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.CreateProject(ctx, "Other"); err != nil {
		t.Fatal(err)
	}
	if code := e.do("POST", "/api/0/organizations/any/releases/", "application/json", strings.NewReader(`{"version":"1.0","projects":["web-shop","web2"]}`), nil); code != 201 {
		t.Fatalf("releases new: %d", code)
	}
	const m = `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}`
	tests := []struct {
		name, project string
		// in are the projects the bundle lands in; detail the 400's.
		in     []int64
		detail string
	}{
		{"no project", "", []int64{e.proj.ID, web2.ID}, ""},
		{"a name", "web2", []int64{web2.ID}, ""},
		{"a slug", "web-shop", []int64{e.proj.ID}, ""},
		{"an ID", fmt.Sprint(web2.ID), []int64{web2.ID}, ""},
		{"a project without the release", "other", nil, `project "Other" has no release "1.0": create it there first (sentry-cli releases new -p other 1.0)`},
		{"nobody's project", "nope", nil, `names project "nope", which is not a project you are a member of`},
	}
	for _, tt := range tests {
		attrs := map[string]string{"org": "any", "release": "1.0", "dist": "web", "note": tt.name}
		if tt.project != "" {
			attrs["project"] = tt.project
		}
		var buf bytes.Buffer
		artifact.WriteBundle(&buf, attrs, []artifact.BundleFile{
			{Kind: store.ArtifactMinifiedSource, URL: "~/app.min.js", Data: []byte("x()\n//# sourceMappingURL=app.min.js.map\n"), SourceMap: "app.min.js.map"},
			{Kind: store.ArtifactSourceMap, URL: "~/app.min.js.map", Data: []byte(m)},
		})
		code, res := e.assembleAt("/api/0/organizations/any/releases/1.0/assemble/", buf.Bytes(), nil)
		if tt.detail != "" {
			if code != 400 || !strings.Contains(res.Detail, tt.detail) {
				t.Errorf("%s: assemble = %d %+v, want 400 saying %s", tt.name, code, res, tt.detail)
			}
			continue
		}
		if code != 200 || res.State != "ok" {
			t.Errorf("%s: assemble = %d %+v, want ok", tt.name, code, res)
			continue
		}
		for _, p := range []int64{e.proj.ID, web2.ID} {
			_, err := e.db.ArtifactBundleByChecksum(ctx, p, sha(buf.Bytes()))
			if want := slices.Contains(tt.in, p); (err == nil) != want {
				t.Errorf("%s: the bundle in project %d: %v, want it there: %v", tt.name, p, err, want)
			}
		}
	}
}

// failingStore fails releases new and deploys with err.
type failingStore struct {
	*store.DB
	err error
}

func (f failingStore) CreateRelease(context.Context, store.Viewer, int64, string, time.Time) (store.Release, error) {
	return store.Release{}, fmt.Errorf("store: create release: %w", f.err)
}

func (f failingStore) CreateDeploy(context.Context, store.Viewer, store.Deploy, time.Time) (store.Deploy, error) {
	return store.Deploy{}, fmt.Errorf("store: create deploy: %w", f.err)
}

// nearlyFullStore is failingStore on a disk it reports 8 KiB free on.
type nearlyFullStore struct{ failingStore }

func (nearlyFullStore) DiskFull(err error) bool {
	return store.DiskFullIn(err, "/data", func(string) (uint64, error) { return 8 << 10, nil })
}

// fullDisk fails to write chunks as a full disk does.
type fullDisk struct{ *artifact.Store }

func (fullDisk) SaveChunk(context.Context, int64, string, []byte) error {
	return &os.PathError{Op: "write", Path: "/var/lib/flytrap/artifacts/chunks/x", Err: syscall.ENOSPC}
}

// TestUnavailable: a full disk or a database that cannot be reached is a
// 503 with Retry-After and a detail saying which, which sentry-cli prints,
// for uploads, releases new and deploys alike, not a 500; text PostgreSQL
// cannot hold is a 400 saying so.
func TestUnavailable(t *testing.T) {
	e := newEnv(t)
	if code := e.do("POST", "/api/0/organizations/x/releases/", "application/json", strings.NewReader(`{"version":"1.0","projects":["web-shop"]}`), nil); code != 201 {
		t.Fatalf("releases new: %d", code)
	}
	diskFull := &pgconn.PgError{Code: "53100", Message: "could not extend file"}
	ct, chunks := chunkBody(t, []byte("chunk"))
	tests := []struct {
		name      string
		store     artifactapi.Store
		artifacts artifactapi.Artifacts
		method    string
		path      string
		ct, body  string
		detail    string
	}{
		{"releases new, database disk full", failingStore{e.db, diskFull}, e.store,
			"POST", "/api/0/organizations/x/releases/", "application/json", `{"version":"2.0","projects":["web-shop"]}`, "the server's disk is full"},
		{"releases new, SQLite's I/O error on a nearly full disk", nearlyFullStore{failingStore{e.db, fulldisk.ShmSizeError(t)}}, e.store,
			"POST", "/api/0/organizations/x/releases/", "application/json", `{"version":"2.1","projects":["web-shop"]}`, "the server's disk is full"},
		{"deploys new, database down", failingStore{e.db, driver.ErrBadConn}, e.store,
			"POST", "/api/0/organizations/x/releases/1.0/deploys/", "application/json", `{"environment":"prod"}`, "database is not reachable"},
		{"chunk upload, disk full", e.db, fullDisk{e.store},
			"POST", "/api/0/organizations/x/chunk-upload/", ct, chunks.String(), "the server's disk is full"},
		{"deploys new, text PostgreSQL cannot hold", failingStore{e.db, &pgconn.PgError{Code: "22021"}}, e.store,
			"POST", "/api/0/organizations/x/releases/1.0/deploys/", "application/json", `{"environment":"prod"}`, "invalid text"},
	}
	for _, tt := range tests {
		if s, ok := tt.store.(nearlyFullStore); ok && s.err == nil {
			t.Logf("%s: skipped: needs root to mount a small tmpfs", tt.name)
			continue
		}
		srv := httptest.NewServer(artifactapi.New(tt.store, tt.artifacts, slog.New(slog.DiscardHandler), nil))
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", tt.ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Detail string }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		srv.Close()
		wantCode, wantRetry := 503, "5"
		if tt.detail == "invalid text" {
			wantCode, wantRetry = 400, ""
		}
		if resp.StatusCode != wantCode || resp.Header.Get("Retry-After") != wantRetry || !strings.Contains(out.Detail, tt.detail) {
			t.Errorf("%s: %d, Retry-After %q, %q; want %d, %q and a detail saying %s", tt.name, resp.StatusCode, resp.Header.Get("Retry-After"), out.Detail, wantCode, wantRetry, tt.detail)
		}
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	// A zip bomb: 20 MiB of zeros in a few KiB.
	var bomb bytes.Buffer
	zw := zip.NewWriter(&bomb)
	w, _ := zw.Create("manifest.json")
	w.Write([]byte(`{"files":{"files/a.map":{"url":"~/a.map","type":"source_map"}}}`))
	w, _ = zw.Create("files/a.map")
	w.Write(make([]byte, 20<<20))
	zw.Close()
	// 7.5 MiB of zeros in files of 64 KiB, each under the size from which
	// a file's own ratio counts, in a bundle of about 20 KiB.
	var smallBombs bytes.Buffer
	zw = zip.NewWriter(&smallBombs)
	var manifest strings.Builder
	for i := range 120 {
		w, _ = zw.Create(fmt.Sprintf("files/%d.js", i))
		w.Write(make([]byte, 64<<10))
		fmt.Fprintf(&manifest, `,"files/%d.js":{"url":"~/%d.js","type":"minified_source"}`, i, i)
	}
	w, _ = zw.Create("manifest.json")
	w.Write([]byte(`{"files":{` + manifest.String()[1:] + `}}`))
	zw.Close()
	var traversal bytes.Buffer
	zw = zip.NewWriter(&traversal)
	w, _ = zw.Create("../../../tmp/evil")
	w.Write([]byte("x"))
	zw.Close()

	for _, tt := range []struct {
		name   string
		bundle []byte
		detail string
	}{
		{"zip bomb", bomb.Bytes(), "~/a.map: compressed"},
		{"zip bomb of small files", smallBombs.Bytes(), "its files inflate to 7864320 bytes"},
		{"traversal", traversal.Bytes(), "path traversal"},
		{"not a zip", []byte("hello"), "not a zip archive"},
	} {
		code, res := e.assemble(tt.bundle, "web-shop", "")
		if code != 400 || !strings.Contains(res.Detail, "invalid artifact bundle") || !strings.Contains(res.Detail, tt.detail) {
			t.Errorf("%s: assemble = %d %+v, want 400 saying %q", tt.name, code, res, tt.detail)
		}
	}

	// A body over the request limit, sent uncompressed.
	var huge bytes.Buffer
	mw := multipart.NewWriter(&huge)
	zeros := make([]byte, artifact.ChunkSize)
	for range 5 {
		part, _ := mw.CreateFormFile("file", sha(zeros))
		part.Write(zeros)
	}
	mw.Close()
	var detail map[string]string
	if code := e.do("POST", "/api/0/organizations/any/chunk-upload/", mw.FormDataContentType(), &huge, &detail); code != 413 {
		t.Errorf("huge chunk upload: %d %v, want 413", code, detail)
	}
	tests := []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"no token", "", "GET", "/api/0/organizations/x/chunk-upload/", "", 401},
		{"bad token", "nope", "GET", "/api/0/organizations/x/chunk-upload/", "", 401},
		{"read-only token uploads", e.readOnly, "POST", "/api/0/organizations/x/chunk-upload/", `{}`, 403},
		{"read-only token creates a release", e.readOnly, "POST", "/api/0/organizations/x/releases/", `{"version":"1","projects":["web-shop"]}`, 403},
		{"read-only token reads the upload options", e.readOnly, "GET", "/api/0/organizations/x/chunk-upload/", "", 200},
		{"outsider's project", e.outsider, "POST", "/api/0/organizations/x/releases/", `{"version":"1","projects":["web-shop"]}`, 404},
		// A 404 here is sentry-cli's "Release not found"; a 400 shows the
		// detail, which names the project.
		{"unknown project", e.token, "POST", "/api/0/organizations/x/artifactbundle/assemble/", `{"checksum":"` + strings.Repeat("0", 40) + `","chunks":[],"projects":["nope"]}`, 400},
		{"outsider's project", e.outsider, "POST", "/api/0/organizations/x/artifactbundle/assemble/", `{"checksum":"` + strings.Repeat("0", 40) + `","chunks":[],"projects":["web-shop"]}`, 400},
		{"bad checksum", e.token, "POST", "/api/0/organizations/x/artifactbundle/assemble/", `{"checksum":"../x","chunks":[],"projects":["web-shop"]}`, 400},
		{"bad JSON", e.token, "POST", "/api/0/organizations/x/releases/", `{`, 400},
		{"empty version", e.token, "POST", "/api/0/organizations/x/releases/", `{"version":"","projects":["web-shop"]}`, 400},
		{"JSON too large", e.token, "POST", "/api/0/organizations/x/releases/", `{"version":"` + strings.Repeat("v", 2<<20) + `"}`, 413},
		{"not multipart", e.token, "POST", "/api/0/organizations/x/chunk-upload/", `{}`, 400},
		{"unknown endpoint", e.token, "GET", "/api/0/organizations/x/members/", "", 404},
		{"sentry-cli issues list", e.token, "GET", "/api/0/projects/x/web-shop/issues/", "", 501},
		{"sentry-cli issues resolve", e.token, "PUT", "/api/0/projects/x/web-shop/issues/?id=1", `{"status":"resolved"}`, 501},
		{"the organization's issues", e.token, "GET", "/api/0/organizations/x/issues/", "", 501},
		{"sentry-cli events list", e.token, "GET", "/api/0/projects/x/web-shop/events/", "", 501},
		{"sentry-cli releases files list", e.token, "GET", "/api/0/projects/x/web-shop/releases/1.0/files/?cursor=", "", 501},
		{"sentry-cli releases files list without a project", e.token, "GET", "/api/0/organizations/x/releases/1.0/files/?cursor=", "", 501},
		{"sentry-cli releases files delete", e.token, "DELETE", "/api/0/projects/x/web-shop/releases/1.0/files/7/", "", 501},
		{"a project's other endpoint", e.token, "GET", "/api/0/projects/x/web-shop/keys/", "", 404},
	}
	for _, tt := range tests {
		var out map[string]any
		if code := e.doAs(tt.token, tt.method, tt.path, "application/json", strings.NewReader(tt.body), &out); code != tt.want || out["detail"] == "" {
			t.Errorf("%s: %d %v, want %d with a detail", tt.name, code, out, tt.want)
		}
	}
}

// TestUnservedDetails: the sentry-cli commands Flytrap does not serve
// get a 501 whose detail, which sentry-cli prints, names the command the
// user ran, and a release file uploaded without a project a 400 saying to
// pass one: not a 404, which sentry-cli reads as "Release not found".
func TestUnservedDetails(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, method, path string
		want               int
		detail             string
	}{
		{"issues list", "GET", "/api/0/projects/x/web-shop/issues/", 501, "Flytrap does not serve sentry-cli's issues commands: "},
		{"the organization's issues", "GET", "/api/0/organizations/x/issues/", 501, "Flytrap does not serve sentry-cli's issues commands: "},
		{"events list", "GET", "/api/0/projects/x/web-shop/events/", 501, "Flytrap does not serve sentry-cli's events commands or sourcemaps explain: "},
		// sentry-cli 2.58.6's sourcemaps explain reads the event first.
		{"sourcemaps explain", "GET", "/api/0/projects/x/web-shop/events/0123456789abcdef0123456789abcdef/json/", 501,
			"Flytrap does not serve sentry-cli's events commands or sourcemaps explain: "},
		{"releases files list", "GET", "/api/0/projects/x/web-shop/releases/1.0/files/", 501, "Flytrap does not serve sentry-cli's releases files list and delete: "},
		{"releases files delete", "DELETE", "/api/0/organizations/x/releases/1.0/files/7/", 501, "Flytrap does not serve sentry-cli's releases files list and delete: "},
		{"releases files list of a version with a slash", "GET", "/api/0/projects/x/web-shop/releases/web%2F1.0/files/", 501,
			"Flytrap does not serve sentry-cli's releases files list and delete: "},
		{"releases files list without a project, a version with a slash", "GET", "/api/0/organizations/x/releases/web%2F1.0/files/", 501,
			"Flytrap does not serve sentry-cli's releases files list and delete: "},
		{"releases files upload without a project", "POST", "/api/0/organizations/x/releases/1.0/files/", 400, "no project: pass --project"},
	}
	for _, tt := range tests {
		var out struct{ Detail string }
		if code := e.do(tt.method, tt.path, "", nil, &out); code != tt.want || !strings.HasPrefix(out.Detail, tt.detail) {
			t.Errorf("%s: %d %q, want %d starting %q", tt.name, code, out.Detail, tt.want, tt.detail)
		}
	}
}

// TestProjectNames: names that look alike resolve as projectref.Resolve
// says, the same way as the CLI's --project: an exact name or ID first,
// then a case-insensitive name or slug, and anything that may mean two
// projects is refused rather than guessed.
func TestProjectNames(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ids := map[string]int64{"Web Shop": e.proj.ID}
	for _, name := range []string{"web-shop", "alpha", "ALPHA", "3"} {
		// Written past the store, which refuses such names now: an
		// installation from before then may hold them.
		var id int64
		if err := e.db.SQL().QueryRowContext(ctx, `INSERT INTO projects (name, created_at) VALUES ($1, 0) RETURNING id`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	if ids["alpha"] != 3 {
		t.Fatalf("project IDs %v: the cases below expect alpha to be ID 3", ids)
	}
	for _, tc := range []struct {
		ref  string
		code int
		want string // the project's name on 201
	}{
		{"web-shop", 201, "web-shop"}, // the exact name, not Web Shop's slug
		{"Web Shop", 201, "Web Shop"},
		{"ALPHA", 201, "ALPHA"},
		{"alpha", 201, "alpha"},
		{"Alpha", 409, ""}, // alpha or ALPHA
		{"3", 409, ""},     // alpha's ID or the project named 3
		{"WEB-SHOP", 201, "web-shop"},
		{"nope", 404, ""},
	} {
		var out map[string]any
		body := fmt.Sprintf(`{"version":"v-%s","projects":[%q]}`, tc.ref, tc.ref)
		code := e.do("POST", "/api/0/organizations/x/releases/", "application/json", strings.NewReader(body), &out)
		if code != tc.code {
			t.Errorf("%q: %d %v, want %d", tc.ref, code, out, tc.code)
			continue
		}
		if tc.code != 201 {
			if d, _ := out["detail"].(string); d == "" {
				t.Errorf("%q: no detail in %v", tc.ref, out)
			}
			continue
		}
		ps, _ := out["projects"].([]any)
		if len(ps) != 1 || ps[0].(map[string]any)["name"] != tc.want {
			t.Errorf("%q: release in %v, want project %q", tc.ref, out["projects"], tc.want)
		}
	}
}

// TestChunkUploadNeedsAProject: chunks are not tied to a project until
// they are assembled, so a user who may upload to no project could only
// fill the disk with them; such a user is refused before the body is read,
// with the detail sentry-cli prints.
func TestChunkUploadNeedsAProject(t *testing.T) {
	e := newEnv(t)
	chunk := []byte("a chunk nobody will assemble")
	ct, body := chunkBody(t, chunk)
	var out map[string]string
	code := e.doAs(e.outsider, "POST", "/api/0/organizations/x/chunk-upload/", ct, body, &out)
	if code != 403 || !strings.Contains(out["detail"], "not a member of any project") {
		t.Errorf("outsider's chunk upload: %d %v, want 403 saying why", code, out)
	}
	other, err := e.db.UserByEmail(context.Background(), "o@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if missing, err := e.store.ChunksMissing(context.Background(), other.ID, []string{sha(chunk)}); err != nil || len(missing) != 1 {
		t.Errorf("the refused chunk was stored: missing = %v, %v", missing, err)
	}

	// Once a member of a project, the same user may upload.
	if err := e.db.AddMember(context.Background(), e.proj.ID, other.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	ct, body = chunkBody(t, chunk)
	if code := e.doAs(e.outsider, "POST", "/api/0/organizations/x/chunk-upload/", ct, body, nil); code != 200 {
		t.Errorf("member's chunk upload: %d, want 200", code)
	}
}

// TestChunkQuota: each user's new chunk bytes are bounded; a user over the
// quota gets a 429 with Retry-After and a detail naming the limit, chunks
// the user uploaded before still pass, other users are not affected, and
// a chunk only another user uploaded is charged, so the quota does not
// tell whether someone has it.
func TestChunkQuota(t *testing.T) {
	e := newEnvWith(t, func(h *artifactapi.Handler) {
		h.WithChunkQuota(artifactapi.ChunkQuota{Bytes: 2 * artifact.ChunkSize, Per: time.Hour})
	})
	ctx := context.Background()
	member, err := e.db.UserByEmail(ctx, "o@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddMember(ctx, e.proj.ID, member.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	chunk := func(i byte) []byte {
		c := bytes.Repeat([]byte{i}, artifact.ChunkSize)
		c[0] = 'x' // not the zeros TestRefusals uploads
		return c
	}
	upload := func(token string, c []byte) (*http.Response, map[string]string) {
		t.Helper()
		ct, body := chunkBody(t, c)
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/0/organizations/x/chunk-upload/", body)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		json.NewDecoder(resp.Body).Decode(&out)
		return resp, out
	}
	for i := range byte(2) {
		if resp, out := upload(e.outsider, chunk(i)); resp.StatusCode != 200 {
			t.Fatalf("chunk %d within the quota: %d %v", i, resp.StatusCode, out)
		}
	}
	resp, out := upload(e.outsider, chunk(2))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "1800" ||
		!strings.Contains(out["detail"], "limit of 16 MiB of new chunks and release files per 1h") || !strings.Contains(out["detail"], "try again in 30m") {
		t.Errorf("chunk over the quota: %d Retry-After %q %v, want 429 after 1800 s naming the limit",
			resp.StatusCode, resp.Header.Get("Retry-After"), out)
	}
	if missing, _ := e.store.ChunksMissing(ctx, member.ID, []string{sha(chunk(2))}); len(missing) != 1 {
		t.Errorf("the chunk over the quota was stored")
	}
	if resp, out := upload(e.outsider, chunk(0)); resp.StatusCode != 200 {
		t.Errorf("a chunk the user uploaded before, over the quota: %d %v, want 200: it takes no room", resp.StatusCode, out)
	}
	if resp, out := upload(e.token, chunk(2)); resp.StatusCode != 200 {
		t.Errorf("another user's chunk: %d %v, want 200: the quota is per user", resp.StatusCode, out)
	}
	if resp, out := upload(e.outsider, chunk(2)); resp.StatusCode != 429 {
		t.Errorf("a chunk another user uploaded, over the quota: %d %v, want 429 as for a chunk nobody has", resp.StatusCode, out)
	}
}

// TestChunksAreTheUploaders: the tester's chunk-existence oracle. Alice,
// of project 1, uploads a chunk holding a secret; Bob, only in project 2,
// asks to assemble it and a wrong guess into his project. Both are
// missing for him, so he learns nothing; once he uploads the bytes
// himself, they are stored once on disk and his bundle assembles.
func TestChunksAreTheUploaders(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bob, _ := e.db.CreateUser(ctx, "bob@example.com", "h", store.RoleMember)
	bobToken, _, _ := e.db.CreateAPIToken(ctx, bob.ID, "ci")
	secretProj, err := e.db.CreateProject(ctx, "secret-proj")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.AddMember(ctx, secretProj.ID, bob.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	secret := []byte("SECRET_API_KEY=sk_live_12345\n")
	guess := []byte("SECRET_API_KEY=sk_live_99999\n")
	ct, body := chunkBody(t, secret)
	if code := e.do("POST", "/api/0/organizations/x/chunk-upload/", ct, body, nil); code != 200 {
		t.Fatalf("alice's chunk upload: %d", code)
	}
	req := `{"checksum":"` + sha(secret) + `","chunks":["` + sha(secret) + `","` + sha(guess) + `"],"projects":["secret-proj"]}`
	var got assembleResponse
	if code := e.doAs(bobToken, "POST", "/api/0/organizations/x/artifactbundle/assemble/", "application/json", strings.NewReader(req), &got); code != 200 ||
		got.State != "not_found" || strings.Join(got.MissingChunks, ",") != sha(secret)+","+sha(guess) {
		t.Errorf("bob's assemble: %d %+v, want both chunks missing", code, got)
	}

	// The same bundle, uploaded by each into their project: sentry-cli's
	// flow works for both, and the chunk is one file on disk.
	var buf bytes.Buffer
	artifact.WriteBundle(&buf, nil, []artifact.BundleFile{
		{Kind: store.ArtifactMinifiedSource, URL: "~/app.min.js", Data: []byte("x()\n" + strings.Repeat("//pad\n", 2000))},
		{Kind: store.ArtifactSourceMap, URL: "~/app.min.js.map", Data: []byte(`{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}`)},
	})
	bundle := buf.Bytes()
	if code, res := e.assemble(bundle, "Web Shop", "1.0"); code != 200 || res.State != "ok" {
		t.Fatalf("alice's upload: %d %+v", code, res)
	}
	e.token = bobToken
	if code, res := e.assemble(bundle, "secret-proj", "1.0"); code != 200 || res.State != "ok" {
		t.Fatalf("bob's upload of the same bundle: %d %+v", code, res)
	}
	for _, p := range []int64{e.proj.ID, secretProj.ID} {
		if _, err := e.db.ArtifactBundleByChecksum(ctx, p, sha(bundle)); err != nil {
			t.Errorf("project %d: %v", p, err)
		}
	}
	stored, err := os.ReadDir(filepath.Join(e.blobs, "chunks"))
	if want := 1 + (len(bundle)+4095)/4096; err != nil || len(stored) != want {
		t.Errorf("%d chunk files, %v; want %d: the secret and the bundle's chunks, each once", len(stored), err, want)
	}
}

// Deleting a release through a project's path leaves the other projects'
// release of the same name, with their source maps, alone; the
// organization's path, which sentry-cli calls, deletes it everywhere.
func TestDeleteReleaseOfOneProject(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other, err := e.db.CreateProject(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []int64{e.proj.ID, other.ID} {
		if _, err := e.db.CreateRelease(ctx, store.System, p, "1.0.0", at); err != nil {
			t.Fatal(err)
		}
	}
	if code := e.do("DELETE", "/api/0/projects/any/web-shop/releases/1.0.0/", "", nil, nil); code != 204 {
		t.Fatalf("delete through the project: %d", code)
	}
	if _, err := e.db.GetRelease(ctx, store.System, e.proj.ID, "1.0.0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the named project's release: %v, want deleted", err)
	}
	if _, err := e.db.GetRelease(ctx, store.System, other.ID, "1.0.0"); err != nil {
		t.Errorf("the other project's release: %v, want kept", err)
	}
	if code := e.do("DELETE", "/api/0/projects/any/web-shop/releases/1.0.0/", "", nil, nil); code != 404 {
		t.Errorf("deleting it again: %d, want 404", code)
	}
	if code := e.do("DELETE", "/api/0/organizations/any/releases/1.0.0/", "", nil, nil); code != 204 {
		t.Errorf("delete through the organization: %d", code)
	}
	if _, err := e.db.GetRelease(ctx, store.System, other.ID, "1.0.0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the organization's delete: %v, want deleted", err)
	}
}

// A release an issue refers to is not deleted, from any project, with
// Sentry's 400 and words (sentry-cli prints them); the issue's page
// would link to a release that is gone.
func TestDeleteReleaseIssuesReferTo(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	other, err := e.db.CreateProject(ctx, "Other")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []int64{e.proj.ID, other.ID} {
		if _, err := e.db.CreateRelease(ctx, store.System, p, "js@1.0.0", at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.SaveEvent(ctx, store.SaveRequest{Fingerprint: "f", GroupingVersion: "test-1", Title: "boom",
		Event: &event.Event{EventID: strings.Repeat("a", 32), ProjectID: other.ID, Source: event.SourceSentry, Level: "error",
			Release: "js@1.0.0", Timestamp: at, Received: at}}); err != nil {
		t.Fatal(err)
	}
	const detail = "This release is referenced by active issues and cannot be removed."
	for _, path := range []string{"/api/0/organizations/any/releases/js@1.0.0/", "/api/0/projects/any/other/releases/js@1.0.0/"} {
		var out map[string]any
		if code := e.do("DELETE", path, "", nil, &out); code != 400 || out["detail"] != detail {
			t.Errorf("DELETE %s: %d %v, want 400 with %q", path, code, out, detail)
		}
		for _, p := range []int64{e.proj.ID, other.ID} {
			if _, err := e.db.GetRelease(ctx, store.System, p, "js@1.0.0"); err != nil {
				t.Errorf("after DELETE %s: project %d's release: %v, want kept", path, p, err)
			}
		}
	}
	// No issue of Web Shop refers to its js@1.0.0.
	if code := e.do("DELETE", "/api/0/projects/any/web-shop/releases/js@1.0.0/", "", nil, nil); code != 204 {
		t.Errorf("delete through the project without issues: %d, want 204", code)
	}
}

// TestChunkUploadURL: sentry-cli posts chunks, with its token, to the URL
// the chunk-upload options name. Behind a proxy that ends TLS the request
// arrives as http://, and its Host may be anything; sentry-cli 1.70.1 and
// later get a relative URL, which they put under the server they were
// pointed at, so neither the scheme nor the Host reaches them. Older ones
// need an absolute URL and keep getting one.
func TestChunkUploadURL(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		userAgent, want string
	}{
		{"sentry-cli/3.8.0", "organizations/flytrap/chunk-upload/"},
		{"sentry-cli/2.58.6 GitHub Actions", "organizations/flytrap/chunk-upload/"},
		{"sentry-cli/1.70.1", "organizations/flytrap/chunk-upload/"},
		{"sentry-cli/1.70.0", "http://proxy.invalid/api/0/organizations/flytrap/chunk-upload/"},
		{"sentry-cli/1.44", "http://proxy.invalid/api/0/organizations/flytrap/chunk-upload/"},
		{"curl/8.5.0", "http://proxy.invalid/api/0/organizations/flytrap/chunk-upload/"},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/0/organizations/flytrap/chunk-upload/", nil)
		req.Host = "proxy.invalid"
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("User-Agent", tc.userAgent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var opts struct {
			URL string `json:"url"`
		}
		err = json.NewDecoder(resp.Body).Decode(&opts)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d, %v", tc.userAgent, resp.StatusCode, err)
		}
		if opts.URL != tc.want {
			t.Errorf("%s: url %q, want %q", tc.userAgent, opts.URL, tc.want)
		}
	}
}
