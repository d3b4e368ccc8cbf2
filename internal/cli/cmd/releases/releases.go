// Package releases implements `flytrap releases`: a project's releases
// with their release health, and recording releases and their deploys
// from CI, as sentry-cli releases new, finalize and deploys new do.
package releases

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/issuefilter"
)

// Options are the inputs of the releases commands.
type Options struct {
	F       *cmdutil.Factory
	Host    string
	Out     cmdutil.JSONFlags
	Project string
	Env     string
	Since   string
	// Finalize makes `new` finalize the release now.
	Finalize bool
	// Released is finalize's --released; Started and Finished a
	// deploy's times; all RFC 3339, empty when not given.
	Released, Started, Finished string
	// Name and URL are a deploy's.
	Name, URL string
}

// NewCmd returns the releases command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "releases <command>",
		Short: "List a project's releases with their crash-free sessions and users; record releases and deploys",
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	list := &cobra.Command{
		Use:   "list",
		Short: "List a project's releases, newest first, with their crash-free sessions and users",
		Long: `List a project's releases, newest first, with the release health of the sessions
the SDKs reported (docs/api.md#release-health): sessions, crash-free sessions and
crash-free users, of those that started within --since (24h, 14d) or since a time
(2026-12-01T00:00:00Z), in --env or in all.`,
		Example: "  flytrap releases list\n  flytrap releases list -p web --env production --since 24h",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return List(cmd.Context(), opts)
		},
	}
	fl := list.Flags()
	projectFlag(f, list, opts)
	fl.StringVarP(&opts.Env, "env", "e", "", "only sessions of this environment")
	// The flag's first name, kept working; --env is the other commands'.
	fl.StringVar(&opts.Env, "environment", "", "only sessions of this environment")
	_ = fl.MarkHidden("environment")
	fl.StringVar(&opts.Since, "since", "14d", "only sessions that started within this long (24h, 14d) or since this time (2026-12-01T00:00:00Z)")
	opts.Out.Add(list)
	cmd.AddCommand(list, newCmd(f, opts), finalizeCmd(f, opts), deploysCmd(f, opts))
	return cmd
}

// projectFlag adds -p/--project with its completion to c.
func projectFlag(f *cmdutil.Factory, c *cobra.Command, opts *Options) {
	c.Flags().StringVarP(&opts.Project, "project", "p", "", "project name or ID (default: your only project)")
	_ = c.RegisterFlagCompletionFunc("project", f.CompleteProjects(&opts.Host))
}

func newCmd(f *cmdutil.Factory, opts *Options) *cobra.Command {
	c := &cobra.Command{
		Use:   "new <version>",
		Short: "Record a release before its first event (a CI step); one that exists is no error",
		Long: `Record a release of a project, as sentry-cli releases new does, so that
issues can be resolved in it and deploys recorded before an event names it.
A release that exists already is left as it is, with exit code 0, so a CI job
may run again; --finalize finalizes it now either way.`,
		Example: "  flytrap releases new shop@1.4.0 -p web\n  flytrap releases new \"shop@$(git rev-parse --short HEAD)\" --finalize --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return New(cmd.Context(), opts, args[0])
		},
	}
	projectFlag(f, c, opts)
	c.Flags().BoolVar(&opts.Finalize, "finalize", false, "finalize the release now, as `releases finalize` does")
	opts.Out.Add(c)
	return c
}

func finalizeCmd(f *cmdutil.Factory, opts *Options) *cobra.Command {
	c := &cobra.Command{
		Use:   "finalize <version>",
		Short: "Mark a release as released (now, or at --released)",
		Long: `Mark a release as released, as sentry-cli releases finalize does: now, or at
--released (an RFC 3339 time). A release finalized before is left as it is
unless --released is given, so a CI job may run again.`,
		Example: "  flytrap releases finalize shop@1.4.0 -p web\n  flytrap releases finalize shop@1.4.0 --released 2026-12-06T18:00:00Z",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return Finalize(cmd.Context(), opts, args[0])
		},
	}
	projectFlag(f, c, opts)
	c.Flags().StringVar(&opts.Released, "released", "", "when it was released, RFC 3339 (default: now, unless finalized before)")
	opts.Out.Add(c)
	return c
}

