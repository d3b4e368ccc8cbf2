package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// Errors of SessionAuth. Handlers map ErrNoSession to 401 (or a redirect to
// the sign-in page) and ErrCSRF to 403; any other error is the store's and
// means 500.
var (
	ErrNoSession = errors.New("dashboard: not signed in")
	ErrCSRF      = errors.New("dashboard: cross-site request refused (missing or wrong CSRF token, or foreign origin)")
)

// CSRFHeader is the request header scripts send the page's CSRF token in
// (from <meta name="csrf-token">) on unsafe requests with the session cookie.
const CSRFHeader = "X-CSRF-Token"

// csrfField is the hidden form field of every state-changing form.
const csrfField = "csrf_token"

// csrfKeySetting names the setting that holds the CSRF key; every dashboard
// process on one database shares it, so any process accepts a token that
// another one put in a page.
const csrfKeySetting = "dashboard_csrf_key"

// maxFormBytes bounds a form post; the largest form but a comment's is a
// few hundred bytes.
const maxFormBytes = 64 << 10

// maxCommentFormBytes bounds a comment's form post: the longest comment
// the store takes, each character 4 bytes of UTF-8 that the form
// percent-encodes as 12, besides the other fields.
const maxCommentFormBytes = 12*store.MaxCommentLength + maxFormBytes

// session is the signed-in user of a request.
type session struct {
	user  store.User
	token string // the cookie's value, needed to sign out and for CSRF
	csrf  string
}

// actor is the signed-in user as the services see them.
func (s *session) actor() service.Actor { return service.ActorOf(s.user) }

func (s *session) viewer() store.Viewer { return s.actor().Viewer() }

func (s *session) admin() bool { return s.actor().IsAdmin() }

type sessionKey struct{}

func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// cookieName prefixes names with __Host- under TLS: browsers then accept
// the cookie only if it is Secure, for Path=/ and without Domain, so a
// sibling subdomain or a plain-HTTP response cannot plant or shadow it.
func (d *Dashboard) cookieName(name string) string {
	if d.secure {
		return "__Host-" + name
	}
	return name
}

const (
	sessionCookie = "flytrap_session"
	loginCookie   = "flytrap_login"
	flashCookie   = "flytrap_flash"
)

// setCookie sets an HttpOnly, SameSite=Lax cookie for the whole site.
// maxAge < 0 deletes it; 0 makes it last until the browser closes.
func (d *Dashboard) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	c := &http.Cookie{
		Name:     d.cookieName(name),
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   d.secure,
		SameSite: http.SameSiteLaxMode,
	}
	if maxAge > 0 {
		c.Expires = d.now().Add(time.Duration(maxAge) * time.Second)
	}
	http.SetCookie(w, c)
}

