// Package api serves the REST API under /api/v1: the JSON face of the
// dashboard that the CLI and scripts use.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// Store is what the API reads and changes. Every method filters by the
// viewer, so a handler cannot leak another project's data by forgetting a
// check.
type Store interface {
	UserByAPIToken(ctx context.Context, token string) (store.User, error)
	ListProjects(ctx context.Context, v store.Viewer) ([]store.Project, error)
	GetProject(ctx context.Context, v store.Viewer, id int64) (store.Project, error)
	ListIssues(ctx context.Context, v store.Viewer, f store.IssueFilter) ([]store.Issue, string, error)
	GetIssue(ctx context.Context, v store.Viewer, id int64) (store.Issue, error)
	UpdateIssueStatus(ctx context.Context, v store.Viewer, id int64, status, resolvedInRelease string) (store.Issue, error)
	DeleteIssue(ctx context.Context, v store.Viewer, id int64) error
	ListEvents(ctx context.Context, v store.Viewer, issueID int64, cursor string, limit int) ([]store.EventRow, string, error)
	GetEvent(ctx context.Context, v store.Viewer, eventID string) (store.EventRow, error)
	LatestEvent(ctx context.Context, v store.Viewer, issueID int64) (store.EventRow, error)
	IssueHourlyCounts(ctx context.Context, v store.Viewer, issueID int64, since time.Time) ([]store.Bucket, error)
	IssueTags(ctx context.Context, v store.Viewer, issueID int64) ([]store.TagCount, error)
}

// API is the /api/v1 handler.
type API struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
	mux   *http.ServeMux
}

// New returns the /api/v1 handler. now is injectable for tests.
func New(s Store, log *slog.Logger, now func() time.Time) *API {
	if now == nil {
		now = time.Now
	}
	a := &API{store: s, log: log, now: now, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/v1/projects", a.auth(a.listProjects))
	a.mux.HandleFunc("GET /api/v1/projects/{project_id}/issues", a.auth(a.listIssues))
	a.mux.HandleFunc("GET /api/v1/issues/{issue_id}", a.auth(a.getIssue))
	a.mux.HandleFunc("PATCH /api/v1/issues/{issue_id}", a.auth(a.updateIssue))
	a.mux.HandleFunc("DELETE /api/v1/issues/{issue_id}", a.auth(a.deleteIssue))
	a.mux.HandleFunc("GET /api/v1/issues/{issue_id}/events", a.auth(a.listEvents))
	a.mux.HandleFunc("GET /api/v1/events/{event_id}", a.auth(a.getEvent))
	return a
}

// ServeHTTP routes the request. ServeMux answers unknown paths and wrong
// methods in plain text; those answers are rewritten as JSON errors so every
// response of the API has one shape.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := a.mux.Handler(r)
	if pattern != "" {
		// Handler does not fill in path values; ServeHTTP does.
		a.mux.ServeHTTP(w, r)
		return
	}
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", probe.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
		return
	}
	writeError(w, http.StatusNotFound, "not_found", "no such API endpoint: "+r.Method+" "+r.URL.Path)
}

// statusProbe records what ServeMux's built-in 404/405 handlers would send.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

type viewerKey struct{}

// auth resolves the bearer token to a viewer. Unknown and missing tokens get
// the same 401 so tokens cannot be probed.
func (a *API) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing API token: send Authorization: Bearer <token>")
			return
		}
		u, err := a.store.UserByAPIToken(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) {
				a.fail(w, r, err)
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "invalid API token")
			return
		}
		v := store.Viewer{UserID: u.ID, Admin: u.Role == store.RoleAdmin}
		next(w, r.WithContext(context.WithValue(r.Context(), viewerKey{}, v)))
	}
}

func viewer(r *http.Request) store.Viewer {
	v, _ := r.Context().Value(viewerKey{}).(store.Viewer)
	return v
}

