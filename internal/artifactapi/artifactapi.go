// Package artifactapi serves the part of Sentry's web API that sentry-cli
// (>= 2.15) and `flytrap sourcemaps upload` use to upload source maps:
// chunk-upload options and chunks, artifact-bundle assembly, and releases.
// It also records what sentry-cli's release steps send: finalization,
// deploys and commits (releases.go). Routes live under /api/0/, which
// ingest's /api/ catch-all would otherwise take; callers authenticate
// with a Flytrap API token as `Authorization: Bearer`, like /api/v1.
// Flytrap has one organization, so any {org} slug is accepted; {project}
// is a project's name, its name as a slug, or its ID.
package artifactapi

import (
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-version"
	"golang.org/x/time/rate"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/authheader"
	"github.com/getflytrap/flytrap/internal/bodydeadline"
	"github.com/getflytrap/flytrap/internal/projectref"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// Store is what the endpoints read and change; *store.DB implements it.
type Store interface {
	// DiskFull is store.DB's: whether err means its disk is full.
	DiskFull(err error) bool
	TokenOwner(ctx context.Context, token string) (store.User, store.APIToken, error)
	ListProjects(ctx context.Context, v store.Viewer) ([]store.Project, error)
	CreateRelease(ctx context.Context, v store.Viewer, projectID int64, version string, now time.Time) (store.Release, error)
	GetRelease(ctx context.Context, v store.Viewer, projectID int64, version string) (store.Release, error)
	ReleaseProjectIDs(ctx context.Context, v store.Viewer, version string) ([]int64, error)
	ListReleases(ctx context.Context, v store.Viewer, projectID int64) ([]store.Release, error)
	DeleteReleases(ctx context.Context, v store.Viewer, projectIDs []int64, version string) error
	SetReleaseDate(ctx context.Context, v store.Viewer, projectID int64, version string, released time.Time) (store.Release, error)
	CreateDeploy(ctx context.Context, v store.Viewer, d store.Deploy, now time.Time) (store.Deploy, error)
	ListDeploys(ctx context.Context, v store.Viewer, projectID int64, version string) ([]store.Deploy, error)
	SetReleaseCommits(ctx context.Context, v store.Viewer, projectID int64, version string, commits []store.Commit) error
	ListReleaseCommits(ctx context.Context, v store.Viewer, projectID int64, version string) ([]store.Commit, error)
	PreviousCommit(ctx context.Context, v store.Viewer, projectID int64, version string) (store.Release, store.Commit, error)
	AddRepository(ctx context.Context, v store.Viewer, projectID int64, name string, now time.Time) (store.Repository, error)
	ListRepositories(ctx context.Context, v store.Viewer, projectID int64) ([]store.Repository, error)
}

// Artifacts is the upload side of the artifact store; *artifact.Store
// implements it.
type Artifacts interface {
	SaveChunk(ctx context.Context, userID int64, checksum string, data []byte) error
	ChunksMissing(ctx context.Context, userID int64, checksums []string) ([]string, error)
	SaveReleaseFile(ctx context.Context, projectID int64, release, dist string, f artifact.BundleFile, body io.ReaderAt, size int64, charge func(n int64) error) (store.ArtifactBundle, error)
	Assemble(ctx context.Context, r artifact.AssembleRequest) (artifact.AssembleResult, error)
	Limits() artifact.Limits
}

// maxJSONBody bounds the JSON requests (assemble lists up to a few
// hundred chunk checksums; releases are small).
const maxJSONBody = 1 << 20

// ChunkQuota bounds the bytes of new chunks (and legacy release files) one
// user may upload: Bytes at once, refilled at Bytes per Per. A chunk lives until it is an hour old
// and the hourly artifact-retention job runs (docs/sourcemaps.md#storage),
// so one user's chunks on disk stay under about 3 × Bytes, however fast
// they upload.
type ChunkQuota struct {
	Bytes int64
	Per   time.Duration
}

// DefaultChunkQuota lets a user upload two bundles of the largest size an
// hour without waiting (a CI pipeline uploads each build's maps once;
// chunks it uploaded in the last hour are not sent again), and holds one
// who uploads junk to 200 MiB an hour.
var DefaultChunkQuota = ChunkQuota{Bytes: 2 * artifact.DefaultLimits.MaxBundleBytes, Per: time.Hour}

// Handler serves the endpoints.
type Handler struct {
	store     Store
	artifacts Artifacts
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux

	quota ChunkQuota
	// mu guards chunkBudgets: one token bucket of chunk bytes per user.
	// It holds an entry per user who uploaded chunks since the process
	// started; only admins create users, so it stays small.
	mu           sync.Mutex
	chunkBudgets map[int64]*rate.Limiter
	// fileSlots admits releaseFileSlots legacy release-file uploads at
	// once (see uploadReleaseFile); one waits up to fileWait for a slot.
	fileSlots chan struct{}
	fileWait  time.Duration
	// uploadRate is the bytes per second an authenticated request body
	// must keep up (bodydeadline.Set).
	uploadRate int64
}

// Legacy release-file uploads under way at once, each spooling up to
// MaxFileBytes to a temporary file before it is checked (one at a time,
// with assemblies) and stored; an upload waits up to releaseFileWait for
// a slot, then is answered 429 with Retry-After.
const (
	releaseFileSlots = 2
	releaseFileWait  = 30 * time.Second
)

// Prefix is the path every route of the Handler starts with.
const Prefix = "/api/0/"

// New returns the handler; now is injectable for tests.
func New(s Store, a Artifacts, log *slog.Logger, now func() time.Time) *Handler {
	if now == nil {
		now = time.Now
	}
	h := &Handler{store: s, artifacts: a, log: log, now: now, mux: http.NewServeMux(),
		quota: DefaultChunkQuota, chunkBudgets: map[int64]*rate.Limiter{}, fileSlots: make(chan struct{}, releaseFileSlots), fileWait: releaseFileWait,
		uploadRate: bodydeadline.DefaultUploadRate}
	// {$}: each pattern matches its path exactly, not the paths below it.
	for pattern, fn := range map[string]func(http.ResponseWriter, *http.Request, store.User){
		"GET /api/0/{$}": h.authInfo,
		"GET /api/0/organizations/{org}/chunk-upload/{$}":                             h.chunkOptions,
		"POST /api/0/organizations/{org}/chunk-upload/{$}":                            h.uploadChunks,
		"POST /api/0/organizations/{org}/artifactbundle/assemble/{$}":                 h.assemble,
		"POST /api/0/organizations/{org}/releases/{version}/assemble/{$}":             h.assembleRelease,
		"GET /api/0/organizations/{org}/projects/{$}":                                 h.listProjects,
		"GET /api/0/organizations/{org}/releases/{$}":                                 h.listReleases,
		"POST /api/0/organizations/{org}/releases/{$}":                                h.createRelease,
		"GET /api/0/organizations/{org}/releases/{version}/{$}":                       h.getRelease,
		"PUT /api/0/organizations/{org}/releases/{version}/{$}":                       h.updateRelease,
		"DELETE /api/0/organizations/{org}/releases/{version}/{$}":                    h.deleteRelease,
		"GET /api/0/organizations/{org}/releases/{version}/deploys/{$}":               h.listDeploys,
		"POST /api/0/organizations/{org}/releases/{version}/deploys/{$}":              h.createDeploy,
		"GET /api/0/organizations/{org}/releases/{version}/commits/{$}":               h.listCommits,
		"GET /api/0/organizations/{org}/releases/{version}/previous-with-commits/{$}": h.previousWithCommits,
		"GET /api/0/organizations/{org}/repos/{$}":                                    h.listRepos,
		"POST /api/0/organizations/{org}/repos/{$}":                                   h.addRepo,
		"GET /api/0/projects/{org}/{project}/releases/{$}":                            h.listReleases,
		"POST /api/0/projects/{org}/{project}/releases/{$}":                           h.createRelease,
		"POST /api/0/projects/{org}/{project}/releases/{version}/files/{$}":           h.uploadReleaseFile,
		"POST /api/0/organizations/{org}/releases/{version}/files/{$}":                h.uploadReleaseFileWithoutProject,
		"DELETE /api/0/projects/{org}/{project}/releases/{version}/{$}":               h.deleteRelease,
	} {
		h.mux.Handle(pattern, h.auth(fn))
	}
	return h
}

// WithChunkQuota replaces DefaultChunkQuota; a quota below one chunk is
// raised to one chunk, so every upload sentry-cli makes can pass. It
// returns h, and must be called before h serves.
func (h *Handler) WithChunkQuota(q ChunkQuota) *Handler {
	q.Bytes = max(q.Bytes, artifact.ChunkSize)
	if q.Per <= 0 {
		q.Per = time.Hour
	}
	h.quota = q
	return h
}

// WithUploadRate makes an authenticated request's body keep up rate bytes
// a second (after bodydeadline.DefaultGrace) instead of
// bodydeadline.DefaultUploadRate; 0 keeps the default. It returns h, and
// must be called before h serves.
func (h *Handler) WithUploadRate(rate int64) *Handler {
	if rate > 0 {
		h.uploadRate = rate
	}
	return h
}

// ServeHTTP routes the request; unknown routes get Sentry's error shape.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := h.mux.Handler(r); pattern == "" {
		// Escaped, as the mux matches: a version with a %2F is one
		// segment.
		if detail := unserved(r.URL.EscapedPath()); detail != "" {
			// sentry-cli turns a 404 under a project's path into "Project
			// not found", and under a release's into "Release not found";
			// another status reaches the user with the detail.
			writeDetail(w, http.StatusNotImplemented, detail)
			return
		}
		writeDetail(w, http.StatusNotFound, "Flytrap does not serve "+r.Method+" "+r.URL.Path+
			": it implements the source map upload and release endpoints of sentry-cli (docs/sourcemaps.md)")
		return
	}
	h.mux.ServeHTTP(w, r)
}

