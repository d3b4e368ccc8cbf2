package notify_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	netmail "net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/dashboard"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/notify/notifytest"
	"github.com/getflytrap/flytrap/internal/store"
)

// unsubscribeWorker is a worker mailing through a real SMTP server, for a
// server at publicURL.
func unsubscribeWorker(t *testing.T, f *fixture, publicURL string) (*notify.Worker, *notifytest.Sink) {
	t.Helper()
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{})
	smtp, err := notify.NewSMTP("smtp://"+sink.Addr, "alerts@example.com", notify.SMTPOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return notify.NewWorker(f.db, notify.Config{Mailer: notify.SMTPMailer{SMTP: smtp, Recipients: f.db.ChannelRecipients},
		PublicURL: publicURL, Now: f.clock.Now}), sink
}

// headersByRecipient returns each message's header, by its recipient.
func headersByRecipient(t *testing.T, msgs []notifytest.Message) map[string]netmail.Header {
	t.Helper()
	out := map[string]netmail.Header{}
	for _, m := range msgs {
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		out[m.To[0]] = msg.Header
	}
	return out
}

// TestUnsubscribeLink: each member's alert email has a List-Unsubscribe
// header (RFC 2369) with a one-click link of their own (RFC 8058); a GET
// of the link only asks, a POST without session or CSRF token, as a mail
// provider sends it, stops that channel mailing that member, and no
// other; an altered or expired link answers a 4xx page.
func TestUnsubscribeLink(t *testing.T) {
	f := newFixture(t, "")
	bob, err := f.db.CreateUser(f.ctx, "bob@example.com", "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(f.ctx, f.project.ID, bob.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	w, sink := unsubscribeWorker(t, f, "https://flytrap.example.com/")
	f.save("a", "TypeError: a", 1)
	f.run(w)
	headers := headersByRecipient(t, sink.Wait(t, 2, 10*time.Second))
	links := map[string]string{}
	for _, to := range []string{"ada@example.com", "bob@example.com"} {
		h, ok := headers[to]
		if !ok {
			t.Fatalf("no email to %s among %v", to, headers)
		}
		lu := h.Get("List-Unsubscribe")
		if !strings.HasPrefix(lu, "<https://flytrap.example.com"+notify.UnsubscribePath) || !strings.HasSuffix(lu, ">") {
			t.Fatalf("%s: List-Unsubscribe = %q, want <https://flytrap.example.com%s…>", to, lu, notify.UnsubscribePath)
		}
		if got := h.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
			t.Errorf("%s: List-Unsubscribe-Post = %q", to, got)
		}
		links[to] = strings.Trim(lu, "<>")
	}
	if links["ada@example.com"] == links["bob@example.com"] {
		t.Error("both members got the same link")
	}

	dash := dashboard.New(dashboard.Config{Store: f.db, Now: f.clock.Now, PublicURL: "https://flytrap.example.com"})
	do := func(method, link string) *httptest.ResponseRecorder {
		t.Helper()
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		var req *http.Request
		if method == http.MethodPost {
			req = httptest.NewRequest(method, u.Path, strings.NewReader("List-Unsubscribe=One-Click"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(method, u.Path, nil)
		}
		rec := httptest.NewRecorder()
		dash.ServeHTTP(rec, req)
		return rec
	}
	recipients := func() []string {
		t.Helper()
		chans, err := f.db.ListAlertChannels(f.ctx, store.System, f.project.ID)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := f.db.ChannelRecipients(f.ctx, chans[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.Email)
		}
		return out
	}

	// A scanner following the link unsubscribes nobody.
	if rec := do(http.MethodGet, links["bob@example.com"]); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Unsubscribe from alert email?") {
		t.Fatalf("GET the link: %d %s", rec.Code, rec.Body)
	}
	if got := recipients(); !slices.Contains(got, "bob@example.com") {
		t.Fatalf("recipients after a GET = %v, want bob still", got)
	}
	// Bob's link with Ada's user in it is refused.
	tampered := strings.Replace(links["bob@example.com"], "."+strconv.FormatInt(bob.ID, 10)+".", ".1.", 1)
	if rec := do(http.MethodPost, tampered); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "not valid") {
		t.Errorf("POST an altered link: %d, want 400 saying it is not valid", rec.Code)
	}
	if rec := do(http.MethodPost, links["bob@example.com"]); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Unsubscribed") {
		t.Fatalf("POST the link: %d %s", rec.Code, rec.Body)
	}
	if got := recipients(); !slices.Equal(got, []string{"ada@example.com"}) {
		t.Errorf("recipients after bob's POST = %v, want ada only", got)
	}
	// One click more (a retrying mail provider) changes nothing.
	if rec := do(http.MethodPost, links["bob@example.com"]); rec.Code != http.StatusOK {
		t.Errorf("POST the link again: %d", rec.Code)
	}
	f.save("b", "TypeError: b", 1)
	f.run(w)
	msgs := sink.Wait(t, 3, 10*time.Second)
	if to := msgs[2].To; !slices.Equal(to, []string{"ada@example.com"}) {
		t.Errorf("the next alert went to %v, want ada only", to)
	}
	// Turning alert email on in the account page undoes it.
	if err := f.db.SetEmailOptOut(f.ctx, bob.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := recipients(); !slices.Contains(got, "bob@example.com") {
		t.Errorf("recipients after bob turned alert email on = %v", got)
	}

	f.clock.Set(t0.Add(notify.UnsubscribeTTL + time.Hour))
	if rec := do(http.MethodPost, links["ada@example.com"]); rec.Code != http.StatusGone || !strings.Contains(rec.Body.String(), "expired") {
		t.Errorf("POST an expired link: %d, want 410 saying it expired", rec.Code)
	}
	if got := recipients(); !slices.Contains(got, "ada@example.com") {
		t.Errorf("an expired link unsubscribed ada: %v", got)
	}
}

// TestUnsubscribeLinkPlainHTTP: a server on plain HTTP offers its link in
// List-Unsubscribe, which the mail client opens, without RFC 8058's
// one-click POST, which is for https links only.
func TestUnsubscribeLinkPlainHTTP(t *testing.T) {
	f := newFixture(t, "")
	w, sink := unsubscribeWorker(t, f, "http://devbox.local:8080")
	f.save("a", "TypeError: a", 1)
	f.run(w)
	h := headersByRecipient(t, sink.Wait(t, 1, 10*time.Second))["ada@example.com"]
	if lu := h.Get("List-Unsubscribe"); !strings.HasPrefix(lu, "<http://devbox.local:8080"+notify.UnsubscribePath) {
		t.Errorf("List-Unsubscribe = %q", lu)
	}
	if got := h.Get("List-Unsubscribe-Post"); got != "" {
		t.Errorf("List-Unsubscribe-Post = %q, want none for an http link", got)
	}
}
