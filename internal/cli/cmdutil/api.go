package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/hosts"
	"github.com/getflytrap/flytrap/internal/client"
)

// Exit codes of the commands that talk to a server.
const (
	// ExitUnreachable: no answer from the server.
	ExitUnreachable = 3
	// ExitAuth: no, a wrong or an expired token.
	ExitAuth = 4
	// ExitForbidden: the token's owner may not do this (not an admin, a
	// read-only token).
	ExitForbidden = 5
	// ExitNotFound: no such project, issue, user or token (or not visible).
	ExitNotFound = 6
)

// HostsDir is the CLI's config directory (hosts.json).
func (f *Factory) HostsDir() (string, error) { return hosts.Dir(f.Getenv) }

// Hosts loads hosts.json and returns it with the directory to save it in.
func (f *Factory) Hosts() (string, *hosts.Config, error) {
	dir, err := f.HostsDir()
	if err != nil {
		return "", nil, err
	}
	cfg, err := hosts.Load(dir)
	if err != nil {
		return "", nil, err
	}
	if len(cfg.Dropped) > 0 {
		f.writeBackMerged(dir, cfg)
	}
	return dir, cfg, nil
}

// writeBackMerged saves a hosts.json Load merged two spellings of a server
// in, so that the file holds the one token every later command uses, and
// names each token left out: one login made is still valid on the server
// until revoked.
func (f *Factory) writeBackMerged(dir string, cfg *hosts.Config) {
	for _, d := range cfg.Dropped {
		revoke := ""
		if d.Host.TokenID != 0 {
			revoke = fmt.Sprintf("; it is still valid on the server: revoke it with `flytrap tokens revoke %d --host %s`", d.Host.TokenID, d.URL)
		}
		fmt.Fprintf(f.IO.ErrOut, "warning: %s held %s also as %s; kept the token added %s and dropped the one added %s%s\n",
			hosts.FileName, Clean(d.URL), Clean(d.Spelling), cfg.Hosts[d.URL].Added.UTC().Format(time.RFC3339), d.Host.Added.UTC().Format(time.RFC3339), revoke)
	}
	if err := cfg.Save(dir); err != nil {
		fmt.Fprintf(f.IO.ErrOut, "warning: could not write the merged %s back: %v\n", hosts.FileName, err)
	}
}

// RecordDeployedURL remembers url, the dashboard `flytrap deploy` just
// deployed, as the server `flytrap login` offers by default.
func (f *Factory) RecordDeployedURL(url string) error {
	dir, cfg, err := f.Hosts()
	if err != nil {
		return err
	}
	cfg.Deployed = hosts.Normalize(url)
	return cfg.Save(dir)
}

// APIClient returns a client of the server a command talks to: --host
// (flagHost), else FLYTRAP_URL, else the last one logged in to; with
// FLYTRAP_TOKEN or the stored token.
func (f *Factory) APIClient(flagHost string) (*client.Client, error) {
	_, cfg, err := f.Hosts()
	if err != nil {
		return nil, err
	}
	t, err := cfg.Resolve(flagHost, f.Getenv)
	var ue *hosts.URLError
	switch {
	case errors.As(err, &ue):
		return nil, UsageError(err.Error(), "fix the URL in "+ue.From)
	case err != nil:
		return nil, &Error{Msg: err.Error(), Code: ExitAuth}
	}
	c, err := client.New(t.URL, t.Token, f.clientOptions()...)
	if err != nil {
		return nil, UsageError(err.Error(), "fix the URL in "+t.URLFrom)
	}
	return c, nil
}

// RevokeLoginToken revokes the token `flytrap login` made and kept as h
// for the server at url, authenticating with that token itself. A token
// given with --token (no TokenID) was made elsewhere and is left alone. One
// the server no longer knows is already gone; any other failure is a
// warning naming how to revoke it by hand, since forgetting the token
// must not fail the command.
func (f *Factory) RevokeLoginToken(ctx context.Context, url string, h hosts.Host) {
	if h.TokenID == 0 {
		return
	}
	c, err := f.NewClient(url, h.Token)
	if err == nil {
		err = c.DeleteToken(ctx, h.TokenID)
	}
	if err != nil && !client.HasCode(err, "not_found") && !client.HasCode(err, "unauthorized") {
		fmt.Fprintf(f.IO.ErrOut, "warning: the token stays valid on the server (%v); revoke it with `flytrap tokens revoke %d` or in the dashboard\n", err, h.TokenID)
	}
}

