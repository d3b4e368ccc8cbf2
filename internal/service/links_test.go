package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// fakeMailer records the links it is given, or fails with err.
type fakeMailer struct {
	sent []service.PasswordLink
	err  error
}

func (m *fakeMailer) MailPasswordLink(_ context.Context, to, purpose, url string, expires time.Time) error {
	if m.err != nil {
		return m.err
	}
	m.sent = append(m.sent, service.PasswordLink{Email: to, Purpose: purpose, URL: url, ExpiresAt: expires})
	return nil
}

// token is the secret at the end of a link's URL.
func token(t *testing.T, l service.PasswordLink) string {
	t.Helper()
	_, tok, ok := strings.Cut(l.URL, service.SetPasswordPath)
	if !ok || len(tok) != 64 {
		t.Fatalf("link URL %q has no token", l.URL)
	}
	return tok
}

// TestInviteAndReset: an invited user has no password until the link sets
// one; a reset link replaces the earlier link; a used link is gone; the
// link's use revokes sessions and password-minted tokens.
func TestInviteAndReset(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		mail := &fakeMailer{}
		f.svc.WithMailer(mail)
		const base = "https://flytrap.example"
		_, _, err := f.svc.Users.Invite(f.ctx, f.member, service.NewUser{Email: "x@example.com"}, base)
		wantRefusal(t, "a member invites", err, service.ErrForbidden, "")
		_, _, err = f.svc.Users.Invite(f.ctx, f.admin, service.NewUser{Email: "x@example.com", Password: "long enough 1"}, base)
		wantRefusal(t, "an invitation with a password", err, service.ErrInvalid, "leave the password empty")
		_, _, err = f.svc.Users.Invite(f.ctx, f.admin, service.NewUser{Email: "member@example.com"}, base)
		wantRefusal(t, "an invitation of a taken address", err, service.ErrConflict, "already exists")

		u, l, err := f.svc.Users.Invite(f.ctx, f.admin, service.NewUser{Email: "New@example.com", Role: store.RoleAdmin}, base)
		if err != nil || u.Role != store.RoleAdmin || u.PasswordHash != "" {
			t.Fatalf("Invite = %+v, %v", u, err)
		}
		if !l.Emailed || l.Purpose != store.LinkInvite || l.Email != "New@example.com" || !strings.HasPrefix(l.URL, base+"/set-password/") ||
			l.ExpiresAt.Sub(u.CreatedAt) < service.InviteTTL-time.Second || len(mail.sent) != 1 || mail.sent[0].URL != l.URL {
			t.Errorf("invitation link %+v, mailed %+v", l, mail.sent)
		}
		if _, err := f.svc.Users.Authenticate(f.ctx, "new@example.com", "anything at all"); !errors.Is(err, service.ErrBadCredentials) {
			t.Errorf("sign-in before the invitation is used: %v", err)
		}

		// An admin's reset replaces the invitation's link.
		_, reset, err := f.svc.Users.IssueReset(f.ctx, f.admin, u.ID, base)
		if err != nil || reset.Purpose != store.LinkReset || reset.URL == l.URL {
			t.Fatalf("IssueReset = %+v, %v", reset, err)
		}
		_, _, err = f.svc.Users.IssueReset(f.ctx, f.member, u.ID, base)
		wantRefusal(t, "a member resets", err, service.ErrForbidden, "")
		_, _, err = f.svc.Users.SetPasswordByLink(f.ctx, token(t, l), "a fine password")
		wantRefusal(t, "the replaced invitation", err, service.ErrNotFound, "")
		_, _, err = f.svc.Users.SetPasswordByLink(f.ctx, token(t, reset), "short")
		wantRefusal(t, "a short password", err, service.ErrInvalid, "8 to 1024")

		// A session and a password-minted token of the user end with the link's use.
		sess, _, err := f.db.CreateSession(f.ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.db.IssueAPIToken(f.ctx, u.ID, store.NewAPIToken{Name: "login", Origin: store.TokenSignIn}); err != nil {
			t.Fatal(err)
		}
		set, revoked, err := f.svc.Users.SetPasswordByLink(f.ctx, token(t, reset), "a fine password")
		if err != nil || set.ID != u.ID || revoked != 1 {
			t.Fatalf("SetPasswordByLink = %+v, %d, %v", set, revoked, err)
		}
		if _, _, err := f.db.SessionUser(f.ctx, sess, time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a session survived the link's use: %v", err)
		}
		if _, err := f.svc.Users.Authenticate(f.ctx, "new@example.com", "a fine password"); err != nil {
			t.Errorf("sign-in with the password the link set: %v", err)
		}
		_, _, err = f.svc.Users.SetPasswordByLink(f.ctx, token(t, reset), "another password")
		wantRefusal(t, "a used link", err, service.ErrNotFound, "")

		// Forgot password: a link for a known address, nothing for an unknown one.
		mail.sent = nil
		if err := f.svc.Users.ForgotPassword(f.ctx, "nobody@example.com", base); err != nil || len(mail.sent) != 0 {
			t.Errorf("ForgotPassword of an unknown address = %v, sent %+v", err, mail.sent)
		}
		if err := f.svc.Users.ForgotPassword(f.ctx, " NEW@example.com ", base); err != nil || len(mail.sent) != 1 || mail.sent[0].Purpose != store.LinkForgot {
			t.Errorf("ForgotPassword = %v, sent %+v", err, mail.sent)
		}
		// QA: anyone could cancel an invitation by asking "Forgot
		// password?" for its address. The invitation keeps working, and
		// no second email goes out.
		mail.sent = nil
		_, invited, err := f.svc.Users.Invite(f.ctx, f.admin, service.NewUser{Email: "victim@example.com"}, base)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Users.ForgotPassword(f.ctx, "victim@example.com", base); err != nil || len(mail.sent) != 1 {
			t.Errorf("ForgotPassword beside an invitation = %v, sent %d emails, want the invitation's only", err, len(mail.sent))
		}
		if _, _, err := f.svc.Users.SetPasswordByLink(f.ctx, token(t, invited), "a fine password"); err != nil {
			t.Errorf("the invitation after a forgot-password request: %v", err)
		}
		// A failed send still gives the admin the link.
		mail.err = errors.New("mail server down")
		_, l, err = f.svc.Users.IssueReset(f.ctx, f.admin, u.ID, base)
		if err != nil || l.Emailed || l.MailError != "mail server down" || l.URL == "" {
			t.Errorf("IssueReset with a failing mailer = %+v, %v", l, err)
		}
	})
}

