package artifactapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// releaseInfo is sentry-cli's ReleaseInfo, with the fields of Sentry's
// release API that Flytrap has figures for.
type releaseInfo struct {
	Version     string        `json:"version"`
	URL         *string       `json:"url"`
	DateCreated time.Time     `json:"dateCreated"`
	Released    *time.Time    `json:"dateReleased"`
	FirstEvent  *time.Time    `json:"firstEvent"`
	LastEvent   *time.Time    `json:"lastEvent"`
	NewGroups   int64         `json:"newGroups"`
	CommitCount int64         `json:"commitCount"`
	DeployCount int64         `json:"deployCount"`
	LastDeploy  *deployInfo   `json:"lastDeploy"`
	Projects    []projectInfo `json:"projects"`
}

// deployInfo is sentry-cli's Deploy, with the ID Sentry gives it.
type deployInfo struct {
	ID          string     `json:"id"`
	Environment string     `json:"environment"`
	Name        *string    `json:"name"`
	URL         *string    `json:"url"`
	Started     *time.Time `json:"dateStarted"`
	Finished    *time.Time `json:"dateFinished"`
}

func optional[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func deployInfoOf(d store.Deploy) deployInfo {
	return deployInfo{ID: strconv.FormatInt(d.ID, 10), Environment: d.Environment, Name: optional(d.Name), URL: optional(d.URL),
		Started: optional(d.DateStarted), Finished: optional(d.DateFinished)}
}

// merge adds a project's release to ri, the release as sentry-cli sees
// it across projects. Deploys and commits are recorded in each project
// of the release, so their counts are the largest, not the sum.
func (ri *releaseInfo) merge(p store.Project, rel store.Release) {
	if rel.FirstSeen.Before(ri.DateCreated) {
		ri.DateCreated = rel.FirstSeen
	}
	if !rel.DateReleased.IsZero() && (ri.Released == nil || rel.DateReleased.Before(*ri.Released)) {
		ri.Released = &rel.DateReleased
	}
	if !rel.FirstEvent.IsZero() && (ri.FirstEvent == nil || rel.FirstEvent.Before(*ri.FirstEvent)) {
		ri.FirstEvent = &rel.FirstEvent
	}
	if !rel.LastEvent.IsZero() && (ri.LastEvent == nil || rel.LastEvent.After(*ri.LastEvent)) {
		ri.LastEvent = &rel.LastEvent
	}
	ri.NewGroups += rel.NewIssues
	if ri.CommitCount == 0 {
		// The commits listed are the first project's that has any.
		ri.CommitCount = rel.CommitCount
	}
	ri.DeployCount = max(ri.DeployCount, rel.DeployCount)
	if d := rel.LastDeploy; d != nil && (ri.LastDeploy == nil || d.DateFinished.After(*ri.LastDeploy.Finished)) {
		di := deployInfoOf(*d)
		ri.LastDeploy = &di
	}
	ri.Projects = append(ri.Projects, infoOf(p))
}

// pathProjects are the projects {project} names, or every project u
// sees when the path names none.
func (h *Handler) pathProjects(w http.ResponseWriter, r *http.Request, u store.User) ([]store.Project, bool) {
	if name := r.PathValue("project"); name != "" {
		p, ok := h.project(w, r, u, name)
		return []store.Project{p}, ok
	}
	ps, err := h.store.ListProjects(r.Context(), viewer(u))
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return ps, true
}

// releases collects the releases of projects, merged by version as
// Sentry's organization-wide releases are; version filters when not
// empty.
func (h *Handler) releases(w http.ResponseWriter, r *http.Request, u store.User, projects []store.Project, version string) ([]releaseInfo, bool) {
	byVersion := map[string]*releaseInfo{}
	var order []string
	for _, p := range projects {
		var rs []store.Release
		if version != "" {
			rel, err := h.store.GetRelease(r.Context(), viewer(u), p.ID, version)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				h.fail(w, r, err)
				return nil, false
			}
			rs = []store.Release{rel}
		} else {
			var err error
			if rs, err = h.store.ListReleases(r.Context(), viewer(u), p.ID); err != nil {
				h.fail(w, r, err)
				return nil, false
			}
		}
		for _, rel := range rs {
			if event.HasControl(rel.Version) {
				// Stored before release names were checked: sentry-cli
				// would print its escape sequences to a terminal.
				continue
			}
			ri, ok := byVersion[rel.Version]
			if !ok {
				ri = &releaseInfo{Version: rel.Version, DateCreated: rel.FirstSeen, Projects: []projectInfo{}}
				byVersion[rel.Version] = ri
				order = append(order, rel.Version)
			}
			ri.merge(p, rel)
		}
	}
	out := make([]releaseInfo, 0, len(order))
	for _, v := range order {
		out = append(out, *byVersion[v])
	}
	return out, true
}

