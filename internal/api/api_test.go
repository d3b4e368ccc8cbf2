package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type fixture struct {
	db          *store.DB
	srv         *httptest.Server
	adminToken  string
	memberToken string
	outsider    string // token of a user who is a member of no project
	leadToken   string // token of lead, project's admin but no admin user
	// memberReadToken is a read-only token of the member's, and
	// memberExpired one that expired.
	memberReadToken, memberExpired string
	admin                          store.User
	member                         store.User // member of project
	outsiderU                      store.User
	spare                          store.User // member of project and other, for changing
	lead                           store.User // admin of project, no admin user
	// memberSession is the member's dashboard session (the cookie value).
	memberSession string
	// Further tokens of the admin and the member, for deleting.
	adminSpareToken, memberSpareToken int64
	project                           store.Project
	other                             store.Project
	issueA                            int64 // in project, environment production
	issueB                            int64 // in project, environment staging
	otherIssue                        int64 // in other project
	eventA                            string
	otherEvent                        string
	// The default email channel and new-issue rule of each project.
	channel, rule, otherChannel, otherRule int64
}

func saveEvent(t *testing.T, db *store.DB, projectID int64, id, typ, msg, env string, tags ...event.Tag) store.SaveResult {
	t.Helper()
	ev := &event.Event{
		EventID: id, ProjectID: projectID, Source: event.SourceSentry, Timestamp: now.Add(-time.Hour), Received: now.Add(-time.Hour),
		Level: "error", Environment: env, Release: "app@1", Tags: tags,
		Exceptions: []event.Exception{{Type: typ, Value: msg, Frames: []event.Frame{{Filename: "app.js", Function: "run", Lineno: 3}}}},
	}
	res, err := db.SaveEvent(context.Background(), store.SaveRequest{
		Event: ev, Fingerprint: typ, GroupingVersion: "test", Title: ev.Title(), Culprit: ev.Culprit(), UserKey: "id:" + id[:4],
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// sessionCookie and csrfHeader stand in for the dashboard's session cookie
// and CSRF token in testSessionAuth.
const (
	sessionCookie = "flytrap_session"
	csrfHeader    = "X-Test-CSRF"
)

// testSessionAuth is a SessionAuth over the store's real sessions; unsafe
// methods must carry csrfHeader, as the dashboard's asks for its token.
func testSessionAuth(db *store.DB) SessionAuth {
	return func(r *http.Request) (store.User, error) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			return store.User{}, store.ErrNotFound
		}
		u, _, err := db.SessionUser(r.Context(), c.Value, time.Now())
		if err != nil {
			return store.User{}, err
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Header.Get(csrfHeader) != "1" {
			return store.User{}, fmt.Errorf("session of user %d: %w", u.ID, ErrCSRF)
		}
		return u, nil
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "api.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{db: db}
	f.admin, _ = db.CreateUser(ctx, "admin@example.com", "x", store.RoleAdmin)
	f.member, _ = db.CreateUser(ctx, "member@example.com", "x", store.RoleMember)
	f.outsiderU, _ = db.CreateUser(ctx, "outsider@example.com", "x", store.RoleMember)
	f.spare, _ = db.CreateUser(ctx, "spare@example.com", "x", store.RoleMember)
	f.lead, _ = db.CreateUser(ctx, "lead@example.com", "x", store.RoleMember)
	f.leadToken, _, _ = db.CreateAPIToken(ctx, f.lead.ID, "t")
	f.adminToken, _, _ = db.CreateAPIToken(ctx, f.admin.ID, "t")
	f.memberToken, _, _ = db.CreateAPIToken(ctx, f.member.ID, "t")
	f.outsider, _, _ = db.CreateAPIToken(ctx, f.outsiderU.ID, "t")
	f.memberReadToken, _, _ = db.IssueAPIToken(ctx, f.member.ID, store.NewAPIToken{Name: "read", Scope: store.ScopeReadOnly})
	expired := time.Now().Add(-time.Minute)
	f.memberExpired, _, _ = db.IssueAPIToken(ctx, f.member.ID, store.NewAPIToken{Name: "old", ExpiresAt: &expired})
	_, spare, _ := db.CreateAPIToken(ctx, f.admin.ID, "spare")
	f.adminSpareToken = spare.ID
	_, spare, _ = db.CreateAPIToken(ctx, f.member.ID, "spare")
	f.memberSpareToken = spare.ID
	if f.memberSession, _, err = db.CreateSession(ctx, f.member.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	if f.project, err = db.CreateProject(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	f.other, _ = db.CreateProject(ctx, "billing")
	for _, m := range []struct {
		p    store.Project
		u    store.User
		role string
	}{{f.project, f.member, store.RoleMember}, {f.project, f.spare, store.RoleMember}, {f.other, f.spare, store.RoleMember}, {f.project, f.lead, store.RoleAdmin}} {
		if err := db.AddMember(ctx, m.p.ID, m.u.ID, m.role); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []store.Project{f.project, f.other} {
		if _, err := db.CreateProjectKey(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	f.eventA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1"
	f.issueA = saveEvent(t, db, f.project.ID, f.eventA, "TypeError", "x is undefined", "production", event.Tag{Key: "browser", Value: "Firefox 120"}).IssueID
	saveEvent(t, db, f.project.ID, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", "TypeError", "x is undefined", "production", event.Tag{Key: "browser", Value: "Chrome 130"})
	f.issueB = saveEvent(t, db, f.project.ID, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1", "RangeError", "bad length", "staging").IssueID
	f.otherEvent = "ccccccccccccccccccccccccccccccc1"
	f.otherIssue = saveEvent(t, db, f.other.ID, f.otherEvent, "KeyError", "secret", "production").IssueID
	f.channel, f.rule = defaultAlerts(t, db, f.project.ID)
	f.otherChannel, f.otherRule = defaultAlerts(t, db, f.other.ID)
	f.srv = httptest.NewServer(New(db, nil, func() time.Time { return now }).WithSessionAuth(testSessionAuth(db)))
	t.Cleanup(f.srv.Close)
	return f
}

// bearer authenticates a request with an API token.
func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

// TestBearerSchemeAnyCase: the API reads the token whatever the case of
// the scheme's name, which RFC 9110 makes case-insensitive.
func TestBearerSchemeAnyCase(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		header string
		want   int
	}{
		{"Bearer " + f.memberToken, 200},
		{"bearer " + f.memberToken, 200},
		{"BEARER " + f.memberToken, 200},
		{"bEARER  " + f.memberToken + " ", 200},
		{"bearer ", 401},
		{"Basic " + f.memberToken, 401},
		{"bearer nope", 401},
	} {
		code, _, out := f.send(t, "GET", "/api/v1/projects", "", func(r *http.Request) { r.Header.Set("Authorization", tc.header) })
		if code != tc.want {
			t.Errorf("Authorization: %.12s…: %d %v, want %d", tc.header, code, out, tc.want)
		}
	}
}

// session authenticates a request with a session cookie, and with the
// CSRF proof when csrf is set.
func session(cookie string, csrf bool) func(*http.Request) {
	return func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
		if csrf {
			r.Header.Set(csrfHeader, "1")
		}
	}
}

// send makes a request, authenticated by the auth functions, and decodes
// the JSON answer.
func (f *fixture) send(t *testing.T, method, path, body string, auth ...func(*http.Request)) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	for _, a := range auth {
		a(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %s: Content-Type %q, body %s", method, path, ct, raw)
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// do makes a request with a bearer token, or none when token is "".
func (f *fixture) do(t *testing.T, token, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	if token == "" {
		return f.send(t, method, path, body)
	}
	return f.send(t, method, path, body, bearer(token))
}

// route is one request of the authorization matrix and the status each
// caller gets: the admin, a member of project (not of other), and a user
// who belongs to no project.
type route struct {
	method, path, body      string
	admin, member, outsider int
}

// routes returns a request for every /api/v1 route, against project and
// against other (whose IDs a member of project must not reach), with IDs
// taken from f.
func routes(f *fixture) []route {
	p, o := fmt.Sprintf("/api/v1/projects/%d", f.project.ID), fmt.Sprintf("/api/v1/projects/%d", f.other.ID)
	i, oi := fmt.Sprintf("/api/v1/issues/%d", f.issueA), fmt.Sprintf("/api/v1/issues/%d", f.otherIssue)
	bulk := func(id int64) string { return fmt.Sprintf(`{"ids":[%d],"status":"resolved"}`, id) }
	merge := func(a, b int64) string { return fmt.Sprintf(`{"ids":[%d,%d]}`, a, b) }
	const missing = "/999999"
	return append([]route{
		{"GET", "/api/v1/projects", "", 200, 200, 200},
		{"GET", p + "/issues", "", 200, 200, 404},
		{"GET", o + "/issues", "", 200, 404, 404},
		{"GET", i, "", 200, 200, 404},
		{"GET", oi, "", 200, 404, 404},
		{"GET", "/api/v1/issues" + missing, "", 404, 404, 404},
		{"PATCH", i, `{"status":"ignored"}`, 200, 200, 404},
		{"PATCH", oi, `{"status":"ignored"}`, 200, 404, 404},
		{"DELETE", i, "", 204, 204, 404},
		{"DELETE", oi, "", 204, 404, 404},
		{"GET", i + "/events", "", 200, 200, 404},
		{"GET", oi + "/events", "", 200, 404, 404},
		{"GET", i + "/feedback", "", 200, 200, 404},
		{"GET", oi + "/feedback", "", 200, 404, 404},
		{"GET", "/api/v1/issues" + missing + "/feedback", "", 404, 404, 404},
		{"GET", i + "/activity", "", 200, 200, 404},
		{"GET", oi + "/activity", "", 200, 404, 404},
		{"POST", i + "/comments", `{"text":"on it"}`, 201, 201, 404},
		{"POST", oi + "/comments", `{"text":"on it"}`, 201, 404, 404},
		{"PATCH", i + "/comments/999999", `{"text":"on it"}`, 404, 404, 404},
		{"DELETE", oi + "/comments/999999", "", 404, 404, 404},
		{"GET", p + "/feedback", "", 200, 200, 404},
		{"GET", o + "/feedback", "", 200, 404, 404},
		{"GET", "/api/v1/projects" + missing + "/feedback", "", 404, 404, 404},
		{"GET", p + "/releases", "", 200, 200, 404},
		{"GET", o + "/releases", "", 200, 404, 404},
		{"GET", p + "/releases/app@1", "", 200, 200, 404},
		{"GET", o + "/releases/app@1", "", 200, 404, 404},
		{"GET", p + "/releases/app@9", "", 404, 404, 404},
		{"POST", p + "/releases", `{"version":"app@2"}`, 201, 201, 404},
		{"POST", p + "/releases", `{"version":"app@1"}`, 200, 200, 404},
		{"POST", o + "/releases", `{"version":"app@2"}`, 201, 404, 404},
		{"PATCH", p + "/releases/app@1", `{"date_released":"2026-11-20T10:00:00Z"}`, 200, 200, 404},
		{"PATCH", o + "/releases/app@1", `{"date_released":"2026-11-20T10:00:00Z"}`, 200, 404, 404},
		{"PATCH", p + "/releases/app@9", `{"date_released":"2026-11-20T10:00:00Z"}`, 404, 404, 404},
		{"POST", p + "/releases/app@1/deploys", `{"environment":"production"}`, 201, 201, 404},
		{"POST", o + "/releases/app@1/deploys", `{"environment":"production"}`, 201, 404, 404},
		{"POST", p + "/releases/app@9/deploys", `{"environment":"production"}`, 404, 404, 404},
		{"GET", p + "/releases/app@1/deploys", "", 200, 200, 404},
		{"GET", o + "/releases/app@1/deploys", "", 200, 404, 404},
		{"GET", p + "/monitors", "", 200, 200, 404},
		{"GET", o + "/monitors", "", 200, 404, 404},
		{"GET", p + "/monitors/nightly", "", 404, 404, 404},
		{"DELETE", p + "/monitors/nightly", "", 404, 403, 404},
		{"GET", "/api/v1/events?since=2h", "", 200, 200, 200},
		{"GET", "/api/v1/events?project=" + strconv.FormatInt(f.other.ID, 10), "", 200, 404, 404},
		{"GET", "/api/v1/events/" + f.eventA, "", 200, 200, 404},
		{"GET", "/api/v1/events/" + f.otherEvent, "", 200, 404, 404},
		{"GET", p + "/events/" + f.eventA, "", 200, 200, 404},
		{"GET", o + "/events/" + f.otherEvent, "", 200, 404, 404},
		{"GET", p + "/events/" + f.otherEvent, "", 404, 404, 404},

		{"GET", "/api/v1/me", "", 200, 200, 200},
		{"GET", "/api/v1/users", "", 200, 403, 403},
		{"POST", "/api/v1/users", `{"email":"new@example.com","password":"correct horse","role":"member"}`, 201, 403, 403},
		{"PATCH", fmt.Sprintf("/api/v1/users/%d", f.spare.ID), `{"role":"admin"}`, 200, 403, 403},
		{"PATCH", "/api/v1/users" + missing, `{"role":"admin"}`, 404, 403, 403},
		{"DELETE", fmt.Sprintf("/api/v1/users/%d", f.spare.ID), "", 204, 403, 403},
		{"POST", "/api/v1/users", `{"email":"invited@example.com","invite":true}`, 201, 403, 403},
		{"POST", fmt.Sprintf("/api/v1/users/%d/password-reset", f.spare.ID), "", 201, 403, 403},
		{"POST", "/api/v1/users" + missing + "/password-reset", "", 404, 403, 403},
		{"POST", fmt.Sprintf("/api/v1/users/%d/sign-out", f.spare.ID), "", 200, 403, 403},
		{"POST", "/api/v1/users" + missing + "/sign-out", "", 404, 403, 403},
		{"POST", "/api/v1/projects", `{"name":"mobile"}`, 201, 403, 403},
		{"GET", p, "", 200, 200, 404},
		{"GET", o, "", 200, 404, 404},
		{"GET", "/api/v1/projects" + missing, "", 404, 404, 404},
		{"PATCH", p, `{"name":"renamed"}`, 200, 403, 404},
		{"PATCH", o, `{"name":"renamed"}`, 200, 404, 404},
		{"PATCH", p, `{"scrubbing":false,"safe_fields":["session_id"]}`, 200, 403, 404},
		{"PATCH", o, `{"drop_ip_addresses":true}`, 200, 404, 404},
		{"PATCH", p, `{"rate_limit":120}`, 200, 403, 404},
		{"PATCH", o, `{"rate_limit":null}`, 200, 404, 404},
		{"GET", p + "/filters", "", 200, 200, 404},
		{"GET", o + "/filters", "", 200, 404, 404},
		{"PATCH", p + "/filters", `{"localhost":true}`, 200, 403, 404},
		{"PATCH", o + "/filters", `{"releases":["1.*"]}`, 200, 404, 404},
		{"DELETE", p, "", 204, 403, 404},
		{"DELETE", o, "", 204, 404, 404},
		{"DELETE", "/api/v1/projects" + missing, "", 404, 404, 404},
		{"GET", p + "/members", "", 200, 200, 404},
		{"GET", o + "/members", "", 200, 404, 404},
		{"POST", p + "/members", `{"email":"Outsider@example.com","role":"member"}`, 200, 403, 404},
		{"POST", o + "/members", `{"email":"outsider@example.com","role":"admin"}`, 200, 404, 404},
		{"POST", p + "/members", `{"email":"nobody@example.com","role":"member"}`, 404, 403, 404},
		{"PUT", fmt.Sprintf("%s/members/%d", p, f.outsiderU.ID), `{"role":"member"}`, 200, 403, 404},
		{"PUT", fmt.Sprintf("%s/members/%d", o, f.outsiderU.ID), `{"role":"member"}`, 200, 404, 404},
		{"DELETE", fmt.Sprintf("%s/members/%d", p, f.spare.ID), "", 204, 403, 404},
		{"DELETE", fmt.Sprintf("%s/members/%d", o, f.spare.ID), "", 204, 404, 404},
		{"GET", p + "/keys", "", 200, 200, 404},
		{"GET", o + "/keys", "", 200, 404, 404},
		{"POST", p + "/keys/rotate", "", 201, 403, 404},
		{"POST", o + "/keys/rotate", "", 201, 404, 404},
		{"POST", p + "/issues/bulk", bulk(f.issueA), 200, 200, 404},
		{"POST", p + "/issues/bulk", bulk(f.otherIssue), 200, 200, 404},
		{"POST", o + "/issues/bulk", bulk(f.otherIssue), 200, 404, 404},
		{"POST", p + "/issues/merge", merge(f.issueA, f.issueB), 200, 200, 404},
		// An issue of another project is refused to whoever sees both.
		{"POST", o + "/issues/merge", merge(f.otherIssue, f.issueA), 400, 404, 404},
		{"GET", "/api/v1/tokens", "", 200, 200, 200},
		{"POST", "/api/v1/tokens", `{"name":"ci"}`, 201, 201, 201},
		{"DELETE", fmt.Sprintf("/api/v1/tokens/%d", f.adminSpareToken), "", 204, 404, 404},
		{"DELETE", fmt.Sprintf("/api/v1/tokens/%d", f.memberSpareToken), "", 404, 204, 404},
		// Credentials are ignored here: the body's password is all that
		// counts, and these users' password hashes match none.
		{"POST", tokenLoginPath, `{"email":"member@example.com","password":"not the password","name":"cli"}`, 401, 401, 401},
	}, alertRoutes(f)...)
}

// lead is the status for lead, an admin of project who is no admin user:
// an outsider's for another user's token, 404 for adding a user by ID
// (outsiderU, who is no member), a member's, except where a member is refused a change to project, its
// members, keys or alerts; there lead gets what an admin gets. Creating and
// deleting projects and managing users stay with admin users.
func (r route) lead() int {
	switch {
	case strings.HasPrefix(r.path, "/api/v1/tokens/"):
		return r.outsider
	case r.method == "PUT" && strings.Contains(r.path, "/members/") && r.admin == http.StatusOK && r.member == http.StatusForbidden:
		// A user who is no member yet, by ID: a project's admin adds by
		// email, or they could list every user one ID at a time.
		return http.StatusNotFound
	case r.member == http.StatusForbidden && !r.adminUsersOnly():
		return r.admin
	}
	return r.member
}

// tokenLoginPath is the one route that takes a password, not a caller.
const tokenLoginPath = "/api/v1/auth/token"

// forbiddenMessage is the refusal of r to someone without the role it
// takes: an admin of the server (adminUsersOnly), else a project's admin.
func forbiddenMessage(r route) string {
	if r.adminUsersOnly() {
		return service.OnlyAdmins
	}
	return service.OnlyProjectAdmins
}

// adminUsersOnly reports whether r takes an admin user, a project's own
// admins refused too: users, creating and deleting projects, and a
// project's rate limit.
func (r route) adminUsersOnly() bool {
	return strings.HasPrefix(r.path, "/api/v1/users") ||
		(r.method == "POST" && r.path == "/api/v1/projects") ||
		(r.method == "DELETE" && strings.Count(r.path, "/") == 4 && strings.HasPrefix(r.path, "/api/v1/projects/")) ||
		(r.method == "PATCH" && strings.Contains(r.body, `"rate_limit"`))
}

// TestAuthorizationMatrix sends every route as every kind of caller, each
// on a fresh fixture since many succeed in changing it.
func TestAuthorizationMatrix(t *testing.T) {
	// The IDs are the same in every fixture: each is built alike.
	template := newFixture(t)
	unsafe := func(method string) bool { return method != "GET" }
	callers := []struct {
		name string
		auth func(f *fixture) []func(*http.Request)
		want func(r route) (int, string) // status and error code
	}{
		{"admin", func(f *fixture) []func(*http.Request) { return []func(*http.Request){bearer(f.adminToken)} },
			func(r route) (int, string) { return r.admin, "" }},
		{"member", func(f *fixture) []func(*http.Request) { return []func(*http.Request){bearer(f.memberToken)} },
			func(r route) (int, string) { return r.member, "" }},
		{"outsider", func(f *fixture) []func(*http.Request) { return []func(*http.Request){bearer(f.outsider)} },
			func(r route) (int, string) { return r.outsider, "" }},
		{"project's admin", func(f *fixture) []func(*http.Request) { return []func(*http.Request){bearer(f.leadToken)} },
			func(r route) (int, string) { return r.lead(), "" }},
		{"anonymous", func(f *fixture) []func(*http.Request) { return nil },
			func(route) (int, string) { return 401, "unauthorized" }},
		{"unknown token", func(f *fixture) []func(*http.Request) { return []func(*http.Request){bearer("flyt_nope")} },
			func(route) (int, string) { return 401, "unauthorized" }},
		{"member's session", func(f *fixture) []func(*http.Request) {
			return []func(*http.Request){session(f.memberSession, true)}
		}, func(r route) (int, string) { return r.member, "" }},
		{"member's session without CSRF proof", func(f *fixture) []func(*http.Request) {
			return []func(*http.Request){session(f.memberSession, false)}
		}, func(r route) (int, string) {
			if unsafe(r.method) {
				return 403, "csrf"
			}
			return r.member, ""
		}},
		{"unknown session", func(f *fixture) []func(*http.Request) {
			return []func(*http.Request){session(strings.Repeat("0", 64), true)}
		}, func(route) (int, string) { return 401, "unauthorized" }},
		{"member's read-only token", func(f *fixture) []func(*http.Request) {
			return []func(*http.Request){bearer(f.memberReadToken)}
		}, func(r route) (int, string) {
			if unsafe(r.method) {
				return 403, "read_only_token"
			}
			return r.member, ""
		}},
		{"member's expired token", func(f *fixture) []func(*http.Request) {
			return []func(*http.Request){bearer(f.memberExpired)}
		}, func(route) (int, string) { return 401, "unauthorized" }},
	}
	for n, r := range routes(template) {
		for _, c := range callers {
			t.Run(fmt.Sprintf("%02d %s %s as %s", n, r.method, r.path, c.name), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				if got := routes(f)[n]; got != r {
					t.Fatalf("fixtures differ: route %+v, want %+v", got, r)
				}
				want, wantCode := c.want(r)
				if r.path == tokenLoginPath {
					want, wantCode = r.admin, "unauthorized"
				}
				code, hdr, out := f.send(t, r.method, r.path, r.body, c.auth(f)...)
				if code != want {
					t.Fatalf("HTTP %d, want %d (%v)", code, want, out)
				}
				if code >= 400 {
					e, _ := out["error"].(map[string]any)
					if e["code"] == nil || e["message"] == nil || (wantCode != "" && e["code"] != wantCode) {
						t.Errorf("error body %v, want code %q and a message", out, wantCode)
					}
					// Whichever layer refuses, a member hears the same,
					// naming the role it takes.
					if e["code"] == "forbidden" && e["message"] != forbiddenMessage(r) {
						t.Errorf("forbidden with message %q, want %q", e["message"], forbiddenMessage(r))
					}
				}
				if code == 401 && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without WWW-Authenticate: Bearer")
				}
			})
		}
	}
}

// TestMatrixCoversEveryRoute keeps the matrix complete as routes are
// added.
func TestMatrixCoversEveryRoute(t *testing.T) {
	f := newFixture(t)
	a := New(f.db, nil, nil)
	covered := map[string]bool{}
	for _, r := range routes(f) {
		_, pattern := a.mux.Handler(httptest.NewRequest(r.method, r.path, nil))
		covered[pattern] = true
	}
	for _, pattern := range append(patterns(a.endpoints()), tokenLoginPattern) {
		if !covered[pattern] {
			t.Errorf("the authorization matrix lacks %s", pattern)
		}
	}
}

// TestProjectsVisible checks what each caller's project list holds.
func TestProjectsVisible(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		auth func(*http.Request)
		want []string
	}{
		{"admin", bearer(f.adminToken), []string{"billing", "web"}},
		{"member", bearer(f.memberToken), []string{"web"}},
		{"member's session", session(f.memberSession, false), []string{"web"}},
		{"outsider", bearer(f.outsider), []string{}},
	}
	for _, tt := range tests {
		_, _, out := f.send(t, "GET", "/api/v1/projects", "", tt.auth)
		got := []string{}
		for _, p := range out["data"].([]any) {
			got = append(got, p.(map[string]any)["name"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s sees %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestListIssuesFilters(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/api/v1/projects/%d/issues", f.project.ID)
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{f.issueA, f.issueB}},
		{"?environment=staging", []int64{f.issueB}},
		{"?query=environment:production", []int64{f.issueA}},
		{"?query=typeerror", []int64{f.issueA}},
		{"?query=browser:%22Firefox+120%22", []int64{f.issueA}},
		{"?query=browser:Safari", nil},
		{"?level=error&status=unresolved", []int64{f.issueA, f.issueB}},
		{"?status=resolved", nil},
		{"?sort=count&limit=1", []int64{f.issueA}},
		// Sentry's sort names.
		{"?sort=freq&limit=1", []int64{f.issueA}},
		{"?sort=new", []int64{f.issueA, f.issueB}},
		{"?sort=date", []int64{f.issueA, f.issueB}},
		{"?sort=user", []int64{f.issueA, f.issueB}},
		{"?since=30m", nil},
		{"?since=2h", []int64{f.issueA, f.issueB}},
		// The parameters and the search both hold, as in Sentry.
		{"?environment=staging&query=environment:production", nil},
		{"?query=" + url.QueryEscape("environment:staging environment:production"), nil},
		{"?query=" + url.QueryEscape("environment:[staging,production]"), []int64{f.issueA, f.issueB}},
		{"?level=error&query=level:warning", nil},
		{"?query=" + url.QueryEscape("level:[warning,error] title:typeerror"), []int64{f.issueA}},
		{"?query=message:typeerror", []int64{f.issueA}},
		{"?query=" + url.QueryEscape("timesSeen:>=1 age:-24h lastSeen:+30m"), []int64{f.issueA, f.issueB}},
		{"?query=" + url.QueryEscape("lastSeen:-30m"), nil},
		// Negated text keys and free text take Sentry's * wildcard.
		{"?query=" + url.QueryEscape("!title:TypeError*"), []int64{f.issueB}},
		{"?query=" + url.QueryEscape("!message:*BAD*"), []int64{f.issueA}},
		{"?query=" + url.QueryEscape("Type*undefined"), []int64{f.issueA}},
		{"?query=" + url.QueryEscape(`Type\*undefined`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, _, out := f.do(t, f.memberToken, "GET", base+tt.query, "")
			if code != 200 {
				t.Fatalf("HTTP %d: %v", code, out)
			}
			var got []int64
			for _, it := range out["data"].([]any) {
				got = append(got, int64(it.(map[string]any)["id"].(float64)))
			}
			if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(tt.want)) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
		})
	}
	// A search of hundreds of tag terms held the database for the whole
	// request deadline.
	manyTags := "?query=" + url.QueryEscape(strings.Repeat("a:b ", 20)+"t0:1 t1:1 t2:1 t3:1 t4:1 t5:1 t6:1 t7:1 t8:1 t9:1 t10:1 t11:1 t12:1 t13:1 t14:1 t15:1 t16:1 t17:1 t18:1 t19:1 t20:1")
	for _, bad := range []string{"?status=open", "?level=loud", "?sort=title", "?sort=priority", "?limit=0", "?limit=101", "?since=yesterday", "?cursor=not-a-cursor", manyTags, "?query=" + strings.Repeat("x", 1001)} {
		if code, _, out := f.do(t, f.memberToken, "GET", base+bad, ""); code != 400 {
			t.Errorf("%s: HTTP %d, want 400 (%v)", bad, code, out)
		}
	}
}

// TestListIssuesSearchErrors: Sentry's keys that Flytrap cannot search,
// and keys without a value, are a 400 that says so, not an empty list.
func TestListIssuesSearchErrors(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/api/v1/projects/%d/issues?query=", f.project.ID)
	for query, want := range map[string]string{
		"error.type:TypeError": "error.type: cannot be searched: Flytrap keeps an issue's title, not its events' exceptions",
		"error.handled:maybe":  "error.handled: takes true or false",
		"bookmarks:me":         "Flytrap has no bookmarks",
		"assigned:bob":         "assigned: takes me, none or a user's email",
		"level:":               "level: needs a value",
		"has:":                 "has: needs a value",
		"timesSeen:lots":       "timesSeen: takes a whole number",
		// QA: OR, AND and parentheses were free text, an empty list.
		"user.id:user7 OR user.id:user8":   `boolean statements containing "OR" or "AND" are not supported in this search`,
		"user.id:user7 AND level:error":    `boolean statements containing "OR" or "AND" are not supported in this search`,
		"(user.id:user7 OR user.id:user8)": `boolean statements containing "OR" or "AND" are not supported in this search`,
		"(user.id:user7) level:error":      "parentheses are not supported in this search",
	} {
		code, _, out := f.do(t, f.memberToken, "GET", base+url.QueryEscape(query), "")
		if msg := fmt.Sprint(out["error"]); code != 400 || !strings.Contains(msg, want) {
			t.Errorf("%s: HTTP %d %v, want 400 with %q", query, code, out, want)
		}
	}
}

func sorted(s []int64) []int64 {
	out := append([]int64(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestPagination(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/api/v1/projects/%d/issues", f.project.ID)
	base := path + "?limit=1"
	seen := map[float64]bool{}
	cursor := ""
	var ids []float64
	for range 5 {
		_, _, out := f.do(t, f.memberToken, "GET", base+"&cursor="+cursor, "")
		for _, it := range out["data"].([]any) {
			seen[it.(map[string]any)["id"].(float64)] = true
			ids = append(ids, it.(map[string]any)["id"].(float64))
		}
		cursor, _ = out["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	if len(seen) != 2 || cursor != "" {
		t.Errorf("paged through %d issues, final cursor %q", len(seen), cursor)
	}

	// Sentry's headers: the total the search matches, capped, and the
	// Link of the pages before and after, relative references with no
	// public URL configured (TestPageLinksIgnoreHost); the body's
	// prev_cursor goes back a page.
	code, h, out := f.do(t, f.memberToken, "GET", base, "")
	next, _ := out["next_cursor"].(string)
	abs := path
	wantLink := fmt.Sprintf(`<%s?limit=1>; rel="previous"; results="false"; cursor="", <%s?cursor=%s&limit=1>; rel="next"; results="true"; cursor="%s"`,
		abs, abs, next, next)
	if code != 200 || h.Get("X-Hits") != "2" || h.Get("X-Max-Hits") != "10000" || h.Get("Link") != wantLink || out["prev_cursor"] != nil {
		t.Errorf("first page: HTTP %d, X-Hits %q, X-Max-Hits %q, Link %q (want %q), prev_cursor %v", code,
			h.Get("X-Hits"), h.Get("X-Max-Hits"), h.Get("Link"), wantLink, out["prev_cursor"])
	}
	_, h, out = f.do(t, f.memberToken, "GET", base+"&cursor="+next, "")
	prev, _ := out["prev_cursor"].(string)
	wantLink = fmt.Sprintf(`<%s?cursor=%s&limit=1>; rel="previous"; results="true"; cursor="%s", <%s?limit=1>; rel="next"; results="false"; cursor=""`,
		abs, prev, prev, abs)
	if prev == "" || h.Get("X-Hits") != "2" || h.Get("Link") != wantLink {
		t.Errorf("second page: prev_cursor %q, X-Hits %q, Link %q, want %q", prev, h.Get("X-Hits"), h.Get("Link"), wantLink)
	}
	_, _, out = f.do(t, f.memberToken, "GET", base+"&cursor="+prev, "")
	if data, _ := out["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != ids[0] || out["prev_cursor"] != nil {
		t.Errorf("the page before the second = %v, want issue %v and no page before", out, ids[0])
	}
	if _, h, _ := f.do(t, f.memberToken, "GET", path+"?query=typeerror", ""); h.Get("X-Hits") != "1" {
		t.Errorf("searched: X-Hits %q, want 1", h.Get("X-Hits"))
	}
}

// TestPageLinksIgnoreHost: the Link header's pages are on the server's
// public URL when one is configured, else relative references; never on
// the Host the request names, which the client chooses (AWS without a
// domain has no public URL, and a spoofed Host must not put another
// origin into the header).
func TestPageLinksIgnoreHost(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/api/v1/projects/%d/issues", f.project.ID)
	for _, tc := range []struct {
		publicURL, wantBase string
	}{
		{"https://flytrap.example/", "https://flytrap.example"},
		{"", ""},
	} {
		api := New(f.db, nil, func() time.Time { return now }).WithPublicURL(tc.publicURL)
		r := httptest.NewRequest("GET", "http://attacker.example"+path+"?limit=1&query=is:unresolved", nil)
		r.Header.Set("Authorization", "Bearer "+f.memberToken)
		w := httptest.NewRecorder()
		api.ServeHTTP(w, r)
		var out struct {
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 200 || out.Next == "" {
			t.Fatalf("HTTP %d, next cursor %q, %v: %s", w.Code, out.Next, err, w.Body)
		}
		want := fmt.Sprintf(`<%[3]s%[1]s?limit=1&query=is%%3Aunresolved>; rel="previous"; results="false"; cursor="", `+
			`<%[3]s%[1]s?cursor=%[2]s&limit=1&query=is%%3Aunresolved>; rel="next"; results="true"; cursor="%[2]s"`, path, out.Next, tc.wantBase)
		if got := w.Header().Get("Link"); got != want {
			t.Errorf("public URL %q: Link %q\nwant %q", tc.publicURL, got, want)
		}
	}
}

func TestIssueDetailAndEvents(t *testing.T) {
	f := newFixture(t)
	code, _, out := f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d", f.issueA), "")
	if code != 200 {
		t.Fatalf("HTTP %d", code)
	}
	for _, k := range []string{"id", "project_id", "title", "culprit", "level", "status", "count", "user_count", "first_seen", "last_seen"} {
		if _, ok := out[k]; !ok {
			t.Errorf("issue lacks %q", k)
		}
	}
	if out["count"].(float64) != 2 || out["title"] != "TypeError: x is undefined" {
		t.Errorf("issue = %v", out)
	}
	latest := out["latest_event"].(map[string]any)
	frames := latest["event"].(map[string]any)["exceptions"].([]any)[0].(map[string]any)["frames"].([]any)
	if len(frames) != 1 {
		t.Errorf("latest event frames = %v", frames)
	}
	if len(out["hourly_counts"].([]any)) == 0 || len(out["tags"].([]any)) == 0 {
		t.Errorf("detail lacks hourly counts or tags: %v", out)
	}

	code, _, out = f.do(t, f.memberToken, "GET", fmt.Sprintf("/api/v1/issues/%d/events?limit=1", f.issueA), "")
	if code != 200 || len(out["data"].([]any)) != 1 || out["next_cursor"] == "" {
		t.Fatalf("events page: HTTP %d %v", code, out)
	}
	code, _, out = f.do(t, f.memberToken, "GET", "/api/v1/events/"+f.eventA, "")
	if code != 200 || out["issue_id"].(float64) != float64(f.issueA) || out["event"] == nil {
		t.Fatalf("event: HTTP %d %v", code, out)
	}
	// Dashed UUID form is accepted.
	if code, _, _ := f.do(t, f.memberToken, "GET", "/api/v1/events/aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaa1", ""); code != 200 {
		t.Errorf("dashed event id: HTTP %d", code)
	}
	for _, bad := range []string{"/api/v1/events/xyz", "/api/v1/issues/abc", "/api/v1/issues/-1/events"} {
		if code, _, _ := f.do(t, f.memberToken, "GET", bad, ""); code != 400 {
			t.Errorf("%s: HTTP %d, want 400", bad, code)
		}
	}
}

// TestEventIDShadowing is the attack of issue 7, finding 5: with the
// ingest key of project (the lower ID), post an event that reuses other's
// event ID. Every route must answer with the event of the project it
// names or, unscoped, refuse to choose between two projects the caller
// sees; before the fix the unscoped route served the attacker's event.
func TestEventIDShadowing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	saveEvent(t, f.db, f.project.ID, f.otherEvent, "AttackerError", "attacker text", "production")
	victimUser, err := f.db.CreateUser(ctx, "victim@example.com", "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(ctx, f.other.ID, victimUser.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	victimToken, _, err := f.db.CreateAPIToken(ctx, victimUser.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	spareToken, _, err := f.db.CreateAPIToken(ctx, f.spare.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	const real, fake = "KeyError: secret", "AttackerError: attacker text"
	scoped := func(p store.Project) string { return fmt.Sprintf("/api/v1/projects/%d/events/%s", p.ID, f.otherEvent) }
	unscoped := "/api/v1/events/" + f.otherEvent
	tests := []struct {
		name, token, path string
		code              int
		title, errCode    string
	}{
		{"admin, unscoped", f.adminToken, unscoped, 409, "", "ambiguous_event_id"},
		{"member of both, unscoped", spareToken, unscoped, 409, "", "ambiguous_event_id"},
		{"admin, victim's project", f.adminToken, scoped(f.other), 200, real, ""},
		{"admin, attacker's project", f.adminToken, scoped(f.project), 200, fake, ""},
		{"admin, ?project= victim's", f.adminToken, fmt.Sprintf("%s?project=%d", unscoped, f.other.ID), 200, real, ""},
		{"member of both, victim's project", spareToken, scoped(f.other), 200, real, ""},
		{"victim's member, unscoped", victimToken, unscoped, 200, real, ""},
		{"victim's member, attacker's project", victimToken, scoped(f.project), 404, "", "not_found"},
		{"attacker's member, unscoped", f.memberToken, unscoped, 200, fake, ""},
		{"attacker's member, victim's project", f.memberToken, scoped(f.other), 404, "", "not_found"},
		{"attacker's member, ?project= victim's", f.memberToken, fmt.Sprintf("%s?project=%d", unscoped, f.other.ID), 404, "", "not_found"},
		{"bad ?project=", f.adminToken, unscoped + "?project=web", 400, "", "bad_request"},
		{"?project= twice, the member's own second", f.memberToken, fmt.Sprintf("%s?project=%d&project=%d", unscoped, f.other.ID, f.project.ID), 400, "", "bad_request"},
		{"?project= twice, the member's own first", f.memberToken, fmt.Sprintf("%s?project=%d&project=%d", unscoped, f.project.ID, f.other.ID), 400, "", "bad_request"},
		{"bad project in path", f.adminToken, "/api/v1/projects/0/events/" + f.otherEvent, 400, "", "bad_request"},
		{"bad event ID in path", f.adminToken, fmt.Sprintf("/api/v1/projects/%d/events/xyz", f.other.ID), 400, "", "bad_request"},
	}
	for _, tt := range tests {
		code, _, out := f.do(t, tt.token, "GET", tt.path, "")
		if code != tt.code {
			t.Errorf("%s: GET %s = HTTP %d %v, want %d", tt.name, tt.path, code, out, tt.code)
			continue
		}
		if tt.title != "" && out["title"] != tt.title {
			t.Errorf("%s: GET %s = event %q of project %v, want %q", tt.name, tt.path, out["title"], out["project_id"], tt.title)
		}
		if tt.errCode != "" {
			e, _ := out["error"].(map[string]any)
			if e["code"] != tt.errCode {
				t.Errorf("%s: GET %s = error %v, want code %s", tt.name, tt.path, out, tt.errCode)
			}
			// The conflict names neither project nor anything of theirs.
			if msg, _ := e["message"].(string); tt.code == 409 && (strings.Contains(msg, f.other.Name) || strings.Contains(msg, f.project.Name) || strings.Contains(msg, "secret")) {
				t.Errorf("%s: conflict message %q names a project or its data", tt.name, msg)
			}
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	if _, err := f.db.CreateRelease(t.Context(), store.System, f.project.ID, "app@2", time.Now()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		body       string
		wantCode   int
		wantStatus string
		wantMsg    string // of a refusal, "" for any
	}{
		{`{"status":"resolved","resolved_in_release":"app@2"}`, 200, "resolved", ""},
		{`{"status":"ignored"}`, 200, "ignored", ""},
		{`{"status":"unresolved"}`, 200, "unresolved", ""},
		{`{"status":"closed"}`, 400, "", ""},
		{`{"status":"ignored","resolved_in_release":"x"}`, 400, "", ""},
		{`{"status":"resolved","resolved_in_release":"Latest"}`, 400, "",
			`"Latest" is a reserved word in searches (the newest release), not a release name: give the release's version, e.g. shop@1.2.3`},
		{`{"status":"resolved","resolved_in_release":".."}`, 400, "", `the release is reserved`},
		{`{"status":"resolved","extra":1}`, 400, "", ""},
		{`not json`, 400, "", ""},
		{`{"status":"resolved","resolved_in_release":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "", ""},
	}
	for _, tt := range tests {
		code, _, out := f.do(t, f.memberToken, "PATCH", path, tt.body)
		if code != tt.wantCode {
			t.Errorf("PATCH %.60s: HTTP %d, want %d (%v)", tt.body, code, tt.wantCode, out)
			continue
		}
		if tt.wantStatus != "" && out["status"] != tt.wantStatus {
			t.Errorf("PATCH %.60s: status %v", tt.body, out["status"])
		}
		if e, _ := out["error"].(map[string]any); tt.wantMsg != "" && e["message"] != tt.wantMsg {
			t.Errorf("PATCH %.60s: message %q, want %q", tt.body, e["message"], tt.wantMsg)
		}
	}
	if code, _, _ := f.do(t, f.memberToken, "DELETE", path, ""); code != 204 {
		t.Fatalf("DELETE: HTTP %d", code)
	}
	if code, _, _ := f.do(t, f.memberToken, "GET", path, ""); code != 404 {
		t.Errorf("GET deleted: HTTP %d", code)
	}
	if code, _, _ := f.do(t, f.memberToken, "GET", "/api/v1/events/"+f.eventA, ""); code != 404 {
		t.Errorf("event of deleted issue: HTTP %d", code)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	f := newFixture(t)
	code, _, out := f.do(t, f.adminToken, "GET", "/api/v1/nope", "")
	if code != 404 || out["error"].(map[string]any)["code"] != "not_found" {
		t.Errorf("unknown route: HTTP %d %v", code, out)
	}
	code, hdr, out := f.do(t, f.adminToken, "PUT", "/api/v1/projects", "{}")
	if code != 405 || out["error"].(map[string]any)["code"] != "method_not_allowed" || !strings.Contains(hdr.Get("Allow"), "GET") {
		t.Errorf("wrong method: HTTP %d %v Allow=%q", code, out, hdr.Get("Allow"))
	}
}

// field reads a string field of each element of a list response's data.
func field(out map[string]any, name string) []string {
	got := []string{}
	data, _ := out["data"].([]any)
	for _, d := range data {
		got = append(got, fmt.Sprint(d.(map[string]any)[name]))
	}
	return got
}

func TestMe(t *testing.T) {
	f := newFixture(t)
	for name, auth := range map[string]func(*http.Request){
		"token": bearer(f.memberToken), "session": session(f.memberSession, false),
	} {
		code, _, out := f.send(t, "GET", "/api/v1/me", "", auth)
		if code != 200 || out["id"] != float64(f.member.ID) || out["email"] != "member@example.com" ||
			out["role"] != "member" || out["created_at"] == nil {
			t.Errorf("%s: HTTP %d %v", name, code, out)
		}
		if _, ok := out["password_hash"]; ok {
			t.Errorf("%s: /me shows the password hash", name)
		}
	}
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	_, _, out := f.do(t, f.adminToken, "GET", "/api/v1/users", "")
	if got, want := field(out, "email"), []string{"admin@example.com", "lead@example.com", "member@example.com", "outsider@example.com", "spare@example.com"}; !slices.Equal(got, want) {
		t.Errorf("users = %v, want %v", got, want)
	}
	if got := field(out, "password_hash"); !slices.Equal(got, []string{"<nil>", "<nil>", "<nil>", "<nil>", "<nil>"}) {
		t.Errorf("the user list shows password hashes: %v", got)
	}

	creates := []struct {
		body string
		code int
		role string // of a created user
	}{
		{`{"email":" new@example.com ","password":"correct horse"}`, 201, "member"},
		{`{"email":"NEW@example.com","password":"correct horse"}`, 409, ""},
		{`{"email":"boss@example.com","password":"correct horse battery","role":"admin"}`, 201, "admin"},
		{`{"email":"short@example.com","password":"1234567"}`, 400, ""},
		{`{"email":"long@example.com","password":"` + strings.Repeat("p", 1025) + `"}`, 400, ""},
		{`{"email":"Ada <ada@example.com>","password":"correct horse"}`, 400, ""},
		{`{"email":"not an address","password":"correct horse"}`, 400, ""},
		// A lookalike: U+202E shows "evil@qa.test" reversed after "bidi".
		{`{"email":"bidi\u202eevil@qa.test","password":"correct horse"}`, 400, ""},
		{`{"email":"ada\u001b[2J@example.com","password":"correct horse"}`, 400, ""},
		{`{"email":"x@example.com","password":"correct horse","role":"owner"}`, 400, ""},
		{`{"email":"x@example.com","password":"correct horse","admin":true}`, 400, ""},
	}
	created := map[string]any{} // email: ID
	for _, c := range creates {
		code, _, out := f.do(t, f.adminToken, "POST", "/api/v1/users", c.body)
		if code != c.code {
			t.Errorf("POST %.70s: HTTP %d, want %d (%v)", c.body, code, c.code, out)
			continue
		}
		if code != 201 {
			continue
		}
		var req apitypes.NewUser
		json.Unmarshal([]byte(c.body), &req)
		email := strings.TrimSpace(req.Email)
		if out["email"] != email || out["role"] != c.role || out["id"] == nil || out["password_hash"] != nil {
			t.Errorf("POST %s = %v", c.body, out)
		}
		created[email] = out["id"]
		u, err := f.db.UserByEmail(context.Background(), email)
		if ok, _ := auth.VerifyPassword(req.Password, u.PasswordHash); err != nil || !ok {
			t.Errorf("the stored hash of %s does not verify the password: %v", email, err)
		}
	}

	spare := fmt.Sprintf("/api/v1/users/%d", f.spare.ID)
	self := fmt.Sprintf("/api/v1/users/%d", f.admin.ID)
	steps := []struct {
		method, path, body string
		code               int
		role               string
		message            string // part of the error message
	}{
		{"PATCH", spare, `{"role":"admin"}`, 200, "admin", ""},
		{"PATCH", spare, `{"role":"member"}`, 200, "member", ""},
		{"PATCH", spare, `{"role":"owner"}`, 400, "", "role"},
		{"PATCH", spare, `{}`, 400, "", "role"},
		{"PATCH", "/api/v1/users/999999", `{"role":"member"}`, 404, "", ""},
		{"PATCH", "/api/v1/users/x", `{"role":"member"}`, 400, "", "user_id"},
		{"PATCH", fmt.Sprintf("/api/v1/users/%v", created["boss@example.com"]), `{"role":"member"}`, 200, "member", ""},
		{"PATCH", self, `{"role":"member"}`, 400, "", "last admin"},
		{"DELETE", self, "", 400, "", "themselves"},
		{"DELETE", spare, "", 204, "", ""},
		{"DELETE", spare, "", 404, "", ""},
	}
	for _, s := range steps {
		code, _, out := f.do(t, f.adminToken, s.method, s.path, s.body)
		if code != s.code {
			t.Errorf("%s %s %s: HTTP %d, want %d (%v)", s.method, s.path, s.body, code, s.code, out)
			continue
		}
		if s.role != "" && out["role"] != s.role {
			t.Errorf("%s %s %s: role %v, want %s", s.method, s.path, s.body, out["role"], s.role)
		}
		e, _ := out["error"].(map[string]any)
		if msg, _ := e["message"].(string); !strings.Contains(msg, s.message) {
			t.Errorf("%s %s %s: message %q lacks %q", s.method, s.path, s.body, msg, s.message)
		}
	}
	_, _, out = f.do(t, f.adminToken, "GET", fmt.Sprintf("/api/v1/projects/%d/members", f.project.ID), "")
	if got := field(out, "email"); slices.Contains(got, "spare@example.com") {
		t.Errorf("a deleted user is still a member: %v", got)
	}
}

func TestProjectEndpoints(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	code, _, out := f.do(t, f.adminToken, "POST", "/api/v1/projects", `{"name":" mobile "}`)
	if code != 201 || out["name"] != "mobile" || out["id"] == nil {
		t.Fatalf("POST /projects: HTTP %d %v", code, out)
	}
	id := int64(out["id"].(float64))
	key, _ := out["key"].(map[string]any)
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(fmt.Sprint(key["public_key"])) || key["active"] != true ||
		key["project_id"] != float64(id) {
		t.Errorf("new project's key = %v", key)
	}
	mobile := fmt.Sprintf("/api/v1/projects/%d", id)
	_, _, out = f.do(t, f.adminToken, "GET", mobile+"/members", "")
	if got := field(out, "email"); !slices.Equal(got, []string{"admin@example.com"}) || field(out, "role")[0] != "admin" {
		t.Errorf("members of the new project = %v", out)
	}
	_, _, out = f.do(t, f.adminToken, "GET", mobile+"/keys", "")
	if got := field(out, "public_key"); !slices.Equal(got, []string{fmt.Sprint(key["public_key"])}) {
		t.Errorf("keys of the new project = %v, want the one returned", got)
	}

	web := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	steps := []struct {
		method, path, body string
		code               int
		name               string // of the project answered
	}{
		{"POST", "/api/v1/projects", `{"name":"mobile"}`, 409, ""},
		{"POST", "/api/v1/projects", `{"name":" "}`, 400, ""},
		{"POST", "/api/v1/projects", `{"title":"x"}`, 400, ""},
		// Data after the JSON object is refused, not ignored.
		{"PATCH", web, `{"name":"shop"} garbage`, 400, ""},
		{"PATCH", web, `{"name":"shop"}{"name":"mobile"}`, 400, ""},
		{"PATCH", web, `{"name":"shop"}}`, 400, ""},
		{"PATCH", web, `{"name":"storefront"}` + " \n", 200, "storefront"},
		{"PATCH", web, `{"name":"billing"}`, 409, ""},
		{"PATCH", web, `{"name":""}`, 400, ""},
		{"DELETE", mobile, "", 204, ""},
		{"DELETE", mobile, "", 404, ""},
		{"GET", mobile + "/members", "", 404, ""},
	}
	for _, s := range steps {
		code, _, out := f.do(t, f.adminToken, s.method, s.path, s.body)
		if code != s.code || (s.name != "" && out["name"] != s.name) {
			t.Errorf("%s %s %s: HTTP %d %v, want %d %q", s.method, s.path, s.body, code, out, s.code, s.name)
		}
	}
	if code, _, out := f.do(t, f.memberToken, "GET", "/api/v1/projects", ""); code != 200 || !slices.Equal(field(out, "name"), []string{"storefront"}) {
		t.Errorf("member's projects after the rename: %v", out)
	}

	// Deleting a project takes its issues, events and keys with it.
	if code, _, _ := f.do(t, f.adminToken, "DELETE", fmt.Sprintf("/api/v1/projects/%d", f.other.ID), ""); code != 204 {
		t.Fatalf("DELETE billing: HTTP %d", code)
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/issues/%d", f.otherIssue), "/api/v1/events/" + f.otherEvent} {
		if code, _, _ := f.do(t, f.adminToken, "GET", path, ""); code != 404 {
			t.Errorf("GET %s after deleting its project: HTTP %d", path, code)
		}
	}
	active, _ := f.db.ActiveKeys(ctx)
	for k, ak := range active {
		if ak.ProjectID == f.other.ID || ak.ProjectID == id {
			t.Errorf("deleted project %d keeps active key %s", ak.ProjectID, k)
		}
	}
}

func TestProjectPrivacyEndpoints(t *testing.T) {
	f := newFixture(t)
	web := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	privacy := func(out map[string]any) string {
		return fmt.Sprint(out["name"], " ", out["scrubbing"], " ", out["sensitive_fields"], " ", out["safe_fields"], " ", out["drop_ip_addresses"])
	}
	steps := []struct {
		token, method, body string
		code                int
		want                string // privacy(answer), for 200
	}{
		{f.memberToken, "GET", "", 200, "web true [] [] false"},
		{f.adminToken, "PATCH", `{"scrubbing":false,"sensitive_fields":["iban"," order_ref "],"drop_ip_addresses":true}`, 200, "web false [iban order_ref] [] true"},
		{f.adminToken, "PATCH", `{"safe_fields":["session_id"]}`, 200, "web false [iban order_ref] [session_id] true"},
		{f.adminToken, "PATCH", `{"name":"shop","scrubbing":true}`, 200, "shop true [iban order_ref] [session_id] true"},
		{f.adminToken, "PATCH", `{"sensitive_fields":["` + strings.Repeat("x", store.MaxPrivacyFieldLen+1) + `"]}`, 400, ""},
		{f.adminToken, "PATCH", `{}`, 400, ""},
		{f.adminToken, "PATCH", `{"scrubbing":"yes"}`, 400, ""},
		{f.adminToken, "PATCH", `{"scrub":false}`, 400, ""},
		// A member reads the settings but cannot change them.
		{f.memberToken, "PATCH", `{"scrubbing":false}`, 403, ""},
		{f.memberToken, "GET", "", 200, "shop true [iban order_ref] [session_id] true"},
	}
	for _, s := range steps {
		code, _, out := f.do(t, s.token, s.method, web, s.body)
		if code != s.code || (code == 200 && privacy(out) != s.want) {
			t.Errorf("%s %s: HTTP %d %v, want %d %q", s.method, s.body, code, out, s.code, s.want)
		}
	}
}

func TestProjectRateLimitEndpoints(t *testing.T) {
	f := newFixture(t)
	web := fmt.Sprintf("/api/v1/projects/%d", f.project.ID)
	hint := "send rate_limit as a number of events per minute from 1 to 1000000, -1 for no limit, or null for the server's --rate-limit"
	steps := []struct {
		token, method, body string
		code                int
		want                string // rate_limit of a 200, the message of a 400
	}{
		{f.memberToken, "GET", "", 200, "<nil>"},
		{f.adminToken, "PATCH", `{"rate_limit":120}`, 200, "120"},
		{f.adminToken, "PATCH", `{"name":"shop"}`, 200, "120"},
		{f.adminToken, "PATCH", `{"rate_limit":-1}`, 200, "-1"},
		{f.adminToken, "PATCH", `{"rate_limit":1000000}`, 200, "1e+06"},
		{f.adminToken, "PATCH", `{"rate_limit":0}`, 400, "rate_limit 0 would refuse every event; " + hint},
		{f.adminToken, "PATCH", `{"rate_limit":-2}`, 400, "rate_limit -2 is out of range; " + hint},
		{f.adminToken, "PATCH", `{"rate_limit":1000001}`, 400, "rate_limit 1000001 is out of range; " + hint},
		{f.adminToken, "PATCH", `{"rate_limit":"fast"}`, 400, "invalid JSON body: rate_limit must be a whole number of events per minute, -1 for no limit, or null for the server's limit"},
		{f.adminToken, "PATCH", `{"rate_limit":1.5}`, 400, "invalid JSON body: rate_limit must be a whole number of events per minute, -1 for no limit, or null for the server's limit"},
		// A refused limit changes nothing, not even what came with it.
		{f.adminToken, "PATCH", `{"name":"other","rate_limit":0}`, 400, "rate_limit 0 would refuse every event; " + hint},
		// A member reads the limit but cannot change it, nor can the
		// project's own admin: the server's limit is the operator's.
		{f.memberToken, "PATCH", `{"rate_limit":5}`, 403, service.OnlyAdmins},
		{f.leadToken, "PATCH", `{"rate_limit":-1}`, 403, service.OnlyAdmins},
		{f.leadToken, "PATCH", `{"name":"lead's","rate_limit":5}`, 403, service.OnlyAdmins},
		{f.memberToken, "GET", "", 200, "1e+06"},
		{f.adminToken, "PATCH", `{"rate_limit":null}`, 200, "<nil>"},
	}
	for _, s := range steps {
		code, _, out := f.do(t, s.token, s.method, web, s.body)
		var got string
		switch code {
		case 200:
			got = fmt.Sprint(out["rate_limit"])
		case 400, 403:
			got = fmt.Sprint(out["error"].(map[string]any)["message"])
		}
		if code != s.code || got != s.want {
			t.Errorf("%s %s: HTTP %d %q, want %d %q", s.method, s.body, code, got, s.code, s.want)
		}
	}
	if _, _, out := f.do(t, f.adminToken, "GET", web, ""); out["name"] != "shop" {
		t.Errorf("name %v after a refused PATCH, want shop", out["name"])
	}
}

func TestMemberEndpoints(t *testing.T) {
	f := newFixture(t)
	members := fmt.Sprintf("/api/v1/projects/%d/members", f.project.ID)
	_, _, out := f.do(t, f.memberToken, "GET", members, "")
	if got := field(out, "email"); !slices.Equal(got, []string{"lead@example.com", "member@example.com", "spare@example.com"}) {
		t.Errorf("members = %v", got)
	}
	outsider := fmt.Sprintf("%s/%d", members, f.outsiderU.ID)
	issue := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	steps := []struct {
		method, path, body string
		code               int
		role               string
		outsiderSees       int // the outsider's GET of issue A afterwards
	}{
		{"PUT", outsider, `{"role":"member"}`, 200, "member", 200},
		{"PUT", outsider, `{"role":"admin"}`, 200, "admin", 200},
		{"PUT", outsider, `{"role":"boss"}`, 400, "", 200},
		{"PUT", fmt.Sprintf("%s/999999", members), `{"role":"member"}`, 404, "", 200},
		{"DELETE", outsider, "", 204, "", 404},
		{"DELETE", outsider, "", 404, "", 404},
	}
	for _, s := range steps {
		code, _, out := f.do(t, f.adminToken, s.method, s.path, s.body)
		if code != s.code {
			t.Errorf("%s %s %s: HTTP %d, want %d (%v)", s.method, s.path, s.body, code, s.code, out)
		}
		if s.role != "" && (out["role"] != s.role || out["user_id"] != float64(f.outsiderU.ID) ||
			out["email"] != "outsider@example.com" || out["project_id"] != float64(f.project.ID)) {
			t.Errorf("%s %s %s: member %v", s.method, s.path, s.body, out)
		}
		if code, _, _ := f.do(t, f.outsider, "GET", issue, ""); code != s.outsiderSees {
			t.Errorf("after %s %s %s: the outsider's GET of an issue: HTTP %d, want %d", s.method, s.path, s.body, code, s.outsiderSees)
		}
	}

	// By email: without a role, a member keeps theirs (the lead stays the
	// project's admin) and anyone else joins as a member.
	byEmail := []struct {
		body string
		code int
		role string // of the membership answered, for 200
		msg  string // in the refusal, otherwise
	}{
		{`{"email":"lead@example.com"}`, 200, "admin", ""},
		{`{"email":"OUTSIDER@example.com"}`, 200, "member", ""},
		{`{"email":"outsider@example.com","role":"admin"}`, 200, "admin", ""},
		{`{"email":"outsider@example.com"}`, 200, "admin", ""},
		{`{"email":"lead@example.com","role":"member"}`, 200, "member", ""},
		{`{"email":"lead@example.com","role":"owner"}`, 400, "", "A role in a project is member or admin"},
		{`{"email":"","role":"member"}`, 400, "", "Enter the email"},
		{`{"email":"nobody@example.com"}`, 404, "", "No user has that email"},
	}
	for _, s := range byEmail {
		code, _, out := f.do(t, f.adminToken, "POST", members, s.body)
		e, _ := out["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if code != s.code || (s.role != "" && out["role"] != s.role) || !strings.Contains(msg, s.msg) {
			t.Errorf("POST %s %s: HTTP %d %v, want %d with role %q or a message containing %q", members, s.body, code, out, s.code, s.role, s.msg)
		}
	}
}

// TestMemberEmailMisses: a project's admin who is no admin user, past
// the emails no user has they may try, gets 429 with Retry-After for any
// email, so that the CLI waits or says when to try again.
func TestMemberEmailMisses(t *testing.T) {
	f := newFixture(t)
	members := fmt.Sprintf("/api/v1/projects/%d/members", f.project.ID)
	for i := range service.EmailMissBurst {
		if code, _, out := f.do(t, f.leadToken, "POST", members, fmt.Sprintf(`{"email":"typo%d@example.com"}`, i)); code != 404 {
			t.Fatalf("miss %d: HTTP %d %v, want 404", i+1, code, out)
		}
	}
	code, h, out := f.do(t, f.leadToken, "POST", members, `{"email":"member@example.com"}`)
	e, _ := out["error"].(map[string]any)
	if ra, _ := strconv.Atoi(h.Get("Retry-After")); code != 429 || e["code"] != "too_many_requests" || ra <= 0 || ra > int(service.EmailMissEvery/time.Second) {
		t.Errorf("past the misses: HTTP %d, Retry-After %q, %v; want 429 too_many_requests with a Retry-After up to %s", code, h.Get("Retry-After"), out, service.EmailMissEvery)
	}

	// Another face's services (the dashboard's) given to the API share
	// its count: misses there leave none here.
	other := service.New(f.db, nil)
	for i := range service.EmailMissBurst {
		if _, err := other.Members.PutByEmail(context.Background(), service.ActorOf(f.lead), f.project.ID, fmt.Sprintf("typo%d@example.com", i), ""); !errors.Is(err, service.ErrNotFound) {
			t.Fatalf("dashboard's miss %d: %v", i+1, err)
		}
	}
	srv := httptest.NewServer(New(f.db, nil, func() time.Time { return now }).WithEmailMisses(other.EmailMisses()))
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+members, strings.NewReader(`{"email":"member@example.com"}`))
	req.Header.Set("Authorization", "Bearer "+f.leadToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 {
		t.Errorf("after the dashboard's misses, the API's add: HTTP %d, want 429", resp.StatusCode)
	}
}

func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	keys := fmt.Sprintf("/api/v1/projects/%d/keys", f.project.ID)
	_, _, out := f.do(t, f.memberToken, "GET", keys, "")
	old := field(out, "public_key")
	if len(old) != 1 || field(out, "active")[0] != "true" {
		t.Fatalf("keys before rotation = %v", out)
	}
	code, _, rotated := f.do(t, f.adminToken, "POST", keys+"/rotate", "")
	if code != 201 || rotated["active"] != true || rotated["public_key"] == old[0] || rotated["project_id"] != float64(f.project.ID) {
		t.Fatalf("rotate: HTTP %d %v", code, rotated)
	}
	_, _, out = f.do(t, f.memberToken, "GET", keys, "")
	if got, want := field(out, "public_key"), []string{old[0], rotated["public_key"].(string)}; !slices.Equal(got, want) {
		t.Errorf("keys after rotation = %v, want %v", got, want)
	}
	if got := field(out, "active"); !slices.Equal(got, []string{"false", "true"}) {
		t.Errorf("active flags after rotation = %v", got)
	}
	active, _ := f.db.ActiveKeys(context.Background())
	if _, ok := active[old[0]]; ok || active[rotated["public_key"].(string)].ProjectID != f.project.ID {
		t.Errorf("ActiveKeys after rotation = %v", active)
	}
}

func TestBulkUpdate(t *testing.T) {
	f := newFixture(t)
	bulk := fmt.Sprintf("/api/v1/projects/%d/issues/bulk", f.project.ID)
	ids := func(ids ...int64) string {
		b, _ := json.Marshal(ids)
		return string(b)
	}
	steps := []struct {
		body    string
		code    int
		updated float64
		status  map[int64]string // issue statuses afterwards
	}{
		{`{"ids":` + ids(f.issueA, f.issueB, f.otherIssue) + `,"status":"resolved"}`, 200, 2,
			map[int64]string{f.issueA: "resolved", f.issueB: "resolved", f.otherIssue: "unresolved"}},
		{`{"ids":` + ids(f.issueA, f.issueB) + `,"status":"resolved"}`, 200, 0, nil},
		{`{"ids":` + ids(f.issueA) + `,"status":"ignored"}`, 200, 1,
			map[int64]string{f.issueA: "ignored", f.issueB: "resolved"}},
		{`{"ids":[],"status":"resolved"}`, 400, 0, nil},
		{`{"status":"resolved"}`, 400, 0, nil},
		{`{"ids":` + ids(make([]int64, 1001)...) + `,"status":"resolved"}`, 400, 0, nil},
		{`{"ids":` + ids(f.issueA) + `,"status":"closed"}`, 400, 0, map[int64]string{f.issueA: "ignored"}},
		{`{"ids":["x"],"status":"resolved"}`, 400, 0, nil},
	}
	for _, s := range steps {
		code, _, out := f.do(t, f.memberToken, "POST", bulk, s.body)
		if code != s.code || (code == 200 && out["updated"] != s.updated) {
			t.Errorf("POST %.80s: HTTP %d %v, want %d updated %v", s.body, code, out, s.code, s.updated)
		}
		for id, want := range s.status {
			if _, _, issue := f.do(t, f.adminToken, "GET", fmt.Sprintf("/api/v1/issues/%d", id), ""); issue["status"] != want {
				t.Errorf("after POST %.80s: issue %d is %v, want %s", s.body, id, issue["status"], want)
			}
		}
	}
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	_, _, out := f.do(t, f.memberToken, "GET", "/api/v1/tokens", "")
	if got := field(out, "name"); !slices.Equal(got, []string{"t", "read", "old", "spare"}) {
		t.Errorf("tokens = %v", got)
	}
	if got := field(out, "scope"); !slices.Equal(got, []string{"full", "read", "full", "full"}) {
		t.Errorf("scopes = %v", got)
	}
	if got := field(out, "token"); !slices.Equal(got, []string{"<nil>", "<nil>", "<nil>", "<nil>"}) {
		t.Errorf("the token list shows secrets: %v", got)
	}
	code, _, created := f.do(t, f.memberToken, "POST", "/api/v1/tokens", `{"name":" laptop "}`)
	secret, _ := created["token"].(string)
	if code != 201 || !strings.HasPrefix(secret, store.APITokenPrefix) || created["name"] != "laptop" ||
		created["user_id"] != float64(f.member.ID) || created["id"] == nil {
		t.Fatalf("POST /tokens: HTTP %d %v", code, created)
	}
	if _, _, me := f.do(t, secret, "GET", "/api/v1/me", ""); me["email"] != "member@example.com" {
		t.Errorf("the new token authenticates as %v", me)
	}
	if _, _, out := f.do(t, f.memberToken, "GET", "/api/v1/tokens", ""); len(field(out, "id")) != 5 {
		t.Errorf("tokens after creating one = %v", out)
	}
	path := fmt.Sprintf("/api/v1/tokens/%v", created["id"])
	if code, _, _ := f.do(t, f.memberToken, "DELETE", path, ""); code != 204 {
		t.Errorf("DELETE own token: HTTP %d", code)
	}
	if code, _, _ := f.do(t, secret, "GET", "/api/v1/me", ""); code != 401 {
		t.Errorf("a deleted token still authenticates: HTTP %d", code)
	}
	if code, _, _ := f.do(t, f.memberToken, "DELETE", fmt.Sprintf("/api/v1/tokens/%d", f.adminSpareToken), ""); code != 404 {
		t.Errorf("DELETE another user's token: HTTP %d", code)
	}
	if _, _, out := f.do(t, f.adminToken, "GET", "/api/v1/tokens", ""); !slices.Equal(field(out, "name"), []string{"t", "spare"}) {
		t.Errorf("the admin's tokens after the member's attempt = %v", out)
	}
	for _, body := range []string{`{"name":""}`, `{"name":"   "}`, `{"name":"` + strings.Repeat("n", 101) + `"}`, `{}`,
		`{"name":"x","scope":"admin"}`, `{"name":"x","expires_at":"2000-01-01T00:00:00Z"}`} {
		if code, _, _ := f.do(t, f.memberToken, "POST", "/api/v1/tokens", body); code != 400 {
			t.Errorf("POST /tokens %.40s: HTTP %d, want 400", body, code)
		}
	}
	// A name is shown in token lists and terminals: what a terminal
	// obeys, or reorders by, is refused as it is in project names.
	for _, body := range []string{`{"name":"tok\u001b[2J\u001b]0;pwn\u0007"}`, `{"name":"tok\u009b31m"}`, `{"name":"tok\u202eevil"}`} {
		code, _, out := f.do(t, f.memberToken, "POST", "/api/v1/tokens", body)
		if msg := fmt.Sprint(out["error"]); code != 400 || !strings.Contains(msg, "cannot contain control characters or bidi controls") {
			t.Errorf("POST /tokens %s: HTTP %d %s, want 400 naming the characters", body, code, msg)
		}
	}
}

func TestSessionAuth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	expired, _, _ := f.db.CreateSession(ctx, f.member.ID, time.Millisecond)
	signedOut, _, _ := f.db.CreateSession(ctx, f.member.ID, time.Hour)
	if err := f.db.DeleteSession(ctx, signedOut); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	issue := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	basic := func(r *http.Request) { r.Header.Set("Authorization", "Basic bWU6cHc=") }
	const ignore = `{"status":"ignored"}`
	tests := []struct {
		name         string
		method, body string
		auth         []func(*http.Request)
		code         int
	}{
		{"session", "GET", "", []func(*http.Request){session(f.memberSession, false)}, 200},
		{"session, unsafe method with CSRF proof", "PATCH", ignore, []func(*http.Request){session(f.memberSession, true)}, 200},
		{"session, unsafe method without", "PATCH", ignore, []func(*http.Request){session(f.memberSession, false)}, 403},
		{"the token wins over the session", "GET", "", []func(*http.Request){session(f.memberSession, true), bearer(f.outsider)}, 404},
		{"a bad token does not fall back to the session", "GET", "", []func(*http.Request){session(f.memberSession, true), bearer("flyt_nope")}, 401},
		{"another scheme does not either", "GET", "", []func(*http.Request){session(f.memberSession, true), basic}, 401},
		{"expired session", "GET", "", []func(*http.Request){session(expired, true)}, 401},
		{"signed-out session", "GET", "", []func(*http.Request){session(signedOut, true)}, 401},
	}
	for _, tt := range tests {
		code, _, out := f.send(t, tt.method, issue, tt.body, tt.auth...)
		if code != tt.code {
			t.Errorf("%s: HTTP %d, want %d (%v)", tt.name, code, tt.code, out)
		}
	}

	// Without a SessionAuth the cookie means nothing.
	plain := httptest.NewServer(New(f.db, nil, nil))
	defer plain.Close()
	g := &fixture{srv: plain}
	if code, _, _ := g.send(t, "GET", issue, "", session(f.memberSession, true)); code != 401 {
		t.Errorf("session without SessionAuth: HTTP %d, want 401", code)
	}
	if code, _, _ := g.send(t, "GET", issue, "", bearer(f.memberToken)); code != 200 {
		t.Errorf("token without SessionAuth: HTTP %d, want 200", code)
	}

	// A session check that fails for another reason is a server error.
	broken := httptest.NewServer(New(f.db, nil, nil).WithSessionAuth(func(*http.Request) (store.User, error) {
		return store.User{}, errors.New("database unreachable")
	}))
	defer broken.Close()
	g = &fixture{srv: broken}
	if code, _, out := g.send(t, "GET", issue, ""); code != 500 || out["error"].(map[string]any)["code"] != "internal" {
		t.Errorf("failing SessionAuth: HTTP %d %v, want 500", code, out)
	}
}

func patterns(es []endpoint) []string {
	ps := make([]string, len(es))
	for i, e := range es {
		ps[i] = e.pattern
	}
	return ps
}

// TestDatabaseUnavailable cuts a PostgreSQL store off from the API, as a
// database restart or a network failure would, and then makes it hang: requests get 503 with
// Retry-After, which clients retry, not a 500 that reads as a bug; with the
// database back, the same requests work without a restart.
func TestDatabaseUnavailable(t *testing.T) {
	ctx := context.Background()
	proxy, dsn := pgtest.NewProxy(t, pgtest.URL(t))
	db, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	admin, err := db.CreateUser(ctx, "admin@example.com", "x", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateAPIToken(ctx, admin.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	srv := httptest.NewServer(New(db, slog.New(slog.NewTextHandler(&logs, nil)), nil).WithRequestTimeout(time.Second))
	defer srv.Close()
	get := func() (int, http.Header, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/projects", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, resp.Header, out
	}
	if code, _, out := get(); code != 200 {
		t.Fatalf("with the database up: HTTP %d %v", code, out)
	}
	proxy.Down()
	code, hdr, out := get()
	if e, _ := out["error"].(map[string]any); code != 503 || hdr.Get("Retry-After") == "" || e["code"] != "unavailable" {
		t.Errorf("with the database down: HTTP %d, Retry-After %q, %v; want 503 unavailable with Retry-After", code, hdr.Get("Retry-After"), out)
	}
	// During an outage every request fails alike: one warning, not one
	// per request.
	get()
	get()
	if n := strings.Count(logs.String(), "database unavailable"); n != 1 {
		t.Errorf("%d warnings for three refused requests, want 1:\n%s", n, logs.String())
	}
	proxy.Up()
	if code, _, out := get(); code != 200 {
		t.Errorf("with the database back: HTTP %d %v", code, out)
	}
	// A database that keeps its connections but stops answering: the
	// request ends at its deadline, not when TCP gives up.
	proxy.Stall()
	start := time.Now()
	code, hdr, out = get()
	if e, _ := out["error"].(map[string]any); code != 503 || hdr.Get("Retry-After") == "" || e["code"] != "unavailable" || time.Since(start) > 5*time.Second {
		t.Errorf("with the database hanging: HTTP %d after %v, %v; want 503 unavailable at the 1 s deadline", code, time.Since(start).Round(time.Millisecond), out)
	}
	proxy.Resume()
	if code, _, out := get(); code != 200 {
		t.Errorf("with the database answering again: HTTP %d %v", code, out)
	}
}

// TestIssueEnvironmentEvents: with ?environment=, an issue's latest
// event and its events list are of that environment only (QA: the list
// ignored the parameter, and the latest event, which `flytrap issues view
// --env` prints, was the newer staging one under production).
func TestIssueEnvironmentEvents(t *testing.T) {
	f := newFixture(t)
	// Issue A has two production events an hour ago (…a2 the newer);
	// staging adds one three hours ago and the newest, a minute ago.
	for id, ago := range map[string]time.Duration{"eeeeeeeeeeeeeeeeeeeeeeeeeeeeee01": 3 * time.Hour, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeee02": time.Minute} {
		ev := &event.Event{EventID: id, ProjectID: f.project.ID, Source: event.SourceSentry, Timestamp: now.Add(-ago), Received: now,
			Level: "error", Environment: "staging", Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined"}}}
		if _, err := f.db.SaveEvent(context.Background(), store.SaveRequest{Event: ev, Fingerprint: "TypeError", GroupingVersion: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	const a1, a2, s1, s2 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeee01", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeee02"
	events := fmt.Sprintf("/api/v1/issues/%d/events", f.issueA)
	// list pages through path limit events at a time.
	list := func(path string, limit int) []string {
		t.Helper()
		var ids []string
		cursor := ""
		for range 10 {
			u := fmt.Sprintf("%s&limit=%d&cursor=%s", path, limit, url.QueryEscape(cursor))
			code, _, out := f.do(t, f.memberToken, "GET", u, "")
			data, ok := out["data"].([]any)
			if code != 200 || !ok {
				t.Fatalf("%s: HTTP %d %v", u, code, out)
			}
			for _, d := range data {
				ids = append(ids, d.(map[string]any)["event_id"].(string))
			}
			next, _ := out["next_cursor"].(string)
			if next == "" {
				return ids
			}
			cursor = next
		}
		t.Fatalf("%s: too many pages", path)
		return nil
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"?", []string{s2, a2, a1, s1}},
		{"?environment=production", []string{a2, a1}},
		{"?environment=staging", []string{s2, s1}},
		{"?environment=development", nil},
	} {
		for _, limit := range []int{1, 25} {
			if got := list(events+tt.query, limit); !slices.Equal(got, tt.want) {
				t.Errorf("%s by %d: %v, want %v", events+tt.query, limit, got, tt.want)
			}
		}
	}
	issue := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	for _, tt := range []struct{ path, want string }{
		{issue, s2},
		{issue + "?environment=production", a2},
		{issue + "?environment=staging", s2},
		{issue + "?environment=development", ""},
	} {
		code, _, out := f.do(t, f.memberToken, "GET", tt.path, "")
		if code != 200 {
			t.Fatalf("%s: HTTP %d %v", tt.path, code, out)
		}
		got := ""
		if latest, ok := out["latest_event"].(map[string]any); ok {
			got, _ = latest["event_id"].(string)
		}
		if got != tt.want {
			t.Errorf("%s: latest event %q, want %q", tt.path, got, tt.want)
		}
	}
}

// TestIssueEnvironmentScope: with ?environment=, the list's and the
// detail's figures and hourly counts are the issue's in that environment.
func TestIssueEnvironmentScope(t *testing.T) {
	f := newFixture(t)
	// Issue A: two events in production an hour ago (one user), and two
	// in staging three and five hours ago (two users).
	for i, ago := range []time.Duration{3 * time.Hour, 5 * time.Hour} {
		ev := &event.Event{EventID: fmt.Sprintf("dddddddddddddddddddddddddddddd%02d", i), ProjectID: f.project.ID, Source: event.SourceSentry,
			Timestamp: now.Add(-ago), Received: now, Level: "error", Environment: "staging",
			Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined"}}}
		if _, err := f.db.SaveEvent(context.Background(), store.SaveRequest{Event: ev, Fingerprint: "TypeError", GroupingVersion: "test",
			UserKey: fmt.Sprint("staging-user-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	iso := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	type figures struct {
		Count     int64  `json:"count"`
		UserCount int64  `json:"user_count"`
		FirstSeen string `json:"first_seen"`
		LastSeen  string `json:"last_seen"`
	}
	// get returns the figures of the issue, or of the list's first, and
	// the hourly counts of the issue.
	get := func(path string) (figures, []int64, map[string]any) {
		t.Helper()
		code, _, out := f.do(t, f.memberToken, "GET", path, "")
		if code != 200 {
			t.Fatalf("%s: HTTP %d: %v", path, code, out)
		}
		issue := any(out)
		if data, ok := out["data"].([]any); ok {
			issue = data[0]
		}
		b, _ := json.Marshal(issue)
		var fig figures
		json.Unmarshal(b, &fig)
		var hourly []int64
		buckets, _ := out["hourly_counts"].([]any)
		for _, b := range buckets {
			hourly = append(hourly, int64(b.(map[string]any)["count"].(float64)))
		}
		return fig, hourly, out
	}
	a := fmt.Sprintf("/api/v1/issues/%d", f.issueA)
	list := fmt.Sprintf("/api/v1/projects/%d/issues", f.project.ID)
	for _, tt := range []struct {
		path       string
		want       figures
		wantHourly []int64
	}{
		{a, figures{Count: 4, UserCount: 3, FirstSeen: iso(5 * time.Hour), LastSeen: iso(time.Hour)}, []int64{1, 1, 2}},
		{a + "?environment=production", figures{Count: 2, UserCount: 1, FirstSeen: iso(time.Hour), LastSeen: iso(time.Hour)}, []int64{2}},
		{a + "?environment=staging", figures{Count: 2, UserCount: 2, FirstSeen: iso(5 * time.Hour), LastSeen: iso(3 * time.Hour)}, []int64{1, 1}},
		{a + "?environment=development", figures{}, nil},
		{list + "?environment=production&sort=first_seen", figures{Count: 2, UserCount: 1, FirstSeen: iso(time.Hour), LastSeen: iso(time.Hour)}, nil},
		{list + "?query=env:staging+TypeError", figures{Count: 2, UserCount: 2, FirstSeen: iso(5 * time.Hour), LastSeen: iso(3 * time.Hour)}, nil},
	} {
		got, hourly, _ := get(tt.path)
		if got != tt.want || !slices.Equal(hourly, tt.wantHourly) {
			t.Errorf("%s: %+v with hourly counts %v, want %+v with %v", tt.path, got, hourly, tt.want, tt.wantHourly)
		}
	}
	// No events there: no times, rather than the zero time.
	if _, _, out := get(a + "?environment=development"); out["first_seen"] != nil || out["last_seen"] != nil {
		t.Errorf("an issue without events in the environment has times: %v", out)
	}
}

func TestProjectFilterEndpoints(t *testing.T) {
	f := newFixture(t)
	web := fmt.Sprintf("/api/v1/projects/%d/filters", f.project.ID)
	filters := func(out map[string]any) string {
		return fmt.Sprint(out["browser_extensions"], " ", out["localhost"], " ", out["legacy_browsers"], " ", out["web_crawlers"], " ",
			out["error_messages"], " ", out["releases"], " ", out["filtered_last_24h"])
	}
	zero := "map[browser-extensions:0 error-message:0 legacy-browsers:0 localhost:0 release-version:0 web-crawlers:0]"
	steps := []struct {
		token, method, body string
		code                int
		want                string // filters(answer) of a 200, the message of a 400 or 403
	}{
		{f.memberToken, "GET", "", 200, "true false [] true [] [] " + zero},
		{f.adminToken, "PATCH", `{"localhost":true,"error_messages":[" *ResizeObserver loop* ","ChunkLoadError*"]}`, 200,
			"true true [] true [*ResizeObserver loop* ChunkLoadError*] [] " + zero},
		{f.leadToken, "PATCH", `{"releases":["1.2.*"],"web_crawlers":false,"legacy_browsers":["ie","default","ie"]}`, 200,
			"true true [ie default] false [*ResizeObserver loop* ChunkLoadError*] [1.2.*] " + zero},
		{f.adminToken, "PATCH", `{"releases":["[1.2"]}`, 400, `releases: invalid pattern: "[1.2": [ without ]`},
		{f.adminToken, "PATCH", `{"legacy_browsers":["ie_pre_9"]}`, 400,
			`unknown legacy browser: legacy_browsers: "ie_pre_9" is not one of chrome, edge, firefox, safari, opera, opera_mini, android, ie, default`},
		{f.adminToken, "PATCH", `{}`, 400, "nothing to change: send browser_extensions, localhost, legacy_browsers, web_crawlers, error_messages or releases"},
		{f.adminToken, "PATCH", `{"crawlers":false}`, 400, ""},
		{f.memberToken, "PATCH", `{"localhost":false}`, 403, service.OnlyProjectAdmins},
		{f.memberToken, "GET", "", 200, "true true [ie default] false [*ResizeObserver loop* ChunkLoadError*] [1.2.*] " + zero},
		{f.adminToken, "PATCH", `{"legacy_browsers":[]}`, 200, "true true [] false [*ResizeObserver loop* ChunkLoadError*] [1.2.*] " + zero},
	}
	for _, s := range steps {
		code, _, out := f.do(t, s.token, s.method, web, s.body)
		var got string
		switch code {
		case 200:
			got = filters(out)
		case 400, 403:
			got = fmt.Sprint(out["error"].(map[string]any)["message"])
		}
		if code != s.code || (s.want != "" && got != s.want) {
			t.Errorf("%s %s: HTTP %d %q, want %d %q", s.method, s.body, code, got, s.code, s.want)
		}
	}
	if code, _, _ := f.do(t, f.memberToken, "GET", "/api/v1/projects/999999/filters", ""); code != 404 {
		t.Errorf("another project's filters: HTTP %d, want 404", code)
	}
}

// stalledCount is a Store whose count of issues takes until the request
// ends, as counting a selective search of a big project takes its time.
type stalledCount struct{ Store }

func (stalledCount) CountIssues(ctx context.Context, _ store.Viewer, _ store.IssueFilter, _ int) (int, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

// TestHitsOfAWholePage: a first page with no page after it holds every
// issue the search matches, so X-Hits is its length and the list does not
// wait for the count; a page with more after it waits for the count.
func TestHitsOfAWholePage(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(New(stalledCount{f.db}, nil, func() time.Time { return now }))
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	get := func(query string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/projects/%d/issues?%s", srv.URL, f.project.ID, query), nil)
		req.Header.Set("Authorization", "Bearer "+f.memberToken)
		return client.Do(req)
	}
	resp, err := get("query=typeerror")
	if err != nil {
		t.Fatalf("whole first page: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Hits") != "1" {
		t.Errorf("whole first page: HTTP %d, X-Hits %q, want 200 and 1", resp.StatusCode, resp.Header.Get("X-Hits"))
	}
	client.Timeout = 300 * time.Millisecond
	if resp, err := get("limit=1"); err == nil {
		resp.Body.Close()
		t.Errorf("a page with more after it: HTTP %d, X-Hits %q before the count was done", resp.StatusCode, resp.Header.Get("X-Hits"))
	}
}
