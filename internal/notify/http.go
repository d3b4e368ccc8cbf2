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
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusMovedPermanently, resp.StatusCode == http.StatusFound, resp.StatusCode == http.StatusSeeOther:
		return permanent{fmt.Errorf("%s answered %s, a redirect that would turn the POST into a GET without the alert: set the channel's URL to the final one (%s)",
			req.URL.Host, resp.Status, ShortURL(resp.Header.Get("Location")))}
	case resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode >= 500:
		return fmt.Errorf("%s answered %s: %s", req.URL.Host, resp.Status, oneLine(string(snippet), 200))
	}
	return permanent{fmt.Errorf("%s answered %s: %s", req.URL.Host, resp.Status, oneLine(string(snippet), 200))}
}

// ShortURL is u's scheme, host and first path segment, then "/…": all of a
// channel's URL that anyone but its creator sees, since Slack's and many
// webhooks' URLs carry a token.
func ShortURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return ""
	}
	first, rest, _ := strings.Cut(strings.TrimPrefix(p.Path, "/"), "/")
	out := p.Scheme + "://" + p.Host + "/" + first
	if rest != "" || p.RawQuery != "" {
		out += "/…"
	}
	return out
}

// redactURL shortens the URL a *url.Error quotes (net/http's errors quote
// the whole request URL, token included) with ShortURL. Delivery errors
// are stored and shown to every member of the project.
func redactURL(err error) error {
	// net/http returns them unwrapped, from url.Parse and Client.Do.
	ue, ok := err.(*url.Error)
	if !ok {
		return err
	}
	short := *ue
	short.URL = ShortURL(ue.URL)
	return &short
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
