package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// mailed is one link a chanMailer was given.
type mailed struct{ to, purpose, url string }

// chanMailer hands each link it is given to its channel.
type chanMailer chan mailed

func (m chanMailer) MailPasswordLink(_ context.Context, to, purpose, url string, _ time.Time) error {
	m <- mailed{to, purpose, url}
	return nil
}

// withMailer gives the fixture's dashboard a mailer and returns it.
func withMailer(m chanMailer) func(*Config) { return func(c *Config) { c.Mailer = m } }

var linkRE = regexp.MustCompile(`http://flytrap\.test/set-password/[0-9a-f]{64}`)

// formOf fetches an anonymous form page as a fresh browser would and
// returns its login cookie and the form's CSRF token.
func (f *fixture) formOf(path string) (*http.Cookie, string) {
	f.t.Helper()
	r := f.do(request{path: path})
	wantStatus(f.t, r, http.StatusOK)
	m := metaCSRF.FindStringSubmatch(r.Body)
	c := cookieNamed(r, loginCookie)
	if m == nil || c == nil {
		f.t.Fatalf("%s has no CSRF field or sets no login cookie:\n%s", path, r.Body)
	}
	return c, m[1]
}

// anonPost posts form to path from remoteAddr with cookie c.
func (f *fixture) anonPost(path string, c *http.Cookie, form url.Values, remoteAddr string) response {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://flytrap.test"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remoteAddr
	if c != nil {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.d.ServeHTTP(rec, req)
	return response{Response: rec.Result(), Body: rec.Body.String()}
}

// setPassword follows link and sets the password pw through its form.
func (f *fixture) setPassword(link, pw string) response {
	f.t.Helper()
	path := strings.TrimPrefix(link, "http://flytrap.test")
	c, token := f.formOf(path)
	return f.anonPost(path, c, url.Values{csrfField: {token}, "new": {pw}, "confirm": {pw}}, "192.0.2.1:1")
}

func TestInviteFromAdminForm(t *testing.T) {
	mail := make(chanMailer, 1)
	f := newFixture(t, withMailer(mail))
	r := f.post(roleMember, "/admin/users", url.Values{"email": {"x@example.com"}, "invite": {"on"}})
	wantStatus(t, r, http.StatusNotFound)
	r = f.post(roleAdmin, "/admin/users", url.Values{"email": {"ada@example.com"}, "invite": {"on"}, "password": {"typed anyway"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "leave the password empty")

	r = f.post(roleAdmin, "/admin/users", url.Values{"email": {"ada@example.com"}, "invite": {"on"}, "role": {store.RoleMember}})
	r = f.follow(roleAdmin, r)
	wantStatus(t, r, http.StatusOK)
	link := linkRE.FindString(r.Body)
	if link == "" {
		t.Fatalf("no link on the page:\n%s", excerpt(r.Body))
	}
	wantBody(t, r, "ada@example.com invited", "The link was emailed to ada@example.com")
	if m := <-mail; m.to != "ada@example.com" || m.purpose != store.LinkInvite || m.url != link {
		t.Errorf("mailed %+v, want the link shown", m)
	}
	// No password works until the link sets one, and the users page
	// says so.
	wantStatus(t, f.login("ada@example.com", "", "192.0.2.1:1", nil), http.StatusUnauthorized)
	invited := regexp.MustCompile(`ada@example.com <span class="badge"[^>]*>invited</span>`)
	if r := f.get(roleAdmin, "/admin/users"); !invited.MatchString(r.Body) {
		t.Errorf("the users page does not mark ada invited:\n%s", excerpt(r.Body))
	}

	r = f.get(roleAnon, strings.TrimPrefix(link, "http://flytrap.test"))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Choose your password", "ada@example.com")
	if p := r.Header.Get("Referrer-Policy"); p != "no-referrer" {
		t.Errorf("Referrer-Policy %q on the page whose URL holds the secret", p)
	}
	r = f.setPassword(link, "a new password of ada")
	wantRedirect(t, r, "/projects")
	c := cookieNamed(r, sessionCookie)
	if c == nil {
		t.Fatal("setting the password did not sign in")
	}
	// The message is signed for the session just made, which the next
	// page is of.
	next := f.do(request{path: "/projects", cookies: []*http.Cookie{c, cookieNamed(r, flashCookie)}})
	wantBody(t, next, `role="status">Password set; you are signed in.`)
	if u, _, err := f.db.SessionUser(f.ctx, c.Value, time.Now()); err != nil || u.Email != "ada@example.com" {
		t.Errorf("session of %q, %v", u.Email, err)
	}
	wantRedirect(t, f.login("ada@example.com", "a new password of ada", "192.0.2.1:1", nil), "/projects")
	if r := f.get(roleAdmin, "/admin/users"); invited.MatchString(r.Body) || !strings.Contains(r.Body, "ada@example.com") {
		t.Errorf("the users page still marks ada invited, or lost her:\n%s", excerpt(r.Body))
	}
}

func TestAdminResetsPassword(t *testing.T) {
	f := newFixture(t)
	path := "/admin/users/" + itoa(f.member.ID) + "/reset-password"
	wantStatus(t, f.post(roleMember, path, nil), http.StatusNotFound)
	wantStatus(t, f.post(roleAdmin, "/admin/users/999999/reset-password", nil), http.StatusNotFound)
	r := f.post(roleAdmin, path, nil)
	r = f.follow(roleAdmin, r)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Password reset link for member@example.com", "This server sends no email")
	link := linkRE.FindString(r.Body)
	if link == "" {
		t.Fatalf("no link on the page:\n%s", excerpt(r.Body))
	}
	// The old password works until the link is used.
	wantRedirect(t, f.login("member@example.com", password, "192.0.2.1:1", nil), "/projects")
	_, _, err := f.db.IssueAPIToken(f.ctx, f.member.ID, store.NewAPIToken{Name: "cli", Origin: store.TokenSignIn})
	f.must(err)
	named, _, err := f.db.IssueAPIToken(f.ctx, f.member.ID, store.NewAPIToken{Name: "ci"})
	f.must(err)

	wantRedirect(t, f.setPassword(link, "the member's new one"), "/projects")
	wantStatus(t, f.login("member@example.com", password, "192.0.2.2:1", nil), http.StatusUnauthorized)
	if _, _, err := f.db.SessionUser(f.ctx, f.sessions[roleMember], time.Now()); err == nil {
		t.Error("the member's other session survived the reset")
	}
	tokens, err := f.db.ListAPITokens(f.ctx, f.member.ID)
	f.must(err)
	if len(tokens) != 1 || tokens[0].Name != "ci" {
		t.Errorf("tokens after the reset %+v: want only the named one", tokens)
	}
	if _, err := f.db.UserByAPIToken(f.ctx, named); err != nil {
		t.Errorf("a named token stopped working: %v", err)
	}
}

// TestSetPasswordLinkRefusals: a link works once, until it expires or a
// newer one replaces it, and only through the page's own form.
func TestSetPasswordLinkRefusals(t *testing.T) {
	f := newFixture(t)
	issue := func() string {
		f.t.Helper()
		r := f.post(roleAdmin, "/admin/users/"+itoa(f.outsider.ID)+"/reset-password", nil)
		r = f.follow(roleAdmin, r)
		wantStatus(t, r, http.StatusOK)
		return linkRE.FindString(r.Body)
	}
	pathOf := func(link string) string { return strings.TrimPrefix(link, "http://flytrap.test") }

	t.Run("wrong CSRF", func(t *testing.T) {
		link := issue()
		c, _ := f.formOf(pathOf(link))
		r := f.anonPost(pathOf(link), c, url.Values{csrfField: {"forged"}, "new": {"a good password"}, "confirm": {"a good password"}}, "192.0.2.1:1")
		wantStatus(t, r, http.StatusForbidden)
		// The login form's token is for another form.
		lc, loginToken := f.loginForm()
		r = f.anonPost(pathOf(link), lc, url.Values{csrfField: {loginToken}, "new": {"a good password"}, "confirm": {"a good password"}}, "192.0.2.1:1")
		wantStatus(t, r, http.StatusForbidden)
		wantStatus(t, f.get(roleAnon, pathOf(link)), http.StatusOK)
	})
	t.Run("bad passwords", func(t *testing.T) {
		link := issue()
		c, token := f.formOf(pathOf(link))
		for _, form := range []url.Values{
			{"new": {"short"}, "confirm": {"short"}},
			{"new": {"password123"}, "confirm": {"password123"}},
			{"new": {"a good password"}, "confirm": {"another one"}},
		} {
			form.Set(csrfField, token)
			r := f.anonPost(pathOf(link), c, form, "192.0.2.1:1")
			wantStatus(t, r, http.StatusBadRequest)
		}
		wantStatus(t, f.get(roleAnon, pathOf(link)), http.StatusOK)
	})
	t.Run("reused", func(t *testing.T) {
		link := issue()
		wantRedirect(t, f.setPassword(link, "first password set"), "/projects")
		r := f.get(roleAnon, pathOf(link))
		wantStatus(t, r, http.StatusNotFound)
		wantBody(t, r, "was used already")
		c, token := f.formOf("/forgot-password")
		r = f.anonPost(pathOf(link), c, url.Values{csrfField: {token}, "new": {"second password"}, "confirm": {"second password"}}, "192.0.2.1:1")
		wantStatus(t, r, http.StatusForbidden)
	})
	t.Run("superseded", func(t *testing.T) {
		old := issue()
		c, token := f.formOf(pathOf(old))
		newer := issue()
		r := f.anonPost(pathOf(old), c, url.Values{csrfField: {token}, "new": {"a good password"}, "confirm": {"a good password"}}, "192.0.2.1:1")
		wantStatus(t, r, http.StatusNotFound)
		wantStatus(t, f.get(roleAnon, pathOf(newer)), http.StatusOK)
	})
	t.Run("expired", func(t *testing.T) {
		link := issue()
		c, token := f.formOf(pathOf(link))
		_, err := f.db.SQL().ExecContext(f.ctx, `UPDATE password_links SET expires_at = 1 WHERE user_id = $1`, f.outsider.ID)
		f.must(err)
		wantStatus(t, f.get(roleAnon, pathOf(link)), http.StatusNotFound)
		r := f.anonPost(pathOf(link), c, url.Values{csrfField: {token}, "new": {"a good password"}, "confirm": {"a good password"}}, "192.0.2.1:1")
		wantStatus(t, r, http.StatusNotFound)
	})
	t.Run("unknown", func(t *testing.T) {
		wantStatus(t, f.get(roleAnon, "/set-password/"+strings.Repeat("0", 64)), http.StatusNotFound)
		wantStatus(t, f.get(roleAnon, "/set-password/%3Cscript%3E"), http.StatusNotFound)
	})
}

func TestForgotPassword(t *testing.T) {
	mail := make(chanMailer, 10)
	f := newFixture(t, withMailer(mail), func(c *Config) {
		c.ForgotPerEmail = ForgotLimit{Every: time.Hour, Burst: 2}
		c.ForgotPerIP = ForgotLimit{Every: time.Hour, Burst: 4}
	})
	wantBody(t, f.get(roleAnon, "/login"), `href="/forgot-password"`)
	ask := func(email, remoteAddr string) response {
		t.Helper()
		c, token := f.formOf("/forgot-password")
		return f.anonPost("/forgot-password", c, url.Values{csrfField: {token}, "email": {email}}, remoteAddr)
	}

	known := ask("Member@Example.com", "192.0.2.1:1")
	wantStatus(t, known, http.StatusOK)
	select {
	case m := <-mail:
		if m.to != "member@example.com" || m.purpose != store.LinkForgot || !linkRE.MatchString(m.url) {
			t.Errorf("mailed %+v", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reset link was mailed")
	}
	noBody(t, known, "set-password/")
	unknown := ask("Nobody@Example.com", "192.0.2.1:1")
	wantStatus(t, unknown, http.StatusOK)
	norm := func(r response) string {
		return csrfValueRE.ReplaceAllString(strings.ReplaceAll(mainRE.FindString(r.Body), "Nobody", "Member"), "$1CSRF\"")
	}
	if norm(known) != norm(unknown) {
		t.Errorf("the answers for a known and an unknown address differ:\n%s\n---\n%s", norm(known), norm(unknown))
	}
	select {
	case m := <-mail:
		t.Errorf("mailed %+v for an unknown address", m)
	case <-time.After(100 * time.Millisecond):
	}

	// Per address from one client, whether or not it has an account.
	wantStatus(t, ask("member@example.com", "192.0.2.2:1"), http.StatusOK)
	wantStatus(t, ask("member@example.com", "192.0.2.2:1"), http.StatusOK)
	r := ask("MEMBER@example.com", "192.0.2.2:1")
	wantStatus(t, r, http.StatusTooManyRequests)
	wantBody(t, r, "Too many password reset requests")
	wantStatus(t, ask("nobody@example.com", "192.0.2.4:1"), http.StatusOK)
	wantStatus(t, ask("nobody@example.com", "192.0.2.4:1"), http.StatusOK)
	wantStatus(t, ask("nobody@example.com", "192.0.2.4:1"), http.StatusTooManyRequests)
	// Per address from anywhere, emails stop: the first two went out.
	<-mail
	select {
	case m := <-mail:
		t.Errorf("mailed %+v beyond the address's limit", m)
	case <-time.After(100 * time.Millisecond):
	}
	// Per client, across addresses: 192.0.2.1 has asked twice.
	wantStatus(t, ask("a@example.com", "192.0.2.1:1"), http.StatusOK)
	wantStatus(t, ask("b@example.com", "192.0.2.1:1"), http.StatusOK)
	wantStatus(t, ask("c@example.com", "192.0.2.1:1"), http.StatusTooManyRequests)
	wantStatus(t, ask("c@example.com", "192.0.2.9:1"), http.StatusOK)
	// The buckets refill.
	f.clock.Advance(time.Hour)
	wantStatus(t, ask("member@example.com", "192.0.2.1:1"), http.StatusOK)

	c, _ := f.formOf("/forgot-password")
	wantStatus(t, f.anonPost("/forgot-password", c, url.Values{csrfField: {"forged"}, "email": {"member@example.com"}}, "192.0.2.1:1"), http.StatusForbidden)
	c, token := f.formOf("/forgot-password")
	wantStatus(t, f.anonPost("/forgot-password", c, url.Values{csrfField: {token}, "email": {" "}}, "192.0.2.6:1"), http.StatusBadRequest)
}

// TestForgotPasswordFlood: requests for one address from many clients
// cannot get its owner's own request refused, nor fill its mailbox; the
// last link the flood had sent is still live when the owner asks.
func TestForgotPasswordFlood(t *testing.T) {
	mail := make(chanMailer, 10)
	f := newFixture(t, withMailer(mail), func(c *Config) {
		c.ForgotPerEmail = ForgotLimit{Every: 15 * time.Minute, Burst: 3}
	})
	ask := func(remoteAddr string) response {
		t.Helper()
		c, token := f.formOf("/forgot-password")
		return f.anonPost("/forgot-password", c, url.Values{csrfField: {token}, "email": {"member@example.com"}}, remoteAddr)
	}
	var last string
	for round := range 3 {
		mailed := 3
		if round > 0 {
			f.clock.Advance(15 * time.Minute)
			mailed = 1
		}
		for i := range 8 {
			wantStatus(t, ask("192.0.2."+itoa(int64(i+1))+":1"), http.StatusOK)
		}
		// A link is mailed per token of the address's bucket: three at
		// first, then one per 15 minutes.
		for range mailed {
			select {
			case m := <-mail:
				last = m.url
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: fewer links mailed than the limit allows", round)
			}
		}
		select {
		case m := <-mail:
			t.Fatalf("round %d: mailed %+v beyond the address's limit", round, m)
		case <-time.After(100 * time.Millisecond):
		}
	}
	r := ask("198.51.100.7:1")
	wantStatus(t, r, http.StatusOK)
	noBody(t, r, "Too many")
	wantStatus(t, f.get(roleAnon, strings.TrimPrefix(last, "http://flytrap.test")), http.StatusOK)
}

func TestForgotPasswordWithoutMail(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleAnon, "/forgot-password")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "flytrap users reset-password")
	noBody(t, r, `action="/forgot-password"`)
	c, token := f.formOf("/forgot-password")
	r = f.anonPost("/forgot-password", c, url.Values{csrfField: {token}, "email": {"member@example.com"}}, "192.0.2.1:1")
	wantStatus(t, r, http.StatusServiceUnavailable)
	wantBody(t, r, "flytrap users reset-password")
}

// TestKeyedLimiterBound: the limiter remembers at most maxLimiterKeys
// keys; it forgets full buckets to make room and otherwise refuses a new
// key rather than lift a limit in use.
func TestKeyedLimiterBound(t *testing.T) {
	k := newKeyedLimiter(ForgotLimit{Every: time.Minute, Burst: 1})
	for i := range maxLimiterKeys {
		if !k.allow(itoa(int64(i)), now) {
			t.Fatalf("key %d refused", i)
		}
	}
	if k.allow("one more", now) {
		t.Error("a new key was let in while every bucket is in use")
	}
	if k.allow("0", now) {
		t.Error("a used bucket was refilled")
	}
	if !k.allow("one more", now.Add(time.Minute)) || len(k.m) != 1 {
		t.Errorf("after the buckets refilled: %d keys remembered, want the new one only", len(k.m))
	}
}

// TestPasswordLinkPagesEscape: an address stored before addresses were
// checked is escaped on the admin's link panel and the set-password page.
func TestPasswordLinkPagesEscape(t *testing.T) {
	f := newFixture(t)
	hostile := f.createUser(`<script>alert(1)</script>@example.com`, store.RoleMember)
	r := f.post(roleAdmin, "/admin/users/"+itoa(hostile.ID)+"/reset-password", nil)
	r = f.follow(roleAdmin, r)
	wantStatus(t, r, http.StatusOK)
	noBody(t, r, "<script>alert(1)")
	wantBody(t, r, "&lt;script&gt;alert(1)&lt;/script&gt;@example.com")
	page := f.get(roleAnon, strings.TrimPrefix(linkRE.FindString(r.Body), "http://flytrap.test"))
	wantStatus(t, page, http.StatusOK)
	noBody(t, page, "<script>alert(1)")
	wantBody(t, page, "&lt;script&gt;alert(1)&lt;/script&gt;@example.com")
}

// TestAdminSignsUserOut: "Sign out everywhere" ends the user's sessions
// and the tokens made by signing in, which a reset link leaves working
// until it is used; the password and named tokens keep working.
func TestAdminSignsUserOut(t *testing.T) {
	f := newFixture(t)
	path := "/admin/users/" + itoa(f.member.ID) + "/sign-out"
	r := f.get(roleAdmin, "/admin/users")
	wantBody(t, r, `action="`+path+`"`)
	noBody(t, r, `action="/admin/users/`+itoa(f.admin.ID)+`/sign-out"`)
	login, _, err := f.db.IssueAPIToken(f.ctx, f.member.ID, store.NewAPIToken{Name: "cli", Origin: store.TokenSignIn})
	f.must(err)
	named, _, err := f.db.IssueAPIToken(f.ctx, f.member.ID, store.NewAPIToken{Name: "ci"})
	f.must(err)

	wantStatus(t, f.post(roleMember, path, nil), http.StatusNotFound)
	wantStatus(t, f.post(roleAdmin, "/admin/users/999999/sign-out", nil), http.StatusNotFound)
	if _, _, err := f.db.SessionUser(f.ctx, f.sessions[roleMember], time.Now()); err != nil {
		t.Fatalf("a refused sign-out ended the session: %v", err)
	}
	r = f.post(roleAdmin, path, nil)
	wantRedirect(t, r, "/admin/users")
	r = f.follow(roleAdmin, r)
	wantBody(t, r, "member@example.com is signed out everywhere", "1 API token made by signing in", "if the password may be known, also reset it")
	if _, _, err := f.db.SessionUser(f.ctx, f.sessions[roleMember], time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the member's session survived the sign-out: %v", err)
	}
	if _, err := f.db.UserByAPIToken(f.ctx, login); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a token made by signing in survived the sign-out: %v", err)
	}
	if _, err := f.db.UserByAPIToken(f.ctx, named); err != nil {
		t.Errorf("a named token stopped working: %v", err)
	}
	wantRedirect(t, f.login("member@example.com", password, "192.0.2.1:1", nil), "/projects")
}
