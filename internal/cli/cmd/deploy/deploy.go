// Package deploy implements `flytrap deploy`: apply a plan file to AWS.
package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/cli/deployview"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/plan"
)

// Options are the inputs of `flytrap deploy`.
type Options struct {
	IO     *cmdutil.IOStreams
	Getenv func(string) string
	// Deps are the outside world; nil means the real ones.
	Deps *deploy.Deps

	PlanPath     string
	DryRun       bool
	Yes          bool
	JSON         bool
	UpdateAMI    bool
	Workspace    string
	SmokeTimeout time.Duration
	// RecordURL, when set, keeps the deployed dashboard URL for `flytrap
	// login` to offer as its default server.
	RecordURL func(url string) error
}

// NewCmd returns the deploy command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO, Getenv: f.Getenv, RecordURL: f.RecordDeployedURL}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Create or update Flytrap in your AWS account from flytrap.yaml",
		Long: `Apply the plan file (written by ` + "`flytrap init`" + `) to AWS, step by step:
check the credentials, create or reuse the Terraform state bucket, resolve the
AMI and availability zones, ensure Terraform, build or unpack the runtime
binaries, write the workspace, then terraform init, plan and (after you
confirm, or with --yes) apply; read the outputs, smoke-test the endpoints and
print the dashboard URL, the DSN shape and the first admin password.

--dry-run touches no AWS account: it writes the workspace with placeholder
account, AMI and zones and, when Terraform and the hashicorp/aws provider are
available (FLYTRAP_TF_PLUGIN_DIR names an offline mirror), prints the real
plan. Running deploy again applies changes to the plan file or a new flytrap
version (an upgrade).`,
		Example: `  flytrap deploy --dry-run
  flytrap deploy
  flytrap deploy --yes --json > deploy.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.PlanPath, "plan", plan.DefaultFile, "plan file to apply")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "render the workspace and plan offline; create nothing")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "apply without asking")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON on stdout (progress goes to stderr)")
	fl.BoolVar(&opts.UpdateAMI, "update-ami", false, "move the dashboard to the latest Amazon Linux 2023 AMI (replaces its instance)")
	fl.StringVar(&opts.Workspace, "workspace", "", "Terraform working directory (default .flytrap/deploy/<name> next to the plan)")
	cmdutil.MarkPaths(fl, "plan", "workspace")
	fl.DurationVar(&opts.SmokeTimeout, "smoke-timeout", deploy.DefaultSmokeTimeout, "how long to wait for the dashboard's /healthz after apply")
	return cmd
}

// Run deploys.
func Run(ctx context.Context, opts *Options) error {
	p, err := deploy.Target{PlanPath: opts.PlanPath}.Load(opts.Getenv)
	if err != nil {
		return err
	}
	ws := opts.Workspace
	if ws == "" {
		ws = deploy.DefaultWorkspace(opts.PlanPath, p.Name)
	}
	deps := deploy.DefaultDeps(opts.Getenv, os.Environ())
	if opts.Deps != nil {
		deps = *opts.Deps
	}
	// With --json, stdout carries only the JSON document.
	progress := opts.IO.Out
	if opts.JSON {
		progress = opts.IO.ErrOut
	}
	est := plan.EstimateMonthlyCost(p)
	mode := ""
	if opts.DryRun {
		mode = " (dry run)"
	}
	profile := p.AWS.Profile
	if profile == "" {
		profile = "default credentials"
	}
	fmt.Fprintf(progress, "Deploying %q to %s with %s%s: %s sizes, %s\n", p.Name, p.AWS.Region, profile, mode, p.Size, est.Headline())
	if opts.DryRun {
		if err := est.WriteText(progress); err != nil {
			return err
		}
	}

	planPath, err := filepath.Abs(opts.PlanPath)
	if err != nil {
		planPath = opts.PlanPath
	}
	lr := &cmdutil.LineReader{In: opts.IO.In, Out: progress, Flag: "--yes"}
	o := deploy.Options{
		DryRun:       opts.DryRun,
		Yes:          opts.Yes,
		Workspace:    ws,
		PlanPath:     planPath,
		UpdateAMI:    opts.UpdateAMI,
		SmokeTimeout: opts.SmokeTimeout,
		Confirm:      lr.YesNo,
		Progress:     deployview.ProgressFor(progress, opts.Getenv),
	}
	s := deploy.NewState(p, o, deps, progress)
	results, runErr := deploy.Pipeline{Steps: deploy.DeploySteps(), Out: progress, Now: deps.Now}.Run(ctx, s)
	if err := s.Close(); err != nil && runErr == nil {
		runErr = err
	}
	rep := s.Report(results, runErr)
	rep.Estimate = &est
	if runErr == nil && !opts.DryRun && rep.Outputs != nil && rep.Outputs.DashboardURL != "" && opts.RecordURL != nil {
		if err := opts.RecordURL(rep.Outputs.DashboardURL); err != nil {
			fmt.Fprintf(opts.IO.ErrOut, "warning: could not remember the dashboard URL for flytrap login: %v\n", err)
		}
	}
	if err := writeReport(opts.IO.Out, rep, opts.JSON); err != nil && runErr == nil {
		runErr = err
	}
	return runErr
}

func writeReport(w io.Writer, rep deploy.Report, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteSummary(w)
	return nil
}
