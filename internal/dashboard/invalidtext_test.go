package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// TestInvalidTextLookups: an email or release version with a NUL byte or
// invalid UTF-8 is one nobody has, as on SQLite: signing in is refused as
// for a wrong password, asking for a reset link answers as for any email,
// adding such a member goes back to the project with a message, and the
// release's page is a 404, where PostgreSQL's refusal of the text was a 500, the sign-in's
// without signing in.
func TestInvalidTextLookups(t *testing.T) {
	for _, tt := range []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "flytrap.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixtureOn(t, tt.dsn(t), withMailer(make(chanMailer, 10)))
			for i, email := range []string{"a\x00@b.c", "a\xff@b.c"} {
				wantStatus(t, f.login(email, "xxxxxxxxxx", fmt.Sprintf("192.0.2.%d:1", i+1), nil), http.StatusUnauthorized)
				c, token := f.formOf("/forgot-password")
				wantStatus(t, f.anonPost("/forgot-password", c, url.Values{csrfField: {token}, "email": {email}}, "192.0.2.9:1"), http.StatusOK)
				r := f.post(roleAdmin, fmt.Sprintf("/admin/projects/%d/members", f.web.ID), url.Values{"email": {email}, "role": {"member"}})
				wantRedirect(t, r, fmt.Sprintf("/admin/projects/%d", f.web.ID))
			}
			for _, v := range []string{"a%00b", "a%FFb", "shop@1.2.3%00"} {
				wantStatus(t, f.get(roleMember, fmt.Sprintf("/projects/%d/releases/%s", f.web.ID, v)), http.StatusNotFound)
			}
		})
	}
}
