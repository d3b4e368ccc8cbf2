// Package destroy implements `flytrap destroy`: remove a deployment and
// everything it created from AWS.
package destroy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/cli/deployview"
	"github.com/getflytrap/flytrap/internal/deploy"
)

// Options are the inputs of `flytrap destroy`.
type Options struct {
	IO     *cmdutil.IOStreams
	Getenv func(string) string
	// Deps are the outside world; nil means the real ones.
	Deps *deploy.Deps

	Target    deploy.Target
	Yes       bool
	JSON      bool
	Workspace string
}

// NewCmd returns the destroy command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "destroy",
		Short: "Delete a Flytrap deployment and all its data from AWS",
		Long: `Destroy everything ` + "`flytrap deploy`" + ` created for a deployment: the database (RDS
keeps a final snapshot), the bucket with its source maps, the queues, functions,
API and dashboard instance, then the per-project alert topics the dashboard
created, with their e-mail subscriptions. Deletion protection is switched off
first.

It works from the state bucket alone, so a teammate can run it with --name,
--region and --profile instead of the plan file. Type the deployment's name to
confirm, or pass --yes.`,
		Example: `  flytrap destroy
  flytrap destroy --name prod --region eu-west-1 --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Target.ProfileSet = cmd.Flags().Changed("profile")
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	deployview.AddTargetFlags(fl, &opts.Target)
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "destroy without asking for the name")
	fl.BoolVar(&opts.JSON, "json", false, "print the result as JSON on stdout (progress goes to stderr)")
	fl.StringVar(&opts.Workspace, "workspace", "", "Terraform working directory (default .flytrap/deploy/<name> next to the plan)")
	cmdutil.MarkPaths(fl, "workspace")
	return cmd
}

// Run destroys the deployment.
func Run(ctx context.Context, opts *Options) error {
	p, err := opts.Target.Load(opts.Getenv)
	if err != nil {
		return err
	}
	ws := opts.Workspace
	if ws == "" {
		ws = deploy.DefaultWorkspace(opts.Target.PlanPath, p.Name)
	}
	deps := deploy.DefaultDeps(opts.Getenv, os.Environ())
	if opts.Deps != nil {
		deps = *opts.Deps
	}
	progress := opts.IO.Out
	if opts.JSON {
		progress = opts.IO.ErrOut
	}
	fmt.Fprintf(progress, "Destroying %q in %s\n", p.Name, p.AWS.Region)
	lr := &cmdutil.LineReader{In: opts.IO.In, Out: progress, Flag: "--yes"}
	o := deploy.Options{
		Yes:       opts.Yes,
		Workspace: ws,
		Ask:       lr.Line,
		Operation: "destroy",
		Progress:  deployview.ProgressFor(progress, opts.Getenv),
	}
	s := deploy.NewState(p, o, deps, progress)
	results, runErr := deploy.Pipeline{Steps: deploy.DestroySteps(), Out: progress, Now: deps.Now}.Run(ctx, s)
	if err := s.Close(); err != nil && runErr == nil {
		runErr = err
	}
	rep := s.Report(results, runErr)
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil && runErr == nil {
			runErr = err
		}
	} else {
		rep.WriteSummary(opts.IO.Out)
	}
	return runErr
}
