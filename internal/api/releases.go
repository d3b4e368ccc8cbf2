package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/store"
)

// defaultHealthRange is the time range of release health without since:
// the 14 days the issue charts show, before until or now.
const defaultHealthRange = 14 * 24 * time.Hour

// healthFilter reads the query's environment, since and until (a look-back
// such as 14d or an RFC 3339 time, as issuefilter.ParseTime reads them);
// on failure it has answered the request.
func (a *API) healthFilter(w http.ResponseWriter, r *http.Request) (store.HealthFilter, bool) {
	q := r.URL.Query()
	f := store.HealthFilter{Environment: q.Get("environment")}
	if p := event.EnvironmentProblem(f.Environment); f.Environment != "" && p != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "environment "+p)
		return f, false
	}
	now := a.now()
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		// As the issues API reads since.
		t, err := issuefilter.ParseTime(p.name, v, now)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", err.Error())
			return f, false
		}
		*p.t = t
	}
	if q.Get("since") == "" {
		// Relative to until, so that until alone asks for the 14 days
		// before it rather than for a range that ends before it starts.
		end := f.Until
		if end.IsZero() {
			end = now
		}
		f.Since = end.Add(-defaultHealthRange)
	}
	if !f.Until.IsZero() && !f.Until.After(f.Since) {
		writeError(w, http.StatusBadRequest, "bad_request", "until must be after since")
		return f, false
	}
	return f, true
}

// listReleases answers a project's releases, newest first, each with its
// release health over the query's range.
func (a *API) listReleases(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	f, ok := a.healthFilter(w, r)
	if !ok {
		return
	}
	ctx, v := r.Context(), viewer(r)
	rs, err := a.store.ListReleases(ctx, v, pid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	hs, err := a.store.ReleaseHealth(ctx, v, pid, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	health := make(map[string]store.ReleaseHealth, len(hs))
	for _, h := range hs {
		health[h.Release] = h
	}
	out := make([]apitypes.Release, len(rs))
	for i, rel := range rs {
		out[i] = wireRelease(rel)
		if h, ok := health[rel.Version]; ok {
			wh := wireHealth(h)
			out[i].Health = &wh
		}
	}
	writeJSON(w, http.StatusOK, apitypes.List[apitypes.Release]{Data: out})
}

// getRelease answers one release with its release health over the query's
// range, in all environments and in each.
func (a *API) getRelease(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	f, ok := a.healthFilter(w, r)
	if !ok {
		return
	}
	ctx, v, version := r.Context(), viewer(r), r.PathValue("version")
	rel, err := a.store.GetRelease(ctx, v, pid, version)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f.Release = version
	all, err := a.store.ReleaseHealth(ctx, v, pid, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	f.ByEnvironment = true
	envs, err := a.store.ReleaseHealth(ctx, v, pid, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := wireRelease(rel)
	if len(all) == 1 {
		h := wireHealth(all[0])
		out.Health = &h
	}
	for _, h := range envs {
		out.Environments = append(out.Environments, wireHealth(h))
	}
	writeJSON(w, http.StatusOK, out)
}

func wireRelease(r store.Release) apitypes.Release {
	out := apitypes.Release{ProjectID: r.ProjectID, Version: r.Version, FirstSeen: r.FirstSeen,
		NewIssues: r.NewIssues, CommitCount: r.CommitCount, DeployCount: r.DeployCount}
	if !r.DateReleased.IsZero() {
		t := r.DateReleased
		out.DateReleased = &t
	}
	return out
}

func wireHealth(h store.ReleaseHealth) apitypes.ReleaseHealth {
	return apitypes.ReleaseHealth{Environment: h.Environment, Sessions: h.Sessions, Healthy: h.Healthy, Errored: h.Errored,
		Crashed: h.Crashed, Abnormal: h.Abnormal, Users: h.Users, CrashedUsers: h.CrashedUsers,
		CrashFreeSessions: h.CrashFreeSessions, CrashFreeUsers: h.CrashFreeUsers}
}

// createRelease records a release before its first event, as sentry-cli
// releases new does: 201 with the new release, or 200 with the one that
// exists, so a CI job may run it again. Any member of the project may, as
// any of them may upload its source maps.
func (a *API) createRelease(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.NewRelease
	if !decodeBody(w, r, &req) {
		return
	}
	ctx, v := r.Context(), viewer(r)
	status := http.StatusCreated
	if _, err := a.store.GetRelease(ctx, v, pid, req.Version); err == nil {
		status = http.StatusOK
	} else if !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	rel, err := a.store.CreateRelease(ctx, v, pid, req.Version, a.now())
	if err == nil && req.DateReleased != nil {
		rel, err = a.store.SetReleaseDate(ctx, v, pid, req.Version, *req.DateReleased)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, status, wireRelease(rel))
}

// patchRelease finalizes a release: date_released is when it was released.
func (a *API) patchRelease(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.ReleasePatch
	if !decodeBody(w, r, &req) {
		return
	}
	if req.DateReleased == nil || req.DateReleased.IsZero() {
		writeError(w, http.StatusBadRequest, "bad_request", "date_released is required: the time the release was finalized, in RFC 3339 (2026-12-06T18:00:00Z)")
		return
	}
	rel, err := a.store.SetReleaseDate(r.Context(), viewer(r), pid, r.PathValue("version"), *req.DateReleased)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireRelease(rel))
}

// createDeploy records a deploy of an existing release, as sentry-cli
// deploys new does.
func (a *API) createDeploy(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.NewDeploy
	if !decodeBody(w, r, &req) {
		return
	}
	dep := store.Deploy{ProjectID: pid, Version: r.PathValue("version"), Environment: req.Environment, Name: req.Name, URL: req.URL}
	if req.DateStarted != nil {
		dep.DateStarted = *req.DateStarted
	}
	if req.DateFinished != nil {
		dep.DateFinished = *req.DateFinished
	}
	dep, err := a.store.CreateDeploy(r.Context(), viewer(r), dep, a.now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, wireDeploy(dep))
}

// listDeploys answers a release's deploys, the last finished first.
func (a *API) listDeploys(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	deps, err := a.store.ListDeploys(r.Context(), viewer(r), pid, r.PathValue("version"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, apitypes.List[apitypes.Deploy]{Data: wireAll(deps, wireDeploy)})
}

func wireDeploy(d store.Deploy) apitypes.Deploy {
	out := apitypes.Deploy{ID: d.ID, ProjectID: d.ProjectID, Version: d.Version, Environment: d.Environment, Name: d.Name,
		URL: d.URL, DateFinished: d.DateFinished}
	if !d.DateStarted.IsZero() {
		t := d.DateStarted
		out.DateStarted = &t
	}
	return out
}