// NewClient is a client of url with token, for login.
func (f *Factory) NewClient(url, token string) (*client.Client, error) {
	c, err := client.New(url, token, f.clientOptions()...)
	if err != nil {
		return nil, UsageError(err.Error(), "")
	}
	return c, nil
}

func (f *Factory) clientOptions() []client.Option {
	opts := []client.Option{client.WithChangeHook(func() { f.changed.Store(true) })}
	if f.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(f.HTTPClient))
	}
	return opts
}

// wrongURLHint is the hint of an answer that is not Flytrap's.
const wrongURLHint = "check the URL (flytrap login URL, or FLYTRAP_URL): a Flytrap server behind a proxy under a path is that path, such as https://example.com/flytrap"

// apiExit maps the client's errors to exit codes and hints; ExitCode
// calls it.
func apiExit(err error) (int, string, bool) {
	var (
		ce *client.Error
		ue *client.UnreachableError
		ne *client.NotFlytrapError
		re *client.RedirectError
		ch *changeError
	)
	switch {
	case changeUnknown(err):
		applied, _ := changeOutcome(err)
		check := ""
		if errors.As(err, &ch) {
			check = ch.check
		}
		return ExitUnreachable, changeHint(applied, check), true
	case errors.As(err, &re):
		return ExitUnreachable, "if the server moved and you trust where it points, give that URL instead (flytrap login URL, or FLYTRAP_URL)", true
	case errors.As(err, &ne):
		return ExitUnreachable, wrongURLHint, true
	case errors.As(err, &ue):
		return ExitUnreachable, "check that the server is running and the URL is right (flytrap login URL, or FLYTRAP_URL)", true
	case errors.As(err, &ce):
		switch {
		// Not Flytrap's answer: a 404 for a path without the proxy's
		// prefix is about the URL, not about a project or an issue, and a
		// proxy's 502 about the server behind it. A 401, 403 or 429 of a
		// proxy still means what it says.
		case ce.IsWrongURL():
			return ExitUnreachable, wrongURLHint, true
		case ce.IsGateway():
			return ExitUnreachable, "check that Flytrap is running behind the proxy, and that the proxy reaches it", true
		case ce.Status == http.StatusUnauthorized:
			return ExitAuth, "run `flytrap login` again, or check FLYTRAP_TOKEN", true
		case ce.Code == apitypes.CodeReadOnly:
			return ExitForbidden, "log in with a full token: flytrap login --scope full", true
		case ce.Code == apitypes.CodePassword:
			return ExitAuth, "check your password; without a terminal, pipe it in with --password-stdin", true
		case ce.Status == http.StatusForbidden:
			// The server's message says whose role it takes: a project's
			// admin or a server admin.
			return ExitForbidden, "", true
		case ce.Status == http.StatusNotFound:
			return ExitNotFound, "list what you can see with the matching `list` command", true
		case ce.Status == http.StatusTooManyRequests && ce.RetryAfter > 0:
			return ExitError, fmt.Sprintf("wait %s and try again", ce.RetryAfter), true
		}
		return ExitError, "", true
	}
	return 0, "", false
}

// ReadPassword reads a password from the terminal In without echoing it.
func (s *IOStreams) ReadPassword(prompt string) (string, error) {
	fmt.Fprint(s.ErrOut, prompt)
	fd, ok := fdOf(s.In)
	if !ok {
		return "", UsageError("cannot read a password without a terminal", "pipe it in with --with-token or --password-stdin")
	}
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(s.ErrOut)
	return string(b), err
}

// NotFound names what a 404 of the server was about: what and id ("issue",
// 999) and the command that lists them (list); any other error is returned
// as it is. The server's own message, "not found", does not say what.
func NotFound(err error, what string, id int64, list string) error {
	if !client.HasCode(err, apitypes.CodeNotFound) {
		return err
	}
	return &Error{Msg: fmt.Sprintf("%s %d not found", what, id), Hint: "list them with `" + list + "`", Code: ExitNotFound}
}
