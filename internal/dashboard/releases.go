package dashboard

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// healthRange is the time range of the release health the pages show:
// the 14 days of the issue charts.
const healthRange = 14 * 24 * time.Hour

// releasesData is the project releases page's model.
type releasesData struct {
	Project  store.Project
	Releases []releaseRow
}

// releaseRow is a release with its health over healthRange; Health is nil
// without sessions.
type releaseRow struct {
	store.Release
	Health *store.ReleaseHealth
}

// releaseData is a release page's model: what sentry-cli recorded of it,
// and its health over healthRange in all environments and in each.
type releaseData struct {
	Project      store.Project
	Release      store.Release
	Health       *store.ReleaseHealth
	Environments []store.ReleaseHealth
	Deploys      []store.Deploy
	Commits      []store.Commit
	// IssuesURL lists the issues with events in the release.
	IssuesURL string
}

// releaseURL is a release's page.
func releaseURL(projectID int64, version string) string {
	return "/projects/" + strconv.FormatInt(projectID, 10) + "/releases/" + url.PathEscape(version)
}

// releasesPage lists a project's releases, newest first, with their
// figures.
func (d *Dashboard) releasesPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	rs, err := d.store.ListReleases(r.Context(), s.viewer(), p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	hs, err := d.store.ReleaseHealth(r.Context(), s.viewer(), p.ID, store.HealthFilter{Since: d.now().Add(-healthRange)})
	if err != nil {
		d.fail(w, r, err)
		return
	}
	health := make(map[string]*store.ReleaseHealth, len(hs))
	for i := range hs {
		health[hs[i].Release] = &hs[i]
	}
	rows := make([]releaseRow, len(rs))
	for i, rel := range rs {
		rows[i] = releaseRow{Release: rel, Health: health[rel.Version]}
	}
	d.render(w, r, http.StatusOK, "releases", &view{Title: "Releases · " + p.Name, Nav: "projects", Tab: "releases", ProjectID: p.ID,
		Data: releasesData{Project: p, Releases: rows}, Manages: d.managesProject(r, s, p.ID)})
}

// releasePage shows a release: when it was finalized, its figures, its
// deploys and its commits.
func (d *Dashboard) releasePage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ctx, v, version := r.Context(), s.viewer(), r.PathValue("version")
	rel, err := d.store.GetRelease(ctx, v, p.ID, version)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	deps, err := d.store.ListDeploys(ctx, v, p.ID, version)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	commits, err := d.store.ListReleaseCommits(ctx, v, p.ID, version)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	f := store.HealthFilter{Release: version, Since: d.now().Add(-healthRange)}
	all, err := d.store.ReleaseHealth(ctx, v, p.ID, f)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	f.ByEnvironment = true
	envs, err := d.store.ReleaseHealth(ctx, v, p.ID, f)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := releaseData{Project: p, Release: rel, Environments: envs, Deploys: deps, Commits: commits,
		IssuesURL: projectPageURL(p.ID, "issues", url.Values{"release": {version}, "status": {"all"}})}
	if len(all) == 1 {
		data.Health = &all[0]
	}
	d.render(w, r, http.StatusOK, "release", &view{Title: "Release " + version + " · " + p.Name, Nav: "projects", Tab: "releases", ProjectID: p.ID,
		Data: data, Manages: d.managesProject(r, s, p.ID)})
}
