// Package login implements `flytrap login`: get a token for a server and
// keep it in the user's config directory.
package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	neturl "net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/cli/hosts"
	"github.com/getflytrap/flytrap/internal/client"
)

// Options are the inputs of `flytrap login`.
type Options struct {
	F *cmdutil.Factory

	URL       string
	Token     string
	WithToken bool
	// TokenFrom names where Token came from when no flag gave it, for
	// the message that says whom the login is as.
	TokenFrom     string
	Email         string
	PasswordStdin bool
	Scope         string
	Expires       string
	Name          string
	// Now is the clock --expires counts from.
	Now func() time.Time
}

// passwordFlags are the flags of a password login, which makes a token
// (--scope, --expires and --name shape it): given any of them, login
// does not keep FLYTRAP_TOKEN.
var passwordFlags = []string{"email", "password-stdin", "scope", "expires", "name"}

// NewCmd returns the login command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "login [URL]",
		Short: "Log in to a Flytrap server and keep its token",
		Long: `Log in to the Flytrap server at URL (default: the dashboard of the last
flytrap deploy, else the server logged in to last) and keep the token in
hosts.json in your config directory (mode 0600). Several servers may be logged
in to at once; the last one is the default for other commands.

On a terminal, login asks for your email and password and exchanges them for a
new API token named after this machine. Without one, pass --email and the
password on standard input with --password-stdin, or an existing token with
--with-token or --token - (read from standard input), or FLYTRAP_TOKEN; --token
TOKEN works too, but other users of this machine can read it in the process list.
The token is checked with GET /api/v1/me before it is kept.

FLYTRAP_URL and FLYTRAP_TOKEN override hosts.json for every command, so CI needs
no login.`,
		Example: `  flytrap login http://127.0.0.1:8080
  flytrap login https://flytrap.example.com --with-token < token.txt
  FLYTRAP_TOKEN=flyt_... flytrap login https://flytrap.example.com
  printf '%s\n' "$PASSWORD" | flytrap login URL --email ada@example.com --password-stdin --scope read --expires 30d`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.URL = args[0]
			}
			// FLYTRAP_TOKEN, which every other command reads, is the token
			// to keep unless the flags ask for another one or a password
			// login (whose token --scope, --expires and --name shape).
			if !opts.WithToken && opts.Token == "" && !slices.ContainsFunc(passwordFlags, cmd.Flags().Changed) {
				if opts.Token = f.Getenv("FLYTRAP_TOKEN"); opts.Token != "" {
					opts.TokenFrom = "FLYTRAP_TOKEN"
				}
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Token, "token", "", "use this API token instead of a password (other local users can see it in the process list: prefer --with-token, --token - or FLYTRAP_TOKEN)")
	cmdutil.EnvDefault(fl, "token", "FLYTRAP_TOKEN")
	fl.BoolVar(&opts.WithToken, "with-token", false, "read the API token from standard input (as --token - does)")
	fl.StringVar(&opts.Email, "email", "", "email address to log in with (asked on a terminal)")
	fl.BoolVar(&opts.PasswordStdin, "password-stdin", false, "read the password from standard input")
	fl.StringVar(&opts.Scope, "scope", apitypes.ScopeFull, `scope of the new token: "full" or "read" (read-only)`)
	fl.StringVar(&opts.Expires, "expires", "", "lifetime of the new token, such as 30d or 12h (default: never)")
	fl.StringVar(&opts.Name, "name", "", `name of the new token (default "flytrap CLI on <hostname>")`)
	// Another way to log in given, FLYTRAP_TOKEN is not read, and so
	// not checked either.
	cmdutil.EnvUnless(fl, "token", append([]string{"with-token"}, passwordFlags...)...)
	cmdutil.MutuallyExclusive(cmd, "give the token one way: --token TOKEN, or --with-token to read it from standard input", "token", "with-token")
	for _, given := range []string{"token", "with-token"} {
		for _, password := range []string{"email", "password-stdin"} {
			cmdutil.MutuallyExclusive(cmd, "log in with a token (--token, --with-token) or with a password (--email, --password-stdin), not both", given, password)
		}
		// These describe the token a password login makes; with a token
		// given they would be ignored, and a --scope read silently
		// dropped leaves a full token where the user asked for a
		// read-only one.
		for _, made := range []string{"scope", "expires", "name"} {
			cmdutil.MutuallyExclusive(cmd, "--scope, --expires and --name shape the token a password login makes; a token you give keeps its own (make a read-only one with `flytrap tokens create NAME --scope read`)", given, made)
		}
	}
	return cmd
}

