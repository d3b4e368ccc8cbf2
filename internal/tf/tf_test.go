package tf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needTerraform returns a terraform binary for the tests that run the real
// one: skipped without it, failed under CI=true.
func needTerraform(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("terraform")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("terraform is not on PATH: %v", err)
		}
		t.Skipf("terraform is not on PATH: %v", err)
	}
	return p
}

// testEnv is a clean environment for Terraform: an empty CLI config (the
// one the environment names may be missing or point at registries), no
// version check.
func testEnv(t *testing.T) map[string]string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "terraformrc")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return Env(os.Environ(), map[string]string{"TF_CLI_CONFIG_FILE": cfg, "CHECKPOINT_DISABLE": "1"})
}

// fixture copies the local-only fixture module into a temporary workspace.
func fixture(t *testing.T, vars string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "fixture", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "terraform.tfvars.json"), []byte(vars), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// collect runs f with a stream writer and returns the decoded messages.
func collect(t *testing.T, f func(w *bytes.Buffer) error) ([]Message, error) {
	t.Helper()
	var buf bytes.Buffer
	err := f(&buf)
	var msgs []Message
	if derr := Decode(&buf, func(m Message) { msgs = append(msgs, m) }); derr != nil {
		t.Fatal(derr)
	}
	return msgs, err
}

func ofType(msgs []Message, typ string) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// TestExecLifecycle runs init, plan, apply (of the saved plan), output,
// a failing apply and destroy of the fixture through Exec with the real
// terraform binary.
func TestExecLifecycle(t *testing.T) {
	bin := needTerraform(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := fixture(t, `{"name": "demo"}`)
	var log bytes.Buffer
	r, err := New(dir, bin, testEnv(t), &log)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Init(ctx, InitOptions{}); err != nil {
		t.Fatalf("init: %v\n%s", err, log.String())
	}

	var changes bool
	msgs, err := collect(t, func(w *bytes.Buffer) error {
		var perr error
		changes, perr = r.Plan(ctx, PlanOptions{Out: "test.tfplan"}, w)
		return perr
	})
	if err != nil || !changes {
		t.Fatalf("plan: changes=%v err=%v\n%s", changes, err, log.String())
	}
	if got := len(ofType(msgs, TypePlannedChange)); got != 5 {
		t.Errorf("%d planned changes, want 5", got)
	}
	sums := ofType(msgs, TypeChangeSummary)
	if len(sums) != 1 || *sums[0].Changes != (ChangeSummary{Add: 5, Operation: "plan"}) {
		t.Errorf("plan summary = %+v", sums)
	}

	msgs, err = collect(t, func(w *bytes.Buffer) error { return r.Apply(ctx, ApplyOptions{PlanFile: "test.tfplan"}, w) })
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, log.String())
	}
	if got := len(ofType(msgs, TypeApplyComplete)); got != 5 {
		t.Errorf("%d apply_complete, want 5", got)
	}
	sums = ofType(msgs, TypeChangeSummary)
	if len(sums) != 1 || sums[0].Changes.Operation != "apply" || sums[0].Changes.Add != 5 {
		t.Errorf("apply summary = %+v", sums)
	}

	out, err := r.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out["name"].String() != "demo" || out["items"].String() != `["demo-0","demo-1","demo-2"]` {
		t.Errorf("outputs = name %s, items %s", out["name"].String(), out["items"].String())
	}

	// A saved plan takes no variables.
	if err := r.Apply(ctx, ApplyOptions{PlanFile: "x", Vars: map[string]string{"a": "b"}}, &bytes.Buffer{}); err == nil {
		t.Error("apply of a plan file with variables succeeded")
	}

	// A failing provisioner: apply_errored and an error diagnostic.
	msgs, err = collect(t, func(w *bytes.Buffer) error {
		return r.Apply(ctx, ApplyOptions{Vars: map[string]string{"fail": "true"}, Targets: []string{"terraform_data.maybe_fail"}}, w)
	})
	if err == nil {
		t.Fatal("apply with fail=true succeeded")
	}
	errored := ofType(msgs, TypeApplyErrored)
	if len(errored) != 1 || errored[0].Hook.Resource.Addr != "terraform_data.maybe_fail" {
		t.Errorf("apply_errored = %+v", errored)
	}
	diags := ofType(msgs, TypeDiagnostic)
	found := false
	for _, d := range diags {
		if d.Diagnostic.Severity == "error" && strings.Contains(d.Diagnostic.Summary, "local-exec provisioner error") {
			found = true
		}
	}
	if !found {
		t.Errorf("no provisioner error diagnostic in %+v", diags)
	}

	msgs, err = collect(t, func(w *bytes.Buffer) error { return r.Destroy(ctx, DestroyOptions{}, w) })
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, log.String())
	}
	sums = ofType(msgs, TypeChangeSummary)
	if len(sums) == 0 || sums[len(sums)-1].Changes.Operation != "destroy" {
		t.Errorf("destroy summaries = %+v", sums)
	}
	if _, err := os.Stat(filepath.Join(dir, "terraform.tfstate")); err != nil {
		t.Errorf("no local state after destroy: %v", err)
	}
	if !strings.Contains(log.String(), "Terraform has been successfully initialized") {
		t.Errorf("init output not logged:\n%s", log.String())
	}
}

