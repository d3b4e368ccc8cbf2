// Package client is a typed Go client of Flytrap's REST API v1 and its
// live stream, used by the CLI and the end-to-end tests.
//
// Answers decode into the wire types of internal/apitypes, which the
// server encodes too. A refusal is an *Error carrying the server's status
// and error code. 429 and 503 answers are retried after their Retry-After
// (the server was busy and did nothing), within limits, with an injected
// sleeper so tests do not wait.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// Client calls one Flytrap server with one token.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	sleep func(ctx context.Context, d time.Duration) error
	now   func() time.Time
	// retries is how many times a 429 or 503 is retried.
	retries int
	// maxWait is the longest Retry-After honoured; a longer one (a
	// throttled sign-in waits minutes) is returned as the error.
	maxWait time.Duration
	// changed, when set, is called on each success of a request that
	// may change something.
	changed func()
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through h (default: a client with a 30 s
// timeout). Whatever h's CheckRedirect, a redirect away from the server's
// origin is not followed (see RedirectError).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithSleeper makes retries wait through sleep, which returns early with
// ctx's error; tests pass one that records the waits.
func WithSleeper(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// WithClock sets the clock that HTTP-date Retry-After values are measured
// against.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithRetries sets how many times a 429 or 503 is retried (default 3) and
// the longest Retry-After waited for (default 10 s).
func WithRetries(n int, maxWait time.Duration) Option {
	return func(c *Client) { c.retries, c.maxWait = n, maxWait }
}

// WithChangeHook calls changed after each 2xx answer to a request that
// may change something (see Changes): the server has made a change,
// whatever happens to the answer next.
func WithChangeHook(changed func()) Option { return func(c *Client) { c.changed = changed } }

// New returns a client of the server at baseURL (scheme and host, and a
// path prefix if the server has one) authenticating with token; token may
// be empty for TokenLogin.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := ParseURL(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base: u, token: token,
		http:    &http.Client{Timeout: 30 * time.Second},
		sleep:   Sleep,
		now:     time.Now,
		retries: 3,
		maxWait: 10 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	c.http = Confine(c.http, u)
	return c, nil
}

// ParseURL checks that s is an http or https URL of a server and returns
// it without a trailing slash, query or fragment.
func ParseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not a server URL: give one like https://flytrap.example.com or http://127.0.0.1:8080", s)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u, nil
}

// BaseURL is the server's URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base.String() }

// Sleep waits d, or returns ctx's error when it ends first: the default
// sleeper of retries, and of a caller's reconnects.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Error is an error answer of the server.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the server's error code (apitypes.Code*); empty when the
	// answer was not Flytrap's JSON (a proxy's error page).
	Code string
	// Message is the server's message, meant for a person; without a
	// Code, what answered instead of Flytrap and what that may mean.
	Message string
	// RetryAfter is the server's Retry-After, zero without one.
	RetryAfter time.Duration
	// MergedInto is, for issue_merged, the issue the one asked about was
	// merged into.
	MergedInto int64
	// Merged is, for issue_merged of a bulk change or a merge, the issue
	// each merged ID it named was merged into, by that ID.
	Merged map[int64]int64
	// Project is, for unknown_release, the name of the project without
	// the release.
	Project string
	// Method is the request's method: whether it may change something;
	// empty for an Error made other than from an answer.
	Method string
	// Cut is, for an answer whose status line came whole and whose body
	// was then cut off (the connection closed mid-body), the read's
	// error; Code is then empty, as the body is not there to tell.
	Cut error
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	return e.Message
}

// IsGateway reports whether e is a proxy's answer for a server behind it
// that did not answer: a 502, 503 or 504 without Flytrap's JSON.
func (e *Error) IsGateway() bool { return e.Code == "" && gatewayStatus(e.Status) }

