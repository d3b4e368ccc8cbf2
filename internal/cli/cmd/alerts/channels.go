package alerts

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
)

// channelKinds are the values of channels add --type.
var channelKinds = []string{apitypes.ChannelEmail, apitypes.ChannelSlack, apitypes.ChannelWebhook}

func channelsCmd(opts *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "channels <command>",
		Short: "List, add, remove and test where a project's alerts go",
	}
	list := &cobra.Command{
		Use: "list", Short: "List a project's alert channels (URLs shortened: they carry tokens)", Args: cobra.NoArgs,
		Example: "  flytrap alerts channels list -p web\n  flytrap alerts channels list -p web --jq '.[] | select(.kind == \"webhook\") | .id'",
		RunE:    func(cmd *cobra.Command, _ []string) error { return ListChannels(cmd.Context(), opts) },
	}
	opts.addProject(list)
	opts.Out.Add(list)
	add := &cobra.Command{
		Use: "add", Short: "Add an alert channel to a project (the project's admins)", Args: cobra.NoArgs,
		Long: `Add an alert channel to a project; its admins only. A channel receives
nothing until a rule names it (flytrap alerts rules add --channel).

  email    mails the project's members who have not opted out; takes no --url
  slack    posts to a Slack incoming webhook, --url https://hooks.slack.com/services/...
  webhook  POSTs signed JSON to --url (http or https); its signing secret is
           printed once, here, and never shown again`,
		Example: `  flytrap alerts channels add -p web --type email --name team
  flytrap alerts channels add -p web --type slack --name ops --url https://hooks.slack.com/services/T0/B0/XXXX
  flytrap alerts channels add -p web --type webhook --name pager --url https://example.com/hook --jq .secret`,
		RunE: func(cmd *cobra.Command, _ []string) error { return AddChannel(cmd.Context(), opts) },
	}
	add.Flags().StringVar(&opts.Type, "type", "", `"email", "slack" or "webhook" (required)`)
	add.Flags().StringVar(&opts.Name, "name", "", "the channel's name, as lists and rules show it (default: its type)")
	add.Flags().StringVar(&opts.URL, "url", "", "the Slack incoming-webhook or webhook URL (required for those)")
	_ = add.RegisterFlagCompletionFunc("type", cobra.FixedCompletions(channelKinds, cobra.ShellCompDirectiveNoFileComp))
	opts.addProject(add)
	opts.Out.Add(add)
	remove := &cobra.Command{
		Use: "remove <channel-id>", Short: "Remove an alert channel and its rules (the project's admins)", Args: cobra.ExactArgs(1),
		Example: "  flytrap alerts channels remove 3 --yes",
		RunE:    func(cmd *cobra.Command, args []string) error { return RemoveChannel(cmd.Context(), opts, args[0]) },
	}
	remove.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove without asking")
	test := &cobra.Command{
		Use: "test <channel-id>", Short: "Send a test message to an alert channel (the project's admins)", Args: cobra.ExactArgs(1),
		Long: `Queue a test message for an alert channel; the project's admins only. It goes out
with the next delivery run (within seconds); see how it went with flytrap alerts history.`,
		Example: "  flytrap alerts channels test 3",
		RunE:    func(cmd *cobra.Command, args []string) error { return TestChannel(cmd.Context(), opts, args[0]) },
	}
	opts.Out.Add(test)
	cmd.AddCommand(list, add, remove, test)
	return cmd
}

// ListChannels prints a project's channels.
func ListChannels(ctx context.Context, opts *Options) error {
	c, p, err := opts.clientAndProject(ctx)
	if err != nil {
		return err
	}
	cs, err := c.AlertChannels(ctx, p.ID)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, cs, func(w io.Writer) error {
		t := opts.F.NewTable("id", "type", "name", "url", "created")
		now := opts.F.Clock()
		for _, ch := range cs {
			t.Row(strconv.FormatInt(ch.ID, 10), ch.Kind, ch.Name, orDash(ch.URL), opts.F.When(ch.CreatedAt, now))
		}
		return t.Render(w)
	})
}

