package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/store"
)

// assigneeID is the user ref names: 0 for nobody, the caller for "me".
// It reports false, with the answer written, when ref names nobody who
// could be assigned: an email without an account is refused as a user
// outside the project is, so that the answer does not tell who has one.
func (a *API) assigneeID(w http.ResponseWriter, r *http.Request, ref apitypes.AssigneeRef) (int64, bool) {
	who := strings.TrimSpace(ref.Who)
	if who == "" {
		return 0, true
	}
	if strings.EqualFold(who, "me") {
		return caller(r).ID, true
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(who, "user:"), 10, 64); err == nil && id > 0 {
		return id, true
	}
	if !strings.Contains(who, "@") {
		writeError(w, http.StatusBadRequest, "bad_request",
			fmt.Sprintf(`assignedTo must be a user's ID, email or "me" (null or "" for nobody), not %q`, who))
		return 0, false
	}
	u, err := a.store.UserByEmail(r.Context(), who)
	if errors.Is(err, store.ErrNotFound) {
		err = store.ErrNotAssignable
	}
	if err != nil {
		a.assignFail(w, r, who, "", err)
		return 0, false
	}
	return u.ID, true
}

// assignFail answers err, the failure of assigning issues to who as
// sent, saying why a user may not be assigned, or of resolving them in
// a release the project does not have, named by field.
func (a *API) assignFail(w http.ResponseWriter, r *http.Request, who, field string, err error) {
	var unknown *store.UnknownReleaseError
	if errors.As(err, &unknown) {
		releases := fmt.Sprintf("/api/v1/projects/%d/releases", unknown.ProjectID)
		writeJSON(w, http.StatusBadRequest, apitypes.Error{Error: apitypes.ErrorBody{
			Code: apitypes.CodeUnknownRelease, Field: field, Project: unknown.Project,
			Message: fmt.Sprintf("%s: %s: check the name (GET %s lists the project's releases), or create the release first (POST %s)",
				field, unknown.Error(), releases, releases)}})
		return
	}
	if errors.Is(err, store.ErrNotAssignable) {
		writeError(w, http.StatusBadRequest, "bad_request",
			fmt.Sprintf("cannot assign to %s: only members of the issue's project can be assigned its issues, and admin users by an admin; add them to the project first", who))
		return
	}
	a.fail(w, r, err)
}

// wireAssignee is the assignee as Sentry shows one, or nil.
func wireAssignee(a *store.Assignee) *apitypes.Assignee {
	if a == nil {
		return nil
	}
	return &apitypes.Assignee{Type: "user", ID: a.ID, Email: a.Email, Name: a.Email}
}
