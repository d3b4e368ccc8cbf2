package cmdutil

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/projectref"
)

// AddHostFlag adds --host, the server to talk to, to cmd and its
// subcommands, which read FLYTRAP_URL without it and FLYTRAP_TOKEN
// always (hosts.Config.Resolve).
func AddHostFlag(cmd *cobra.Command, host *string) {
	cmd.PersistentFlags().StringVar(host, "host", "", "Flytrap server URL (default: FLYTRAP_URL, else the last one logged in to)")
	EnvDefault(cmd.PersistentFlags(), "host", "FLYTRAP_URL")
	ReadsEnv(cmd, "FLYTRAP_TOKEN")
}

// FindProject is the project arg names among those the caller may see:
// its exact name or ID, else its name in another case or its slug, as
// projectref.Resolve decides for the sentry-cli API too. A name that may
// mean two projects is refused, not guessed.
func FindProject(ctx context.Context, c *client.Client, arg string) (apitypes.Project, error) {
	ps, err := c.Projects(ctx)
	if err != nil {
		return apitypes.Project{}, err
	}
	key := func(p apitypes.Project) (int64, string) { return p.ID, p.Name }
	switch m := projectref.Resolve(ps, arg, key); len(m) {
	case 1:
		return m[0], nil
	case 0:
		return apitypes.Project{}, &Error{
			Msg:  fmt.Sprintf("no project %q among the ones you can see", arg),
			Hint: "list them with `flytrap projects list`",
			Code: ExitNotFound,
		}
	default:
		return apitypes.Project{}, UsageError(fmt.Sprintf("project %q is ambiguous: it may mean %s", arg, projectref.Describe(m, key)),
			"give the exact name or the ID")
	}
}

// OnlyProject is the one project the caller may see, for commands whose
// --project was left out: on a fresh `flytrap dev` there is just one. With
// none or several it says what to do instead of guessing.
func OnlyProject(ctx context.Context, c *client.Client) (apitypes.Project, error) {
	ps, err := c.Projects(ctx)
	if err != nil {
		return apitypes.Project{}, err
	}
	switch len(ps) {
	case 1:
		return ps[0], nil
	case 0:
		return apitypes.Project{}, &Error{Msg: "no project to use: this token sees none",
			Hint: "create one with `flytrap projects create NAME`, or ask an admin to add you to one"}
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return apitypes.Project{}, UsageError("no project named, and you can see "+strconv.Itoa(len(ps)),
		"pass --project: one of "+strings.Join(names, ", "))
}

// ClientAndProject is the client of the command's server (host is its
// --host) and the project arg names there.
func (f *Factory) ClientAndProject(ctx context.Context, host, arg string) (*client.Client, apitypes.Project, error) {
	c, err := f.APIClient(host)
	if err != nil {
		return nil, apitypes.Project{}, err
	}
	p, err := FindProject(ctx, c, arg)
	return c, p, err
}

// CompleteProjects completes project names from the server; host is the
// command's --host.
func (f *Factory) CompleteProjects(host *string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		c, err := f.APIClient(*host)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
		defer cancel()
		ps, err := c.Projects(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, p := range ps {
			if strings.HasPrefix(p.Name, prefix) {
				names = append(names, p.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// When formats a time for a table: relative on a terminal ("3m ago"),
// RFC 3339 elsewhere, so scripts get something they can parse.
func (f *Factory) When(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if !f.IO.OutIsTTY() {
		return t.UTC().Format(time.RFC3339)
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "in " + Ago(-d)
	case d < time.Minute:
		return "just now"
	}
	return Ago(d) + " ago"
}

// Ago is d rounded to its largest unit: 45s, 3m, 5h, 12d.
func Ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// Lifetime turns a --expires value such as 30d or 12h into the time that
// far after now; "" is nil, no expiry.
func Lifetime(s string, now time.Time) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	// issuefilter reads look-backs ("30d" ago); the lifetime is its mirror.
	back, err := issuefilter.ParseSince(s, now)
	if err != nil || !back.Before(now) || strings.ContainsAny(s, "T:") {
		return nil, UsageError(fmt.Sprintf("--expires must be a duration such as 30d or 12h, not %q", s), "")
	}
	at := now.Add(now.Sub(back)).UTC()
	return &at, nil
}
