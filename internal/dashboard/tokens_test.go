package dashboard

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
)

var shownSecret = regexp.MustCompile(`<code class="secret" id="new-token">(flyt_[0-9a-f]+)</code>`)

// TestTokensPage creates a token through the form, sees its secret once,
// uses it, and revokes it.
func TestTokensPage(t *testing.T) {
	f := newFixture(t)
	r := f.post(roleMember, "/account/tokens", url.Values{"name": {"CI"}, "scope": {"read"}, "expires_days": {"30"}})
	r = f.follow(roleMember, r)
	wantStatus(t, r, http.StatusOK)
	m := shownSecret.FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatalf("the new token's secret is not shown:\n%s", excerpt(r.Body))
	}
	u, tk, err := f.db.TokenOwner(f.ctx, m[1])
	if err != nil || u.ID != f.member.ID || tk.Scope != store.ScopeReadOnly || tk.ExpiresAt == nil ||
		tk.ExpiresAt.Sub(f.clock.Now()).Hours() != 30*24 {
		t.Fatalf("the shown secret is %+v %+v, %v", u, tk, err)
	}
	// Listed, without its secret, on the next visit; its last use (by
	// TokenOwner above) is a <time>, which app.js shows in the reader's zone
	// as it does the creation time.
	r = f.get(roleMember, "/account/tokens")
	wantBody(t, r, "<td>CI</td>", "Read-only")
	noBody(t, r, m[1])
	if got := regexp.MustCompile(`<td><time datetime="[^"]+">[^<]+ UTC</time></td>`).FindAllString(r.Body, -1); len(got) != 2 {
		t.Errorf("the token's creation and last use are not both <time> elements: %q\n%s", got, excerpt(r.Body))
	}
	// Another user does not see it.
	noBody(t, f.get(roleOutsider, "/account/tokens"), "<td>CI</td>")

	for _, form := range []url.Values{
		{"name": {""}},
		{"name": {"x"}, "scope": {"root"}},
		{"name": {"x"}, "expires_days": {"-3"}},
		{"name": {strings.Repeat("n", 101)}},
	} {
		r := f.post(roleMember, "/account/tokens", form)
		wantStatus(t, r, http.StatusBadRequest)
		if shownSecret.MatchString(r.Body) {
			t.Errorf("%v: a refused form shows a secret", form)
		}
	}

	r = f.post(roleMember, "/account/tokens/"+itoa(tk.ID)+"/revoke", nil)
	wantRedirect(t, r, "/account/tokens")
	if _, _, err := f.db.TokenOwner(f.ctx, m[1]); err == nil {
		t.Error("a revoked token still authenticates")
	}
}

// TestTokensCSRF: the token forms are refused without the CSRF proof, and
// change nothing.
func TestTokensCSRF(t *testing.T) {
	f := newFixture(t)
	_, tk, err := f.db.CreateAPIToken(f.ctx, f.member.ID, "laptop")
	f.must(err)
	for _, path := range []string{"/account/tokens", "/account/tokens/" + itoa(tk.ID) + "/revoke"} {
		for _, h := range []map[string]string{nil, {"Sec-Fetch-Site": "cross-site"}} {
			r := f.do(request{method: http.MethodPost, role: roleMember, path: path, form: url.Values{"name": {"evil"}}, noCSRF: true, header: h})
			wantStatus(t, r, http.StatusForbidden)
		}
	}
	ts, err := f.db.ListAPITokens(f.ctx, f.member.ID)
	if err != nil || len(ts) != 1 || ts[0].Name != "laptop" {
		t.Errorf("tokens after refused requests: %+v, %v", ts, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
