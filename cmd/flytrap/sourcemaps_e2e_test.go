package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/store"
)

// requireSentryCLI returns compat/js with @sentry/cli and esbuild
// installed, or skips (fails under CI=true).
func requireSentryCLI(t *testing.T) string {
	t.Helper()
	dir := requireJSSDK(t)
	for _, bin := range []string{"sentry-cli", "esbuild"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", bin)); err != nil {
			msg := bin + " is missing: run `npm ci --prefix compat/js`"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// requireSentryCLI2 returns sentry-cli 2.x, the major version the Sentry
// bundler plugins still run, from compat/js's optional
// @sentry/cli-v2-linux-x64 (the binary itself: the @sentry/cli 2.x
// package would link its sentry-cli over 3.8.0's in node_modules/.bin),
// or skips (fails under CI=true).
func requireSentryCLI2(t *testing.T, js string) string {
	t.Helper()
	bin := filepath.Join(js, "node_modules", "@sentry", "cli-v2-linux-x64", "bin", "sentry-cli")
	if _, err := os.Stat(bin); err != nil {
		msg := "sentry-cli 2.x is missing: run `npm ci --prefix compat/js` (its package, @sentry/cli-linux-x64@2, installs on Linux x64 only)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// buildApp minifies compat/js/sourcemap-app into a new directory.
func buildApp(t *testing.T, js string) string {
	t.Helper()
	out := t.TempDir()
	if b, err := exec.Command("node", filepath.Join(js, "sourcemap-app", "build.js"), out).CombinedOutput(); err != nil {
		t.Fatalf("node build.js: %v\n%s", err, b)
	}
	return out
}

// run runs a command with env added and returns its output.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, b)
	}
	return string(b)
}

var minified = []string{"app.min.js", "admin.min.js", "vendor.min.js"}

// TestSourceMapUploads uploads the same minified app with the real
// sentry-cli (debug-ID bundles and a release-based upload) and with
// flytrap sourcemaps, against flytrap dev, and checks that artifact.Find
// returns each file's map by debug ID and by release and URL.
func TestSourceMapUploads(t *testing.T) {
	js := requireSentryCLI(t)
	sentryCLI := filepath.Join(js, "node_modules", ".bin", "sentry-cli")
	dataDir := t.TempDir()
	p := startDev(t, dataDir, nil)
	project := strconv.FormatInt(p.info.ProjectID, 10)
	sentryEnv := []string{"SENTRY_URL=" + p.base, "SENTRY_AUTH_TOKEN=" + p.info.APIToken, "SENTRY_ORG=flytrap",
		"SENTRY_PROJECT=" + project, "SENTRY_LOG_LEVEL=warn", "SENTRYCLI_SKIP_DOWNLOAD=1", "SENTRY_DISABLE_UPDATE_CHECK=1"}
	flytrapEnv := []string{"FLYTRAP_URL=" + p.base, "FLYTRAP_TOKEN=" + p.info.APIToken}

	if out := run(t, sentryEnv, sentryCLI, "info"); !strings.Contains(out, "project:releases") {
		t.Errorf("sentry-cli info does not show the token's scopes:\n%s", out)
	}
	// sentry-cli: inject, then a debug-ID bundle without a release.
	// run.js has no map: inject gives it a debug ID all the same, and
	// upload sends it with "no sourcemap found".
	scDebug := buildApp(t, js)
	if err := os.WriteFile(filepath.Join(scDebug, "run.js"), []byte("run();\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, sentryEnv, sentryCLI, "sourcemaps", "inject", scDebug)
	out := run(t, sentryEnv, sentryCLI, "sourcemaps", "upload", scDebug)
	t.Logf("sentry-cli sourcemaps upload (debug IDs):\n%s", out)
	if !strings.Contains(out, "~/run.js (no sourcemap found") {
		t.Errorf("sentry-cli sourcemaps upload did not report run.js without a map:\n%s", out)
	}
	// sentry-cli: no debug IDs, a release and a URL prefix.
	scRelease := buildApp(t, js)
	out = run(t, sentryEnv, sentryCLI, "sourcemaps", "upload", "--release", "sc-1.0", "--url-prefix", "~/static/js", scRelease)
	t.Logf("sentry-cli sourcemaps upload (release):\n%s", out)
	// sentry-cli releases: new, list, delete.
	run(t, sentryEnv, sentryCLI, "releases", "new", "sc-2.0")
	if out := run(t, sentryEnv, sentryCLI, "releases", "list"); !strings.Contains(out, "sc-1.0") || !strings.Contains(out, "sc-2.0") {
		t.Errorf("sentry-cli releases list does not show sc-1.0 and sc-2.0:\n%s", out)
	}
	run(t, sentryEnv, sentryCLI, "releases", "delete", "sc-2.0")
	// sentry-cli 2.x, which Sentry's bundler plugins pin: the same
	// uploads, and the release-name upload of older pipelines (releases
	// files upload-sourcemaps), each as chunks and an artifact bundle.
	sentryCLI2 := requireSentryCLI2(t, js)
	upload2 := func(what string, args ...string) {
		t.Helper()
		out := run(t, sentryEnv, sentryCLI2, args...)
		t.Logf("sentry-cli 2.x %s:\n%s", what, out)
		if strings.Contains(out, "Your Sentry server does not support") {
			t.Errorf("sentry-cli 2.x %s fell back to a deprecated upload:\n%s", what, out)
		}
	}
	sc2Debug := buildApp(t, js)
	run(t, sentryEnv, sentryCLI2, "sourcemaps", "inject", sc2Debug)
	upload2("sourcemaps upload (debug IDs)", "sourcemaps", "upload", sc2Debug)
	sc2Release := buildApp(t, js)
	upload2("sourcemaps upload (release)", "sourcemaps", "upload", "--release", "sc2-1.0", "--url-prefix", "~/static/js", sc2Release)
	sc2Files := buildApp(t, js)
	upload2("releases files upload-sourcemaps", "releases", "files", "sc2-2.0", "upload-sourcemaps", "--url-prefix", "~/static/js", sc2Files)
	// Listing a release's files is not served: sentry-cli says why,
	// rather than "Release not found" for a release that exists.
	list := exec.Command(sentryCLI2, "releases", "files", "sc2-2.0", "list")
	list.Env = append(os.Environ(), sentryEnv...)
	if b, err := list.CombinedOutput(); err == nil || !strings.Contains(string(b), "Flytrap does not serve sentry-cli's releases files list") {
		t.Errorf("sentry-cli 2.x releases files list: %v\n%s", err, b)
	}
	// Nor is sourcemaps explain, which stops at reading the event.
	explain := exec.Command(sentryCLI2, "sourcemaps", "explain", "0123456789abcdef0123456789abcdef")
	explain.Env = append(os.Environ(), sentryEnv...)
	if b, err := explain.CombinedOutput(); err == nil || !strings.Contains(string(b), "Flytrap does not serve sentry-cli's events commands or sourcemaps explain") {
		t.Errorf("sentry-cli 2.x sourcemaps explain: %v\n%s", err, b)
	}

	// flytrap: inject, then upload with a release, a dist and a prefix.
	ftDir := buildApp(t, js)
	run(t, nil, flytrapBin, "sourcemaps", "inject", ftDir)
	out = run(t, flytrapEnv, flytrapBin, "sourcemaps", "upload", ftDir, "--project", project, "--release", "ft-1.0", "--dist", "web", "--url-prefix", "~/assets")
	t.Logf("flytrap sourcemaps upload:\n%s", out)
	if !strings.Contains(out, "Uploaded (5):") || strings.Contains(out, "Files without a source map") {
		t.Errorf("flytrap sourcemaps upload report:\n%s", out)
	}
	if out := run(t, flytrapEnv, flytrapBin, "sourcemaps", "upload", ftDir, "--dry-run"); !strings.Contains(out, "Would upload (dry run) (5):") {
		t.Errorf("--dry-run report:\n%s", out)
	}

	db, err := store.Open(context.Background(), filepath.Join(dataDir, "flytrap.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	arts := artifact.New(db, artifact.Dir{Root: filepath.Join(dataDir, "artifacts")}, artifact.DefaultLimits)
	find := func(what string, q artifact.Query, wantMap []byte) {
		t.Helper()
		q.ProjectID = p.info.ProjectID
		m, err := arts.Find(context.Background(), q)
		if err != nil {
			t.Errorf("%s: Find(%+v): %v", what, q, err)
			return
		}
		// sentry-cli rewrites maps on upload (sources, names); the
		// original code they carry stays.
		if !sameContent(t, m.Body, wantMap) {
			t.Errorf("%s: Find(%+v) returned the map of %s, whose sourcesContent is not that of the map on disk", what, q, m.File)
		}
	}
	for _, dir := range []string{scDebug, sc2Debug, ftDir} {
		for _, name := range minified {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			id := artifact.DebugIDOf(b)
			if id == "" {
				t.Fatalf("%s/%s has no debug ID after inject", dir, name)
			}
			find(dir+"/"+name+" by debug ID", artifact.Query{DebugID: id, AbsPath: "https://nowhere.example/x.js"}, mapOf(t, dir, name, b))
		}
	}
	for _, name := range minified {
		b, _ := os.ReadFile(filepath.Join(scRelease, name))
		find("sentry-cli release "+name, artifact.Query{Release: "sc-1.0", AbsPath: "https://shop.example.com/static/js/" + name}, mapOf(t, scRelease, name, b))
		b, _ = os.ReadFile(filepath.Join(sc2Release, name))
		find("sentry-cli 2.x release "+name, artifact.Query{Release: "sc2-1.0", AbsPath: "https://shop.example.com/static/js/" + name}, mapOf(t, sc2Release, name, b))
		b, _ = os.ReadFile(filepath.Join(sc2Files, name))
		find("sentry-cli 2.x releases files "+name, artifact.Query{Release: "sc2-2.0", AbsPath: "https://shop.example.com/static/js/" + name}, mapOf(t, sc2Files, name, b))
		b, _ = os.ReadFile(filepath.Join(ftDir, name))
		find("flytrap release "+name, artifact.Query{Release: "ft-1.0", Dist: "web", AbsPath: "http://localhost:5173/assets/" + name + "?v=2"}, mapOf(t, ftDir, name, b))
	}
	// A frame of run.js with its debug ID is of the uploaded build, whose
	// map is missing: not another build.
	b, err := os.ReadFile(filepath.Join(scDebug, "run.js"))
	if err != nil {
		t.Fatal(err)
	}
	q := artifact.Query{ProjectID: p.info.ProjectID, DebugID: artifact.DebugIDOf(b), Release: "web@1.0.0", AbsPath: "http://127.0.0.1:21001/run.js"}
	var alone *artifact.WithoutMapError
	if m, err := arts.Find(context.Background(), q); !errors.As(err, &alone) || alone.File != "~/run.js" {
		t.Errorf("Find(%+v) = the map of %s, %v; want run.js uploaded without a map", q, m.File, err)
	}
	// Events of releases nothing was uploaded for, whose frames carry no
	// debug ID, never use the bundle sentry-cli uploaded without a
	// release: it is found by debug ID only, as in Sentry, the frames'
	// files being another build (not injected). Nor sc-1.0's or ft-1.0's,
	// another release's, though their URLs end more like the frames' paths.
	for _, q := range []artifact.Query{
		{Release: "sc-2.0", AbsPath: "https://shop.example.com/static/js/app.min.js"},
		{Release: "ft-2.0", Dist: "web", AbsPath: "http://localhost:5173/assets/vendor.min.js"},
	} {
		q.ProjectID = p.info.ProjectID
		var other *artifact.OtherReleasesError
		if m, err := arts.Find(context.Background(), q); !errors.As(err, &other) || !other.DebugIDOnly {
			t.Errorf("Find(%+v) = the map of %s uploaded for %q, %v; want none, the one without a release being for its debug IDs", q, m.File, m.Release, err)
		}
	}
}

// TestSourceMapUploadsOfTwoUsers: two members of two projects upload the
// same build with the real sentry-cli. Chunks count as present only for
// whoever uploaded them (artifactapi's TestChunksAreTheUploaders), and
// sentry-cli's flow, assemble, upload what is missing, assemble, works for
// both: each project finds the maps.
func TestSourceMapUploadsOfTwoUsers(t *testing.T) {
	js := requireSentryCLI(t)
	sentryCLI := filepath.Join(js, "node_modules", ".bin", "sentry-cli")
	dataDir := t.TempDir()
	p := startDev(t, dataDir, nil)
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(dataDir, "flytrap.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mobile, err := db.CreateProject(ctx, "mobile")
	if err != nil {
		t.Fatal(err)
	}
	dir := buildApp(t, js)
	run(t, nil, sentryCLI, "sourcemaps", "inject", dir)
	for _, m := range []struct {
		email   string
		project int64
	}{{"alice@example.com", p.info.ProjectID}, {"bob@example.com", mobile.ID}} {
		u, err := db.CreateUser(ctx, m.email, "x", store.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.AddMember(ctx, m.project, u.ID, store.RoleMember); err != nil {
			t.Fatal(err)
		}
		token, _, err := db.CreateAPIToken(ctx, u.ID, "ci")
		if err != nil {
			t.Fatal(err)
		}
		env := []string{"SENTRY_URL=" + p.base, "SENTRY_AUTH_TOKEN=" + token, "SENTRY_ORG=flytrap",
			"SENTRY_PROJECT=" + strconv.FormatInt(m.project, 10), "SENTRY_LOG_LEVEL=warn", "SENTRYCLI_SKIP_DOWNLOAD=1", "SENTRY_DISABLE_UPDATE_CHECK=1"}
		out := run(t, env, sentryCLI, "sourcemaps", "upload", "--release", "2.0", dir)
		t.Logf("%s: sentry-cli sourcemaps upload:\n%s", m.email, out)
	}
	arts := artifact.New(db, artifact.Dir{Root: filepath.Join(dataDir, "artifacts")}, artifact.DefaultLimits)
	for _, project := range []int64{p.info.ProjectID, mobile.ID} {
		for _, name := range minified {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := arts.Find(ctx, artifact.Query{ProjectID: project, DebugID: artifact.DebugIDOf(b), AbsPath: "https://x/" + name})
			if err != nil || !sameContent(t, m.Body, mapOf(t, dir, name, b)) {
				t.Errorf("project %d: the map of %s: %v", project, name, err)
			}
		}
	}
}

// mapOf returns the source map of a built file: its .map file, or the
// inline one.
func mapOf(t *testing.T, dir, name string, js []byte) []byte {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join(dir, name+".map")); err == nil {
		return b
	}
	ref := artifact.SourceMappingURL(js)
	_, data, ok := strings.Cut(ref, "base64,")
	if !ok {
		t.Fatalf("%s has no map", name)
	}
	dec, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		t.Fatal(err)
	}
	return dec
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// TestSourceMapInjectMatchesSentryCLI injects the same build with
// sentry-cli and with flytrap: the files are byte for byte the same apart
// from the debug ID itself (the same for a file without a map; sentry-cli
// 3.8 derives the ID of a file with a map from input it does not
// document), and the maps' mappings are the same.
func TestSourceMapInjectMatchesSentryCLI(t *testing.T) {
	js := requireSentryCLI(t)
	a, b := buildApp(t, js), buildApp(t, js)
	noMap := "function a(){throw new Error(\"x\")}a();\n"
	for _, d := range []string{a, b} {
		if err := os.WriteFile(filepath.Join(d, "nomap.js"), []byte(noMap), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, []string{"SENTRY_LOG_LEVEL=warn"}, filepath.Join(js, "node_modules", ".bin", "sentry-cli"), "sourcemaps", "inject", a)
	run(t, nil, flytrapBin, "sourcemaps", "inject", b)
	for _, name := range append(minified, "nomap.js") {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if name == "nomap.js" {
			if string(x) != string(y) {
				t.Errorf("nomap.js differs:\nsentry-cli:\n%s\nflytrap:\n%s", x, y)
			}
			continue
		}
		// The inline map carries the ID, so compare it decoded.
		if name == "vendor.min.js" {
			mx, my := mapOf(t, a, name, x), mapOf(t, b, name, y)
			if !sameMappings(t, mx, my) {
				t.Errorf("%s: inline maps' mappings differ", name)
			}
			x, y = []byte(artifact.SourceMappingURL(x)), []byte(artifact.SourceMappingURL(y))
			x, y = []byte(strings.Split(string(x), ",")[0]), []byte(strings.Split(string(y), ",")[0])
		}
		if uuidRE.ReplaceAllString(string(x), "ID") != uuidRE.ReplaceAllString(string(y), "ID") {
			t.Errorf("%s differs beyond the debug ID:\nsentry-cli:\n%s\nflytrap:\n%s", name, x, y)
		}
		if name != "vendor.min.js" {
			mx, _ := os.ReadFile(filepath.Join(a, name+".map"))
			my, _ := os.ReadFile(filepath.Join(b, name+".map"))
			if !sameMappings(t, mx, my) {
				t.Errorf("%s.map: mappings differ", name)
			}
			if artifact.MapDebugID(my) != artifact.DebugIDOf(y) || artifact.MapDebugID(mx) != artifact.DebugIDOf(x) {
				t.Errorf("%s: the map's debug ID is not the file's", name)
			}
		}
	}
}

// sameContent reports whether two maps carry the same original code.
func sameContent(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y struct {
		SourcesContent []string `json:"sourcesContent"`
	}
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return len(x.SourcesContent) > 0 && strings.Join(x.SourcesContent, "\x00") == strings.Join(y.SourcesContent, "\x00")
}

// sameMappings compares the mappings and sources of two maps.
func sameMappings(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y struct {
		Mappings string   `json:"mappings"`
		Sources  []string `json:"sources"`
	}
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return x.Mappings == y.Mappings && x.Mappings != "" && strings.Join(x.Sources, ",") == strings.Join(y.Sources, ",")
}