func deploysCmd(f *cmdutil.Factory, opts *Options) *cobra.Command {
	c := &cobra.Command{
		Use:   "deploys <command>",
		Short: "Record and list the deploys of a release",
	}
	add := &cobra.Command{
		Use:   "new <version>",
		Short: "Record a deploy of a release to an environment",
		Long: `Record a deploy of a release to an environment, as sentry-cli deploys new
does. The release must exist (flytrap releases new). Each call records one
deploy: a CI job run twice records two.`,
		Example: "  flytrap releases deploys new shop@1.4.0 -p web --env production\n" +
			"  flytrap releases deploys new shop@1.4.0 --env staging --name \"pipeline $CI_PIPELINE_ID\" --url \"$CI_PIPELINE_URL\" --started 2026-12-06T17:55:00Z",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return NewDeploy(cmd.Context(), opts, args[0])
		},
	}
	projectFlag(f, add, opts)
	fl := add.Flags()
	fl.StringVarP(&opts.Env, "env", "e", "", "the environment deployed to (required)")
	fl.StringVar(&opts.Name, "name", "", "a name for the deploy")
	fl.StringVar(&opts.URL, "url", "", "a link to the deploy, such as the CI job")
	fl.StringVar(&opts.Started, "started", "", "when the deploy started, RFC 3339")
	fl.StringVar(&opts.Finished, "finished", "", "when it finished, RFC 3339 (default: now)")
	opts.Out.Add(add)
	list := &cobra.Command{
		Use:     "list <version>",
		Short:   "List a release's deploys, the last finished first",
		Example: "  flytrap releases deploys list shop@1.4.0 -p web",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return ListDeploys(cmd.Context(), opts, args[0])
		},
	}
	projectFlag(f, list, opts)
	opts.Out.Add(list)
	c.AddCommand(add, list)
	return c
}

// project is the client and the project the command is about.
func (opts *Options) project(ctx context.Context) (*client.Client, apitypes.Project, error) {
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return nil, apitypes.Project{}, err
	}
	var p apitypes.Project
	if opts.Project != "" {
		p, err = cmdutil.FindProject(ctx, c, opts.Project)
	} else {
		p, err = cmdutil.OnlyProject(ctx, c)
	}
	return c, p, err
}

// parseTime reads flag's RFC 3339 time; empty is the zero time.
func parseTime(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, cmdutil.UsageError(fmt.Sprintf("--%s %q is not an RFC 3339 time", flag, v), "give one such as 2026-12-06T18:00:00Z")
	}
	return t.UTC(), nil
}

// stamp is a time in confirmations: minutes in UTC, as other commands
// print expiry times.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// notFound words a 404 for a release of p.
func notFound(err error, version string, p apitypes.Project) error {
	if !client.HasCode(err, apitypes.CodeNotFound) {
		return err
	}
	return &cmdutil.Error{Msg: fmt.Sprintf("release %q not found in %s", version, p.Name), Code: cmdutil.ExitNotFound,
		Hint: fmt.Sprintf("record it first: flytrap releases new %s -p %s", shellQuote(version), shellQuote(p.Name))}
}

// shellQuote quotes s for a POSIX shell when it needs it, so a hint can
// be pasted.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '@' || r == '.' || r == '-' || r == '_' || r == '+' || r == ':' || r == ',' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// New records a release; one that exists is left as it is.
func New(ctx context.Context, opts *Options, version string) error {
	if strings.TrimSpace(version) == "" {
		return cmdutil.UsageError("the version is empty", "give the release's version, e.g. shop@1.4.0")
	}
	c, p, err := opts.project(ctx)
	if err != nil {
		return err
	}
	req := apitypes.NewRelease{Version: version}
	if opts.Finalize {
		now := opts.F.Clock().UTC()
		req.DateReleased = &now
	}
	rel, created, err := c.CreateRelease(ctx, p.ID, req)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, rel, func(w io.Writer) error {
		what := fmt.Sprintf("Created release %s in %s", cmdutil.Clean(rel.Version), cmdutil.Clean(p.Name))
		if !created {
			what = fmt.Sprintf("Release %s exists in %s already (first seen %s)", cmdutil.Clean(rel.Version), cmdutil.Clean(p.Name), stamp(rel.FirstSeen))
		}
		switch {
		case rel.DateReleased != nil:
			what += ", finalized " + stamp(*rel.DateReleased)
		case !created:
			what += "; nothing changed"
		}
		_, err := fmt.Fprintln(w, what+".")
		return err
	})
}

