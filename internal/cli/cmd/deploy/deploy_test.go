package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/cli"
	deploycmd "github.com/getflytrap/flytrap/internal/cli/cmd/deploy"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
)

// run runs the flytrap CLI with args, an environment for flytrap itself
// and stdin, and returns stdout, stderr and the exit code.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string { return env[k] },
	}
	code := cli.Run(context.Background(), f, args)
	return out.String(), errOut.String(), code
}

func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// mirror finds the hashicorp/aws provider mirror the way the terraform
// and deploy tests leave it: FLYTRAP_TF_PLUGIN_DIR, else the user cache,
// else unpacked from <shared>/tools/aws-provider-mirror (FLYTRAP_SHARED_DIR
// or ../shared next to the repository).
func mirror(t *testing.T) string {
	t.Helper()
	const rel = "registry.terraform.io/hashicorp/aws/6.47.1/linux_amd64/terraform-provider-aws_v6.47.1"
	if d := os.Getenv(deploy.EnvPluginDir); d != "" {
		return d
	}
	cache, _ := os.UserCacheDir()
	dest := filepath.Join(cache, "flytrap", "aws-provider-mirror")
	if _, err := os.Stat(filepath.Join(dest, rel)); err == nil {
		return dest
	}
	shared := os.Getenv("FLYTRAP_SHARED_DIR")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "..", "..", "shared")
	}
	script, _ := filepath.Abs(filepath.Join(shared, "tools", "aws-provider-mirror"))
	if _, err := os.Stat(script); err != nil {
		unavailable(t, "no provider mirror (set %s or FLYTRAP_SHARED_DIR): %v", deploy.EnvPluginDir, err)
	}
	if out, err := exec.Command(script, dest).CombinedOutput(); err != nil {
		unavailable(t, "%s: %v\n%s", script, err, out)
	}
	return dest
}

// TestInitThenDryRun is the acceptance path without AWS: `flytrap init
// --yes` with flags, then `flytrap deploy --dry-run`, all real: the
// runtime binaries cross-compiled from this checkout, the cloud-init
// rendered from its template, Terraform on PATH, the hashicorp/aws
// provider from the offline mirror; it prints the plan of the whole stack.
func TestInitThenDryRun(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		unavailable(t, "terraform is not on PATH")
	}
	if _, err := exec.LookPath("go"); err != nil {
		unavailable(t, "go is not on PATH (the runtime binaries are built with it)")
	}
	env := map[string]string{deploy.EnvPluginDir: mirror(t)}
	// Terraform inherits the process environment: give it an empty CLI
	// config (the one named here may be missing) and no version check.
	cfg := filepath.Join(t.TempDir(), "terraformrc")
	os.WriteFile(cfg, nil, 0o644)
	t.Setenv("TF_CLI_CONFIG_FILE", cfg)
	t.Setenv("CHECKPOINT_DISABLE", "1")

	dir := t.TempDir()
	planPath := filepath.Join(dir, plan.DefaultFile)
	out, errOut, code := run(t, env, "", "init", "--yes", "--offline", "-o", planPath, "--name", "acme", "--region", "eu-west-1",
		"--admin-email", "ops@example.com", "--alert-email", "alerts@example.com")
	if code != 0 {
		t.Fatalf("init exit %d\n%s%s", code, out, errOut)
	}
	start := time.Now()
	out, errOut, code = run(t, env, "", "deploy", "--dry-run", "--plan", planPath)
	t.Logf("deploy --dry-run: %.1fs", time.Since(start).Seconds())
	if code != 0 {
		t.Fatalf("deploy --dry-run exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"Plan: 87 to add, 0 to change, 0 to destroy.", "(built)", "confirm", "Dry run of \"acme\"", "nothing was created"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	ws := filepath.Join(dir, ".flytrap", "deploy", "acme")
	raw, err := os.ReadFile(filepath.Join(ws, deploy.VarsFileName))
	if err != nil {
		t.Fatal(err)
	}
	v, err := deploy.ParseVars(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.DashboardUserData, "#cloud-config") || !strings.Contains(v.DashboardUserData, "flytrap-acme") || v.AccountID != deploy.PlaceholderAccountID {
		t.Errorf("vars: account %s, user data %.80q", v.AccountID, v.DashboardUserData)
	}
	for _, f := range []string{"artifacts/ingest.zip", "artifacts/processor.zip", "artifacts/flytrap-dashboard", deploy.PlanFileName, "modules/dashboard/main.tf"} {
		if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
			t.Errorf("workspace lacks %s", f)
		}
	}

	// The same again as JSON: stdout is one document, progress on stderr.
	out, errOut, code = run(t, env, "", "deploy", "--dry-run", "--json", "--plan", planPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep deploy.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if !rep.DryRun || !rep.Completed || rep.Plan == nil || rep.Plan.Add != 87 || rep.Estimate == nil || rep.Resolved.Source != "placeholder" {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(errOut, "==> [8/16] plan") {
		t.Errorf("progress not on stderr:\n%s", errOut)
	}
}

// TestRunWithFakes drives the command's Run with fake dependencies:
// without Terraform a dry run still renders the workspace, the report goes
// to stdout as JSON and the progress to stderr.
func TestRunWithFakes(t *testing.T) {
	dir := t.TempDir()
	p := plan.Default()
	p.Name, p.AdminEmail, p.AWS.Region = "demo", "ops@example.com", "eu-west-1"
	planPath := filepath.Join(dir, plan.DefaultFile)
	if err := plan.Save(planPath, p); err != nil {
		t.Fatal(err)
	}
	pre := t.TempDir()
	for _, n := range []string{"ingest", "processor", "dashboard"} {
		os.WriteFile(filepath.Join(pre, n), []byte("\x7fELF fake"), 0o755)
	}
	var out, errOut bytes.Buffer
	opts := &deploycmd.Options{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Getenv: func(string) string { return "" },
		Deps: &deploy.Deps{
			EnsureTerraform: func(context.Context, string) (tf.Installed, error) { return tf.Installed{}, tf.ErrUnavailable },
			Runtime: func(ctx context.Context, dir string, log io.Writer) (runtimebin.Artifacts, error) {
				return runtimebin.Provide(ctx, runtimebin.Options{Dir: dir, PrebuiltDir: pre})
			},
			RenderUserData: func(in deploy.UserDataInput) (string, error) { return "#cloud-config\n", nil },
		},
		PlanPath: planPath,
		DryRun:   true,
		JSON:     true,
	}
	if err := deploycmd.Run(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rep deploy.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout: %v\n%s", err, out.String())
	}
	if rep.Plan == nil || rep.Plan.Skipped == "" || rep.Workspace != filepath.Join(dir, ".flytrap", "deploy", "demo") {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(errOut.String(), "Terraform is not available") {
		t.Errorf("stderr:\n%s", errOut.String())
	}

	// A missing plan file names the fix.
	opts.PlanPath = filepath.Join(dir, "missing.yaml")
	err := deploycmd.Run(context.Background(), opts)
	if code, hint := cmdutil.ExitCode(err); code != cmdutil.ExitError || !strings.Contains(hint, "flytrap init") {
		t.Errorf("missing plan: %v (hint %q)", err, hint)
	}
}
