package dashboard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

var (
	metaCSRF  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)
	fieldCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)
)

// loginForm fetches the sign-in page as a fresh browser would and returns
// its login cookie and the form's token.
func (f *fixture) loginForm(cookies ...*http.Cookie) (*http.Cookie, string) {
	f.t.Helper()
	r := f.do(request{path: "/login", cookies: cookies})
	wantStatus(f.t, r, http.StatusOK)
	m := fieldCSRF.FindStringSubmatch(r.Body)
	if m == nil {
		f.t.Fatalf("login form has no CSRF field:\n%s", r.Body)
	}
	for _, c := range r.Cookies() {
		if strings.HasSuffix(c.Name, loginCookie) {
			return c, m[1]
		}
	}
	if len(cookies) > 0 {
		return cookies[0], m[1]
	}
	f.t.Fatal("login page set no login cookie")
	return nil, ""
}

// login posts the sign-in form from remoteAddr.
func (f *fixture) login(email, pw, remoteAddr string, extra url.Values) response {
	f.t.Helper()
	c, token := f.loginForm()
	form := url.Values{"email": {email}, "password": {pw}, csrfField: {token}}
	for k, v := range extra {
		form[k] = v
	}
	req := httptest.NewRequest(http.MethodPost, "http://flytrap.test/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = remoteAddr
	req.AddCookie(c)
	rec := httptest.NewRecorder()
	f.d.ServeHTTP(rec, req)
	return response{Response: rec.Result(), Body: rec.Body.String()}
}

func cookieNamed(r response, suffix string) *http.Cookie {
	for _, c := range r.Cookies() {
		if strings.HasSuffix(c.Name, suffix) {
			return c
		}
	}
	return nil
}

func TestLoginSetsSessionCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		t.Run("secure="+strconv.FormatBool(secure), func(t *testing.T) {
			f := newFixture(t, func(c *Config) { c.SecureCookies = secure })
			r := f.login("Member@Example.com", password, "192.0.2.1:1234", url.Values{"next": {"/projects/1/issues?status=all"}})
			wantRedirect(t, r, "/projects/1/issues?status=all")
			c := cookieNamed(r, sessionCookie)
			if c == nil {
				t.Fatal("no session cookie")
			}
			wantName := sessionCookie
			if secure {
				wantName = "__Host-" + sessionCookie
			}
			if c.Name != wantName || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure != secure || c.Domain != "" {
				t.Errorf("cookie %+v: want %s, HttpOnly, SameSite=Lax, Path=/, Secure=%v, no Domain", c, wantName, secure)
			}
			if len(c.Value) < 32 {
				t.Errorf("session token %q is too short to be random", c.Value)
			}
			if d := time.Duration(c.MaxAge) * time.Second; d < 13*24*time.Hour || d > 15*24*time.Hour {
				t.Errorf("cookie lasts %v, want about 14 days", d)
			}
			// The cookie signs in; the store keeps only a hash of it.
			u, _, err := f.db.SessionUser(f.ctx, c.Value, time.Now())
			if err != nil || u.ID != f.member.ID {
				t.Fatalf("SessionUser = %v, %v", u.Email, err)
			}
			var n int
			f.must(f.db.SQL().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, c.Value).Scan(&n))
			if n != 0 {
				t.Error("the store keeps the session token in the clear")
			}
			if lc := cookieNamed(r, loginCookie); lc == nil || lc.MaxAge >= 0 {
				t.Errorf("login cookie not cleared after sign-in: %+v", lc)
			}
		})
	}
}

func TestLoginFailuresLookTheSame(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ name, email, pw string }{
		{"wrong password", "member@example.com", "wrong password"},
		{"unknown email", "nobody@example.com", password},
		{"empty password", "member@example.com", ""},
		{"empty email", "", password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.login(tt.email, tt.pw, "192.0.2.10:1", nil)
			wantStatus(t, r, http.StatusUnauthorized)
			wantBody(t, r, "Invalid email or password.")
			if c := cookieNamed(r, sessionCookie); c != nil {
				t.Errorf("failed login set a session cookie")
			}
		})
	}
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	tests := map[string]string{
		"/projects/1/issues":           "/projects/1/issues",
		"//evil.example/x":             "/projects",
		`/\evil.example`:               "/projects",
		"https://evil.example/":        "/projects",
		"javascript:alert(1)":          "/projects",
		"/login":                       "/projects",
		"":                             "/projects",
		"/issues/3?event=abc#frag":     "/issues/3?event=abc#frag",
		"/ok\r\nSet-Cookie: x=1":       "/projects",
		"relative/path":                "/projects",
		"/%2F%2Fevil.example/encoded":  "/%2F%2Fevil.example/encoded",
		"/admin/users?next=//evil.com": "/admin/users?next=//evil.com",
	}
	for next, want := range tests {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
	f := newFixture(t)
	r := f.login("member@example.com", password, "192.0.2.1:1", url.Values{"next": {"//evil.example/"}})
	wantRedirect(t, r, "/projects")
	if loc := r.Header.Get("Location"); loc != "/projects" {
		t.Errorf("Location %q", loc)
	}
}

