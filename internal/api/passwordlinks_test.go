package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// fakeMailer records the addresses it mails links to.
type fakeMailer struct{ to []string }

func (m *fakeMailer) MailPasswordLink(_ context.Context, to, _, _ string, _ time.Time) error {
	m.to = append(m.to, to)
	return nil
}

var apiLinkRE = regexp.MustCompile(`^https://flytrap\.example/set-password/[0-9a-f]{64}$`)

// TestPasswordLinks: an invitation creates a user without a password and
// answers with the link; a reset answers with one; with a mailer both are
// emailed, and the links start with the dashboard's URL.
func TestPasswordLinks(t *testing.T) {
	f := newFixture(t)
	mail := &fakeMailer{}
	f.srv = httptest.NewServer(New(f.db, nil, nil).WithMailer(mail).WithPublicURL("https://flytrap.example"))
	t.Cleanup(f.srv.Close)

	refused := []struct {
		body string
		code int
	}{
		{`{"email":"x@example.com","invite":true,"password":"correct horse"}`, 400},
		{`{"email":"not an address","invite":true}`, 400},
		{`{"email":"x@example.com","invite":true,"role":"owner"}`, 400},
		{`{"email":"Member@example.com","invite":true}`, 409},
		{`{"email":"x@example.com","invite":"yes"}`, 400},
	}
	for _, c := range refused {
		if code, _, out := f.do(t, f.adminToken, "POST", "/api/v1/users", c.body); code != c.code {
			t.Errorf("POST %s: HTTP %d, want %d (%v)", c.body, code, c.code, out)
		}
	}
	if len(mail.to) != 0 {
		t.Errorf("refused invitations mailed %v", mail.to)
	}

	code, _, out := f.do(t, f.adminToken, "POST", "/api/v1/users", `{"email":"ada@example.com","invite":true,"role":"admin"}`)
	link, _ := out["link"].(map[string]any)
	if code != 201 || out["email"] != "ada@example.com" || out["role"] != "admin" || link == nil {
		t.Fatalf("invite: HTTP %d %v", code, out)
	}
	if url, _ := link["url"].(string); !apiLinkRE.MatchString(url) || link["purpose"] != "invite" || link["emailed"] != true || link["email"] != "ada@example.com" {
		t.Errorf("invitation link %v", link)
	}
	u, err := f.db.UserByEmail(context.Background(), "ada@example.com")
	if err != nil || u.PasswordHash != "" {
		t.Errorf("invited user %+v, %v: want no password", u, err)
	}
	// Without invite, no link.
	if code, _, out := f.do(t, f.adminToken, "POST", "/api/v1/users", `{"email":"bob@example.com","password":"correct horse"}`); code != 201 || out["link"] != nil {
		t.Errorf("create: HTTP %d %v", code, out)
	}

	code, _, out = f.do(t, f.adminToken, "POST", fmt.Sprintf("/api/v1/users/%d/password-reset", f.member.ID), "")
	if url, _ := out["url"].(string); code != 201 || !apiLinkRE.MatchString(url) || out["purpose"] != store.LinkReset || out["email"] != "member@example.com" || out["emailed"] != true {
		t.Errorf("reset: HTTP %d %v", code, out)
	}
	if code, _, _ := f.do(t, f.adminToken, "POST", "/api/v1/users/x/password-reset", ""); code != 400 {
		t.Errorf("reset of user x: HTTP %d, want 400", code)
	}
	if want := []string{"ada@example.com", "member@example.com"}; fmt.Sprint(mail.to) != fmt.Sprint(want) {
		t.Errorf("mailed %v, want %v", mail.to, want)
	}
}

