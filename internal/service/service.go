// Package service holds the rules of users, projects, memberships, ingest
// keys and API tokens, once, for every way in: the REST API, the dashboard
// and bootstrap. Handlers parse a request, call a service with the Actor
// making it and render the answer; what may be done, by whom, and what a
// valid password, email, role or name is, is decided here.
//
// Refusals are *Error values whose Kind is one of ErrInvalid, ErrConflict,
// ErrForbidden, ErrNotFound or ErrTooMany and whose message can be shown to the person
// who asked as it is. The store checks its viewer again underneath, so a
// handler that bypassed a service still could not leak another project.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/store"
)

// The kinds of refusal. They are the store's errors, so errors.Is gives the
// same answer whether a rule was checked here or in the store, and a
// handler maps each kind to a status in one place.
var (
	// ErrInvalid is input that breaks a rule; the *Error says which.
	ErrInvalid = store.ErrInvalid
	// ErrConflict is a name or address another record already has.
	ErrConflict = store.ErrConflict
	// ErrForbidden is an action the actor's role does not allow.
	ErrForbidden = store.ErrForbidden
	// ErrNotFound is a record that does not exist or that the actor may
	// not see; the two are not told apart.
	ErrNotFound = store.ErrNotFound
	// ErrTooMany is an action the actor has done too often lately; the
	// *Error says when it may be done again (RetryAfter). It is the
	// services' own: the store limits nothing per actor.
	ErrTooMany = errors.New("service: too many requests")
)

// ErrBadCredentials is a sign-in with an unknown address or a wrong
// password, or a password change with a wrong current password. It does
// not say which, so a form cannot be used to find out who has an account.
var ErrBadCredentials = errors.New("service: wrong email or password")

// Error is a refusal with a message for the person who asked.
type Error struct {
	// Kind is ErrInvalid, ErrConflict, ErrForbidden, ErrNotFound or
	// ErrTooMany.
	Kind error
	// Msg says what was refused and what to do instead, as a sentence.
	Msg string
	// RetryAfter is, for ErrTooMany, how long until it is allowed again.
	RetryAfter time.Duration
}

// Error returns the message, so a refusal logged or wrapped still reads as
// the sentence the user saw.
func (e *Error) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, e.Kind) true.
func (e *Error) Unwrap() error { return e.Kind }

func refuse(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Message returns the message of a refusal in err's chain, and whether
// there was one.
func Message(err error) (string, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg, true
	}
	return "", false
}

// OnlyAdmins and OnlyProjectAdmins are the messages of a refusal for want
// of a role; each names the role it takes, so a member asks the right
// person. "The project's admins" in these services' docs are the admin
// users and the users whose role in that project is admin; "admins" alone
// are admin users.
const (
	OnlyAdmins        = "Only admins of this Flytrap server may do this; ask one of them."
	OnlyProjectAdmins = "Only an admin of this project (or of this Flytrap server) may do this; ask one of them, who can also make you an admin of the project (flytrap members list PROJECT shows them)."
)

var (
	errOnlyAdmins        = &Error{Kind: ErrForbidden, Msg: OnlyAdmins}
	errOnlyProjectAdmins = &Error{Kind: ErrForbidden, Msg: OnlyProjectAdmins}
)

// Actor is who asks for a change: the signed-in user or the API token's
// owner.
type Actor struct {
	UserID int64
	Role   string
}

// System is the installation itself, acting before any user exists:
// bootstrap creates the first admin as System. It may do what an admin may.
var System = Actor{Role: store.RoleAdmin}

// ActorOf returns u as an actor.
func ActorOf(u store.User) Actor { return Actor{UserID: u.ID, Role: u.Role} }

// IsAdmin reports whether a may administer users and projects. It is the
// one admin check of the API, the dashboard and the services.
func (a Actor) IsAdmin() bool { return a.Role == store.RoleAdmin }

// Viewer is what the store filters a's reads by.
func (a Actor) Viewer() store.Viewer { return store.Viewer{UserID: a.UserID, Admin: a.IsAdmin()} }