// Finding 4: next was checked before http.Redirect cleaned it, so
// /login?next=/./%5Cevil.example answered Location: /\evil.example, which
// browsers follow to another host. The Location header the handler writes
// is what counts, both after signing in and for a visitor who already is.
func TestLoginRedirectLocation(t *testing.T) {
	tests := []struct{ query, want string }{ // query: next as it appears in a URL
		{"/projects/1/issues%3Fx%3Dy", "/projects/1/issues?x=y"},
		{"/issues/3%3Fevent%3Dabc%23frag", "/issues/3?event=abc#frag"},
		{"/./%5Cevil.example", "/projects"},
		{"/.%5Cevil.example", "/projects"},
		{"/../%5Cevil.example", "/projects"},
		{"/%5C/evil.example", "/projects"},
		{"/./%255Cevil.example", "/%5Cevil.example"},
		{"//evil", "/projects"},
		{"/.//evil", "/evil"},
		{"/./evil/..//evil", "/evil"},
		{"/%2F%2Fevil", "/projects"},
		{"/%252F%252Fevil", "/%2F%2Fevil"},
		{"https://evil", "/projects"},
		{"https:evil", "/projects"},
		{"javascript:alert(1)", "/projects"},
		{"/%09/evil.example", "/projects"},
		{"/%0A/evil.example", "/projects"},
		{"%0D%0A//evil", "/projects"},
		{"%20//evil", "/projects"},
		{"/ok%0D%0ASet-Cookie:%20x=1", "/projects"},
		{"%00//evil", "/projects"},
		{"/./login", "/projects"},
		{"", "/projects"},
	}
	f := newFixture(t)
	for i, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			next, err := url.QueryUnescape(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			// Each from its own client, so no throttle decides the outcome.
			r := f.login("member@example.com", password, "192.0.2."+strconv.Itoa(i+1)+":1", url.Values{"next": {next}})
			wantStatus(t, r, http.StatusSeeOther)
			if loc := r.Header.Get("Location"); loc != tt.want {
				t.Errorf("after sign-in: Location %q, want %q", loc, tt.want)
			}
			r = f.get(roleMember, "/login?next="+tt.query)
			wantStatus(t, r, http.StatusSeeOther)
			if loc := r.Header.Get("Location"); loc != tt.want {
				t.Errorf("signed in already: Location %q, want %q", loc, tt.want)
			}
		})
	}
}

func TestLoginRequiresFormToken(t *testing.T) {
	f := newFixture(t)
	c, token := f.loginForm()
	other, _ := f.loginForm()
	tests := []struct {
		name   string
		cookie *http.Cookie
		token  string
		header map[string]string
	}{
		{"no token", c, "", nil},
		{"no cookie", nil, token, nil},
		{"token of another cookie", other, token, nil},
		{"cross-site", c, token, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"foreign origin", c, token, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := request{method: http.MethodPost, path: "/login", header: tt.header,
				form: url.Values{"email": {"member@example.com"}, "password": {password}, csrfField: {tt.token}}}
			if tt.cookie != nil {
				req.cookies = []*http.Cookie{tt.cookie}
			}
			r := f.do(req)
			wantStatus(t, r, http.StatusForbidden)
			if cookieNamed(r, sessionCookie) != nil {
				t.Error("refused login set a session cookie")
			}
		})
	}
	// A second visit to the form reuses the cookie, so two open tabs both
	// work: their tokens differ only by their masks (maskCSRF).
	c2, token2 := f.loginForm(c)
	key, err := f.d.key(f.ctx)
	f.must(err)
	if want := sign(key, "login", c.Value); c2.Value != c.Value || !csrfEqual(token, want) || !csrfEqual(token2, want) {
		t.Errorf("revisiting /login changed the login token")
	}
}

