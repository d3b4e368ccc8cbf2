package dashboard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// now is the dashboard's clock in tests. Sessions expire by the store's
// real clock plus the TTL, so it must not be more than the TTL ahead of
// the real time; events are placed relative to it.
var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// password is every test user's password; hashing it once keeps fixtures
// fast (Argon2id with 64 MiB is deliberately slow).
const password = "correct horse battery"

var passwordHash = sync.OnceValue(func() string {
	h, err := auth.HashPassword(password)
	if err != nil {
		panic(err)
	}
	return h
})

// fakeClock is an adjustable time source.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// fixture is a dashboard over a real SQLite store holding two projects:
// "web", whose member is member, and "billing", whose member is outsider
// (a non-member of web). admin is an admin and a member of neither; lead
// is no admin user but an admin of web.
type fixture struct {
	t     testing.TB
	ctx   context.Context
	db    *store.DB
	d     *Dashboard
	clock *fakeClock

	admin, member, outsider, lead store.User
	web, billing                  store.Project
	webKey                        store.ProjectKey

	// issue has two events, event1 (older) and event2 (latest);
	// issue2 has one; otherIssue is billing's, with otherEvent.
	issue, issue2, otherIssue int64
	event1, event2            string
	otherEvent                string

	sessions map[string]string // role name → session token
}

// Role names of the fixture's users.
const (
	roleAdmin    = "admin"
	roleMember   = "member"
	roleOutsider = "outsider"
	roleLead     = "lead"
	roleAnon     = "anonymous"
)

func newFixture(t testing.TB, opts ...func(*Config)) *fixture {
	t.Helper()
	return newFixtureOn(t, filepath.Join(t.TempDir(), "flytrap.db"), opts...)
}

