package dashboard

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/getflytrap/flytrap/internal/store"
)

// issueFeedbackShown is how much user feedback, newest first, the issue
// page shows; the project's feedback page lists all of it.
const issueFeedbackShown = 10

// feedbackData is the project feedback page's model.
type feedbackData struct {
	Project  store.Project
	Feedback []store.Feedback
	Error    string
	// NextURL is the next page, FirstURL the first one when this is not.
	NextURL, FirstURL string
}

func feedbackURL(projectID int64, cursor string) string {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	return projectPageURL(projectID, "feedback", q)
}

// feedbackPage lists a project's user feedback, newest first, with and
// without an associated event.
func (d *Dashboard) feedbackPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ctx, v := r.Context(), s.viewer()
	cursor := r.URL.Query().Get("cursor")
	data := feedbackData{Project: p}
	status := http.StatusOK
	fs, next, err := d.store.ListProjectFeedback(ctx, v, p.ID, cursor, store.MaxLimit)
	if errors.Is(err, store.ErrBadCursor) {
		data.Error = "That page link is not valid any more; showing the first page."
		status, cursor = http.StatusBadRequest, ""
		fs, next, err = d.store.ListProjectFeedback(ctx, v, p.ID, "", store.MaxLimit)
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Feedback = fs
	if next != "" {
		data.NextURL = feedbackURL(p.ID, next)
	}
	if cursor != "" {
		data.FirstURL = feedbackURL(p.ID, "")
	}
	d.render(w, r, status, "feedback", &view{Title: "Feedback · " + p.Name, Nav: "projects", Tab: "feedback", ProjectID: p.ID, Data: data, Manages: d.managesProject(r, s, p.ID)})
}
