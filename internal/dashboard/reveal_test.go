package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// TestAddWebhookPostRedirectGet is QA's reload of the page after "Add
// channel": the form answers a redirect to the alerts page, which shows
// the secret once; reloading it (a GET) adds no second channel and shows
// no secret, and the sealed secret opens only for its session and page,
// and only until it expires.
func TestAddWebhookPostRedirectGet(t *testing.T) {
	f := newFixture(t)
	base := fmt.Sprintf("/projects/%d/alerts", f.web.ID)
	before, err := f.db.ListAlertChannels(f.ctx, store.System, f.web.ID)
	f.must(err)
	r := f.post(roleAdmin, base+"/channels", url.Values{"kind": {"webhook"}, "name": {"local hook"}, "url": {"https://example.com/hook"}})
	wantRedirect(t, r, base)
	sealed := cookieNamed(r, revealCookie)
	if sealed == nil || !sealed.HttpOnly || sealed.MaxAge <= 0 || sealed.MaxAge > 60 {
		t.Fatalf("the secret's cookie: %+v, want HttpOnly and short-lived", sealed)
	}
	chs, err := f.db.ListAlertChannels(f.ctx, store.System, f.web.ID)
	f.must(err)
	if len(chs) != len(before)+1 {
		t.Fatalf("%d channels after one post, %d before", len(chs), len(before))
	}
	var hooks string
	f.must(f.db.SQL().QueryRowContext(f.ctx, `SELECT secret FROM alert_channels WHERE id = $1`, chs[len(chs)-1].ID).Scan(&hooks))
	if strings.Contains(sealed.Value, hooks) || strings.Contains(sealed.Value, "whsec_") {
		t.Error("the cookie holds the secret in the clear")
	}

	// Another session, another page, a later visit: nothing shown.
	other := f.do(request{role: roleLead, path: base, cookies: []*http.Cookie{sealed}})
	wantStatus(t, other, http.StatusOK)
	noBody(t, other, hooks)
	wrongPage := f.do(request{role: roleAdmin, path: base + "/rules/1", cookies: []*http.Cookie{sealed}})
	noBody(t, wrongPage, hooks)
	f.clock.Advance(2 * time.Minute)
	late := f.do(request{role: roleAdmin, path: base, cookies: []*http.Cookie{sealed}})
	noBody(t, late, hooks)
	f.clock.Advance(-2 * time.Minute)

	shown := f.follow(roleAdmin, r)
	wantStatus(t, shown, http.StatusOK)
	wantBody(t, shown, hooks, "Signing secret of local hook", "Channel local hook added.")
	// A client that sends the deleted cookie again sees nothing.
	replay := f.do(request{role: roleAdmin, path: base, cookies: []*http.Cookie{sealed}})
	noBody(t, replay, hooks)
	// Reload: a GET, without the cookie the page deleted.
	reload := f.get(roleAdmin, base)
	wantStatus(t, reload, http.StatusOK)
	noBody(t, reload, hooks, "whsec_")
	chs, err = f.db.ListAlertChannels(f.ctx, store.System, f.web.ID)
	f.must(err)
	if len(chs) != len(before)+1 {
		t.Errorf("%d channels after the reload, want %d", len(chs), len(before)+1)
	}
}

// TestSecretFormsPostRedirectGet: the other forms that make a one-time
// secret (an API token, an invitation, a password reset link) redirect to
// their page, which shows it once; reloading that page issues nothing
// and shows nothing.
func TestSecretFormsPostRedirectGet(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name, role, path, page string
		form                   url.Values
		shown                  func(body string) string
	}{
		{"token", roleMember, "/account/tokens", "/account/tokens", url.Values{"name": {"CI"}, "scope": {"read"}},
			func(body string) string {
				if m := shownSecret.FindStringSubmatch(body); m != nil {
					return m[1]
				}
				return ""
			}},
		{"invitation", roleAdmin, "/admin/users", "/admin/users", url.Values{"email": {"ada@example.com"}, "invite": {"on"}, "role": {store.RoleMember}},
			linkRE.FindString},
		{"reset", roleAdmin, "/admin/users/" + itoa(f.outsider.ID) + "/reset-password", "/admin/users", nil, linkRE.FindString},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.post(tc.role, tc.path, tc.form)
			wantRedirect(t, r, tc.page)
			if loc := r.Header.Get("Location"); loc != tc.page {
				t.Errorf("redirect to %q, want %q", loc, tc.page)
			}
			if c := cookieNamed(r, revealCookie); c == nil || !c.HttpOnly || c.MaxAge <= 0 || c.MaxAge > 60 {
				t.Fatalf("the secret's cookie: %+v", c)
			}
			shown := f.follow(tc.role, r)
			wantStatus(t, shown, http.StatusOK)
			secret := tc.shown(shown.Body)
			if secret == "" {
				t.Fatalf("the page the form redirects to does not show the secret:\n%s", excerpt(shown.Body))
			}
			if strings.Contains(cookieNamed(r, revealCookie).Value, secret) {
				t.Error("the cookie holds the secret in the clear")
			}
			reload := f.get(tc.role, tc.page)
			wantStatus(t, reload, http.StatusOK)
			if tc.shown(reload.Body) != "" {
				t.Error("a reload shows a secret again")
			}
		})
	}
	tokens, err := f.db.ListAPITokens(f.ctx, f.member.ID)
	f.must(err)
	if len(tokens) != 1 {
		t.Errorf("%d tokens, want the one the form made", len(tokens))
	}
}
