package service

import (
	"context"

	"github.com/getflytrap/flytrap/internal/store"
)

// Members adds users to projects, changes their role there and removes
// them.
type Members struct {
	store Store
}

// Put makes a user a member of a project with role, or changes their role
// there, and returns the membership; admins only. A missing user is
// ErrNotFound.
func (s *Members) Put(ctx context.Context, a Actor, projectID, userID int64, role string) (store.Member, error) {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return store.Member{}, err
	}
	if userID <= 0 || !validRole(role) {
		return store.Member{}, refuse(ErrInvalid, "Choose a user and the role member or admin.")
	}
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

// Remove takes a user out of a project; admins only. A user who is not a
// member is ErrNotFound.
func (s *Members) Remove(ctx context.Context, a Actor, projectID, userID int64) error {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return err
	}
	return s.store.RemoveMember(ctx, a.Viewer(), projectID, userID)
}
