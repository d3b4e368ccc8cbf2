package dashboard

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// Defaults of Config.ForgotPerEmail and ForgotPerIP. Each request may
// send an email, so an address gets a few links and then one every
// quarter of an hour, and a client a few more across addresses: the form
// cannot be used to flood someone's mailbox or the mail server.
var (
	defaultForgotPerEmail = ForgotLimit{Every: 15 * time.Minute, Burst: 3}
	defaultForgotPerIP    = ForgotLimit{Every: time.Minute, Burst: 10}
)

// ForgotLimit is a token bucket of "Forgot password?" requests: Burst at
// once, then one every Every.
type ForgotLimit struct {
	Every time.Duration
	Burst int
}

// orDefault is l, or def when l is not a usable limit.
func (l ForgotLimit) orDefault(def ForgotLimit) ForgotLimit {
	if l.Every <= 0 || l.Burst <= 0 {
		return def
	}
	return l
}

// maxLimiterKeys bounds the addresses and clients "Forgot password?"
// remembers; buckets that have filled up again are forgotten first.
const maxLimiterKeys = 10000

// forgotMailTimeout bounds the work of one "Forgot password?" request,
// which runs after its answer was sent.
const forgotMailTimeout = time.Minute

// keyedLimiter is a token bucket per key (an address, a client).
type keyedLimiter struct {
	lim ForgotLimit
	mu  sync.Mutex
	m   map[string]*rate.Limiter
}

func newKeyedLimiter(l ForgotLimit) *keyedLimiter {
	return &keyedLimiter{lim: l, m: map[string]*rate.Limiter{}}
}

// allow takes a token of key's bucket at now, and reports whether there
// was one. When it remembers maxLimiterKeys keys with none of their
// buckets full, a new key is refused: forgetting a bucket in use would
// lift its limit.
func (k *keyedLimiter) allow(key string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.m[key]
	if !ok {
		if len(k.m) >= maxLimiterKeys {
			for key, l := range k.m {
				if l.TokensAt(now) >= float64(k.lim.Burst) {
					delete(k.m, key)
				}
			}
			if len(k.m) >= maxLimiterKeys {
				return false
			}
		}
		l = rate.NewLimiter(rate.Every(k.lim.Every), k.lim.Burst)
		k.m[key] = l
	}
	return l.AllowN(now, 1)
}

// forgotMailLimit is l as a limit of the links emailed to one address
// from anywhere: it refills at least once per reset link's life, so that
// while it is empty the latest link sent is still live.
func forgotMailLimit(l ForgotLimit) ForgotLimit {
	l.Every = min(l.Every, service.ResetTTL)
	return l
}

// canMail reports whether set-password links are emailed (by "Forgot
// password?", an invitation or a reset): the server has a
// mailer, and a public URL to build links from (a link built from the
// request's Host header could point at any host the requester named).
func (d *Dashboard) canMail() bool { return d.svc.Users.CanMail() && d.publicURL != "" }

// forgotData is the "Forgot password?" page's model.
type forgotData struct {
	// CanMail says links are emailed; without it the page says to ask an
	// admin.
	CanMail bool
	Email   string
	Sent    bool
	Error   string
}

func (d *Dashboard) forgotPage(w http.ResponseWriter, r *http.Request) {
	d.showForgot(w, r, http.StatusOK, forgotData{})
}

func (d *Dashboard) showForgot(w http.ResponseWriter, r *http.Request, status int, data forgotData) {
	token, err := d.preSessionToken(w, r, "forgot")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	data.CanMail = d.canMail()
	d.render(w, r, status, "forgot-password", &view{Title: "Forgot password", CSRF: token, Data: data})
}