// requireAdmin refuses a non-admin.
func (a Actor) requireAdmin() error {
	if !a.IsAdmin() {
		return errOnlyAdmins
	}
	return nil
}

// Store is what the services read and change.
type Store interface {
	UserByEmail(ctx context.Context, email string) (store.User, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
	CreateUser(ctx context.Context, email, passwordHash, role string) (store.User, error)
	SetUserRole(ctx context.Context, v store.Viewer, userID int64, role string) (store.User, error)
	DeleteUser(ctx context.Context, v store.Viewer, userID int64) error
	SetPassword(ctx context.Context, userID int64, hash string) error
	DeleteSignInTokens(ctx context.Context, userID int64) (int64, error)
	DeleteUserSessions(ctx context.Context, userID int64, exceptToken string) error
	IssuePasswordLink(ctx context.Context, userID int64, purpose string, ttl time.Duration) (string, store.PasswordLink, error)
	PasswordLinkUser(ctx context.Context, token string, now time.Time) (store.User, store.PasswordLink, error)
	UsePasswordLink(ctx context.Context, token, hash string, now time.Time) (store.User, store.PasswordLink, error)

	GetProject(ctx context.Context, v store.Viewer, id int64) (store.Project, error)
	ManagesProject(ctx context.Context, v store.Viewer, id int64) error
	CreateProjectWithKey(ctx context.Context, name string, creatorID int64) (store.Project, store.ProjectKey, error)
	RenameProject(ctx context.Context, v store.Viewer, id int64, name string) (store.Project, error)
	DeleteProject(ctx context.Context, v store.Viewer, id int64) error

	ListMembers(ctx context.Context, v store.Viewer, projectID int64) ([]store.Member, error)
	AddProjectMember(ctx context.Context, v store.Viewer, projectID, userID int64, role string) error
	RemoveMember(ctx context.Context, v store.Viewer, projectID, userID int64) error

	RotateProjectKey(ctx context.Context, v store.Viewer, projectID int64) (store.ProjectKey, error)

	IssueAPIToken(ctx context.Context, userID int64, nt store.NewAPIToken) (string, store.APIToken, error)
	DeleteAPIToken(ctx context.Context, userID, tokenID int64) error

	AlertStore
}

// The real store must satisfy Store; this fails the build if a method
// drifts.
var _ Store = (*store.DB)(nil)

// Services are the domain services over one store.
type Services struct {
	Users    *Users
	Projects *Projects
	Members  *Members
	Keys     *Keys
	Tokens   *Tokens
	Alerts   *Alerts
	// comments throttles comment emails.
	comments *CommentThrottle
}

// New returns the services over s. Passwords are hashed in auth.Shared,
// the process's bounded pool. log receives what a user must not be told
// (an unreadable password hash); nil discards it.
func New(s Store, log *slog.Logger) *Services {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Services{
		Users:    &Users{store: s, pool: auth.Shared, log: log, dummyHash: auth.DummyHash(), now: time.Now},
		Projects: &Projects{store: s},
		Members:  &Members{store: s, misses: newEmailMisses(EmailMissBurst, EmailMissEvery, time.Now)},
		Keys:     &Keys{store: s},
		Tokens:   &Tokens{store: s, now: time.Now},
		Alerts:   &Alerts{store: s, now: time.Now, resolver: net.DefaultResolver},
		comments: NewCommentThrottle(CommentEmailEvery, time.Now),
	}
}

// requireProjectAdmin refuses a change to project id with ErrNotFound when
// a cannot see it (or it does not exist), so a stranger learns nothing
// about it, and with ErrForbidden when a is neither an admin user nor an
// admin of the project (docs/api.md, Projects). It runs before the input
// is checked, so a missing project is a 404 whatever was sent.
func requireProjectAdmin(ctx context.Context, s Store, a Actor, id int64) error {
	err := s.ManagesProject(ctx, a.Viewer(), id)
	if errors.Is(err, store.ErrForbidden) {
		return errOnlyProjectAdmins
	}
	return err
}
