package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Webhook headers. The signature covers the timestamp and the body, so a
// captured request cannot be replayed later with a fresh timestamp;
// receivers refuse timestamps older than a few minutes.
const (
	// HeaderSignature is "v1=" and the hex HMAC-SHA256, keyed with the
	// channel's secret, of SignedContent(timestamp, body).
	HeaderSignature = "X-Flytrap-Signature"
	// HeaderTimestamp is the Unix time of the send, in seconds.
	HeaderTimestamp = "X-Flytrap-Timestamp"
	// HeaderIdempotencyKey is the same for every send of one
	// notification to one channel.
	HeaderIdempotencyKey = "Idempotency-Key"
)

// SignedContent is what a webhook's signature covers: the timestamp, a
// dot, and the body.
func SignedContent(timestamp string, body []byte) []byte {
	return append([]byte(timestamp+"."), body...)
}

// Sign returns the HeaderSignature value of body sent at timestamp.
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(SignedContent(timestamp, body))
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// permanent marks an error that no retry fixes (a 4xx answer, a deleted
// channel): the notification goes dead at once.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// post sends body to url as JSON with headers, and maps the answer: 2xx
// is sent; 408, 429 and 5xx are retried; every other answer is permanent,
// redirects included, which the client does not follow (newHTTPClient).
// The error, which every member of the project sees, names the host and
// the status and not the body: a receiver on a private network (allowed
// with AllowPrivate) could otherwise be read by any project admin through
// it. Only with errorCodes (Slack, whose host is fixed) does it add a body
// that is one plain-text error code, such as "invalid_token". The first
// bytes of the body go to the operator's log.
func post(ctx context.Context, client *http.Client, url string, body []byte, headers map[string]string, errorCodes bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return permanent{fmt.Errorf("bad URL: %w", redactURL(err))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Flytrap-Alerts/1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		se := &sendError{msg: "POST " + HostURL(url) + ": " + transportReason(req.URL.Host, err), err: redactURL(err)}
		if errors.Is(err, ErrPrivateAddress) {
			// No retry reaches another address: the URL must change.
			return permanent{se}
		}
		return se
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerLog))
	answer := redactAnswer(string(raw), req.URL)
	se := &sendError{msg: fmt.Sprintf("%s answered %s", req.URL.Host, resp.Status), err: errors.New("the answer had no body")}
	if answer != "" {
		se.err = fmt.Errorf("the answer began %q", answer)
	}
	if code := errorCode(answer); code != "" && errorCodes {
		se.msg += ": " + code
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		se.msg += ", a redirect, which alerts do not follow: set the channel's URL to the final one"
		if loc := resp.Header.Get("Location"); loc != "" {
			se.msg += " (" + HostURL(location(req.URL, loc)) + ")"
		}
		return permanent{se}
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return se
	}
	return permanent{se}
}

// maxAnswerLog bounds the part of a failed delivery's answer that goes to
// the operator's log.
const maxAnswerLog = 200

// errorCode returns answer, trimmed, when it is a lone error code as Slack
// answers them ("invalid_payload", "channel_not_found"), else "".
func errorCode(answer string) string {
	answer = strings.TrimSpace(answer)
	if answer == "" || len(answer) > 64 {
		return ""
	}
	for _, r := range answer {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '_' {
			return ""
		}
	}
	return answer
}

// sendError is a failed send: Error is what the project's members see as
// the delivery's last error, a category with what to check; err is for
// the operator's log only. Before any answer it is net/http's error, which
// names what the server's network looks like (its resolver's address,
// which addresses answer, refuse or drop) and would make every project
// admin a prober of it; after one, the start of the answer's body.
type sendError struct {
	msg string
	err error
}

func (e *sendError) Error() string { return e.msg }
func (e *sendError) Unwrap() error { return e.err }

// plainHTTPAnswer is net/http's error for an https:// URL whose port
// answers plain HTTP, a usual slip when adding a webhook. It replaces the
// TLS record error without wrapping it, so only its text tells it apart.
const plainHTTPAnswer = "server gave HTTP response to HTTPS client"