func (h *Handler) listReleases(w http.ResponseWriter, r *http.Request, u store.User) {
	ps, ok := h.pathProjects(w, r, u)
	if !ok {
		return
	}
	if rs, ok := h.releases(w, r, u, ps, ""); ok {
		writeJSON(w, http.StatusOK, rs)
	}
}

// releaseProjects are the projects u sees that have {version}; it
// answers 404 itself when there is none.
func (h *Handler) releaseProjects(w http.ResponseWriter, r *http.Request, u store.User) ([]store.Project, bool) {
	ps, err := h.store.ListProjects(r.Context(), viewer(u))
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return h.withRelease(w, r, u, ps, r.PathValue("version"))
}

// withRelease are the projects of ps that have version; it answers 404
// itself when there is none.
func (h *Handler) withRelease(w http.ResponseWriter, r *http.Request, u store.User, ps []store.Project, version string) ([]store.Project, bool) {
	ids, err := h.store.ReleaseProjectIDs(r.Context(), viewer(u), version)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	var have []store.Project
	for _, p := range ps {
		if _, found := slices.BinarySearch(ids, p.ID); found {
			have = append(have, p)
		}
	}
	if len(have) == 0 {
		writeDetail(w, http.StatusNotFound, fmt.Sprintf("release %q not found in a project you are a member of", version))
		return nil, false
	}
	return have, true
}

