package alerts

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/issuefilter"
)

// ruleTypes are the values of rules add --type.
var ruleTypes = []string{apitypes.RuleNewIssue, apitypes.RuleRegression, apitypes.RuleFrequency}

func rulesCmd(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules <command>",
		Short: "List, add, remove, enable and disable when a project alerts",
	}
	list := &cobra.Command{
		Use: "list", Short: "List a project's alert rules", Args: cobra.NoArgs,
		Example: "  flytrap alerts rules list -p web\n  flytrap alerts rules list -p web --jq '.[] | select(.enabled | not) | .id'",
		RunE:    func(cmd *cobra.Command, _ []string) error { return ListRules(cmd.Context(), opts) },
	}
	opts.addProject(list)
	opts.Out.Add(list)
	add := &cobra.Command{
		Use: "add", Short: "Add an alert rule to a project (the project's admins)", Args: cobra.NoArgs,
		Long: `Add an alert rule to a project; its admins only. The rule alerts --channel
(its ID or name, from flytrap alerts channels list; id:N or name:NAME says
which, and a number that is one channel's ID and another's name must) when:

  new_issue   an event creates an issue
  regression  an event reopens a resolved issue
  frequency   an issue receives more than --threshold events in --window
              (1m to 24h, whole minutes)

--min-level and --env keep only the events that may fire it. An issue
alerted is quiet for the project's cooldown; its further events are summed in
one digest (docs/alerts.md).`,
		Example: `  flytrap alerts rules add -p web --channel team --type new_issue
  flytrap alerts rules add -p web --channel id:3 --type regression --env production
  flytrap alerts rules add -p web --channel ops --type frequency --threshold 100 --window 1h --min-level error`,
		RunE: func(cmd *cobra.Command, _ []string) error { return AddRule(cmd.Context(), opts) },
	}
	fl := add.Flags()
	fl.StringVar(&opts.Channel, "channel", "", "the channel to alert: its ID or name, or id:N or name:NAME to say which (required)")
	fl.StringVar(&opts.Type, "type", "", `"new_issue", "regression" or "frequency" (required)`)
	fl.Int64Var(&opts.Threshold, "threshold", 0, "frequency: alert on more than this many events (1 to 1000000)")
	fl.StringVar(&opts.Window, "window", "", "frequency: counted over this long, such as 10m, 1h or 1d (1m to 24h)")
	fl.StringVar(&opts.MinLevel, "min-level", "", "only events at least this severe: "+strings.Join(event.Levels, ", ")+" (default: any)")
	fl.StringVarP(&opts.Environment, "env", "e", "", "only events of this environment (default: any)")
	// The flag's first name, kept working; --env is the other commands'.
	fl.StringVar(&opts.Environment, "environment", "", "only events of this environment (default: any)")
	_ = fl.MarkHidden("environment")
	fl.BoolVar(&opts.Disabled, "disabled", false, "add the rule turned off (flytrap alerts rules enable turns it on)")
	_ = add.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(ruleTypes, cobra.ShellCompDirectiveNoFileComp))
	_ = add.RegisterFlagCompletionFunc("min-level", cmdutil.CompleteLevel)
	opts.addProject(add)
	opts.Out.Add(add)
	remove := &cobra.Command{
		Use: "remove <rule-id>", Short: "Remove an alert rule (the project's admins)", Args: cobra.ExactArgs(1),
		Example: "  flytrap alerts rules remove 5 --yes",
		RunE:    func(cmd *cobra.Command, args []string) error { return RemoveRule(cmd.Context(), opts, args[0]) },
	}
	remove.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove without asking")
	toggle := func(use string, on bool) *cobra.Command {
		verb := "Turn on"
		if !on {
			verb = "Turn off"
		}
		c := &cobra.Command{
			Use: use + " <rule-id>", Short: verb + " an alert rule, keeping its conditions (the project's admins)", Args: cobra.ExactArgs(1),
			Example: "  flytrap alerts rules " + use + " 5",
			RunE:    func(cmd *cobra.Command, args []string) error { return SetEnabled(cmd.Context(), opts, args[0], on) },
		}
		c.Flags().StringVarP(&opts.Project, "project", "p", "", "the rule's project, name or ID (default: looked for in all of yours)")
		_ = c.RegisterFlagCompletionFunc("project", opts.F.CompleteProjects(&opts.Host))
		opts.Out.Add(c)
		return c
	}
	cmd.AddCommand(list, add, remove, toggle("enable", true), toggle("disable", false))
	return cmd
}

