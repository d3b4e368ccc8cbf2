package service_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// stores opens each dialect's store; the services must behave alike on
// both.
var stores = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "flytrap.db") }},
	{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
}

// fixture is a store with an admin, a member of project web, and an
// outsider who belongs to no project. Their passwords are hashed for real
// only where a test signs in (Users.Create); the rest have dummy hashes.
type fixture struct {
	ctx                     context.Context
	db                      *store.DB
	svc                     *service.Services
	admin, member, outsider service.Actor
	web                     store.Project
	webKey                  store.ProjectKey
}

// eachStore runs fn on a fresh fixture of each dialect.
func eachStore(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, s.dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			f := &fixture{ctx: ctx, db: db, svc: service.New(db, nil)}
			user := func(email, role string) service.Actor {
				u, err := db.CreateUser(ctx, email, "x", role)
				if err != nil {
					t.Fatal(err)
				}
				return service.ActorOf(u)
			}
			f.admin = user("admin@example.com", store.RoleAdmin)
			f.member = user("member@example.com", store.RoleMember)
			f.outsider = user("outsider@example.com", store.RoleMember)
			if f.web, f.webKey, err = f.svc.Projects.Create(ctx, f.admin, "web"); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.Members.Put(ctx, f.admin, f.web.ID, f.member.UserID, store.RoleMember); err != nil {
				t.Fatal(err)
			}
			fn(t, f)
		})
	}
}

// wantRefusal checks that err is of kind want (nil for success) and, for a
// refusal of invalid input or a conflict, carries a message containing msg.
func wantRefusal(t *testing.T, what string, err, want error, msg string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
		return
	}
	got, ok := service.Message(err)
	if (want == service.ErrInvalid || want == service.ErrConflict) && !ok {
		t.Errorf("%s: %v has no message for the user", what, err)
	}
	if !strings.Contains(got, msg) {
		t.Errorf("%s: message %q lacks %q", what, got, msg)
	}
}

