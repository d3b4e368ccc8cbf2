package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

// TestDestructiveFormsConfirm: a form that loses something asks first
// (app.js turns data-confirm into a confirmation), saying what is lost;
// the form itself stays a plain POST, which works without JavaScript.
func TestDestructiveFormsConfirm(t *testing.T) {
	f := newFixture(t)
	for _, name := range []string{"flytrap dev", "CI"} {
		wantRedirect(t, f.post(roleAdmin, "/account/tokens", url.Values{"name": {name}}), "/account/tokens")
	}
	issuePage := fmt.Sprintf("/issues/%d", f.issue)
	wantStatus(t, f.post(roleAdmin, issuePage+"/comments", url.Values{"text": {"looking into it"}}), http.StatusSeeOther)
	tests := []struct {
		path string
		want string // a regular expression
	}{
		{"/account/tokens", `<form method="post" action="/account/tokens/\d+/revoke" data-confirm="Revoke the token “flytrap dev”\? It is the api_token in dev.json: scripts and the CLI that read it are refused from now on.">`},
		{"/account/tokens", `<form method="post" action="/account/tokens/\d+/revoke" data-confirm="Revoke the token “CI”\? Whatever uses it \(the CLI, CI, scripts\) is refused from now on.">`},
		{fmt.Sprintf("/projects/%d/alerts", f.web.ID), `action="/projects/\d+/alerts/rules/\d+/delete" class="inline rule-delete" data-confirm="Delete the rule “[^”]+”\? [^"]+ gets no more alerts from it.">`},
		{fmt.Sprintf("/projects/%d/alerts", f.web.ID), `action="/projects/\d+/alerts/channels/\d+/delete" class="inline" data-confirm="Delete the channel “[^”]+” and its rules\? It sends no more alerts.">`},
		{issuePage, `action="/issues/\d+/comments/\d+/delete" class="inline" data-confirm="Delete this comment\? Its text is lost.">`},
		{fmt.Sprintf("/admin/projects/%d", f.web.ID), `action="/admin/projects/\d+/keys/rotate" class="row-form" data-confirm="Rotate the key of web\? SDKs using the current DSN or x-api-key are refused within a minute.">`},
		{"/admin/users", `action="/admin/users/\d+/sign-out" class="inline" data-confirm="Sign member@example.com out everywhere\? Their dashboard sessions and the API tokens flytrap login made stop working.">`},
	}
	for _, tt := range tests {
		r := f.get(roleAdmin, tt.path)
		wantStatus(t, r, http.StatusOK)
		if !regexp.MustCompile(tt.want).MatchString(r.Body) {
			t.Errorf("%s lacks %s:\n%s", tt.path, tt.want, excerpt(r.Body))
		}
	}
}
