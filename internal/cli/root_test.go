package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		args     []string
		want     int
		inStderr string
	}{
		{[]string{"version"}, cmdutil.ExitOK, ""},
		{[]string{"nope"}, cmdutil.ExitUsage, "unknown command"},
		{[]string{"version", "extra"}, cmdutil.ExitUsage, "unknown command"},
		{[]string{"dev", "--bogus"}, cmdutil.ExitUsage, "hint: run `flytrap <command> --help`"},
		{[]string{"dev", "--workers", "0"}, cmdutil.ExitUsage, "--workers must be at least 1"},
		{[]string{"dev", "--max-event-size", "10"}, cmdutil.ExitUsage, "--max-event-size must be at least 1024 bytes"},
		{[]string{"dev", "--max-inflight-bytes", "1000000"}, cmdutil.ExitUsage, "--max-inflight-bytes must be larger than --max-body-size"},
		{[]string{"dev", "--max-decodes", "0"}, cmdutil.ExitUsage, "--max-decodes must be at least 1"},
		{[]string{"dev", "--max-decodes-per-client", "17"}, cmdutil.ExitUsage, "--max-decodes-per-client must be between 0 and --max-decodes"},
		{[]string{"dev", "--max-inflight-bytes-per-project", "1000000"}, cmdutil.ExitUsage, "--max-inflight-bytes-per-project must be larger than --max-body-size"},
		{[]string{"dev", "--max-backlog", "-1"}, cmdutil.ExitUsage, "--max-backlog cannot be negative"},
		{[]string{"dev", "--body-timeout", "10ms"}, cmdutil.ExitUsage, "--body-timeout must be at least 1s"},
		{[]string{"dev", "--min-body-rate", "10"}, cmdutil.ExitUsage, "--min-body-rate must be at least 1024 bytes per second"},
		// --scope, --expires and --name describe the token a password
		// login makes: with a token given they are refused, not ignored.
		{[]string{"login", "http://127.0.0.1:1", "--token", "flyt_x", "--scope", "read"}, cmdutil.ExitUsage, "[scope token] were all set"},
		{[]string{"login", "http://127.0.0.1:1", "--token", "flyt_x", "--expires", "30d"}, cmdutil.ExitUsage, "[expires token] were all set"},
		{[]string{"login", "http://127.0.0.1:1", "--with-token", "--name", "ci"}, cmdutil.ExitUsage, "[name with-token] were all set"},
		{[]string{"login", "http://127.0.0.1:1", "--token", "flyt_x", "--email", "ada@example.com"}, cmdutil.ExitUsage, "[email token] were all set"},
		// deploy.Error from the layer below, mapped by cmdutil.ExitCode.
		{[]string{"status", "--plan", "/nonexistent/flytrap.yaml", "--name", "Not A Name"}, cmdutil.ExitUsage, "hint: pass a valid --name"},
		{[]string{"status", "--plan", "/nonexistent/flytrap.yaml"}, cmdutil.ExitError, "hint: run `flytrap init` first"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }}
			if got := Run(context.Background(), f, tt.args); got != tt.want {
				t.Errorf("exit code %d, want %d; stderr: %s", got, tt.want, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.inStderr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.inStderr)
			}
		})
	}
}

func TestExitCodeOfWrappedError(t *testing.T) {
	err := &cmdutil.Error{Msg: "no AWS credentials found", Hint: "run `aws configure`"}
	if code, hint := cmdutil.ExitCode(err); code != cmdutil.ExitError || hint != "run `aws configure`" {
		t.Errorf("ExitCode = %d, %q", code, hint)
	}
	if code, _ := cmdutil.ExitCode(context.Canceled); code != cmdutil.ExitError {
		t.Errorf("plain error code = %d", code)
	}
}

// TestGroupsRefuseUnknownCommands walks the command tree, so that a group
// added later is covered too: a word that is none of a group's commands
// is a usage error naming it, a near miss gets a suggestion, and the
// group alone prints its help.
func TestGroupsRefuseUnknownCommands(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}, Getenv: func(string) string { return "" }}
		return Run(context.Background(), f, args), out.String(), errOut.String()
	}
	var walk func(c *cobra.Command)
	groups := 0
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if !c.HasAvailableSubCommands() {
			return
		}
		groups++
		path := strings.Fields(c.CommandPath())[1:]
		t.Run(c.CommandPath(), func(t *testing.T) {
			code, out, errOut := run(append(path, "frobnicate", "3")...)
			want := fmt.Sprintf("error: unknown command %q for %q", "frobnicate", c.CommandPath())
			if code != cmdutil.ExitUsage || !strings.Contains(errOut, want) || out != "" {
				t.Errorf("bad command: exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, cmdutil.ExitUsage, want)
			}
			var sub string
			for _, s := range c.Commands() {
				if s.IsAvailableCommand() {
					sub = s.Name()
					break
				}
			}
			typo := sub[:len(sub)-1]
			if code, _, errOut := run(append(path, typo)...); code != cmdutil.ExitUsage || !strings.Contains(errOut, "Did you mean this?\n "+sub) {
				t.Errorf("%q: exit %d, stderr %q; want %d and a suggestion of %q", typo, code, errOut, cmdutil.ExitUsage, sub)
			}
			if code, out, _ := run(path...); code != cmdutil.ExitOK || !strings.Contains(out, "Available Commands:") {
				t.Errorf("alone: exit %d, stdout %q; want its help", code, out)
			}
		})
	}
	var out bytes.Buffer
	walk(NewRootCmd(&cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &out}, Getenv: func(string) string { return "" }}))
	// The root, completion, issues, members, projects, sourcemaps, tokens
	// and users at least.
	if groups < 8 {
		t.Errorf("%d groups in the tree", groups)
	}
}
