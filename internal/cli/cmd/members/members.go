// Package members implements `flytrap members`: who belongs to a project.
package members

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

// Options are the inputs shared by the member commands.
type Options struct {
	F    *cmdutil.Factory
	Host string
	Out  cmdutil.JSONFlags
	Yes  bool
	Role string
	// Project is --project, which the other commands take the project
	// by; the first argument does the same here.
	Project string
}

// projectArgs accepts the project as the first of n arguments, or by
// --project in its place, and returns the project and the rest.
func (o *Options) projectArgs(n int) (cobra.PositionalArgs, func(args []string) (string, []string)) {
	valid := func(cmd *cobra.Command, args []string) error {
		use := strings.Fields(cmd.Use)[1:]
		if o.Project != "" {
			// --project stands for the first argument.
			if e := cmdutil.ArgsError(cmd, strings.Join(use[1:], " "), args); e != nil {
				e.Msg = "with --project, " + e.Msg
				return e
			}
			return nil
		}
		if e := cmdutil.ArgsError(cmd, strings.Join(use, " "), args); e != nil {
			return e
		}
		return nil
	}
	split := func(args []string) (string, []string) {
		if o.Project != "" {
			return o.Project, args
		}
		return args[0], args[1:]
	}
	return valid, split
}

// NewCmd returns the members command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "members <command>",
		Short: "List, add and remove the members of a project",
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	complete := f.CompleteProjects(&opts.Host)
	firstIsProject := func(cmd *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 || opts.Project != "" {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(cmd, args, prefix)
	}
	oneArg, project := opts.projectArgs(1)
	list := &cobra.Command{
		Use: "list <project>", Short: "List a project's members", Args: oneArg,
		Example: "  flytrap members list web\n  flytrap members list -p web", ValidArgsFunction: firstIsProject,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _ := project(args)
			return List(cmd.Context(), opts, p)
		},
	}
	opts.Out.Add(list)
	twoArgs, projectAnd := opts.projectArgs(2)
	checkList := map[string]string{cmdutil.CheckWith: "flytrap members list {project}"}
	add := &cobra.Command{
		Annotations: checkList,
		Use:         "add <project> <email>", Short: "Add a user to a project, or change their role there (the project's admins)", Args: twoArgs,
		Example: "  flytrap members add web ada@example.com\n  flytrap members add -p web ada@example.com --role admin", ValidArgsFunction: firstIsProject,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, rest := projectAnd(args)
			return Add(cmd.Context(), opts, p, rest[0])
		},
	}
	add.Flags().StringVar(&opts.Role, "role", "", `role in the project: "admin" or "member" (default: member for a newcomer; a member keeps theirs)`)
	opts.Out.Add(add)
	remove := &cobra.Command{
		Annotations: checkList,
		Use:         "remove <project> <email>", Short: "Take a user out of a project (the project's admins)", Args: twoArgs,
		Example: "  flytrap members remove web bob@example.com --yes", ValidArgsFunction: firstIsProject,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, rest := projectAnd(args)
			return Remove(cmd.Context(), opts, p, rest[0])
		},
	}
	remove.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove without asking")
	for _, c := range []*cobra.Command{list, add, remove} {
		c.Flags().StringVarP(&opts.Project, "project", "p", "", "project name or ID, in place of the first argument, as other commands take it")
	}
	cmd.AddCommand(list, add, remove)
	return cmd
}

// List prints a project's members.
func List(ctx context.Context, opts *Options, project string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, project)
	if err != nil {
		return err
	}
	ms, err := c.Members(ctx, p.ID)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, ms, func(w io.Writer) error {
		t := opts.F.NewTable("user id", "email", "role", "since")
		now := opts.F.Clock()
		for _, m := range ms {
			t.Row(strconv.FormatInt(m.UserID, 10), m.Email, m.Role, opts.F.When(m.CreatedAt, now))
		}
		return t.Render(w)
	})
}

// Add adds a user to a project, or with --role sets their role there. A
// member added again without --role keeps their role, and is told so.
func Add(ctx context.Context, opts *Options, project, email string) error {
	if opts.Role != "" && opts.Role != apitypes.RoleAdmin && opts.Role != apitypes.RoleMember {
		return cmdutil.UsageError(fmt.Sprintf("--role is admin or member, not %q", opts.Role), "leave --role out to add a member, or to keep a member's role")
	}
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, project)
	if err != nil {
		return err
	}
	// The membership before, to say what changed.
	ms, err := c.Members(ctx, p.ID)
	if err != nil {
		return err
	}
	before := slices.IndexFunc(ms, func(m apitypes.Member) bool { return strings.EqualFold(m.Email, strings.TrimSpace(email)) })
	// By email, not through the user list, which only admin users may
	// read: the project's own admins add members too.
	m, err := c.AddMember(ctx, p.ID, email, opts.Role)
	if client.HasCode(err, apitypes.CodeNotFound) {
		return &cmdutil.Error{Msg: fmt.Sprintf("no user has the email %s", email),
			Hint: "an admin can invite them with `flytrap users add --invite " + cmdutil.ShellArg(email) + "`, then add them here", Code: cmdutil.ExitNotFound}
	}
	if err != nil {
		return err
	}
	who, role, name := cmdutil.Clean(m.Email), withArticle(cmdutil.Clean(m.Role)), cmdutil.Clean(p.Name)
	var msg string
	switch {
	case before < 0:
		msg = fmt.Sprintf("Added %s to %s as %s.", who, name, role)
	case ms[before].Role != m.Role:
		msg = fmt.Sprintf("%s is now %s of %s (was %s).", who, role, name, withArticle(cmdutil.Clean(ms[before].Role)))
	case opts.Role == "":
		msg = fmt.Sprintf("%s is already %s of %s; --role changes that.", who, role, name)
	default:
		msg = fmt.Sprintf("%s is already %s of %s.", who, role, name)
	}
	return opts.F.Print(opts.Out, m, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, msg)
		return err
	})
}

// withArticle is role after the article it is said with: "an admin", "a
// member".
func withArticle(role string) string {
	if role != "" && strings.ContainsRune("aeiouAEIOU", rune(role[0])) {
		return "an " + role
	}
	return "a " + role
}

// Remove takes a user out of a project after confirmation.
func Remove(ctx context.Context, opts *Options, project, email string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, project)
	if err != nil {
		return err
	}
	ms, err := c.Members(ctx, p.ID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if strings.EqualFold(m.Email, email) {
			if err := opts.F.Confirm(ctx, opts.Yes, "remove "+m.Email+" from "+p.Name); err != nil {
				return err
			}
			if err := c.RemoveMember(ctx, p.ID, m.UserID); err != nil {
				return err
			}
			fmt.Fprintf(opts.F.IO.ErrOut, "Removed %s from %s.\n", cmdutil.Clean(m.Email), cmdutil.Clean(p.Name))
			return nil
		}
	}
	return &cmdutil.Error{Msg: fmt.Sprintf("%s is not a member of %s", email, p.Name), Hint: "see `flytrap members list " + cmdutil.ShellArg(p.Name) + "`", Code: cmdutil.ExitNotFound}
}
