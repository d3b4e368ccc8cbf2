// Package api serves the REST API under /api/v1: the JSON face of the
// dashboard that the CLI and scripts use.
package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/authheader"
	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/logthrottle"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// Store is what the API reads and changes. Every method that reaches
// project data filters by the viewer, so a handler cannot leak another
// project's data by forgetting a check. Changes to users, projects,
// members, keys and tokens go through the services (service.Store), which
// hold their rules; the reads here take a viewer or work on the caller's
// own API tokens.
type Store interface {
	service.Store
	// DiskFull is store.DB's: whether err means its disk is full.
	DiskFull(err error) bool

	TokenOwner(ctx context.Context, token string) (store.User, store.APIToken, error)
	ListProjects(ctx context.Context, v store.Viewer) ([]store.Project, error)
	ListIssuesPage(ctx context.Context, v store.Viewer, f store.IssueFilter) (store.IssuePage, error)
	CountIssues(ctx context.Context, v store.Viewer, f store.IssueFilter, upTo int) (int, error)
	GetIssue(ctx context.Context, v store.Viewer, id int64) (store.Issue, error)
	GetIssueIn(ctx context.Context, v store.Viewer, id int64, environment string) (store.Issue, error)
	UpdateIssue(ctx context.Context, v store.Viewer, id int64, c store.IssueChange) (store.Issue, int64, error)
	DeleteIssue(ctx context.Context, v store.Viewer, id int64) error
	ListEvents(ctx context.Context, v store.Viewer, issueID int64, cursor string, limit int, environment string) ([]store.EventRow, string, error)
	GetEvent(ctx context.Context, v store.Viewer, eventID string) (store.EventRow, error)
	GetProjectEvent(ctx context.Context, v store.Viewer, projectID int64, eventID string) (store.EventRow, error)
	LatestEvent(ctx context.Context, v store.Viewer, issueID int64, environment string) (store.EventRow, error)
	IssueHourlyCounts(ctx context.Context, v store.Viewer, issueID int64, since time.Time, environment string) ([]store.Bucket, error)
	IssueTags(ctx context.Context, v store.Viewer, issueID int64) ([]store.TagCount, error)
	BulkUpdate(ctx context.Context, v store.Viewer, projectID int64, ids []int64, c store.BulkChange) (status, assigned int64, err error)
	MergeIssues(ctx context.Context, v store.Viewer, projectID int64, ids []int64, into int64) (store.Issue, error)
	MergedInto(ctx context.Context, v store.Viewer, id int64) (int64, error)
	Feed(ctx context.Context, v store.Viewer, f store.FeedFilter) ([]store.FeedEvent, string, error)
	ListProjectFeedback(ctx context.Context, v store.Viewer, projectID int64, cursor string, limit int) ([]store.Feedback, string, error)
	ListIssueFeedback(ctx context.Context, v store.Viewer, issueID int64, cursor string, limit int) ([]store.Feedback, string, error)
	CountIssueFeedback(ctx context.Context, v store.Viewer, issueID int64) (int64, error)
	ListActivity(ctx context.Context, v store.Viewer, issueID int64, cursor string, limit int) ([]store.Activity, string, error)
	AddComment(ctx context.Context, v store.Viewer, issueID int64, text string) (store.Activity, error)
	EditComment(ctx context.Context, v store.Viewer, issueID, id int64, text string) (store.Activity, error)
	DeleteComment(ctx context.Context, v store.Viewer, issueID, id int64) error
	ListReleases(ctx context.Context, v store.Viewer, projectID int64) ([]store.Release, error)
	GetRelease(ctx context.Context, v store.Viewer, projectID int64, version string) (store.Release, error)
	CreateRelease(ctx context.Context, v store.Viewer, projectID int64, version string, now time.Time) (store.Release, error)
	SetReleaseDate(ctx context.Context, v store.Viewer, projectID int64, version string, released time.Time) (store.Release, error)
	CreateDeploy(ctx context.Context, v store.Viewer, dep store.Deploy, now time.Time) (store.Deploy, error)
	ListDeploys(ctx context.Context, v store.Viewer, projectID int64, version string) ([]store.Deploy, error)
	ReleaseHealth(ctx context.Context, v store.Viewer, projectID int64, f store.HealthFilter) ([]store.ReleaseHealth, error)
	ListMonitors(ctx context.Context, v store.Viewer, projectID int64) ([]store.Monitor, error)
	GetMonitor(ctx context.Context, v store.Viewer, projectID int64, slug, environment string, limit int) (store.Monitor, []store.CheckIn, error)
	DeleteMonitor(ctx context.Context, v store.Viewer, projectID int64, slug string) error

	ListUsers(ctx context.Context, v store.Viewer) ([]store.User, error)
	ProjectPrivacy(ctx context.Context, v store.Viewer, projectID int64) (store.PrivacySettings, error)
	SetProjectPrivacy(ctx context.Context, v store.Viewer, projectID int64, s store.PrivacySettings) (store.PrivacySettings, error)
	ProjectFilters(ctx context.Context, v store.Viewer, projectID int64) (inbound.Settings, error)
	SetProjectFilters(ctx context.Context, v store.Viewer, projectID int64, s inbound.Settings) (inbound.Settings, error)
	FilteredSince(ctx context.Context, v store.Viewer, projectID int64, since time.Time) (map[inbound.Reason]int64, error)
	ProjectRateLimit(ctx context.Context, v store.Viewer, projectID int64) (int, error)
	SetProjectRateLimit(ctx context.Context, v store.Viewer, projectID int64, limit int) error
	ProjectKeys(ctx context.Context, v store.Viewer, projectID int64) ([]store.ProjectKey, error)
	ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error)
}

