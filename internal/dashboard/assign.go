package dashboard

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/getflytrap/flytrap/internal/store"
)

// Values of an assign form's assignee besides user IDs.
const (
	assignNobody = ""
	assignMe     = "me"
)

// assigneeOptions are the users an issue of project projectID may be
// assigned to in a form, besides the viewer and nobody: the project's
// members by email, and current, an admin user who is not one, so that
// the form can show who the issue is assigned to.
func (d *Dashboard) assigneeOptions(r *http.Request, s *session, projectID int64, current *store.Assignee) ([]option, error) {
	members, err := d.store.ListMembers(r.Context(), s.viewer(), projectID)
	if err != nil {
		return nil, err
	}
	opts := make([]option, 0, len(members)+1)
	listed := false
	for _, m := range members {
		opts = append(opts, option{Value: strconv.FormatInt(m.UserID, 10), Label: m.Email})
		listed = listed || current != nil && m.UserID == current.ID
	}
	if current != nil && !listed {
		opts = append(opts, option{Value: strconv.FormatInt(current.ID, 10), Label: current.Email})
	}
	return opts, nil
}

// formAssignee reads an assign form's assignee: nobody, the signed-in
// user, or a user's ID. It reports false for anything else.
func formAssignee(s *session, v string) (int64, bool) {
	switch v {
	case assignNobody:
		return 0, true
	case assignMe:
		return s.user.ID, true
	}
	id, err := strconv.ParseInt(v, 10, 64)
	return id, err == nil && id > 0
}

// notAssignable is the flash of a refused assignee.
const notAssignable = "Only members of this project can be assigned its issues, and admin users by an admin; add them to the project first."

func (d *Dashboard) assignIssue(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	back := issueReturn(id, r.PostForm)
	userID, ok := formAssignee(s, r.PostForm.Get("assignee"))
	if !ok {
		d.redirectError(w, r, back, "Choose whom to assign the issue to.")
		return
	}
	is, before, err := d.store.UpdateIssue(r.Context(), s.viewer(), id, store.IssueChange{Assign: true, AssigneeID: userID})
	if errors.Is(err, store.ErrNotAssignable) {
		d.redirectError(w, r, back, notAssignable)
		return
	}
	if err != nil {
		d.failIssue(w, r, s, id, err)
		return
	}
	d.svc.NotifyAssigned(r.Context(), s.actor(), is, before, d.publicURL)
	msg := "Issue unassigned."
	if is.AssignedTo != nil {
		msg = "Issue assigned to " + is.AssignedTo.Email + "."
	}
	d.redirect(w, r, back, msg)
}

// bulkAssign assigns the issues ids of project p as the bulk form says,
// and goes back to the list.
func (d *Dashboard) bulkAssign(w http.ResponseWriter, r *http.Request, s *session, p store.Project, ids []int64, back string) {
	userID, ok := formAssignee(s, r.PostForm.Get("assignee"))
	if !ok {
		d.redirectError(w, r, back, "Choose whom to assign the issues to.")
		return
	}
	n, err := d.store.BulkAssign(r.Context(), s.viewer(), p.ID, ids, userID)
	if d.refusedMerged(w, r, back, err) {
		return
	}
	if errors.Is(err, store.ErrNotAssignable) {
		d.redirectError(w, r, back, notAssignable)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if userID == 0 {
		d.redirect(w, r, back, plural(n, "issue", "issues")+" unassigned.")
		return
	}
	d.redirect(w, r, back, plural(n, "issue", "issues")+" assigned.")
}