// unserved says why Flytrap does not serve the sentry-cli commands a path
// belongs to, or returns "" for any other path: the issues and events
// commands (api/0/projects/{org}/{project}/issues/ and events/,
// api/0/organizations/{org}/issues/) with sourcemaps explain, which
// reads events/ first (2.x; 3.x has no explain), and those that list,
// read or delete a release's files (api/0/projects/{org}/{project}/releases/
// {version}/files/ and api/0/organizations/{org}/releases/{version}/
// files/, but the upload of one, which is routed). Uploads need no list
// of the release's files: sentry-cli 2.x lists them only before
// uploading files one at a time, which it does only when chunk-upload
// does not accept release_files, and 1.x and 2.0 to 2.14 only to skip
// files already uploaded, uploading them all when the list is refused.
func unserved(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	issues := "Flytrap does not serve sentry-cli's issues commands: use `flytrap issues list`, `view`, `resolve` or `ignore` (docs/cli.md)"
	switch {
	case len(parts) >= 6 && parts[2] == "projects" && parts[5] == "issues",
		len(parts) >= 5 && parts[2] == "organizations" && parts[4] == "issues":
		return issues
	case len(parts) >= 6 && parts[2] == "projects" && parts[5] == "events":
		return "Flytrap does not serve sentry-cli's events commands or sourcemaps explain: use `flytrap issues list` and `view` (docs/cli.md); " +
			"a frame that could not be mapped says why on its issue's page (docs/sourcemaps.md#symbolication)"
	case len(parts) >= 8 && parts[2] == "projects" && parts[5] == "releases" && parts[7] == "files",
		len(parts) >= 7 && parts[2] == "organizations" && parts[4] == "releases" && parts[6] == "files":
		return "Flytrap does not serve sentry-cli's releases files list and delete: uploads need no list of a release's files, " +
			"and `sentry-cli releases delete VERSION` deletes them with the release (docs/sourcemaps.md)"
	}
	return ""
}

