package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"github.com/getflytrap/flytrap/internal/bidi"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/templates"
)

var (
	textAccountMail = texttemplate.Must(texttemplate.ParseFS(templates.FS, "account/email.txt.tmpl"))
	htmlAccountMail = htmltemplate.Must(htmltemplate.ParseFS(templates.FS, "account/email.html.tmpl"))
)

// LinkMailer emails set-password links (invitations and password resets)
// through the SMTP server alert email goes through; servers with SMTP give
// it to the services (service.Services.WithMailer).
type LinkMailer struct {
	SMTP *SMTP
}

// PasswordLink is a set-password link to email.
type PasswordLink struct {
	// Email is the recipient, whose password the link sets.
	Email string
	// Purpose is store.LinkInvite, store.LinkReset or store.LinkForgot.
	Purpose   string
	URL       string
	ExpiresAt time.Time
}

// MailPasswordLink sends the link of purpose (store.LinkInvite or
// store.LinkReset) to the address to, one message of a plain text and an
// HTML part.
func (m LinkMailer) MailPasswordLink(ctx context.Context, to, purpose, url string, expires time.Time) error {
	e, err := RenderPasswordLink(PasswordLink{Email: to, Purpose: purpose, URL: url, ExpiresAt: expires})
	if err != nil {
		return err
	}
	return m.send(ctx, to, e)
}

// send sends e to the address to within accountMailTimeout.
func (m LinkMailer) send(ctx context.Context, to string, e Email) error {
	ctx, cancel := context.WithTimeout(ctx, accountMailTimeout)
	defer cancel()
	_, err := m.SMTP.Send(ctx, []string{to}, e)
	return err
}

// RenderPasswordLink renders the email of a set-password link. The
// address, which an admin typed, is shown with its direction controls
// written out and is escaped in the HTML part.
func RenderPasswordLink(l PasswordLink) (Email, error) {
	email := bidi.Show(oneLine(l.Email, maxLine))
	view := struct {
		Subject, Heading, Intro, Action, Outro, URL, Expires string
	}{
		URL:     l.URL,
		Expires: l.ExpiresAt.UTC().Format("2 January 2006 15:04 UTC"),
	}
	switch l.Purpose {
	case store.LinkInvite:
		view.Subject = "You are invited to Flytrap"
		view.Heading = "You are invited to Flytrap"
		view.Intro = "An admin made you an account on Flytrap, the error tracker, for " + email + ". Choose your password through this link to sign in:"
		view.Action = "Choose your password"
		view.Outro = "After that, ask an admin for a new invitation."
	case store.LinkReset, store.LinkForgot:
		view.Subject = "Reset your Flytrap password"
		view.Heading = "Reset your Flytrap password"
		view.Intro = "Someone asked to reset the password of the Flytrap account " + email + ". Choose a new password through this link:"
		view.Action = "Choose a new password"
		view.Outro = "If you did not ask for this, ignore this email: your password stays as it is."
	default:
		return Email{}, fmt.Errorf("password link of unknown purpose %q", l.Purpose)
	}
	var text, html bytes.Buffer
	if err := textAccountMail.Execute(&text, view); err != nil {
		return Email{}, fmt.Errorf("render text email: %w", err)
	}
	if err := htmlAccountMail.Execute(&html, view); err != nil {
		return Email{}, fmt.Errorf("render HTML email: %w", err)
	}
	// Each link is its own message; the Message-ID must not carry the
	// token, which only the link itself may.
	sum := sha256.Sum256([]byte(l.URL))
	key := "flytrap-" + l.Purpose + "-" + hex.EncodeToString(sum[:12])
	return Email{Subject: view.Subject, Text: text.String(), HTML: html.String(), Key: key}, nil
}

// accountMailTimeout bounds one set-password or assignment email, which
// the user who caused it waits for on a page or in the CLI.
const accountMailTimeout = 20 * time.Second

