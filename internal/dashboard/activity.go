package dashboard

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/store"
)

// activityShown is how many entries of an issue's activity its page
// shows at once; a link leads to the next ones.
const activityShown = 50

// activityData is the Activity section of the issue page.
type activityData struct {
	Entries []store.Activity
	// MoreURL shows the older entries, "" when there are none.
	MoreURL string
	// UserID is the viewer, who may edit their own comments; Manages
	// says the viewer may delete anyone's.
	UserID  int64
	Manages bool
	// MaxComment is the most characters a comment may hold.
	MaxComment int
	// Cursor is the activity query parameter of the page shown, which
	// the edit forms send back so a refused edit shows the same page.
	Cursor string
	// Draft is a new comment the server refused, shown again in the form;
	// Edit an edit it refused, shown again in the edit form of comment
	// Edit.CommentID.
	Draft, Edit commentDraft
}

// commentDraft is the text of a refused comment and why it was refused:
// the author corrects it rather than typing it again. CommentID is the
// comment an edit was for, 0 for a new comment.
type commentDraft struct {
	CommentID   int64
	Text, Error string
}

// issueActivity loads the page of the issue's activity that starts at
// cursor ("" for the newest); keep are the page's query parameters that
// the link to the next page keeps.
func (d *Dashboard) issueActivity(r *http.Request, s *session, is store.Issue, cursor string, keep url.Values, manages bool) (activityData, error) {
	entries, next, err := d.store.ListActivity(r.Context(), s.viewer(), is.ID, cursor, activityShown)
	if err != nil {
		return activityData{}, err
	}
	a := activityData{Entries: entries, UserID: s.user.ID, Manages: manages, MaxComment: store.MaxCommentLength, Cursor: cursor}
	if next != "" {
		q := url.Values{}
		for k, v := range keep {
			q[k] = v
		}
		q.Set("activity", next)
		a.MoreURL = issueURL(is.ID) + "?" + q.Encode() + "#activity"
	}
	return a, nil
}

// commentText is the text of a comment form, its line breaks as the
// author typed them: browsers send a textarea's as CRLF.
func commentText(form url.Values) string {
	return strings.ReplaceAll(form.Get("text"), "\r\n", "\n")
}

// commentRefused goes back to the issue saying why a comment was refused,
// and reports whether err was such a refusal.
func (d *Dashboard) commentRefused(w http.ResponseWriter, r *http.Request, back string, err error) bool {
	var msg string
	switch {
	case errors.Is(err, store.ErrNotAuthor):
		msg = "Only the author of a comment can edit it."
	case errors.Is(err, store.ErrNotYours):
		msg = "Only the author of a comment or an admin of the project can delete it."
	case errors.Is(err, store.ErrInvalid):
		msg = invalidComment(err)
	default:
		return false
	}
	d.redirectError(w, r, back, msg)
	return true
}

// invalidComment is the message of a comment's text the store refused
// (err is store.ErrInvalid's).
func invalidComment(err error) string {
	reason := store.Reason(err)
	return strings.ToUpper(reason[:1]) + reason[1:] + "."
}

func (d *Dashboard) addComment(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	back := issueReturn(id, r.PostForm) + "#activity"
	text := commentText(r.PostForm)
	c, err := d.store.AddComment(r.Context(), s.viewer(), id, text)
	if errors.Is(err, store.ErrInvalid) {
		d.showDraft(w, r, s, commentDraft{Text: text, Error: invalidComment(err)})
		return
	}
	if d.commentRefused(w, r, back, err) {
		return
	}
	if err != nil {
		d.failIssue(w, r, s, id, err)
		return
	}
	// The issue as it is now: its assignee hears of the comment.
	if is, err := d.store.GetIssue(r.Context(), s.viewer(), id); err == nil {
		d.svc.NotifyComment(r.Context(), s.actor(), is, c, d.publicURL)
	}
	d.redirect(w, r, back, "Comment added.")
}

// showDraft answers a comment form the store refused with the issue page
// again, not a redirect, so the text typed is not lost: the form holds it
// with why it was refused.
func (d *Dashboard) showDraft(w http.ResponseWriter, r *http.Request, s *session, draft commentDraft) {
	q := url.Values{}
	for _, k := range []string{"event", "environment", "activity"} {
		if v := r.PostForm.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	d.showIssue(w, r, s, http.StatusBadRequest, q, &draft)
}

// commentPath reads the path's issue and comment IDs; on failure it has
// answered the request.
func (d *Dashboard) commentPath(w http.ResponseWriter, r *http.Request) (issueID, commentID int64, ok bool) {
	issueID, ok = pathID(r, "id")
	if ok {
		commentID, ok = pathID(r, "comment")
	}
	if !ok {
		d.notFound(w, r)
	}
	return issueID, commentID, ok
}

func (d *Dashboard) editComment(w http.ResponseWriter, r *http.Request, s *session) {
	id, cid, ok := d.commentPath(w, r)
	if !ok {
		return
	}
	back := issueReturn(id, r.PostForm) + "#activity-" + strconv.FormatInt(cid, 10)
	text := commentText(r.PostForm)
	_, err := d.store.EditComment(r.Context(), s.viewer(), id, cid, text)
	if errors.Is(err, store.ErrInvalid) {
		d.showDraft(w, r, s, commentDraft{CommentID: cid, Text: text, Error: invalidComment(err)})
		return
	}
	if d.commentRefused(w, r, back, err) {
		return
	}
	if err != nil {
		d.failIssue(w, r, s, id, err)
		return
	}
	d.redirect(w, r, back, "Comment edited.")
}

func (d *Dashboard) deleteComment(w http.ResponseWriter, r *http.Request, s *session) {
	id, cid, ok := d.commentPath(w, r)
	if !ok {
		return
	}
	back := issueReturn(id, r.PostForm) + "#activity"
	err := d.store.DeleteComment(r.Context(), s.viewer(), id, cid)
	if d.commentRefused(w, r, back, err) {
		return
	}
	if err != nil {
		d.failIssue(w, r, s, id, err)
		return
	}
	d.redirect(w, r, back, "Comment deleted.")
}