// Unknown reports whether e is a proxy's 502 or 504 to a request that
// may change something: the proxy passed it on and lost or never got the
// answer of the server behind it, which may have made the change.
// Repeating it blindly may make the change twice, as for an
// UnreachableError that is Unknown.
func (e *Error) Unknown() bool {
	return e.Method != "" && Changes(e.Method) && e.Code == "" && maybeForwarded(e.Status)
}

// maybeForwarded reports whether status, a proxy's answer without
// Flytrap's, may come after the proxy passed the request on: 502 Bad
// Gateway (the connection to the server failed, maybe after the
// request) or 504 Gateway Timeout (the server took too long). A 503 is
// the proxy's own refusal, with no server to pass the request to.
func maybeForwarded(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

// IsWrongURL reports whether e is the answer of something other than
// Flytrap's API at the URL asked: a 404 page without Flytrap's JSON, say,
// for a URL without the path a proxy serves Flytrap under. An answer cut
// off is not: its body, which would tell Flytrap's from another's, is
// lost, and its status then says what it says (a 404 not found, a 400 a
// refusal).
func (e *Error) IsWrongURL() bool { return e.Code == "" && e.Cut == nil && wrongURLStatus(e.Status) }

// HasCode reports whether err is an *Error with the code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// UnreachableError is a request that got no answer: the server is down,
// the address is wrong, or the network is; or a change the caller's
// context cancelled (Ctrl-C), whose Err is then context.Canceled.
type UnreachableError struct {
	URL string
	Err error
	// Method is the request's method: whether it may change something.
	Method string
	// Sent is set when the request's headers were written before the
	// failure: the server may have acted on it. Before that (a timeout
	// while connecting or in the TLS handshake) it got nothing.
	Sent bool
	// Applied is set when the server answered 2xx to a change and the
	// answer's body was then cut off: the change was made.
	Applied bool
	// Timeout is the client's timeout when it is what ended the wait;
	// zero for any other failure.
	Timeout time.Duration
}

func (e *UnreachableError) Error() string {
	if !Changes(e.Method) {
		return e.Reason()
	}
	switch {
	case e.Applied:
		return fmt.Sprintf("the server at %s made the change, but its answer was cut off: %v", e.URL, e.Err)
	case e.Sent:
		return e.Reason() + "; the change may or may not have been applied"
	}
	return e.Reason() + "; nothing was changed"
}

// Reason is what went wrong, without what it means for the change: for
// a caller that says that itself of several changes, one of which the
// request carried.
func (e *UnreachableError) Reason() string {
	if !Changes(e.Method) {
		return fmt.Sprintf("cannot reach %s: %v", e.URL, e.Err)
	}
	switch {
	case e.Applied:
		return fmt.Sprintf("the answer of the server at %s was cut off: %v", e.URL, e.Err)
	case e.Sent && errors.Is(e.Err, context.Canceled):
		return fmt.Sprintf("interrupted after the request was sent to %s", e.URL)
	case errors.Is(e.Err, context.Canceled):
		return fmt.Sprintf("interrupted before the request reached %s", e.URL)
	case e.Sent && e.Timeout > 0:
		return fmt.Sprintf("the server at %s did not answer within %s", e.URL, e.Timeout)
	case e.Sent:
		return fmt.Sprintf("the connection to %s failed after the request was sent (%v)", e.URL, e.Err)
	case e.Timeout > 0:
		return fmt.Sprintf("cannot reach %s: no connection within %s", e.URL, e.Timeout)
	}
	return fmt.Sprintf("cannot reach %s: %v", e.URL, e.Err)
}

// Unknown reports whether the request asked for a change and nobody can
// tell whether the server made it: it was sent and no answer came back.
// Repeating it blindly may make the change twice (a comment, a token).
func (e *UnreachableError) Unknown() bool { return Changes(e.Method) && e.Sent && !e.Applied }

// Changes reports whether a request of method may change something on
// the server: any method but GET, HEAD and OPTIONS.
func Changes(method string) bool {
	return method != http.MethodGet && method != http.MethodHead && method != http.MethodOptions
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// do sends a request and decodes a 2xx JSON answer into out (unless out is
// nil). query may be nil; body, when not nil, is sent as JSON.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	_, err := c.doStatus(ctx, method, path, query, body, out)
	return err
}

// doStatus is do that also returns the status of a 2xx answer: 200 and
// 201 tell an existing thing from a new one.
func (c *Client) doStatus(ctx context.Context, method, path string, query url.Values, body, out any) (int, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("client: encode %s %s: %w", method, path, err)
		}
	}
	u := *c.base
	// path is escaped (a release's version may hold a ? or a space):
	// RawPath keeps its escapes, which Path alone would escape again.
	decoded, err := url.PathUnescape(path)
	if err != nil {
		return 0, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	u.RawPath = u.EscapedPath() + path
	u.Path += decoded
	u.RawQuery = query.Encode()
	for attempt := 0; ; attempt++ {
		status, err := c.once(ctx, method, u.String(), payload, out)
		var e *Error
		if !errors.As(err, &e) || (e.Status != http.StatusTooManyRequests && e.Status != http.StatusServiceUnavailable) ||
			attempt >= c.retries || e.RetryAfter > c.maxWait {
			return status, err
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = time.Duration(1<<attempt) * 500 * time.Millisecond
		}
		if err := c.sleep(ctx, wait); err != nil {
			return 0, err
		}
	}
}

