package client

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// RedirectError is a redirect that was not followed because it leaves the
// origin (scheme, host and port) of the URL the user gave. Go's client
// would send the Authorization header along to another port or scheme of
// the same host, or to a subdomain, and a 307 or 308 would carry a login's
// password too: https redirected to http would put them on the wire in
// clear text.
type RedirectError struct {
	// From is the URL asked, To where the answer pointed, Origin the
	// origin of the URL the user gave.
	From, To, Origin string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s redirected to %s, which is not %s: not followed, so the token and password are sent only where you pointed",
		e.From, e.To, e.Origin)
}

// Origin is u's scheme, lower-case host and port, the port spelled out
// when it is the scheme's default, so that https://h and https://h:443
// are one origin and http://h another. A token for one origin goes to no
// other: another port of the same host can be another server.
func Origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = DefaultPort(u.Scheme)
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// DefaultPort is the port a URL of scheme names when it names none: 80
// for http, 443 for https, "" for any other scheme.
func DefaultPort(scheme string) string {
	return map[string]string{"http": "80", "https": "443"}[strings.ToLower(scheme)]
}

// stayAt is an http.Client CheckRedirect that follows redirects only within
// base's origin (a trailing slash added, say) and at most 10 of them;
// anything else ends the request with a *RedirectError.
func stayAt(base *url.URL) func(req *http.Request, via []*http.Request) error {
	want := Origin(base)
	return func(req *http.Request, via []*http.Request) error {
		if Origin(req.URL) != want {
			return &RedirectError{From: shown(via[len(via)-1].URL), To: shown(req.URL), Origin: want}
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// shown is u as an error names it: without credentials or query, which
// may hold a secret and do not help.
func shown(u *url.URL) string {
	s := *u
	s.User, s.RawQuery, s.ForceQuery = nil, "", false
	return s.String()
}

// Confine returns a copy of h that does not follow a redirect away from
// base's origin (it ends the request with a *RedirectError), keeping any
// CheckRedirect h has for the redirects it lets through. Every client the
// CLI sends a token or password with goes through it.
func Confine(h *http.Client, base *url.URL) *http.Client {
	c := *h
	stay, inner := stayAt(base), h.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := stay(req, via); err != nil || inner == nil {
			return err
		}
		return inner(req, via)
	}
	return &c
}
