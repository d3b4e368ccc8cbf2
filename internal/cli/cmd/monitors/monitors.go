// Package monitors implements `flytrap monitors`: a project's cron
// monitors, which SDKs create with their check-ins.
package monitors

import (
	"cmp"
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// Options are the inputs of the monitors commands.
type Options struct {
	F       *cmdutil.Factory
	Host    string
	Out     cmdutil.JSONFlags
	Project string
}

// NewCmd returns the monitors command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "monitors <command>",
		Short: "List a project's cron monitors and their status",
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	list := &cobra.Command{
		Use:   "list",
		Short: "List a project's cron monitors with their status and last and next check-in",
		Long: `List a project's cron monitors, by slug: their status (new, ok or failing,
the worst of their environments'), each environment's status, schedule,
latest check-in and when the next is due (docs/monitors.md). SDKs create
monitors with the monitor_config of their check-ins.`,
		Example: "  flytrap monitors list\n  flytrap monitors list -p web --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return List(cmd.Context(), opts)
		},
	}
	fl := list.Flags()
	fl.StringVarP(&opts.Project, "project", "p", "", "project name or ID (default: your only project)")
	_ = list.RegisterFlagCompletionFunc("project", f.CompleteProjects(&opts.Host))
	opts.Out.Add(list)
	cmd.AddCommand(list)
	return cmd
}

// List prints a project's monitors.
func List(ctx context.Context, opts *Options) error {
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
	ms, err := c.Monitors(ctx, p.ID)
	if err != nil {
		return err
	}
	now := opts.F.Clock()
	return opts.F.Print(opts.Out, ms, func(w io.Writer) error {
		t := opts.F.NewTable("slug", "status", "environments", "schedule", "last check-in", "at", "next expected")
		for _, m := range ms {
			lastStatus, last, next := "-", "-", "-"
			if m.LastCheckIn != nil {
				lastStatus, last = cmdutil.Clean(m.LastStatus), opts.F.When(*m.LastCheckIn, now)
			}
			if m.NextExpected != nil {
				next = opts.F.When(*m.NextExpected, now)
			}
			sched := cmdutil.Clean(m.Schedule)
			if m.ScheduleType == "interval" {
				sched = "every " + sched
			}
			if m.Timezone != "" {
				sched += " (" + cmdutil.Clean(m.Timezone) + ")"
			}
			envs := make([]string, len(m.Environments))
			for i, e := range m.Environments {
				envs[i] = cmdutil.Clean(e.Name) + " " + cmdutil.Clean(e.Status)
			}
			t.Row(cmdutil.Clean(m.Slug), cmdutil.Clean(m.Status), cmp.Or(strings.Join(envs, ", "), "-"), sched, lastStatus, last, next)
		}
		return t.Render(w)
	})
}
