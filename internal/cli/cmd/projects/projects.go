// Package projects implements `flytrap projects`: list, create, rename,
// update and delete projects, and show or rotate their ingest keys.
package projects

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// Options are the inputs shared by the project commands.
type Options struct {
	F    *cmdutil.Factory
	Host string
	Out  cmdutil.JSONFlags
	Yes  bool
	// RateLimit is update's --rate-limit: a number of events per
	// minute, "unlimited" or "default"; empty when not given.
	RateLimit string
	// Filter holds filters' flags: on or off for each named filter, and
	// the patterns of each list; which were given is read from the
	// command's flags.
	Filter struct {
		BrowserExtensions, Localhost, WebCrawlers string
		ErrorMessages, Releases, LegacyBrowsers   []string
		// Set names the flags given.
		Set map[string]bool
	}
}

// NewCmd returns the projects command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "projects <command>",
		Short: "List, create, rename, update and delete projects; show their DSNs and keys",
		Example: `  flytrap projects list
  flytrap projects create web
  flytrap projects dsn web`,
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	complete := f.CompleteProjects(&opts.Host)
	verb := func(use, short, example string, nargs int, run func(context.Context, *Options, []string) error, data bool) *cobra.Command {
		c := &cobra.Command{
			Use: use, Short: short, Example: example, Args: cobra.ExactArgs(nargs),
			RunE: func(cmd *cobra.Command, args []string) error { return run(cmd.Context(), opts, args) },
		}
		if nargs > 0 && use != "create <name>" {
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return complete(cmd, args, prefix)
			}
		}
		if data {
			opts.Out.Add(c)
		}
		return c
	}
	del := verb("delete <project>", "Delete a project with all its issues, events and keys (admins)",
		"  flytrap projects delete old-site --yes", 1, Delete, false)
	del.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "delete without asking")
	rot := verb("rotate-key <project>", "Replace a project's ingest key; SDKs with the old DSN are refused within a minute (the project's admins)",
		"  flytrap projects rotate-key web --yes", 1, RotateKey, true)
	rot.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "rotate without asking")
	upd := verb("update <project>", "Change a project's settings: its ingest rate limit (admins of the server)",
		"  flytrap projects update web --rate-limit 600\n  flytrap projects update web --rate-limit unlimited\n  flytrap projects update web --rate-limit default", 1, Update, true)
	upd.Flags().StringVar(&opts.RateLimit, "rate-limit", "", "events per minute the project may send, unlimited, or default for the server's --rate-limit")
	flt := verb("filters <project>", "Show a project's inbound filters and what they dropped in 24 hours, or change them (the project's admins)",
		"  flytrap projects filters web\n  flytrap projects filters web --localhost on --error-message '*ResizeObserver loop*' --error-message 'ChunkLoadError*'\n  flytrap projects filters web --release ''", 1, Filters, true)
	flt.Flags().StringVar(&opts.Filter.BrowserExtensions, "browser-extensions", "", "on or off: drop errors raised by browser extensions")
	flt.Flags().StringVar(&opts.Filter.Localhost, "localhost", "", "on or off: drop events from localhost, 127.0.0.1 and ::1")
	flt.Flags().StringArrayVar(&opts.Filter.LegacyBrowsers, "legacy-browser", nil,
		"a browser whose old versions to drop: chrome, edge, firefox, safari, opera, opera_mini, android, ie or default; repeat for more; replaces the list ('' turns the filter off)")
	flt.Flags().StringVar(&opts.Filter.WebCrawlers, "web-crawlers", "", "on or off: drop events from known web crawlers")
	flt.Flags().StringArrayVar(&opts.Filter.ErrorMessages, "error-message", nil, "a glob of messages to drop; repeat for more; replaces the list ('' empties it)")
	flt.Flags().StringArrayVar(&opts.Filter.Releases, "release", nil, "a glob of releases to drop; repeat for more; replaces the list ('' empties it)")
	flt.PreRun = func(cmd *cobra.Command, _ []string) {
		opts.Filter.Set = map[string]bool{}
		cmd.Flags().Visit(func(f *pflag.Flag) { opts.Filter.Set[f.Name] = true })
	}
	cmd.AddCommand(
		verb("list", "List the projects you can see", "  flytrap projects list\n  flytrap projects list --jq '.[].name'", 0, List, true),
		verb("create <name>", "Create a project and print its DSN (admins)", "  flytrap projects create web", 1, Create, true),
		verb("rename <project> <new-name>", "Rename a project (the project's admins)", "  flytrap projects rename web storefront", 2, Rename, true),
		upd,
		flt,
		del,
		verb("dsn <project>", "Print the DSN of a project's active key", "  SENTRY_DSN=$(flytrap projects dsn web)\n  flytrap projects dsn web --jq .public_key", 1, DSN, true),
		verb("keys <project>", "List a project's ingest keys", "  flytrap projects keys web", 1, Keys, true),
		rot,
	)
	return cmd
}

