package tf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// Runner is the part of Terraform that deploy, destroy and the tests use.
// Exec implements it over terraform-exec; tests substitute a fake that
// replays recorded JSON streams.
type Runner interface {
	// Init initializes the working directory (providers, modules, backend).
	Init(ctx context.Context, o InitOptions) error
	// Plan writes the machine-readable UI stream to events and reports
	// whether there are changes.
	Plan(ctx context.Context, o PlanOptions, events io.Writer) (changes bool, err error)
	// Apply applies (a saved plan, when o.PlanFile is set), streaming JSON.
	Apply(ctx context.Context, o ApplyOptions, events io.Writer) error
	// Destroy destroys everything in the state, streaming JSON.
	Destroy(ctx context.Context, o DestroyOptions, events io.Writer) error
	// Outputs reads the root module's outputs from the state.
	Outputs(ctx context.Context) (map[string]Output, error)
}

// InitOptions are the flags of `terraform init`.
type InitOptions struct {
	// BackendConfig holds key=value pairs for a partial backend block.
	BackendConfig []string
	// NoBackend skips backend initialization (-backend=false).
	NoBackend bool
	// PluginDir restricts provider installation to a local mirror.
	PluginDir string
	// Reconfigure ignores a previously initialized backend (a dry run left
	// the local backend in the workspace).
	Reconfigure bool
}

// PlanOptions are the flags of `terraform plan`.
type PlanOptions struct {
	// Out saves the plan for Apply.
	Out string
	// Vars are -var assignments on top of terraform.tfvars.json.
	Vars map[string]string
	// Targets limit the plan to resources and their dependencies.
	Targets []string
	// Destroy plans destruction.
	Destroy bool
}

// ApplyOptions are the flags of `terraform apply`.
type ApplyOptions struct {
	// PlanFile applies a saved plan; Vars and Targets must then be empty.
	PlanFile string
	Vars     map[string]string
	Targets  []string
}

// DestroyOptions are the flags of `terraform destroy`.
type DestroyOptions struct {
	Vars map[string]string
}

// Output is one root module output.
type Output struct {
	Value     json.RawMessage `json:"value"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

// String returns a string output's value, or the compact JSON of any
// other.
func (o Output) String() string {
	var s string
	if json.Unmarshal(o.Value, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, o.Value) == nil {
		return buf.String()
	}
	return string(o.Value)
}

// Exec runs a real terraform binary in one working directory.
type Exec struct {
	tf  *tfexec.Terraform
	log io.Writer
}

// New returns an Exec running execPath in dir with exactly env (see Env),
// copying Terraform's plain output to log (a file in the workspace).
func New(dir, execPath string, env map[string]string, log io.Writer) (*Exec, error) {
	t, err := tfexec.NewTerraform(dir, execPath)
	if err != nil {
		return nil, err
	}
	if err := t.SetEnv(env); err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	t.SetStdout(log)
	t.SetStderr(log)
	return &Exec{tf: t, log: log}, nil
}

// Env returns the environment for Terraform: base (os.Environ's form) minus
// the variables terraform-exec sets itself and refuses to inherit (TF_LOG,
// TF_INPUT, TF_VAR_* ...), plus overrides. A TF_VAR_ from the user's shell
// would otherwise silently change what deploy applies.
func Env(base []string, overrides map[string]string) map[string]string {
	env := make(map[string]string, len(base)+len(overrides))
	for _, kv := range base {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			env[k] = v
		}
	}
	for _, k := range tfexec.ProhibitedEnv(env) {
		delete(env, k)
	}
	for k, v := range overrides {
		env[k] = v
	}
	for _, k := range tfexec.ProhibitedEnv(env) {
		delete(env, k)
	}
	return env
}

// OSEnv is Env over the process environment.
func OSEnv(overrides map[string]string) map[string]string { return Env(os.Environ(), overrides) }

// Init implements Runner.
func (e *Exec) Init(ctx context.Context, o InitOptions) error {
	opts := []tfexec.InitOption{tfexec.Backend(!o.NoBackend), tfexec.Reconfigure(o.Reconfigure)}
	for _, kv := range o.BackendConfig {
		opts = append(opts, tfexec.BackendConfig(kv))
	}
	if o.PluginDir != "" {
		opts = append(opts, tfexec.PluginDir(o.PluginDir))
	}
	e.tf.SetStdout(e.log)
	return e.tf.Init(ctx, opts...)
}

// Plan implements Runner.
func (e *Exec) Plan(ctx context.Context, o PlanOptions, events io.Writer) (bool, error) {
	opts := []tfexec.PlanOption{tfexec.Destroy(o.Destroy)}
	if o.Out != "" {
		opts = append(opts, tfexec.Out(o.Out))
	}
	for _, v := range assignments(o.Vars) {
		opts = append(opts, tfexec.Var(v))
	}
	for _, t := range o.Targets {
		opts = append(opts, tfexec.Target(t))
	}
	// ApplyJSON and PlanJSON leave their writer as the instance's stdout;
	// restore the log afterwards so later commands do not write into a
	// closed stream.
	defer e.tf.SetStdout(e.log)
	return e.tf.PlanJSON(ctx, io.MultiWriter(events, e.log), opts...)
}

// Apply implements Runner.
func (e *Exec) Apply(ctx context.Context, o ApplyOptions, events io.Writer) error {
	var opts []tfexec.ApplyOption
	if o.PlanFile != "" {
		if len(o.Vars) > 0 || len(o.Targets) > 0 {
			return fmt.Errorf("apply: a saved plan takes no variables or targets")
		}
		opts = append(opts, tfexec.DirOrPlan(o.PlanFile))
	}
	for _, v := range assignments(o.Vars) {
		opts = append(opts, tfexec.Var(v))
	}
	for _, t := range o.Targets {
		opts = append(opts, tfexec.Target(t))
	}
	defer e.tf.SetStdout(e.log)
	return e.tf.ApplyJSON(ctx, io.MultiWriter(events, e.log), opts...)
}

// Destroy implements Runner.
func (e *Exec) Destroy(ctx context.Context, o DestroyOptions, events io.Writer) error {
	var opts []tfexec.DestroyOption
	for _, v := range assignments(o.Vars) {
		opts = append(opts, tfexec.Var(v))
	}
	defer e.tf.SetStdout(e.log)
	return e.tf.DestroyJSON(ctx, io.MultiWriter(events, e.log), opts...)
}

// Outputs implements Runner.
func (e *Exec) Outputs(ctx context.Context) (map[string]Output, error) {
	e.tf.SetStdout(e.log)
	meta, err := e.tf.Output(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Output, len(meta))
	for k, m := range meta {
		out[k] = Output{Value: m.Value, Sensitive: m.Sensitive}
	}
	return out, nil
}

// assignments turns vars into sorted name=value strings (sorted so
// commands are reproducible in logs and tests).
func assignments(vars map[string]string) []string {
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
