package service_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

func TestCreateProject(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		tests := []struct {
			name, project string
			actor         service.Actor
			want          error
			msg           string
		}{
			{"admin", " mobile ", f.admin, nil, ""},
			{"member", "mobile2", f.member, service.ErrForbidden, ""},
			{"taken name", "web", f.admin, service.ErrConflict, "already exists"},
			{"taken slug", "WEB!", f.admin, service.ErrConflict, "same slug"},
			{"only digits", "2024", f.admin, service.ErrInvalid, "read as a project ID"},
			{"digits and more", "2024-app", f.admin, nil, ""},
			{"empty name", "  ", f.admin, service.ErrInvalid, "Enter a project name"},
			{"101 characters", strings.Repeat("я", 101), f.admin, service.ErrInvalid, "at most 100"},
			{"control character", "a\x01b", f.admin, service.ErrInvalid, "control characters"},
			{"escape sequence", "web\x1b[2J", f.admin, service.ErrInvalid, "control characters"},
			{"C1 control", "web\u009b31m", f.admin, service.ErrInvalid, "control characters"},
			{"bidi override", "web\u202eevil", f.admin, service.ErrInvalid, "bidi controls"},
			{"bidi isolate", "web\u2066evil\u2069", f.admin, service.ErrInvalid, "bidi controls"},
			// PostgreSQL refuses such text, where SQLite stored it.
			{"invalid UTF-8", "web\xffshop", f.admin, service.ErrInvalid, "valid UTF-8"},
			// System is no user and so can be no member; the transaction
			// leaves no project behind.
			{"System", "orphan", service.System, service.ErrNotFound, ""},
		}
		for _, tt := range tests {
			p, k, err := f.svc.Projects.Create(f.ctx, tt.actor, tt.project)
			wantRefusal(t, tt.name, err, tt.want, tt.msg)
			if tt.want != nil {
				continue
			}
			if p.Name != strings.TrimSpace(tt.project) || k.ProjectID != p.ID || !k.Active {
				t.Errorf("%s: Create = %+v, %+v", tt.name, p, k)
			}
			members, err := f.db.ListMembers(f.ctx, store.System, p.ID)
			if err != nil || len(members) != 1 || members[0].UserID != tt.actor.UserID || members[0].Role != store.RoleAdmin {
				t.Errorf("%s: members = %+v, %v; want the creator as admin", tt.name, members, err)
			}
			keys, err := f.db.ProjectKeys(f.ctx, store.System, p.ID)
			if err != nil || len(keys) != 1 || keys[0] != k {
				t.Errorf("%s: keys = %+v, %v; want the one returned", tt.name, keys, err)
			}
		}
		all, err := f.db.ListProjects(f.ctx, store.System)
		if err != nil || len(all) != 3 {
			t.Errorf("projects = %+v, %v; want web, mobile and 2024-app only", all, err)
		}
	})
}

