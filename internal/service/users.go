package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// Limits on email addresses.
const (
	// MaxEmailLength is the longest address a new user may have: the
	// longest SMTP can deliver to (RFC 5321's 256-octet path, less the
	// angle brackets).
	MaxEmailLength = 254
	// maxSignInEmail bounds the addresses sign-in looks up: earlier
	// versions let the dashboard create addresses up to 320 bytes, and
	// those users must still sign in.
	maxSignInEmail = 320
)

// NormalizeEmail returns the address s with surrounding space removed, or
// refuses it with ErrInvalid unless it is a bare address (no display name,
// no angle brackets) of at most MaxEmailLength bytes without control
// characters or bidi controls (see event.IsControl: net/mail lets U+202E
// through, and "bidi\u202eevil@qa.test" would show as another address).
// Case is kept as typed; the store compares addresses ignoring case.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if event.HasControl(s) {
		return "", refuse(ErrInvalid, "Email addresses cannot contain control characters or bidi controls (such as U+202E).")
	}
	if addr, err := mail.ParseAddress(s); err != nil || addr.Address != s || len(s) > MaxEmailLength {
		return "", refuse(ErrInvalid, "Enter an email address such as ada@example.com.")
	}
	return s, nil
}

// validRole reports whether role is a role users and members may have.
func validRole(role string) bool { return role == store.RoleAdmin || role == store.RoleMember }

// errRole refuses a role that is neither admin nor member.
var errRole = &Error{Kind: ErrInvalid, Msg: "Choose the role member or admin."}

// Users creates, changes, removes and signs in users.
type Users struct {
	store Store
	pool  *auth.Pool
	log   *slog.Logger
	// dummyHash is verified for unknown addresses, and for users invited
	// who have not set a password yet, so that a failed sign-in costs the
	// same whether or not the address has a password.
	dummyHash string
	// mailer emails set-password links; nil only shows them (WithMailer).
	mailer LinkMailer
	// now is the clock set-password links expire by.
	now func() time.Time
}

// NewUser is a user to create. An empty Role means store.RoleMember.
type NewUser struct {
	Email    string
	Password string
	Role     string
}

// Create adds a user; admins (and System) only. The email must be an
// address (NormalizeEmail), the password must pass CheckPassword, and an
// address another user has, ignoring case, is ErrConflict. Hashing may
// fail with auth.ErrBusy.
func (s *Users) Create(ctx context.Context, a Actor, in NewUser) (store.User, error) {
	if err := a.requireAdmin(); err != nil {
		return store.User{}, err
	}
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return store.User{}, err
	}
	if err := CheckPassword(in.Password); err != nil {
		return store.User{}, err
	}
	if in.Role == "" {
		in.Role = store.RoleMember
	}
	if !validRole(in.Role) {
		return store.User{}, errRole
	}
	hash, err := s.pool.Hash(in.Password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.store.CreateUser(ctx, email, hash, in.Role)
	if errors.Is(err, store.ErrConflict) {
		return store.User{}, refuse(ErrConflict, "A user with the email address %s already exists.", email)
	}
	return u, err
}

// SetRole makes a user an admin or a member; admins only. The last admin
// cannot be made a member: nobody could administer the installation then.
func (s *Users) SetRole(ctx context.Context, a Actor, userID int64, role string) (store.User, error) {
	if err := a.requireAdmin(); err != nil {
		return store.User{}, err
	}
	if !validRole(role) {
		return store.User{}, errRole
	}
	// The store decides "last admin" under a lock on every admin row, so
	// two admins demoting each other at once cannot both succeed.
	u, err := s.store.SetUserRole(ctx, a.Viewer(), userID, role)
	if errors.Is(err, store.ErrInvalid) {
		return store.User{}, refuse(ErrInvalid, "This is the last admin and cannot be made a member: make another user admin first.")
	}
	return u, err
}

// Delete removes a user with their memberships, sessions and API tokens;
// admins only. Admins cannot delete themselves (another admin can), and
// the last admin cannot be removed.
func (s *Users) Delete(ctx context.Context, a Actor, userID int64) error {
	if err := a.requireAdmin(); err != nil {
		return err
	}
	if userID == a.UserID {
		return refuse(ErrInvalid, "You cannot remove your own account (admins cannot delete themselves); another admin can.")
	}
	err := s.store.DeleteUser(ctx, a.Viewer(), userID)
	if errors.Is(err, store.ErrInvalid) {
		return refuse(ErrInvalid, "The last admin cannot be removed: make another user admin first.")
	}
	return err
}

// Authenticate returns the user with email and password, or
// ErrBadCredentials; auth.ErrBusy when every hashing slot stayed taken.
// Unknown addresses cost the same Argon2 work as known ones.
func (s *Users) Authenticate(ctx context.Context, email, password string) (store.User, error) {
	email = trimEmail(email)
	if email == "" || !mayBePassword(password) {
		return store.User{}, ErrBadCredentials
	}
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.pool.Verify(password, s.dummyHash); err != nil {
			return store.User{}, err
		}
		return store.User{}, ErrBadCredentials
	}
	if err != nil {
		return store.User{}, err
	}
	if err := s.verify(u, password); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// trimEmail is email without surrounding space, or "" when it is longer
// than any address that can sign in.
func trimEmail(email string) string {
	if email = strings.TrimSpace(email); len(email) > maxSignInEmail {
		return ""
	}
	return email
}

// verify checks password against u's hash: nil, ErrBadCredentials or
// auth.ErrBusy. A user invited who has not chosen a password yet has an
// empty hash, which no password matches.
func (s *Users) verify(u store.User, password string) error {
	if !mayBePassword(password) {
		return ErrBadCredentials
	}
	if u.PasswordHash == "" {
		if _, err := s.pool.Verify(password, s.dummyHash); err != nil {
			return err
		}
		return ErrBadCredentials
	}
	ok, err := s.pool.Verify(password, u.PasswordHash)
	switch {
	case errors.Is(err, auth.ErrBusy):
		return err
	case err != nil:
		// A hash this code cannot read (set by hand, or by a future
		// version) signs nobody in; the log says why.
		s.log.Warn("service: unreadable password hash", "user_id", u.ID, "err", err)
		return ErrBadCredentials
	case !ok:
		return ErrBadCredentials
	}
	return nil
}

// ChangePassword sets u's password to next after checking current: u is
// the signed-in user, whose own password only they change. A wrong current
// password is ErrBadCredentials; next must pass CheckPassword.
//
// It then revokes u's API tokens minted by signing in with the password
// (store.TokenSignIn: POST /api/v1/auth/token, flytrap login), which are
// sessions in all but name, and returns how many there were. Tokens u
// created by name are kept, as GitHub keeps personal access tokens: they
// are for machines (CI) the password change is not about, and u sees and
// revokes them on the account page. The caller ends the browser sessions.
func (s *Users) ChangePassword(ctx context.Context, u store.User, current, next string) (revoked int64, err error) {
	if err := CheckPassword(next); err != nil {
		return 0, err
	}
	if err := s.verify(u, current); err != nil {
		return 0, err
	}
	hash, err := s.pool.Hash(next)
	if err != nil {
		return 0, err
	}
	if err := s.store.SetPassword(ctx, u.ID, hash); err != nil {
		return 0, err
	}
	// After the new password is set, so a sign-in with the old one cannot
	// mint a token that survives.
	revoked, err = s.store.DeleteSignInTokens(ctx, u.ID)
	if err != nil {
		return 0, fmt.Errorf("the password was changed, but the API tokens of password sign-ins were not revoked: %w", err)
	}
	return revoked, nil
}
