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
