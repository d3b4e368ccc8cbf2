package deploy

import (
	"errors"
	"fmt"
	"strings"
	"testing"

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
