// Package releases implements `flytrap releases`: a project's releases
// with their release health.
package releases

import (
	"context"
	"io"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
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
}

// NewCmd returns the releases command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "releases <command>",
		Short: "List a project's releases with their crash-free sessions and users",
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
	fl.StringVarP(&opts.Project, "project", "p", "", "project name or ID (default: your only project)")
	fl.StringVarP(&opts.Env, "env", "e", "", "only sessions of this environment")
	// The flag's first name, kept working; --env is the other commands'.
	fl.StringVar(&opts.Env, "environment", "", "only sessions of this environment")
	_ = fl.MarkHidden("environment")
	fl.StringVar(&opts.Since, "since", "14d", "only sessions that started within this long (24h, 14d) or since this time (2026-12-01T00:00:00Z)")
	_ = list.RegisterFlagCompletionFunc("project", f.CompleteProjects(&opts.Host))
	opts.Out.Add(list)
	cmd.AddCommand(list)
	return cmd
}

// List prints a project's releases with their health.
func List(ctx context.Context, opts *Options) error {
	now := opts.F.Clock()
	// As issues list and tail read it.
	since, err := issuefilter.ParseSince(opts.Since, now)
	if err != nil {
		return cmdutil.UsageError("--"+err.Error(), "")
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	var p apitypes.Project
	if opts.Project != "" {
		p, err = cmdutil.FindProject(ctx, c, opts.Project)
	} else {
		p, err = cmdutil.OnlyProject(ctx, c)
	}
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