// TestPasswordLinksIgnoreHost: set-password links are on the server's
// public URL, never on the Host the request names, which the client
// chooses; without a public URL they are paths on the server, which the
// CLI puts on the server it called, and are not emailed (a path in an
// email cannot be followed), with MailError saying why.
func TestPasswordLinksIgnoreHost(t *testing.T) {
	f := newFixture(t)
	pathRE := regexp.MustCompile(`^/set-password/[0-9a-f]{64}$`)
	for _, tc := range []struct {
		publicURL string
		url       *regexp.Regexp
		emailed   bool
		mailError string
	}{
		{"https://flytrap.example/", apiLinkRE, true, ""},
		{"", pathRE, false, "the server has no public URL to put in an emailed link"},
	} {
		mail := &fakeMailer{}
		api := New(f.db, nil, nil).WithMailer(mail).WithPublicURL(tc.publicURL)
		for i, req := range []struct{ path, body string }{
			{"/api/v1/users", fmt.Sprintf(`{"email":"new%d@example.com","invite":true}`, len(tc.publicURL))},
			{fmt.Sprintf("/api/v1/users/%d/password-reset", f.member.ID), ""},
		} {
			r := httptest.NewRequest("POST", "http://attacker.example"+req.path, strings.NewReader(req.body))
			r.Header.Set("Authorization", "Bearer "+f.adminToken)
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			var out struct {
				URL       string `json:"url"`
				Emailed   bool   `json:"emailed"`
				MailError string `json:"mail_error"`
				Link      *struct {
					URL       string `json:"url"`
					Emailed   bool   `json:"emailed"`
					MailError string `json:"mail_error"`
				} `json:"link"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || w.Code != 201 {
				t.Fatalf("POST %s: HTTP %d %v %s", req.path, w.Code, err, w.Body)
			}
			if i == 0 && out.Link != nil {
				out.URL, out.Emailed, out.MailError = out.Link.URL, out.Link.Emailed, out.Link.MailError
			}
			if !tc.url.MatchString(out.URL) || out.Emailed != tc.emailed || out.MailError != tc.mailError {
				t.Errorf("public URL %q, POST %s: url %q, emailed %v, mail_error %q; want %s, %v, %q",
					tc.publicURL, req.path, out.URL, out.Emailed, out.MailError, tc.url, tc.emailed, tc.mailError)
			}
		}
		if tc.emailed != (len(mail.to) == 2) || !tc.emailed && len(mail.to) != 0 {
			t.Errorf("public URL %q: mailed %v", tc.publicURL, mail.to)
		}
	}
}

// TestSignOutUser: an admin's sign-out of a user ends the user's
// dashboard session and the tokens minted by signing in, which a reset
// link alone leaves working until it is used; tokens created by name keep
// working.
func TestSignOutUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	login, _, err := f.db.IssueAPIToken(ctx, f.member.ID, store.NewAPIToken{Name: "login", Origin: store.TokenSignIn})
	if err != nil {
		t.Fatal(err)
	}
	works := func(what string, auth func(*http.Request), want int) {
		t.Helper()
		if code, _, out := f.send(t, "GET", "/api/v1/me", "", auth); code != want {
			t.Errorf("%s: GET /api/v1/me: HTTP %d, want %d (%v)", what, code, want, out)
		}
	}
	if code, _, _ := f.do(t, f.adminToken, "POST", fmt.Sprintf("/api/v1/users/%d/password-reset", f.member.ID), ""); code != 201 {
		t.Fatalf("reset: HTTP %d", code)
	}
	works("session after a reset", session(f.memberSession, false), 200)
	works("sign-in token after a reset", bearer(login), 200)

	code, _, out := f.do(t, f.adminToken, "POST", fmt.Sprintf("/api/v1/users/%d/sign-out", f.member.ID), "")
	if code != 200 || out["email"] != "member@example.com" || out["tokens_revoked"] != float64(1) {
		t.Fatalf("sign-out: HTTP %d %v", code, out)
	}
	works("session after the sign-out", session(f.memberSession, false), 401)
	works("sign-in token after the sign-out", bearer(login), 401)
	works("named token after the sign-out", bearer(f.memberToken), 200)
	if code, _, _ := f.do(t, f.adminToken, "POST", "/api/v1/users/x/sign-out", ""); code != 400 {
		t.Errorf("sign-out of user x: HTTP %d, want 400", code)
	}
}
