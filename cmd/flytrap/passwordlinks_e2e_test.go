package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/notify/notifytest"
)

var (
	e2eLinkRE = regexp.MustCompile(`http://[^\s"<]+/set-password/[0-9a-f]{64}`)
	e2eCSRFRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
)

// linkClient is an HTTP client with a cookie jar that does not follow
// redirects, as a browser-free stand-in for a person at the dashboard.
type linkClient struct {
	t *testing.T
	c *http.Client
}

func newLinkClient(t *testing.T) *linkClient {
	jar, _ := cookiejar.New(nil)
	return &linkClient{t: t, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *linkClient) get(u string) (int, string) {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// submit fetches the page at u and posts its form to u with fields and
// the page's CSRF token, and returns the status and Location.
func (b *linkClient) submit(u string, fields url.Values) (int, string) {
	b.t.Helper()
	code, page := b.get(u)
	m := e2eCSRFRE.FindStringSubmatch(page)
	if code != 200 || m == nil {
		b.t.Fatalf("GET %s: HTTP %d without a form:\n%s", u, code, page)
	}
	fields.Set("csrf_token", m[1])
	resp, err := b.c.PostForm(u, fields)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// mailText decodes an email's text/plain part, checks that it has an HTML
// part too, and returns the text.
func mailText(t *testing.T, data []byte) (subject, text string) {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(r)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	if parts["text/html"] == "" || parts["text/plain"] == "" {
		t.Fatalf("email without a text and an HTML part: %v", parts)
	}
	return msg.Header.Get("Subject"), parts["text/plain"]
}

// tokenLogin signs in with a password through the API (flytrap login) and
// returns the token, or "" when the password is refused.
func tokenLogin(t *testing.T, base, email, password string) string {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"email": email, "password": password, "name": "cli"})
	resp, err := http.Post(base+"/api/v1/auth/token", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out apitypes.CreatedToken
	if resp.StatusCode != 201 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return ""
	}
	return out.Token
}

// tokenWorks reports whether token authenticates GET /api/v1/me.
func tokenWorks(t *testing.T, base, token string) bool {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// TestPasswordLinksEndToEnd: `flytrap dev --smtp-url` emails an admin's
// invitation; its link sets the password and signs in, once. A reset, by
// an admin or by "Forgot password?", emails a link that ends the old
// password, the browser sessions and the tokens of password sign-ins.
func TestPasswordLinksEndToEnd(t *testing.T) {
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{User: "flytrap", Password: "sink-pass"})
	p := startDev(t, t.TempDir(), nil, "--smtp-url", "smtp://flytrap:sink-pass@"+sink.Addr, "--smtp-from", "flytrap@example.com")

	var created apitypes.CreatedUser
	if code := p.api(t, "POST", "/api/v1/users", apitypes.NewUser{Email: "ada@example.com", Invite: true}, &created); code != 201 || created.Link == nil {
		t.Fatalf("invite: HTTP %d %+v", code, created)
	}
	if !created.Link.Emailed || !strings.HasPrefix(created.Link.URL, p.base+"/set-password/") {
		t.Fatalf("invitation link %+v", created.Link)
	}
	msgs := sink.Wait(t, 1, 10*time.Second)
	subject, text := mailText(t, msgs[0].Data)
	link := e2eLinkRE.FindString(text)
	if msgs[0].To[0] != "ada@example.com" || subject != "You are invited to Flytrap" || link != created.Link.URL {
		t.Fatalf("invitation email to %v, %q, link %q; want %s:\n%s", msgs[0].To, subject, link, created.Link.URL, text)
	}

	// The link sets the password and signs in; then it is spent.
	ada := newLinkClient(t)
	if code, loc := ada.submit(link, url.Values{"new": {"ada's first password"}, "confirm": {"ada's first password"}}); code != 303 || loc != "/projects" {
		t.Fatalf("set password: HTTP %d to %q", code, loc)
	}
	if code, page := ada.get(p.base + "/projects"); code != 200 || !strings.Contains(page, "ada@example.com") {
		t.Fatalf("signed in after setting the password: HTTP %d", code)
	}
	if code, _ := newLinkClient(t).get(link); code != 404 {
		t.Errorf("the used invitation: HTTP %d, want 404", code)
	}
	cliToken := tokenLogin(t, p.base, "ada@example.com", "ada's first password")
	if cliToken == "" {
		t.Fatal("sign-in with the password the invitation set failed")
	}

	// An admin's reset: the old password, session and sign-in token work
	// until the link is used, then none of them.
	var reset apitypes.PasswordLink
	if code := p.api(t, "POST", fmt.Sprintf("/api/v1/users/%d/password-reset", created.ID), nil, &reset); code != 201 || !reset.Emailed {
		t.Fatalf("reset: HTTP %d %+v", code, reset)
	}
	msgs = sink.Wait(t, 2, 10*time.Second)
	subject, text = mailText(t, msgs[1].Data)
	if link = e2eLinkRE.FindString(text); subject != "Reset your Flytrap password" || link != reset.URL {
		t.Fatalf("reset email %q with link %q, want %s", subject, link, reset.URL)
	}
	if !tokenWorks(t, p.base, cliToken) {
		t.Fatal("the sign-in token stopped working before the reset link was used")
	}
	if code, loc := newLinkClient(t).submit(link, url.Values{"new": {"ada's second password"}, "confirm": {"ada's second password"}}); code != 303 || loc != "/projects" {
		t.Fatalf("reset: HTTP %d to %q", code, loc)
	}
	if tokenWorks(t, p.base, cliToken) {
		t.Error("the token of a password sign-in survived the reset")
	}
	if code, _ := ada.get(p.base + "/projects"); code != 303 {
		t.Errorf("the browser session from before the reset: HTTP %d, want 303 to sign-in", code)
	}
	if tokenLogin(t, p.base, "ada@example.com", "ada's first password") != "" {
		t.Error("the old password still signs in")
	}
	if tokenLogin(t, p.base, "ada@example.com", "ada's second password") == "" {
		t.Error("the new password does not sign in")
	}

	// "Forgot password?": the same answer for an unknown address, and a
	// link only to the known one.
	for _, email := range []string{"nobody@example.com", "ADA@example.com"} {
		b := newLinkClient(t)
		if code, _ := b.submit(p.base+"/forgot-password", url.Values{"email": {email}}); code != 200 {
			t.Fatalf("forgot password for %s: HTTP %d", email, code)
		}
	}
	sink.Wait(t, 3, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	if msgs = sink.Messages(); len(msgs) != 3 || msgs[2].To[0] != "ada@example.com" {
		t.Fatalf("after two forgot-password requests: %d emails, the last to %v", len(msgs), msgs[len(msgs)-1].To)
	}
	_, text = mailText(t, msgs[2].Data)
	if code, _ := newLinkClient(t).submit(e2eLinkRE.FindString(text), url.Values{"new": {"ada's third password"}, "confirm": {"ada's third password"}}); code != 303 {
		t.Fatalf("forgot-password link: HTTP %d", code)
	}
	if tokenLogin(t, p.base, "ada@example.com", "ada's third password") == "" {
		t.Error("the password set through forgot-password does not sign in")
	}
}
