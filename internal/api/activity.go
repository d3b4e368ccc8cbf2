package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/store"
)

// activityEndpoints are the routes of an issue's activity and comments.
func (a *API) activityEndpoints() []endpoint {
	return []endpoint{
		{"GET /api/v1/issues/{issue_id}/activity", a.listActivity},
		{"POST /api/v1/issues/{issue_id}/comments", a.addComment},
		{"PATCH /api/v1/issues/{issue_id}/comments/{comment_id}", a.editComment},
		{"DELETE /api/v1/issues/{issue_id}/comments/{comment_id}", a.deleteComment},
	}
}

// listActivity answers a page of an issue's activity, newest first.
func (a *API) listActivity(w http.ResponseWriter, r *http.Request) {
	id, limit, ok := listParams(w, r, "issue_id")
	if !ok {
		return
	}
	as, next, err := a.store.ListActivity(r.Context(), viewer(r), id, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(as, wireActivity, next))
}

// addComment adds the caller's comment to an issue and emails its
// assignee, when that is someone else and the server sends email.
func (a *API) addComment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	text, ok := commentBody(w, r)
	if !ok {
		return
	}
	c, err := a.store.AddComment(r.Context(), viewer(r), id, text)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The issue as it is now: its assignee hears of the comment.
	if is, err := a.store.GetIssue(r.Context(), viewer(r), id); err == nil {
		a.svc.NotifyComment(r.Context(), actor(r), is, c, a.linkBase)
	}
	writeJSON(w, http.StatusCreated, wireActivity(c))
}

// editComment replaces the text of the caller's own comment.
func (a *API) editComment(w http.ResponseWriter, r *http.Request) {
	id, cid, ok := commentPath(w, r)
	if !ok {
		return
	}
	text, ok := commentBody(w, r)
	if !ok {
		return
	}
	c, err := a.store.EditComment(r.Context(), viewer(r), id, cid, text)
	if err != nil {
		a.commentFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireActivity(c))
}

// deleteComment deletes a comment: the caller's own, or any as an admin
// of the issue's project.
func (a *API) deleteComment(w http.ResponseWriter, r *http.Request) {
	id, cid, ok := commentPath(w, r)
	if !ok {
		return
	}
	if err := a.store.DeleteComment(r.Context(), viewer(r), id, cid); err != nil {
		a.commentFail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// commentBody reads the text of a comment's body, apitypes.Comment; on
// failure it has answered the request. Invalid UTF-8 is refused rather
// than read as U+FFFD, as encoding/json would: a comment is kept as its
// author wrote it or not at all.
func commentBody(w http.ResponseWriter, r *http.Request) (string, bool) {
	var req struct {
		Text json.RawMessage `json:"text"`
	}
	if !decodeBodyWithin(w, r, &req, maxCommentBody) {
		return "", false
	}
	var text string
	if !utf8.Valid(req.Text) {
		writeError(w, http.StatusBadRequest, "bad_request", store.InvalidTextMessage)
		return "", false
	}
	if req.Text == nil {
		// No text is empty text, which the store refuses saying so.
		return "", true
	}
	if err := json.Unmarshal(req.Text, &text); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", `send the comment as {"text": "..."}`)
		return "", false
	}
	return text, true
}

// commentPath reads the path's issue and comment IDs; on failure it has
// answered the request.
func commentPath(w http.ResponseWriter, r *http.Request) (issueID, commentID int64, ok bool) {
	if issueID, ok = pathID(w, r, "issue_id"); !ok {
		return 0, 0, false
	}
	if commentID, ok = pathID(w, r, "comment_id"); !ok {
		return 0, 0, false
	}
	return issueID, commentID, true
}

// commentFail answers err, saying who may change a comment when the
// caller may not.
func (a *API) commentFail(w http.ResponseWriter, r *http.Request, err error) {
	for _, refusal := range []error{store.ErrNotAuthor, store.ErrNotYours} {
		if errors.Is(err, refusal) {
			writeError(w, http.StatusForbidden, "forbidden", strings.TrimPrefix(refusal.Error(), store.ErrForbidden.Error()+": "))
			return
		}
	}
	a.fail(w, r, err)
}