// ListRules prints a project's rules with their channels' names.
func ListRules(ctx context.Context, opts *Options) error {
	c, p, err := opts.clientAndProject(ctx)
	if err != nil {
		return err
	}
	rs, err := c.AlertRules(ctx, p.ID)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, rs, func(w io.Writer) error {
		// The table names each rule's channel, which takes the channels.
		cs, err := c.AlertChannels(ctx, p.ID)
		if err != nil {
			return err
		}
		names := map[int64]string{}
		for _, ch := range cs {
			names[ch.ID] = ch.Name
		}
		t := opts.F.NewTable("id", "type", "condition", "channel", "min level", "environment", "enabled", "created")
		now := opts.F.Clock()
		for _, r := range rs {
			enabled := "yes"
			if !r.Enabled {
				enabled = "no"
			}
			t.Row(strconv.FormatInt(r.ID, 10), r.Type, orDash(condition(r)), channelLabel(r.ChannelID, names),
				orAny(r.MinLevel), orAny(r.Environment), enabled, opts.F.When(r.CreatedAt, now))
		}
		return t.Render(w)
	})
}

// condition says when a frequency rule fires; the other types say it by
// their name.
func condition(r apitypes.AlertRule) string {
	if r.Type != apitypes.RuleFrequency {
		return ""
	}
	return fmt.Sprintf("> %d events in %s", r.Threshold, window(r.WindowMinutes))
}

// window is minutes as --window takes it: 90m, 2h.
func window(minutes int64) string {
	if minutes%60 == 0 {
		return strconv.FormatInt(minutes/60, 10) + "h"
	}
	return strconv.FormatInt(minutes, 10) + "m"
}

// channelLabel is a channel's name and ID.
func channelLabel(id int64, names map[int64]string) string {
	if n, ok := names[id]; ok {
		return fmt.Sprintf("%s (%d)", n, id)
	}
	return strconv.FormatInt(id, 10)
}

// orDash is s, or "-" for an empty cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// orAny is a filter s, or "any" when there is none.
func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

// ruleFlags checks the flags of rules add and returns the rule they
// describe, its channel not yet resolved.
func ruleFlags(opts *Options) (apitypes.NewAlertRule, error) {
	r := apitypes.NewAlertRule{Type: opts.Type, Environment: opts.Environment}
	if err := oneOf("rules add", "--type", opts.Type, ruleTypes); err != nil {
		return r, err
	}
	if opts.Channel == "" {
		return r, cmdutil.UsageError("--channel is required: the ID or name of the channel to alert (id:N, name:NAME)", "see them with `flytrap alerts channels list`")
	}
	if opts.Type == apitypes.RuleFrequency {
		if opts.Threshold < 1 || opts.Window == "" {
			return r, cmdutil.UsageError("a frequency rule needs --threshold (1 or more) and --window", "such as --threshold 100 --window 1h")
		}
		// Days too, as --since reads them.
		d, ok := issuefilter.ParseDuration(opts.Window)
		if !ok || d < time.Minute || d > 24*time.Hour || d%time.Minute != 0 {
			return r, cmdutil.UsageError(fmt.Sprintf("--window must be whole minutes from 1m to 24h, such as 10m, 1h or 1d, not %q", opts.Window), "")
		}
		r.Threshold, r.WindowMinutes = opts.Threshold, int64(d/time.Minute)
	} else if opts.Threshold != 0 || opts.Window != "" {
		return r, cmdutil.UsageError("--threshold and --window are for --type frequency only", "")
	}
	if opts.MinLevel != "" {
		l := strings.ToLower(opts.MinLevel)
		if !event.ValidLevel(l) {
			return r, cmdutil.UsageError(fmt.Sprintf("--min-level must be one of %s, not %q", strings.Join(event.Levels, ", "), opts.MinLevel), "")
		}
		r.MinLevel = l
	}
	enabled := !opts.Disabled
	r.Enabled = &enabled
	return r, nil
}