// list is the envelope of every list response.
type list[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := a.store.ListProjects(r.Context(), viewer(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[store.Project]{Data: nonNil(ps)})
}

func (a *API) listIssues(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	v := viewer(r)
	if _, err := a.store.GetProject(r.Context(), v, pid); err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := parseIssueFilter(r.URL.Query(), a.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	f.ProjectID = pid
	issues, next, err := a.store.ListIssues(r.Context(), v, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[store.Issue]{Data: nonNil(issues), NextCursor: next})
}

// issueDetail is an issue with what its page needs in one request.
type issueDetail struct {
	store.Issue
	LatestEvent  *eventDetail     `json:"latest_event"`
	HourlyCounts []store.Bucket   `json:"hourly_counts"`
	Tags         []store.TagCount `json:"tags"`
}

func (a *API) getIssue(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	ctx, v := r.Context(), viewer(r)
	is, err := a.store.GetIssue(ctx, v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := issueDetail{Issue: is}
	if ev, err := a.store.LatestEvent(ctx, v, id); err == nil {
		d.LatestEvent = newEventDetail(ev)
	} else if !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	since := a.now().Add(-14 * 24 * time.Hour).Truncate(time.Hour)
	if d.HourlyCounts, err = a.store.IssueHourlyCounts(ctx, v, id, since); err != nil {
		a.fail(w, r, err)
		return
	}
	if d.Tags, err = a.store.IssueTags(ctx, v, id); err != nil {
		a.fail(w, r, err)
		return
	}
	d.HourlyCounts, d.Tags = nonNil(d.HourlyCounts), nonNil(d.Tags)
	writeJSON(w, http.StatusOK, d)
}

type statusChange struct {
	Status            string `json:"status"`
	ResolvedInRelease string `json:"resolved_in_release"`
}

func (a *API) updateIssue(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	var req statusChange
	if !decodeBody(w, r, &req) {
		return
	}
	switch req.Status {
	case store.StatusResolved:
	case store.StatusUnresolved, store.StatusIgnored:
		if req.ResolvedInRelease != "" {
			writeError(w, http.StatusBadRequest, "bad_request", "resolved_in_release is only valid with status \"resolved\"")
			return
		}
	default:
		writeError(w, http.StatusBadRequest, "bad_request", `status must be "resolved", "unresolved" or "ignored"`)
		return
	}
	is, err := a.store.UpdateIssueStatus(r.Context(), viewer(r), id, req.Status, req.ResolvedInRelease)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, is)
}

func (a *API) deleteIssue(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	if err := a.store.DeleteIssue(r.Context(), viewer(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// eventDetail is an event row with its full normalized payload.
type eventDetail struct {
	store.EventRow
	Event json.RawMessage `json:"event,omitempty"`
}

func newEventDetail(ev store.EventRow) *eventDetail {
	d := &eventDetail{EventRow: ev}
	if len(ev.Payload) > 0 {
		d.Event = json.RawMessage(ev.Payload)
	}
	return d
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	limit, err := parseLimit(r.URL.Query().Get("limit"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	ctx, v := r.Context(), viewer(r)
	// Resolve the issue first so that an invisible issue is a 404, not an
	// empty list that confirms it exists.
	if _, err := a.store.GetIssue(ctx, v, id); err != nil {
		a.fail(w, r, err)
		return
	}
	evs, next, err := a.store.ListEvents(ctx, v, id, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, list[store.EventRow]{Data: nonNil(evs), NextCursor: next})
}

func (a *API) getEvent(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(strings.ReplaceAll(r.PathValue("event_id"), "-", ""))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "event_id must be 32 hexadecimal characters")
		return
	}
	ev, err := a.store.GetEvent(r.Context(), viewer(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newEventDetail(ev))
}

// fail maps store errors to responses; anything unexpected is logged and
// reported without internals.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "not found")
	case errors.Is(err, store.ErrBadCursor):
		writeError(w, http.StatusBadRequest, "bad_request", "invalid cursor: pass next_cursor from a previous page unchanged")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
	default:
		if a.log != nil {
			a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, http.StatusInternalServerError, "internal", "internal error; the server log has details")
	}
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", name+" must be a positive integer")
		return 0, false
	}
	return id, true
}

const maxRequestBody = 64 << 10

func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", "request body is over 64 KiB")
			return false
		}
		writeError(w, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// nonNil makes empty lists encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