// auth resolves the bearer token to a user, as /api/v1 does.
func (h *Handler) auth(next func(http.ResponseWriter, *http.Request, store.User)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := authheader.Bearer(r.Header.Get("Authorization"))
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
			writeDetail(w, http.StatusUnauthorized, "missing API token: pass a Flytrap API token (--auth-token, SENTRY_AUTH_TOKEN or FLYTRAP_TOKEN)")
			return
		}
		u, tok, err := h.store.TokenOwner(r.Context(), token)
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap", error="invalid_token"`)
			writeDetail(w, http.StatusUnauthorized, "invalid API token: create one under Settings, API tokens")
			return
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !store.ScopePermits(tok.Scope, r.Method) {
			writeDetail(w, http.StatusForbidden, "this API token is read-only: uploads need a token with the full scope (flytrap tokens create --scope full)")
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			// Held to the anonymous form's rate, a CI runner's upload
			// over a slow link was cut off; a token's is bounded by its
			// size limits instead.
			bodydeadline.Set(w, r, bodydeadline.DefaultGrace, h.uploadRate)
		}
		next(w, r, u)
	})
}

func viewer(u store.User) store.Viewer { return service.ActorOf(u).Viewer() }

// authInfo is what `sentry-cli info` checks a token with. The scopes are
// what a Flytrap token allows here: releases and source maps of the
// user's projects.
func (h *Handler) authInfo(w http.ResponseWriter, _ *http.Request, u store.User) {
	writeJSON(w, http.StatusOK, map[string]any{
		"user": map[string]string{"id": strconv.FormatInt(u.ID, 10), "email": u.Email},
		"auth": map[string][]string{"scopes": {"org:read", "project:read", "project:releases"}},
	})
}

