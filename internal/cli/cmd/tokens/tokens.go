// Package tokens implements `flytrap tokens`: the caller's API tokens.
package tokens

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
)

// Options are the inputs shared by the token commands.
type Options struct {
	F       *cmdutil.Factory
	Host    string
	Out     cmdutil.JSONFlags
	Yes     bool
	Scope   string
	Expires string
	// PasswordStdin reads the password, which a token of flytrap login
	// needs to create a named token, from standard input.
	PasswordStdin bool
}

// NewCmd returns the tokens command and its verbs.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "tokens <command>",
		Short: "List, create and revoke your API tokens",
	}
	cmdutil.AddHostFlag(cmd, &opts.Host)
	list := &cobra.Command{
		Use: "list", Short: "List your API tokens (never their secrets)", Args: cobra.NoArgs,
		Example: "  flytrap tokens list",
		RunE:    func(cmd *cobra.Command, _ []string) error { return List(cmd.Context(), opts) },
	}
	opts.Out.Add(list)
	create := &cobra.Command{
		Use: "create <name>", Short: "Create an API token and print its secret, once", Args: cobra.ExactArgs(1),
		Long: `Create an API token and print its secret, once. The token outlives a
password change, so when you are logged in with the token of a password login
(flytrap login --email), the server asks for your password too: on a terminal
it is asked for, otherwise pipe it in with --password-stdin.`,
		Example: "  flytrap tokens create ci --scope read --expires 90d\n  flytrap tokens create deploy-bot --jq .token\n  printf '%s\\n' \"$PASSWORD\" | flytrap tokens create ci --password-stdin",
		RunE:    func(cmd *cobra.Command, args []string) error { return Create(cmd.Context(), opts, args[0]) },
	}
	create.Flags().StringVar(&opts.Scope, "scope", apitypes.ScopeFull, `"full", or "read" for a token that may only read`)
	create.Flags().StringVar(&opts.Expires, "expires", "", "lifetime, such as 90d or 12h (default: never expires)")
	create.Flags().BoolVar(&opts.PasswordStdin, "password-stdin", false, "read your password from standard input")
	opts.Out.Add(create)
	revoke := &cobra.Command{
		Use: "revoke <token-id>", Short: "Revoke one of your API tokens", Args: cobra.ExactArgs(1),
		Example: "  flytrap tokens revoke 12 --yes",
		RunE:    func(cmd *cobra.Command, args []string) error { return Revoke(cmd.Context(), opts, args[0]) },
	}
	revoke.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "revoke without asking")
	cmd.AddCommand(list, create, revoke)
	return cmd
}

// List prints the caller's tokens.
func List(ctx context.Context, opts *Options) error {
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	ts, err := c.Tokens(ctx)
	if err != nil {
		return err
	}
	return opts.F.Print(opts.Out, ts, func(w io.Writer) error {
		// The status comes last, as in `users list`, so scripts that cut
		// the first columns read what they did; an expiry alone, such as
		// "2d ago", does not say the token no longer works.
		t := opts.F.NewTable("id", "name", "scope", "expires", "last used", "created", "status")
		now := opts.F.Clock()
		for _, tk := range ts {
			expires, used, status := "never", "never", "active"
			if tk.ExpiresAt != nil {
				expires = opts.F.When(*tk.ExpiresAt, now)
				if !tk.ExpiresAt.After(now) {
					status = "expired"
				}
			}
			if tk.LastUsedAt != nil {
				used = opts.F.When(*tk.LastUsedAt, now)
			}
			t.Row(strconv.FormatInt(tk.ID, 10), tk.Name, tk.Scope, expires, used, opts.F.When(tk.CreatedAt, now), status)
		}
		return t.Render(w)
	})
}

// Create issues a token and prints its secret.
func Create(ctx context.Context, opts *Options, name string) error {
	if err := cmdutil.CheckScope(opts.Scope); err != nil {
		return err
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	exp, err := cmdutil.Lifetime(opts.Expires, opts.F.Clock())
	if err != nil {
		return err
	}
	nt := apitypes.NewToken{Name: name, Scope: opts.Scope, ExpiresAt: exp}
	if opts.PasswordStdin {
		if nt.Password, err = cmdutil.ReadSecretLine(opts.F.IO.In, "--password-stdin"); err != nil {
			return err
		}
	}
	tk, err := c.CreateToken(ctx, nt)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Code == apitypes.CodePassword && nt.Password == "" && opts.F.IO.Interactive() {
		// Asked only when the server wants it: a named token or CI's
		// FLYTRAP_TOKEN needs none.
		if nt.Password, err = opts.F.IO.ReadPassword("Password: "); err != nil {
			return err
		}
		tk, err = c.CreateToken(ctx, nt)
	}
	if err != nil {
		return err
	}
	return opts.F.PrintOnce(opts.Out, tk, tk.Token, "Token (shown once)", func(w io.Writer) error {
		fmt.Fprintf(opts.F.IO.ErrOut, "Created token %s (id %d, %s). Copy it now: it is not shown again.\n", cmdutil.Clean(tk.Name), tk.ID, cmdutil.Clean(tk.Scope))
		_, err := fmt.Fprintln(w, cmdutil.Clean(tk.Token))
		return err
	})
}

// Revoke deletes one of the caller's tokens after confirmation.
func Revoke(ctx context.Context, opts *Options, arg string) error {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return cmdutil.UsageError(fmt.Sprintf("%q is not a token ID", arg), "see the IDs with `flytrap tokens list`")
	}
	c, err := opts.F.APIClient(opts.Host)
	if err != nil {
		return err
	}
	if err := opts.F.Confirm(ctx, opts.Yes, fmt.Sprintf("revoke token %d", id)); err != nil {
		return err
	}
	if err := c.DeleteToken(ctx, id); err != nil {
		return cmdutil.NotFound(err, "token", id, "flytrap tokens list")
	}
	fmt.Fprintf(opts.F.IO.ErrOut, "Revoked token %d.\n", id)
	return nil
}