// SessionAuth authenticates a request by its dashboard session cookie, so
// the dashboard's pages can call the API from JavaScript. The API takes it
// as a function to stay independent of the dashboard. It returns an error
// wrapping store.ErrNotFound when the request has no valid session (401),
// and one wrapping ErrCSRF when the session is valid but an unsafe method
// lacks the CSRF proof the dashboard requires (403): cookies are sent by
// the browser on cross-site requests too, bearer tokens are not.
type SessionAuth func(r *http.Request) (store.User, error)

// ErrCSRF is what a SessionAuth wraps when a state-changing request fails
// the CSRF check.
var ErrCSRF = errors.New("CSRF check failed")

// API is the /api/v1 handler.
type API struct {
	store     Store
	svc       *service.Services
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux
	session   SessionAuth
	throttle  *auth.Throttle
	clientKey func(*http.Request) string
	// ingestBase is the ingest URL the request's DSNs point at.
	ingestBase func(*http.Request) string
	// linkBase is the server's configured public URL, which the Link
	// header's pages, set-password links and assignment emails' links
	// start with; "" makes the first two relative references and sends no
	// email (its link could not be followed).
	linkBase string
	// timeout bounds a request's work, its database calls above all.
	timeout time.Duration
	// unavailable throttles the warning of requests the database could
	// not serve: during an outage every request fails alike.
	unavailable *logthrottle.Throttle
}

// New returns the /api/v1 handler. now is injectable for tests.
func New(s Store, log *slog.Logger, now func() time.Time) *API {
	if now == nil {
		now = time.Now
	}
	a := &API{
		store: s, svc: service.New(s, log), log: log, now: now, mux: http.NewServeMux(), timeout: RequestTimeout,
		unavailable: logthrottle.New(10 * time.Second),
		throttle:    auth.NewThrottle(auth.DefaultPerEmail, auth.DefaultPerIP, auth.DefaultWindow, auth.DefaultSlowDown),
		clientKey:   func(r *http.Request) string { return auth.ClientKey(r, false) },
		ingestBase:  requestBase,
	}
	for _, e := range a.endpoints() {
		a.mux.HandleFunc(e.pattern, a.auth(e.handler))
	}
	// The one route for callers without credentials yet: it takes a
	// password instead.
	a.mux.HandleFunc(tokenLoginPattern, a.tokenLogin)
	return a
}

