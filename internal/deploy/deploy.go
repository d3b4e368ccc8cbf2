// Package deploy applies a plan (flytrap.yaml) to AWS as an ordered list
// of small named steps: check credentials, create or reuse the state
// bucket, resolve plan-time values, ensure Terraform, provide the runtime
// binaries, write the workspace, init, plan, confirm, apply, read outputs,
// restart the dashboard after an upgrade, smoke-test, and hand over the
// first admin password. `flytrap destroy` is a shorter list over the same
// State (DestroySteps).
//
// Every dependency on the outside (AWS clients, Terraform, the runtime
// build, HTTP, the clock) comes in through Deps, so tests run the real
// steps against fakes.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
)

// Step is one stage of a deploy or destroy.
type Step interface {
	// Name is short and stable: it labels the step's output line and the
	// JSON report, and tests refer to it.
	Name() string
	// Run does the work, reading and extending s. It returns Skip(...) when
	// there is nothing to do, or ErrStop to end the pipeline successfully.
	Run(ctx context.Context, s *State) error
}

// skipError says a step had nothing to do, and why.
type skipError struct{ reason string }

func (e skipError) Error() string { return "skipped: " + e.reason }

// Skip returns the error a step returns when it does nothing; the reason
// is printed.
func Skip(format string, args ...any) error { return skipError{fmt.Sprintf(format, args...)} }

// ErrStop ends the pipeline after the current step without failing (a dry
// run stops before apply; a declined confirmation stops too).
var ErrStop = errors.New("stop")

// Deps are the outside world, injected.
type Deps struct {
	// AWS returns clients for a profile and region. Only real deploys call
	// it: a dry run makes no AWS call at all.
	AWS func(ctx context.Context, profile, region string) (*Clients, error)
	// EnsureTerraform finds or installs Terraform meeting a constraint.
	EnsureTerraform func(ctx context.Context, constraint string) (tf.Installed, error)
	// NewRunner returns a Terraform runner for a workspace.
	NewRunner func(dir, execPath string, env map[string]string, log io.Writer) (tf.Runner, error)
	// Runtime provides the runtime binaries into a folder.
	Runtime func(ctx context.Context, dir string, log io.Writer) (runtimebin.Artifacts, error)
	// RenderUserData renders the dashboard's cloud-init document.
	RenderUserData func(in UserDataInput) (string, error)
	// HTTP is used by the smoke test.
	HTTP *http.Client
	// Getenv reads the environment (FLYTRAP_TF_PLUGIN_DIR).
	Getenv func(string) string
	// Environ is the environment Terraform inherits (os.Environ's form).
	Environ []string
	// Now is the clock; Sleep waits between smoke-test attempts.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// UserDataInput is what the dashboard's cloud-init may depend on.
type UserDataInput struct {
	// Prefix is the resource name prefix, "flytrap-<name>".
	Prefix string
}

// Options are the choices of one run.
type Options struct {
	// DryRun renders the workspace and plans offline; nothing in AWS is
	// read or changed.
	DryRun bool
	// Yes applies without asking.
	Yes bool
	// Workspace is the Terraform working directory.
	Workspace string
	// PlanPath is the plan file, absolute, for commands a hint suggests.
	PlanPath string
	// UpdateAMI moves the dashboard to the newest Amazon Linux AMI (which
	// replaces the instance); otherwise a redeploy keeps the AMI it had.
	UpdateAMI bool
	// SmokeTimeout bounds the wait for the dashboard's first /healthz.
	SmokeTimeout time.Duration
	// Confirm asks the user to go ahead; nil means never (--yes or
	// non-interactive).
	Confirm func(ctx context.Context, question string) (bool, error)
	// Ask asks for a typed answer (destroy's name confirmation); nil means
	// no one can answer.
	Ask func(ctx context.Context, prompt string) (string, error)
	// Operation labels Terraform's log ("deploy", "destroy"...).
	Operation string
	// Progress returns the renderer for one Terraform run.
	Progress func(title string, p *Progress) Renderer
}

// State is what the steps read and write.
type State struct {
	Plan    plan.Plan
	Options Options
	Deps    Deps
	// Log receives the step's detail lines (Logf).
	Log io.Writer

	Clients     *Clients
	Identity    awsx.Identity
	StateBucket awsx.StateBucket
	// BucketCreated is true when this run created the state bucket.
	BucketCreated bool
	// Previous are the variables of the last apply, when there was one.
	Previous *Vars
	// Existing is the deployment's state as found in S3 (destroy).
	Existing *awsx.TerraformState
	Resolved Resolved

	Terraform tf.Installed
	Runner    tf.Runner
	Artifacts runtimebin.Artifacts
	Vars      Vars
	// PlanFile is the saved plan apply uses.
	PlanFile string
	// PlanSkipped says why a dry run did not plan ("" when it did).
	PlanSkipped string
	// PlanProgress holds what the plan announced.
	PlanProgress *Progress
	// DatabaseChanges are the database settings this deploy changes, with
	// when RDS applies each.
	DatabaseChanges []DatabaseChange
	// Applied is the progress of the apply.
	Applied *Progress
	Outputs *Outputs
	// Migrated is true when the migrate step migrated the database (the
	// apply then re-plans: the targeted upload changed the state).
	Migrated bool
	// Restarted is true when the dashboard service was restarted.
	Restarted bool
	Smoke     *SmokeResult
	Admin     *awsx.InitialAdmin
	// AdminShownBefore is true when no password was waiting: an earlier
	// deploy showed it.
	AdminShownBefore bool
	// Declined is true when the user said no to applying.
	Declined bool
	// Warnings are shown again in the summary.
	Warnings []string

	closers []func() error
}

// Close releases what the steps opened (Terraform's log file).
func (s *State) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Logf prints a detail line of the running step.
func (s *State) Logf(format string, args ...any) {
	fmt.Fprintf(s.Log, "    "+format+"\n", args...)
}

// Warnf records and prints a warning.
func (s *State) Warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.Warnings = append(s.Warnings, msg)
	fmt.Fprintf(s.Log, "    warning: %s\n", msg)
}

