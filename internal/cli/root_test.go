package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
		{[]string{"version", "extra"}, cmdutil.ExitUsage, "error: version takes no arguments; got extra\nhint: it takes flags only: see `flytrap version --help`"},
		// Cobra's own messages of argument counts and flag groups are
		// replaced by ones that say what the command takes.
		{[]string{"issues", "resolve"}, cmdutil.ExitUsage, "error: issues resolve needs at least one issue ID\nhint: for example: flytrap issues resolve 42 43\n"},
		{[]string{"members", "list"}, cmdutil.ExitUsage, "error: members list needs a project\nhint: for example: flytrap members list web\n"},
		{[]string{"members", "add", "web"}, cmdutil.ExitUsage, "error: members add needs a project and an email; got only web\n"},
		{[]string{"members", "list", "-p", "web", "web"}, cmdutil.ExitUsage, "error: with --project, members list takes no arguments; got web\n"},
		{[]string{"issues", "view", "1", "2"}, cmdutil.ExitUsage, "error: issues view takes an issue ID; got 2 arguments: 1 2\n"},
		{[]string{"users", "role", "a@b"}, cmdutil.ExitUsage, "error: users role needs an email and admin or member; got only a@b\n"},
		{[]string{"tokens", "revoke"}, cmdutil.ExitUsage, "error: tokens revoke needs a token ID\nhint: for example: flytrap tokens revoke 12 --yes\n"},
		{[]string{"users", "add", "x@y", "--invite", "--password-stdin"}, cmdutil.ExitUsage, "error: --invite and --password-stdin cannot be used together\nhint: --invite lets the user choose"},
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
		{[]string{"login", "http://127.0.0.1:1", "--token", "flyt_x", "--scope", "read"}, cmdutil.ExitUsage, "error: --token and --scope cannot be used together\nhint: --scope, --expires and --name shape the token a password login makes"},
		{[]string{"login", "http://127.0.0.1:1", "--token", "flyt_x", "--expires", "30d"}, cmdutil.ExitUsage, "error: --token and --expires cannot be used together\n"},
		{[]string{"login", "http://127.0.0.1:1", "--with-token", "--name", "ci"}, cmdutil.ExitUsage, "error: --with-token and --name cannot be used together\n"},
		{[]string{"login", "http://127.0.0.1:1", "--token", "flyt_x", "--email", "ada@example.com"}, cmdutil.ExitUsage, "error: --token and --email cannot be used together\nhint: log in with a token (--token, --with-token) or with a password"},
		// Not UTF-8: sent as JSON it would become U+FFFD, a project or
		// release named what nobody typed. Refused before anything is
		// sent (no server here); a path may be any bytes.
		{[]string{"releases", "new", "shop@1.0\xff", "--host", "http://127.0.0.1:1"}, cmdutil.ExitUsage, "error: argument 1, \"shop@1.0\\xff\", is not UTF-8 text\nhint: names, versions and text are UTF-8"},
		{[]string{"projects", "create", "caf\xe9", "--host", "http://127.0.0.1:1"}, cmdutil.ExitUsage, "is not UTF-8 text"},
		{[]string{"sourcemaps", "inject", "/nonexistent/dist\xff"}, cmdutil.ExitError, "/nonexistent/dist"},
		// Flag values too, named by their flag, a repeated one's each; a
		// path flag's value may be any bytes.
		{[]string{"issues", "list", "-p", "web", "--env", "prod\xff", "--host", "http://127.0.0.1:1"}, cmdutil.ExitUsage, "error: --env is not UTF-8 text: \"prod\\xff\"\nhint: names, versions and text are UTF-8"},
		{[]string{"projects", "filters", "web", "--error-message", "ok", "--error-message", "caf\xe9*", "--host", "http://127.0.0.1:1"}, cmdutil.ExitUsage, "error: --error-message is not UTF-8 text: \"caf\\xe9*\""},
		// A value that may hold a secret is not shown.
		{[]string{"login", "http://127.0.0.1:1", "--token", "flyt_s3cret\xff"}, cmdutil.ExitUsage, "error: --token is not UTF-8 text: 12 bytes, not shown as it may hold a secret"},
		{[]string{"dev", "--database-url", "postgres://u:pw@db/f\xe9"}, cmdutil.ExitUsage, "error: --database-url is not UTF-8 text: 21 bytes, not shown"},
		{[]string{"members", "add", "-p", "w\xffb", "a@b", "--host", "http://127.0.0.1:1"}, cmdutil.ExitUsage, "error: --project is not UTF-8 text"},
		{[]string{"status", "--plan", "/nonexistent/flytrap\xff.yaml"}, cmdutil.ExitError, "hint: run `flytrap init` first"},
		// deploy.Error from the layer below, mapped by cmdutil.ExitCode.
		{[]string{"status", "--plan", "/nonexistent/flytrap.yaml", "--name", "Not A Name"}, cmdutil.ExitUsage, "hint: pass a valid --name"},
		{[]string{"status", "--plan", "/nonexistent/flytrap.yaml"}, cmdutil.ExitError, "hint: run `flytrap init` first"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			// An empty config directory: a row that reaches the API must
			// not find the developer's own hosts.json and its server.
			f := testFactory(t, nil, &out, &errOut)
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
		f := testFactory(t, nil, &out, &errOut)
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
	walk(NewRootCmd(testFactory(t, nil, &out, &out)))
	// The root, completion, issues, members, projects, sourcemaps, tokens
	// and users at least.
	if groups < 8 {
		t.Errorf("%d groups in the tree", groups)
	}
}