// chunkOptions tells sentry-cli how to upload: chunk sizes, gzip, and
// what it may send as chunks. sentry-cli 2.x uploads source maps as
// chunks only when accept has release_files, and then assembles them as
// an artifact bundle when it also has artifact_bundles (or _v2, which
// asks first which chunks are missing) and a project is given; without
// release_files it falls back to uploading release files one by one,
// which needs a release and starts by listing the release's files,
// which Flytrap does not serve. 3.x needs only artifact_bundles.
func (h *Handler) chunkOptions(w http.ResponseWriter, r *http.Request, _ store.User) {
	writeJSON(w, http.StatusOK, map[string]any{
		"url":              chunkURL(r),
		"chunkSize":        artifact.ChunkSize,
		"chunksPerRequest": artifact.ChunksPerRequest,
		"maxRequestSize":   artifact.MaxRequestSize,
		"maxFileSize":      h.artifacts.Limits().MaxBundleBytes,
		"maxWait":          60,
		"concurrency":      4,
		"hashAlgorithm":    "sha1",
		"compression":      []string{"gzip"},
		"accept":           []string{"release_files", "artifact_bundles", "artifact_bundles_v2"},
	})
}

// chunkURL is where sentry-cli is told to post chunks, which it does with
// its token whatever the URL's host and scheme. To sentry-cli 1.70.1 and
// later it is relative, as Sentry answers them: sentry-cli puts it under
// the /api/0/ of the server it was pointed at, so the token goes where
// the user sent it. An absolute URL is made of the request's scheme and
// Host: behind a proxy that ends TLS (CloudFront, which reaches the
// dashboard over HTTP) it said http://, so the token crossed the internet
// in clear text and the upload failed on the proxy's redirect to https.
// Older versions need it absolute and still get that.
func chunkURL(r *http.Request) string {
	if relativeChunkURL(r.UserAgent()) {
		return strings.TrimPrefix(r.URL.EscapedPath(), Prefix)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// relativeChunkURL reports whether the User-Agent is sentry-cli's
// ("sentry-cli/2.58.6", a CI's name after a space) of version 1.70.1 or
// later, which reads a relative chunk-upload URL.
func relativeChunkURL(userAgent string) bool {
	v, ok := strings.CutPrefix(userAgent, "sentry-cli/")
	if !ok {
		return false
	}
	v, _, _ = strings.Cut(v, " ")
	cli, err := version.NewVersion(v)
	return err == nil && cli.Core().GreaterThanOrEqual(relativeChunkURLSince)
}

// relativeChunkURLSince is the first sentry-cli that reads a relative
// chunk-upload URL.
var relativeChunkURLSince = version.Must(version.NewVersion("1.70.1"))

// uploadChunks stores the chunks of a multipart request: parts named file
// (or file_gzip, gzipped), each with its SHA-1 as file name.
//
// Chunks are not tied to a project until they are assembled, so two
// checks keep a user from filling the disk with chunks never assembled:
// only a user who may upload to some project (a member of one, as
// assemble requires, or an admin) may upload chunks, and each user's new
// chunk bytes are bounded by h.quota. A chunk the user uploaded before is
// free; one only another user uploaded is charged, though its bytes are
// stored once, because a free upload would tell the user that someone
// else has the chunk (see artifact.Store.ChunksMissing).
func (h *Handler) uploadChunks(w http.ResponseWriter, r *http.Request, u store.User) {
	ps, err := h.store.ListProjects(r.Context(), viewer(u))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(ps) == 0 {
		writeDetail(w, http.StatusForbidden, "chunk upload: you are not a member of any project, so there is nowhere to upload source maps to; "+
			"ask an admin of the project to add you (flytrap members add PROJECT EMAIL)")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, artifact.MaxRequestSize+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		writeDetail(w, http.StatusBadRequest, "chunk upload: want a multipart/form-data body: "+err.Error())
		return
	}
	n := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			h.badBody(w, "chunk upload", err)
			return
		}
		if n++; n > artifact.ChunksPerRequest {
			writeDetail(w, http.StatusBadRequest, fmt.Sprintf("chunk upload: more than %d chunks in one request", artifact.ChunksPerRequest))
			return
		}
		data, err := readChunk(part)
		if err != nil {
			h.badBody(w, "chunk "+part.FileName(), err)
			return
		}
		missing, err := h.artifacts.ChunksMissing(r.Context(), u.ID, []string{part.FileName()})
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if len(missing) > 0 {
			if wait, ok := h.chargeChunk(u.ID, len(data)); !ok {
				h.overQuota(w, "chunk upload", wait)
				return
			}
		}
		if err := h.artifacts.SaveChunk(r.Context(), u.ID, part.FileName(), data); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
}

// chargeChunk takes n bytes from the user's chunk budget. When there are
// not enough it takes nothing and returns how long until there are.
func (h *Handler) chargeChunk(userID int64, n int) (time.Duration, bool) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	lim, ok := h.chunkBudgets[userID]
	if !ok {
		perSecond := float64(h.quota.Bytes) / h.quota.Per.Seconds()
		lim = rate.NewLimiter(rate.Limit(perSecond), int(h.quota.Bytes))
		h.chunkBudgets[userID] = lim
	}
	if lim.AllowN(now, n) {
		return 0, true
	}
	short := float64(n) - lim.TokensAt(now)
	return time.Duration(short / float64(lim.Limit()) * float64(time.Second)), false
}