// requestBase is the scheme and host the request came to.
func requestBase(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// WithMailer makes invitations and password resets email their links
// through m (nil: only answer with them); it returns a.
func (a *API) WithMailer(m service.LinkMailer) *API {
	if m != nil {
		a.svc.WithMailer(m)
	}
	return a
}

// WithPublicURL makes the Link header's pages, set-password links and the
// links of assignment emails absolute URLs on u, the server's configured
// public URL; it returns a. Without one ("") the pages and set-password
// links are relative references (the Link header's resolve against the
// request's own URL, and the CLI resolves a set-password link against the
// server it called), and the emails are not sent: never is a link built
// from the request's Host header, which the client chooses, so neither a
// response nor an email the server sends can be made to point at another
// origin.
func (a *API) WithPublicURL(u string) *API {
	a.linkBase = strings.TrimRight(u, "/")
	return a
}

// WithAlertDestinations sets whether webhook channels may name loopback,
// private and link-local addresses, as delivery does (notify.Config's
// AllowPrivate); without it such a webhook is refused when added. It
// returns a.
func (a *API) WithAlertDestinations(allowPrivate bool) *API {
	a.svc.WithAlertDestinations(allowPrivate, nil)
	return a
}

// WithCommentThrottle makes the API's comment emails share t with the
// dashboard's, so that comments through either count for both; it
// returns a.
func (a *API) WithCommentThrottle(t *service.CommentThrottle) *API {
	a.svc.WithCommentThrottle(t)
	return a
}

// WithEmailMisses makes the API count the emails no user has that a
// project's admin adds with the dashboard's, so that misses through
// either count for both; it returns a.
func (a *API) WithEmailMisses(m *service.EmailMisses) *API {
	a.svc.WithEmailMisses(m)
	return a
}

// WithAlertEmailLogged says whether the server only logs alert email
// (notify.Config without a Mailer), which new email channels and rules
// then warn of; it returns a.
func (a *API) WithAlertEmailLogged(logged bool) *API {
	a.svc.WithAlertEmailLogged(logged)
	return a
}

// RequestTimeout bounds the work of one API request; no request needs
// more than a fraction of it.
const RequestTimeout = 30 * time.Second

// WithRequestTimeout sets how long a request may work before its database
// calls are cancelled (and it is answered 503); RequestTimeout by default.
func (a *API) WithRequestTimeout(d time.Duration) *API {
	a.timeout = d
	return a
}

// WithIngestBase makes the DSNs of keys point at base(r) instead of the
// host the request came to; returns a.
func (a *API) WithIngestBase(base func(*http.Request) string) *API {
	a.ingestBase = base
	return a
}

// WithThrottle makes the token endpoint count password attempts in t, the
// throttle of the dashboard's sign-in form, with clients named by
// clientKey; it returns a. Without it the API has a throttle of its own
// with the default limits.
func (a *API) WithThrottle(t *auth.Throttle, clientKey func(*http.Request) string) *API {
	a.throttle, a.clientKey = t, clientKey
	return a
}

// endpoint is one route of the API.
type endpoint struct {
	pattern string
	handler http.HandlerFunc
}

// endpoints lists every route. All of them need an authenticated caller;
// what the caller may see is up to the store, what they may change up to
// the services.
func (a *API) endpoints() []endpoint {
	return append([]endpoint{
		{"GET /api/v1/me", a.me},
		{"GET /api/v1/projects", a.listProjects},
		{"POST /api/v1/projects", a.createProject},
		{"GET /api/v1/projects/{project_id}", a.getProject},
		{"PATCH /api/v1/projects/{project_id}", a.patchProject},
		{"DELETE /api/v1/projects/{project_id}", a.deleteProject},
		{"GET /api/v1/projects/{project_id}/filters", a.getFilters},
		{"PATCH /api/v1/projects/{project_id}/filters", a.patchFilters},
		{"GET /api/v1/projects/{project_id}/issues", a.listIssues},
		{"POST /api/v1/projects/{project_id}/issues/bulk", a.bulkUpdate},
		{"POST /api/v1/projects/{project_id}/issues/merge", a.mergeIssues},
		{"GET /api/v1/projects/{project_id}/members", a.listMembers},
		{"POST /api/v1/projects/{project_id}/members", a.addMember},
		{"PUT /api/v1/projects/{project_id}/members/{user_id}", a.putMember},
		{"DELETE /api/v1/projects/{project_id}/members/{user_id}", a.removeMember},
		{"GET /api/v1/projects/{project_id}/keys", a.listKeys},
		{"GET /api/v1/projects/{project_id}/events/{event_id}", a.getProjectEvent},
		{"GET /api/v1/projects/{project_id}/feedback", a.listProjectFeedback},
		{"GET /api/v1/projects/{project_id}/releases", a.listReleases},
		{"POST /api/v1/projects/{project_id}/releases", a.createRelease},
		{"GET /api/v1/projects/{project_id}/releases/{version}", a.getRelease},
		{"PATCH /api/v1/projects/{project_id}/releases/{version}", a.patchRelease},
		{"GET /api/v1/projects/{project_id}/releases/{version}/deploys", a.listDeploys},
		{"POST /api/v1/projects/{project_id}/releases/{version}/deploys", a.createDeploy},
		{"POST /api/v1/projects/{project_id}/keys/rotate", a.rotateKey},
		{"GET /api/v1/projects/{project_id}/monitors", a.listMonitors},
		{"GET /api/v1/projects/{project_id}/monitors/{slug}", a.getMonitor},
		{"DELETE /api/v1/projects/{project_id}/monitors/{slug}", a.deleteMonitor},
		{"GET /api/v1/issues/{issue_id}", a.getIssue},
		{"PATCH /api/v1/issues/{issue_id}", a.updateIssue},
		{"DELETE /api/v1/issues/{issue_id}", a.deleteIssue},
		{"GET /api/v1/issues/{issue_id}/events", a.listEvents},
		{"GET /api/v1/issues/{issue_id}/feedback", a.listIssueFeedback},
		{"GET /api/v1/events", a.feed},
		{"GET /api/v1/events/{event_id}", a.getEvent},
		{"GET /api/v1/users", a.listUsers},
		{"POST /api/v1/users", a.createUser},
		{"PATCH /api/v1/users/{user_id}", a.updateUser},
		{"DELETE /api/v1/users/{user_id}", a.deleteUser},
		{"POST /api/v1/users/{user_id}/password-reset", a.resetPassword},
		{"POST /api/v1/users/{user_id}/sign-out", a.signOutUser},
		{"GET /api/v1/tokens", a.listTokens},
		{"POST /api/v1/tokens", a.createToken},
		{deleteTokenPattern, a.deleteToken},
	}, append(a.alertEndpoints(), a.activityEndpoints()...)...)
}

// WithSessionAuth makes requests without an Authorization header
// authenticate through f, and returns a. Call it before serving.
func (a *API) WithSessionAuth(f SessionAuth) *API {
	a.session = f
	return a
}

// ServeHTTP routes the request. ServeMux answers unknown paths and wrong
// methods in plain text; those answers are rewritten as JSON errors so every
// response of the API has one shape.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A database that stops answering, rather than refusing, would hold
	// the request, and its connection, for as long as TCP lets it; at
	// the deadline the database call fails and the client gets 503.
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	r = r.WithContext(ctx)
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

type callerKey struct{}

// callerTokenKey holds the store.APIToken a request authenticated with;
// a session's is the zero token.
type callerTokenKey struct{}

// auth resolves the caller and passes the request on with it. A request
// with an Authorization header is judged by its bearer token alone; one
// without it by the session, when the API has a SessionAuth. A read-only
// token may only read: anything but GET and HEAD is refused before the
// handler runs, so no handler can forget the check. The one change it may
// make is revoking itself, which takes away access and so is never an
// escalation: `flytrap logout` and a repeated `flytrap login` rely on it.
func (a *API) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var (
			u  store.User
			t  = store.APIToken{Scope: store.ScopeFull}
			ok bool
		)
		if h := r.Header.Get("Authorization"); h != "" || a.session == nil {
			u, t, ok = a.bearer(w, r, h)
		} else {
			u, ok = a.sessionUser(w, r)
		}
		if !ok {
			return
		}
		if !store.ScopePermits(t.Scope, r.Method) && !revokesItself(r, t) {
			writeError(w, http.StatusForbidden, apitypes.CodeReadOnly,
				"this API token is read-only; create a full token (flytrap tokens create --scope full) to make changes")
			return
		}
		ctx := context.WithValue(r.Context(), callerKey{}, u)
		next(w, r.WithContext(context.WithValue(ctx, callerTokenKey{}, t)))
	}
}

