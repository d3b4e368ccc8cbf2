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