// newFixtureOn is newFixture over the database dsn names.
func newFixtureOn(t testing.TB, dsn string, opts ...func(*Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{t: t, ctx: ctx, db: db, clock: &fakeClock{t: now}, sessions: map[string]string{}}
	cfg := Config{Store: db, Now: f.clock.Now, PublicURL: "http://flytrap.test"}
	for _, o := range opts {
		o(&cfg)
	}
	f.d = New(cfg)

	f.admin = f.createUser("admin@example.com", store.RoleAdmin)
	f.member = f.createUser("member@example.com", store.RoleMember)
	f.outsider = f.createUser("outsider@example.com", store.RoleMember)
	f.lead = f.createUser("lead@example.com", store.RoleMember)
	f.web = f.createProject("web")
	f.billing = f.createProject("billing")
	f.must(db.AddMember(ctx, f.web.ID, f.member.ID, store.RoleMember))
	f.must(db.AddMember(ctx, f.billing.ID, f.outsider.ID, store.RoleMember))
	f.must(db.AddMember(ctx, f.web.ID, f.lead.ID, store.RoleAdmin))
	keys, err := db.ProjectKeys(ctx, store.System, f.web.ID)
	f.must(err)
	f.webKey = keys[0]

	f.event1, f.event2 = "11111111111111111111111111111111", "22222222222222222222222222222222"
	f.issue = f.save(sampleEvent(f.web.ID, f.event1, now.Add(-3*time.Hour))).IssueID
	ev2 := sampleEvent(f.web.ID, f.event2, now.Add(-time.Hour))
	ev2.Tags = []event.Tag{{Key: "browser", Value: "Chrome 130"}}
	f.save(ev2)
	f.issue2 = f.save(&event.Event{EventID: "33333333333333333333333333333333", ProjectID: f.web.ID, Level: "warning",
		Timestamp: now.Add(-2 * time.Hour), Received: now.Add(-2 * time.Hour), Environment: "staging",
		Exceptions: []event.Exception{{Type: "RangeError", Value: "invalid array length"}}}).IssueID
	f.otherEvent = "44444444444444444444444444444444"
	f.otherIssue = f.save(&event.Event{EventID: f.otherEvent, ProjectID: f.billing.ID, Level: "error",
		Timestamp: now.Add(-time.Hour), Received: now.Add(-time.Hour),
		Exceptions: []event.Exception{{Type: "KeyError", Value: "secret billing data"}}}).IssueID

	for role, u := range map[string]store.User{roleAdmin: f.admin, roleMember: f.member, roleOutsider: f.outsider, roleLead: f.lead} {
		token, _, err := db.CreateSession(ctx, u.ID, time.Hour*24)
		f.must(err)
		f.sessions[role] = token
	}
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) createUser(email, role string) store.User {
	f.t.Helper()
	u, err := f.db.CreateUser(f.ctx, email, passwordHash(), role)
	f.must(err)
	return u
}

func (f *fixture) createProject(name string) store.Project {
	f.t.Helper()
	p, err := f.db.CreateProject(f.ctx, name)
	f.must(err)
	_, err = f.db.CreateProjectKey(f.ctx, p.ID)
	f.must(err)
	return p
}

// save stores an event the way the processor would.
func (f *fixture) save(ev *event.Event) store.SaveResult {
	f.t.Helper()
	res, err := f.db.SaveEvent(f.ctx, store.SaveRequest{Event: ev, Fingerprint: ev.Title(), GroupingVersion: "test",
		Title: ev.Title(), Culprit: ev.Culprit(), UserKey: userKey(ev)})
	f.must(err)
	return res
}

func userKey(ev *event.Event) string {
	if ev.User == nil {
		return ""
	}
	return "id:" + ev.User.ID
}

func ptr[T any](v T) *T { return &v }

// sampleEvent is a realistic JavaScript error with every part the issue
// page shows.
func sampleEvent(projectID int64, id string, at time.Time) *event.Event {
	return &event.Event{
		EventID: id, ProjectID: projectID, Source: event.SourceSentry, Platform: "javascript",
		Timestamp: at, Received: at, Level: "error", Release: "shop@1.2.3", Environment: "production",
		ServerName: "web-1", Transaction: "GET /checkout",
		SDK:     &event.SDK{Name: "sentry.javascript.browser", Version: "8.0.0"},
		Handled: event.FlagNo,
		Tags:    []event.Tag{{Key: "browser", Value: "Firefox 120"}, {Key: "os", Value: "Linux"}},
		User:    &event.User{ID: "u-42", Email: "ada@example.com", Username: "ada", IPHash: "5f3a9c"},
		Request: &event.Request{Method: "POST", URL: "https://shop.example.com/checkout?step=2",
			Headers: [][2]string{{"User-Agent", "Mozilla/5.0"}, {"Accept", "text/html"}},
			Data:    json.RawMessage(`"{\"item\":\"book\",\"qty\":2}"`)},
		Contexts: json.RawMessage(`{"browser":{"name":"Firefox","version":"120.0","type":"browser"},"os":{"name":"Linux"},"cart":{"items":[{"sku":"A-1"}]}}`),
		Breadcrumbs: []event.Breadcrumb{
			{Timestamp: at.Add(-2 * time.Second), Category: "navigation", Message: "/cart -> /checkout"},
			{Timestamp: at.Add(-time.Second), Category: "xhr", Level: "info", Message: "POST /api/orders", Data: json.RawMessage(`{"status_code":500}`)},
		},
		Exceptions: []event.Exception{{
			Type: "TypeError", Value: "Cannot read properties of undefined (reading 'total')",
			Mechanism: &event.Mechanism{Type: "onerror", Handled: ptr(false)},
			Frames: []event.Frame{
				{Filename: "node_modules/react-dom/cjs/react-dom.development.js", Function: "invokeGuardedCallback", Lineno: 4164, InApp: ptr(false)},
				{Filename: "node_modules/react-dom/cjs/react-dom.development.js", Function: "commitRoot", Lineno: 3994, InApp: ptr(false)},
				{Filename: "src/checkout.js", AbsPath: "https://shop.example.com/static/checkout.js", Function: "submitOrder", Lineno: 42, Colno: 13, InApp: ptr(true),
					PreContext: []string{"function submitOrder(cart) {", "  const order = build(cart);"}, ContextLine: "  return order.summary.total;",
					PostContext: []string{"}", ""}},
			},
		}},
		Notes: []string{"no source map for checkout.js"},
	}
}

// response is a finished request.
type response struct {
	*http.Response
	Body string
}

// request describes one request to the dashboard.
type request struct {
	method, path string
	role         string     // whose session cookie; "" or roleAnon for none
	form         url.Values // a POST body; the CSRF token is added unless noCSRF
	noCSRF       bool
	header       map[string]string
	cookies      []*http.Cookie
	host         string // the Host header; "" for flytrap.test
}

// do serves a request in process.
func (f *fixture) do(r request) response {
	f.t.Helper()
	var body io.Reader
	form := url.Values{}
	for k, v := range r.form {
		form[k] = v
	}
	if r.method == "" {
		r.method = http.MethodGet
	}
	token := f.sessions[r.role]
	if r.method == http.MethodPost {
		if !r.noCSRF && token != "" && form.Get(csrfField) == "" {
			// As a page carries it (maskCSRF); TestCSRF sends the plain one.
			form.Set(csrfField, maskCSRF(f.csrf(token)))
		}
		body = strings.NewReader(form.Encode())
	}
	host := "flytrap.test"
	if r.host != "" {
		host = r.host
	}
	req := httptest.NewRequest(r.method, "http://"+host+r.path, body)
	if r.method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if token != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
	}
	for _, c := range r.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	f.d.ServeHTTP(rec, req)
	resp := rec.Result()
	return response{Response: resp, Body: rec.Body.String()}
}

