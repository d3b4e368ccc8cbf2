package cli

import (
	"io"
	"maps"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// testFactory is the Factory of a run of the CLI in a test: env is its
// environment, with FLYTRAP_CONFIG_DIR an empty directory of t's unless
// env names one, so that no run finds the developer's own hosts.json and
// its server; standard input is empty, and out and errOut take what the
// run prints. A test sets the rest (TTY, Now, HTTPClient, In) on what it
// returns.
func testFactory(t *testing.T, env map[string]string, out, errOut io.Writer) *cmdutil.Factory {
	t.Helper()
	all := map[string]string{"FLYTRAP_CONFIG_DIR": t.TempDir()}
	maps.Copy(all, env)
	return &cmdutil.Factory{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Getenv: func(k string) string { return all[k] },
	}
}
