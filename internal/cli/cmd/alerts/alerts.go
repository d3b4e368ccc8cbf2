// Package alerts implements `flytrap alerts`: a project's alert channels,
// its rules and their delivery history, as the dashboard's Alerts page
// and the REST API (docs/alerts.md) manage them.
package alerts

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
)

// Options are the inputs shared by the alert commands.
type Options struct {
	F       *cmdutil.Factory
	Host    string
	Out     cmdutil.JSONFlags
	Yes     bool
	Project string

	// channels add
	Type string
	Name string
	URL  string

	// rules add
	Channel     string
	Threshold   int64
	Window      string
	MinLevel    string
	Environment string
	Disabled    bool

	// history
	Limit int
}

// NewCmd returns the alerts command with its channels, rules and history
// commands.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "alerts <command>",
		Short: "Manage a project's alert channels and rules, and see what was sent",
		Long: `Manage where a project's alerts go (channels: email to its members, Slack,
signed webhooks), when they fire (rules: new issues, regressions, more than N
events in a window) and what was sent (history). Members of a project see them;
its admins change them. How alerts behave is in docs/alerts.md.`,
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	history := &cobra.Command{
		Use: "history", Short: "List a project's newest alert notifications and how their delivery went", Args: cobra.NoArgs,
		Example: "  flytrap alerts history -p web\n  flytrap alerts history -p web --limit 200 --jq '.[] | select(.status == \"dead\") | .last_error'",
		RunE:    func(cmd *cobra.Command, _ []string) error { return History(cmd.Context(), opts) },
	}
	history.Flags().IntVarP(&opts.Limit, "limit", "L", 50, "at most this many notifications (1 to 200)")
	opts.addProject(history)
	opts.Out.Add(history)
	cmd.AddCommand(channelsCmd(opts), rulesCmd(opts), history)
	return cmd
}

// addProject adds --project to cmd, with completion.
func (o *Options) addProject(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&o.Project, "project", "p", "", "project name or ID (default: your only project)")
	_ = cmd.RegisterFlagCompletionFunc("project", o.F.CompleteProjects(&o.Host))
}

// clientAndProject is the command's client and --project, or the
// caller's only project.
func (o *Options) clientAndProject(ctx context.Context) (*client.Client, apitypes.Project, error) {
	c, err := o.F.APIClient(o.Host)
	if err != nil {
		return nil, apitypes.Project{}, err
	}
	var p apitypes.Project
	if o.Project != "" {
		p, err = cmdutil.FindProject(ctx, c, o.Project)
	} else {
		p, err = cmdutil.OnlyProject(ctx, c)
	}
	return c, p, err
}

// parseID is arg as the ID of what (such as "channel"), whose IDs the
// list command shows.
func parseID(arg, what, list string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, cmdutil.UsageError(fmt.Sprintf("%q is not %s ID", arg, withArticle(what)), "see the IDs with `"+list+"`")
	}
	return id, nil
}

// withArticle is word after the article it is said with: "an alert
// rule", "a channel".
func withArticle(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}

// oneOf checks flag's value against valid and says which are, naming the
// flag and, when it is missing, the help of cmd.
func oneOf(cmd, flag, value string, valid []string) error {
	for _, v := range valid {
		if value == v {
			return nil
		}
	}
	if value == "" {
		return cmdutil.UsageError(flag+" is required: "+orList(valid), "see the examples of `flytrap alerts "+cmd+" --help`")
	}
	return cmdutil.UsageError(fmt.Sprintf("%s must be %s, not %q", flag, orList(valid), value), "")
}

// orList is "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// notificationLogged is the status of an alert email the server only
// logged, having no SMTP server (store.NotificationLogged).
const notificationLogged = "logged"

// History prints a project's newest notifications.
func History(ctx context.Context, opts *Options) error {
	if opts.Limit < 1 || opts.Limit > 200 {
		return cmdutil.UsageError(fmt.Sprintf("--limit must be 1 to 200, not %d", opts.Limit), "")
	}
	c, p, err := opts.clientAndProject(ctx)
	if err != nil {
		return err
	}
	ns, err := c.Notifications(ctx, p.ID, opts.Limit)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, ns, func(w io.Writer) error {
		t := opts.F.NewTable("id", "status", "reason", "channel", "issue", "attempts", "created", "last error")
		t.Flex(4, 7)
		now, tty := opts.F.Clock(), opts.F.IO.OutIsTTY()
		for _, n := range ns {
			title, lastErr := n.Payload.Title, n.LastError
			if tty {
				title, lastErr = cmdutil.Clip(title, 60), cmdutil.Clip(lastErr, 80)
			}
			issue := title
			if n.IssueID != 0 {
				issue = "#" + strconv.FormatInt(n.IssueID, 10) + " " + title
			}
			if n.IssueDeleted {
				issue += " (deleted)"
			}
			t.Row(strconv.FormatInt(n.ID, 10), n.Status, n.Reason, n.ChannelName, issue,
				strconv.Itoa(n.Attempts), opts.F.When(n.CreatedAt, now), orDash(lastErr))
		}
		if err := t.Render(w); err != nil {
			return err
		}
		// "logged" next to "sent" is easy to misread: say what it means.
		if slices.ContainsFunc(ns, func(n apitypes.Notification) bool { return n.Status == notificationLogged }) {
			fmt.Fprintln(opts.F.IO.ErrOut, "hint: logged emails were not sent: the server has no SMTP server; start it with --smtp-url (or FLYTRAP_SMTP_URL) to mail members")
		}
		return nil
	})
}
