package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/store"
)

// loginFixture is an API whose token endpoint shares th, over a store
// with a user whose password is real.
func loginFixture(t *testing.T, th *auth.Throttle) *fixture {
	t.Helper()
	f := newFixture(t)
	hash, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.CreateUser(context.Background(), "ada@example.com", hash, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	a := New(f.db, nil, nil).WithThrottle(th, func(r *http.Request) string { return auth.ClientKey(r, false) })
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	return f
}

func TestTokenLogin(t *testing.T) {
	f := loginFixture(t, auth.NewThrottle(5, 20, time.Minute, time.Millisecond))
	code, _, out := f.send(t, "POST", tokenLoginPath, `{"email":" ADA@example.com ","password":"correct horse battery","name":"laptop"}`)
	secret, _ := out["token"].(string)
	fullID := fmt.Sprint(out["id"])
	// The token is marked as minted by the password, so that changing the
	// password revokes it; one created by name through the API is not.
	if code != 201 || !strings.HasPrefix(secret, store.APITokenPrefix) || out["name"] != "laptop" || out["scope"] != "full" || out["expires_at"] != nil ||
		out["origin"] != store.TokenSignIn {
		t.Fatalf("login: HTTP %d %v", code, out)
	}
	if code, _, out := f.do(t, secret, "POST", "/api/v1/tokens", `{"name":"ci","password":"correct horse battery"}`); code != 201 || out["origin"] != store.TokenCreated {
		t.Errorf("token created by name: HTTP %d %v, want origin %q", code, out, store.TokenCreated)
	}
	if _, _, me := f.do(t, secret, "GET", "/api/v1/me", ""); me["email"] != "ada@example.com" {
		t.Errorf("the token authenticates as %v", me)
	}

	// A read-only token with an expiry reads and is refused every change.
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	code, _, out = f.send(t, "POST", tokenLoginPath,
		fmt.Sprintf(`{"email":"ada@example.com","password":"correct horse battery","name":"ci","scope":"read","expires_at":%q}`, expires))
	ro, _ := out["token"].(string)
	roID := fmt.Sprint(out["id"])
	if code != 201 || out["scope"] != "read" || out["expires_at"] != expires {
		t.Fatalf("read-only login: HTTP %d %v", code, out)
	}
	if code, _, _ := f.do(t, ro, "GET", "/api/v1/tokens", ""); code != 200 {
		t.Errorf("read-only GET: HTTP %d", code)
	}
	code, _, out = f.do(t, ro, "POST", "/api/v1/tokens", `{"name":"more"}`)
	if e, _ := out["error"].(map[string]any); code != 403 || e["code"] != "read_only_token" {
		t.Errorf("read-only POST: HTTP %d %v", code, out)
	}
	// It may revoke itself, which `flytrap logout` does, and no other token.
	if code, _, out := f.do(t, ro, "DELETE", "/api/v1/tokens/"+fullID, ""); code != 403 {
		t.Errorf("read-only token revoking another: HTTP %d %v", code, out)
	}
	if code, _, out := f.do(t, ro, "DELETE", "/api/v1/tokens/"+roID, ""); code != 204 {
		t.Errorf("read-only token revoking itself: HTTP %d %v", code, out)
	}
	if code, _, _ := f.do(t, ro, "GET", "/api/v1/me", ""); code != 401 {
		t.Errorf("revoked read-only token: HTTP %d, want 401", code)
	}

	for _, tt := range []struct {
		body string
		code int
	}{
		{`{"email":"ada@example.com","password":"wrong","name":"x"}`, 401},
		{`{"email":"nobody@example.com","password":"correct horse battery","name":"x"}`, 401},
		{`{"email":"ada@example.com","password":"correct horse battery","name":""}`, 400},
		{`{"email":"ada@example.com","password":"correct horse battery","name":"x","scope":"root"}`, 400},
		{`{"email":"","password":"x"}`, 400},
		{`{"email":"ada@example.com","password":"x","extra":1}`, 400},
		{`not json`, 400},
	} {
		if code, _, out := f.send(t, "POST", tokenLoginPath, tt.body); code != tt.code {
			t.Errorf("%s: HTTP %d, want %d (%v)", tt.body, code, tt.code, out)
		}
	}
}

// TestSignInTokenMintsWithPassword is the attack of a stolen login token:
// its thief makes a named token, which a password change keeps, to stay in
// after the victim changes the password. The named token needs the
// password, and the one its owner makes with it survives the change.
func TestSignInTokenMintsWithPassword(t *testing.T) {
	f := loginFixture(t, auth.NewThrottle(5, 20, time.Minute, time.Millisecond))
	ctx := context.Background()
	_, _, out := f.send(t, "POST", tokenLoginPath, `{"email":"ada@example.com","password":"correct horse battery","name":"laptop"}`)
	stolen, _ := out["token"].(string)
	for _, body := range []string{`{"name":"backdoor"}`, `{"name":"backdoor","password":"guess"}`} {
		code, _, out := f.do(t, stolen, "POST", "/api/v1/tokens", body)
		if e, _ := out["error"].(map[string]any); code != 403 || e["code"] != apitypes.CodePassword {
			t.Errorf("%s with a login token: HTTP %d %v, want 403 %s", body, code, out, apitypes.CodePassword)
		}
	}
	code, _, out := f.do(t, stolen, "POST", "/api/v1/tokens", `{"name":"ci","password":"correct horse battery"}`)
	ci, _ := out["token"].(string)
	if code != 201 || out["origin"] != store.TokenCreated {
		t.Fatalf("named token with the password: HTTP %d %v", code, out)
	}
	// A named token has nothing to gain from the check: it outlives a
	// password change itself.
	if code, _, out := f.do(t, ci, "POST", "/api/v1/tokens", `{"name":"ci-2"}`); code != 201 {
		t.Errorf("named token making another: HTTP %d %v", code, out)
	}
	// A wrong password sent by a named token is still refused.
	if code, _, out := f.do(t, ci, "POST", "/api/v1/tokens", `{"name":"ci-3","password":"guess"}`); code != 403 {
		t.Errorf("named token with a wrong password: HTTP %d %v", code, out)
	}
	u, err := f.db.UserByEmail(ctx, "ada@example.com")
	if err != nil {
		t.Fatal(err)
	}
	// What service.Users.ChangePassword does once the password is set.
	if n, err := f.db.DeleteSignInTokens(ctx, u.ID); err != nil || n != 1 {
		t.Fatalf("DeleteSignInTokens = %d, %v", n, err)
	}
	if code, _, _ := f.do(t, stolen, "GET", "/api/v1/me", ""); code != 401 {
		t.Errorf("the stolen login token after the password change: HTTP %d, want 401", code)
	}
	if code, _, _ := f.do(t, ci, "GET", "/api/v1/me", ""); code != 200 {
		t.Errorf("the token its owner made with the password, after the change: HTTP %d, want 200", code)
	}
}

// TestTokenLoginThrottled checks that guesses through the endpoint and
// through the sign-in form (which Begins attempts on the same throttle)
// count together, and that the refusal names its wait.
func TestTokenLoginThrottled(t *testing.T) {
	th := auth.NewThrottle(3, 20, 15*time.Minute, time.Millisecond)
	f := loginFixture(t, th)
	// One failure through the form, from the client the test server sees.
	th.Begin("ada@example.com", "ip:127.0.0.1", time.Now())
	for i := range 2 {
		if code, _, _ := f.send(t, "POST", tokenLoginPath, `{"email":"ada@example.com","password":"guess","name":"x"}`); code != 401 {
			t.Fatalf("guess %d: HTTP %d, want 401", i, code)
		}
	}
	code, hdr, out := f.send(t, "POST", tokenLoginPath, `{"email":"ada@example.com","password":"correct horse battery","name":"x"}`)
	if e, _ := out["error"].(map[string]any); code != 429 || e["code"] != "too_many_requests" || hdr.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: HTTP %d %v Retry-After %q", code, out, hdr.Get("Retry-After"))
	}
}

