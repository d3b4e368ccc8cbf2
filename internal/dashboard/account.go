package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/service"
)

// loginFailed is the one message for every failed sign-in, so the form
// does not tell which addresses have accounts.
const loginFailed = "Invalid email or password."

// loginData is the sign-in page's model.
type loginData struct {
	Email string
	Next  string
	Error string
}

// home is where a sign-in goes when it was not sent from a page.
const home = "/projects"

// safeNext returns the Location a sign-in sends the browser to: next if it
// is a path on this site, else home. The sign-in form must not become a
// redirect to anywhere: //evil.example and /\evil.example are other hosts
// to browsers, which also drop tabs and newlines from URLs and read a
// backslash as a slash. http.Redirect cleans the path (/./\x becomes /\x),
// so the check is on the cleaned path, and the result is already clean,
// which makes http.Redirect leave it as it is.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return home
	}
	// As http.Redirect does: clean the part before the query, keeping a
	// trailing slash.
	p, query, hasQuery := strings.Cut(next, "?")
	cleaned := path.Clean(p)
	if strings.HasSuffix(p, "/") && cleaned != "/" {
		cleaned += "/"
	}
	if hasQuery {
		cleaned += "?" + query
	}
	u, err := url.Parse(cleaned)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Path == "/login" {
		return home
	}
	return cleaned
}

// preSessionToken returns the CSRF token of a form shown before sign-in
// (sign-in, "Forgot password?", a set-password link's page), for purpose,
// setting the cookie it is bound to when the browser has none. Before
// sign-in there is no session to bind a token to, so a random cookie
// stands in for it (a signed double-submit cookie); it stops another site
// from signing the browser in to an account of the attacker's choosing.
func (d *Dashboard) preSessionToken(w http.ResponseWriter, r *http.Request, purpose string) (string, error) {
	key, err := d.key(r.Context())
	if err != nil {
		return "", err
	}
	nonce := d.cookie(r, loginCookie)
	if len(nonce) != 32 || strings.Trim(nonce, "0123456789abcdef") != "" {
		nonce = randomHex(16)
		d.setCookie(w, loginCookie, nonce, 0)
	}
	return sign(key, purpose, nonce), nil
}

