package upload_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/artifactapi"
	"github.com/getflytrap/flytrap/internal/cli/cmd/dev"
	"github.com/getflytrap/flytrap/internal/cli/cmd/sourcemaps/upload"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/store"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const goodMap = `{"version":3,"file":"app.min.js","sources":["a.js"],"names":[],"mappings":"AAAA"}`

// server is flytrap's upload endpoints over a fresh store with the given
// projects (nil: one, "web"), and the project list of REST v1 that
// uploads without --project read, answered from the same store.
func server(t *testing.T, projects ...string) (url, token string, arts *artifact.Store, projectID int64) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, _ := db.CreateUser(ctx, "a@example.com", "h", store.RoleAdmin)
	token, _, _ = db.CreateAPIToken(ctx, u.ID, "ci")
	if projects == nil {
		projects = []string{"web"}
	}
	for i, name := range projects {
		p, err := db.CreateProject(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			projectID = p.ID
		}
	}
	arts = artifact.New(db, artifact.Dir{Root: t.TempDir()}, artifact.DefaultLimits)
	mux := http.NewServeMux()
	mux.Handle("/", artifactapi.New(db, arts, slog.New(slog.DiscardHandler), nil))
	mux.HandleFunc("GET /api/v1/projects", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"detail":"invalid or expired API token"}`, http.StatusUnauthorized)
			return
		}
		ps, err := db.ListProjects(r.Context(), store.Viewer{UserID: u.ID, Admin: true})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var l apitypes.List[apitypes.Project]
		for _, p := range ps {
			l.Data = append(l.Data, apitypes.Project{ID: p.ID, Name: p.Name})
		}
		json.NewEncoder(w).Encode(l)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, token, arts, projectID
}

// Without --project, an upload goes to the only project the token sees
// and says so; with none it says how to make one, with several it names
// them, and then it uploads nothing.
func TestUploadToTheOnlyProject(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	t.Run("one project", func(t *testing.T) {
		url, token, arts, pid := server(t)
		var out, errOut bytes.Buffer
		opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Dir: dir, URL: url, Token: token, Release: "1", URLPrefix: "~/"}
		if err := upload.Run(context.Background(), opts); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if want := fmt.Sprintf("Uploading to project web (ID %d), the only one this token sees.\n", pid); errOut.String() != want {
			t.Errorf("stderr %q, want %q", errOut.String(), want)
		}
		if _, err := arts.Find(context.Background(), artifact.Query{ProjectID: pid, Release: "1", AbsPath: "https://h/app.min.js"}); err != nil {
			t.Errorf("not stored in project %d: %v", pid, err)
		}
	})
	t.Run("no project", func(t *testing.T) {
		url, token, _, _ := server(t, []string{}...)
		opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Dir: dir, URL: url, Token: token, Release: "1", URLPrefix: "~/"}
		err := upload.Run(context.Background(), opts)
		code, hint := cmdutil.ExitCode(err)
		if code != cmdutil.ExitError || !strings.Contains(err.Error(), "this token sees none") || !strings.Contains(hint, "flytrap projects create") {
			t.Errorf("err = %v (exit %d, hint %q), want one saying there is no project and how to make one", err, code, hint)
		}
	})
	t.Run("several projects", func(t *testing.T) {
		url, token, arts, pid := server(t, "web", "api")
		opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Dir: dir, URL: url, Token: token, Release: "1", URLPrefix: "~/"}
		err := upload.Run(context.Background(), opts)
		code, hint := cmdutil.ExitCode(err)
		if code != cmdutil.ExitUsage || !strings.Contains(err.Error(), "no project") || !strings.Contains(hint, "one of web, api") && !strings.Contains(hint, "one of api, web") {
			t.Errorf("err = %v (exit %d, hint %q), want a usage error naming both projects", err, code, hint)
		}
		if _, err := arts.Find(context.Background(), artifact.Query{ProjectID: pid, Release: "1", AbsPath: "https://h/app.min.js"}); err == nil {
			t.Error("uploaded without a project")
		}
	})
}

func TestUpload(t *testing.T) {
	url, token, arts, pid := server(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"js/app.min.js":     "x()\n//# sourceMappingURL=app.min.js.map\n",
		"js/app.min.js.map": goodMap,
	})
	var out, errOut bytes.Buffer
	opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Progress: true, Dir: dir, URL: url, Token: token,
		Project: "web", Release: "2.1", URLPrefix: "~/static"}
	if err := upload.Run(context.Background(), opts); err != nil {
		t.Fatalf("Run: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "Uploaded (2):") || !strings.Contains(errOut.String(), "100%") {
		t.Errorf("report:\n%s\nprogress:\n%s", out.String(), errOut.String())
	}
	m, err := arts.Find(context.Background(), artifact.Query{ProjectID: pid, Release: "2.1", AbsPath: "https://x.example/static/js/app.min.js"})
	if err != nil || string(m.Body) != goodMap {
		t.Errorf("Find = %s, %v", m.Body, err)
	}

	// Uploading the same files again stores nothing new and succeeds; no
	// progress bar without a terminal.
	out.Reset()
	errOut.Reset()
	opts.Progress = false
	if err := upload.Run(context.Background(), opts); err != nil || errOut.Len() != 0 {
		t.Errorf("second Run: %v, stderr %q", err, errOut.String())
	}

	// A wrong token is the server's 401, with a hint.
	opts.Token = "wrong"
	err = upload.Run(context.Background(), opts)
	code, hint := cmdutil.ExitCode(err)
	if err == nil || code != cmdutil.ExitError || !strings.Contains(err.Error(), "401") || !strings.Contains(hint, "FLYTRAP_TOKEN") {
		t.Errorf("wrong token: %v (exit %d, hint %q)", err, code, hint)
	}
}

// TestUploadUnderAPathPrefix: behind a proxy that serves Flytrap under a
// path, and passes its own Host on, the server's chunk-upload options name
// a URL without the prefix; the chunks go where the options came from.
func TestUploadUnderAPathPrefix(t *testing.T) {
	url, token, arts, pid := server(t)
	target, _ := neturl.Parse(url)
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/flytrap/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		r.URL.Path, r.URL.RawPath = "/"+rest, ""
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	var out, errOut bytes.Buffer
	opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Dir: dir, URL: proxy.URL + "/flytrap", Token: token,
		Project: "web", Release: "3", URLPrefix: "~/"}
	if err := upload.Run(context.Background(), opts); err != nil {
		t.Fatalf("Run: %v\n%s", err, errOut.String())
	}
	if _, err := arts.Find(context.Background(), artifact.Query{ProjectID: pid, Release: "3", AbsPath: "https://h/app.min.js"}); err != nil {
		t.Errorf("not stored: %v", err)
	}
}

func TestUploadRefusals(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": `{"version":3`})
	io := &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	tests := []struct {
		name string
		opts upload.Options
		code int
		want string
	}{
		{"no URL", upload.Options{Token: "t", Project: "p"}, cmdutil.ExitUsage, "no server URL"},
		{"no token", upload.Options{URL: "http://x", Project: "p"}, cmdutil.ExitUsage, "no API token"},
		// Before anything is sent: the server would refuse it only after
		// the upload.
		{"release with a slash", upload.Options{URL: "http://127.0.0.1:1", Token: "t", Project: "p", Release: "bad/rel"}, cmdutil.ExitUsage,
			`--release "bad/rel" cannot name a release: it holds a line break, tab or slash`},
		{"reserved release, dry run", upload.Options{DryRun: true, Release: "latest"}, cmdutil.ExitUsage, "it is reserved"},
		{"broken map", upload.Options{DryRun: true}, cmdutil.ExitError, "not a JSON source map"},
		{"nothing", upload.Options{DryRun: true, Dir: t.TempDir()}, cmdutil.ExitError, "nothing to upload"},
	}
	for _, tt := range tests {
		o := tt.opts
		o.IO = io
		if o.Dir == "" {
			o.Dir = dir
		}
		err := upload.Run(context.Background(), &o)
		var ce *cmdutil.Error
		code, _ := cmdutil.ExitCode(err)
		if !errors.As(err, &ce) || code != tt.code || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v (exit %d), want exit %d with %q", tt.name, err, code, tt.code, tt.want)
		}
	}
}

// TestNoServerURLHint: the hint for a missing server URL names the
// address flytrap dev listens on by default, which a new user pastes.
func TestNoServerURLHint(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	o := upload.Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Dir: dir, Token: "t", Project: "p"}
	err := upload.Run(context.Background(), &o)
	var ce *cmdutil.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Hint, "http://"+dev.DefaultAddr+" for flytrap dev") {
		t.Errorf("err = %v, want a hint naming http://%s for flytrap dev", err, dev.DefaultAddr)
	}
}

// --dry-run checks the project as the upload would, on the server the
// upload would go to, and uploads nothing; without a server it says it
// did not check the project.
func TestDryRunChecksTheProject(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	url, token, arts, pid := server(t, "web", "api")
	dryRun := func(url, token, project string) (string, string, error) {
		var out, errOut bytes.Buffer
		opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Dir: dir, URL: url, Token: token,
			Project: project, Release: "1", URLPrefix: "~/", DryRun: true}
		err := upload.Run(context.Background(), opts)
		return out.String(), errOut.String(), err
	}
	for _, tt := range []struct {
		name, project string
		code          int
		want          string
	}{
		{"no such project", "nosuch", cmdutil.ExitNotFound, `no project "nosuch" among the ones you can see`},
		{"several projects, none named", "", cmdutil.ExitUsage, "no project named, and you can see 2"},
	} {
		out, _, err := dryRun(url, token, tt.project)
		if code, _ := cmdutil.ExitCode(err); code != tt.code || err == nil || !strings.Contains(err.Error(), tt.want) || out != "" {
			t.Errorf("%s: err = %v (exit %d), stdout %q; want exit %d with %q and no report", tt.name, err, code, out, tt.code, tt.want)
		}
	}
	out, _, err := dryRun(url, token, "WEB")
	if want := fmt.Sprintf(`project web (ID %d)`, pid); err != nil || !strings.Contains(out, want) {
		t.Errorf("named project: err = %v, report:\n%s\nwant %q", err, out, want)
	}
	if _, err := arts.Find(context.Background(), artifact.Query{ProjectID: pid, Release: "1", AbsPath: "https://h/app.min.js"}); err == nil {
		t.Error("a dry run uploaded")
	}
	url, token, _, pid = server(t)
	_, errOut, err := dryRun(url, token, "")
	if want := fmt.Sprintf("Would upload to project web (ID %d), the only one this token sees.\n", pid); err != nil || errOut != want {
		t.Errorf("only project: err = %v, stderr %q; want %q", err, errOut, want)
	}
	out, _, err = dryRun("", "", "nosuch")
	if want := `project "nosuch", not checked: no server URL and token`; err != nil || !strings.Contains(out, want) {
		t.Errorf("offline: err = %v, report:\n%s\nwant %q", err, out, want)
	}
}

// TestNoMapHint: a file without a source map, what a bundler's default
// configuration writes, is reported with the setting that makes one.
func TestNoMapHint(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"plain.min.js": "x()\n", "app.min.js": "y()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	var out bytes.Buffer
	opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Dir: dir, URLPrefix: "~/", DryRun: true}
	if err := upload.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if want := "Files without a source map (1):\n  " + filepath.Join(dir, "plain.min.js") + "\n  their errors' frames stay minified: " +
		"have the bundler write source maps (esbuild --sourcemap, Vite build.sourcemap: true,"; !strings.Contains(out.String(), want) {
		t.Errorf("report:\n%s\nwant %q", out.String(), want)
	}
}

// --dry-run shows the URL each file would be stored under, and a prefix
// no browser URL can match is warned about before anything is sent.
func TestDryRunShowsURLs(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	for _, tt := range []struct {
		prefix, url, warning string
	}{
		{"~/static/js", "~/static/js/app.min.js", ""},
		{"~/", "~/app.min.js", ""},
		{"https://cdn.example.com/js/", "https://cdn.example.com/js/app.min.js", ""},
		{"static/js", "static/js/app.min.js", `warning: --url-prefix "static/js" starts with neither ~/ nor a scheme`},
		{"/static/js", "/static/js/app.min.js", `did you mean "~/static/js"?`},
	} {
		var out, errOut bytes.Buffer
		opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Dir: dir, DryRun: true, URLPrefix: tt.prefix}
		if err := upload.Run(context.Background(), opts); err != nil {
			t.Fatalf("%s: Run: %v", tt.prefix, err)
		}
		for _, f := range []string{"app.min.js", "app.min.js.map"} {
			if want := filepath.Join(dir, f) + " as " + tt.url + strings.TrimPrefix(f, "app.min.js"); !strings.Contains(out.String(), want) {
				t.Errorf("%s: report lacks %q:\n%s", tt.prefix, want, out.String())
			}
		}
		if tt.warning == "" && errOut.Len() != 0 || !strings.Contains(errOut.String(), tt.warning) {
			t.Errorf("%s: stderr %q, want %q", tt.prefix, errOut.String(), tt.warning)
		}
	}
}

// TestLinkedBuildDirectory: a directory given as a symbolic link to the
// build output (current -> releases/42) is uploaded, its files named under
// it as under any directory, where upload found nothing to upload.
func TestLinkedBuildDirectory(t *testing.T) {
	build := t.TempDir()
	writeFiles(t, build, map[string]string{"js/app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "js/app.min.js.map": goodMap})
	current := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(build, current); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Dir: current, DryRun: true, URLPrefix: "~/static"}
	if err := upload.Run(context.Background(), opts); err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	for _, f := range []string{"app.min.js", "app.min.js.map"} {
		if want := filepath.Join(current, "js", f) + " as ~/static/js/" + f + "\n"; !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// A file given instead of a directory is named by its own name, and so is
// its map beside it, as sentry-cli names them; not "~/." and "~/../".
func TestUploadOneFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"js/app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "js/app.min.js.map": goodMap})
	file := filepath.Join(dir, "js", "app.min.js")
	var out bytes.Buffer
	opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Dir: file, DryRun: true, URLPrefix: "~/static"}
	if err := upload.Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{file + " as ~/static/app.min.js\n", file + ".map as ~/static/app.min.js.map\n", "Would upload (dry run) (2):"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// A path that does not exist is the error, with what to give instead,
// whatever the server and the project would have said.
func TestUploadMissingPath(t *testing.T) {
	url, token, _, _ := server(t, "web", "api")
	missing := filepath.Join(t.TempDir(), "dist")
	for _, tt := range []struct {
		name string
		opts upload.Options
	}{
		{"offline", upload.Options{}},
		{"no project named, two visible", upload.Options{URL: url, Token: token}},
		{"a project named", upload.Options{URL: url, Token: token, Project: "web"}},
		{"dry run", upload.Options{URL: url, Token: token, Project: "web", DryRun: true}},
	} {
		o := tt.opts
		o.IO, o.Dir, o.URLPrefix = &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, missing, "~/"
		err := upload.Run(context.Background(), &o)
		code, hint := cmdutil.ExitCode(err)
		if code != cmdutil.ExitError || err == nil || err.Error() != missing+" does not exist" || !strings.Contains(hint, "build output") {
			t.Errorf("%s: err = %v (exit %d, hint %q), want %q with a hint", tt.name, err, code, hint, missing+" does not exist")
		}
	}
}

// A project the server does not find is said to be missing, with how to
// list them, and exits as other commands do for it.
func TestUploadUnknownProject(t *testing.T) {
	url, token, _, _ := server(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Dir: dir, URL: url, Token: token, Project: "nope", URLPrefix: "~/"}
	err := upload.Run(context.Background(), opts)
	code, hint := cmdutil.ExitCode(err)
	if code != cmdutil.ExitNotFound || err == nil || err.Error() != `no project "nope" among the ones you can see` || !strings.Contains(hint, "flytrap projects list") {
		t.Errorf("err = %v (exit %d, hint %q), want the project named as missing", err, code, hint)
	}
}

// TestUploadDoesNotFollowARedirectAway: an https server whose upload
// endpoints redirect to plain http on the same host gets neither the
// token nor the bundle over http; the upload stops, exit 3, naming both
// URLs.
func TestUploadDoesNotFollowARedirectAway(t *testing.T) {
	url, token, _, _ := server(t)
	target, _ := neturl.Parse(url)
	rp := httputil.NewSingleHostReverseProxy(target)
	var leaked []string
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		rp.ServeHTTP(w, r)
	}))
	defer plain.Close()
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/0/") {
			http.Redirect(w, r, plain.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer tls.Close()
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"app.min.js": "x()\n//# sourceMappingURL=app.min.js.map\n", "app.min.js.map": goodMap})
	opts := &upload.Options{IO: &cmdutil.IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, HTTP: tls.Client(), Dir: dir, URL: tls.URL, Token: token,
		Project: "web", Release: "1", URLPrefix: "~/"}
	err := upload.Run(context.Background(), opts)
	code, _ := cmdutil.ExitCode(err)
	if code != cmdutil.ExitUnreachable || err == nil || !strings.Contains(err.Error(), tls.URL+"/api/0/") || !strings.Contains(err.Error(), plain.URL+"/api/0/") {
		t.Errorf("err = %v (exit %d), want exit 3 naming both URLs", err, code)
	}
	if len(leaked) != 0 {
		t.Errorf("the http listener got %q", leaked)
	}
}