// Finalize marks a release as released: at --released, else now unless
// it was finalized before.
func Finalize(ctx context.Context, opts *Options, version string) error {
	at, err := parseTime("released", opts.Released)
	if err != nil {
		return err
	}
	c, p, err := opts.project(ctx)
	if err != nil {
		return err
	}
	if at.IsZero() {
		rel, err := c.Release(ctx, p.ID, version)
		if err != nil {
			return notFound(err, version, p)
		}
		if rel.DateReleased != nil {
			return opts.F.Print(opts.Out, rel, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "Release %s in %s was finalized already, %s; nothing changed (--released sets another time).\n",
					cmdutil.Clean(rel.Version), cmdutil.Clean(p.Name), stamp(*rel.DateReleased))
				return err
			})
		}
		at = opts.F.Clock().UTC()
	}
	rel, err := c.FinalizeRelease(ctx, p.ID, version, at)
	if err != nil {
		return notFound(err, version, p)
	}
	return opts.F.Print(opts.Out, rel, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Finalized release %s in %s, %s.\n", cmdutil.Clean(rel.Version), cmdutil.Clean(p.Name), stamp(at))
		return err
	})
}

// NewDeploy records a deploy of an existing release.
func NewDeploy(ctx context.Context, opts *Options, version string) error {
	if opts.Env == "" {
		return cmdutil.UsageError("--env is required: the environment deployed to", "for example: flytrap releases deploys new "+shellQuote(version)+" --env production")
	}
	d := apitypes.NewDeploy{Environment: opts.Env, Name: opts.Name, URL: opts.URL}
	for _, t := range []struct {
		flag, v string
		dst     **time.Time
	}{{"started", opts.Started, &d.DateStarted}, {"finished", opts.Finished, &d.DateFinished}} {
		at, err := parseTime(t.flag, t.v)
		if err != nil {
			return err
		}
		if !at.IsZero() {
			*t.dst = &at
		}
	}
	c, p, err := opts.project(ctx)
	if err != nil {
		return err
	}
	dep, err := c.CreateDeploy(ctx, p.ID, version, d)
	if err != nil {
		return notFound(err, version, p)
	}
	return opts.F.Print(opts.Out, dep, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Recorded deploy %d of %s to %s in %s, finished %s.\n", dep.ID, cmdutil.Clean(dep.Version),
			cmdutil.Clean(dep.Environment), cmdutil.Clean(p.Name), stamp(dep.DateFinished))
		return err
	})
}

// ListDeploys prints a release's deploys.
func ListDeploys(ctx context.Context, opts *Options, version string) error {
	c, p, err := opts.project(ctx)
	if err != nil {
		return err
	}
	deps, err := c.Deploys(ctx, p.ID, version)
	if err != nil {
		return notFound(err, version, p)
	}
	now := opts.F.Clock()
	return opts.F.Print(opts.Out, deps, func(w io.Writer) error {
		t := opts.F.NewTable("id", "environment", "name", "started", "finished", "url")
		for _, d := range deps {
			started := time.Time{}
			if d.DateStarted != nil {
				started = *d.DateStarted
			}
			t.Row(strconv.FormatInt(d.ID, 10), d.Environment, d.Name, opts.F.When(started, now), opts.F.When(d.DateFinished, now), d.URL)
		}
		return t.Render(w)
	})
}

// List prints a project's releases with their health.
func List(ctx context.Context, opts *Options) error {
	now := opts.F.Clock()
	// As issues list and tail read it.
	since, err := issuefilter.ParseSince(opts.Since, now)
	if err != nil {
		return cmdutil.UsageError("--"+err.Error(), "")
	}
	c, p, err := opts.project(ctx)
	if err != nil {
		return err
	}
	q := url.Values{"since": {since.UTC().Format(time.RFC3339)}}
	if opts.Env != "" {
		q.Set("environment", opts.Env)
	}
	rs, err := c.Releases(ctx, p.ID, q)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, rs, func(w io.Writer) error {
		t := opts.F.NewTable("version", "first seen", "sessions", "crash-free sessions", "crash-free users", "new issues")
		for _, r := range rs {
			sessions, cfs, cfu := "-", "-", "-"
			if h := r.Health; h != nil {
				sessions, cfs, cfu = strconv.FormatInt(h.Sessions, 10), percent(h.CrashFreeSessions), percent(h.CrashFreeUsers)
			}
			t.Row(cmdutil.Clean(r.Version), opts.F.When(r.FirstSeen, now), sessions, cfs, cfu, strconv.FormatInt(r.NewIssues, 10))
		}
		return t.Render(w)
	})
}

// percent is a crash-free rate cut (not rounded) to two decimals, as the
// dashboard shows it; "-" for none.
func percent(p *float64) string {
	if p == nil {
		return "-"
	}
	// The epsilon keeps a float's error (0.29*100 is 28.999...) from
	// cutting a hundredth off.
	return strconv.FormatFloat(math.Floor(*p*100+1e-9)/100, 'f', 2, 64) + "%"
}