// TestUsageErrorsOfEveryCommand: every command that checks its arguments
// or has flags that exclude each other refuses a mistake with a usage
// error of cmdutil.GuardUsage, never with cobra's own wording ("accepts 1
// arg(s), received 0", "if any flags in the group [...] are set none of
// the others can be").
func TestUsageErrorsOfEveryCommand(t *testing.T) {
	f := testFactory(t, nil, io.Discard, io.Discard)
	checked, groups := 0, 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Args == nil || c.HasSubCommands() {
			return
		}
		for _, args := range [][]string{nil, {"a", "b", "c", "d", "e", "f"}} {
			err := c.ValidateArgs(args)
			if err == nil {
				continue
			}
			checked++
			var e *cmdutil.Error
			name := strings.TrimPrefix(c.CommandPath(), "flytrap ")
			if !errors.As(err, &e) || e.Code != cmdutil.ExitUsage || !strings.HasPrefix(e.Msg, name+" ") || e.Hint == "" {
				t.Errorf("%s %q: %#v, want a usage error naming the command, with a hint", c.CommandPath(), args, err)
			}
		}
		for key, hint := range c.Annotations {
			// A group MutuallyExclusive marked: its first two flags
			// given together.
			g, ok := strings.CutPrefix(key, "flytrap_exclusive_hint ")
			if !ok {
				continue
			}
			groups++
			flags := strings.Fields(g)
			c.Flags().VisitAll(func(fl *pflag.Flag) { fl.Changed = false })
			for _, name := range flags[:2] {
				v := "x"
				if c.Flags().Lookup(name).Value.Type() == "bool" {
					v = "true"
				}
				if err := c.Flags().Set(name, v); err != nil {
					t.Fatal(err)
				}
			}
			err := c.PreRunE(c, nil)
			want := "--" + flags[0] + " and --" + flags[1] + " cannot be used together"
			var e *cmdutil.Error
			if !errors.As(err, &e) || e.Code != cmdutil.ExitUsage || e.Msg != want || e.Hint != hint {
				t.Errorf("%s --%s --%s: %v, want %q with the hint %q", c.CommandPath(), flags[0], flags[1], err, want, hint)
			}
		}
	}
	walk(NewRootCmd(f))
	if checked < 30 || groups < 3 {
		t.Errorf("checked %d argument errors and %d flag groups; the walk missed commands", checked, groups)
	}
}

// TestArgsCompleteNoFiles: the arguments of every command but those that
// take paths complete without the shell's file names, which cobra offers
// by default: `flytrap issues view <TAB>` listed the directory.
func TestArgsCompleteNoFiles(t *testing.T) {
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		if c.Runnable() && !c.Hidden && c.Name() != "help" && c.Parent() != nil && c.Parent().Name() != "completion" {
			paths = append(paths, strings.Fields(c.CommandPath())[1:])
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	var sink bytes.Buffer
	walk(NewRootCmd(testFactory(t, nil, &sink, &sink)))
	if len(paths) < 40 {
		t.Fatalf("%d commands in the tree", len(paths))
	}
	for _, path := range paths {
		var out bytes.Buffer
		f := testFactory(t, nil, &out, &bytes.Buffer{})
		Run(context.Background(), f, append(append([]string{cobra.ShellCompRequestCmd}, path...), ""))
		want := fmt.Sprintf(":%d", cobra.ShellCompDirectiveNoFileComp)
		if name := strings.Join(path, " "); name == "sourcemaps inject" || name == "sourcemaps upload" {
			want = fmt.Sprintf(":%d", cobra.ShellCompDirectiveDefault)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if got := lines[len(lines)-1]; got != want {
			t.Errorf("flytrap %s <TAB>: directive %s, want %s", strings.Join(path, " "), got, want)
		}
	}
}
