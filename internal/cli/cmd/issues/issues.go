// Package issues implements `flytrap issues`: list, view, resolve,
// ignore, unresolve (reopen), assign, merge and delete issues.
package issues

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/shell"
	"github.com/getflytrap/flytrap/internal/stacktrace"
	"github.com/getflytrap/flytrap/internal/store"
)

// Options are the inputs shared by the issue commands.
type Options struct {
	F       *cmdutil.Factory
	Host    string
	Out     cmdutil.JSONFlags
	Yes     bool
	Project string
	Status  string
	Sort    string
	Env     string
	Level   string
	Since   string
	Limit   int
	Release string
	// NextRelease resolves in the release after the project's latest.
	NextRelease bool
	Into        string
	// Rerun is the command that ran with args for its arguments, which a
	// hint offers to run instead (on the issue a merged one went to).
	Rerun func(args ...string) string
}

// NewCmd returns the issues command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "issues <command>",
		Short: "List, view, resolve, ignore, unresolve (reopen), assign, comment on, merge and delete issues",
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	list := &cobra.Command{
		Use:   "list [search...]",
		Short: "List a project's issues, newest first",
		Long: `List a project's issues. The search is the dashboard's, Sentry's issue search:
free text matches the title and culprit, and key:value terms filter (is:resolved,
level:error, environment:production, release:shop@1.2.3, firstRelease:latest,
timesSeen:>10, age:-24h, lastSeen:+7d, title:"cart is slow", or any tag such as
browser:"Mobile Safari", assigned:me, is:unassigned). Every term and flag must
hold; level:[warning,error] matches either level. An argument that is one
key:value term with spaces in its value is that value, so customer.tier:"gold plan"
works without outer quotes.`,
		Example: `  flytrap issues list --project web
  flytrap issues list --project web browser:Firefox --status unresolved --sort count --limit 10
  flytrap issues list -p web 'level:[warning,error]' timesSeen:'>10' age:-24h
  flytrap issues list -p web customer.tier:"gold plan"
  flytrap issues list -p web --json --jq '.[] | .id'`,
		RunE: func(cmd *cobra.Command, args []string) error { return List(cmd.Context(), opts, args) },
	}
	fl := list.Flags()
	fl.StringVarP(&opts.Project, "project", "p", "", "project name or ID (default: your only project)")
	fl.StringVar(&opts.Status, "status", "unresolved", `"unresolved", "resolved", "ignored" or "all"`)
	fl.StringVar(&opts.Sort, "sort", "last_seen", `"last_seen", "first_seen", "count" or "user_count" (Sentry's date, new, freq and user work too)`)
	fl.StringVar(&opts.Env, "env", "", "only issues with events in this environment, with their events, users, first and last seen there")
	fl.StringVar(&opts.Level, "level", "", "only issues of this level")
	fl.StringVar(&opts.Since, "since", "", "only issues seen within this long (24h, 14d)")
	fl.IntVarP(&opts.Limit, "limit", "L", 30, "at most this many issues")
	_ = list.RegisterFlagCompletionFunc("project", f.CompleteProjects(&opts.Host))
	_ = list.RegisterFlagCompletionFunc("status", cobra.FixedCompletions([]string{"unresolved", "resolved", "ignored", "all"}, cobra.ShellCompDirectiveNoFileComp))
	_ = list.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions([]string{"last_seen", "first_seen", "count", "user_count"}, cobra.ShellCompDirectiveNoFileComp))
	_ = list.RegisterFlagCompletionFunc("level", cmdutil.CompleteLevel)
	opts.Out.Add(list)

	view := &cobra.Command{
		Use: "view <issue-id>", Short: "Show an issue: counts, tags and the latest event's stack", Args: cobra.ExactArgs(1),
		Example: "  flytrap issues view 42\n  flytrap issues view 42 --env production",
		RunE:    func(cmd *cobra.Command, args []string) error { return View(cmd.Context(), opts, args[0]) },
	}
	view.Flags().StringVar(&opts.Env, "env", "", "events, users, first and last seen and hourly counts of this environment only")
	opts.Out.Add(view)

	// A change the server may or may not have made is read back with view.
	checkView := map[string]string{cmdutil.CheckWith: "flytrap issues view {1}"}
	status := func(use, short, to string) *cobra.Command {
		c := &cobra.Command{
			Use: use + " <issue-id>...", Short: short, Args: cobra.MinimumNArgs(1),
			Annotations: checkView,
			Example:     "  flytrap issues " + use + " 42 43",
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Rerun = rerun(cmd)
				// An empty --in-release (an unset $VERSION) would be sent
				// as no release at all: a plain resolve, which any event
				// reopens, where a blank one is refused by the server.
				if cmd.Flags().Changed("in-release") && opts.Release == "" {
					return cmdutil.UsageError("--in-release needs a release name", "give the release that fixes the issues, e.g. --in-release shop@1.2.3, or leave the flag out to resolve without one")
				}
				ch := apitypes.StatusChange{Status: to, ResolvedInRelease: opts.Release}
				if opts.NextRelease {
					if opts.Release != "" {
						return cmdutil.UsageError("--in-release and --in-next-release do not go together", "resolve in one release")
					}
					ch.StatusDetails = &apitypes.StatusDetails{InNextRelease: true}
				}
				return SetStatus(cmd.Context(), opts, args, ch)
			},
		}
		opts.Out.Add(c)
		return c
	}
	resolve := status("resolve", "Mark issues resolved; a new event reopens them", apitypes.StatusResolved)
	resolve.Flags().StringVar(&opts.Release, "in-release", "", "resolved in this release, one of the project's (releases new creates one; latest: the project's latest): events from it or a newer release reopen the issue, older ones do not (shop@1.10.0 is newer than shop@1.9.0)")
	resolve.Flags().BoolVar(&opts.NextRelease, "in-next-release", false, "resolved in the release after the project's latest: only events of a release first seen after that one reopen the issue")
	unresolve := status("unresolve", "Reopen resolved or ignored issues (alias: reopen)", apitypes.StatusUnresolved)
	// Sentry's users say reopen.
	unresolve.Aliases = []string{"reopen"}
	assign := &cobra.Command{
		Annotations: checkView,
		Use:         "assign <issue-id> <email|me|none>", Short: "Assign an issue to a member of its project, to yourself, or to nobody",
		Long: `Assign an issue to one user: a member of the issue's project or an admin user,
named by email, or me for yourself; none unassigns it.`,
		Args: cobra.ExactArgs(2),
		Example: `  flytrap issues assign 42 ann@example.com
  flytrap issues assign 42 me
  flytrap issues assign 42 none`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Rerun = rerun(cmd)
			return Assign(cmd.Context(), opts, args[0], args[1])
		},
	}
	opts.Out.Add(assign)
	comment := &cobra.Command{
		Annotations: checkView,
		Use:         "comment <issue-id> <text>", Short: "Comment on an issue", Args: cobra.ExactArgs(2),
		Long: `Add a comment to an issue's activity, which the dashboard's issue page and
flytrap issues view show. It is plain text, kept as written (Markdown is not
rendered), of at most 10,000 characters; - reads it from standard input. With
email configured on the server, the user the issue is assigned to is emailed it,
unless that is you.`,
		Example: `  flytrap issues comment 42 'Fixed by #481, waiting for the deploy'
  git log -1 --format=%B | flytrap issues comment 42 -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Rerun = rerun(cmd)
			return Comment(cmd.Context(), opts, args[0], args[1])
		},
	}
	opts.Out.Add(comment)
	del := &cobra.Command{
		Annotations: checkView,
		Use:         "delete <issue-id>", Short: "Delete an issue with its events", Args: cobra.ExactArgs(1),
		Example: "  flytrap issues delete 42 --yes",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Rerun = rerun(cmd)
			return Delete(cmd.Context(), opts, args[0])
		},
	}
	del.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "delete without asking")
	merge := &cobra.Command{
		Annotations: checkView,
		Use:         "merge <issue-id> <issue-id>...", Short: "Merge issues of one project into one", Args: cobra.MinimumNArgs(1),
		Long: `Merge issues that grouping split into one: the issue given with --into, else the
one with the most events. The others' events, counts, tags and users move to it, its
title, culprit and level become those of the issue seen last, and their new events and
old links lead to it. An ID of an issue merged before merges nothing. It cannot be undone.`,
		Example: "  flytrap issues merge 42 43 51\n  flytrap issues merge 43 51 --into 42 --yes",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Rerun = rerun(cmd)
			return Merge(cmd.Context(), opts, args)
		},
	}
	merge.Flags().StringVar(&opts.Into, "into", "", "the issue to keep (default: the one with the most events)")
	merge.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "merge without asking")
	opts.Out.Add(merge)
	cmd.AddCommand(list, view, resolve,
		status("ignore", "Ignore issues: new events do not reopen them", apitypes.StatusIgnored),
		unresolve,
		merge,
		assign,
		comment,
		del)
	return cmd
}

// project is --project, or the caller's only project.
func (opts *Options) project(ctx context.Context, c *client.Client) (apitypes.Project, error) {
	if opts.Project != "" {
		return cmdutil.FindProject(ctx, c, opts.Project)
	}
	return cmdutil.OnlyProject(ctx, c)
}

// List prints a project's issues.
func List(ctx context.Context, opts *Options, search []string) error {
	if opts.Limit < 1 {
		return cmdutil.UsageError("--limit must be at least 1", "")
	}
	level, err := cmdutil.Level(opts.Level)
	if err != nil {
		return err
	}
	// The server checks these too, as the API's query parameters; checked
	// here with its own rules, a wrong value is a usage error (exit 2)
	// before any request.
	if _, err := issuefilter.Parse(url.Values{"status": {opts.Status}, "sort": {opts.Sort}, "since": {opts.Since}}, time.Now()); err != nil {
		return cmdutil.UsageError("--"+err.Error(), "")
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	p, err := opts.project(ctx, c)
	if err != nil {
		return err
	}
	// customer.tier:"gold plan" arrives without its quotes, as one
	// argument: QuoteArg puts them back.
	words := make([]string, len(search))
	for i, a := range search {
		words[i] = issuefilter.QuoteArg(a)
	}
	q := client.IssueQuery{Status: opts.Status, Sort: opts.Sort, Environment: opts.Env, Level: level,
		Since: opts.Since, Query: strings.Join(words, " "), Limit: opts.Limit}
	is, err := client.All(ctx, c.IssuePages(p.ID, q), opts.Limit)
	if err != nil {
		return err
	}
	if is == nil {
		is = []apitypes.Issue{}
	}
	return opts.F.Print(opts.Out, is, func(w io.Writer) error {
		if len(is) == 0 && opts.F.IO.OutIsTTY() {
			filtered := ""
			if len(search) > 0 || opts.Env != "" || level != "" || opts.Since != "" {
				filtered = " match"
			}
			_, err := fmt.Fprintf(w, "No %s issues in %s%s.\n", opts.Status, cmdutil.Clean(p.Name), filtered)
			return err
		}
		t := opts.F.NewTable("id", "level", "status", "title", "culprit", "events", "users", "last seen", "assignee")
		t.Flex(3, 4)
		now, tty := opts.F.Clock(), opts.F.IO.OutIsTTY()
		for _, i := range is {
			title, culprit := i.Title, i.Culprit
			if tty {
				title, culprit = cmdutil.Clip(title, 60), cmdutil.Clip(culprit, 40)
			}
			t.Row(strconv.FormatInt(i.ID, 10), i.Level, i.Status, title, culprit,
				strconv.FormatInt(i.Count, 10), strconv.FormatInt(i.UserCount, 10), opts.F.When(i.LastSeen, now), assignee(i.AssignedTo))
		}
		return t.Render(w)
	})
}

// clientAndIssue is the client of the command's server and the issue ID
// arg holds.
func (opts *Options) clientAndIssue(arg string) (*client.Client, int64, error) {
	id, err := issueID(arg)
	if err != nil {
		return nil, 0, err
	}
	c, err := opts.F.APIClient(opts.Host)
	return c, id, err
}

// issueErr is err of a request about issue id: a 404 says which issue,
// or, for an issue that was merged, which one it went to and the command
// to run on that one, with the arguments again gives for it; anything
// else is prefixed with the ID.
func (opts *Options) issueErr(err error, id int64, again func(into int64) []string) error {
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code == apitypes.CodeIssueMerged && ce.MergedInto > 0 {
		return opts.mergedErr(id, ce.MergedInto, again)
	}
	if client.HasCode(err, apitypes.CodeNotFound) {
		return cmdutil.NotFound(err, "issue", id, "flytrap issues list")
	}
	return fmt.Errorf("issue %d: %w", id, err)
}

// mergedErr says that issue id was merged into issue into, with the
// command to run on that one instead (see issueErr).
func (opts *Options) mergedErr(id, into int64, again func(into int64) []string) error {
	hint := fmt.Sprintf("run the command on issue %d", into)
	if opts.Rerun != nil && again != nil {
		hint = "run `" + opts.Rerun(again(into)...) + "`"
	}
	return &cmdutil.Error{Msg: fmt.Sprintf("issue %d was merged into issue %d", id, into), Hint: hint, Code: cmdutil.ExitNotFound}
}

// rerun is Options.Rerun for cmd: its path, the arguments given, then the
// flags set, quoted for a shell where they need it.
func rerun(cmd *cobra.Command) func(args ...string) string {
	return func(args ...string) string {
		words := []string{cmd.CommandPath()}
		for _, a := range args {
			words = append(words, shell.Quote(a))
		}
		cmd.Flags().Visit(func(f *pflag.Flag) {
			if f.Value.Type() == "bool" && f.Value.String() == "true" {
				words = append(words, "--"+f.Name)
				return
			}
			words = append(words, "--"+f.Name+"="+shell.Quote(f.Value.String()))
		})
		return strings.Join(words, " ")
	}
}

func issueID(arg string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(arg, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, cmdutil.UsageError(fmt.Sprintf("%q is not an issue ID", arg), "see the IDs with `flytrap issues list`")
	}
	return id, nil
}

// payload is the part of the normalized event view prints.
type payload struct {
	Exceptions []event.Exception `json:"exceptions"`
	Message    string            `json:"message"`
	// MessageFormatted is Message with its params filled in, which is
	// shown in its place (event.Event.Text).
	MessageFormatted string `json:"message_formatted"`
	// Notes say what processing did to the event (attachments not
	// stored, why a frame has no source map, what was scrubbed), which
	// the dashboard shows with it.
	Notes []string `json:"notes"`
}

func (p payload) text() string { return cmp.Or(p.MessageFormatted, p.Message) }

// viewJSON is what view --json prints: the issue, and the newest page of
// its activity, which the text output ends with, so a script need not
// ask for it again.
type viewJSON struct {
	apitypes.IssueDetail
	// Activity is the first page of GET /api/v1/issues/{id}/activity
	// with limit maxActivity: its next_cursor pages on to older entries.
	Activity apitypes.List[apitypes.Activity] `json:"activity"`
}

// View prints an issue.
func View(ctx context.Context, opts *Options, arg string) error {
	c, id, err := opts.clientAndIssue(arg)
	if err != nil {
		return err
	}
	d, err := c.IssueIn(ctx, id, opts.Env)
	if err != nil {
		return opts.issueErr(err, id, nil)
	}
	// The kept issue's, when id was merged into it and the read followed.
	activity, err := c.IssueActivity(ctx, d.ID, maxActivity, "")
	if err != nil && !client.HasCode(err, apitypes.CodeNotFound) {
		return err
	}
	var feedback []apitypes.Feedback
	if d.FeedbackCount > 0 {
		page, err := c.IssueFeedback(ctx, id, maxFeedback, "")
		if err != nil {
			return err
		}
		feedback = page.Data
	}
	// Every string of the issue, its event and its feedback came from an
	// SDK: each goes through cmdutil.Clean before it reaches the terminal.
	if activity.Data == nil {
		activity.Data = []apitypes.Activity{}
	}
	return opts.F.Print(opts.Out, viewJSON{d, activity}, func(w io.Writer) error {
		now := opts.F.Clock()
		fmt.Fprintf(w, "%s\n", cmdutil.Clean(d.Title))
		in := ""
		if opts.Env != "" {
			in = "in " + cmdutil.Clean(opts.Env) + ": "
		}
		fmt.Fprintf(w, "%s · %s · %s%s · %s", cmdutil.Clean(d.Level), statusText(d.Issue), in,
			count(d.Count, "event", "events"), count(d.UserCount, "user", "users"))
		// An issue without events in the environment has no times there.
		if !d.FirstSeen.IsZero() {
			fmt.Fprintf(w, " · first seen %s · last seen %s", opts.F.When(d.FirstSeen, now), opts.F.When(d.LastSeen, now))
		}
		fmt.Fprintln(w)
		if d.Culprit != "" {
			fmt.Fprintf(w, "culprit: %s\n", cmdutil.Clean(d.Culprit))
		}
		if d.AssignedTo != nil {
			fmt.Fprintf(w, "assigned to %s\n", assignee(d.AssignedTo))
		}
		var tags []string
		for _, t := range d.Tags {
			tags = append(tags, fmt.Sprintf("%s:%s (%d)", cmdutil.Clean(t.Key), cmdutil.Clean(t.Value), t.Count))
		}
		if len(tags) > 0 {
			fmt.Fprintf(w, "tags: %s\n", strings.Join(tags, ", "))
		}
		if d.LatestEvent != nil {
			writeStack(w, d.LatestEvent)
		}
		writeFeedback(w, d.FeedbackCount, feedback, func(t time.Time) string { return opts.F.When(t, now) })
		writeActivity(w, activity, func(t time.Time) string { return opts.F.When(t, now) })
		fmt.Fprintf(w, "\n%s/issues/%d\n", c.BaseURL(), d.ID)
		return nil
	})
}

// statusText is the issue's status with the release it was resolved in
// or after, as the dashboard's issue page heading says it, cleaned for
// the terminal.
func statusText(is apitypes.Issue) string {
	status := cmdutil.Clean(is.Status)
	switch {
	case is.ResolvedInRelease != "":
		status += " in release " + cmdutil.Clean(is.ResolvedInRelease)
	case is.ResolvedAfterRelease != "":
		status += " in the next release, after " + cmdutil.Clean(is.ResolvedAfterRelease)
	}
	return status
}

// maxFeedback is how much user feedback, newest first, view prints.
const maxFeedback = 3

// maxFeedbackText is how many characters of a feedback message view
// prints, on one line.
const maxFeedbackText = 200

// writeFeedback prints the newest user feedback about the issue, each
// message on one line.
func writeFeedback(w io.Writer, count int64, fs []apitypes.Feedback, when func(time.Time) string) {
	if count == 0 {
		return
	}
	fmt.Fprintf(w, "\nuser feedback: %d\n", count)
	for _, f := range fs {
		who := cmp.Or(cmdutil.Clean(f.Name), "anonymous")
		if f.Email != "" {
			who += " <" + cmdutil.Clean(f.Email) + ">"
		}
		fmt.Fprintf(w, "  %s · %s\n    %s\n", who, when(f.Created), cmdutil.Clip(cmdutil.Clean(f.Message), maxFeedbackText))
	}
	if more := count - int64(len(fs)); more > 0 {
		fmt.Fprintf(w, "  and %d more on the issue's page\n", more)
	}
}

// maxActivity is how many entries of the issue's activity, newest
// first, view prints; maxCommentLines how many lines of a comment.
const (
	maxActivity     = 10
	maxCommentLines = 5
)

// writeActivity prints the issue's activity, newest first, each comment's
// lines indented under it; nothing when nobody did anything to the issue
// yet (its first seen is in the heading).
func writeActivity(w io.Writer, page apitypes.List[apitypes.Activity], when func(time.Time) string) {
	var shown []apitypes.Activity
	for _, a := range page.Data {
		if a.Kind != "first_seen" {
			shown = append(shown, a)
		}
	}
	if len(shown) == 0 {
		return
	}
	fmt.Fprintln(w, "\nactivity:")
	for _, a := range shown {
		fmt.Fprintf(w, "  %s · %s\n", when(a.Created), activityText(a))
		if a.Kind != "comment" {
			continue
		}
		lines := strings.Split(strings.TrimRight(a.Text, "\n"), "\n")
		for i, line := range lines {
			if i == maxCommentLines {
				fmt.Fprintf(w, "    … %s\n", count(int64(len(lines)-i), "more line", "more lines"))
				break
			}
			fmt.Fprintf(w, "    %s\n", cmdutil.Clip(cmdutil.Clean(line), maxFeedbackText))
		}
	}
	if page.NextCursor != "" {
		fmt.Fprintln(w, "  older activity on the issue's page")
	}
}

// activityText says what an entry of the activity records, as the
// dashboard does.
func activityText(a apitypes.Activity) string {
	user := func(u *apitypes.ActivityUser, nobody string) string {
		switch {
		case u == nil:
			return nobody
		case u.Email == "":
			return "a deleted user"
		}
		return cmdutil.Clean(u.Email)
	}
	who := user(a.Actor, "Flytrap")
	in := ""
	switch {
	case a.Release != "":
		in = " in release " + cmdutil.Clean(a.Release)
	case a.AfterRelease != "":
		in = " in the next release, after " + cmdutil.Clean(a.AfterRelease)
	}
	switch a.Kind {
	case "comment":
		edited := ""
		if a.Edited != nil {
			edited = " (edited)"
		}
		return who + " commented" + edited + ":"
	case "resolved":
		return who + " resolved this issue" + in
	case "unresolved":
		return who + " marked this issue unresolved"
	case "ignored":
		return who + " ignored this issue"
	case "regression":
		return who + " marked this issue as a regression" + in
	case "assigned":
		return "assigned to " + user(a.Assignee, "nobody") + " by " + who
	case "unassigned":
		return who + " unassigned this issue"
	case "merge":
		ids := make([]string, len(a.Merged))
		for i, m := range a.Merged {
			ids[i] = "#" + strconv.FormatInt(m, 10)
		}
		return who + " merged " + strings.Join(ids, ", ") + " into this issue"
	}
	return who + " changed this issue (" + cmdutil.Clean(a.Kind) + ")"
}

// maxFrames is how many frames, innermost first, view prints.
const maxFrames = 10

// writeStack prints the latest event's exceptions, innermost frame first,
// then its notes, one a line.
// A chain prints as the dashboard shows it: the error caught first, then
// each cause after "caused by", though the protocol lists the root cause
// first. An exception group prints as a tree (see
// event.Event.ExceptionTree): each of its errors indented under it after
// where the group holds it ("[errors[0]]").
func writeStack(w io.Writer, ev *apitypes.EventDetail) {
	var p payload
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return
	}
	fmt.Fprintf(w, "\nlatest event %s (%s)\n", cmdutil.Clean(ev.EventID), ev.Received.UTC().Format("2006-01-02 15:04:05Z"))
	tree := (&event.Event{Exceptions: p.Exceptions}).ExceptionTree()
	for n := range p.Exceptions {
		k, indent, prefix := len(p.Exceptions)-1-n, "  ", ""
		if tree != nil {
			t := tree[n]
			k, indent = t.Index, strings.Repeat("  ", t.Depth+1)
			if m := p.Exceptions[k].Mechanism; t.InGroup {
				prefix = "[" + m.Source + "] "
			}
		}
		e := p.Exceptions[k]
		if n > 0 && prefix == "" {
			fmt.Fprintf(w, "%scaused by\n", indent)
		}
		typ, value := e.Type, e.Value
		if e.Mechanism != nil && e.Mechanism.Synthetic {
			// The SDK made the exception up to carry the message's
			// stack: its type names no error (see event.Title).
			typ = ""
			if p.text() != "" {
				value = p.text()
			}
		}
		head := heading(typ, value)
		if e.Mechanism != nil && e.Mechanism.IsExceptionGroup && tree != nil {
			head += " (exception group)"
		}
		fmt.Fprintf(w, "%s%s\n", indent, cmdutil.Clean(prefix+head))
		names := stacktrace.DisplayNames(e.Frames)
		for i, n := len(e.Frames)-1, 0; i >= 0 && n < maxFrames; i, n = i-1, n+1 {
			fn, pos := frameText(e.Frames[i], names[i])
			if pos != "" {
				fmt.Fprintf(w, "%s  at %s (%s)\n", indent, cmdutil.Clean(fn), cmdutil.Clean(pos))
			} else {
				fmt.Fprintf(w, "%s  at %s\n", indent, cmdutil.Clean(fn))
			}
		}
	}
	if len(p.Exceptions) == 0 && p.text() != "" {
		fmt.Fprintf(w, "  %s\n", cmdutil.Clean(p.text()))
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", cmdutil.Clean(n))
	}
}

// heading is an exception's first line: "type: value", or whichever of
// the two the SDK sent; an exception with neither is headed "Exception",
// as the dashboard heads it.
func heading(typ, value string) string {
	switch {
	case typ != "" && value != "":
		return typ + ": " + value
	case typ != "":
		return typ
	case value != "":
		return value
	}
	return "Exception"
}

// position is where a frame points, as the dashboard shows it: the file's
// display name (see stacktrace.DisplayNames), then the line and column
// where known (SDKs send 0 for unknown).
func position(file string, line, col int) string {
	if line > 0 {
		file += ":" + strconv.Itoa(line)
		if col > 0 {
			file += ":" + strconv.Itoa(col)
		}
	}
	return file
}

// frameText is a frame's function and where it points, as the dashboard
// shows them: a native frame without a function is its address, in its
// image at an offset ("0x55d0c0a011f0 (crashy + 0x11f0)"); one with a
// function but no file is in its image ("main (crashy)").
func frameText(fr event.Frame, file string) (fn, pos string) {
	fn = fr.Function
	if fn == "" {
		fn = fr.InstructionAddr
	}
	pos = position(file, fr.Lineno, fr.Colno)
	if pos == "" && fr.Package != "" {
		pos = fr.PackageName()
		if off, ok := fr.ImageOffset(); ok && fr.Function == "" {
			pos += " + " + event.FormatAddr(off)
		}
	}
	return orAnon(fn), pos
}

func orAnon(s string) string {
	if s == "" {
		return "<anonymous>"
	}
	return s
}

// SetStatus changes the status of each issue. Several issues change with
// the bulk endpoint, those of a project in one transaction (up to the
// endpoint's store.MaxBulkIDs; more go in several), so a merged or
// missing issue among them leaves them all as they were.
func SetStatus(ctx context.Context, opts *Options, args []string, ch apitypes.StatusChange) error {
	ids := make([]int64, len(args))
	for i, a := range args {
		id, err := issueID(a)
		if err != nil {
			return err
		}
		ids[i] = id
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	if len(ids) == 1 {
		is, err := c.SetIssueStatus(ctx, ids[0], ch)
		if err != nil {
			if uerr := unknownRelease(err, ch.ResolvedInRelease); uerr != nil {
				return uerr
			}
			return opts.issueErr(err, ids[0], func(into int64) []string { return []string{strconv.FormatInt(into, 10)} })
		}
		return printStatus(opts, []apitypes.Issue{is})
	}
	// The issues are read first for their projects, which the bulk
	// endpoint is under, and so that a missing or merged one is named
	// before anything changes.
	var projects []int64
	byProject := make(map[int64][]int64)
	merged := make(map[int64]int64)
	for _, id := range ids {
		d, err := c.Issue(ctx, id)
		if err != nil {
			return opts.issueErr(err, id, nil)
		}
		if d.ID != id {
			// The read followed the merged issue's redirect.
			merged[id] = d.ID
			continue
		}
		if _, ok := byProject[d.ProjectID]; !ok {
			projects = append(projects, d.ProjectID)
		}
		if !slices.Contains(byProject[d.ProjectID], id) {
			byProject[d.ProjectID] = append(byProject[d.ProjectID], id)
		}
	}
	if len(merged) > 0 {
		return opts.statusRefused(args, merged)
	}
	// A project's issues go in batches of as many as the bulk endpoint
	// takes, so that `issues resolve $(flytrap issues list ... | cut -f1)`
	// works for a list of any length.
	var batches []statusBatch
	for _, pid := range projects {
		for part := range slices.Chunk(byProject[pid], store.MaxBulkIDs) {
			batches = append(batches, statusBatch{pid, part})
		}
	}
	var (
		done []apitypes.Issue
		made []int64
	)
	for i, b := range batches {
		_, err := c.BulkChangeIssues(ctx, b.project, apitypes.BulkChange{IDs: b.ids, Status: ch.Status,
			ResolvedInRelease: ch.ResolvedInRelease, StatusDetails: ch.StatusDetails})
		if err != nil {
			var ce *client.Error
			if errors.As(err, &ce) && ce.Code == apitypes.CodeIssueMerged && len(ce.Merged) > 0 {
				// Merged since they were read.
				err = opts.statusRefused(args, ce.Merged)
			}
			if uerr := unknownRelease(err, ch.ResolvedInRelease); uerr != nil {
				err = uerr
			}
			return opts.stopped(done, made, b.ids, batches[i+1:], err)
		}
		made = append(made, b.ids...)
		// Read again for what the change made of them: the release
		// latest stood for, or the one resolved after.
		for _, id := range b.ids {
			d, err := c.Issue(ctx, id)
			if err != nil {
				return opts.stopped(done, made, nil, batches[i+1:], fmt.Errorf("reading the changed issues back: %w", opts.issueErr(err, id, nil)))
			}
			done = append(done, d.Issue)
		}
	}
	return printStatus(opts, done)
}

// stopped is the error of a status change of several issues that failed
// with err: made are the issues changed before, failed those of the
// request that failed (none when reading a change back did), and later
// the batches never sent. The issues read back after their change
// (done) are printed first, and the error names every issue by what
// became of it (cmdutil.PartialError), unless nothing was sent but the
// request that failed.
func (opts *Options) stopped(done []apitypes.Issue, made, failed []int64, later []statusBatch, err error) error {
	if len(made) == 0 && len(later) == 0 {
		return err
	}
	if len(done) > 0 {
		if err := printStatus(opts, done); err != nil {
			return err
		}
	}
	pe := &cmdutil.PartialError{Made: idStrings(made), Failed: idStrings(failed), Err: err}
	for _, b := range later {
		pe.NotSent = append(pe.NotSent, idStrings(b.ids)...)
	}
	return pe
}

// statusBatch is issues of one project whose status one bulk request
// changes.
type statusBatch struct {
	project int64
	ids     []int64
}

// idStrings is ids in decimal.
func idStrings(ids []int64) []string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return s
}

// unknownRelease is, for err refusing to resolve in release because the
// issues' project has no such release (a typo, or one not created yet),
// the error saying so with the commands that list the project's releases
// and create it; nil for any other err.
func unknownRelease(err error, release string) error {
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != apitypes.CodeUnknownRelease {
		return nil
	}
	p := cmdutil.Clean(shell.Quote(ce.Project))
	return &cmdutil.Error{Msg: fmt.Sprintf("no release %s in project %s", cmdutil.Clean(release), cmdutil.Clean(ce.Project)),
		Hint: fmt.Sprintf("check the name (`flytrap releases list -p %s`), or create it first with `flytrap releases new -p %s %s`",
			p, p, cmdutil.Clean(cmdutil.ShellArg(release))),
		Code: cmdutil.ExitError}
}

// statusRefused is the error of a status change of args that named issues
// merged before, into by merged ID: nothing changed, and the hint is the
// command with those issues in their place.
func (opts *Options) statusRefused(args []string, into map[int64]int64) error {
	var msgs []string
	for _, id := range slices.Sorted(maps.Keys(into)) {
		msgs = append(msgs, fmt.Sprintf("issue %d was merged into issue %d", id, into[id]))
	}
	var again []string
	for _, a := range args {
		if id, err := issueID(a); err == nil && into[id] != 0 {
			a = strconv.FormatInt(into[id], 10)
		}
		again = append(again, a)
	}
	hint := "run the command on the issues they were merged into"
	if opts.Rerun != nil {
		hint = "run `" + opts.Rerun(again...) + "`"
	}
	return &cmdutil.Error{Msg: strings.Join(msgs, "; "), Hint: hint, Code: cmdutil.ExitNotFound}
}

// printStatus prints the issues whose status SetStatus changed.
func printStatus(opts *Options, done []apitypes.Issue) error {
	return opts.F.Print(opts.Out, done, func(w io.Writer) error {
		for _, is := range done {
			status := cmdutil.Clean(is.Status)
			switch {
			case is.ResolvedInRelease != "":
				// Said back, so a mistyped release shows, and the one
				// latest stood for.
				status += " in release " + cmdutil.Clean(is.ResolvedInRelease)
			case is.ResolvedAfterRelease != "":
				status += " in the next release (after " + cmdutil.Clean(is.ResolvedAfterRelease) + ")"
			}
			fmt.Fprintf(w, "Issue %d is %s: %s\n", is.ID, status, cmdutil.Clean(is.Title))
		}
		return nil
	})
}

// Merge merges the issues args (and --into) after confirmation and
// prints the issue they merged into.
func Merge(ctx context.Context, opts *Options, args []string) error {
	var ids []int64
	for _, a := range append(slices.Clone(args), opts.Into) {
		if a == "" {
			continue
		}
		id, err := issueID(a)
		if err != nil {
			return err
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) < 2 {
		return cmdutil.UsageError("name at least two different issues to merge", "see the IDs with `flytrap issues list`")
	}
	into := int64(0)
	if opts.Into != "" {
		into, _ = issueID(opts.Into)
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	// The issues are read first so the question names what merges, and a
	// missing or merged one is named before anything changes.
	var issues []apitypes.Issue
	merged := make(map[int64]int64)
	for _, id := range ids {
		d, err := c.Issue(ctx, id)
		if err != nil {
			return opts.issueErr(err, id, nil)
		}
		if d.ID != id {
			// The read followed the merged issue's redirect.
			merged[id] = d.ID
		}
		issues = append(issues, d.Issue)
	}
	if len(merged) > 0 {
		return opts.mergeRefused(args, merged)
	}
	primary := slices.MaxFunc(issues, func(a, b apitypes.Issue) int {
		return cmp.Or(cmp.Compare(a.Count, b.Count), cmp.Compare(b.ID, a.ID))
	})
	if into != 0 {
		primary = issues[slices.Index(ids, into)]
	}
	var others []string
	for _, is := range issues {
		if is.ID != primary.ID {
			others = append(others, strconv.FormatInt(is.ID, 10))
		}
	}
	question := fmt.Sprintf("merge issue%s %s into issue %d (%s); this cannot be undone",
		map[bool]string{true: "s"}[len(others) > 1], strings.Join(others, ", "), primary.ID, cmdutil.Clip(primary.Title, 60))
	if err := opts.F.Confirm(ctx, opts.Yes, question); err != nil {
		return err
	}
	is, err := c.MergeIssues(ctx, primary.ProjectID, apitypes.Merge{IDs: ids, Into: primary.ID})
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code == apitypes.CodeIssueMerged && len(ce.Merged) > 0 {
		// Merged since they were read.
		return opts.mergeRefused(args, ce.Merged)
	}
	if err != nil {
		return err
	}
	return printMerged(opts, is)
}

// mergeRefused is the error of a merge of args (and --into) that named
// issues merged before, into by merged ID: nothing was merged, since the
// issue a merged ID leads to may not be the one meant. The hint is the
// merge with those issues in their place, or, when that names one issue,
// the issue they all are already.
func (opts *Options) mergeRefused(args []string, into map[int64]int64) error {
	var msgs []string
	for _, id := range slices.Sorted(maps.Keys(into)) {
		msgs = append(msgs, fmt.Sprintf("issue %d was merged into issue %d", id, into[id]))
	}
	instead := func(a string) string {
		if id, err := issueID(a); err == nil && into[id] != 0 {
			return strconv.FormatInt(into[id], 10)
		}
		return a
	}
	var again, distinct []string
	for _, a := range append(slices.Clone(args), opts.Into) {
		a = instead(a)
		if a != "" && !slices.Contains(distinct, a) {
			distinct = append(distinct, a)
		}
	}
	for _, a := range args {
		again = append(again, instead(a))
	}
	e := &cmdutil.Error{Msg: strings.Join(msgs, "; ") + "; nothing was merged", Code: cmdutil.ExitNotFound}
	switch {
	case len(distinct) < 2:
		e.Hint = "they are one issue already: see it with `flytrap issues view " + distinct[0] + "`"
	case opts.Rerun != nil:
		// The flag's value is opts.Into, which Rerun reads.
		opts.Into = instead(opts.Into)
		e.Hint = "merge the issues they are now: run `" + opts.Rerun(again...) + "`"
	}
	return e
}

// printMerged prints the issue Merge merged into.
func printMerged(opts *Options, is apitypes.Issue) error {
	return opts.F.Print(opts.Out, is, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Merged into issue %d, now %s: %s\n", is.ID, count(is.Count, "event", "events"), cmdutil.Clean(is.Title))
		return err
	})
}

// Assign assigns an issue to who: an email, "me", or "none" for nobody.
func Assign(ctx context.Context, opts *Options, arg, who string) error {
	c, id, err := opts.clientAndIssue(arg)
	if err != nil {
		return err
	}
	whom := who
	if strings.EqualFold(who, "none") {
		who = ""
	}
	is, err := c.SetIssueStatus(ctx, id, apitypes.StatusChange{AssignedTo: apitypes.Assign(who)})
	if err != nil {
		return opts.issueErr(err, id, func(into int64) []string { return []string{strconv.FormatInt(into, 10), whom} })
	}
	return opts.F.Print(opts.Out, is, func(w io.Writer) error {
		if is.AssignedTo == nil {
			_, err := fmt.Fprintf(w, "Issue %d is unassigned: %s\n", is.ID, cmdutil.Clean(is.Title))
			return err
		}
		_, err := fmt.Fprintf(w, "Issue %d is assigned to %s: %s\n", is.ID, assignee(is.AssignedTo), cmdutil.Clean(is.Title))
		return err
	})
}

// maxCommentBytes bounds the text a comment reads from standard input:
// 10,000 characters of up to 4 bytes each, and a little for the line
// break that ends it.
const maxCommentBytes = 4*10000 + 2

// Comment adds text, or standard input when text is "-", as a comment to
// an issue.
func Comment(ctx context.Context, opts *Options, arg, text string) error {
	c, id, err := opts.clientAndIssue(arg)
	if err != nil {
		return err
	}
	sent := text
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(opts.F.IO.In, maxCommentBytes+1))
		if err != nil {
			return fmt.Errorf("read the comment from standard input: %w", err)
		}
		if len(b) > maxCommentBytes {
			return cmdutil.UsageError("the comment on standard input is over 10,000 characters", "shorten it")
		}
		// A file or a pipe ends its last line with a line break that is
		// not part of the comment.
		sent = strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	}
	a, err := c.AddComment(ctx, id, sent)
	if err != nil {
		return opts.issueErr(err, id, func(into int64) []string { return []string{strconv.FormatInt(into, 10), text} })
	}
	return opts.F.Print(opts.Out, a, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "Commented on issue %d.\n", a.IssueID)
		return err
	})
}

// assignee is the email of the user an issue is assigned to, "" for
// nobody.
func assignee(a *apitypes.Assignee) string {
	if a == nil {
		return ""
	}
	return cmdutil.Clean(a.Email)
}

// Delete deletes an issue after confirmation.
func Delete(ctx context.Context, opts *Options, arg string) error {
	c, id, err := opts.clientAndIssue(arg)
	if err != nil {
		return err
	}
	again := func(into int64) []string { return []string{strconv.FormatInt(into, 10)} }
	is, err := c.Issue(ctx, id)
	if err != nil {
		return opts.issueErr(err, id, again)
	}
	if is.ID != id {
		// The read followed the merged issue's redirect: deleting the
		// issue it went to is for the user to ask.
		return opts.mergedErr(id, is.ID, again)
	}
	if err := opts.F.Confirm(ctx, opts.Yes, fmt.Sprintf("delete issue %d (%s) with its %d events", id, cmdutil.Clip(is.Title, 60), is.Count)); err != nil {
		return err
	}
	if err := c.DeleteIssue(ctx, id); err != nil {
		return opts.issueErr(err, id, again)
	}
	fmt.Fprintf(opts.F.IO.ErrOut, "Deleted issue %d.\n", id)
	return nil
}

// count is n with the noun it counts: "1 event", "2 events".
func count(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
