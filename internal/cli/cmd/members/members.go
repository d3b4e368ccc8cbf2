// Package members implements `flytrap members`: who belongs to a project.
package members

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// Options are the inputs shared by the member commands.
type Options struct {
	F    *cmdutil.Factory
	Host string
	Out  cmdutil.JSONFlags
	Yes  bool
	Role string
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
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return complete(cmd, args, prefix)
	}
	list := &cobra.Command{
		Use: "list <project>", Short: "List a project's members", Args: cobra.ExactArgs(1),
		Example: "  flytrap members list web", ValidArgsFunction: firstIsProject,
		RunE: func(cmd *cobra.Command, args []string) error { return List(cmd.Context(), opts, args[0]) },
	}
	opts.Out.Add(list)
	add := &cobra.Command{
		Use: "add <project> <email>", Short: "Add a user to a project, or change their role there (the project's admins)", Args: cobra.ExactArgs(2),
		Example: "  flytrap members add web ada@example.com\n  flytrap members add web ada@example.com --role admin", ValidArgsFunction: firstIsProject,
		RunE: func(cmd *cobra.Command, args []string) error { return Add(cmd.Context(), opts, args[0], args[1]) },
	}
	add.Flags().StringVar(&opts.Role, "role", apitypes.RoleMember, `role in the project: "admin" or "member"`)
	opts.Out.Add(add)
	remove := &cobra.Command{
		Use: "remove <project> <email>", Short: "Take a user out of a project (the project's admins)", Args: cobra.ExactArgs(2),
		Example: "  flytrap members remove web bob@example.com --yes", ValidArgsFunction: firstIsProject,
		RunE: func(cmd *cobra.Command, args []string) error { return Remove(cmd.Context(), opts, args[0], args[1]) },
	}
	remove.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove without asking")
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

// Add adds a user to a project.
func Add(ctx context.Context, opts *Options, project, email string) error {
	c, p, err := opts.F.ClientAndProject(ctx, opts.Host, project)
	if err != nil {
		return err
	}
	// By email, not through the user list, which only admin users may
	// read: the project's own admins add members too.
	m, err := c.AddMember(ctx, p.ID, email, opts.Role)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, m, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s is %s of %s.\n", cmdutil.Clean(m.Email), withArticle(cmdutil.Clean(m.Role)), cmdutil.Clean(p.Name))
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