// transportReason is the category of a send that got no answer, without
// any address the server resolved or dialled: host is the URL's, which
// the admin typed. Refused and timed out stay apart (see docs/alerts.md,
// "Delivery errors"): they call for different fixes, and the egress check
// keeps the difference to public addresses, which anyone can probe.
func transportReason(host string, err error) string {
	var (
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		alertErr tls.AlertError
		recErr   tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, ErrPrivateAddress):
		h, _, splitErr := net.SplitHostPort(host)
		if splitErr != nil {
			h = host
		}
		what := "the address " + h + " resolves to"
		if _, ipErr := netip.ParseAddr(strings.Trim(h, "[]")); ipErr == nil {
			what = h
		}
		return fmt.Sprintf("refused: %s is not a public address: alerts are not posted to private networks (set %s=1 on the server to allow it)", what, EnvAllowPrivate)
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return "could not resolve the host name: check its spelling"
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		return "timed out resolving the host name"
	case errors.As(err, &dnsErr):
		return "could not resolve the host name: the name server failed, it is retried"
	case errors.As(err, &unknown), errors.As(err, &certErr) && errors.As(certErr.Err, &unknown):
		return "TLS handshake failed: the receiver's certificate is not signed by a trusted authority"
	case errors.As(err, &hostErr):
		return "TLS handshake failed: the receiver's certificate is not valid for its host name"
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return "TLS handshake failed: the receiver's certificate has expired or is not yet valid"
	case strings.Contains(err.Error(), plainHTTPAnswer):
		return "TLS handshake failed: the receiver answers plain HTTP on this port: use http:// or its TLS port"
	case errors.As(err, &certErr), errors.As(err, &invalid), errors.As(err, &alertErr), errors.As(err, &recErr):
		return "TLS handshake failed"
	case errors.Is(err, context.Canceled):
		return "interrupted: the server stopped during the send, it is retried"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "timed out: the receiver did not answer in time"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused: nothing listens on the host's port"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the receiver closed the connection without answering"
	}
	return "connection failed"
}

// isTimeout reports a net.Error that timed out, as http.Client's own
// timeout is.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// ShortURL is u's scheme, host and first path segment, then "/…": what
// the project's admins see of a channel's URL, enough to tell receivers on
// one host apart. Slack's and many webhooks' URLs carry a token, in the
// first segment for some (webhook.site/<uuid>, hook.eu1.make.com/<token>),
// so a segment of tokenLen characters or more is cut to its first
// tokenPrefix and "…": nobody but the channel's creator, who saw it once,
// can rebuild a usable URL from a listing. Members who are not admins see
// HostURL.
func ShortURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	first, rest, _ := strings.Cut(strings.TrimPrefix(p.Path, "/"), "/")
	if r := []rune(first); len(r) >= tokenLen {
		first = string(r[:tokenPrefix]) + "…"
	}
	out := p.Scheme + "://" + p.Host + "/" + first
	if rest != "" || p.RawQuery != "" {
		out += "/…"
	}
	return out
}

// A first path segment of tokenLen characters or more may be a token
// (a UUID is 36, Make's tokens 32), and ShortURL shows only its first
// tokenPrefix; shorter ones are words such as "services" or "T123".
const (
	tokenLen    = 16
	tokenPrefix = 4
)

// HostURL is u's scheme and host, then "/…" when u has a path or query:
// all of a channel's URL that every member of the project may see,
// because no path segment is safe to show when any may be a token.
func HostURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	out := p.Scheme + "://" + p.Host
	if strings.TrimPrefix(p.Path, "/") != "" || p.RawQuery != "" {
		out += "/…"
	}
	return out
}

// redactURL shortens the URL a *url.Error quotes (net/http's errors quote
// the whole request URL, token included) with HostURL. Delivery errors
// are stored and shown to every member of the project.
func redactURL(err error) error {
	// net/http returns them unwrapped, from url.Parse and Client.Do.
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	short := *ue
	short.URL = HostURL(ue.URL)
	return &short
}

// minSecretLen is the length from which a path segment or query value of
// a channel's URL is taken for a token and cut from a receiver's answer:
// tokens are longer (a UUID is 36), and cutting a short word like "hooks"
// would only garble the message.
const minSecretLen = 8

// redactAnswer cuts from s, part of a receiver's answer that is stored as
// the delivery error, every path segment and query value of u: a receiver
// may echo the URL it was sent to ("no such hook <token>"), and members
// who are not admins must not see it.
func redactAnswer(s string, u *url.URL) string {
	var parts []string
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		parts = append(parts, seg)
		if un, err := url.PathUnescape(seg); err == nil {
			parts = append(parts, un)
		}
	}
	for _, vs := range u.Query() {
		parts = append(parts, vs...)
	}
	parts = append(parts, strings.Split(u.RawQuery, "&")...)
	for _, p := range parts {
		if len(p) >= minSecretLen {
			s = strings.ReplaceAll(s, p, "…")
		}
	}
	return s
}

// location resolves a redirect's Location against the URL it answered.
func location(base *url.URL, loc string) string {
	u, err := base.Parse(loc)
	if err != nil {
		return ""
	}
	return u.String()
}

// sendWebhook posts m's JSON to url, signed with secret at now.
func sendWebhook(ctx context.Context, client *http.Client, url, secret string, m Message, now time.Time) error {
	body, err := webhookBody(m)
	if err != nil {
		return permanent{err}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	return post(ctx, client, url, body, map[string]string{
		HeaderTimestamp:      ts,
		HeaderSignature:      Sign(secret, ts, body),
		HeaderIdempotencyKey: m.Key,
	}, false)
}

// sendSlack posts m's Block Kit message to a Slack incoming webhook.
func sendSlack(ctx context.Context, client *http.Client, url string, m Message) error {
	body, err := slackBody(m)
	if err != nil {
		return permanent{err}
	}
	return post(ctx, client, url, body, nil, true)
}