// AddChannel creates a channel and prints it, with a webhook's signing
// secret.
func AddChannel(ctx context.Context, opts *Options) error {
	if err := oneOf("channels add", "--type", opts.Type, channelKinds); err != nil {
		return err
	}
	switch {
	case opts.Type == apitypes.ChannelEmail && opts.URL != "":
		return cmdutil.UsageError("an email channel takes no --url", "it mails the project's members; leave --url out")
	case opts.Type != apitypes.ChannelEmail && opts.URL == "":
		return cmdutil.UsageError("--url is required for a "+opts.Type+" channel", "pass the URL to post alerts to with --url")
	}
	c, p, err := opts.clientAndProject(ctx)
	if err != nil {
		return err
	}
	ch, err := c.CreateAlertChannel(ctx, p.ID, apitypes.NewAlertChannel{Kind: opts.Type, Name: opts.Name, URL: opts.URL})
	if client.HasCode(err, apitypes.CodeConflict) {
		// Without --name the channel is named after its type, so a
		// second webhook is refused for a name the user never gave.
		hint := "choose another name with --name"
		if opts.Name == "" {
			hint = "a channel is named after its type unless you name it: pass --name, e.g. --name " + opts.Type + "-2"
		}
		return &cmdutil.Error{Msg: fmt.Sprintf("%s already has a channel named %q", p.Name, cmp.Or(opts.Name, opts.Type)), Hint: hint}
	}
	if err != nil {
		return err
	}
	if ch.Warning != "" {
		fmt.Fprintf(opts.F.IO.ErrOut, "warning: %s\n", cmdutil.Clean(ch.Warning))
	}
	return opts.F.PrintOnce(opts.Out, ch, ch.Secret, "Signing secret (shown once)", func(w io.Writer) error {
		if _, err := fmt.Fprintf(w, "Created %s channel %s (id %d) in %s.\n", cmdutil.Clean(ch.Kind), cmdutil.Clean(ch.Name), ch.ID, cmdutil.Clean(p.Name)); err != nil {
			return err
		}
		if ch.Secret != "" {
			if _, err := fmt.Fprintf(w, "Signing secret (shown once): %s\n", cmdutil.Clean(ch.Secret)); err != nil {
				return err
			}
		}
		_, err := fmt.Fprintf(w, "It receives cron monitor alerts now, and issue alerts once a rule names it: flytrap alerts rules add -p %s --channel id:%d --type new_issue\n",
			cmdutil.ShellArg(cmdutil.Clean(p.Name)), ch.ID)
		return err
	})
}

// RemoveChannel deletes a channel and its rules after confirmation.
func RemoveChannel(ctx context.Context, opts *Options, arg string) error {
	id, err := parseID(arg, "alert channel", "flytrap alerts channels list")
	if err != nil {
		return err
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	if err := opts.F.Confirm(ctx, opts.Yes, fmt.Sprintf("remove alert channel %d and its rules", id)); err != nil {
		return err
	}
	if err := c.DeleteAlertChannel(ctx, id); err != nil {
		return cmdutil.NotFound(err, "alert channel", id, "flytrap alerts channels list")
	}
	fmt.Fprintf(opts.F.IO.ErrOut, "Removed alert channel %d and its rules.\n", id)
	return nil
}

// TestChannel queues a test message for a channel.
func TestChannel(ctx context.Context, opts *Options, arg string) error {
	id, err := parseID(arg, "alert channel", "flytrap alerts channels list")
	if err != nil {
		return err
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	n, err := c.TestAlertChannel(ctx, id)
	if err != nil {
		return cmdutil.NotFound(err, "alert channel", id, "flytrap alerts channels list")
	}
	return opts.F.Print(opts.Out, n, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Queued a test message to %s (notification %d); it goes out with the next delivery run.\n"+
			"See how it went: flytrap alerts history -p %d\n", cmdutil.Clean(n.ChannelName), n.ID, n.ProjectID)
		return err
	})
}
