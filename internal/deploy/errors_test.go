package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
)

// A development build run outside a checkout has no runtime binaries: the
// hint is the command that works (from the checkout, with the plan's
// absolute path, in the same mode), then `make release`, which builds a
// flytrap that deploys from anywhere.
func TestRuntimeUnavailableHint(t *testing.T) {
	missing := fmt.Errorf("%w: this flytrap is a development build without embedded runtime binaries, and /tmp/x is not inside a checkout", runtimebin.ErrUnavailable)
	tests := []struct {
		name     string
		opts     Options
		checkout string
		want     string
	}{
		{"dry run, checkout known", Options{DryRun: true, PlanPath: "/tmp/x/flytrap.yaml"}, "/src/flytrap",
			"`cd /src/flytrap && flytrap deploy --plan /tmp/x/flytrap.yaml --dry-run`"},
		{"deploy, paths with spaces", Options{PlanPath: "/home/me/my infra/flytrap.yaml"}, "/home/me/go src/flytrap",
			"`cd '/home/me/go src/flytrap' && flytrap deploy --plan '/home/me/my infra/flytrap.yaml'`"},
		{"a build that trimmed its paths", Options{DryRun: true, PlanPath: "/tmp/x/flytrap.yaml"}, "",
			"`cd <your checkout of " + runtimebin.Module + "> && flytrap deploy --plan /tmp/x/flytrap.yaml --dry-run`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var de *Error
			err := runtimeUnavailable(missing, tt.opts, tt.checkout)
			if !errors.As(err, &de) || !strings.Contains(de.Hint, tt.want) || !strings.Contains(de.Hint, "`make release` in the checkout writes bin/flytrap") ||
				!strings.Contains(err.Error(), "not inside a checkout") {
				t.Errorf("hint %q (error %v), want it to hold %s and `make release`", de.Hint, err, tt.want)
			}
		})
	}
}

// What the runtime step's build prints shows as the step's detail lines,
// as it comes: a cross-compile takes minutes.
func TestRuntimeStepShowsBuildProgress(t *testing.T) {
	e := newTestEnv(t)
	deps := e.deps()
	deps.Runtime = func(ctx context.Context, dir string, log io.Writer) (runtimebin.Artifacts, error) {
		fmt.Fprintf(log, "cross-compiling ingest.zip: this takes minutes\n")
		fmt.Fprintf(log, "built ingest.zip in 2m3s\n")
		return fakeRuntime(ctx, dir, log)
	}
	var out bytes.Buffer
	s := NewState(e.plan, e.opts, deps, &out)
	if err := (runtimeStep{}).Run(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "    cross-compiling ingest.zip: this takes minutes\n    built ingest.zip in 2m3s\n    ingest.zip ") {
		t.Errorf("runtime step printed:\n%s", out.String())
	}
}

// A plan that is not ./flytrap.yaml (a development build deploys from its
// checkout with --plan) is named in the commands the summary suggests.
func TestSummaryNamesThePlan(t *testing.T) {
	here, err := filepath.Abs(plan.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, planPath string
		failed         bool
		want           string
	}{
		{"dry run, elsewhere", "/home/me/infra/flytrap.yaml", false, "  Next:       flytrap deploy --plan /home/me/infra/flytrap.yaml (needs AWS credentials)\n"},
		{"failed dry run, elsewhere", "/home/me/infra/flytrap.yaml", true, "then run flytrap deploy --plan /home/me/infra/flytrap.yaml --dry-run again\n"},
		{"dry run, here", here, false, "  Next:       flytrap deploy (needs AWS credentials)\n"},
		{"failed dry run, here", here, true, "then run flytrap deploy --dry-run again\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.opts.DryRun, e.opts.PlanPath = true, tt.planPath
			var runErr error
			if tt.failed {
				runErr = errors.New("runtime: no")
			}
			var out bytes.Buffer
			NewState(e.plan, e.opts, e.deps(), io.Discard).Report(nil, runErr).WriteSummary(&out)
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("summary:\n%s\nwant it to hold %q", out.String(), tt.want)
			}
		})
	}
}
