package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/notify/notifytest"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestLinkMailer: an invitation goes through AUTH and STARTTLS to a real
// SMTP server as one message to the user, with the link in its plain text
// and its HTML part.
func TestLinkMailer(t *testing.T) {
	serverTLS, clientTLS := notifytest.TLSPair()
	sink := notifytest.StartSMTP(t, notifytest.SMTPOptions{User: "flytrap", Password: "pw", TLS: serverTLS})
	smtp, err := notify.NewSMTP("smtp://flytrap:pw@"+sink.Addr, "flytrap@example.com", notify.SMTPOptions{TLS: clientTLS, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const link = "https://flytrap.example/set-password/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	expires := time.Date(2026, 12, 13, 9, 30, 0, 0, time.UTC)
	if err := (notify.LinkMailer{SMTP: smtp}).MailPasswordLink(context.Background(), "ada@example.com", store.LinkInvite, link, expires); err != nil {
		t.Fatal(err)
	}
	msgs := sink.Wait(t, 1, 10*time.Second)
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "ada@example.com" || !msgs[0].TLS {
		t.Fatalf("messages %+v", msgs)
	}
	h, body := parts(t, msgs[0].Data)
	if h.Get("Subject") != "You are invited to Flytrap" {
		t.Errorf("Subject %q", h.Get("Subject"))
	}
	if strings.Contains(h.Get("Message-Id"), "0123456789abcdef") {
		t.Errorf("the Message-ID %q carries the link's token", h.Get("Message-Id"))
	}
	for _, ct := range []string{"text/plain", "text/html"} {
		if !strings.Contains(body[ct], link) || !strings.Contains(body[ct], "13 December 2026 09:30 UTC") || !strings.Contains(body[ct], "ada@example.com") {
			t.Errorf("%s part lacks the link, the expiry or the address:\n%s", ct, body[ct])
		}
	}
}

// TestRenderPasswordLink: each purpose has its own wording, the address is
// escaped in the HTML part and its direction controls are written out.
func TestRenderPasswordLink(t *testing.T) {
	tests := []struct {
		purpose, subject, says string
	}{
		{store.LinkInvite, "You are invited to Flytrap", "Choose your password"},
		{store.LinkReset, "Reset your Flytrap password", "If you did not ask for this"},
	}
	for _, tt := range tests {
		t.Run(tt.purpose, func(t *testing.T) {
			e, err := notify.RenderPasswordLink(notify.PasswordLink{Email: "<b>x\u202e</b>@example.com", Purpose: tt.purpose, URL: "https://f.example/set-password/t?a=1&b=2", ExpiresAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if e.Subject != tt.subject || !strings.Contains(e.Text, tt.says) || !strings.Contains(e.HTML, tt.says) {
				t.Errorf("email %+v", e)
			}
			if strings.Contains(e.HTML, "<b>") || !strings.Contains(e.HTML, "&lt;b&gt;x&lt;U&#43;202E&gt;") {
				t.Errorf("the address is not escaped in the HTML part:\n%s", e.HTML)
			}
			if !strings.Contains(e.Text, "<b>x<U+202E></b>@example.com") {
				t.Errorf("text part:\n%s", e.Text)
			}
			if !strings.Contains(e.HTML, `href="https://f.example/set-password/t?a=1&amp;b=2"`) {
				t.Errorf("link in the HTML part:\n%s", e.HTML)
			}
		})
	}
	if _, err := notify.RenderPasswordLink(notify.PasswordLink{Purpose: "other"}); err == nil {
		t.Error("an unknown purpose rendered")
	}
}

// TestRenderAssignment: an assignment email names who assigned the issue
// and links to it; the SDK's title is one line and escaped in HTML.
func TestRenderAssignment(t *testing.T) {
	e, err := notify.RenderAssignment("ann@example.com", "<b>TypeError</b>\r\nBcc: x@evil.test", "https://flytrap.example/issues/7")
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "[Flytrap] Assigned to you: <b>TypeError</b>  Bcc: x@evil.test" {
		t.Errorf("Subject %q", e.Subject)
	}
	for _, part := range []string{e.Text, e.HTML} {
		if !strings.Contains(part, "ann@example.com assigned you an issue on Flytrap") || !strings.Contains(part, "https://flytrap.example/issues/7") {
			t.Errorf("part without the assigner or the link:\n%s", part)
		}
		if strings.Contains(part, "\nBcc:") {
			t.Errorf("the title breaks a line:\n%s", part)
		}
	}
	if strings.Contains(e.HTML, "<b>TypeError") || !strings.Contains(e.HTML, "&lt;b&gt;TypeError") {
		t.Errorf("the title is not escaped in HTML:\n%s", e.HTML)
	}
}

func TestRenderComment(t *testing.T) {
	e, err := notify.RenderComment("ann@example.com", "<b>TypeError</b>\r\nBcc: x@evil.test", "<script>x</script>\nsecond \u202eline",
		"https://flytrap.example/issues/7#activity-3", 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(e.Text, "earlier comment") {
		t.Errorf("an email after none held back speaks of them:\n%s", e.Text)
	}
	if e.Subject != "[Flytrap] New comment: <b>TypeError</b>  Bcc: x@evil.test" {
		t.Errorf("Subject %q", e.Subject)
	}
	for part, line := range map[string]string{e.Text: "\nsecond <U+202E>line", e.HTML: "\nsecond &lt;U&#43;202E&gt;line"} {
		if !strings.Contains(part, "ann@example.com commented on an issue assigned to you") ||
			!strings.Contains(part, "https://flytrap.example/issues/7#activity-3") || !strings.Contains(part, line) {
			t.Errorf("part without the commenter, the link or the comment's lines:\n%s", part)
		}
	}
	if !strings.Contains(e.Text, "<script>x</script>") {
		t.Errorf("the text part changed the comment:\n%s", e.Text)
	}
	if strings.Contains(e.HTML, "<script>") || !strings.Contains(e.HTML, "&lt;script&gt;x&lt;/script&gt;") {
		t.Errorf("the comment is not escaped in HTML:\n%s", e.HTML)
	}
}

// TestRenderCommentHeld: a comment email after others were held back by
// the throttle says how many, in both parts.
func TestRenderCommentHeld(t *testing.T) {
	for held, want := range map[int]string{1: "1 earlier comment since", 19: "19 earlier comments since"} {
		e, err := notify.RenderComment("ann@example.com", "TypeError", "one more", "https://flytrap.example/issues/7#activity-30", held)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{e.Text, e.HTML} {
			if !strings.Contains(part, want+" the last email, not emailed one by one: read them on the issue") {
				t.Errorf("held %d: part lacks %q:\n%s", held, want, part)
			}
		}
	}
}