func TestFeed(t *testing.T) {
	f := newFixture(t)
	_, _, out := f.do(t, f.memberToken, "GET", "/api/v1/events?since=2h", "")
	if got := field(out, "event_id"); !slices.Equal(got, []string{f.eventA, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1"}) {
		t.Errorf("member's feed = %v", got)
	}
	if got := field(out, "culprit"); got[0] != "app.js in run" {
		t.Errorf("culprits = %v", got)
	}
	if got := field(out, "count"); !slices.Equal(got, []string{"2", "2", "1"}) {
		t.Errorf("counts = %v", got)
	}
	// Paging in arrival order, across projects for the admin.
	var ids []string
	cursor := ""
	for range 5 {
		_, _, out := f.do(t, f.adminToken, "GET", "/api/v1/events?since=2h&limit=3&cursor="+cursor, "")
		ids = append(ids, field(out, "event_id")...)
		if cursor, _ = out["next_cursor"].(string); cursor == "" {
			break
		}
	}
	if len(ids) != 4 || ids[3] != f.otherEvent {
		t.Errorf("admin's pages = %v", ids)
	}
	for q, want := range map[string][]string{
		"since=2h&environment=staging": {"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb1"},
		"since=2h&level=warning":       {},
		"since=30m":                    {},
	} {
		_, _, out := f.do(t, f.memberToken, "GET", "/api/v1/events?"+q, "")
		if got := field(out, "event_id"); !slices.Equal(got, want) {
			t.Errorf("feed?%s = %v, want %v", q, got, want)
		}
	}
	for _, q := range []string{"since=yesterday", "limit=0", "project=x", "cursor=zzz"} {
		if code, _, _ := f.do(t, f.memberToken, "GET", "/api/v1/events?"+q, ""); code != 400 {
			t.Errorf("feed?%s: HTTP %d, want 400", q, code)
		}
	}
}

// TestTokenPasswordThrottled checks that the password a login token sends
// to make a named token is counted in the sign-in throttle: a thief with
// the token cannot guess the password through this endpoint either.
func TestTokenPasswordThrottled(t *testing.T) {
	f := loginFixture(t, auth.NewThrottle(3, 20, 15*time.Minute, time.Millisecond))
	_, _, out := f.send(t, "POST", tokenLoginPath, `{"email":"ada@example.com","password":"correct horse battery","name":"laptop"}`)
	stolen, _ := out["token"].(string)
	for i := range 3 {
		if code, _, out := f.do(t, stolen, "POST", "/api/v1/tokens", `{"name":"x","password":"guess"}`); code != 403 {
			t.Fatalf("guess %d: HTTP %d %v, want 403", i, code, out)
		}
	}
	code, hdr, out := f.do(t, stolen, "POST", "/api/v1/tokens", `{"name":"x","password":"correct horse battery"}`)
	if e, _ := out["error"].(map[string]any); code != 429 || e["code"] != "too_many_requests" || hdr.Get("Retry-After") == "" {
		t.Errorf("after 3 wrong passwords: HTTP %d %v Retry-After %q, want 429", code, out, hdr.Get("Retry-After"))
	}
}