// Resolved are the values Terraform needs at plan time that only AWS
// knows; a dry run uses documented placeholders (Placeholder*).
type Resolved struct {
	AccountID         string   `json:"account_id"`
	AMIID             string   `json:"ami_id"`
	AvailabilityZones []string `json:"availability_zones"`
	// CloudFrontPrefixList is the region's CloudFront origin-facing
	// prefix list, for a dashboard behind CloudFront ("" otherwise).
	CloudFrontPrefixList string `json:"cloudfront_prefix_list_id,omitempty"`
	// OriginSecret is the header value CloudFront sends the dashboard:
	// generated once, then kept from the last deploy's inputs.
	OriginSecret string `json:"-"`
	// Source is "aws", "previous" (kept from the last apply) or
	// "placeholder" (dry run).
	Source string `json:"source"`
}

// Placeholders for a dry run: values of the right shape that no real
// account or image has, so a dry-run plan cannot be mistaken for one of a
// real account (123456789012 is AWS's documentation account).
const (
	PlaceholderAccountID = "123456789012"
	PlaceholderAMIID     = "ami-0123456789abcdef0"
	// PlaceholderPrefixList stands for the CloudFront origin-facing list.
	PlaceholderPrefixList = "pl-0123456789abcdef0"
)

// PlaceholderZones are a dry run's zones: the region's "a" and "b".
func PlaceholderZones(region string) []string { return []string{region + "a", region + "b"} }

// StepResult is one step's outcome in the report.
type StepResult struct {
	Name       string `json:"name"`
	Status     string `json:"status"` // ok, skipped, failed, stopped
	Detail     string `json:"detail,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// Pipeline runs steps in order.
type Pipeline struct {
	Steps []Step
	// Out receives one line per step.
	Out io.Writer
	Now func() time.Time
}

// Run runs every step until one fails or stops the pipeline, printing
// "==> name" when a step starts and its outcome when it ends. It returns
// the results and the failing step's error, wrapped with the step's name.
func (p Pipeline) Run(ctx context.Context, s *State) ([]StepResult, error) {
	now := p.Now
	if now == nil {
		now = time.Now
	}
	var results []StepResult
	for i, step := range p.Steps {
		if err := ctx.Err(); err != nil {
			return results, err
		}
		fmt.Fprintf(p.Out, "==> [%d/%d] %s\n", i+1, len(p.Steps), step.Name())
		start := now()
		err := step.Run(ctx, s)
		r := StepResult{Name: step.Name(), DurationMS: now().Sub(start).Milliseconds()}
		var skip skipError
		switch {
		case err == nil:
			r.Status = "ok"
		case errors.As(err, &skip):
			r.Status, r.Detail = "skipped", skip.reason
			fmt.Fprintf(p.Out, "    skipped: %s\n", skip.reason)
		case errors.Is(err, ErrStop):
			r.Status = "stopped"
			results = append(results, r)
			return results, nil
		default:
			r.Status, r.Detail = "failed", err.Error()
			results = append(results, r)
			return results, &StepError{Step: step.Name(), Err: err}
		}
		results = append(results, r)
	}
	return results, nil
}

// StepError is a failure of a named step.
type StepError struct {
	Step string
	Err  error
}

// Error names the step, then its error.
func (e *StepError) Error() string { return e.Step + ": " + e.Err.Error() }

// Unwrap returns the step's error, so its hint and exit code still apply.
func (e *StepError) Unwrap() error { return e.Err }