func TestLoginThrottling(t *testing.T) {
	const slow = 200 * time.Millisecond
	f := newFixture(t, func(c *Config) {
		c.LoginLimit = LoginLimit{PerEmail: 2, PerIP: 3, Window: 15 * time.Minute, SlowDown: slow}
	})
	const guesser = "192.0.2.1:1000"
	for range 2 {
		wantStatus(t, f.login("member@example.com", "wrong", guesser, nil), http.StatusUnauthorized)
		f.clock.Advance(time.Minute)
	}
	// The client that guessed is refused for that address, even with the
	// right password.
	r := f.login("member@example.com", password, guesser, nil)
	wantStatus(t, r, http.StatusTooManyRequests)
	// The first failure was at 12:00 and counts until 12:15; it is 12:02.
	if ra := r.Header.Get("Retry-After"); ra != "780" {
		t.Errorf("Retry-After %q, want 780", ra)
	}
	wantBody(t, r, "Too many failed sign-ins")
	// The owner, elsewhere, still gets in, held for the slow-down because
	// the address is being guessed.
	start := time.Now()
	wantRedirect(t, f.login("member@example.com", password, "198.51.100.7:1000", nil), "/projects")
	if d := time.Since(start); d < slow {
		t.Errorf("sign-in for a guessed address took %v, want at least the %v slow-down", d, slow)
	}
	// The guesser may still sign in to another account: its own limit
	// (3) is not reached.
	wantRedirect(t, f.login("admin@example.com", password, guesser, nil), "/projects")

	f.clock.Advance(13*time.Minute + time.Second)
	wantRedirect(t, f.login("member@example.com", password, guesser, nil), "/projects")

	// Per client: guessing many accounts from one address is stopped
	// too, and IPv6 addresses count per /64.
	for i := range 3 {
		r := f.login("user"+strconv.Itoa(i)+"@example.com", "wrong", "[2001:db8:1:2::"+strconv.Itoa(i+1)+"]:443", nil)
		wantStatus(t, r, http.StatusUnauthorized)
	}
	r = f.login("admin@example.com", password, "[2001:db8:1:2:ffff::1]:443", nil)
	wantStatus(t, r, http.StatusTooManyRequests)
	wantRedirect(t, f.login("admin@example.com", password, "[2001:db8:1:3::1]:443", nil), "/projects")
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	r := f.post(roleMember, "/logout", nil)
	wantRedirect(t, r, "/login")
	if c := cookieNamed(r, sessionCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}
	// The session is gone from the store, not just from the browser.
	wantRedirect(t, f.get(roleMember, "/projects"), "/login")
	// Logout is a POST with a CSRF token, so a link cannot sign anyone out.
	r = f.do(request{method: http.MethodPost, role: roleAdmin, path: "/logout", noCSRF: true})
	wantStatus(t, r, http.StatusForbidden)
	wantStatus(t, f.get(roleAdmin, "/projects"), http.StatusOK)
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	wantStatus(t, f.get(roleMember, "/projects"), http.StatusOK)
	// The fixture's sessions last a day from the real time of their
	// creation; move the dashboard's clock past that.
	f.clock.Set(time.Now().Add(25 * time.Hour))
	r := f.get(roleMember, "/projects?x=1")
	wantRedirect(t, r, "/login?next=%2Fprojects%3Fx%3D1")
	if _, err := f.d.SessionAuth(sessionRequest(f, roleMember, http.MethodGet)); !errors.Is(err, ErrNoSession) {
		t.Errorf("SessionAuth of an expired session: %v", err)
	}
}