func (d *Dashboard) cookie(r *http.Request, name string) string {
	c, err := r.Cookie(d.cookieName(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// key returns the CSRF key, creating it in the store on first use. A
// failure is not cached, so a database that was briefly unreachable does
// not disable the dashboard until restart.
func (d *Dashboard) key(ctx context.Context) ([]byte, error) {
	d.keyMu.Lock()
	defer d.keyMu.Unlock()
	if d.csrfKey != nil {
		return d.csrfKey, nil
	}
	v, err := d.store.EnsureSetting(ctx, csrfKeySetting, randomHex(32))
	if err != nil {
		return nil, fmt.Errorf("dashboard: CSRF key: %w", err)
	}
	d.csrfKey = []byte(v)
	return d.csrfKey, nil
}

// sign derives a token bound to purpose and value: a CSRF token is the
// HMAC of the session token, so it needs no storage, differs per session
// and cannot be computed without the server's key.
func sign(key []byte, purpose, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenEqual compares tokens in constant time; an empty token never
// matches.
func tokenEqual(got, want string) bool {
	return got != "" && want != "" && hmac.Equal([]byte(got), []byte(want))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// authenticate resolves the session cookie. An unknown or expired session
// is ErrNoSession.
func (d *Dashboard) authenticate(r *http.Request) (*session, error) {
	token := d.cookie(r, sessionCookie)
	if token == "" {
		return nil, ErrNoSession
	}
	u, _, err := d.store.SessionUser(r.Context(), token, d.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	key, err := d.key(r.Context())
	if err != nil {
		return nil, err
	}
	return &session{user: u, token: token, csrf: sign(key, "session", token)}, nil
}

// SessionAuth resolves the request's session cookie to its user, for the
// REST API and the WebSocket stream, which accept a browser session besides
// API tokens. For unsafe methods (anything but GET, HEAD, OPTIONS, TRACE)
// it also refuses cross-origin requests (by Sec-Fetch-Site and Origin) and
// requires the session's CSRF token in the X-CSRF-Token header, because a
// cookie alone is sent by any site the browser visits. Errors: ErrNoSession
// (no, unknown or expired session), ErrCSRF, or the store's error.
func (d *Dashboard) SessionAuth(r *http.Request) (store.User, error) {
	s, err := d.authenticate(r)
	if err != nil {
		return store.User{}, err
	}
	if !safeMethod(r.Method) {
		if err := d.cop.Check(r); err != nil {
			return store.User{}, fmt.Errorf("%w: %v", ErrCSRF, err)
		}
		if !csrfEqual(r.Header.Get(CSRFHeader), s.csrf) {
			return store.User{}, ErrCSRF
		}
	}
	return s.user, nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// handler is a page or action that runs for a signed-in user.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// page runs h for a signed-in user; anonymous visitors are sent to the
// sign-in form, which brings them back afterwards.
func (d *Dashboard) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := d.authenticate(r)
		if errors.Is(err, ErrNoSession) {
			http.Redirect(w, r, "/login?"+url.Values{"next": {r.URL.RequestURI()}}.Encode(), http.StatusSeeOther)
			return
		}
		if err != nil {
			d.serverError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)), s)
	}
}

// action runs h for a form post of a signed-in user after refusing
// cross-origin posts and checking the CSRF token (form field or header).
// An anonymous post goes to the sign-in form and changes nothing.
func (d *Dashboard) action(h handler) http.HandlerFunc {
	return d.actionWithin(maxFormBytes, h)
}

// commentAction is action for the comment forms, whose text may take
// more than other forms (maxCommentFormBytes).
func (d *Dashboard) commentAction(h handler) http.HandlerFunc {
	return d.actionWithin(maxCommentFormBytes, h)
}

// actionWithin is action for a form of at most limit bytes.
func (d *Dashboard) actionWithin(limit int64, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := d.authenticate(r)
		if errors.Is(err, ErrNoSession) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if err != nil {
			d.serverError(w, r, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if !d.checkFormWithin(w, r, s.csrf, limit) {
			return
		}
		h(w, r, s)
	}
}

// checkForm refuses cross-origin posts, parses the form within
// maxFormBytes and compares its CSRF token with want, answering with the
// error page itself when it returns false.
func (d *Dashboard) checkForm(w http.ResponseWriter, r *http.Request, want string) bool {
	return d.checkFormWithin(w, r, want, maxFormBytes)
}

// checkFormWithin is checkForm for a form of at most limit bytes.
func (d *Dashboard) checkFormWithin(w http.ResponseWriter, r *http.Request, want string, limit int64) bool {
	if err := d.cop.Check(r); err != nil {
		d.forbidden(w, r, "This form was sent from another site, so it was refused.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			d.errorPage(w, r, http.StatusRequestEntityTooLarge, "Too large", "That form was larger than any this site sends.")
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The rest of the form is not coming; the connection cannot
			// carry another request.
			w.Header().Set("Connection", "close")
			d.errorPage(w, r, http.StatusRequestTimeout, "Request timeout", "That form arrived too slowly. Check the connection and send it again.")
		default:
			d.errorPage(w, r, http.StatusBadRequest, "Bad request", "That form could not be read.")
		}
		return false
	}
	got := r.PostForm.Get(csrfField)
	if got == "" {
		got = r.Header.Get(CSRFHeader)
	}
	if !csrfEqual(got, want) {
		d.forbidden(w, r, "The form's security token is missing or out of date. Go back, reload the page and try again.")
		return false
	}
	return true
}

// adminOnly lets admins through and answers 404 to everyone else, so
// members cannot even learn which admin pages exist.
func (d *Dashboard) adminOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if !s.admin() {
			d.notFound(w, r)
			return
		}
		h(w, r, s)
	}
}

// projectAdmins lets admin users and the admins of the project in the path
// ({id}) through, and answers 404 to everyone else, as adminOnly does.
func (d *Dashboard) projectAdmins(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		if !d.manages(r, s) {
			d.notFound(w, r)
			return
		}
		h(w, r, s)
	}
}

// manages reports whether s may change the settings, keys, members and
// alerts of the project in the path ({id}).
func (d *Dashboard) manages(r *http.Request, s *session) bool {
	id, ok := pathID(r, "id")
	return ok && d.managesProject(r, s, id)
}

// managesProject reports whether s may change project id's settings,
// keys, members and alerts. A failed check counts as no: the page then
// offers no forms, and the change itself is checked again when made.
func (d *Dashboard) managesProject(r *http.Request, s *session, id int64) bool {
	return s.admin() || d.store.ManagesProject(r.Context(), s.viewer(), id) == nil
}

// flash is a one-time message shown on the page after a redirect.
type flash struct {
	Kind    string // "ok" or "error"
	Message string
}

// setFlash stores a message for the next page of the session whose
// cookie is session ("" for none). It lives in a short cookie rather than
// the URL so a reload or a shared link does not repeat it. The cookie is
// signed with the CSRF key and bound to the session: cookies are not
// isolated by port, and a sibling subdomain or a man in the middle on
// plain HTTP can set them too, so without the signature any of them could
// put its own text ("confirm your password at ...") in the dashboard's
// banner, and without the binding one user could pass another a message
// the dashboard once showed the first. Without the key, the message is
// dropped: the action it reports was done.
func (d *Dashboard) setFlash(w http.ResponseWriter, r *http.Request, session, kind, msg string) {
	key, err := d.key(r.Context())
	if err != nil {
		return
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + msg))
	d.setCookie(w, flashCookie, payload+"."+sign(key, flashPurpose(session), payload), 60)
}