// Run logs in.
func Run(ctx context.Context, opts *Options) error {
	// Only a password login makes a token; a given one keeps its scope.
	if opts.Token == "" && !opts.WithToken {
		if err := cmdutil.CheckScope(opts.Scope); err != nil {
			return err
		}
	}
	f := opts.F
	dir, cfg, err := f.Hosts()
	if err != nil {
		return err
	}
	// Before a password login makes a token that could not be kept.
	if err := hosts.CheckDir(dir); err != nil {
		return err
	}
	url, err := serverURL(ctx, opts, cfg)
	if err != nil {
		return err
	}
	warnPlainHTTP(f.IO.ErrOut, url)
	var h hosts.Host
	switch {
	case opts.Token == "-":
		// A token kept out of the process list, as --with-token reads it.
		if h.Token, err = cmdutil.ReadSecretLine(f.IO.In, "--token -"); err != nil {
			return err
		}
	case opts.Token != "":
		h.Token = opts.Token
	case opts.WithToken:
		if h.Token, err = cmdutil.ReadSecretLine(f.IO.In, "--with-token"); err != nil {
			return err
		}
	default:
		if h, err = passwordLogin(ctx, opts, url); err != nil {
			return err
		}
	}
	c, err := f.NewClient(url, h.Token)
	if err != nil {
		return err
	}
	me, err := c.Me(ctx)
	if err != nil {
		return fmt.Errorf("checking the token with %s/api/v1/me: %w", url, err)
	}
	h.User, h.Added = me.Email, opts.Now().UTC()
	replaced, had := cfg.Hosts[url]
	cfg.Hosts[url] = h
	cfg.Default = url
	if err := cfg.Save(dir); err != nil {
		return err
	}
	// The token this login replaces would otherwise stay valid with nobody
	// holding it. It is revoked only once the new one is kept, so a failure
	// here never leaves the user logged out.
	if had && replaced.Token != h.Token {
		f.RevokeLoginToken(ctx, url, replaced)
	}
	with := ""
	if opts.TokenFrom != "" {
		with = " with the token in " + opts.TokenFrom
	}
	fmt.Fprintf(f.IO.ErrOut, "Logged in to %s as %s (%s)%s.\n", url, cmdutil.Clean(me.Email), cmdutil.Clean(me.Role), with)
	return nil
}

// serverURL is the URL argument, else the deployed dashboard, else the
// default server, asked for on a terminal.
func serverURL(ctx context.Context, opts *Options, cfg *hosts.Config) (string, error) {
	def := cfg.Deployed
	if def == "" {
		def = cfg.Default
	}
	u := opts.URL
	if u == "" && opts.F.IO.Interactive() && !opts.WithToken && opts.Token != "-" && !opts.PasswordStdin {
		lr := &cmdutil.LineReader{In: opts.F.IO.In, Out: opts.F.IO.ErrOut, Flag: "the URL argument"}
		prompt := "Flytrap server URL: "
		if def != "" {
			prompt = "Flytrap server URL [" + def + "]: "
		}
		var err error
		if u, err = lr.Line(ctx, prompt); err != nil {
			return "", err
		}
	}
	if u == "" {
		u = def
	}
	if u == "" {
		return "", cmdutil.UsageError("which server? no URL given and none deployed or logged in to", "run `flytrap login http://127.0.0.1:8080` (flytrap dev) or your dashboard's URL")
	}
	if _, err := client.ParseURL(u); err != nil {
		return "", cmdutil.UsageError(err.Error(), "")
	}
	return hosts.Normalize(u), nil
}

// warnPlainHTTP warns, before any credential is sent, when url is plain
// HTTP to another machine (an AWS deployment with plain_http, flytrap dev
// on 0.0.0.0): the password, and the token with every later command,
// cross the network unencrypted, which the dashboard's red banner says of
// its sign-in page and which the CLI otherwise kept quiet about. A
// loopback address or localhost does not leave the machine.
func warnPlainHTTP(w io.Writer, raw string) {
	u, err := neturl.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return
	}
	if ip, err := netip.ParseAddr(host); err == nil && ip.Unmap().IsLoopback() {
		return
	}
	fmt.Fprintf(w, "warning: %s is plain HTTP: your password and the API token cross the network unencrypted; use the server's https:// URL\n", raw)
}

// passwordLogin exchanges an email and password for a new token.
func passwordLogin(ctx context.Context, opts *Options, url string) (hosts.Host, error) {
	f := opts.F
	req := apitypes.TokenLogin{Email: opts.Email, NewToken: apitypes.NewToken{Name: opts.Name, Scope: opts.Scope}}
	if req.Name == "" {
		host, _ := os.Hostname()
		req.Name = strings.TrimSpace("flytrap CLI on " + host)
	}
	var err error
	if req.ExpiresAt, err = cmdutil.Lifetime(opts.Expires, opts.Now()); err != nil {
		return hosts.Host{}, err
	}
	interactive := f.IO.Interactive() && !opts.PasswordStdin
	if req.Email == "" {
		if !interactive {
			return hosts.Host{}, cmdutil.UsageError("no terminal to ask for your email on", "pass --email with --password-stdin, or --with-token, or set FLYTRAP_TOKEN")
		}
		lr := &cmdutil.LineReader{In: f.IO.In, Out: f.IO.ErrOut, Flag: "--email"}
		var err error
		if req.Email, err = lr.Line(ctx, "Email: "); err != nil {
			return hosts.Host{}, err
		}
	}
	if opts.PasswordStdin {
		req.Password, err = cmdutil.ReadSecretLine(f.IO.In, "--password-stdin")
	} else if interactive {
		req.Password, err = f.IO.ReadPassword("Password: ")
	} else {
		err = cmdutil.UsageError("no terminal to ask for your password on", "pipe it in with --password-stdin")
	}
	if err != nil {
		return hosts.Host{}, err
	}
	c, err := f.NewClient(url, "")
	if err != nil {
		return hosts.Host{}, err
	}
	t, err := c.TokenLogin(ctx, req)
	var ce *client.Error
	if errors.As(err, &ce) && ce.Status == http.StatusUnauthorized {
		// The usual hint of a 401 names the stored token and
		// FLYTRAP_TOKEN, which a password login does not use.
		return hosts.Host{}, &cmdutil.Error{Msg: "logging in to " + url, Err: err, Code: cmdutil.ExitAuth,
			Hint: "check the email and password: the first admin's is the one `flytrap dev` printed on first start (or FLYTRAP_ADMIN_PASSWORD), a new user's the one `flytrap users add` printed"}
	}
	if err != nil {
		return hosts.Host{}, fmt.Errorf("logging in to %s: %w", url, err)
	}
	return hosts.Host{Token: t.Token, TokenID: t.ID}, nil
}
