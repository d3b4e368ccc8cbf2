package service

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// MaxProjectName bounds project names, which appear in every page title.
const MaxProjectName = 100

// Projects creates, renames and deletes projects.
type Projects struct {
	store Store
}

// CheckProjectName returns name without surrounding space, or refuses it
// with ErrInvalid: it must be 1 to MaxProjectName characters without
// control characters or bidi controls (see event.IsControl) in valid
// UTF-8, and not only digits.
func CheckProjectName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", refuse(ErrInvalid, "Enter a project name.")
	case utf8.RuneCountInString(name) > MaxProjectName:
		return "", refuse(ErrInvalid, "Project names are at most 100 characters long.")
	case !utf8.ValidString(name):
		return "", refuse(ErrInvalid, "Project names must be valid UTF-8 text.")
	case event.HasControl(name):
		return "", refuse(ErrInvalid, "Project names cannot contain control characters or bidi controls (such as U+202E).")
	case strings.Trim(name, "0123456789") == "":
		// A reference to a project is its name or its ID
		// (projectref.Resolve): such a name would read as another
		// project's ID.
		return "", refuse(ErrInvalid, "A project name cannot be only digits: it would read as a project ID.")
	}
	return name, nil
}

// errProjectName refuses a name another project has.
var errProjectName = &Error{Kind: ErrConflict, Msg: "A project with that name already exists, or with one that reads the same in another case or as the same slug (sentry-cli's name for a project); choose another name."}

// Create adds a project with a as its admin member and its first ingest
// key, all in one transaction; admins only. a must be a real user, so
// System cannot create projects.
func (s *Projects) Create(ctx context.Context, a Actor, name string) (store.Project, store.ProjectKey, error) {
	if err := a.requireAdmin(); err != nil {
		return store.Project{}, store.ProjectKey{}, err
	}
	name, err := CheckProjectName(name)
	if err != nil {
		return store.Project{}, store.ProjectKey{}, err
	}
	p, k, err := s.store.CreateProjectWithKey(ctx, name, a.UserID)
	if errors.Is(err, store.ErrConflict) {
		return store.Project{}, store.ProjectKey{}, errProjectName
	}
	return p, k, err
}

// Rename renames a project; the project's admins only.
func (s *Projects) Rename(ctx context.Context, a Actor, id int64, name string) (store.Project, error) {
	if err := requireProjectAdmin(ctx, s.store, a, id); err != nil {
		return store.Project{}, err
	}
	name, err := CheckProjectName(name)
	if err != nil {
		return store.Project{}, err
	}
	p, err := s.store.RenameProject(ctx, a.Viewer(), id, name)
	if errors.Is(err, store.ErrConflict) {
		return store.Project{}, errProjectName
	}
	return p, err
}

// Delete removes a project with all its issues, events, keys and
// memberships; admin users only: a project's own admins manage it but may
// not delete it.
func (s *Projects) Delete(ctx context.Context, a Actor, id int64) error {
	// A stranger learns nothing of the project (404); anyone who sees it
	// is told that it takes an admin of the server, not of the project.
	if err := requireProjectAdmin(ctx, s.store, a, id); err != nil && !errors.Is(err, ErrForbidden) {
		return err
	}
	if err := a.requireAdmin(); err != nil {
		return err
	}
	return s.store.DeleteProject(ctx, a.Viewer(), id)
}