func TestEnv(t *testing.T) {
	env := Env([]string{"PATH=/bin", "TF_LOG=trace", "TF_VAR_name=evil", "TF_CLI_ARGS=-no-color", "AWS_PROFILE=x", "BROKEN"}, map[string]string{"AWS_REGION": "eu-west-1", "TF_VAR_x": "y"})
	want := map[string]string{"PATH": "/bin", "AWS_PROFILE": "x", "AWS_REGION": "eu-west-1"}
	if len(env) != len(want) {
		t.Errorf("env = %v, want %v", env, want)
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env[%s] = %q, want %q", k, env[k], v)
		}
	}
}

func TestDecode(t *testing.T) {
	in := strings.Join([]string{
		`{"@level":"info","@message":"Terraform 1.11.4","@timestamp":"2026-11-22T01:08:40.266126Z","terraform":"1.11.4","type":"version","ui":"1.2"}`,
		``,
		`panic: something broke`,
		`{"@level":"info","@message":"a: Creating...","@timestamp":"2026-11-22T01:08:41Z","hook":{"resource":{"addr":"a","module":"","resource_type":"terraform_data","resource_name":"a"},"action":"create"},"type":"apply_start"}`,
		`{"@level":"error","@message":"Error: boom","@timestamp":"2026-11-22T01:08:42Z","diagnostic":{"severity":"error","summary":"boom","detail":"long\ndetail","address":"a","range":{"filename":"main.tf","start":{"line":3}}},"type":"diagnostic"}`,
	}, "\n") // no final newline: the last line still counts
	var msgs []Message
	if err := Decode(strings.NewReader(in), func(m Message) { msgs = append(msgs, m) }); err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want 4: %+v", len(msgs), msgs)
	}
	if msgs[0].Type != TypeVersion || msgs[1].Type != "" || msgs[1].Text != "panic: something broke" {
		t.Errorf("first two = %+v", msgs[:2])
	}
	if msgs[2].Hook == nil || msgs[2].Hook.Resource.Addr != "a" || msgs[2].Hook.Action != "create" {
		t.Errorf("hook = %+v", msgs[2].Hook)
	}
	if d := msgs[3].Diagnostic; d == nil || d.Range.Filename != "main.tf" || d.Range.Start.Line != 3 || d.Address != "a" {
		t.Errorf("diagnostic = %+v", d)
	}
}

func TestStreamWriter(t *testing.T) {
	var got []string
	w := StreamWriter(func(m Message) { got = append(got, m.Type) })
	// Lines split across writes, and a last line without newline.
	parts := []string{`{"type":"apply_st`, "art\"}\n{\"type\":\"apply_complete\"}\n", `{"type":"change_summary"}`}
	for _, p := range parts {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "apply_start,apply_complete,change_summary" {
		t.Errorf("decoded %v", got)
	}
}

func TestOutputString(t *testing.T) {
	for raw, want := range map[string]string{`"x"`: "x", `3`: "3", `["a"]`: `["a"]`} {
		if got := (Output{Value: json.RawMessage(raw)}).String(); got != want {
			t.Errorf("Output(%s).String() = %q, want %q", raw, got, want)
		}
	}
}

// fakeTerraform writes an executable named terraform into a new folder
// that reports version v.
func fakeTerraform(t *testing.T, v string) string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nif [ \"$2\" = \"-json\" ]; then echo '{\"terraform_version\":\"" + v + "\"}'; else echo 'Terraform v" + v + "'; fi\n"
	if err := os.WriteFile(filepath.Join(dir, "terraform"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestEnsure(t *testing.T) {
	offline := func(context.Context, string) ([]string, error) { return nil, errors.New("no such host") }
	tests := []struct {
		name       string
		pathVer    string // version of the terraform on PATH; "" for none
		cached     bool   // the pinned version is in the cache
		constraint string
		wantSource string
		wantErr    string
	}{
		{"path satisfies", "1.11.4", false, DeployConstraint, "path", ""},
		{"old path for plan", "1.5.7", false, PlanConstraint, "path", ""},
		{"old path, cache", "1.5.7", true, DeployConstraint, "cache", ""},
		{"old path, offline", "1.5.7", false, DeployConstraint, "", "releases.hashicorp.com is unreachable"},
		{"none, offline", "", false, DeployConstraint, "", "none >= 1.10 on PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := t.TempDir()
			if tt.pathVer != "" {
				path = fakeTerraform(t, tt.pathVer)
			}
			t.Setenv("PATH", path)
			cache := t.TempDir()
			if tt.cached {
				src := fakeTerraform(t, PinnedVersion)
				if err := os.MkdirAll(filepath.Join(cache, PinnedVersion), 0o755); err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(filepath.Join(src, "terraform"))
				if err := os.WriteFile(filepath.Join(cache, PinnedVersion, "terraform"), b, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			start := time.Now()
			got, err := Ensure(context.Background(), EnsureOptions{Constraint: tt.constraint, CacheDir: cache, Lookup: offline})
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Ensure took %s; offline must fail fast", d)
			}
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Ensure = %+v, %v; want ErrUnavailable with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Source != tt.wantSource || !filepath.IsAbs(got.Path) {
				t.Errorf("Ensure = %+v, want source %s", got, tt.wantSource)
			}
		})
	}
	if _, err := Ensure(context.Background(), EnsureOptions{Constraint: "not a constraint"}); err == nil {
		t.Error("a bad constraint was accepted")
	}
}