// writeRelease answers with {version} as it is now in projects.
func (h *Handler) writeRelease(w http.ResponseWriter, r *http.Request, u store.User, projects []store.Project, version string, status int) {
	rs, ok := h.releases(w, r, u, projects, version)
	if !ok {
		return
	}
	if len(rs) == 0 {
		writeDetail(w, http.StatusNotFound, fmt.Sprintf("release %q not found", version))
		return
	}
	// One release: its deploys are counted as listDeploys lists them,
	// one for each distinct deploy, where a list of releases takes the
	// largest project's count.
	deps, err := h.releaseDeploys(r, u, projects, version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rs[0].DeployCount = int64(len(deps))
	writeJSON(w, status, rs[0])
}

func (h *Handler) getRelease(w http.ResponseWriter, r *http.Request, u store.User) {
	if ps, ok := h.releaseProjects(w, r, u); ok {
		h.writeRelease(w, r, u, ps, r.PathValue("version"), http.StatusOK)
	}
}

// parseTime reads an optional RFC 3339 time of a request body; null and
// absent are the zero time.
func parseTime(field string, raw json.RawMessage) (time.Time, error) {
	var s *string
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	if err := json.Unmarshal(raw, &s); err == nil && s != nil {
		if t, err := time.Parse(time.RFC3339Nano, *s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, &badRequest{fmt.Sprintf("%s: want an RFC 3339 time such as 2026-12-06T13:53:26Z, not %.40s", field, raw)}
}

// badRequest is a request body whose content is refused; its message is
// the detail of the 400.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

// createRelease is sentry-cli releases new: the release in each project
// the body (or the path) names, finalized when the body has dateReleased
// (releases new --finalize).
func (h *Handler) createRelease(w http.ResponseWriter, r *http.Request, u store.User) {
	var req struct {
		Version  string            `json:"version"`
		Projects []json.RawMessage `json:"projects"`
		Released json.RawMessage   `json:"dateReleased"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	released, err := parseTime("dateReleased", req.Released)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names := []string{}
	if p := r.PathValue("project"); p != "" {
		names = append(names, p)
	}
	names = append(names, projectNames(req.Projects)...)
	if len(names) == 0 {
		writeDetail(w, http.StatusBadRequest, noProject)
		return
	}
	var projects []store.Project
	for _, name := range names {
		p, ok := h.project(w, r, u, name)
		if !ok {
			return
		}
		if _, err := h.store.CreateRelease(r.Context(), viewer(u), p.ID, req.Version, h.now()); err != nil {
			h.fail(w, r, err)
			return
		}
		if !released.IsZero() {
			if _, err := h.store.SetReleaseDate(r.Context(), viewer(u), p.ID, req.Version, released); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		projects = append(projects, p)
	}
	h.writeRelease(w, r, u, projects, req.Version, http.StatusCreated)
}

// projectNames reads a body's projects: slugs, or numeric IDs.
func projectNames(raw []json.RawMessage) []string {
	var names []string
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) != nil {
			s = strings.TrimSpace(string(r)) // a numeric ID
		}
		names = append(names, s)
	}
	return names
}

// ref is a head commit sentry-cli set-commits --commit REPO@SHA sends.
type ref struct {
	Repository string `json:"repository"`
	Commit     string `json:"commit"`
}

// commitIn is a commit sentry-cli set-commits --local or --auto sends from
// the local git tree; its patch_set is not kept.
type commitIn struct {
	ID          string          `json:"id"`
	Repository  string          `json:"repository"`
	Message     *string         `json:"message"`
	AuthorName  *string         `json:"author_name"`
	AuthorEmail *string         `json:"author_email"`
	Timestamp   json.RawMessage `json:"timestamp"`
}

// releaseUpdate is sentry-cli's UpdatedRelease. The release is the
// organization's: the update applies to every project of u's that has
// it, whatever projects the body names, as in Sentry.
type releaseUpdate struct {
	Released json.RawMessage `json:"dateReleased"`
	Refs     *[]ref          `json:"refs"`
	Commits  *[]commitIn     `json:"commits"`
}

// commits turns the body's refs or commits into what the store keeps;
// set is false when the body has neither.
func (up releaseUpdate) commits() (cs []store.Commit, set bool, err error) {
	if up.Refs != nil {
		for i, rf := range *up.Refs {
			if rf.Commit == "" || rf.Repository == "" {
				return nil, false, &badRequest{fmt.Sprintf("refs: ref %d has no commit or no repository: want REPO@SHA", i+1)}
			}
			cs = append(cs, store.Commit{ID: rf.Commit, Repository: rf.Repository})
		}
		return cs, true, nil
	}
	if up.Commits == nil {
		return nil, false, nil
	}
	for i, c := range *up.Commits {
		at, err := parseTime(fmt.Sprintf("commits: commit %d: timestamp", i+1), c.Timestamp)
		if err != nil {
			return nil, false, err
		}
		cs = append(cs, store.Commit{ID: c.ID, Repository: c.Repository, Message: deref(c.Message),
			AuthorName: deref(c.AuthorName), AuthorEmail: deref(c.AuthorEmail), Timestamp: at})
	}
	return cs, true, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// updateRelease is PUT on a release: releases finalize (dateReleased) and
// set-commits (refs, or commits).
func (h *Handler) updateRelease(w http.ResponseWriter, r *http.Request, u store.User) {
	var up releaseUpdate
	if !h.decode(w, r, &up) {
		return
	}
	released, err := parseTime("dateReleased", up.Released)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	commits, setCommits, err := up.commits()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	projects, ok := h.releaseProjects(w, r, u)
	if !ok {
		return
	}
	version := r.PathValue("version")
	if up.Refs != nil {
		if err := h.checkRefs(r, u, projects, commits); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	for _, p := range projects {
		if !released.IsZero() {
			if _, err := h.store.SetReleaseDate(r.Context(), viewer(u), p.ID, version, released); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		if setCommits {
			if err := h.store.SetReleaseCommits(r.Context(), viewer(u), p.ID, version, commits); err != nil {
				h.fail(w, r, err)
				return
			}
		}
	}
	h.writeRelease(w, r, u, projects, version, http.StatusOK)
}

// checkRefs refuses a ref to a repository that no project of the release
// has, as Sentry refuses one it has no integration for.
func (h *Handler) checkRefs(r *http.Request, u store.User, projects []store.Project, refs []store.Commit) error {
	known := map[string]bool{}
	for _, p := range projects {
		repos, err := h.store.ListRepositories(r.Context(), viewer(u), p.ID)
		if err != nil {
			return err
		}
		for _, repo := range repos {
			known[strings.ToLower(repo.Name)] = true
		}
	}
	for _, rf := range refs {
		if !known[strings.ToLower(rf.Repository)] {
			return &badRequest{fmt.Sprintf("refs: repository %q is not one of the release's projects: add it first "+
				"(POST /api/0/organizations/{org}/repos/, docs/sourcemaps.md#commits)", rf.Repository)}
		}
	}
	return nil
}

// createDeploy is sentry-cli deploys new: the deploy is recorded in each
// project of u's that has the release, or in those of them the body
// names (deploys new -p).
func (h *Handler) createDeploy(w http.ResponseWriter, r *http.Request, u store.User) {
	var req struct {
		Environment *string           `json:"environment"`
		Name        *string           `json:"name"`
		URL         *string           `json:"url"`
		Started     json.RawMessage   `json:"dateStarted"`
		Finished    json.RawMessage   `json:"dateFinished"`
		Projects    []json.RawMessage `json:"projects"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	if req.Environment == nil || *req.Environment == "" {
		writeDetail(w, http.StatusBadRequest, "request body: no environment: pass -e ENV (sentry-cli deploys new)")
		return
	}
	started, err := parseTime("dateStarted", req.Started)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	finished, err := parseTime("dateFinished", req.Finished)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	projects, ok := h.releaseProjects(w, r, u)
	if !ok {
		return
	}
	if len(req.Projects) > 0 {
		if projects, ok = h.namedAmong(w, r, u, projects, projectNames(req.Projects)); !ok {
			return
		}
	}
	// One deploy, recorded in each project: one time of receipt, so that
	// the copies finish together (without a dateFinished) and are listed
	// and counted once.
	now := h.now()
	var dep store.Deploy
	for _, p := range projects {
		d := store.Deploy{ProjectID: p.ID, Version: r.PathValue("version"), Environment: *req.Environment,
			Name: deref(req.Name), URL: deref(req.URL), DateStarted: started, DateFinished: finished}
		if dep, err = h.store.CreateDeploy(r.Context(), viewer(u), d, now); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, deployInfoOf(dep))
}

// namedAmong resolves names among u's projects and keeps those in have;
// it answers 404 itself for a name that is not one of them.
func (h *Handler) namedAmong(w http.ResponseWriter, r *http.Request, u store.User, have []store.Project, names []string) ([]store.Project, bool) {
	var out []store.Project
	for _, name := range names {
		p, ok := h.project(w, r, u, name)
		if !ok {
			return nil, false
		}
		found := false
		for _, q := range have {
			found = found || q.ID == p.ID
		}
		if !found {
			writeDetail(w, http.StatusNotFound, fmt.Sprintf("release %q not found in project %q", r.PathValue("version"), name))
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

// releaseDeploys are the deploys of version in projects, one of each: a
// deploy sentry-cli sent for several projects is recorded in each.
func (h *Handler) releaseDeploys(r *http.Request, u store.User, projects []store.Project, version string) ([]store.Deploy, error) {
	type key struct {
		env, name, url    string
		started, finished time.Time
	}
	seen := map[key]bool{}
	var all []store.Deploy
	for _, p := range projects {
		deps, err := h.store.ListDeploys(r.Context(), viewer(u), p.ID, version)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			k := key{d.Environment, d.Name, d.URL, d.DateStarted, d.DateFinished}
			if !seen[k] {
				seen[k] = true
				all = append(all, d)
			}
		}
	}
	return all, nil
}

// listDeploys is sentry-cli deploys list: the deploys of the release in
// u's projects, the last finished first. One deploy recorded in several
// projects is listed once.
func (h *Handler) listDeploys(w http.ResponseWriter, r *http.Request, u store.User) {
	projects, ok := h.releaseProjects(w, r, u)
	if !ok {
		return
	}
	all, err := h.releaseDeploys(r, u, projects, r.PathValue("version"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sortDeploys(all)
	out := make([]deployInfo, 0, len(all))
	for _, d := range all {
		out = append(out, deployInfoOf(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// sortDeploys puts the last finished first.
func sortDeploys(deps []store.Deploy) {
	slices.SortFunc(deps, func(a, b store.Deploy) int {
		if c := b.DateFinished.Compare(a.DateFinished); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
}

// commitInfo is a commit as Sentry's release commits API shows it
// (releases info --show-commits reads the id).
type commitInfo struct {
	ID          string     `json:"id"`
	Message     *string    `json:"message"`
	DateCreated *time.Time `json:"dateCreated"`
	Author      *struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"author"`
	Repository string `json:"repository"`
}

// listCommits lists the commits of the release in the first of u's
// projects that has any: set-commits records the same ones in each.
func (h *Handler) listCommits(w http.ResponseWriter, r *http.Request, u store.User) {
	projects, ok := h.releaseProjects(w, r, u)
	if !ok {
		return
	}
	out := []commitInfo{}
	for _, p := range projects {
		cs, err := h.store.ListReleaseCommits(r.Context(), viewer(u), p.ID, r.PathValue("version"))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, c := range cs {
			ci := commitInfo{ID: c.ID, Message: optional(c.Message), DateCreated: optional(c.Timestamp), Repository: c.Repository}
			if c.AuthorName != "" || c.AuthorEmail != "" {
				ci.Author = &struct {
					Name  string `json:"name"`
					Email string `json:"email"`
				}{c.AuthorName, c.AuthorEmail}
			}
			out = append(out, ci)
		}
		if len(out) > 0 {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// previousWithCommits tells set-commits --local where the release's
// history starts: the release with commits first seen last before it, in
// the first of u's projects that has one, with its newest commit as
// lastCommit; {} when there is none, and sentry-cli then reads
// --initial-depth commits (20).
func (h *Handler) previousWithCommits(w http.ResponseWriter, r *http.Request, u store.User) {
	projects, ok := h.releaseProjects(w, r, u)
	if !ok {
		return
	}
	for _, p := range projects {
		prev, c, err := h.store.PreviousCommit(r.Context(), viewer(u), p.ID, r.PathValue("version"))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"version": prev.Version, "dateCreated": prev.FirstSeen,
			"projects": []projectInfo{infoOf(p)}, "lastCommit": map[string]string{"id": c.ID}})
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// repoProvider is the provider Flytrap names for its repositories.
// sentry-cli set-commits --auto resolves heads only for git hosting
// providers it knows; for any other it finds no head and reads the
// commits from the local git tree instead, which Flytrap can store.
var repoProvider = map[string]string{"id": "flytrap", "name": "Flytrap"}

// repoInfo is sentry-cli's Repo.
type repoInfo struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	URL         *string           `json:"url"`
	Provider    map[string]string `json:"provider"`
	Status      string            `json:"status"`
	DateCreated time.Time         `json:"dateCreated"`
}

// listRepos is what set-commits reads first: the repositories of u's
// projects, each name once. sentry-cli reads an empty list as no
// repository configured and sets commits from the local git tree.
func (h *Handler) listRepos(w http.ResponseWriter, r *http.Request, u store.User) {
	ps, err := h.store.ListProjects(r.Context(), viewer(u))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	seen := map[string]bool{}
	out := []repoInfo{}
	for _, p := range ps {
		repos, err := h.store.ListRepositories(r.Context(), viewer(u), p.ID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		for _, repo := range repos {
			if !seen[repo.Name] {
				seen[repo.Name] = true
				out = append(out, repoInfo{ID: repo.Name, Name: repo.Name, Provider: repoProvider, Status: "active", DateCreated: repo.CreatedAt})
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// addRepo adds a repository to the projects the body names, so that
// set-commits --commit REPO@SHA may name it: {"name": "owner/repo",
// "projects": ["web"]}.
func (h *Handler) addRepo(w http.ResponseWriter, r *http.Request, u store.User) {
	var req struct {
		Name     string            `json:"name"`
		Projects []json.RawMessage `json:"projects"`
	}
	if !h.decode(w, r, &req) {
		return
	}
	if len(req.Projects) == 0 {
		writeDetail(w, http.StatusBadRequest, `no project: name the projects the repository is for, as {"name": "owner/repo", "projects": ["web"]}`)
		return
	}
	var repo store.Repository
	for _, name := range projectNames(req.Projects) {
		p, ok := h.project(w, r, u, name)
		if !ok {
			return
		}
		var err error
		if repo, err = h.store.AddRepository(r.Context(), viewer(u), p.ID, req.Name, h.now()); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusCreated, repoInfo{ID: repo.Name, Name: repo.Name, Provider: repoProvider, Status: "active", DateCreated: repo.CreatedAt})
}
