package deploy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/tf"
)

// providerRel is where a mirror holds the hashicorp/aws provider.
const providerRel = "registry.terraform.io/hashicorp/aws/6.47.1/linux_amd64/terraform-provider-aws_v6.47.1"

// unavailable skips, or fails under CI=true where every test must run.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// providerMirror returns a folder for -plugin-dir holding the provider:
// FLYTRAP_TF_PLUGIN_DIR, or one unpacked by <shared>/tools/aws-provider-
// mirror (FLYTRAP_SHARED_DIR, else ../shared next to the repository) into
// the user cache, where terraform/'s tests unpack it too.
func providerMirror(t *testing.T) string {
	t.Helper()
	if d := os.Getenv(EnvPluginDir); d != "" {
		if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(providerRel))); err != nil {
			t.Fatalf("%s=%s holds no provider: %v", EnvPluginDir, d, err)
		}
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = t.TempDir()
	}
	dest := filepath.Join(cache, "flytrap", "aws-provider-mirror")
	if _, err := os.Stat(filepath.Join(dest, filepath.FromSlash(providerRel))); err == nil {
		return dest
	}
	shared := os.Getenv("FLYTRAP_SHARED_DIR")
	if shared == "" {
		shared = filepath.Join("..", "..", "..", "shared")
	}
	script, _ := filepath.Abs(filepath.Join(shared, "tools", "aws-provider-mirror"))
	if _, err := os.Stat(script); err != nil {
		unavailable(t, "no provider mirror: set %s, or FLYTRAP_SHARED_DIR to the folder holding tools/aws-provider-mirror (%v)", EnvPluginDir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, script, dest).CombinedOutput(); err != nil {
		unavailable(t, "%s %s: %v\n%s", script, dest, err, out)
	}
	return dest
}

// TestDryRunPlansTheWholeStackOffline runs the dry-run pipeline with the
// real Terraform and the real hashicorp/aws provider (from the offline
// mirror): init, then a plan of the root module with placeholder account,
// AMI and zones and fake credentials. Only the runtime binaries and the
// cloud-init are stand-ins.
func TestDryRunPlansTheWholeStackOffline(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		unavailable(t, "terraform is not on PATH: %v", err)
	}
	mirror := providerMirror(t)
	cfg := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := plan.Default()
	p.Name = "offline"
	p.AWS = plan.AWS{Profile: "not-used", Region: "eu-central-1"}
	p.AdminEmail = "ops@example.com"
	p.AlertEmail = "alerts@example.com"
	// No domain: the dashboard goes behind CloudFront, whose prefix list
	// and origin secret the dry run fills with placeholders.
	p.Sizes = plan.Presets["medium"]
	p.Tags = map[string]string{"team": "errors", "cost-center": "42"}
	p.Normalize()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	deps := Deps{
		EnsureTerraform: func(ctx context.Context, c string) (tf.Installed, error) {
			return tf.Ensure(ctx, tf.EnsureOptions{Constraint: c, CacheDir: t.TempDir()})
		},
		NewRunner: func(dir, execPath string, env map[string]string, log io.Writer) (tf.Runner, error) {
			return tf.New(dir, execPath, env, log)
		},
		Runtime:        fakeRuntime,
		RenderUserData: func(in UserDataInput) (string, error) { return "#cloud-config\n# " + in.Prefix + "\n", nil },
		Getenv: func(k string) string {
			if k == EnvPluginDir {
				return mirror
			}
			return ""
		},
		// The user's AWS settings must not matter: the dry run replaces them.
		Environ: append(os.Environ(), "TF_CLI_CONFIG_FILE="+cfg, "AWS_PROFILE=does-not-exist"),
	}
	var out bytes.Buffer
	ws := filepath.Join(t.TempDir(), "ws")
	s := NewState(p, Options{DryRun: true, Workspace: ws}, deps, &out)
	start := time.Now()
	res, err := Pipeline{Steps: DeploySteps(), Out: &out}.Run(context.Background(), s)
	s.Close()
	t.Logf("dry run with a real plan: %.1fs", time.Since(start).Seconds())
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(ws, LogFileName))
		t.Fatalf("dry run: %v\n%s\n%s", err, out.String(), tail(string(log), 40))
	}
	if got := fmt.Sprint(names(res)); !strings.Contains(got, "plan:ok") || !strings.Contains(got, "confirm:stopped") {
		t.Fatalf("steps %s\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "Plan: 87 to add, 0 to change, 0 to destroy.") || !strings.Contains(out.String(), "aws_cloudfront_distribution") {
		t.Errorf("output lacks the plan of 87 resources with CloudFront:\n%s", out.String())
	}
	rep := s.Report(res, nil)
	if rep.Plan == nil || rep.Plan.Add != 87 {
		t.Errorf("report plan %+v", rep.Plan)
	}
	if _, err := os.Stat(filepath.Join(ws, PlanFileName)); err != nil {
		t.Errorf("no saved plan: %v", err)
	}
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
