package deployview

import (
	"github.com/spf13/pflag"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/plan"
)

// AddTargetFlags binds the flags that name a deployment to t, for the
// commands that work from the state bucket alone (destroy, status).
func AddTargetFlags(fl *pflag.FlagSet, t *deploy.Target) {
	fl.StringVar(&t.PlanPath, "plan", plan.DefaultFile, "plan file naming the deployment")
	fl.StringVar(&t.Name, "name", "", "deployment name (overrides the plan's)")
	fl.StringVar(&t.Region, "region", "", "AWS region (overrides the plan's)")
	fl.StringVar(&t.Profile, "profile", "", "AWS profile (overrides the plan's)")
	cmdutil.MarkPaths(fl, "plan")
}