// findChannel is the project's channel arg names (pickChannel).
func findChannel(ctx context.Context, c *client.Client, p apitypes.Project, arg string) (apitypes.AlertChannel, error) {
	cs, err := c.AlertChannels(ctx, p.ID)
	if err != nil {
		return apitypes.AlertChannel{}, err
	}
	return pickChannel(cs, p.Name, arg)
}

// pickChannel is the channel of cs (the project's) that arg names:
// "id:N" the channel whose ID is N, "name:X" the one named X (in any
// case), and anything else either. A bare number that is one channel's ID
// and another channel's name is refused rather than guessed: a channel
// may be named "13".
func pickChannel(cs []apitypes.AlertChannel, project, arg string) (apitypes.AlertChannel, error) {
	list := "flytrap alerts channels list -p " + cmdutil.ShellArg(project)
	notFound := func(what string) error {
		return &cmdutil.Error{Msg: fmt.Sprintf("no alert channel %s in %s", what, project),
			Hint: "see them with `" + list + "`", Code: cmdutil.ExitNotFound}
	}
	byID := func(id int64) (apitypes.AlertChannel, bool) {
		for _, ch := range cs {
			if ch.ID == id {
				return ch, true
			}
		}
		return apitypes.AlertChannel{}, false
	}
	var named []apitypes.AlertChannel
	name := strings.TrimPrefix(arg, "name:")
	for _, ch := range cs {
		if strings.EqualFold(ch.Name, name) {
			named = append(named, ch)
		}
	}

	if rest, ok := strings.CutPrefix(arg, "id:"); ok {
		id, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || id < 1 {
			return apitypes.AlertChannel{}, cmdutil.UsageError(fmt.Sprintf("--channel %q: id: takes a channel's ID, a whole number", arg),
				"give a name with --channel name:NAME; see the channels with `"+list+"`")
		}
		if ch, ok := byID(id); ok {
			return ch, nil
		}
		return apitypes.AlertChannel{}, notFound(fmt.Sprintf("with ID %d", id))
	}
	if !strings.HasPrefix(arg, "name:") {
		if id, err := strconv.ParseInt(arg, 10, 64); err == nil {
			if ch, ok := byID(id); ok {
				for _, other := range named {
					if other.ID != ch.ID {
						return apitypes.AlertChannel{}, cmdutil.UsageError(
							fmt.Sprintf("--channel %s is ambiguous: it is the ID of channel %q and the name of channel %d", arg, ch.Name, other.ID),
							fmt.Sprintf("say which: --channel id:%s or --channel name:%s", arg, arg))
					}
				}
				return ch, nil
			}
		}
	}
	switch len(named) {
	case 1:
		return named[0], nil
	case 0:
		if name != arg {
			return apitypes.AlertChannel{}, notFound(fmt.Sprintf("named %q", name))
		}
		return apitypes.AlertChannel{}, notFound(fmt.Sprintf("%q", arg))
	}
	ids := make([]string, len(named))
	for i, ch := range named {
		ids[i] = strconv.FormatInt(ch.ID, 10)
	}
	return apitypes.AlertChannel{}, cmdutil.UsageError(fmt.Sprintf("%d alert channels of %s are named %q (ids %s)", len(named), project, name, strings.Join(ids, ", ")),
		"give the channel's ID: --channel id:"+ids[0])
}

