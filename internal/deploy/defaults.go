package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/pflag"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
)

// DefaultDeps are the real implementations: the AWS SDK with the shared
// config, Terraform found or installed by hc-install, the runtime
// binaries from runtimebin, the cloud-init template from awsx.
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
			return awsx.RenderDashboardUserData(awsx.DashboardUserData{Name: in.Prefix})
		},
		HTTP:    &http.Client{Timeout: 15 * time.Second},
		Getenv:  getenv,
		Environ: environ,
		Now:     time.Now,
	}
}

// IsTerminal reports whether w is a terminal (the live view and colors
// need one; everything else works without).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// ProgressFor returns how Terraform runs are shown on w: the live view on
// a terminal, plain lines otherwise. NO_COLOR (any value) drops colors.
func ProgressFor(w io.Writer, getenv func(string) string) func(title string, p *Progress) Renderer {
	if !IsTerminal(w) {
		return func(_ string, p *Progress) Renderer { return &PlainRenderer{W: w, Progress: p, Indent: "    "} }
	}
	noColor := getenv("NO_COLOR") != ""
	return func(title string, p *Progress) Renderer { return NewTTYRenderer(w, title, p, noColor, time.Now) }
}

// LineReader answers prompts from a stream, one line each. It works the
// same on a terminal and on a pipe (`yes | flytrap deploy`); an empty
// stream is an error that points at the flag.
type LineReader struct {
	In  io.Reader
	Out io.Writer
	// Flag is the flag that answers without a prompt, for the error.
	Flag string
	r    *bufio.Reader
}

// Line prints prompt and reads one line.
func (l *LineReader) Line(ctx context.Context, prompt string) (string, error) {
	if l.r == nil {
		l.r = bufio.NewReader(l.In)
	}
	fmt.Fprint(l.Out, prompt)
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := l.r.ReadString('\n')
		ch <- result{s, err}
	}()
	select {
	case <-ctx.Done():
		fmt.Fprintln(l.Out)
		return "", ctx.Err()
	case res := <-ch:
		if res.err != nil && (res.s == "" || !errors.Is(res.err, io.EOF)) {
			fmt.Fprintln(l.Out)
			return "", &cmdutil.Error{
				Msg:  "no answer on standard input",
				Hint: "answer in a terminal, or pass " + l.Flag,
				Code: cmdutil.ExitUsage,
				Err:  res.err,
			}
		}
		return strings.TrimSpace(res.s), nil
	}
}

// YesNo asks a yes/no question; only y or yes means yes.
func (l *LineReader) YesNo(ctx context.Context, question string) (bool, error) {
	s, err := l.Line(ctx, question+" [y/N] ")
	if err != nil {
		return false, err
	}
	s = strings.ToLower(s)
	return s == "y" || s == "yes", nil
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

// AddFlags binds the flags that name a deployment, for the commands that
// work from the state bucket alone (destroy, status).
func (t *Target) AddFlags(fl *pflag.FlagSet) {
	fl.StringVar(&t.PlanPath, "plan", plan.DefaultFile, "plan file naming the deployment")
	fl.StringVar(&t.Name, "name", "", "deployment name (overrides the plan's)")
	fl.StringVar(&t.Region, "region", "", "AWS region (overrides the plan's)")
	fl.StringVar(&t.Profile, "profile", "", "AWS profile (overrides the plan's)")
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
		return plan.Plan{}, &cmdutil.Error{
			Msg:  "no plan file " + t.PlanPath,
			Hint: "run `flytrap init` first, pass --plan PATH, or name the deployment with --name (and --region)",
		}
	case err != nil:
		return plan.Plan{}, &cmdutil.Error{Msg: "cannot use the plan", Hint: "fix " + t.PlanPath + " or run `flytrap init` again", Err: err}
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
		return plan.Plan{}, cmdutil.UsageError(err.Error(), "pass a valid --name")
	}
	if err := plan.ValidateRegion(p.AWS.Region); err != nil {
		return plan.Plan{}, cmdutil.UsageError(err.Error(), "pass a valid --region")
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