// List prints the projects the caller can see.
func List(ctx context.Context, opts *Options, _ []string) error {
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	ps, err := c.Projects(ctx)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, ps, func(w io.Writer) error {
		t := opts.F.NewTable("id", "name", "created")
		now := opts.F.Clock()
		for _, p := range ps {
			t.Row(strconv.FormatInt(p.ID, 10), p.Name, opts.F.When(p.CreatedAt, now))
		}
		return t.Render(w)
	})
}

// Create creates a project and prints its DSN.
func Create(ctx context.Context, opts *Options, args []string) error {
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	p, err := c.CreateProject(ctx, args[0])
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, p, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Created project %s (id %d).\nDSN: %s\n", cmdutil.Clean(p.Name), p.ID, cmdutil.Clean(p.Key.DSN))
		return err
	})
}

// Rename renames a project.
func Rename(ctx context.Context, opts *Options, args []string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, args[0])
	if err != nil {
		return err
	}
	d, err := c.UpdateProject(ctx, p.ID, apitypes.ProjectPatch{Name: &args[1]})
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, d, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Renamed project %d from %s to %s.\n", d.ID, cmdutil.Clean(p.Name), cmdutil.Clean(d.Name))
		return err
	})
}

// Update changes a project's settings and prints them.
func Update(ctx context.Context, opts *Options, args []string) error {
	if opts.RateLimit == "" {
		return cmdutil.UsageError("nothing to change", "pass --rate-limit with a number of events per minute, unlimited or default")
	}
	limit, err := parseRateLimit(opts.RateLimit)
	if err != nil {
		return err
	}
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, args[0])
	if err != nil {
		return err
	}
	d, err := c.UpdateProject(ctx, p.ID, apitypes.ProjectPatch{RateLimit: limit})
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, d, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Project %s (id %d) now takes %s.\n", cmdutil.Clean(d.Name), d.ID, describeRateLimit(d.RateLimit))
		return err
	})
}

// parseRateLimit reads --rate-limit.
func parseRateLimit(s string) (apitypes.RateLimitPatch, error) {
	switch s {
	case "default":
		return apitypes.RateLimitPatch{Set: true}, nil
	case "unlimited":
		n := apitypes.RateLimitNone
		return apitypes.RateLimitPatch{Set: true, Value: &n}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > apitypes.MaxRateLimit {
		return apitypes.RateLimitPatch{}, cmdutil.UsageError(fmt.Sprintf("--rate-limit is a number of events per minute from 1 to %d, unlimited or default, not %q", apitypes.MaxRateLimit, s),
			"default puts the project back on the server's --rate-limit")
	}
	return apitypes.RateLimitPatch{Set: true, Value: &n}, nil
}

// describeRateLimit says what a project's rate_limit lets it send.
func describeRateLimit(limit *int) string {
	switch {
	case limit == nil:
		return "events at the server's rate limit"
	case *limit == apitypes.RateLimitNone:
		return "events at any rate"
	}
	return fmt.Sprintf("at most %d events per minute", *limit)
}

// Filters prints a project's inbound filters, after changing those whose
// flags were given.
func Filters(ctx context.Context, opts *Options, args []string) error {
	var patch apitypes.InboundFiltersPatch
	for _, b := range []struct {
		flag, value string
		dst         **bool
	}{
		{"browser-extensions", opts.Filter.BrowserExtensions, &patch.BrowserExtensions},
		{"localhost", opts.Filter.Localhost, &patch.Localhost},
		{"web-crawlers", opts.Filter.WebCrawlers, &patch.WebCrawlers},
	} {
		if !opts.Filter.Set[b.flag] {
			continue
		}
		on, ok := map[string]bool{"on": true, "off": false}[b.value]
		if !ok {
			return cmdutil.UsageError(fmt.Sprintf("--%s is on or off, not %q", b.flag, b.value), "")
		}
		*b.dst = &on
	}
	if opts.Filter.Set["legacy-browser"] {
		// '' stands for none, as a flag cannot be given an empty list.
		browsers := slices.DeleteFunc(slices.Clone(opts.Filter.LegacyBrowsers), func(b string) bool { return b == "" })
		patch.LegacyBrowsers = &browsers
	}
	if opts.Filter.Set["error-message"] {
		patch.ErrorMessages = &opts.Filter.ErrorMessages
	}
	if opts.Filter.Set["release"] {
		patch.Releases = &opts.Filter.Releases
	}
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, args[0])
	if err != nil {
		return err
	}
	var f apitypes.InboundFilters
	if patch == (apitypes.InboundFiltersPatch{}) {
		f, err = c.ProjectFilters(ctx, p.ID)
	} else {
		f, err = c.UpdateProjectFilters(ctx, p.ID, patch)
	}
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, f, func(w io.Writer) error {
		onOff := map[bool]string{true: "on", false: "off"}
		list := func(l []string) string {
			if len(l) == 0 {
				return "none"
			}
			out := ""
			for i, s := range l {
				if i > 0 {
					out += "  "
				}
				out += strconv.Quote(cmdutil.Clean(s))
			}
			return out
		}
		legacy := "off"
		if len(f.LegacyBrowsers) > 0 {
			legacy = cmdutil.Clean(strings.Join(f.LegacyBrowsers, " "))
		}
		_, err := fmt.Fprintf(w, "Inbound filters of %s (id %d):\n  browser extensions  %s\n  localhost           %s\n  legacy browsers     %s\n  web crawlers        %s\n  error messages      %s\n  releases            %s\nFiltered in the last 24 h: %d browser extensions, %d localhost, %d legacy browsers, %d web crawlers, %d error messages, %d releases\n",
			cmdutil.Clean(p.Name), p.ID, onOff[f.BrowserExtensions], onOff[f.Localhost], legacy, onOff[f.WebCrawlers], list(f.ErrorMessages), list(f.Releases),
			f.FilteredLast24h["browser-extensions"], f.FilteredLast24h["localhost"], f.FilteredLast24h["legacy-browsers"], f.FilteredLast24h["web-crawlers"],
			f.FilteredLast24h["error-message"], f.FilteredLast24h["release-version"])
		return err
	})
}