// AddRule creates a rule and prints it.
func AddRule(ctx context.Context, opts *Options) error {
	r, err := ruleFlags(opts)
	if err != nil {
		return err
	}
	c, p, err := opts.clientAndProject(ctx)
	if err != nil {
		return err
	}
	ch, err := findChannel(ctx, c, p, opts.Channel)
	if err != nil {
		return err
	}
	r.ChannelID = ch.ID
	out, err := c.CreateAlertRule(ctx, p.ID, r)
	if err != nil {
		return err
	}
	if out.Warning != "" {
		fmt.Fprintf(opts.F.IO.ErrOut, "warning: %s\n", cmdutil.Clean(out.Warning))
	}
	return opts.F.Print(opts.Out, out, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Created rule %d in %s: %s → %s.\n", out.ID, cmdutil.Clean(p.Name), describe(out.AlertRule), cmdutil.Clean(channelLabel(ch.ID, map[int64]string{ch.ID: ch.Name})))
		return err
	})
}

// describe is a rule in words: "frequency > 100 events in 1h, level
// error or worse, environment production (off)".
func describe(r apitypes.AlertRule) string {
	s := r.Type
	if c := condition(r); c != "" {
		s += " " + c
	}
	if r.MinLevel != "" {
		s += ", level " + r.MinLevel + " or worse"
	}
	if r.Environment != "" {
		s += ", environment " + r.Environment
	}
	if !r.Enabled {
		s += " (off)"
	}
	return cmdutil.Clean(s)
}

// RemoveRule deletes a rule after confirmation.
func RemoveRule(ctx context.Context, opts *Options, arg string) error {
	id, err := parseID(arg, "alert rule", "flytrap alerts rules list")
	if err != nil {
		return err
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	if err := opts.F.Confirm(ctx, opts.Yes, fmt.Sprintf("remove alert rule %d", id)); err != nil {
		return err
	}
	if err := c.DeleteAlertRule(ctx, id); err != nil {
		return cmdutil.NotFound(err, "alert rule", id, "flytrap alerts rules list")
	}
	fmt.Fprintf(opts.F.IO.ErrOut, "Removed alert rule %d.\n", id)
	return nil
}

// SetEnabled turns a rule on or off. The API replaces a rule whole (PUT),
// so the rule is looked up first, in --project or in each project the
// caller sees, and sent back with only enabled changed.
func SetEnabled(ctx context.Context, opts *Options, arg string, on bool) error {
	id, err := parseID(arg, "alert rule", "flytrap alerts rules list")
	if err != nil {
		return err
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	var ps []apitypes.Project
	if opts.Project != "" {
		p, err := cmdutil.FindProject(ctx, c, opts.Project)
		if err != nil {
			return err
		}
		ps = []apitypes.Project{p}
	} else if ps, err = c.Projects(ctx); err != nil {
		return err
	}
	for _, p := range ps {
		rs, err := c.AlertRules(ctx, p.ID)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.ID != id {
				continue
			}
			out, err := c.PutAlertRule(ctx, id, apitypes.NewAlertRule{
				ChannelID: r.ChannelID, Type: r.Type, Threshold: r.Threshold, WindowMinutes: r.WindowMinutes,
				MinLevel: r.MinLevel, Environment: r.Environment, Enabled: &on,
			})
			if err != nil {
				return err
			}
			return opts.F.Print(opts.Out, out, func(w io.Writer) error {
				state := "on"
				if !out.Enabled {
					state = "off"
				}
				_, err := fmt.Fprintf(w, "Rule %d of %s is %s.\n", out.ID, cmdutil.Clean(p.Name), state)
				return err
			})
		}
	}
	where := "any project you can see"
	if opts.Project != "" {
		where = ps[0].Name
	}
	return &cmdutil.Error{Msg: fmt.Sprintf("no alert rule %d in %s", id, where), Hint: "see the IDs with `flytrap alerts rules list`", Code: cmdutil.ExitNotFound}
}