// maxAnswer bounds an answer read into memory; the API's largest (an
// event with its payload) is well below it.
const maxAnswer = 32 << 20

func (c *Client) once(ctx context.Context, method, u string, payload []byte, out any) (int, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "flytrap-cli")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// Whether the headers went out tells a change the server may have
	// made from one it never heard of, when no answer comes back.
	var sent atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteHeaders: func() { sent.Store(true) }}))
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// An interrupted change is unknown once sent, as one that
			// timed out is; a read interrupted is only that.
			if Changes(method) {
				return 0, c.unreachable(method, ctx.Err(), sent.Load(), false)
			}
			return 0, ctx.Err()
		}
		var re *RedirectError
		if errors.As(err, &re) {
			return 0, re
		}
		return 0, c.unreachable(method, err, sent.Load(), false)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil && resp.StatusCode >= 300 {
		// The status line came whole, so the answer is known whatever
		// became of its body: a refusal is one (see cutOff).
		e := answerError(resp, nil, c.now())
		e.Method, e.Cut = method, err
		e.Message = cutOff(method, req.URL, resp.StatusCode, err)
		return 0, e
	}
	if err != nil {
		applied := Changes(method)
		if applied && c.changed != nil {
			c.changed()
		}
		return 0, c.unreachable(method, err, true, applied)
	}
	if resp.StatusCode >= 300 {
		e := answerError(resp, raw, c.now())
		e.Method = method
		if e.Code == "" {
			e.Message = notFlytrap(method, req.URL, resp.StatusCode)
		}
		return 0, e
	}
	if c.changed != nil && Changes(method) {
		c.changed()
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return resp.StatusCode, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			// Not JSON at all: a page of another site, or the SPA a proxy
			// serves for any path, under a URL missing Flytrap's prefix.
			return 0, &NotFlytrapError{Msg: notFlytrap(method, req.URL, resp.StatusCode)}
		}
		return 0, fmt.Errorf("client: %s %s answered what is not Flytrap's JSON (is %s a Flytrap server?): %w", method, req.URL.Path, c.base, err)
	}
	return resp.StatusCode, nil
}

// unreachable is the *UnreachableError of a request of method that failed
// with err, sent or not, its change applied or not.
func (c *Client) unreachable(method string, err error, sent, applied bool) *UnreachableError {
	e := &UnreachableError{URL: c.base.String(), Err: err, Method: method, Sent: sent, Applied: applied}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		e.Timeout = c.http.Timeout
	}
	return e
}

// NotFlytrapError is a successful answer that is not JSON, which a Flytrap
// server never sends: the URL is another server's.
type NotFlytrapError struct{ Msg string }

