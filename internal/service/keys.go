package service

import (
	"context"

	"github.com/getflytrap/flytrap/internal/store"
)

// Keys manages projects' ingest keys. A project's first key comes with
// the project (Projects.Create).
type Keys struct {
	store Store
}

// Rotate deactivates a project's active keys and creates a new one in one
// transaction, so the project always has a working key; the project's admins only. It
// also gives a project that has no active key one.
func (s *Keys) Rotate(ctx context.Context, a Actor, projectID int64) (store.ProjectKey, error) {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return store.ProjectKey{}, err
	}
	return s.store.RotateProjectKey(ctx, a.Viewer(), projectID)
}
