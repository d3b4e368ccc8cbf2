package inject_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/cli/cmd/sourcemaps/inject"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// TestNoMapNamed: a file without a source map, what a bundler's default
// configuration writes, is marked, and the summary names the setting that
// makes one; files with an external or inline map are not.
func TestNoMapNamed(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"plain.js":   "x()\n",
		"app.js":     "y()\n//# sourceMappingURL=app.js.map\n",
		"app.js.map": `{"version":3,"file":"app.js","sources":["a.js"],"names":[],"mappings":"AAAA"}`,
		"inline.js":  "z()\n//# sourceMappingURL=data:application/json;base64,eyJ2ZXJzaW9uIjozLCJzb3VyY2VzIjpbImEuanMiXSwibmFtZXMiOltdLCJtYXBwaW5ncyI6IkFBQUEifQ==\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	if err := inject.Run(&inject.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Dir: dir, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if n := strings.Count(got, "(no source map)"); n != 1 || !strings.Contains(got, filepath.Join(dir, "plain.js")+"  (no source map)\n") {
		t.Errorf("want plain.js alone marked (no source map):\n%s", got)
	}
	if !strings.Contains(got, "1 without a source map: their errors' frames stay minified; have the bundler write source maps (esbuild --sourcemap,") {
		t.Errorf("no summary naming the bundler settings:\n%s", got)
	}
}

// TestLinksLeftAlone: a JavaScript file or a source map that is a symbolic
// link is reported and not written, so a link in the build output cannot
// make inject change a file outside it; the regular files beside them are
// injected.
func TestLinksLeftAlone(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	const target = "do not touch\n"
	for _, name := range []string{"hostname", "shared.js.map"} {
		if err := os.WriteFile(filepath.Join(outside, name), []byte(target), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"app.js":       "y()\n//# sourceMappingURL=app.js.map\n",
		"app.js.map":   `{"version":3,"file":"app.js","sources":["a.js"],"names":[],"mappings":"AAAA"}`,
		"vendor.js":    "v()\n//# sourceMappingURL=vendor.js.map\n",
		"sub/keep.txt": "",
	}
	for name, body := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(outside, "hostname"), filepath.Join(dir, "sub", "link.js")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "shared.js.map"), filepath.Join(dir, "vendor.js.map")); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := inject.Run(&inject.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Dir: dir}); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
	}
	for _, name := range []string{"hostname", "shared.js.map"} {
		if b, _ := os.ReadFile(filepath.Join(outside, name)); string(b) != target {
			t.Errorf("%s, outside the directory, was written through a link: %q", name, b)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "vendor.js")); string(b) != files["vendor.js"] {
		t.Errorf("vendor.js, whose map is a link, was injected: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "app.js")); !strings.Contains(string(b), "//# debugId=") {
		t.Errorf("app.js beside the links was not injected: %q", b)
	}
	for _, want := range []string{filepath.Join(dir, "sub", "link.js") + ": a symbolic link", "its source map " + filepath.Join(dir, "vendor.js.map") + " is a symbolic link"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("no report of %q:\n%s", want, errOut.String())
		}
	}
	if !strings.Contains(out.String(), "injected 1, already had a debug ID 0, failed 0, skipped 2 behind symbolic links\n") {
		t.Errorf("summary:\n%s", out.String())
	}
}

// TestLinkedBuildDirectory: a directory given as a symbolic link to the
// build output (current -> releases/42) is walked, as it is with a
// trailing slash, where inject found no file in it; links under it are
// still left alone.
func TestLinkedBuildDirectory(t *testing.T) {
	build, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(build, "app.js"), []byte("y()\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "hostname"), []byte("do not touch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "hostname"), filepath.Join(build, "link.js")); err != nil {
		t.Fatal(err)
	}
	current := filepath.Join(t.TempDir(), "current")
	if err := os.Symlink(build, current); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := inject.Run(&inject.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &errOut}, Dir: current}); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errOut.String())
	}
	if b, _ := os.ReadFile(filepath.Join(build, "app.js")); !strings.Contains(string(b), "//# debugId=") {
		t.Errorf("app.js under the linked directory was not injected: %q\n%s", b, out.String())
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "hostname")); string(b) != "do not touch\n" {
		t.Errorf("a link under the linked directory was written through: %q", b)
	}
	if want := filepath.Join(current, "app.js"); !strings.Contains(out.String(), want) {
		t.Errorf("report does not name %s, under the directory as given:\n%s", want, out.String())
	}
	if !strings.Contains(out.String(), "injected 1, already had a debug ID 0, failed 0, skipped 1 behind symbolic links\n") {
		t.Errorf("summary:\n%s", out.String())
	}
}
