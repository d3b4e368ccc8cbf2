// Package users implements `flytrap users`: list, add (or invite) and
// remove users, change their role, issue password reset links and sign
// users out everywhere (admins only).
package users

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
)

// Options are the inputs shared by the user commands.
type Options struct {
	F             *cmdutil.Factory
	Host          string
	Out           cmdutil.JSONFlags
	Yes           bool
	Role          string
	PasswordStdin bool
	Invite        bool
}

// NewCmd returns the users command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "users <command>",
		Short: "List, add, invite and remove users, change their role, reset passwords, sign users out (admins)",
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	list := &cobra.Command{
		Use: "list", Short: "List every user", Args: cobra.NoArgs,
		Example: "  flytrap users list\n  flytrap users list --jq '.[] | select(.role == \"admin\") | .email'",
		RunE:    func(cmd *cobra.Command, _ []string) error { return List(cmd.Context(), opts) },
	}
	opts.Out.Add(list)
	add := &cobra.Command{
		Use: "add <email>", Short: "Add a user; prints a one-time password, or with --invite a link to choose one", Args: cobra.ExactArgs(1),
		Example: "  flytrap users add ada@example.com --role admin\n  flytrap users add carol@example.com --invite\n  printf '%s\\n' \"$PW\" | flytrap users add bob@example.com --password-stdin",
		RunE:    func(cmd *cobra.Command, args []string) error { return Add(cmd.Context(), opts, args[0]) },
	}
	add.Flags().StringVar(&opts.Role, "role", apitypes.RoleMember, `"admin" or "member"`)
	add.Flags().BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password from standard input instead of generating one")
	add.Flags().BoolVar(&opts.Invite, "invite", false, "create the user without a password and print a one-time link (valid 7 days) through which they choose one; the server emails it too when it has SMTP")
	cmdutil.MutuallyExclusive(add, "--invite lets the user choose their password through a link; --password-stdin sets it now: give one", "invite", "password-stdin")
	opts.Out.Add(add)
	reset := &cobra.Command{
		Use: "reset-password <email>", Short: "Print a one-time link (valid 1 hour) that sets a new password; emailed too when the server has SMTP", Args: cobra.ExactArgs(1),
		Example: "  flytrap users reset-password bob@example.com",
		RunE:    func(cmd *cobra.Command, args []string) error { return ResetPassword(cmd.Context(), opts, args[0]) },
	}
	opts.Out.Add(reset)
	signOut := &cobra.Command{
		Use: "sign-out <email>", Short: "End a user's dashboard sessions and the API tokens made by signing in (flytrap login); keeps their password", Args: cobra.ExactArgs(1),
		Example: "  flytrap users sign-out bob@example.com\n  flytrap users sign-out bob@example.com && flytrap users reset-password bob@example.com",
		RunE:    func(cmd *cobra.Command, args []string) error { return SignOut(cmd.Context(), opts, args[0]) },
	}
	opts.Out.Add(signOut)
	role := &cobra.Command{
		Use: "role <email> <admin|member>", Short: "Change a user's role", Args: cobra.ExactArgs(2),
		Example:   "  flytrap users role bob@example.com admin",
		ValidArgs: []string{apitypes.RoleAdmin, apitypes.RoleMember},
		RunE:      func(cmd *cobra.Command, args []string) error { return Role(cmd.Context(), opts, args[0], args[1]) },
	}
	opts.Out.Add(role)
	remove := &cobra.Command{
		Use: "remove <email>", Short: "Remove a user with their memberships, tokens and sessions", Args: cobra.ExactArgs(1),
		Example: "  flytrap users remove bob@example.com --yes",
		RunE:    func(cmd *cobra.Command, args []string) error { return Remove(cmd.Context(), opts, args[0]) },
	}
	remove.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "remove without asking")
	cmd.AddCommand(list, add, role, reset, signOut, remove)
	return cmd
}