// overQuota answers an upload (what) over the user's quota: 429, which
// sentry-cli does not retry but prints with its detail, and Retry-After.
func (h *Handler) overQuota(w http.ResponseWriter, what string, wait time.Duration) {
	secs := max(1, int64((wait+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	writeDetail(w, http.StatusTooManyRequests, fmt.Sprintf(
		"%s: you uploaded more than your limit of %d MiB of new chunks and release files per %s; try again in %s (docs/limits.md#source-map-upload-limits)",
		what, h.quota.Bytes>>20, shortDuration(h.quota.Per), shortDuration(time.Duration(secs)*time.Second)))
}

// overQuotaError is a release file the user's quota has no room for yet.
type overQuotaError struct{ wait time.Duration }

func (e *overQuotaError) Error() string { return "over the upload quota for " + e.wait.String() }

// shortDuration writes d as 1h or 13m20s rather than 1h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// readChunk reads one part, gunzipping file_gzip parts, up to ChunkSize.
func readChunk(part *multipart.Part) ([]byte, error) {
	var body io.Reader = part
	switch part.FormName() {
	case "file":
	case "file_gzip":
		zr, err := gzip.NewReader(part)
		if err != nil {
			return nil, &artifact.BundleError{Msg: "not gzip: " + err.Error()}
		}
		defer zr.Close()
		body = zr
	default:
		return nil, &artifact.BundleError{Msg: fmt.Sprintf("unexpected form field %q: want file or file_gzip", part.FormName())}
	}
	data, err := io.ReadAll(io.LimitReader(body, artifact.ChunkSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > artifact.ChunkSize {
		return nil, &artifact.BundleError{Msg: fmt.Sprintf("more than the chunk size of %d bytes", artifact.ChunkSize)}
	}
	return data, nil
}

// assembleRequest is sentry-cli's ChunkedArtifactRequest.
type assembleRequest struct {
	Checksum string   `json:"checksum"`
	Chunks   []string `json:"chunks"`
	Projects []string `json:"projects"`
	Version  string   `json:"version"`
	Dist     string   `json:"dist"`
}

// assemble joins uploaded chunks into a bundle. The first call of an
// upload answers which chunks are missing; once none is, the bundle is
// checked and stored before the answer, so the state is "ok" or a 400
// whose detail sentry-cli prints.
func (h *Handler) assemble(w http.ResponseWriter, r *http.Request, u store.User) {
	var req assembleRequest
	if !h.decode(w, r, &req) {
		return
	}
	if len(req.Projects) == 0 {
		writeDetail(w, http.StatusBadRequest, noProject)
		return
	}
	var ids []int64
	for _, name := range req.Projects {
		// Not 404: sentry-cli reads a 404 from this endpoint as "Release
		// not found", and the user never learns that the project name
		// (SENTRY_PROJECT, --project) is what is wrong.
		p, ok := h.resolveProject(w, r, u, name, http.StatusBadRequest)
		if !ok {
			return
		}
		ids = append(ids, p.ID)
	}
	h.assembleInto(w, r, artifact.AssembleRequest{UserID: u.ID, ProjectIDs: ids, Checksum: req.Checksum,
		Chunks: req.Chunks, Release: req.Version, Dist: req.Dist})
}

// assembleRelease joins uploaded chunks into a bundle of the release in
// the path, as sentry-cli before 2.15 uploads source maps (and 2.x when
// the server offers no artifact bundles): the body names no project, but
// the bundle's manifest names the --project it was given, if any, and the
// bundle goes to that project, which must have the release. A manifest
// naming none sends the bundle, as Sentry files it under the release, to
// each project of u's that has the release. Either way, with the dist its
// manifest names; 404, which sentry-cli reads as "Release not found",
// when no project of u's has the release.
func (h *Handler) assembleRelease(w http.ResponseWriter, r *http.Request, u store.User) {
	var req assembleRequest
	if !h.decode(w, r, &req) {
		return
	}
	ps, err := h.store.ListProjects(r.Context(), viewer(u))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	version := r.PathValue("version")
	have, ok := h.withRelease(w, r, u, ps, version)
	if !ok {
		return
	}
	ids := make([]int64, len(have))
	for i, p := range have {
		ids[i] = p.ID
	}
	h.assembleInto(w, r, artifact.AssembleRequest{UserID: u.ID, ProjectIDs: ids, Checksum: req.Checksum,
		Chunks: req.Chunks, Release: version, ReleaseBundle: true, ManifestProject: func(name string) (int64, error) {
			return manifestProject(ps, ids, name, version)
		}})
}

// manifestProject resolves the project a bundle's manifest names among
// visible, the projects the uploader sees, and refuses one that is not
// among have, those with the release.
func manifestProject(visible []store.Project, have []int64, name, version string) (int64, error) {
	key := func(p store.Project) (int64, string) { return p.ID, p.Name }
	switch m := projectref.Resolve(visible, name, key); {
	case len(m) == 0:
		return 0, &badRequest{fmt.Sprintf("the bundle's manifest names project %q, which is not a project you are a member of: "+
			"pass --project with the name, slug or ID of one of yours", name)}
	case len(m) > 1:
		return 0, &badRequest{fmt.Sprintf("the bundle's manifest names project %q, which may mean %s: pass --project with the exact name or the ID",
			name, projectref.Describe(m, key))}
	case !slices.Contains(have, m[0].ID):
		return 0, &badRequest{fmt.Sprintf("project %q has no release %q: create it there first (sentry-cli releases new -p %s %s), then upload again",
			m[0].Name, version, projectref.Slug(m[0].Name), version)}
	default:
		return m[0].ID, nil
	}
}

// assembleInto assembles a bundle and answers as sentry-cli expects: its
// state and the chunks still missing.
func (h *Handler) assembleInto(w http.ResponseWriter, r *http.Request, req artifact.AssembleRequest) {
	res, err := h.artifacts.Assemble(r.Context(), req)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if res.State == "ok" && res.Files > 0 {
		h.log.Info("artifact bundle stored", "checksum", req.Checksum, "files", res.Files, "projects", req.ProjectIDs, "release", req.Release)
	}
	writeJSON(w, http.StatusOK, map[string]any{"state": res.State, "missingChunks": res.Missing, "detail": nil})
}

// project resolves {project} or a name from a request body among the
// projects u may see (see projectref.Resolve); it answers 404 itself when
// there is none, and 409 when the name may mean several.
func (h *Handler) project(w http.ResponseWriter, r *http.Request, u store.User, name string) (store.Project, bool) {
	return h.resolveProject(w, r, u, name, http.StatusNotFound)
}

// resolveProject is project, answering notFound rather than 404 when
// there is none.
func (h *Handler) resolveProject(w http.ResponseWriter, r *http.Request, u store.User, name string, notFound int) (store.Project, bool) {
	ps, err := h.store.ListProjects(r.Context(), viewer(u))
	if err != nil {
		h.fail(w, r, err)
		return store.Project{}, false
	}
	key := func(p store.Project) (int64, string) { return p.ID, p.Name }
	switch m := projectref.Resolve(ps, name, key); len(m) {
	case 1:
		return m[0], true
	case 0:
		writeDetail(w, notFound, fmt.Sprintf("project %q not found: give a project name, slug or ID you are a member of", name))
	default:
		writeDetail(w, http.StatusConflict, fmt.Sprintf("project %q is ambiguous: it may mean %s; give the exact name or the ID", name, projectref.Describe(m, key)))
	}
	return store.Project{}, false
}

// projectInfo is a project as Sentry's API shows it.
type projectInfo struct {
	ID   string `json:"id"`
	Slug string `json:"slug"`
	Name string `json:"name"`
}

func infoOf(p store.Project) projectInfo {
	return projectInfo{ID: strconv.FormatInt(p.ID, 10), Slug: projectref.Slug(p.Name), Name: p.Name}
}

func (h *Handler) listProjects(w http.ResponseWriter, r *http.Request, u store.User) {
	ps, err := h.store.ListProjects(r.Context(), viewer(u))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []projectInfo{}
	for _, p := range ps {
		out = append(out, infoOf(p))
	}
	writeJSON(w, http.StatusOK, out)
}

// deleteRelease deletes the release, and the artifacts uploaded for it,
// from the project the path names, or, on the organization's path (the
// only one sentry-cli 3.8 calls, -p or not), from every project u sees
// that has it, as Sentry's organization-wide releases are deleted. A
// release an issue refers to is deleted from none, with Sentry's 400.
func (h *Handler) deleteRelease(w http.ResponseWriter, r *http.Request, u store.User) {
	ps, ok := h.pathProjects(w, r, u)
	if !ok {
		return
	}
	ids := make([]int64, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	version := r.PathValue("version")
	switch err := h.store.DeleteReleases(r.Context(), viewer(u), ids, version); {
	case errors.Is(err, store.ErrReleaseInUse):
		// Sentry's words, which sentry-cli prints.
		writeDetail(w, http.StatusBadRequest, "This release is referenced by active issues and cannot be removed.")
	case errors.Is(err, store.ErrNotFound):
		writeDetail(w, http.StatusNotFound, fmt.Sprintf("release %q not found", version))
	case err != nil:
		h.fail(w, r, err)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// uploadReleaseFile is the legacy upload of one file of a release, as
// sentry-cli did before artifact bundles: multipart fields file, name (its
// URL), dist and header ("Sourcemap: app.min.js.map"), repeated.
//
// The file may be as large as a bundle's largest file, and any member may
// send it, so it is bounded like chunks: it waits for one of
// releaseFileSlots, is spooled to a temporary file (the fields may come
// after it), and is charged to the user's quota of new bytes (one the
// release already has is free) before it is read into memory, once, to
// be checked and stored.
func (h *Handler) uploadReleaseFile(w http.ResponseWriter, r *http.Request, u store.User) {
	p, ok := h.project(w, r, u, r.PathValue("project"))
	if !ok {
		return
	}
	version := r.PathValue("version")
	if _, err := h.store.GetRelease(r.Context(), viewer(u), p.ID, version); errors.Is(err, store.ErrNotFound) {
		if _, err := h.store.CreateRelease(r.Context(), viewer(u), p.ID, version, h.now()); err != nil {
			h.fail(w, r, err)
			return
		}
	} else if err != nil {
		h.fail(w, r, err)
		return
	}
	slot := time.NewTimer(h.fileWait)
	defer slot.Stop()
	select {
	case h.fileSlots <- struct{}{}:
		defer func() { <-h.fileSlots }()
	case <-slot.C:
		w.Header().Set("Retry-After", strconv.Itoa(int(releaseFileWait/time.Second)))
		writeDetail(w, http.StatusTooManyRequests, fmt.Sprintf("release file: the server is busy with %d other uploads; try again in %s", releaseFileSlots, shortDuration(releaseFileWait)))
		return
	case <-r.Context().Done():
		// Answered, so that nothing takes it for net/http's implicit 200.
		writeDetail(w, http.StatusServiceUnavailable, "release file: the request ended while it waited for an upload slot")
		return
	}
	limit := h.artifacts.Limits().MaxFileBytes
	r.Body = http.MaxBytesReader(w, r.Body, limit+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		writeDetail(w, http.StatusBadRequest, "release file: want a multipart/form-data body: "+err.Error())
		return
	}
	spool, err := os.CreateTemp("", "flytrap-release-file-*")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	var (
		f    artifact.BundleFile
		dist string
		size int64
		sum  = sha1.New()
		file bool
	)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			h.badBody(w, "release file", err)
			return
		}
		if part.FormName() == "file" {
			if file {
				writeDetail(w, http.StatusBadRequest, "release file: more than one file field")
				return
			}
			file = true
			if size, err = io.Copy(io.MultiWriter(spool, sum), io.LimitReader(part, limit+1)); err != nil {
				h.badBody(w, "release file", err)
				return
			}
			if size > limit {
				writeDetail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("release file: field %q is more than %d bytes", part.FormName(), limit))
				return
			}
			if f.URL == "" {
				f.URL = "~/" + part.FileName()
			}
			continue
		}
		const fieldLimit = 64 << 10
		data, err := io.ReadAll(io.LimitReader(part, fieldLimit+1))
		if err != nil {
			h.badBody(w, "release file", err)
			return
		}
		if len(data) > fieldLimit {
			writeDetail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("release file: field %q is more than %d bytes", part.FormName(), fieldLimit))
			return
		}
		switch part.FormName() {
		case "name":
			f.URL = string(data)
		case "dist":
			dist = string(data)
		case "header":
			if k, v, ok := strings.Cut(string(data), ":"); ok && strings.EqualFold(strings.TrimSpace(k), "sourcemap") {
				f.SourceMap = strings.TrimSpace(v)
			}
		}
	}
	if !file {
		writeDetail(w, http.StatusBadRequest, "release file: no file field")
		return
	}
	if err := artifact.CheckURL(f.URL); err != nil {
		h.badBody(w, "release file", err)
		return
	}
	b, err := h.artifacts.SaveReleaseFile(r.Context(), p.ID, version, dist, f, spool, size, func(n int64) error {
		// A file larger than the whole quota takes all of it, rather
		// than never fitting.
		if wait, ok := h.chargeChunk(u.ID, int(min(n, h.quota.Bytes))); !ok {
			return &overQuotaError{wait}
		}
		return nil
	})
	var over *overQuotaError
	if errors.As(err, &over) {
		h.overQuota(w, "release file", over.wait)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	headers := map[string]string{}
	if f.SourceMap != "" {
		headers["Sourcemap"] = f.SourceMap
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": strconv.FormatInt(b.ID, 10), "name": f.URL, "dist": dist,
		"headers": headers, "size": size, "sha1": fmt.Sprintf("%x", sum.Sum(nil)), "dateCreated": b.CreatedAt})
}

// noProject is the detail of a request that names no project where
// Flytrap needs one: it stores artifacts and releases per project.
const noProject = "no project: pass --project (sentry-cli) or set SENTRY_PROJECT"

// uploadReleaseFileWithoutProject is sentry-cli's releases files VERSION
// upload without --project, which Sentry files under the release alone;
// Flytrap files a release's artifacts under a project.
func (h *Handler) uploadReleaseFileWithoutProject(w http.ResponseWriter, _ *http.Request, _ store.User) {
	writeDetail(w, http.StatusBadRequest, noProject)
}

// decode reads a JSON body of at most maxJSONBody bytes into v.
func (h *Handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	if err := apitypes.DecodeOne(json.NewDecoder(r.Body), v); err != nil {
		h.badBody(w, "request body", err)
		return false
	}
	return true
}

// badBody answers a body that could not be read: 413 past a limit, 408
// past its deadline, 400 otherwise. It always answers: a read that fails
// on the connection cancels the request's context, and a handler that
// then wrote nothing had net/http answer 200 to an upload never stored.
func (h *Handler) badBody(w http.ResponseWriter, what string, err error) {
	var (
		tooLarge *http.MaxBytesError
		be       *artifact.BundleError
	)
	switch {
	case errors.As(err, &tooLarge):
		writeDetail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s: more than %d bytes", what, tooLarge.Limit))
	case errors.As(err, &be):
		writeDetail(w, http.StatusBadRequest, what+": "+be.Msg)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The rest of the body is not coming; the connection cannot
		// carry another request.
		w.Header().Set("Connection", "close")
		writeDetail(w, http.StatusRequestTimeout, fmt.Sprintf("%s: the body stalled, arrived slower than %d bytes a second, "+
			"or was shorter than its Content-Length; check the network and upload again", what, h.uploadRate))
	default:
		writeDetail(w, http.StatusBadRequest, what+": "+err.Error())
	}
}

// fail answers an error: the uploader's (a bundle refused, invalid input,
// not found) with its message, a full disk or a database that cannot be
// reached as a 503 with Retry-After, whose detail sentry-cli prints, and
// anything else as a 500 that is logged.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		be *artifact.BundleError
		br *badRequest
	)
	switch {
	case errors.As(err, &be):
		writeDetail(w, http.StatusBadRequest, be.Error())
	case errors.As(err, &br):
		writeDetail(w, http.StatusBadRequest, br.msg)
	case errors.Is(err, store.ErrInvalid):
		// sentry-cli prints the detail: the reason, not the call chain.
		writeDetail(w, http.StatusBadRequest, store.Reason(err))
	case store.InvalidText(err):
		writeDetail(w, http.StatusBadRequest, store.InvalidTextMessage)
	case errors.Is(err, store.ErrNotFound):
		writeDetail(w, http.StatusNotFound, err.Error())
	case errors.Is(err, store.ErrForbidden):
		writeDetail(w, http.StatusForbidden, err.Error())
	case h.store.DiskFull(err):
		// Checked before Unavailable: a chunk or file written to a full
		// disk fails with ENOSPC, which is not a database's error.
		h.log.Warn("source map upload failed: disk full", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(store.UnavailableRetryAfter/time.Second)))
		writeDetail(w, http.StatusServiceUnavailable, "the server's disk is full, so nothing can be stored now; "+
			"the server's operator must free disk space, then retry")
	case store.Unavailable(err):
		h.log.Warn("source map upload failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(store.UnavailableRetryAfter/time.Second)))
		writeDetail(w, http.StatusServiceUnavailable, "the server's database is not reachable or not taking requests now; "+
			fmt.Sprintf("retry in %s", shortDuration(store.UnavailableRetryAfter)))
	default:
		h.log.Error("source map upload failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeDetail(w, http.StatusInternalServerError, "internal error; the server log has the details")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeDetail writes Sentry's error shape, whose detail sentry-cli prints.
func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}
