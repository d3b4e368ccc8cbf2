package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/store"
)

// defaultFeedSince is how far back the feed reaches without since.
const defaultFeedSince = time.Hour

// maxFeedProjects bounds the project parameters, like the live stream's.
const maxFeedProjects = 100

// feed lists the events received since a time across the projects the
// caller may see (or the ones named), oldest first: what `flytrap tail`
// reads to start with recent events and to fill the gap after its stream
// broke.
func (a *API) feed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := issuefilter.CheckNUL(q, "level", "environment"); err != nil {
		writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, err.Error())
		return
	}
	// Cleaned as the issue list's parameters are: PostgreSQL refuses
	// invalid UTF-8.
	f := store.FeedFilter{Since: a.now().Add(-defaultFeedSince), Level: store.Clean(q.Get("level")),
		Environment: store.Clean(q.Get("environment")), Cursor: q.Get("cursor")}
	if s := q.Get("since"); s != "" {
		since, err := issuefilter.ParseSince(s, a.now())
		if err != nil {
			writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, err.Error())
			return
		}
		f.Since = since
	}
	var err error
	if f.Limit, err = issuefilter.ParseLimit(q.Get("limit")); err != nil {
		writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, err.Error())
		return
	}
	if len(q["project"]) > maxFeedProjects {
		writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, "at most 100 project parameters")
		return
	}
	for _, p := range q["project"] {
		pid, err := strconv.ParseInt(p, 10, 64)
		if err != nil || pid <= 0 {
			writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, "project must be a positive integer")
			return
		}
		// A project the caller may not see is a 404, not an empty feed
		// that confirms it exists.
		if _, err := a.store.GetProject(r.Context(), viewer(r), pid); err != nil {
			a.fail(w, r, err)
			return
		}
		f.ProjectIDs = append(f.ProjectIDs, pid)
	}
	evs, next, err := a.store.Feed(r.Context(), viewer(r), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(evs, wireFeedEvent, next))
}

func wireFeedEvent(fe store.FeedEvent) apitypes.FeedEvent {
	return apitypes.FeedEvent{Event: wireEvent(fe.EventRow), Culprit: fe.Culprit, IssueTitle: fe.IssueTitle, Count: fe.Count, Status: fe.Status}
}
