package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// UnsubscribePath is where an alert email's one-click unsubscribe link
// points, followed by its token.
const UnsubscribePath = "/alerts/unsubscribe/"

// UnsubscribeTTL is how long an unsubscribe link works: alert email is
// read, and unsubscribed from, long after it was sent, but a link leaked
// with an old email should not work for ever.
const UnsubscribeTTL = 90 * 24 * time.Hour

// unsubscribeKeySetting names the setting that holds the key the links
// are signed with; every process on one database shares it.
const unsubscribeKeySetting = "alert_unsubscribe_key"

// ErrBadUnsubscribeLink is the answer to a link whose token was altered,
// cut short or signed with another server's key.
var ErrBadUnsubscribeLink = errors.New("this unsubscribe link is not valid: it may have been cut short or altered; use the link of a recent alert email, or turn alert email off on your account page")

// ErrExpiredUnsubscribeLink is the answer to a link older than
// UnsubscribeTTL.
var ErrExpiredUnsubscribeLink = errors.New("this unsubscribe link has expired: use the link of a recent alert email, or turn alert email off on your account page")

// Settings is the store's setting that holds the signing key;
// store.DB.EnsureSetting is one.
type Settings interface {
	EnsureSetting(ctx context.Context, key, value string) (string, error)
}

// Unsubscriber makes and checks the signed links of alert emails'
// List-Unsubscribe headers (RFC 2369, one-click by RFC 8058): one per
// member and email channel, working without signing in, for
// UnsubscribeTTL. A link names the channel, the user and its expiry in
// the clear, and an HMAC-SHA256 of them keyed with a secret the database
// keeps, so it cannot be made for another member or channel.
type Unsubscriber struct {
	publicURL string
	settings  Settings
	now       func() time.Time

	mu  sync.Mutex
	key []byte
}

// NewUnsubscriber returns the Unsubscriber of a server whose dashboard is
// at publicURL, keeping its key in settings. now is the clock (nil:
// time.Now).
func NewUnsubscriber(publicURL string, settings Settings, now func() time.Time) *Unsubscriber {
	if now == nil {
		now = time.Now
	}
	return &Unsubscriber{publicURL: strings.TrimSuffix(publicURL, "/"), settings: settings, now: now}
}

// signingKey returns the key, creating it on first use. A failure is not
// kept, so a database briefly unreachable does not stop links until a
// restart.
func (u *Unsubscriber) signingKey(ctx context.Context) ([]byte, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.key != nil {
		return u.key, nil
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	v, err := u.settings.EnsureSetting(ctx, unsubscribeKeySetting, hex.EncodeToString(b))
	if err != nil {
		return nil, fmt.Errorf("unsubscribe links' key: %w", err)
	}
	u.key = []byte(v)
	return u.key, nil
}

func unsubscribeMAC(key []byte, claims string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("alert-unsubscribe\x00" + claims))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// URL returns the link that unsubscribes userID from channelID.
func (u *Unsubscriber) URL(ctx context.Context, channelID, userID int64) (string, error) {
	key, err := u.signingKey(ctx)
	if err != nil {
		return "", err
	}
	claims := strconv.FormatInt(channelID, 10) + "." + strconv.FormatInt(userID, 10) + "." +
		strconv.FormatInt(u.now().Add(UnsubscribeTTL).Unix(), 10)
	return u.publicURL + UnsubscribePath + claims + "." + unsubscribeMAC(key, claims), nil
}

// Check returns the channel and user a link's token names:
// ErrBadUnsubscribeLink when it was not signed with this server's key,
// ErrExpiredUnsubscribeLink when it is older than UnsubscribeTTL.
func (u *Unsubscriber) Check(ctx context.Context, token string) (channelID, userID int64, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 4 || len(token) > 200 {
		return 0, 0, ErrBadUnsubscribeLink
	}
	key, err := u.signingKey(ctx)
	if err != nil {
		return 0, 0, err
	}
	claims := strings.Join(parts[:3], ".")
	if !hmac.Equal([]byte(unsubscribeMAC(key, claims)), []byte(parts[3])) {
		return 0, 0, ErrBadUnsubscribeLink
	}
	var n [3]int64
	for i := range n {
		if n[i], err = strconv.ParseInt(parts[i], 10, 64); err != nil {
			return 0, 0, ErrBadUnsubscribeLink
		}
	}
	if u.now().Unix() > n[2] {
		return 0, 0, ErrExpiredUnsubscribeLink
	}
	return n[0], n[1], nil
}