// TestProjectAdministration runs the rules of changes to an existing
// project in order: admins may; a member of the project is refused
// (ErrForbidden); a stranger learns nothing (ErrNotFound).
func TestProjectAdministration(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		other, _, err := f.svc.Projects.Create(f.ctx, f.admin, "billing")
		if err != nil {
			t.Fatal(err)
		}
		web, ctx, s := f.web.ID, f.ctx, f.svc
		stranger, err := f.db.CreateUser(ctx, "stranger@example.com", "x", store.RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		rename := func(a service.Actor, id int64, name string) func() error {
			return func() error { _, err := s.Projects.Rename(ctx, a, id, name); return err }
		}
		put := func(a service.Actor, uid int64, role string) func() error {
			return func() error { _, err := s.Members.Put(ctx, a, web, uid, role); return err }
		}
		putEmail := func(a service.Actor, email, role string) func() error {
			return func() error { _, err := s.Members.PutByEmail(ctx, a, web, email, role); return err }
		}
		remove := func(a service.Actor, uid int64) func() error {
			return func() error { return s.Members.Remove(ctx, a, web, uid) }
		}
		rotate := func(a service.Actor, id int64) func() error {
			return func() error { _, err := s.Keys.Rotate(ctx, a, id); return err }
		}
		del := func(a service.Actor, id int64) func() error {
			return func() error { return s.Projects.Delete(ctx, a, id) }
		}
		steps := []struct {
			name string
			do   func() error
			want error
			msg  string
		}{
			{"member renames", rename(f.member, web, "shop"), service.ErrForbidden, ""},
			{"outsider renames", rename(f.outsider, web, "shop"), service.ErrNotFound, ""},
			{"rename to a taken name", rename(f.admin, web, "billing"), service.ErrConflict, "already exists"},
			{"rename to a taken name in another case", rename(f.admin, web, "Billing"), service.ErrConflict, "already exists"},
			{"rename to another project's ID", rename(f.admin, web, "1"), service.ErrInvalid, "read as a project ID"},
			{"rename to nothing", rename(f.admin, web, " "), service.ErrInvalid, "Enter a project name"},
			{"rename a missing project", rename(f.admin, 999999, "x"), service.ErrNotFound, ""},
			{"rename", rename(f.admin, web, "shop"), nil, ""},

			{"member adds a member", put(f.member, f.outsider.UserID, store.RoleMember), service.ErrForbidden, ""},
			{"outsider adds themselves", put(f.outsider, f.outsider.UserID, store.RoleMember), service.ErrNotFound, ""},
			{"unknown role", put(f.admin, f.outsider.UserID, "boss"), service.ErrInvalid, "Choose a user"},
			{"no user", put(f.admin, 0, store.RoleMember), service.ErrInvalid, "Choose a user"},
			{"missing project, bad input", func() error {
				_, err := s.Members.Put(ctx, f.admin, 999999, 0, "boss")
				return err
			}, service.ErrNotFound, ""},
			{"missing user", put(f.admin, 999999, store.RoleMember), service.ErrNotFound, ""},
			{"member adds by email", putEmail(f.member, "outsider@example.com", store.RoleMember), service.ErrForbidden, ""},
			{"add the outsider", put(f.admin, f.outsider.UserID, store.RoleMember), nil, ""},
			{"change their role", put(f.admin, f.outsider.UserID, store.RoleAdmin), nil, ""},
			// The outsider is web's admin now, though no admin user.
			{"web's admin adds by email", putEmail(f.outsider, " MEMBER@example.com ", store.RoleMember), nil, ""},
			{"web's admin adds an unknown email", putEmail(f.outsider, "nobody@example.com", store.RoleMember), service.ErrNotFound, "No user has that email"},
			{"web's admin adds no email", putEmail(f.outsider, " ", store.RoleMember), service.ErrInvalid, "Enter the email"},
			// A bad role is refused before the email is looked up, so it
			// cannot tell whether a user has the email.
			{"web's admin probes an email with a bad role", putEmail(f.outsider, "nobody@example.com", "boss"), service.ErrInvalid, "A role in a project is member or admin"},
			// Without a role, a member keeps theirs: web's admin adding
			// themselves again stays its admin (see below: they rename
			// it), and a newcomer joins as a member.
			{"web's admin adds themselves without a role", putEmail(f.outsider, "outsider@example.com", ""), nil, ""},
			{"web's admin adds no email and a bad role", putEmail(f.outsider, "", "boss"), service.ErrInvalid, "Enter the email"},
			{"web's admin adds a user by ID", put(f.outsider, stranger.ID, store.RoleMember), service.ErrNotFound, "add members by email"},
			{"web's admin adds a stranger without a role", putEmail(f.outsider, "stranger@example.com", ""), nil, ""},
			{"web's admin changes a member's role by ID", put(f.outsider, f.member.UserID, store.RoleMember), nil, ""},
			{"web's admin renames", rename(f.outsider, web, "web2"), nil, ""},
			{"web's admin renames billing", rename(f.outsider, other.ID, "x"), service.ErrNotFound, ""},
			{"web's admin rotates the key", rotate(f.outsider, web), nil, ""},
			{"web's admin deletes", del(f.outsider, web), service.ErrForbidden, ""},
			{"member removes them", remove(f.member, f.outsider.UserID), service.ErrForbidden, ""},
			{"remove them", remove(f.admin, f.outsider.UserID), nil, ""},
			{"remove them again", remove(f.admin, f.outsider.UserID), service.ErrNotFound, ""},

			{"member rotates the key", rotate(f.member, web), service.ErrForbidden, ""},
			{"outsider rotates the key", rotate(f.outsider, web), service.ErrNotFound, ""},
			{"rotate the key", rotate(f.admin, web), nil, ""},

			{"member deletes", del(f.member, web), service.ErrForbidden, ""},
			{"outsider deletes", del(f.outsider, other.ID), service.ErrNotFound, ""},
			{"delete", del(f.admin, other.ID), nil, ""},
			{"delete again", del(f.admin, other.ID), service.ErrNotFound, ""},
		}
		for _, st := range steps {
			wantRefusal(t, st.name, st.do(), st.want, st.msg)
		}
		members, err := f.db.ListMembers(ctx, store.System, web)
		if i := slices.IndexFunc(members, func(m store.Member) bool { return m.UserID == stranger.ID }); err != nil || i < 0 || members[i].Role != store.RoleMember {
			t.Errorf("web's members after the steps = %+v, %v; want the stranger, added without a role, a member", members, err)
		}
		if p, err := f.db.GetProject(ctx, store.System, web); err != nil || p.Name != "web2" {
			t.Errorf("web after the steps = %+v, %v; want it renamed to web2", p, err)
		}
		keys, err := f.db.ProjectKeys(ctx, store.System, web)
		if err != nil || len(keys) != 3 || keys[0].Active || keys[1].Active || !keys[2].Active {
			t.Errorf("web's keys after two rotations = %+v, %v", keys, err)
		}
	})
}

