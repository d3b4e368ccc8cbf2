package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// Members adds users to projects, changes their role there and removes
// them.
type Members struct {
	store Store
	// misses bounds the emails no user has that a project's admin may
	// look up (see EmailMissBurst).
	misses *EmailMisses
}

// errNotAMember refuses a project's admin a user ID that is no member.
var errNotAMember = &Error{Kind: ErrNotFound, Msg: "That user is not a member of the project; add members by email."}

// Put makes a user a member of a project with role, or changes their role
// there, and returns the membership; the project's admins only. A missing user is
// ErrNotFound. A project's admin who is no admin user may only change the
// role of a member by ID (see errNotAMember); they add users by email.
func (s *Members) Put(ctx context.Context, a Actor, projectID, userID int64, role string) (store.Member, error) {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return store.Member{}, err
	}
	if userID <= 0 || !validRole(role) {
		return store.Member{}, refuse(ErrInvalid, "Choose a user and the role member or admin.")
	}
	if !a.IsAdmin() {
		// Adding any ID would list every user's email, one ID at a
		// time, to someone who may not list the users.
		members, err := s.store.ListMembers(ctx, a.Viewer(), projectID)
		if err != nil {
			return store.Member{}, err
		}
		if !slices.ContainsFunc(members, func(m store.Member) bool { return m.UserID == userID }) {
			return store.Member{}, errNotAMember
		}
	}
	return s.put(ctx, a, projectID, userID, role)
}

// put adds or changes a membership whose input is checked.
func (s *Members) put(ctx context.Context, a Actor, projectID, userID int64, role string) (store.Member, error) {
	v := a.Viewer()
	if err := s.store.AddProjectMember(ctx, v, projectID, userID, role); err != nil {
		return store.Member{}, err
	}
	members, err := s.store.ListMembers(ctx, v, projectID)
	if err != nil {
		return store.Member{}, err
	}
	for _, m := range members {
		if m.UserID == userID {
			return m, nil
		}
	}
	// Removed again, or the user deleted, since the add.
	return store.Member{}, ErrNotFound
}

// PutByEmail is Put for the user with email, ignoring case, so that a
// project's admins, who may not list the users, can add one they know. A
// missing user is a refusal. Without a role ("") a member keeps theirs and
// anyone else joins as a member: adding someone who is already there
// must not demote an admin of the project.
func (s *Members) PutByEmail(ctx context.Context, a Actor, projectID int64, email, role string) (store.Member, error) {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return store.Member{}, err
	}
	email = strings.TrimSpace(email)
	// The input is checked before the email is looked up, so that no
	// refused request tells whether a user has it.
	if email == "" {
		return store.Member{}, refuse(ErrInvalid, "Enter the email of the user to add.")
	}
	if role != "" && !validRole(role) {
		return store.Member{}, refuse(ErrInvalid, "A role in a project is member or admin; leave it out to keep a member's role.")
	}
	// Admin users may list the users anyway; anyone else has a budget
	// of misses, checked before the lookup, so that past it every lookup
	// is refused alike, hits included.
	done := func(bool) {}
	if !a.IsAdmin() {
		var wait time.Duration
		if done, wait = s.misses.begin(a.UserID); wait > 0 {
			return store.Member{}, &Error{Kind: ErrTooMany, RetryAfter: wait,
				Msg: fmt.Sprintf("Too many emails that no user has were tried; try again in %s, or ask an admin, who can list the users.", roundUp(wait))}
		}
	}
	u, err := s.store.UserByEmail(ctx, email)
	done(errors.Is(err, store.ErrNotFound))
	if errors.Is(err, store.ErrNotFound) {
		return store.Member{}, refuse(ErrNotFound, "No user has that email; an admin creates users.")
	}
	if err != nil {
		return store.Member{}, err
	}
	if role == "" {
		members, err := s.store.ListMembers(ctx, a.Viewer(), projectID)
		if err != nil {
			return store.Member{}, err
		}
		if i := slices.IndexFunc(members, func(m store.Member) bool { return m.UserID == u.ID }); i >= 0 {
			return members[i], nil
		}
		role = store.RoleMember
	}
	return s.put(ctx, a, projectID, u.ID, role)
}

// Remove takes a user out of a project; the project's admins only. A user who is not a
// member is ErrNotFound.
func (s *Members) Remove(ctx context.Context, a Actor, projectID, userID int64) error {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return err
	}
	return s.store.RemoveMember(ctx, a.Viewer(), projectID, userID)
}

// roundUp is d rounded up to whole minutes, or to whole seconds under a
// minute: how long to wait, as a message says it.
func roundUp(d time.Duration) time.Duration {
	unit := time.Minute
	if d < time.Minute {
		unit = time.Second
	}
	return (d + unit - 1).Truncate(unit)
}

// WithEmailMisses makes s share m, which counts the emails no user has
// that a project's admin tried, with the other services given it; it
// returns s.
func (s *Services) WithEmailMisses(m *EmailMisses) *Services {
	s.Members.misses = m
	return s
}

// EmailMisses is s's count of emails no user has that project admins
// tried, for another server face's services to share (WithEmailMisses).
func (s *Services) EmailMisses() *EmailMisses { return s.Members.misses }