// flashPurpose binds a flash's signature to the session it is for.
func flashPurpose(session string) string { return "flash\x00" + session }

// takeFlash reads and clears the pending message. One that is not signed
// for this request's session is not shown.
func (d *Dashboard) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	v := d.cookie(r, flashCookie)
	if v == "" {
		return nil
	}
	d.setCookie(w, flashCookie, "", -1)
	payload, mac, ok := strings.Cut(v, ".")
	if !ok {
		return nil
	}
	key, err := d.key(r.Context())
	if err != nil || !tokenEqual(mac, sign(key, flashPurpose(d.cookie(r, sessionCookie)), payload)) {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(string(raw), ":")
	if !ok || (kind != "ok" && kind != "error") || msg == "" {
		return nil
	}
	return &flash{Kind: kind, Message: msg}
}

// redirect answers a successful action: back to a page, with a message.
func (d *Dashboard) redirect(w http.ResponseWriter, r *http.Request, to, msg string) {
	if msg != "" {
		d.setFlash(w, r, d.cookie(r, sessionCookie), "ok", msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// redirectError is redirect with an error message, for a refused change
// whose page is simplest to show again as it was.
func (d *Dashboard) redirectError(w http.ResponseWriter, r *http.Request, to, msg string) {
	d.setFlash(w, r, d.cookie(r, sessionCookie), "error", msg)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
