// Package cli is the flytrap command line: the root command, its
// subcommands, and the mapping of errors to messages and exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/cli/cmd/alerts"
	benchcmd "github.com/getflytrap/flytrap/internal/cli/cmd/bench"
	deploycmd "github.com/getflytrap/flytrap/internal/cli/cmd/deploy"
	"github.com/getflytrap/flytrap/internal/cli/cmd/destroy"
	"github.com/getflytrap/flytrap/internal/cli/cmd/dev"
	"github.com/getflytrap/flytrap/internal/cli/cmd/initcmd"
	"github.com/getflytrap/flytrap/internal/cli/cmd/issues"
	"github.com/getflytrap/flytrap/internal/cli/cmd/login"
	"github.com/getflytrap/flytrap/internal/cli/cmd/logout"
	"github.com/getflytrap/flytrap/internal/cli/cmd/members"
	"github.com/getflytrap/flytrap/internal/cli/cmd/monitors"
	"github.com/getflytrap/flytrap/internal/cli/cmd/projects"
	"github.com/getflytrap/flytrap/internal/cli/cmd/releases"
	"github.com/getflytrap/flytrap/internal/cli/cmd/sourcemaps"
	"github.com/getflytrap/flytrap/internal/cli/cmd/status"
	"github.com/getflytrap/flytrap/internal/cli/cmd/tail"
	"github.com/getflytrap/flytrap/internal/cli/cmd/tokens"
	"github.com/getflytrap/flytrap/internal/cli/cmd/users"
	"github.com/getflytrap/flytrap/internal/cli/cmd/version"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
)

// NewRootCmd returns the flytrap command with every subcommand.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "flytrap <command>",
		Short:         "Flytrap: a small, fast, self-hosted error tracker",
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints what `flytrap version` does.
		Version: version.Line(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return cmdutil.UsageError(err.Error(), "run `flytrap <command> --help` for the flags it takes")
	})
	root.AddCommand(version.NewCmd(f), dev.NewCmd(f), benchcmd.NewCmd(f))
	root.AddCommand(initcmd.NewCmd(f), deploycmd.NewCmd(f), destroy.NewCmd(f), status.NewCmd(f))
	root.AddCommand(sourcemaps.NewCmd(f))
	root.AddCommand(login.NewCmd(f), logout.NewCmd(f), projects.NewCmd(f), users.NewCmd(f), members.NewCmd(f), releases.NewCmd(f),
		issues.NewCmd(f), tokens.NewCmd(f), tail.NewCmd(f), alerts.NewCmd(f), monitors.NewCmd(f))
	// Added now rather than when run, so that guardGroups covers it too.
	root.InitDefaultCompletionCmd()
	guardGroups(root)
	noFileArgs(root)
	cmdutil.GuardUsage(root, f.Getenv)
	return root
}

// guardGroups gives every command that only groups others a run of its
// own: given nothing it prints its help, as cobra does; given a word that
// is none of its commands it fails with a usage error. Without it cobra
// checks the root's words only and prints the help of any other group,
// so `flytrap issues resolv 12 && echo ok` said ok.
func guardGroups(c *cobra.Command) {
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = unknownCommand
		c.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
	}
	for _, sub := range c.Commands() {
		guardGroups(sub)
	}
}

// noFileArgs turns the shell's file-name completion off for the
// arguments of every command that completes them no other way: they are
// IDs, names, emails and text, and cobra's default offered the current
// directory's files for `flytrap issues view <TAB>`. A command whose
// arguments are paths says so with cmdutil.CompleteFiles.
func noFileArgs(c *cobra.Command) {
	if c.ValidArgsFunction == nil && len(c.ValidArgs) == 0 && c.Runnable() {
		c.ValidArgsFunction = cobra.NoFileCompletions
	}
	for _, sub := range c.Commands() {
		noFileArgs(sub)
	}
}

// unknownCommand refuses the first of args, with cobra's message and
// suggestions for a mistyped command.
func unknownCommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
	}
	return cmdutil.UsageError(msg, "run `"+cmd.CommandPath()+" --help` for its commands")
}

// Main runs flytrap with the process's arguments and returns its exit code.
// SIGINT and SIGTERM cancel the command's context so long-running commands
// shut down cleanly.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	f := &cmdutil.Factory{IO: cmdutil.System(), Getenv: os.Getenv}
	return Run(ctx, f, os.Args[1:])
}

// Run executes args and maps the outcome to an exit code, printing the error
// and its hint. It is Main without the process around it, for tests.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return cmdutil.ExitOK
	}
	if errors.Is(err, context.Canceled) {
		interrupted(f, err)
		return cmdutil.ExitInterrupted
	}
	code, hint := cmdutil.ExitCode(err)
	if code == cmdutil.ExitError && isCobraUsage(err) {
		code = cmdutil.ExitUsage
	}
	fmt.Fprintln(f.IO.ErrOut, "error:", cleanLines(err.Error()))
	if hint != "" {
		fmt.Fprintln(f.IO.ErrOut, "hint:", cleanLines(hint))
	}
	return code
}

// interrupted says, of a run interrupted (Ctrl-C) during a request that
// changes something, whether the change may have been made and how to
// read it back, as for a change that timed out; one interrupted before
// the request was written says nothing was changed. A run of several
// changes interrupted part way names what became of each
// (cmdutil.PartialError), whatever request it was in. Any other
// interruption needs no word.
func interrupted(f *cmdutil.Factory, err error) {
	var (
		ue *client.UnreachableError
		pe *cmdutil.PartialError
	)
	change := errors.As(err, &ue) && client.Changes(ue.Method)
	if !change && !errors.As(err, &pe) {
		return
	}
	fmt.Fprintln(f.IO.ErrOut, "error:", cleanLines(err.Error()))
	if change && (ue.Unknown() || ue.Applied) {
		_, hint := cmdutil.ExitCode(err)
		fmt.Fprintln(f.IO.ErrOut, "hint:", cleanLines(hint))
	}
}

// cleanLines is cmdutil.Clean line by line: errors quote the server's
// messages and names, and some span several lines.
func cleanLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = cmdutil.Clean(l)
	}
	return strings.Join(lines, "\n")
}

// isCobraUsage spots argument errors that cobra returns as plain errors
// (an unknown command of the root); cmdutil.GuardUsage words the others.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