// bearer resolves the bearer token in the Authorization header h to its
// owner and scope. Unknown, expired and missing tokens get the same 401
// so tokens cannot be probed.
func (a *API) bearer(w http.ResponseWriter, r *http.Request, h string) (store.User, store.APIToken, bool) {
	token, ok := authheader.Bearer(h)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing API token: send Authorization: Bearer <token>")
		return store.User{}, store.APIToken{}, false
	}
	u, t, err := a.store.TokenOwner(r.Context(), token)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			a.fail(w, r, err)
			return store.User{}, store.APIToken{}, false
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "invalid or expired API token")
		return store.User{}, store.APIToken{}, false
	}
	return u, t, true
}

// revokesItself reports whether r deletes the token t it authenticated with.
func revokesItself(r *http.Request, t store.APIToken) bool {
	return t.ID != 0 && r.Pattern == deleteTokenPattern && r.PathValue("token_id") == strconv.FormatInt(t.ID, 10)
}

// sessionUser resolves the session through a.session.
func (a *API) sessionUser(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	u, err := a.session(r)
	switch {
	case err == nil:
		return u, true
	case errors.Is(err, ErrCSRF):
		writeError(w, http.StatusForbidden, "csrf", "missing or invalid CSRF token; reload the page and try again")
	case errors.Is(err, store.ErrNotFound):
		w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "not signed in: sign in, or send Authorization: Bearer <token>")
	default:
		a.fail(w, r, err)
	}
	return store.User{}, false
}