// TestLinksWithoutMailer: links are issued but not sent, and "forgot
// password" does nothing.
func TestLinksWithoutMailer(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		if f.svc.Users.CanMail() {
			t.Error("CanMail without a mailer")
		}
		_, l, err := f.svc.Users.IssueReset(f.ctx, f.admin, f.member.UserID, "http://x")
		if err != nil || l.Emailed || l.MailError != "" || l.URL == "" {
			t.Errorf("IssueReset = %+v, %v", l, err)
		}
		if err := f.svc.Users.ForgotPassword(f.ctx, "member@example.com", "http://x"); err != nil {
			t.Error(err)
		}
	})
}

// TestSignOut: an admin signs a user out everywhere, as a reset link's
// use does: sessions and password-minted tokens end; named tokens and the
// password are kept; members may not, and a missing user is not found.
func TestSignOut(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		u, err := f.db.UserByID(f.ctx, f.member.UserID)
		if err != nil {
			t.Fatal(err)
		}
		sess, _, err := f.db.CreateSession(f.ctx, u.ID, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		login, _, err := f.db.IssueAPIToken(f.ctx, u.ID, store.NewAPIToken{Name: "login", Origin: store.TokenSignIn})
		if err != nil {
			t.Fatal(err)
		}
		named, _, err := f.db.IssueAPIToken(f.ctx, u.ID, store.NewAPIToken{Name: "ci", Origin: store.TokenCreated})
		if err != nil {
			t.Fatal(err)
		}

		_, _, err = f.svc.Users.SignOut(f.ctx, f.member, u.ID)
		wantRefusal(t, "a member signs a user out", err, service.ErrForbidden, "")
		_, _, err = f.svc.Users.SignOut(f.ctx, f.admin, 999999)
		wantRefusal(t, "signing out a missing user", err, service.ErrNotFound, "")
		if _, _, err := f.db.SessionUser(f.ctx, sess, time.Now()); err != nil {
			t.Fatalf("a refused sign-out ended the session: %v", err)
		}

		got, revoked, err := f.svc.Users.SignOut(f.ctx, f.admin, u.ID)
		if err != nil || got.ID != u.ID || revoked != 1 {
			t.Fatalf("SignOut = %+v, %d, %v", got, revoked, err)
		}
		if _, _, err := f.db.SessionUser(f.ctx, sess, time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a session survived the sign-out: %v", err)
		}
		if _, _, err := f.db.TokenOwner(f.ctx, login); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a password-minted token survived the sign-out: %v", err)
		}
		if _, _, err := f.db.TokenOwner(f.ctx, named); err != nil {
			t.Errorf("a named token was revoked: %v", err)
		}
		if after, _ := f.db.UserByID(f.ctx, u.ID); after.PasswordHash != u.PasswordHash {
			t.Error("the sign-out changed the password")
		}
	})
}