// checkPreSessionForm is checkForm for a form of preSessionToken.
func (d *Dashboard) checkPreSessionForm(w http.ResponseWriter, r *http.Request, purpose string) bool {
	key, err := d.key(r.Context())
	if err != nil {
		d.serverError(w, r, err)
		return false
	}
	return d.checkForm(w, r, sign(key, purpose, d.cookie(r, loginCookie)))
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := d.authenticate(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	d.showLogin(w, r, http.StatusOK, loginData{Next: r.URL.Query().Get("next")})
}

func (d *Dashboard) showLogin(w http.ResponseWriter, r *http.Request, status int, data loginData) {
	token, err := d.preSessionToken(w, r, "login")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	if data.Next != "" {
		data.Next = safeNext(data.Next)
	}
	d.render(w, r, status, "login", &view{Title: "Sign in", CSRF: token, Data: data})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	if !d.checkPreSessionForm(w, r, "login") {
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	data := loginData{Email: email, Next: r.PostForm.Get("next"), Error: loginFailed}
	if email == "" || password == "" {
		d.showLogin(w, r, http.StatusUnauthorized, data)
		return
	}
	a, ok := d.beginAttempt(w, r, email, "Too many failed sign-ins.")
	if !ok {
		return
	}
	u, err := d.svc.Users.Authenticate(r.Context(), email, password)
	if errors.Is(err, service.ErrBadCredentials) {
		d.showLogin(w, r, http.StatusUnauthorized, data)
		return
	}
	if err != nil {
		d.throttle.Cancel(a)
		d.passwordError(w, r, err)
		return
	}
	d.throttle.Succeeded(a)
	token, _, err := d.store.CreateSession(r.Context(), u.ID, d.sessionTTL)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.setCookie(w, sessionCookie, token, int(d.sessionTTL/time.Second))
	d.setCookie(w, loginCookie, "", -1)
	http.Redirect(w, r, safeNext(data.Next), http.StatusSeeOther)
}

// beginAttempt counts a password attempt for email from the request's
// client before the password is checked. A client over a limit gets 429
// (tooMany says why) and false; an attempt for an address being guessed
// from elsewhere is held for the slow-down first.
func (d *Dashboard) beginAttempt(w http.ResponseWriter, r *http.Request, email, tooMany string) (auth.Attempt, bool) {
	a, slow, wait := d.throttle.Begin(email, d.ClientKey(r), d.now())
	if wait > 0 {
		secs := int((wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		d.errorPage(w, r, http.StatusTooManyRequests, "Too many attempts",
			tooMany+" Wait "+plural(int64((secs+59)/60), "minute", "minutes")+" and try again.")
		return a, false
	}
	return a, d.throttle.Hold(r.Context(), a, slow)
}

// passwordError answers a failed password hash or check: 503 with
// Retry-After when every hashing slot is busy, else the server error page.
func (d *Dashboard) passwordError(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, auth.ErrBusy) {
		d.serverError(w, r, err)
		return
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(auth.RetryAfter/time.Second)))
	d.errorPage(w, r, http.StatusServiceUnavailable, "Busy",
		"The server is checking too many passwords at once. Try again in a second.")
}

func (d *Dashboard) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := d.store.DeleteSession(r.Context(), s.token); err != nil {
		d.serverError(w, r, err)
		return
	}
	d.setCookie(w, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// accountData is the account page's model.
type accountData struct {
	Error string
	// EmailOptOut says the user turned alert email off.
	EmailOptOut bool
}

func (d *Dashboard) accountPage(w http.ResponseWriter, r *http.Request, s *session) {
	optOut, err := d.svc.Alerts.EmailOptOut(r.Context(), s.actor())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "account", &view{Title: "Account", Nav: "account", Data: accountData{EmailOptOut: optOut}})
}

// changePassword checks the current password (throttled like sign-in, so a
// borrowed session cannot guess it), sets the new one and signs out every
// other session of the user.
func (d *Dashboard) changePassword(w http.ResponseWriter, r *http.Request, s *session) {
	current, next, again := r.PostForm.Get("current"), r.PostForm.Get("new"), r.PostForm.Get("confirm")
	fail := func(status int, msg string) {
		d.render(w, r, status, "account", &view{Title: "Account", Nav: "account", Data: accountData{Error: msg}})
	}
	if err := service.CheckPassword(next); err != nil {
		msg, _ := service.Message(err)
		fail(http.StatusBadRequest, msg)
		return
	}
	if next != again {
		fail(http.StatusBadRequest, "The two new passwords do not match.")
		return
	}
	a, ok := d.beginAttempt(w, r, s.user.Email, "Too many wrong passwords.")
	if !ok {
		return
	}
	revoked, err := d.svc.Users.ChangePassword(r.Context(), s.user, current, next)
	if errors.Is(err, service.ErrBadCredentials) {
		fail(http.StatusBadRequest, "The current password is not correct.")
		return
	}
	if err != nil {
		d.throttle.Cancel(a)
		d.passwordError(w, r, err)
		return
	}
	d.throttle.Succeeded(a)
	if err := d.store.DeleteUserSessions(r.Context(), s.user.ID, s.token); err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, "/account", passwordChanged(revoked))
}

// passwordChanged is the message after a password change: exactly what
// ended, and that the API tokens created by name did not, with where to
// revoke them (a password changed because it leaked may need that too).
func passwordChanged(revoked int64) string {
	tokens := "No API tokens were made by signing in with your password (flytrap login)."
	switch {
	case revoked == 1:
		tokens = "The API token made by signing in with your password (flytrap login) was revoked: run flytrap login again where you use it."
	case revoked > 1:
		tokens = fmt.Sprintf("The %d API tokens made by signing in with your password (flytrap login) were revoked: run flytrap login again where you use them.", revoked)
	}
	return "Password changed. Your other browser sessions were signed out. " + tokens +
		" API tokens you created by name still work: revoke any that may be known to someone else under API tokens."
}