var (
	textAssignedMail = texttemplate.Must(texttemplate.ParseFS(templates.FS, "account/assigned.txt.tmpl"))
	htmlAssignedMail = htmltemplate.Must(htmltemplate.ParseFS(templates.FS, "account/assigned.html.tmpl"))
)

// MailAssignment tells the user whose email is to that the user whose
// email is by assigned them the issue titled title, at url.
func (m LinkMailer) MailAssignment(ctx context.Context, to, by, title, url string) error {
	e, err := RenderAssignment(by, title, url)
	if err != nil {
		return err
	}
	return m.send(ctx, to, e)
}

// RenderAssignment renders the email of an issue assigned by the user
// whose email is by. The title came from an SDK: it is made one line, its
// direction controls written out, and escaped in the HTML part.
func RenderAssignment(by, title, url string) (Email, error) {
	view := struct{ Subject, By, Title, URL string }{
		By: bidi.Show(oneLine(by, maxLine)), Title: bidi.Show(oneLine(title, maxLine)), URL: url,
	}
	view.Subject = "[Flytrap] Assigned to you: " + oneLine(view.Title, 120)
	var text, html bytes.Buffer
	if err := textAssignedMail.Execute(&text, view); err != nil {
		return Email{}, fmt.Errorf("render text email: %w", err)
	}
	if err := htmlAssignedMail.Execute(&html, view); err != nil {
		return Email{}, fmt.Errorf("render HTML email: %w", err)
	}
	sum := sha256.Sum256([]byte(by + "\x00" + url))
	return Email{Subject: view.Subject, Text: text.String(), HTML: html.String(), Key: "flytrap-assigned-" + hex.EncodeToString(sum[:12])}, nil
}

var (
	textCommentMail = texttemplate.Must(texttemplate.ParseFS(templates.FS, "account/comment.txt.tmpl"))
	htmlCommentMail = htmltemplate.Must(htmltemplate.ParseFS(templates.FS, "account/comment.html.tmpl"))
)

// MailComment tells the assignee, whose email is to, that the user whose
// email is by commented text on the issue titled title, at url, and that
// held more comments were written on it since the last such email.
func (m LinkMailer) MailComment(ctx context.Context, to, by, title, text, url string, held int) error {
	e, err := RenderComment(by, title, text, url, held)
	if err != nil {
		return err
	}
	return m.send(ctx, to, e)
}

// RenderComment renders the email of a comment by the user whose email is
// by. The title came from an SDK and the text from a user: the title is
// made one line, both have their direction controls written out, and both
// are escaped in the HTML part, where the text keeps its line breaks.
// held is how many comments on the issue were not emailed since the last
// email (comment emails are throttled), which the email says.
func RenderComment(by, title, text, url string, held int) (Email, error) {
	view := struct{ Subject, By, Title, Text, URL, Held string }{
		By: bidi.Show(oneLine(by, maxLine)), Title: bidi.Show(oneLine(title, maxLine)), Text: bidi.Show(text), URL: url,
	}
	if held > 0 {
		n := "1 earlier comment"
		if held > 1 {
			n = fmt.Sprintf("%d earlier comments", held)
		}
		view.Held = n + " since the last email, not emailed one by one: read them on the issue's page."
	}
	view.Subject = "[Flytrap] New comment: " + oneLine(view.Title, 120)
	var txt, html bytes.Buffer
	if err := textCommentMail.Execute(&txt, view); err != nil {
		return Email{}, fmt.Errorf("render text email: %w", err)
	}
	if err := htmlCommentMail.Execute(&html, view); err != nil {
		return Email{}, fmt.Errorf("render HTML email: %w", err)
	}
	sum := sha256.Sum256([]byte(by + "\x00" + url + "\x00" + text))
	return Email{Subject: view.Subject, Text: txt.String(), HTML: html.String(), Key: "flytrap-comment-" + hex.EncodeToString(sum[:12])}, nil
}