// Delete deletes a project after confirmation.
func Delete(ctx context.Context, opts *Options, args []string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, args[0])
	if err != nil {
		return err
	}
	if err := opts.F.Confirm(ctx, opts.Yes, fmt.Sprintf("delete project %s (id %d) with all its issues and events", p.Name, p.ID)); err != nil {
		return err
	}
	if err := c.DeleteProject(ctx, p.ID); err != nil {
		return err
	}
	fmt.Fprintf(opts.F.IO.ErrOut, "Deleted project %s.\n", cmdutil.Clean(p.Name))
	return nil
}

// DSN prints the DSN of the project's newest active key, alone on a line;
// its JSON is that key.
func DSN(ctx context.Context, opts *Options, args []string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, args[0])
	if err != nil {
		return err
	}
	keys, err := c.ProjectKeys(ctx, p.ID)
	if err != nil {
		return err
	}
	for i := len(keys) - 1; i >= 0; i-- {
		if k := keys[i]; k.Active {
			return opts.F.Print(opts.Out, k, func(w io.Writer) error {
				_, err := fmt.Fprintln(w, cmdutil.Clean(k.DSN))
				return err
			})
		}
	}
	return &cmdutil.Error{Msg: fmt.Sprintf("project %s has no active key", p.Name), Hint: "make one with `flytrap projects rotate-key " + cmdutil.ShellArg(p.Name) + "`"}
}

// Keys lists a project's ingest keys.
func Keys(ctx context.Context, opts *Options, args []string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, args[0])
	if err != nil {
		return err
	}
	keys, err := c.ProjectKeys(ctx, p.ID)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, keys, func(w io.Writer) error {
		t := opts.F.NewTable("id", "public key", "active", "created")
		now := opts.F.Clock()
		for _, k := range keys {
			t.Row(strconv.FormatInt(k.ID, 10), k.PublicKey, strconv.FormatBool(k.Active), opts.F.When(k.CreatedAt, now))
		}
		return t.Render(w)
	})
}

// RotateKey replaces a project's key after confirmation.
func RotateKey(ctx context.Context, opts *Options, args []string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, args[0])
	if err != nil {
		return err
	}
	if err := opts.F.Confirm(ctx, opts.Yes, fmt.Sprintf("rotate the key of %s (SDKs using the old DSN will be refused)", p.Name)); err != nil {
		return err
	}
	k, err := c.RotateKey(ctx, p.ID)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, k, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "New key for %s.\nDSN: %s\n", cmdutil.Clean(p.Name), cmdutil.Clean(k.DSN))
		return err
	})
}
