package dashboard

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// revealCookie carries a secret an action just made (a webhook's signing
// secret, an API token, a set-password link) to the page the action
// redirects to, which shows it once: post, redirect, get, so reloading
// that page neither sends the form again (a second channel, token or
// link) nor shows the secret again. The secret never travels in a URL.
// The cookie is HttpOnly, lives revealTTL, is sealed with AES-GCM under a
// key derived from the CSRF key (every dashboard process on one database
// opens it, the browser cannot read it), is bound to the session that
// made it and to the page that shows it, and is deleted by that page.
const revealCookie = "flytrap_reveal"

// revealTTL bounds how long a sealed secret waits for its page: the
// browser follows the redirect at once.
const revealTTL = 60 * time.Second

// maxRevealCookie bounds the sealed cookie's value below the 4096 bytes
// browsers keep of a cookie, name and attributes included. The secrets
// are far smaller: a link's mail error, the one free text, is clipped.
const maxRevealCookie = 3800

// sealedReveal is what the cookie seals.
type sealedReveal struct {
	// Path is the page that shows the secret.
	Path string `json:"path"`
	// Expires is when the page no longer shows it (Unix milliseconds),
	// whatever the browser does with the cookie's Max-Age.
	Expires int64           `json:"exp"`
	Data    json.RawMessage `json:"data"`
}

// revealAEAD is the cipher of the reveal cookie: AES-256-GCM under
// HMAC-SHA256(CSRF key, "reveal").
func (d *Dashboard) revealAEAD(r *http.Request) (cipher.AEAD, error) {
	key, err := d.key(r.Context())
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("reveal"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// revealAD binds a sealed secret to the session that made it.
func revealAD(s *session) []byte { return []byte("reveal\x00" + s.token) }

// redirectReveal answers an action that made a secret: it seals v (JSON)
// for the page at path, which shows it with takeReveal, and redirects
// there with msg.
func (d *Dashboard) redirectReveal(w http.ResponseWriter, r *http.Request, s *session, path, msg string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	plain, err := json.Marshal(sealedReveal{Path: path, Expires: d.now().Add(revealTTL).UnixMilli(), Data: data})
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	aead, err := d.revealAEAD(r)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	rand.Read(nonce)
	value := base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, revealAD(s)))
	if len(value) > maxRevealCookie {
		// Browsers drop a larger cookie, and the secret with it.
		d.serverError(w, r, fmt.Errorf("dashboard: the secret for %s takes %d bytes sealed, more than a cookie holds", path, len(value)))
		return
	}
	d.setCookie(w, revealCookie, value, int(revealTTL/time.Second))
	d.redirect(w, r, path, msg)
}

// errNoReveal is a reveal cookie that is absent, not for this page, or
// cannot be opened.
var errNoReveal = errors.New("dashboard: no secret to show")

// takeReveal reads into v the secret sealed for this page (r.URL.Path)
// and this session, and deletes the cookie, so the secret is shown once.
// It reports whether there was one. A cookie sealed for another page is
// left for that page (until it expires); one that does not open, has
// expired or is of another session is deleted.
func (d *Dashboard) takeReveal(w http.ResponseWriter, r *http.Request, s *session, v any) bool {
	raw := d.cookie(r, revealCookie)
	if raw == "" {
		return false
	}
	sr, err := d.openReveal(r, s, raw)
	if err == nil && sr.Path != r.URL.Path {
		return false
	}
	d.setCookie(w, revealCookie, "", -1)
	if err != nil || !d.revealedOnce(raw, sr.Expires) {
		return false
	}
	if json.Unmarshal(sr.Data, v) != nil {
		return false
	}
	sendUncompressed(w)
	return true
}

// revealedOnce records that the sealed cookie raw was shown, and reports
// whether this is the first time: a client that sends the cookie again
// after the page deleted it (curl keeps a cookie deleted with Max-Age=0
// until the second ends) is not shown the secret again. Entries go when
// their cookie expires. The record is this process's; the dashboard runs
// as one (flytrap dev, the EC2 instance).
func (d *Dashboard) revealedOnce(raw string, expires int64) bool {
	d.revealMu.Lock()
	defer d.revealMu.Unlock()
	now := d.now().UnixMilli()
	for k, exp := range d.revealed {
		if exp < now {
			delete(d.revealed, k)
		}
	}
	if _, seen := d.revealed[raw]; seen {
		return false
	}
	if d.revealed == nil {
		d.revealed = map[string]int64{}
	}
	d.revealed[raw] = expires
	return true
}

func (d *Dashboard) openReveal(r *http.Request, s *session, raw string) (sealedReveal, error) {
	var sr sealedReveal
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return sr, errNoReveal
	}
	aead, err := d.revealAEAD(r)
	if err != nil {
		return sr, err
	}
	if len(sealed) < aead.NonceSize() {
		return sr, errNoReveal
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], revealAD(s))
	if err != nil || json.Unmarshal(plain, &sr) != nil || d.now().UnixMilli() > sr.Expires {
		return sr, errNoReveal
	}
	return sr, nil
}
