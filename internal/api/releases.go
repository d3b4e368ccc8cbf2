package api

import (
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