func (e *NotFlytrapError) Error() string { return e.Msg }

// answerError is the *Error of a non-2xx answer.
func answerError(resp *http.Response, raw []byte, now time.Time) *Error {
	e := &Error{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), now)}
	var body apitypes.Error
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message, e.MergedInto, e.Merged, e.Project = body.Error.Code, body.Error.Message, body.Error.MergedInto, body.Error.Merged, body.Error.Project
	}
	return e
}

// notFlytrap is the message of an answer that is not Flytrap's JSON (an
// error page, or a page where JSON was due), which only a server other
// than Flytrap sends: the URL is wrong (another
// site, or a proxy's path without the prefix it serves Flytrap under), or a
// proxy answered for a Flytrap server behind it that is down. The URL
// shows the path asked, so a wrong prefix is there to see; the query is
// left out as it is no help.
func notFlytrap(method string, u *url.URL, status int) string {
	asked := *u
	asked.RawQuery, asked.User = "", nil
	const wrong = "not a Flytrap server, or not Flytrap's path on it"
	switch {
	case status < 300:
		return fmt.Sprintf("%s %s answered what is not JSON: %s", method, asked.String(), wrong)
	case wrongURLStatus(status):
		return fmt.Sprintf("%s %s answered HTTP %d %s without Flytrap's JSON: %s", method, asked.String(), status, http.StatusText(status), wrong)
	case Changes(method) && maybeForwarded(status):
		return fmt.Sprintf("%s %s answered HTTP %d %s without Flytrap's JSON: a proxy, which may have passed the request on to the Flytrap server behind it and got no answer; the change may or may not have been applied",
			method, asked.String(), status, http.StatusText(status))
	case gatewayStatus(status):
		return fmt.Sprintf("%s %s answered HTTP %d %s without Flytrap's JSON: a proxy, whose Flytrap server behind it is down or unreachable",
			method, asked.String(), status, http.StatusText(status))
	}
	// A proxy's 401, 403, 413 or 429 (an API gateway's, a firewall's)
	// means what it says about the request, not about the URL.
	return fmt.Sprintf("%s %s answered HTTP %d %s without Flytrap's JSON", method, asked.String(), status, http.StatusText(status))
}

// cutOff is the message of a non-2xx answer to a request of method whose
// body was cut off by err. Its status is the server's, or a proxy's,
// verdict: a 4xx refused the request, and a 500 or 503 did not make it
// (a proxy's 503 is its own, with no server to pass the request to;
// Flytrap's is a busy server that did nothing). Only a 502 or 504 may
// come from a proxy that passed the request on and lost the answer of
// the server behind it, which may have made the change; the body that
// would tell Flytrap's answer from a proxy's is what was lost.
func cutOff(method string, u *url.URL, status int, err error) string {
	asked := *u
	asked.RawQuery, asked.User = "", nil
	msg := fmt.Sprintf("%s %s answered HTTP %d %s, and its message was cut off (%v)", method, asked.String(), status, http.StatusText(status), err)
	switch {
	case !Changes(method):
		return msg
	case maybeForwarded(status):
		return msg + ": a proxy's answer maybe, after passing the request on to the Flytrap server behind it; the change may or may not have been applied"
	case status < 500:
		return msg + ": the server refused the change, which was not made"
	}
	return msg + ": the change was not made"
}

// wrongURLStatus reports whether status, of an answer that is not
// Flytrap's JSON, says the URL leads elsewhere than Flytrap's API: a
// redirect not followed, 400 (such as plain HTTP to an HTTPS port), 404,
// 405 or 501.
func wrongURLStatus(status int) bool {
	return status < 400 || status == http.StatusBadRequest || status == http.StatusNotFound ||
		status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented
}

// gatewayStatus reports whether status is what a proxy answers when the
// server behind it does not: 502 Bad Gateway, 503 Service Unavailable or
// 504 Gateway Timeout.
func gatewayStatus(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(h); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