func TestAnonymousIsSentToLogin(t *testing.T) {
	f := newFixture(t)
	wantRedirect(t, f.get(roleAnon, "/"), "/login")
	wantRedirect(t, f.get(roleMember, "/"), "/projects")
	wantRedirect(t, f.get(roleAnon, issuePath(f.issue)), "/login?next=%2Fissues%2F")
	wantRedirect(t, f.do(request{method: http.MethodPost, path: issuePath(f.issue) + "/status", form: url.Values{"status": {"resolved"}}}), "/login")
	// Signed in, /login goes on to the app.
	wantRedirect(t, f.get(roleMember, "/login?next=/account"), "/account")
	// A bogus cookie is no session.
	r := f.do(request{path: "/projects", cookies: []*http.Cookie{{Name: sessionCookie, Value: "forged"}}})
	wantRedirect(t, r, "/login")
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	other, _, err := f.db.CreateSession(f.ctx, f.member.ID, time.Hour)
	f.must(err)
	tests := []struct {
		name               string
		current, new, conf string
		status             int
		msg                string
	}{
		{"too short", password, "short", "short", 400, "at least 8 characters"},
		{"mismatch", password, "new password 1", "new password 2", 400, "do not match"},
		{"wrong current", "nope nope", "new password 1", "new password 1", 400, "not correct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.post(roleMember, "/account/password", url.Values{"current": {tt.current}, "new": {tt.new}, "confirm": {tt.conf}})
			wantStatus(t, r, tt.status)
			wantBody(t, r, tt.msg)
		})
	}
	// Tokens: two minted by password sign-ins (flytrap login), which the
	// change revokes, and one created by name, which it keeps.
	var signIns []string
	for _, name := range []string{"laptop", "desktop"} {
		tok, _, err := f.db.IssueAPIToken(f.ctx, f.member.ID, store.NewAPIToken{Name: name, Origin: store.TokenSignIn})
		f.must(err)
		signIns = append(signIns, tok)
	}
	named, _, err := f.db.IssueAPIToken(f.ctx, f.member.ID, store.NewAPIToken{Name: "ci"})
	f.must(err)
	r := f.post(roleMember, "/account/password", url.Values{"current": {password}, "new": {"a much better one"}, "confirm": {"a much better one"}})
	wantRedirect(t, r, "/account")
	got := flashOf(t, r)
	for _, want := range []string{"Password changed", "other browser sessions were signed out",
		"The 2 API tokens made by signing in with your password (flytrap login) were revoked", "API tokens you created by name still work"} {
		if !strings.Contains(got, want) {
			t.Errorf("flash %q, want it to say %q", got, want)
		}
	}
	for _, tok := range signIns {
		if _, _, err := f.db.TokenOwner(f.ctx, tok); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a sign-in token survived the password change: %v", err)
		}
	}
	if _, _, err := f.db.TokenOwner(f.ctx, named); err != nil {
		t.Errorf("the token created by name was revoked: %v", err)
	}
	// This session stays; the other one is signed out.
	wantStatus(t, f.get(roleMember, "/account"), http.StatusOK)
	if _, _, err := f.db.SessionUser(f.ctx, other, time.Now()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("other session survived the password change: %v", err)
	}
	wantStatus(t, f.login("member@example.com", password, "192.0.2.1:1", nil), http.StatusUnauthorized)
	wantRedirect(t, f.login("member@example.com", "a much better one", "192.0.2.1:1", nil), "/projects")
}

func TestChangePasswordIsThrottled(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.LoginLimit.PerEmail = 2 })
	for range 2 {
		r := f.post(roleMember, "/account/password", url.Values{"current": {"guess guess"}, "new": {"new password 1"}, "confirm": {"new password 1"}})
		wantStatus(t, r, http.StatusBadRequest)
	}
	r := f.post(roleMember, "/account/password", url.Values{"current": {password}, "new": {"new password 1"}, "confirm": {"new password 1"}})
	wantStatus(t, r, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	path := issuePath(f.issue) + "/status"
	tests := []struct {
		name   string
		token  string
		header map[string]string
	}{
		{"missing token", "", nil},
		{"wrong token", "not-the-token", nil},
		{"another session's token", f.csrf(f.sessions[roleAdmin]), nil},
		{"cross-site fetch", f.csrf(f.sessions[roleMember]), map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site fetch from a sibling", f.csrf(f.sessions[roleMember]), map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign origin", f.csrf(f.sessions[roleMember]), map[string]string{"Origin": "https://evil.example"}},
		{"null origin", f.csrf(f.sessions[roleMember]), map[string]string{"Origin": "null"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"status": {"resolved"}}
			if tt.token != "" {
				form.Set(csrfField, tt.token)
			}
			r := f.do(request{method: http.MethodPost, role: roleMember, path: path, form: form, noCSRF: true, header: tt.header})
			wantStatus(t, r, http.StatusForbidden)
			wantBody(t, r, "Request refused")
			if is, _ := f.db.GetIssue(f.ctx, store.System, f.issue); is.Status != store.StatusUnresolved {
				t.Fatalf("refused request changed the issue to %s", is.Status)
			}
		})
	}
	// The right token in the form or in the header, same-origin or from
	// the configured public URL, is accepted.
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "same-origin", "Origin": "http://flytrap.test"},
		{"Origin": "http://flytrap.test"},
		{CSRFHeader: f.csrf(f.sessions[roleMember])},
	} {
		form := url.Values{"status": {"resolved"}}
		noCSRF := h[CSRFHeader] != ""
		r := f.do(request{method: http.MethodPost, role: roleMember, path: path, form: form, noCSRF: noCSRF, header: h})
		wantRedirect(t, r, issuePath(f.issue))
	}
	// Every page carries the token for scripts and forms.
	r := f.get(roleMember, issuePath(f.issue))
	m := metaCSRF.FindStringSubmatch(r.Body)
	if m == nil || !csrfEqual(m[1], f.csrf(f.sessions[roleMember])) {
		t.Errorf("csrf-token meta = %v", m)
	}
	for _, fm := range fieldCSRF.FindAllStringSubmatch(r.Body, -1) {
		if fm[1] != m[1] {
			t.Errorf("form token %q differs from the meta token", fm[1])
		}
	}
	if n := strings.Count(r.Body, `<form method="post"`); n != len(fieldCSRF.FindAllString(r.Body, -1)) {
		t.Errorf("%d post forms but %d CSRF fields", n, len(fieldCSRF.FindAllString(r.Body, -1)))
	}
}