// caller is the authenticated user of a request that passed auth.
func caller(r *http.Request) store.User {
	u, _ := r.Context().Value(callerKey{}).(store.User)
	return u
}

// callerToken is the API token a request that passed auth came with; a
// session's is the zero token.
func callerToken(r *http.Request) store.APIToken {
	t, _ := r.Context().Value(callerTokenKey{}).(store.APIToken)
	return t
}

// actor is the caller as the services see them.
func actor(r *http.Request) service.Actor { return service.ActorOf(caller(r)) }

func viewer(r *http.Request) store.Viewer { return actor(r).Viewer() }

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) {
	ps, err := a.store.ListProjects(r.Context(), viewer(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(ps, wireProject, ""))
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
	f, err := issuefilter.Parse(r.URL.Query(), a.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	f.ProjectID = pid
	hits, p, err := a.issuesAndHits(r.Context(), v, f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Hits", strconv.Itoa(hits))
	h.Set("X-Max-Hits", strconv.Itoa(MaxHits))
	h.Set("Link", pageLinks(a.linkBase, r.URL, p.Prev, p.Next))
	list := page(p.Issues, wireIssue, p.Next)
	list.PrevCursor = p.Prev
	writeJSON(w, http.StatusOK, list)
}

// issuesAndHits returns the page of the issues f matches and their count
// up to MaxHits, for X-Hits. A first page with no page after it holds
// every match, and is their count; otherwise counting, which reads every
// issue the search may match (20,000 of a big project for a selective
// search), runs beside the page's query rather than after it.
func (a *API) issuesAndHits(ctx context.Context, v store.Viewer, f store.IssueFilter) (int, store.IssuePage, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type counted struct {
		n   int
		err error
	}
	hits := make(chan counted, 1)
	go func() {
		n, err := a.store.CountIssues(ctx, v, f, MaxHits)
		hits <- counted{n, err}
	}()
	p, err := a.store.ListIssuesPage(ctx, v, f)
	if err != nil {
		return 0, store.IssuePage{}, err
	}
	if f.Cursor == "" && p.Next == "" {
		return len(p.Issues), p, nil
	}
	c := <-hits
	return c.n, p, c.err
}

// MaxHits caps the issue list's X-Hits, the number of issues the search
// matches, as Sentry caps its own (X-Max-Hits says so): counting stops
// there, so the total of a project's millions of issues costs each page no
// more than this many rows read.
const MaxHits = 10000

// pageLinks is the Link header of a page of u's list, as Sentry writes it:
// the previous and the next page, on base if not "", each with
// results="true" when there is one and its cursor, so that Sentry's
// clients page through Flytrap's lists as through Sentry's.
func pageLinks(base string, u *url.URL, prev, next string) string {
	link := func(rel, cursor string) string {
		q := u.Query()
		q.Del("cursor")
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		target := url.URL{Path: u.Path, RawQuery: q.Encode()}
		return fmt.Sprintf(`<%s%s>; rel="%s"; results="%t"; cursor="%s"`, base, target.String(), rel, cursor != "", cursor)
	}
	return link("previous", prev) + ", " + link("next", next)
}

func (a *API) getIssue(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	ctx, v := r.Context(), viewer(r)
	// ?environment= scopes the figures, the hourly counts and the latest
	// event, as it scopes the issue list's figures: an issue without
	// events stored there has no latest event, never another
	// environment's.
	if err := issuefilter.CheckNUL(r.URL.Query(), "environment"); err != nil {
		writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, err.Error())
		return
	}
	env := r.URL.Query().Get("environment")
	is, err := a.store.GetIssueIn(ctx, v, id, env)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := apitypes.IssueDetail{Issue: wireIssue(is)}
	if ev, err := a.store.LatestEvent(ctx, v, id, env); err == nil {
		d.LatestEvent = wireEventDetail(ev)
	} else if !errors.Is(err, store.ErrNotFound) {
		a.fail(w, r, err)
		return
	}
	since := a.now().Add(-14 * 24 * time.Hour).Truncate(time.Hour)
	hourly, err := a.store.IssueHourlyCounts(ctx, v, id, since, env)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	tags, err := a.store.IssueTags(ctx, v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if d.FeedbackCount, err = a.store.CountIssueFeedback(ctx, v, id); err != nil {
		a.fail(w, r, err)
		return
	}
	d.HourlyCounts, d.Tags = wireAll(hourly, wireBucket), wireAll(tags, wireTag)
	writeJSON(w, http.StatusOK, d)
}

func (a *API) updateIssue(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	var req apitypes.StatusChange
	if !decodeBody(w, r, &req) {
		return
	}
	status, release, next, ok := readStatus(w, req.Status, req.ResolvedInRelease, req.StatusDetails, req.AssignedTo.Set)
	if !ok {
		return
	}
	// The status and the assignee change together or not at all, and the
	// assignee hears of it only once it is done.
	c := store.IssueChange{Status: status, ResolvedInRelease: release, InNextRelease: next, Assign: req.AssignedTo.Set}
	if c.Assign {
		if c.AssigneeID, ok = a.assigneeID(w, r, req.AssignedTo); !ok {
			return
		}
	}
	is, before, err := a.store.UpdateIssue(r.Context(), viewer(r), id, c)
	if err != nil {
		a.assignFail(w, r, req.AssignedTo.Who, releaseField(req.ResolvedInRelease), err)
		return
	}
	if c.Assign {
		a.svc.NotifyAssigned(r.Context(), actor(r), is, before, a.linkBase)
	}
	writeJSON(w, http.StatusOK, wireIssue(is))
}

// releaseField is the field of a change that named the release to resolve
// in: resolved_in_release when sent (resolvedInRelease), else Sentry's
// statusDetails.inRelease.
func releaseField(resolvedInRelease string) string {
	if resolvedInRelease != "" {
		return "resolved_in_release"
	}
	return "statusDetails.inRelease"
}

// readStatus reads the status a change of one issue or of many sends,
// with its release as resolved_in_release or as Sentry's statusDetails
// and status resolvedInNextRelease send it, and answers 400 with why (and
// ok false) for a request that does not hold together; assign says the
// change also assigns, which makes a change without a status one.
func readStatus(w http.ResponseWriter, status, release string, d *apitypes.StatusDetails, assign bool) (_, _ string, next, ok bool) {
	if status == apitypes.StatusResolvedInNextRelease {
		status, next = store.StatusResolved, true
	}
	if d != nil {
		if d.InRelease != "" && release != "" && d.InRelease != release {
			writeError(w, http.StatusBadRequest, "bad_request", "resolved_in_release and statusDetails.inRelease name different releases; send one")
			return "", "", false, false
		}
		release, next = cmp.Or(release, d.InRelease), next || d.InNextRelease
	}
	if next && release != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "resolve in the next release or in a given release, not both")
		return "", "", false, false
	}
	switch status {
	case store.StatusResolved:
	case store.StatusUnresolved, store.StatusIgnored:
		if release != "" || next {
			writeError(w, http.StatusBadRequest, "bad_request", "a release to resolve in is only valid with status \"resolved\"")
			return "", "", false, false
		}
	case "":
		if release != "" || next || !assign {
			writeError(w, http.StatusBadRequest, "bad_request", `send a status ("resolved", "unresolved" or "ignored"), an assignedTo, or both`)
			return "", "", false, false
		}
	default:
		writeError(w, http.StatusBadRequest, "bad_request", `status must be "resolved", "unresolved" or "ignored"`)
		return "", "", false, false
	}
	return status, release, next, true
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

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	id, limit, ok := listParams(w, r, "issue_id")
	if !ok {
		return
	}
	ctx, v := r.Context(), viewer(r)
	// Resolve the issue first so that an invisible issue is a 404, not an
	// empty list that confirms it exists.
	if _, err := a.store.GetIssue(ctx, v, id); err != nil {
		a.fail(w, r, err)
		return
	}
	// ?environment= lists the issue's events in that environment only.
	q := r.URL.Query()
	if err := issuefilter.CheckNUL(q, "environment"); err != nil {
		writeError(w, http.StatusBadRequest, apitypes.CodeBadRequest, err.Error())
		return
	}
	evs, next, err := a.store.ListEvents(ctx, v, id, q.Get("cursor"), limit, q.Get("environment"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(evs, wireEvent, next))
}

// listProjectFeedback answers a project's user feedback, newest first,
// with and without an associated event.
func (a *API) listProjectFeedback(w http.ResponseWriter, r *http.Request) {
	a.listFeedback(w, r, "project_id", a.store.ListProjectFeedback)
}

// listIssueFeedback answers the user feedback about an issue's stored
// events, newest first.
func (a *API) listIssueFeedback(w http.ResponseWriter, r *http.Request) {
	a.listFeedback(w, r, "issue_id", a.store.ListIssueFeedback)
}

// listFeedback answers a page of list, the feedback of the project or
// issue the path parameter param names; one the caller may not see is a
// 404, as the store's check makes it.
func (a *API) listFeedback(w http.ResponseWriter, r *http.Request, param string,
	list func(context.Context, store.Viewer, int64, string, int) ([]store.Feedback, string, error)) {
	id, limit, ok := listParams(w, r, param)
	if !ok {
		return
	}
	fs, next, err := list(r.Context(), viewer(r), id, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(fs, wireFeedback, next))
}

// eventIDParam is the path's event_id in the form the store keeps (32
// lowercase hex digits), accepting the dashed UUID form too.
func eventIDParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := strings.ToLower(strings.ReplaceAll(r.PathValue("event_id"), "-", ""))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "event_id must be 32 hexadecimal characters")
		return "", false
	}
	return id, true
}