// List prints every user.
func List(ctx context.Context, opts *Options) error {
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	us, err := c.Users(ctx)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, us, func(w io.Writer) error {
		// The status comes last, so scripts that cut the first columns
		// of the pipe output read what they did.
		t := opts.F.NewTable("id", "email", "role", "created", "status")
		now := opts.F.Clock()
		for _, u := range us {
			status := "active"
			if u.Invited {
				status = "invited"
			}
			t.Row(strconv.FormatInt(u.ID, 10), u.Email, u.Role, opts.F.When(u.CreatedAt, now), status)
		}
		return t.Render(w)
	})
}

// onePasswordLength is the length of generated passwords (~115 bits).
const onePasswordLength = 20

// Add creates a user. With --invite it prints the invitation link; else,
// without --password-stdin, it generates a password and prints it once,
// for the admin to hand over.
func Add(ctx context.Context, opts *Options, email string) error {
	if err := checkRole("--role", opts.Role); err != nil {
		return err
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	if opts.Invite {
		u, err := c.CreateUser(ctx, apitypes.NewUser{Email: email, Role: opts.Role, Invite: true})
		if err != nil {
			return err
		}
		if u.Link == nil {
			// A server's answer is input like any other: one without
			// the link must not crash the command.
			return fmt.Errorf("the server created %s but answered without an invitation link; issue one with `flytrap users reset-password`", cmdutil.Clean(u.Email))
		}
		absoluteLink(c, u.Link)
		const label = "Invitation link"
		return opts.F.PrintOnce(opts.Out, u, u.Link.URL, label, func(w io.Writer) error {
			fmt.Fprintf(w, "Added %s (%s, id %d) without a password.\n", cmdutil.Clean(u.Email), cmdutil.Clean(u.Role), u.ID)
			return printLink(w, label, *u.Link)
		})
	}
	req := apitypes.NewUser{Email: email, Role: opts.Role}
	generated := !opts.PasswordStdin
	if generated {
		if req.Password, err = auth.RandomPassword(onePasswordLength); err != nil {
			return err
		}
	} else if req.Password, err = cmdutil.ReadSecretLine(opts.F.IO.In, "--password-stdin"); err != nil {
		return err
	}
	u, err := c.CreateUser(ctx, req)
	if err != nil {
		return err
	}
	type added struct {
		apitypes.User
		Password string `json:"password,omitempty"`
	}
	out := added{User: u.User}
	if generated {
		out.Password = req.Password
	}
	const label = "Password (shown once; they can change it under Account)"
	return opts.F.PrintOnce(opts.Out, out, out.Password, label, func(w io.Writer) error {
		fmt.Fprintf(w, "Added %s (%s, id %d).\n", cmdutil.Clean(u.Email), cmdutil.Clean(u.Role), u.ID)
		if generated {
			fmt.Fprintf(w, "%s: %s\n", label, req.Password)
		}
		return nil
	})
}

// absoluteLink puts a link the server answered as a path (it has no public
// URL, and builds no link from the request's Host header) on the server
// the CLI called.
func absoluteLink(c *client.Client, l *apitypes.PasswordLink) {
	if strings.HasPrefix(l.URL, "/") && !strings.HasPrefix(l.URL, "//") {
		l.URL = c.BaseURL() + l.URL
	}
}

// printLink writes a set-password link with when it expires and whether
// the server emailed it.
func printLink(w io.Writer, label string, l apitypes.PasswordLink) error {
	sent := "not emailed: the server sends no email (flytrap dev --smtp-url), so pass it on yourself"
	switch {
	case l.Emailed:
		sent = "emailed to " + cmdutil.Clean(l.Email)
	case l.MailError != "":
		sent = "the email could not be sent (" + cmdutil.Clean(l.MailError) + "), so pass it on yourself"
	}
	_, err := fmt.Fprintf(w, "%s (works once, until %s; %s):\n%s\n", label, l.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"), sent, cmdutil.Clean(l.URL))
	return err
}

// ResetPassword issues the user a password reset link and prints it. The
// user's password works until the link is used.
func ResetPassword(ctx context.Context, opts *Options, email string) error {
	c, u, err := clientAndUser(ctx, opts, email)
	if err != nil {
		return err
	}
	l, err := c.ResetPassword(ctx, u.ID)
	if err != nil {
		return err
	}
	absoluteLink(c, &l)
	const label = "Password reset link"
	return opts.F.PrintOnce(opts.Out, l, l.URL, label, func(w io.Writer) error {
		return printLink(w, label+" for "+cmdutil.Clean(l.Email), l)
	})
}

// SignOut ends the user's dashboard sessions and revokes their API tokens
// made by signing in. Their password keeps working, which the output
// says, with the command that stops it.
func SignOut(ctx context.Context, opts *Options, email string) error {
	c, u, err := clientAndUser(ctx, opts, email)
	if err != nil {
		return err
	}
	out, err := c.SignOutUser(ctx, u.ID)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, out, func(w io.Writer) error {
		tokens := "API tokens"
		if out.TokensRevoked == 1 {
			tokens = "API token"
		}
		e := cmdutil.Clean(out.Email)
		_, err := fmt.Fprintf(w, "Signed %s out everywhere: ended their dashboard sessions and revoked %d %s made by signing in.\n"+
			"Their password and the tokens they created by name still work; if the password may be known, also run `flytrap users reset-password %s`.\n",
			e, out.TokensRevoked, tokens, cmdutil.ShellArg(e))
		return err
	})
}

// FindUser is the user with the email address (ignoring case) or ID.
func FindUser(ctx context.Context, c *client.Client, arg string) (apitypes.User, error) {
	us, err := c.Users(ctx)
	if err != nil {
		return apitypes.User{}, err
	}
	for _, u := range us {
		if strings.EqualFold(u.Email, arg) || strconv.FormatInt(u.ID, 10) == arg {
			return u, nil
		}
	}
	return apitypes.User{}, &cmdutil.Error{Msg: fmt.Sprintf("no user %q", arg), Hint: "list them with `flytrap users list`", Code: cmdutil.ExitNotFound}
}

// clientAndUser is the API client of opts's host and the user arg names,
// which every command about one user starts from.
func clientAndUser(ctx context.Context, opts *Options, arg string) (*client.Client, apitypes.User, error) {
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return nil, apitypes.User{}, err
	}
	u, err := FindUser(ctx, c, arg)
	return c, u, err
}

