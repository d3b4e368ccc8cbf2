package dashboard

import "testing"

// TestPlainHTTPBanner: with Config.PlainHTTP every page, the sign-in page
// first, warns that the connection is unencrypted and says how to get
// HTTPS; without it no page does.
func TestPlainHTTPBanner(t *testing.T) {
	pages := []struct{ role, path string }{
		{roleAnon, "/login"},
		{roleMember, "/projects"},
		{roleMember, issuePath(0)}, // the error page (404)
		{roleAdmin, "/admin/users"},
		{roleMember, "/account"},
	}
	banner := []string{
		`<div class="plain-http" role="alert">`,
		"This connection is not encrypted.",
		"sign-in, passwords and session cookies cross the network in clear text",
		"<code>flytrap init --domain errors.example.com</code>, then <code>flytrap deploy</code>",
		`href="https://github.com/getflytrap/flytrap/blob/main/docs/deploy.md#plain-http-without-a-domain"`,
	}
	for _, plain := range []bool{true, false} {
		f := newFixture(t, func(c *Config) { c.PlainHTTP = plain })
		for _, p := range pages {
			r := f.get(p.role, p.path)
			if r.StatusCode != 200 && r.StatusCode != 404 {
				t.Fatalf("plain=%v %s: HTTP %d", plain, p.path, r.StatusCode)
			}
			if plain {
				wantBody(t, r, banner...)
			} else {
				noBody(t, r, "plain-http", "not encrypted")
			}
		}
	}
}
