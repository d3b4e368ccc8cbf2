package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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
// is sent; 408, 429 and 5xx are retried; other 4xx and the redirects that
// lose the body (301, 302, 303) are permanent.
func post(ctx context.Context, client *http.Client, url string, body []byte, headers map[string]string) error {
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
	err = redactURL(err)
	if errors.Is(err, ErrPrivateAddress) {
		// No retry reaches another address: the URL must change.
		return permanent{err}
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	snippet := redactAnswer(string(raw), req.URL)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusMovedPermanently, resp.StatusCode == http.StatusFound, resp.StatusCode == http.StatusSeeOther:
		return permanent{fmt.Errorf("%s answered %s, a redirect that would turn the POST into a GET without the alert: set the channel's URL to the final one (%s)",
			req.URL.Host, resp.Status, HostURL(location(req.URL, resp.Header.Get("Location"))))}
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("%s answered %s: %s", req.URL.Host, resp.Status, oneLine(snippet, 200))
	}
	return permanent{fmt.Errorf("%s answered %s: %s", req.URL.Host, resp.Status, oneLine(snippet, 200))}
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
	})
}

// sendSlack posts m's Block Kit message to a Slack incoming webhook.
func sendSlack(ctx context.Context, client *http.Client, url string, m Message) error {
	body, err := slackBody(m)
	if err != nil {
		return permanent{err}
	}
	return post(ctx, client, url, body, nil)
}