// Role changes a user's role.
func Role(ctx context.Context, opts *Options, email, role string) error {
	if err := checkRole("the role", role); err != nil {
		return err
	}
	c, u, err := clientAndUser(ctx, opts, email)
	if err != nil {
		return err
	}
	u, err = c.SetUserRole(ctx, u.ID, role)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, u, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "%s is now %s.\n", cmdutil.Clean(u.Email), cmdutil.Clean(u.Role))
		return err
	})
}

// Remove deletes a user after confirmation.
func Remove(ctx context.Context, opts *Options, email string) error {
	c, u, err := clientAndUser(ctx, opts, email)
	if err != nil {
		return err
	}
	if err := opts.F.Confirm(ctx, opts.Yes, "remove user "+u.Email+" with their tokens and memberships"); err != nil {
		return err
	}
	if err := c.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	fmt.Fprintf(opts.F.IO.ErrOut, "Removed %s.\n", cmdutil.Clean(u.Email))
	return nil
}

// checkRole refuses a role the server has not, before anything is sent
// (or a password asked for), as a usage error like any other bad flag;
// what names it (the flag or the argument) starts the message.
func checkRole(what, role string) error {
	if role == apitypes.RoleAdmin || role == apitypes.RoleMember {
		return nil
	}
	return cmdutil.UsageError(fmt.Sprintf("%s is admin or member, not %q", what, role),
		"admin: manages users and sees every project; member: sees the projects they are added to")
}
