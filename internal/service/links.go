package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// Lifetimes of set-password links. An invitation waits for someone to read
// their mail; a reset is asked for by the person who uses it, at once.
const (
	InviteTTL = 7 * 24 * time.Hour
	ResetTTL  = time.Hour
)

// SetPasswordPath is where set-password links point, followed by the token.
const SetPasswordPath = "/set-password/"

// LinkMailer emails a set-password link of purpose (store.LinkInvite or
// store.LinkReset) to the address to: notify.LinkMailer, through the SMTP
// server alert email goes through.
type LinkMailer interface {
	MailPasswordLink(ctx context.Context, to, purpose, url string, expires time.Time) error
}

// PasswordLink is an issued set-password link: what the admin is shown and
// what the email says.
type PasswordLink struct {
	// Email is the address of the user whose password the link sets.
	Email string
	// Purpose is store.LinkInvite, store.LinkReset or store.LinkForgot.
	Purpose string
	// URL is the link, with its secret token.
	URL       string
	ExpiresAt time.Time
	// Emailed says the link was sent to Email; MailError says why sending
	// failed, when it was tried and failed.
	Emailed   bool
	MailError string
}

// errLinkGone refuses a set-password link that does not work (any more).
var errLinkGone = &Error{Kind: ErrNotFound, Msg: "This link does not work: it has expired, was used already or was replaced by a newer one. Ask an admin for a new one, or use \"Forgot password?\" on the sign-in page."}

// WithMailer makes invitations and password resets email their links
// through m, and returns s. Without it links are only shown to the admin
// who issued them, and "Forgot password?" sends nothing.
func (s *Services) WithMailer(m LinkMailer) *Services {
	s.Users.mailer = m
	return s
}

// CanMail reports whether links are emailed (WithMailer).
func (s *Users) CanMail() bool { return s.mailer != nil }

// Invite creates a user without a usable password and issues them an
// invitation link, valid for InviteTTL, under base (the server's public
// URL; "" makes the link a path on the server, which is not emailed),
// emailed when a mailer is set; admins only. The rules of Create
// apply but for the password, which must be empty: the user chooses it.
func (s *Users) Invite(ctx context.Context, a Actor, in NewUser, base string) (store.User, PasswordLink, error) {
	if err := a.requireAdmin(); err != nil {
		return store.User{}, PasswordLink{}, err
	}
	if in.Password != "" {
		return store.User{}, PasswordLink{}, refuse(ErrInvalid, "An invited user chooses their own password: leave the password empty, or do not invite.")
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, PasswordLink{}, err
	}
	if in.Role == "" {
		in.Role = store.RoleMember
	}
	if !validRole(in.Role) {
		return store.User{}, PasswordLink{}, errRole
	}
	// An empty hash matches no password (verify), so the account cannot
	// be signed in to until the link sets one.
	u, err := s.store.CreateUser(ctx, email, "", in.Role)
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, PasswordLink{}, refuse(ErrConflict, "A user with the email address %s already exists.", email)
	}
	if err != nil {
		return store.User{}, PasswordLink{}, err
	}
	l, err := s.issueLink(ctx, u, store.LinkInvite, InviteTTL, base)
	return u, l, err
}

// IssueReset issues the user a password reset link, valid for ResetTTL,
// under base, emailed when a mailer is set; admins only. The user's
// password keeps working until the link is used. A missing user is
// ErrNotFound.
func (s *Users) IssueReset(ctx context.Context, a Actor, userID int64, base string) (store.User, PasswordLink, error) {
	if err := a.requireAdmin(); err != nil {
		return store.User{}, PasswordLink{}, err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return store.User{}, PasswordLink{}, err
	}
	l, err := s.issueLink(ctx, u, store.LinkReset, ResetTTL, base)
	return u, l, err
}

// ForgotPassword emails a password reset link under base to the user with
// the address, if there is one and a mailer is set; anyone may ask, so it
// tells the caller nothing about whether the address has an account: its
// error is only for the log.
func (s *Users) ForgotPassword(ctx context.Context, email, base string) error {
	email = trimEmail(email)
	if s.mailer == nil || email == "" {
		return nil
	}
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	l, err := s.issueLink(ctx, u, store.LinkForgot, ResetTTL, base)
	if errors.Is(err, store.ErrConflict) {
		// An invitation or reset an admin issued is still live: the
		// user has a link, and an outsider must not be able to cancel it.
		s.log.Info("service: forgot-password left the admin's link in place", "user_id", u.ID)
		return nil
	}
	if err == nil && l.MailError != "" {
		err = errors.New(l.MailError)
	}
	return err
}

