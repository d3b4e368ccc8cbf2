package dashboard

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/getflytrap/flytrap/internal/store"
)

// releasesData is the project releases page's model.
type releasesData struct {
	Project  store.Project
	Releases []store.Release
}

// releaseData is a release page's model: what sentry-cli recorded of it.
type releaseData struct {
	Project store.Project
	Release store.Release
	Deploys []store.Deploy
	Commits []store.Commit
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
	d.render(w, r, http.StatusOK, "releases", &view{Title: "Releases · " + p.Name, Nav: "projects", Tab: "releases", ProjectID: p.ID,
		Data: releasesData{Project: p, Releases: rs}, Manages: d.managesProject(r, s, p.ID)})
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
	data := releaseData{Project: p, Release: rel, Deploys: deps, Commits: commits,
		IssuesURL: projectPageURL(p.ID, "issues", url.Values{"release": {version}, "status": {"all"}})}
	d.render(w, r, http.StatusOK, "release", &view{Title: "Release " + version + " · " + p.Name, Nav: "projects", Tab: "releases", ProjectID: p.ID,
		Data: data, Manages: d.managesProject(r, s, p.ID)})
}