// TestAddByEmailMisses: a project's admin who is no admin user may try
// EmailMissBurst emails that no user has; past them every add by email is
// refused alike, a user's email included, so the refusal tells nothing. A
// user's email costs nothing, and admin users, who list the users
// anyway, are not counted.
func TestAddByEmailMisses(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		if _, err := f.svc.Members.Put(f.ctx, f.admin, f.web.ID, f.outsider.UserID, store.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		putEmail := func(a service.Actor, email string) error {
			_, err := f.svc.Members.PutByEmail(f.ctx, a, f.web.ID, email, "")
			return err
		}
		for i := range service.EmailMissBurst {
			wantRefusal(t, fmt.Sprintf("miss %d", i+1), putEmail(f.outsider, fmt.Sprintf("typo%d@example.com", i)), service.ErrNotFound, "No user has that email")
			if i < service.EmailMissBurst-1 {
				wantRefusal(t, fmt.Sprintf("hit after miss %d", i+1), putEmail(f.outsider, "member@example.com"), nil, "")
			}
		}
		for _, email := range []string{"one-more@example.com", "member@example.com"} {
			err := putEmail(f.outsider, email)
			wantRefusal(t, "past the misses, "+email, err, service.ErrTooMany, "Too many emails that no user has were tried; try again in 3m0s, or ask an admin")
			var se *service.Error
			if !errors.As(err, &se) || se.RetryAfter <= 0 || se.RetryAfter > service.EmailMissEvery {
				t.Errorf("past the misses: %#v, want a RetryAfter up to %s", err, service.EmailMissEvery)
			}
		}
		for i := range service.EmailMissBurst + 5 {
			wantRefusal(t, fmt.Sprintf("admin's miss %d", i+1), putEmail(f.admin, fmt.Sprintf("typo%d@example.com", i)), service.ErrNotFound, "No user has that email")
		}
	})
}

func TestTokens(t *testing.T) {
	eachStore(t, func(t *testing.T, f *fixture) {
		names := []struct {
			name string
			msg  string // of the refusal; "" when the name is taken
		}{
			{" laptop ", ""},
			{strings.Repeat("я", 100), ""},
			{"ci für Zürich", ""},
			{"", "1 to 100 characters"},
			{"   ", "1 to 100 characters"},
			{strings.Repeat("n", 101), "1 to 100 characters"},
			{"tok\u001b[2J\u001b]0;pwn\u0007", "control characters"},
			{"tok\ttab", "control characters"},
			{"tok\u009b31m", "control characters"},
			{"tok\u202eevil", "bidi controls"},
			{"tok\xffen", "valid UTF-8"},
		}
		var mine store.APIToken
		for _, n := range names {
			secret, tok, err := f.svc.Tokens.Create(f.ctx, f.member, n.name)
			if n.msg != "" {
				wantRefusal(t, fmt.Sprintf("token name %q", n.name), err, service.ErrInvalid, n.msg)
				continue
			}
			if err != nil || tok.Name != strings.TrimSpace(n.name) || tok.UserID != f.member.UserID {
				t.Errorf("Create(%q) = %+v, %v", n.name, tok, err)
				continue
			}
			if u, err := f.db.UserByAPIToken(f.ctx, secret); err != nil || u.ID != f.member.UserID {
				t.Errorf("token %q authenticates %+v, %v", n.name, u, err)
			}
			mine = tok
		}
		if err := f.svc.Tokens.Delete(f.ctx, f.admin, mine.ID); !errors.Is(err, service.ErrNotFound) {
			t.Errorf("an admin revokes a member's token: %v, want ErrNotFound", err)
		}
		if err := f.svc.Tokens.Delete(f.ctx, f.member, mine.ID); err != nil {
			t.Errorf("revoke own token: %v", err)
		}
	})
}