// errNoPublicURL is the MailError of a link issued without a base: a
// relative link in an email cannot be followed.
const errNoPublicURL = "the server has no public URL to put in an emailed link"

// issueLink issues u a link of purpose and emails it when it can: with a
// mailer, and a base, without which the link is a path on the server. A
// failed send is not an error: the admin still gets the link, with
// MailError.
func (s *Users) issueLink(ctx context.Context, u store.User, purpose string, ttl time.Duration, base string) (PasswordLink, error) {
	token, sl, err := s.store.IssuePasswordLink(ctx, u.ID, purpose, ttl)
	if err != nil {
		return PasswordLink{}, err
	}
	l := PasswordLink{Email: u.Email, Purpose: purpose, URL: base + SetPasswordPath + token, ExpiresAt: sl.ExpiresAt}
	if s.mailer == nil {
		return l, nil
	}
	if base == "" {
		l.MailError = errNoPublicURL
		return l, nil
	}
	if err := s.mailer.MailPasswordLink(ctx, l.Email, l.Purpose, l.URL, l.ExpiresAt); err != nil {
		s.log.Warn("service: set-password link not emailed", "user_id", u.ID, "purpose", purpose, "err", err)
		l.MailError = err.Error()
		return l, nil
	}
	l.Emailed = true
	return l, nil
}

// LinkUser returns the user whose password the link token sets, and the
// link, or errLinkGone.
func (s *Users) LinkUser(ctx context.Context, token string) (store.User, store.PasswordLink, error) {
	u, l, err := s.store.PasswordLinkUser(ctx, token, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, store.PasswordLink{}, errLinkGone
	}
	return u, l, err
}

// SetPasswordByLink sets the password of the link token's user to
// password (CheckPassword) and uses the link up. As a password change
// does, it then revokes the user's API tokens minted by signing in and
// signs every session of theirs out; it returns the user and how many
// tokens it revoked. A link that does not work is ErrNotFound; hashing may
// fail with auth.ErrBusy.
func (s *Users) SetPasswordByLink(ctx context.Context, token, password string) (store.User, int64, error) {
	if err := CheckPassword(password); err != nil {
		return store.User{}, 0, err
	}
	// Checked before hashing, so a dead link costs no Argon2 work.
	if _, _, err := s.LinkUser(ctx, token); err != nil {
		return store.User{}, 0, err
	}
	hash, err := s.pool.Hash(password)
	if err != nil {
		return store.User{}, 0, err
	}
	u, _, err := s.store.UsePasswordLink(ctx, token, hash, s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, 0, errLinkGone
	}
	if err != nil {
		return store.User{}, 0, err
	}
	revoked, err := s.endSignIns(ctx, u.ID)
	if err != nil {
		return store.User{}, 0, fmt.Errorf("the password was set, but %w", err)
	}
	return u, revoked, nil
}

// SignOut signs the user out everywhere, as using a reset link does: it
// ends every dashboard session of theirs and revokes their API tokens
// minted by signing in with the password; admins only. It returns the
// user and how many tokens it revoked. The password and the tokens
// created by name are kept: an admin who suspects the password is known
// also issues a reset (IssueReset), and the user revokes named tokens on
// the account page. A missing user is ErrNotFound.
func (s *Users) SignOut(ctx context.Context, a Actor, userID int64) (store.User, int64, error) {
	if err := a.requireAdmin(); err != nil {
		return store.User{}, 0, err
	}
	u, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return store.User{}, 0, err
	}
	revoked, err := s.endSignIns(ctx, u.ID)
	if err != nil {
		return store.User{}, 0, fmt.Errorf("signing %s out: %w", u.Email, err)
	}
	return u, revoked, nil
}

// endSignIns revokes the user's API tokens minted by signing in, then
// ends every session of theirs, and returns how many tokens it revoked.
func (s *Users) endSignIns(ctx context.Context, userID int64) (int64, error) {
	revoked, err := s.store.DeleteSignInTokens(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("the API tokens of password sign-ins were not revoked: %w", err)
	}
	if err := s.store.DeleteUserSessions(ctx, userID, ""); err != nil {
		return 0, fmt.Errorf("the user's sessions were not signed out: %w", err)
	}
	return revoked, nil
}