func (f *fixture) get(role, path string) response {
	f.t.Helper()
	return f.do(request{role: role, path: path})
}

func (f *fixture) post(role, path string, form url.Values) response {
	f.t.Helper()
	return f.do(request{method: http.MethodPost, role: role, path: path, form: form})
}

// csrf is the CSRF token of a session.
func (f *fixture) csrf(token string) string {
	f.t.Helper()
	key, err := f.d.key(f.ctx)
	f.must(err)
	return sign(key, "session", token)
}

// wantStatus fails unless the response has the status.
func wantStatus(t testing.TB, r response, status int) {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("HTTP %d, want %d; Location %q; body:\n%s", r.StatusCode, status, r.Header.Get("Location"), excerpt(r.Body))
	}
}

// wantRedirect fails unless the response is a 303 to a location starting
// with prefix.
func wantRedirect(t testing.TB, r response, prefix string) {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, prefix) {
		t.Fatalf("redirect to %q, want %q...", loc, prefix)
	}
}

// wantBody fails unless the body contains every string.
func wantBody(t testing.TB, r response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.Body, s) {
			t.Errorf("body lacks %q:\n%s", s, excerpt(r.Body))
		}
	}
}

// noBody fails if the body contains any of the strings.
func noBody(t testing.TB, r response, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(r.Body, s) {
			t.Errorf("body contains %q", s)
		}
	}
}

var mainRE = regexp.MustCompile(`(?s)<main class="container">.*</main>`)

// excerpt is the <main> of a page, for failure messages.
func excerpt(body string) string {
	if m := mainRE.FindString(body); m != "" {
		body = m
	}
	if len(body) > 3000 {
		body = body[:3000] + "..."
	}
	return body
}

// flashOf returns the flash message a redirect set, as "kind: message";
// TestFlashSigned checks what the signature lets through.
func flashOf(t *testing.T, r response) string {
	t.Helper()
	for _, c := range r.Cookies() {
		if c.Name == flashCookie && c.Value != "" {
			payload, _, _ := strings.Cut(c.Value, ".")
			raw, err := base64.RawURLEncoding.DecodeString(payload)
			if err != nil {
				t.Fatalf("flash cookie %q: %v", c.Value, err)
			}
			kind, msg, _ := strings.Cut(string(raw), ":")
			return kind + ": " + msg
		}
	}
	return ""
}

func issuePath(id int64) string { return fmt.Sprintf("/issues/%d", id) }

// follow GETs where the redirect r points, as role, with the cookies r
// set (the flash, a sealed secret), as a browser does.
func (f *fixture) follow(role string, r response) response {
	f.t.Helper()
	wantStatus(f.t, r, http.StatusSeeOther)
	var cookies []*http.Cookie
	for _, c := range r.Cookies() {
		if c.MaxAge >= 0 && c.Value != "" {
			cookies = append(cookies, c)
		}
	}
	return f.do(request{role: role, path: r.Header.Get("Location"), cookies: cookies})
}
