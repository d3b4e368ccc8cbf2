package api

import (
	"net/http"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/inbound"
)

func (a *API) getFilters(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	s, err := a.store.ProjectFilters(r.Context(), viewer(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeFilters(w, r, id, s)
}

// writeFilters answers with a project's filters and their last day's
// counts.
func (a *API) writeFilters(w http.ResponseWriter, r *http.Request, id int64, s inbound.Settings) {
	counts, err := a.store.FilteredSince(r.Context(), viewer(r), id, a.now().Add(-24*time.Hour))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := apitypes.InboundFilters{BrowserExtensions: s.BrowserExtensions, Localhost: s.Localhost, LegacyBrowsers: s.LegacyBrowsers,
		WebCrawlers: s.WebCrawlers, ErrorMessages: s.ErrorMessages, Releases: s.Releases, FilteredLast24h: map[string]int64{}}
	for _, reason := range inbound.Reasons {
		out.FilteredLast24h[string(reason)] = counts[reason]
	}
	writeJSON(w, http.StatusOK, out)
}

// patchFilters changes a project's inbound filters; its admins only.
func (a *API) patchFilters(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.InboundFiltersPatch
	if !decodeBody(w, r, &req) {
		return
	}
	if req == (apitypes.InboundFiltersPatch{}) {
		writeError(w, http.StatusBadRequest, "bad_request",
			"nothing to change: send browser_extensions, localhost, legacy_browsers, web_crawlers, error_messages or releases")
		return
	}
	ctx, v := r.Context(), viewer(r)
	s, err := a.store.ProjectFilters(ctx, v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if req.BrowserExtensions != nil {
		s.BrowserExtensions = *req.BrowserExtensions
	}
	if req.Localhost != nil {
		s.Localhost = *req.Localhost
	}
	if req.LegacyBrowsers != nil {
		s.LegacyBrowsers = *req.LegacyBrowsers
	}
	if req.WebCrawlers != nil {
		s.WebCrawlers = *req.WebCrawlers
	}
	if req.ErrorMessages != nil {
		s.ErrorMessages = *req.ErrorMessages
	}
	if req.Releases != nil {
		s.Releases = *req.Releases
	}
	if s, err = a.store.SetProjectFilters(ctx, v, id, s); err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeFilters(w, r, id, s)
}