// getEvent looks an event ID up among every project the caller may see.
// Event IDs are unique per project only (an SDK chooses them, so one
// project's key can reuse another's), so an ID held by several of those
// projects is a 409 instead of one project's event shown for another's;
// ?project= or the scoped route names the project.
func (a *API) getEvent(w http.ResponseWriter, r *http.Request) {
	if ps := r.URL.Query()["project"]; len(ps) > 0 {
		pid, err := strconv.ParseInt(ps[0], 10, 64)
		if err != nil || pid <= 0 || len(ps) > 1 {
			writeError(w, http.StatusBadRequest, "bad_request", "project must be one positive integer")
			return
		}
		a.writeProjectEvent(w, r, pid)
		return
	}
	id, ok := eventIDParam(w, r)
	if !ok {
		return
	}
	ev, err := a.store.GetEvent(r.Context(), viewer(r), id)
	if amb := (*store.AmbiguousEventError)(nil); errors.As(err, &amb) {
		// Only projects the caller sees are listed (the store's viewer
		// chose them), by ID: another project's name is not for a caller
		// who only learns that an ID is reused.
		urls := make([]string, len(amb.ProjectIDs))
		for i, p := range amb.ProjectIDs {
			urls[i] = fmt.Sprintf("/api/v1/projects/%d/events/%s", p, id)
		}
		writeJSON(w, http.StatusConflict, apitypes.Error{Error: apitypes.ErrorBody{Code: "ambiguous_event_id",
			Message: "this event ID exists in more than one of your projects; use the event's URL in its project: GET " +
				strings.Join(urls, " or GET ") + " (or add ?project={project_id})",
			URLs: urls}})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireEventDetail(ev))
}