// sessionRequest is a request with role's session cookie.
func sessionRequest(f *fixture, role, method string) *http.Request {
	req := httptest.NewRequest(method, "http://flytrap.test/api/v1/issues/1", nil)
	if token := f.sessions[role]; token != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	}
	return req
}

func TestSessionAuth(t *testing.T) {
	f := newFixture(t)
	token := f.csrf(f.sessions[roleMember])
	tests := []struct {
		name    string
		role    string
		method  string
		header  map[string]string
		wantErr error
	}{
		{"GET with session", roleMember, http.MethodGet, nil, nil},
		{"HEAD needs no token", roleMember, http.MethodHead, nil, nil},
		{"no cookie", roleAnon, http.MethodGet, nil, ErrNoSession},
		{"PATCH without token", roleMember, http.MethodPatch, nil, ErrCSRF},
		{"DELETE with wrong token", roleMember, http.MethodDelete, map[string]string{CSRFHeader: "x"}, ErrCSRF},
		{"PATCH with token", roleMember, http.MethodPatch, map[string]string{CSRFHeader: token}, nil},
		{"POST with token, cross-site", roleMember, http.MethodPost, map[string]string{CSRFHeader: token, "Sec-Fetch-Site": "cross-site"}, ErrCSRF},
		{"POST with token, foreign Origin", roleMember, http.MethodPost, map[string]string{CSRFHeader: token, "Origin": "http://evil.example"}, ErrCSRF},
		{"POST with token, same origin", roleMember, http.MethodPost, map[string]string{CSRFHeader: token, "Sec-Fetch-Site": "same-origin"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sessionRequest(f, tt.role, tt.method)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			u, err := f.d.SessionAuth(req)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr != nil) != (err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && u.ID != f.member.ID {
				t.Errorf("user %d, want %d", u.ID, f.member.ID)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	for _, r := range []response{f.get(roleMember, "/projects"), f.get(roleAnon, "/login"), f.get(roleAnon, "/static/app.css"), f.get(roleMember, "/nope")} {
		h := r.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self';", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("CSP %q lacks %q", csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("CSP allows unsafe sources: %q", csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("headers %v", h)
		}
	}
	r := f.get(roleMember, "/projects")
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("signed-in page Cache-Control %q, want no-store", cc)
	}
}

// TestDatabaseUnavailablePage: with PostgreSQL cut off, a signed-in page is
// a 503 that says to reload, not the 500 of a bug; with it back, the page
// works without a restart.
func TestDatabaseUnavailablePage(t *testing.T) {
	ctx := context.Background()
	proxy, dsn := pgtest.NewProxy(t, pgtest.URL(t))
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	u, err := db.CreateUser(ctx, "admin@example.com", "x", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateSession(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	d := New(Config{Store: db, PublicURL: "http://flytrap.test", Log: slog.New(slog.NewTextHandler(&logs, nil)), RequestTimeout: time.Second})
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "http://flytrap.test/projects", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		return rec
	}
	if rec := get(); rec.Code != 200 {
		t.Fatalf("with the database up: HTTP %d", rec.Code)
	}
	proxy.Down()
	if rec := get(); rec.Code != 503 || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "Database unavailable") {
		t.Errorf("with the database down: HTTP %d, Retry-After %q:\n%s", rec.Code, rec.Header().Get("Retry-After"), excerpt(rec.Body.String()))
	}
	get()
	if n := strings.Count(logs.String(), "database unavailable"); n != 1 {
		t.Errorf("%d warnings for two refused pages, want 1", n)
	}
	proxy.Up()
	if rec := get(); rec.Code != 200 {
		t.Errorf("with the database back: HTTP %d", rec.Code)
	}
	// A database that stops answering: a 503 at the request's deadline.
	proxy.Stall()
	start := time.Now()
	if rec := get(); rec.Code != 503 || time.Since(start) > 5*time.Second {
		t.Errorf("with the database hanging: HTTP %d after %v, want 503 at the 1 s deadline", rec.Code, time.Since(start).Round(time.Millisecond))
	}
	proxy.Resume()
	if rec := get(); rec.Code != 200 {
		t.Errorf("with the database answering again: HTTP %d", rec.Code)
	}
}