func TestCheckPassword(t *testing.T) {
	const length, common = "8 to 1024 characters", "most common"
	tests := []struct {
		name, password string
		refusal        string // "" when the password is accepted
	}{
		{"empty", "", length},
		{"7 ASCII characters", "1234567", length},
		{"8 ASCII characters", "1234567x", ""},
		{"4 Cyrillic characters, 8 bytes", "пару", length},
		{"8 Cyrillic characters, 16 bytes", "парольпа", ""},
		{"600 Cyrillic characters, 1200 bytes", strings.Repeat("пароль", 100), ""},
		{"1024 Cyrillic characters, 2048 bytes", strings.Repeat("яб", 512), ""},
		{"300 emoji, 1200 bytes", strings.Repeat("🔑🗝", 150), ""},
		{"1024 ASCII characters", strings.Repeat("pa", 512), ""},
		{"1025 ASCII characters", strings.Repeat("p", 1025), length},
		{"1025 Cyrillic characters", strings.Repeat("я", 1025), length},
		{"a common password", "12345678", common},
		{"a common password in other case", "PassWord1", common},
		{"one character repeated", "aaaaaaaa", common},
		{"one emoji repeated", strings.Repeat("🔑", 300), common},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := service.CheckPassword(tt.password)
			if tt.refusal == "" {
				wantRefusal(t, "CheckPassword", err, nil, "")
			} else {
				wantRefusal(t, "CheckPassword", err, service.ErrInvalid, tt.refusal)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string // want "" when refused
		msg      string // of the refusal; "" for the usual one
	}{
		{"ada@example.com", "ada@example.com", ""},
		{"  Ada@Example.com\t", "Ada@Example.com", ""},
		{"Ada <ada@example.com>", "", ""},
		{"<ada@example.com>", "", ""},
		{"not an address", "", ""},
		{"", "", ""},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com", ""},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "", ""},
		{"ad\u00e9@exämple.com", "ad\u00e9@exämple.com", ""},
		{"bidi\u202eevil@qa.test", "", "cannot contain control characters or bidi controls"},
		{"ada\u2066@example.com", "", "cannot contain control characters or bidi controls"},
		{"ada\u200f@example.com", "", "cannot contain control characters or bidi controls"},
		{"ada\u009b@example.com", "", "cannot contain control characters or bidi controls"},
		{"ada\x7f@example.com", "", "cannot contain control characters or bidi controls"},
	}
	for _, tt := range tests {
		got, err := service.NormalizeEmail(tt.in)
		if tt.want == "" {
			msg := tt.msg
			if msg == "" {
				msg = "email address"
			}
			wantRefusal(t, fmt.Sprintf("NormalizeEmail(%q)", tt.in), err, service.ErrInvalid, msg)
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestSignInAcceptsWhatCreateAccepted is the password rule end to end: every
// password Users.Create takes signs in, whatever its bytes; every one it
// refuses leaves no user behind.
func TestSignInAcceptsWhatCreateAccepted(t *testing.T) {
	passwords := []struct {
		name, password string
		created        bool
	}{
		{"ASCII", "correct horse", true},
		{"600 Cyrillic characters", strings.Repeat("пароль", 100), true},
		{"1024 three-byte characters", strings.Repeat("鍵錠", 512), true},
		{"300 emoji", strings.Repeat("🔑🗝", 150), true},
		{"too short", "short", false},
		{"1025 characters", strings.Repeat("я", 1025), false},
	}
	eachStore(t, func(t *testing.T, f *fixture) {
		for i, p := range passwords {
			email := "user" + string(rune('a'+i)) + "@example.com"
			_, err := f.svc.Users.Create(f.ctx, f.admin, service.NewUser{Email: email, Password: p.password})
			if !p.created {
				wantRefusal(t, p.name, err, service.ErrInvalid, "8 to 1024 characters")
				if _, err := f.db.UserByEmail(f.ctx, email); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("%s: a refused user exists: %v", p.name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: create: %v", p.name, err)
				continue
			}
			u, err := f.svc.Users.Authenticate(f.ctx, "  "+strings.ToUpper(email), p.password)
			if err != nil || u.Email != email || u.Role != store.RoleMember {
				t.Errorf("%s: sign-in = %+v, %v; want the new member", p.name, u, err)
			}
			if _, err := f.svc.Users.Authenticate(f.ctx, email, p.password+"x"); !errors.Is(err, service.ErrBadCredentials) {
				t.Errorf("%s: sign-in with a wrong password: %v, want ErrBadCredentials", p.name, err)
			}
		}
		for _, c := range []struct{ name, email, password string }{
			{"unknown address", "nobody@example.com", "correct horse"},
			{"empty password", "usera@example.com", ""},
			{"over-long password", "usera@example.com", strings.Repeat("я", 1025)},
		} {
			if _, err := f.svc.Users.Authenticate(f.ctx, c.email, c.password); !errors.Is(err, service.ErrBadCredentials) {
				t.Errorf("sign-in with %s: %v, want ErrBadCredentials", c.name, err)
			}
		}
	})
}

func TestChangePassword(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		old := strings.Repeat("пароль", 100)
		u, err := f.svc.Users.Create(f.ctx, f.admin, service.NewUser{Email: "ivan@example.com", Password: old})
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name, current, next string
			want                error
		}{
			{"wrong current", "not it at all", "a new password", service.ErrBadCredentials},
			{"new too short", old, "short", service.ErrInvalid},
			{"new too long", old, strings.Repeat("я", 1025), service.ErrInvalid},
			{"to another long non-ASCII one", old, strings.Repeat("ключ", 200), nil},
		}
		// A token from a password sign-in (flytrap login) is a session in
		// all but name: the change revokes it. One created by name stays.
		signIn, _, err := f.db.IssueAPIToken(f.ctx, u.ID, store.NewAPIToken{Name: "laptop", Origin: store.TokenSignIn})
		if err != nil {
			t.Fatal(err)
		}
		named, _, err := f.db.IssueAPIToken(f.ctx, u.ID, store.NewAPIToken{Name: "ci"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range steps {
			revoked, err := f.svc.Users.ChangePassword(f.ctx, u, s.current, s.next)
			wantRefusal(t, s.name, err, s.want, "")
			if want := map[bool]int64{true: 1}[s.want == nil]; revoked != want {
				t.Errorf("%s: %d tokens revoked, want %d", s.name, revoked, want)
			}
		}
		if _, _, err := f.db.TokenOwner(f.ctx, signIn); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the sign-in token survived the password change: %v", err)
		}
		if _, _, err := f.db.TokenOwner(f.ctx, named); err != nil {
			t.Errorf("the token created by name was revoked: %v", err)
		}
		if _, err := f.svc.Users.Authenticate(f.ctx, "ivan@example.com", strings.Repeat("ключ", 200)); err != nil {
			t.Errorf("sign-in with the changed password: %v", err)
		}
		if _, err := f.svc.Users.Authenticate(f.ctx, "ivan@example.com", old); !errors.Is(err, service.ErrBadCredentials) {
			t.Errorf("sign-in with the old password: %v, want ErrBadCredentials", err)
		}
	})
}

// TestUserAdministration runs the user rules in order on one fixture.
func TestUserAdministration(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		users := f.svc.Users
		create := func(a service.Actor, email, password, role string) func() error {
			return func() error {
				_, err := users.Create(f.ctx, a, service.NewUser{Email: email, Password: password, Role: role})
				return err
			}
		}
		setRole := func(a service.Actor, id int64, role string) func() error {
			return func() error { _, err := users.SetRole(f.ctx, a, id, role); return err }
		}
		del := func(a service.Actor, id int64) func() error {
			return func() error { return users.Delete(f.ctx, a, id) }
		}
		// promoted is the member after the promotion step.
		promoted := service.Actor{UserID: f.member.UserID, Role: store.RoleAdmin}
		steps := []struct {
			name string
			do   func() error
			want error
			msg  string
		}{
			{"member creates a user", create(f.member, "x@example.com", "correct horse", ""), service.ErrForbidden, ""},
			{"bad email", create(f.admin, "Ada <ada@example.com>", "correct horse", ""), service.ErrInvalid, "email address"},
			{"bad role", create(f.admin, "x@example.com", "correct horse", "owner"), service.ErrInvalid, "role"},
			{"taken email, other case", create(f.admin, "MEMBER@example.com", "correct horse", ""), service.ErrConflict, "already exists"},
			{"member changes a role", setRole(f.member, f.member.UserID, store.RoleAdmin), service.ErrForbidden, ""},
			{"unknown role", setRole(f.admin, f.member.UserID, "owner"), service.ErrInvalid, "role"},
			{"missing user", setRole(f.admin, 999999, store.RoleMember), service.ErrNotFound, ""},
			{"last admin demoted", setRole(f.admin, f.admin.UserID, store.RoleMember), service.ErrInvalid, "last admin"},
			{"admin deletes themselves", del(f.admin, f.admin.UserID), service.ErrInvalid, "themselves"},
			{"member deletes a user", del(f.member, f.outsider.UserID), service.ErrForbidden, ""},
			{"last admin deleted", del(service.System, f.admin.UserID), service.ErrInvalid, "last admin"},
			{"member promoted", setRole(f.admin, f.member.UserID, store.RoleAdmin), nil, ""},
			{"former last admin demoted", setRole(f.admin, f.admin.UserID, store.RoleMember), nil, ""},
			{"outsider deleted", del(promoted, f.outsider.UserID), nil, ""},
			{"outsider deleted again", del(promoted, f.outsider.UserID), service.ErrNotFound, ""},
		}
		for _, s := range steps {
			wantRefusal(t, s.name, s.do(), s.want, s.msg)
		}
	})
}
