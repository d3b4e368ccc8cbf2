package dashboard

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// linkMailer records every email the dashboard asks it to send, as
// "kind to link".
type linkMailer struct{ sent []string }

func (m *linkMailer) MailPasswordLink(_ context.Context, to, purpose, url string, _ time.Time) error {
	m.sent = append(m.sent, purpose+" "+to+" "+url)
	return nil
}

func (m *linkMailer) MailAssignment(_ context.Context, to, _, _, url string) error {
	m.sent = append(m.sent, "assign "+to+" "+url)
	return nil
}

func (m *linkMailer) MailComment(_ context.Context, to, _, _, _, url string, _ int) error {
	m.sent = append(m.sent, "comment "+to+" "+url)
	return nil
}

// TestEmailedLinksIgnoreHost: the links the dashboard emails (assignment,
// comment, invitation and reset) are on the server's public URL, never on
// the Host a request names, which the requester chooses and would put
// their host into an email the server sends someone else. Without a
// public URL (AWS over plain HTTP) nothing is emailed; the admin is shown
// the set-password link as a path and why it was not emailed.
func TestEmailedLinksIgnoreHost(t *testing.T) {
	for _, public := range []string{"https://flytrap.example", ""} {
		mail := &linkMailer{}
		f := newFixture(t, func(c *Config) { c.Mailer = mail; c.PublicURL = public })
		post := func(role, path string, form url.Values) response {
			r := f.do(request{method: "POST", role: role, path: path, form: form, host: "evil.example"})
			wantStatus(t, r, 303)
			return r
		}
		post(roleMember, issuePath(f.issue)+"/assign", url.Values{"assignee": {strconv.FormatInt(f.lead.ID, 10)}})
		post(roleMember, issuePath(f.issue)+"/comments", url.Values{"text": {"please look"}})
		invite := f.follow(roleAdmin, post(roleAdmin, "/admin/users", url.Values{"email": {"ada@example.com"}, "invite": {"on"}}))
		reset := f.follow(roleAdmin, post(roleAdmin, fmt.Sprintf("/admin/users/%d/reset-password", f.member.ID), url.Values{}))

		// Each email, by its link's start (the tokens are random).
		var want []string
		if public != "" {
			want = []string{
				fmt.Sprintf("assign lead@example.com %s/issues/%d", public, f.issue),
				fmt.Sprintf("comment lead@example.com %s/issues/%d#activity-", public, f.issue),
				"invite ada@example.com " + public + "/set-password/",
				"reset member@example.com " + public + "/set-password/",
			}
		}
		ok := len(mail.sent) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = strings.HasPrefix(mail.sent[i], want[i])
		}
		if !ok {
			t.Errorf("public URL %q: emailed\n%s\nwant\n%s", public, strings.Join(mail.sent, "\n"), strings.Join(want, "\n"))
		}
		for _, r := range []response{invite, reset} {
			noBody(t, r, "evil.example")
			if public == "" {
				wantBody(t, r, `<code class="secret" id="password-link">/set-password/`,
					"The email could not be sent (the server has no public URL to put in an emailed link)",
					"the link is a path: put the address you reach Flytrap at before it")
			}
		}
	}
}