func (a *API) getProjectEvent(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	a.writeProjectEvent(w, r, pid)
}

// writeProjectEvent answers with the path's event of project pid.
func (a *API) writeProjectEvent(w http.ResponseWriter, r *http.Request, pid int64) {
	id, ok := eventIDParam(w, r)
	if !ok {
		return
	}
	ev, err := a.store.GetProjectEvent(r.Context(), viewer(r), pid, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireEventDetail(ev))
}

// fail maps service and store errors to responses, the one place that
// does; anything unexpected is logged and reported without internals.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if msg, ok := service.Message(err); ok {
		status, code := refusal(err)
		var se *service.Error
		if errors.As(err, &se) && se.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int((se.RetryAfter+time.Second-1)/time.Second)))
		}
		writeError(w, status, code, msg)
		return
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		if !a.merged(w, r) {
			writeError(w, http.StatusNotFound, "not_found", "not found")
		}
	case errors.Is(err, store.ErrBadCursor):
		writeError(w, http.StatusBadRequest, "bad_request", "invalid cursor: pass next_cursor from a previous page unchanged")
	case errors.Is(err, store.ErrForbidden):
		// The store refuses users, deleting a project and its rate limit
		// to anyone but admin users, and a project's other settings,
		// keys and alerts to its members, as the services do.
		msg := service.OnlyProjectAdmins
		if errors.Is(err, store.ErrAdminsOnly) {
			msg = service.OnlyAdmins
		}
		writeError(w, http.StatusForbidden, "forbidden", msg)
	case errors.Is(err, store.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", storeMessage(err))
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", store.Reason(err))
	case store.InvalidText(err):
		writeError(w, http.StatusBadRequest, "bad_request", store.InvalidTextMessage)
	case errors.Is(err, auth.ErrBusy):
		w.Header().Set("Retry-After", strconv.Itoa(int(auth.RetryAfter/time.Second)))
		writeError(w, http.StatusServiceUnavailable, "busy", "the server is hashing too many passwords at once; retry after the Retry-After seconds")
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
	case store.Unavailable(err):
		if ok, held := a.unavailable.Allow("db", a.now()); ok && a.log != nil {
			a.log.Warn("api request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err,
				"suppressed", held)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(store.UnavailableRetryAfter/time.Second)))
		msg := "the database is not reachable or not taking requests now; retry after the Retry-After seconds"
		if a.store.DiskFull(err) {
			msg = "the database's disk is full, so this request could not be done; the server's operator must free disk space, then retry"
		}
		writeError(w, http.StatusServiceUnavailable, "unavailable", msg)
	default:
		if a.log != nil {
			a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeError(w, http.StatusInternalServerError, "internal", "internal error; the server log has details")
	}
}

