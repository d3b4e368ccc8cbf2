// Package layering holds the test that keeps Flytrap's packages layered
// one way (docs/architecture.md, "Layers"):
//
//	cmd → cli → {server, runtime} → {app, web} → {ingest, process, api, dashboard, deploy} → service → {store, queue, live} → {event, livemsg, apitypes, client}
//
// A package may depend on the layers below its own, never on one above.
package layering

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/getflytrap/flytrap/"

// layers ranks the packages of the diagram, lowest first; a pattern
// ending in "/" covers the packages under it.
var layers = [][]string{
	{"internal/event", "internal/livemsg", "internal/apitypes", "internal/client"},
	{"internal/store", "internal/queue", "internal/live"},
	{"internal/service"},
	{"internal/ingest", "internal/process", "internal/api", "internal/dashboard", "internal/deploy"},
	{"internal/app", "internal/web"},
	{"internal/server", "runtime", "runtime/"},
	{"internal/cli", "internal/cli/"},
	{"cmd/"},
}

// rank returns the layer of a package path relative to the module, or -1
// for the packages outside the diagram (helpers such as awsx, plan, tf).
func rank(rel string) int {
	for i, l := range layers {
		for _, p := range l {
			if rel == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(rel, p)) {
				return i
			}
		}
	}
	return -1
}

// deps returns each of the module's packages with its transitive
// dependencies (without test imports), as `go list -deps` builds them.
func deps(t *testing.T) map[string][]string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", module+"...").Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	if len(m) < 20 {
		t.Fatalf("go list found only %d packages", len(m))
	}
	return m
}

// TestLayersPointDown fails for every dependency of a package on a layer
// above its own, and on the command layer from anywhere outside it.
func TestLayersPointDown(t *testing.T) {
	for pkg, ds := range deps(t) {
		rel := strings.TrimPrefix(pkg, module)
		r := rank(rel)
		for _, d := range ds {
			drel, ok := strings.CutPrefix(d, module)
			if !ok {
				continue
			}
			if dr := rank(drel); dr > r && (r >= 0 || dr >= rank("internal/cli")) {
				t.Errorf("%s depends on %s, a layer above it", rel, drel)
			}
		}
	}
}

// TestDeployHasNoTerminal keeps prompts, flags, terminals and colors in
// the command layer: deploy writes plain text to an io.Writer and returns
// *deploy.Error, and awsx adapts AWS without rendering cloud-init. It also
// keeps the processor Lambda off the AWS clients it does not call.
func TestDeployHasNoTerminal(t *testing.T) {
	all := deps(t)
	tests := []struct {
		pkg       string
		forbidden []string
	}{
		{"internal/deploy", []string{
			module + "internal/cli",
			"github.com/spf13/pflag",
			"github.com/spf13/cobra",
			"github.com/charmbracelet/x/term",
			"charm.land/bubbletea",
			"charm.land/lipgloss",
			"charm.land/huh",
		}},
		{"internal/awsx", []string{
			"text/template",
			module + "templates",
		}},
		// The processor Lambda only reads S3 (source maps): the other
		// services' clients add their package initialisers, about 0.5
		// MB, to a binary with a 15 MiB budget (internal/awsbase).
		{"runtime/processor", []string{
			module + "internal/awsx",
			"github.com/aws/aws-sdk-go-v2/service/sqs",
			"github.com/aws/aws-sdk-go-v2/service/sns",
			"github.com/aws/aws-sdk-go-v2/service/secretsmanager",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			ds, ok := all[module+tt.pkg]
			if !ok {
				t.Fatalf("go list does not know %s", tt.pkg)
			}
			for _, d := range ds {
				for _, f := range tt.forbidden {
					if d == f || strings.HasPrefix(d, f+"/") {
						t.Errorf("%s depends on %s", tt.pkg, d)
					}
				}
			}
		})
	}
}

// TestNoEagerAWSSchemas keeps the AWS SDK's schema packages for SSM and RDS
// out of the binary. From ssm v1.80.0 and rds v1.133.0 the SDK builds a
// schema for every operation of the service in a package initialiser, 1.4
// and 1.3 MB of heap that every `flytrap dev` carried at idle although only
// `deploy` calls two of those operations; without them a cold `flytrap
// dev` holds about 5 MB less (docs/benchmarks.md, "The AWS SDK's schemas").
// go.mod holds ssm and rds at the last releases before; upgrading past
// them fails here, to be weighed against the idle target. Lambda, linked
// for deploy's one GetAccountSettings call, is held the same way at
// v1.108.0, the last release before its schemas (v1.109.0).
func TestNoEagerAWSSchemas(t *testing.T) {
	ds, ok := deps(t)[module+"cmd/flytrap"]
	if !ok {
		t.Fatal("go list does not know cmd/flytrap")
	}
	for _, d := range ds {
		for _, svc := range []string{"ssm", "rds", "lambda"} {
			if d == "github.com/aws/aws-sdk-go-v2/service/"+svc+"/schemas" {
				t.Errorf("cmd/flytrap links %s, built at every start", d)
			}
		}
	}
}
