package deploy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
)

// DefaultDeps are the real implementations: the AWS SDK with the shared
// config, Terraform found or installed by hc-install, the runtime
// binaries from runtimebin, the cloud-init document from templates.
func DefaultDeps(getenv func(string) string, environ []string) Deps {
	return Deps{
		AWS: LoadClients,
		EnsureTerraform: func(ctx context.Context, constraint string) (tf.Installed, error) {
			return tf.Ensure(ctx, tf.EnsureOptions{Constraint: constraint})
		},
		NewRunner: func(dir, execPath string, env map[string]string, log io.Writer) (tf.Runner, error) {
			return tf.New(dir, execPath, env, log)
		},
		Runtime: func(ctx context.Context, dir string, log io.Writer) (runtimebin.Artifacts, error) {
			return runtimebin.Provide(ctx, runtimebin.Options{Dir: dir, PrebuiltDir: getenv(runtimebin.EnvDir), Log: log})
		},
		RenderUserData: func(in UserDataInput) (string, error) {
			return RenderDashboardUserData(DashboardUserData{Name: in.Prefix})
		},
		HTTP:    &http.Client{Timeout: 15 * time.Second},
		Getenv:  getenv,
		Environ: environ,
		Now:     time.Now,
	}
}

// Target says which deployment a command acts on: a plan file, with
// flags overriding its name, region and profile (so a teammate without
// the plan can run destroy or status).
type Target struct {
	PlanPath string
	Name     string
	Region   string
	Profile  string
	// ProfileSet is true when --profile was given (even empty).
	ProfileSet bool
}

// Load returns the plan for t. A missing plan file is fine when the name
// is given; the region then defaults like init's.
func (t Target) Load(getenv func(string) string) (plan.Plan, error) {
	p, err := plan.Load(t.PlanPath)
	var nf *plan.NotFoundError
	switch {
	case errors.As(err, &nf) && t.Name != "":
		p = plan.Default()
		p.AWS.Region = firstNonEmpty(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION"), plan.DefaultRegion)
		p.AWS.Profile = getenv("AWS_PROFILE")
	case errors.As(err, &nf):
		return plan.Plan{}, &Error{
			Msg:  "no plan file " + t.PlanPath,
			Hint: "run `flytrap init` first, pass --plan PATH, or name the deployment with --name (and --region)",
		}
	case err != nil:
		return plan.Plan{}, &Error{Msg: "cannot use the plan", Hint: "fix " + t.PlanPath + " or run `flytrap init` again", Err: err}
	}
	if t.Name != "" {
		p.Name = t.Name
	}
	if t.Region != "" {
		p.AWS.Region = t.Region
	}
	if t.ProfileSet {
		p.AWS.Profile = t.Profile
	}
	if err := plan.ValidateName(p.Name); err != nil {
		return plan.Plan{}, usageError(err.Error(), "pass a valid --name")
	}
	if err := plan.ValidateRegion(p.AWS.Region); err != nil {
		return plan.Plan{}, usageError(err.Error(), "pass a valid --region")
	}
	return p, nil
}

// DefaultWorkspace is where a deployment's Terraform files live: next to
// the plan file, under .flytrap/deploy/<name>.
func DefaultWorkspace(planPath, name string) string {
	return filepath.Join(filepath.Dir(planPath), ".flytrap", "deploy", name)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
