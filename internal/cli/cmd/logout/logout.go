// Package logout implements `flytrap logout`.
package logout

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/cli/hosts"
)

// Options are the inputs of `flytrap logout`.
type Options struct {
	F   *cmdutil.Factory
	URL string
}

// NewCmd returns the logout command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{F: f}
	return &cobra.Command{
		Use:   "logout [URL]",
		Short: "Revoke the token of a server and forget it",
		Long: `Revoke the token login created for the server at URL (default: the default
server) and remove it from hosts.json. A token given with --token or
--with-token is only forgotten, not revoked: it was made elsewhere.`,
		Example: `  flytrap logout
  flytrap logout https://flytrap.example.com`,
		Args: cobra.MaximumNArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			_, cfg, err := f.Hosts()
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return cfg.URLs(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.URL = args[0]
			}
			return Run(cmd.Context(), opts)
		},
	}
}

// Run logs out.
func Run(ctx context.Context, opts *Options) error {
	f := opts.F
	dir, cfg, err := f.Hosts()
	if err != nil {
		return err
	}
	url := hosts.Normalize(opts.URL)
	if url == "" {
		url = cfg.Default
	}
	h, ok := cfg.Hosts[url]
	if !ok {
		return notLoggedIn(url, cfg.URLs())
	}
	f.RevokeLoginToken(ctx, url, h)
	delete(cfg.Hosts, url)
	if cfg.Default == url {
		cfg.Default = ""
		if urls := cfg.URLs(); len(urls) > 0 {
			cfg.Default = urls[0]
		}
	}
	if err := cfg.Save(dir); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Logged out of %s.\n", url)
	return nil
}

// notLoggedIn is the error of logging out of a server hosts.json does not
// hold. As with `gh auth logout`, it is a failure (exit 1), so a script
// learns that no token was revoked; the message says what there is to log
// out of instead of quoting an empty URL.
func notLoggedIn(url string, known []string) error {
	switch {
	case len(known) == 0:
		return &cmdutil.Error{Msg: "not logged in to any Flytrap server; nothing to log out of"}
	case url == "":
		return &cmdutil.Error{Msg: "no default server to log out of",
			Hint: "logged in to " + strings.Join(known, ", ") + "; name one: flytrap logout URL"}
	}
	return &cmdutil.Error{Msg: "not logged in to " + cmdutil.Clean(url),
		Hint: "logged in to " + strings.Join(known, ", ") + "; name one: flytrap logout URL"}
}