// forgotPassword emails a reset link to the address if it has an account.
// The answer is the same either way, and comes before the work (looking
// the address up, issuing the link, talking to the mail server) is done,
// so neither its words nor its time tell whether the address has an
// account. The limits apply to every address alike: a client is refused
// beyond its own limit and beyond the per-address limit for one address,
// but requests for an address that was sent its share of links from
// anywhere are only answered without another email, so that nobody can
// get its owner refused.
func (d *Dashboard) forgotPassword(w http.ResponseWriter, r *http.Request) {
	if !d.checkPreSessionForm(w, r, "forgot") {
		return
	}
	if !d.canMail() {
		d.showForgot(w, r, http.StatusServiceUnavailable, forgotData{})
		return
	}
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if email == "" || len(email) > service.MaxEmailLength {
		d.showForgot(w, r, http.StatusBadRequest, forgotData{Email: email, Error: "Enter the email address of your account."})
		return
	}
	now := d.now()
	client, address := d.ClientKey(r), strings.ToLower(email)
	// NUL cannot occur in a form's address or a client key, so the pairs
	// of different (address, client) never collide.
	if !d.forgotPerIP.allow(client, now) || !d.forgotPerPair.allow(address+"\x00"+client, now) {
		wait := max(d.forgotPerEmail.lim.Every, d.forgotPerIP.lim.Every)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		d.showForgot(w, r, http.StatusTooManyRequests, forgotData{Email: email,
			Error: "Too many password reset requests. Wait " + plural(int64(max(wait/time.Minute, 1)), "minute", "minutes") + " and try again, or ask an admin."})
		return
	}
	if !d.forgotPerEmail.allow(address, now) {
		// The address was sent a link within the bucket's Every, which
		// forgotMailLimit keeps under a link's life: its owner has a live
		// link, and a flood of requests from elsewhere neither fills the
		// mailbox nor gets the owner's own request refused.
		d.showForgot(w, r, http.StatusOK, forgotData{Email: email, Sent: true})
		return
	}
	base := d.publicURL
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), forgotMailTimeout)
	go func() {
		defer cancel()
		if err := d.svc.Users.ForgotPassword(ctx, email, base); err != nil {
			d.log.Warn("dashboard: forgot password: reset link not sent", "err", err)
		}
	}()
	d.showForgot(w, r, http.StatusOK, forgotData{Email: email, Sent: true})
}

// setPasswordData is the set-password page's model.
type setPasswordData struct {
	Email   string
	Invite  bool
	Expires time.Time
	Error   string
}

// setPasswordPage shows the form of a set-password link. The page's URL
// holds the link's secret, so it sends no Referer at all.
func (d *Dashboard) setPasswordPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	u, l, err := d.svc.Users.LinkUser(r.Context(), r.PathValue("token"))
	if err != nil {
		d.linkError(w, r, err)
		return
	}
	d.showSetPassword(w, r, http.StatusOK, setPasswordData{Email: u.Email, Invite: l.Purpose == store.LinkInvite, Expires: l.ExpiresAt})
}

func (d *Dashboard) showSetPassword(w http.ResponseWriter, r *http.Request, status int, data setPasswordData) {
	token, err := d.preSessionToken(w, r, "set-password")
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	title := "Choose a new password"
	if data.Invite {
		title = "Choose your password"
	}
	d.render(w, r, status, "set-password", &view{Title: title, CSRF: token, Data: data})
}

// linkError answers a set-password link that does not work with the
// service's explanation, and anything else as an error.
func (d *Dashboard) linkError(w http.ResponseWriter, r *http.Request, err error) {
	if msg, ok := service.Message(err); ok && errors.Is(err, service.ErrNotFound) {
		d.errorPage(w, r, http.StatusNotFound, "Link expired", msg)
		return
	}
	d.serverError(w, r, err)
}

// setPassword sets the password through a link, then signs the user in
// here and out everywhere else, as a password change does.
func (d *Dashboard) setPassword(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !d.checkPreSessionForm(w, r, "set-password") {
		return
	}
	token := r.PathValue("token")
	u, l, err := d.svc.Users.LinkUser(r.Context(), token)
	if err != nil {
		d.linkError(w, r, err)
		return
	}
	next, again := r.PostForm.Get("new"), r.PostForm.Get("confirm")
	data := setPasswordData{Email: u.Email, Invite: l.Purpose == store.LinkInvite, Expires: l.ExpiresAt}
	if err := service.CheckPassword(next); err != nil {
		data.Error, _ = service.Message(err)
		d.showSetPassword(w, r, http.StatusBadRequest, data)
		return
	}
	if next != again {
		data.Error = "The two passwords do not match."
		d.showSetPassword(w, r, http.StatusBadRequest, data)
		return
	}
	u, revoked, err := d.svc.Users.SetPasswordByLink(r.Context(), token, next)
	if errors.Is(err, service.ErrNotFound) {
		d.linkError(w, r, err)
		return
	}
	if err != nil {
		d.passwordError(w, r, err)
		return
	}
	session, _, err := d.store.CreateSession(r.Context(), u.ID, d.sessionTTL)
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.setCookie(w, sessionCookie, session, int(d.sessionTTL/time.Second))
	d.setCookie(w, loginCookie, "", -1)
	msg := "Password set; you are signed in."
	if !data.Invite {
		msg = passwordChanged(revoked)
	}
	// For the session just made, which the next page is of.
	d.setFlash(w, r, session, "ok", msg)
	http.Redirect(w, r, home, http.StatusSeeOther)
}