// merged answers a request for an issue that was merged into another, and
// reports whether it did: a read is redirected to the same path of that
// issue, so old links and scripts keep working; a change is a 404 naming
// it, since the caller chose the issue to change.
func (a *API) merged(w http.ResponseWriter, r *http.Request) bool {
	raw := r.PathValue("issue_id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return false
	}
	into, err := a.store.MergedInto(r.Context(), viewer(r), id)
	if err != nil {
		return false
	}
	prefix := "/api/v1/issues/" + raw
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		return false
	}
	target := url.URL{Path: "/api/v1/issues/" + strconv.FormatInt(into, 10) + rest, RawQuery: r.URL.RawQuery}
	body := apitypes.Error{Error: apitypes.ErrorBody{Code: "issue_merged",
		Message: fmt.Sprintf("issue %d was merged into issue %d; use %s", id, into, target.Path),
		URLs:    []string{target.Path}, MergedInto: into}}
	status := http.StatusNotFound
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		w.Header().Set("Location", target.String())
		status = http.StatusMovedPermanently
	}
	writeJSON(w, status, body)
	return true
}

// refusal is the status and error code of a service refusal.
func refusal(err error) (int, string) {
	switch {
	case errors.Is(err, service.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, service.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, service.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, service.ErrTooMany):
		return http.StatusTooManyRequests, apitypes.CodeTooMany
	}
	return http.StatusBadRequest, "bad_request"
}

// storeMessage is a store error's message for the client; the store's
// errors say what was refused and why, after a prefix naming the package.
func storeMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "store: ")
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "bad_request", name+" must be a positive integer")
		return 0, false
	}
	return id, true
}

// listParams reads a list's owner, the path's parameter name, and its
// page size; on failure it has answered the request.
func listParams(w http.ResponseWriter, r *http.Request, name string) (id int64, limit int, ok bool) {
	if id, ok = pathID(w, r, name); !ok {
		return 0, 0, false
	}
	limit, err := issuefilter.ParseLimit(r.URL.Query().Get("limit"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return 0, 0, false
	}
	return id, limit, true
}

// maxRequestBody bounds a request's JSON body, maxCommentBody a comment's:
// the longest comment the store takes, each character as JSON may escape
// it (12 bytes for one beyond U+FFFF, a pair of \u escapes), besides the
// rest of the body.
const (
	maxRequestBody = 64 << 10
	maxCommentBody = 192 << 10
)

func decodeBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	return decodeBodyWithin(w, r, dst, maxRequestBody)
}

// decodeBodyWithin is decodeBody for a body of at most limit bytes.
func decodeBodyWithin(w http.ResponseWriter, r *http.Request, dst any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := apitypes.DecodeOne(dec, dst); err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("request body is over %d KiB", limit>>10))
		case errors.Is(err, os.ErrDeadlineExceeded):
			// The rest of the body is not coming; the connection cannot
			// carry another request.
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestTimeout, "body_timeout", "the request body arrived too slowly or was shorter than its Content-Length; send the whole body at once")
		default:
			writeError(w, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		}
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

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, apitypes.Error{Error: apitypes.ErrorBody{Code: code, Message: msg}})
}
