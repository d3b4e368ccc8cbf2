package upload_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/cli/cmd/sourcemaps/upload"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// A map whose mappings point past its one source is refused before
// anything is sent, as the server would refuse it, like a map with
// malformed mappings.
func TestUploadRefusesMapPointingPastItsSources(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"app.min.js":     "x()\n//# sourceMappingURL=app.min.js.map\n",
		"app.min.js.map": `{"version":3,"file":"app.min.js","sources":["a.js"],"names":[],"mappings":"AAAA,KCAA,KCAA"}`,
	})
	var out bytes.Buffer
	err := upload.Run(context.Background(), &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Dir: dir, DryRun: true})
	var ce *cmdutil.Error
	want := `points at source 1, but "sources" has 1 entry`
	if code, _ := cmdutil.ExitCode(err); !errors.As(err, &ce) || code != cmdutil.ExitError || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v (exit %d), want exit %d with %q", err, code, cmdutil.ExitError, want)
	}
}

// esbuild's map of a chunk of its own helpers lists no sources and has no
// mappings: a valid map, uploaded without a word about it, while a map
// whose sources and sourcesContent differ in length is still reported.
func TestUploadMapWithoutSourcesIsNoMismatch(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"main.js":               "import{a as f}from\"./chunk-5XGN7UAV.js\";f()\n//# sourceMappingURL=main.js.map\n",
		"main.js.map":           `{"version":3,"sources":["src/main.js"],"sourcesContent":["f()"],"mappings":"AAAA","names":[]}`,
		"chunk-5XGN7UAV.js":     "var d=Object.defineProperty;export{d as a};\n//# sourceMappingURL=chunk-5XGN7UAV.js.map\n",
		"chunk-5XGN7UAV.js.map": "{\n  \"version\": 3,\n  \"sources\": [],\n  \"sourcesContent\": [],\n  \"mappings\": \"\",\n  \"names\": []\n}\n",
		"index-sections.js":     "x()\n//# sourceMappingURL=index-sections.js.map\n",
		"index-sections.js.map": `{"version":3,"sections":[{"offset":{"line":0,"column":0},"map":{"version":3,"sources":[],"mappings":""}}]}`,
		"lopsided.js":           "y()\n//# sourceMappingURL=lopsided.js.map\n",
		"lopsided.js.map":       `{"version":3,"sources":["a.js","b.js"],"sourcesContent":["a"],"mappings":"AAAA","names":[]}`,
	})
	var out bytes.Buffer
	if err := upload.Run(context.Background(), &upload.Options{IO: &cmdutil.IOStreams{Out: &out, ErrOut: &bytes.Buffer{}}, Dir: dir, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	if strings.Contains(report, "chunk-5XGN7UAV") && strings.Contains(report, "no sources") ||
		strings.Contains(report, "index-sections.js.map:") {
		t.Errorf("a map without sources reported as a mismatch:\n%s", report)
	}
	if !strings.Contains(report, "Maps that do not match their file (1):") || !strings.Contains(report, "lopsided.js.map: 2 sources but 1 sourcesContent entries") {
		t.Errorf("report:\n%s\nwant only lopsided.js.map as a mismatch", report)
	}
}
