// Package dashboard serves Flytrap's server-rendered web UI: sign-in,
// projects with their charts and SDK setup, the issue list and issue detail,
// and user and project administration.
//
// Pages are html/template files embedded from templates/dashboard; the only
// JavaScript is in /static (copy buttons, bulk selection, live updates), so
// the Content-Security-Policy forbids inline script and style, and every
// page works without JavaScript except for live updates.
//
// Authorization lives below the handlers: every read goes through a
// store.Viewer, and every change to users, projects, members, keys and
// passwords through internal/service with the signed-in user as the actor,
// so a member who is not in a project gets ErrNotFound for its pages,
// issues and events, which this package turns into a 404 like any missing
// page. Admin pages are 404 for non-admins too.
package dashboard

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	htmltemplate "html/template"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/logthrottle"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/templates"
)

// Store is what the dashboard reads and changes. Methods that take a
// store.Viewer filter by it in SQL; the rest are used only for the signed-in
// user's own account or before anyone is signed in.
type Store interface {
	// Changes to users, projects, members, keys and tokens, and sign-in,
	// go through the services, which hold their rules.
	service.Store
	// DiskFull is store.DB's: whether err means its disk is full.
	DiskFull(err error) bool

	// Sessions.
	CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, store.Session, error)
	SessionUser(ctx context.Context, token string, now time.Time) (store.User, store.Session, error)
	DeleteSession(ctx context.Context, token string) error

	// Unsubscribe links of alert emails.
	ChannelSubscription(ctx context.Context, channelID, userID int64) (store.Unsubscription, error)
	UnsubscribeChannel(ctx context.Context, channelID, userID int64) (store.Unsubscription, error)
	DeleteUserSessions(ctx context.Context, userID int64, exceptToken string) error
	// EnsureSetting keeps the CSRF key, shared by every dashboard process
	// on one database.
	EnsureSetting(ctx context.Context, key, value string) (string, error)

	// Projects.
	ListProjects(ctx context.Context, v store.Viewer) ([]store.Project, error)
	ProjectStats(ctx context.Context, v store.Viewer, since time.Time) ([]store.ProjectStat, error)
	ProjectKeys(ctx context.Context, v store.Viewer, projectID int64) ([]store.ProjectKey, error)

	// Issues and events.
	ListIssuesPage(ctx context.Context, v store.Viewer, f store.IssueFilter) (store.IssuePage, error)
	// ReplaceEventPayload stores an event symbolicated again, and culprit
	// as its issue's when it is the issue's latest event.
	ReplaceEventPayload(ctx context.Context, v store.Viewer, issueID int64, ev *event.Event, culprit string) error
	GetIssue(ctx context.Context, v store.Viewer, id int64) (store.Issue, error)
	GetIssueIn(ctx context.Context, v store.Viewer, id int64, environment string) (store.Issue, error)
	UpdateIssueStatus(ctx context.Context, v store.Viewer, id int64, status, resolvedInRelease string) (store.Issue, error)
	BulkUpdateStatus(ctx context.Context, v store.Viewer, projectID int64, ids []int64, status string) (int64, error)
	MergeIssues(ctx context.Context, v store.Viewer, projectID int64, ids []int64, into int64) (store.Issue, error)
	MergedInto(ctx context.Context, v store.Viewer, id int64) (int64, error)
	LatestRelease(ctx context.Context, v store.Viewer, projectID int64) (string, error)
	UpdateIssue(ctx context.Context, v store.Viewer, id int64, c store.IssueChange) (store.Issue, int64, error)
	BulkAssign(ctx context.Context, v store.Viewer, projectID int64, ids []int64, userID int64) (int64, error)
	DeleteIssue(ctx context.Context, v store.Viewer, id int64) error
	IssueHourlyCounts(ctx context.Context, v store.Viewer, issueID int64, since time.Time, environment string) ([]store.Bucket, error)
	IssueTags(ctx context.Context, v store.Viewer, issueID int64) ([]store.TagCount, error)
	GetIssueEvent(ctx context.Context, v store.Viewer, issueID int64, eventID string) (store.EventRow, error)
	LatestEvent(ctx context.Context, v store.Viewer, issueID int64, environment string) (store.EventRow, error)
	AdjacentEvents(ctx context.Context, v store.Viewer, issueID int64, eventID, environment string) (store.AdjacentEvents, error)

	// User feedback.
	ListProjectFeedback(ctx context.Context, v store.Viewer, projectID int64, cursor string, limit int) ([]store.Feedback, string, error)
	ListIssueFeedback(ctx context.Context, v store.Viewer, issueID int64, cursor string, limit int) ([]store.Feedback, string, error)
	CountIssueFeedback(ctx context.Context, v store.Viewer, issueID int64) (int64, error)
	ListActivity(ctx context.Context, v store.Viewer, issueID int64, cursor string, limit int) ([]store.Activity, string, error)
	AddComment(ctx context.Context, v store.Viewer, issueID int64, text string) (store.Activity, error)
	EditComment(ctx context.Context, v store.Viewer, issueID, id int64, text string) (store.Activity, error)
	DeleteComment(ctx context.Context, v store.Viewer, issueID, id int64) error

	// Releases, and what sentry-cli recorded of them.
	ListReleases(ctx context.Context, v store.Viewer, projectID int64) ([]store.Release, error)
	ListMonitors(ctx context.Context, v store.Viewer, projectID int64) ([]store.Monitor, error)
	GetMonitor(ctx context.Context, v store.Viewer, projectID int64, slug, environment string, limit int) (store.Monitor, []store.CheckIn, error)
	DeleteMonitor(ctx context.Context, v store.Viewer, projectID int64, slug string) error
	GetRelease(ctx context.Context, v store.Viewer, projectID int64, version string) (store.Release, error)
	ReleaseHealth(ctx context.Context, v store.Viewer, projectID int64, f store.HealthFilter) ([]store.ReleaseHealth, error)
	ListDeploys(ctx context.Context, v store.Viewer, projectID int64, version string) ([]store.Deploy, error)
	ListReleaseCommits(ctx context.Context, v store.Viewer, projectID int64, version string) ([]store.Commit, error)

	// The signed-in user's API tokens.
	ListAPITokens(ctx context.Context, userID int64) ([]store.APIToken, error)

	// Administration pages' reads, privacy settings and rate limits (the store answers
	// ErrForbidden to those who may not manage the project, or the users).
	ManagesProject(ctx context.Context, v store.Viewer, id int64) error
	ListUsers(ctx context.Context, v store.Viewer) ([]store.User, error)
	ProjectPrivacy(ctx context.Context, v store.Viewer, projectID int64) (store.PrivacySettings, error)
	SetProjectPrivacy(ctx context.Context, v store.Viewer, projectID int64, s store.PrivacySettings) (store.PrivacySettings, error)
	ProjectRateLimit(ctx context.Context, v store.Viewer, projectID int64) (int, error)
	SetProjectRateLimit(ctx context.Context, v store.Viewer, projectID int64, limit int) error
	ProjectFilters(ctx context.Context, v store.Viewer, projectID int64) (inbound.Settings, error)
	SetProjectFilters(ctx context.Context, v store.Viewer, projectID int64, s inbound.Settings) (inbound.Settings, error)
	FilteredSince(ctx context.Context, v store.Viewer, projectID int64, since time.Time) (map[inbound.Reason]int64, error)
}

// The real store must satisfy Store; this fails the build if a method
// drifts.
var _ Store = (*store.DB)(nil)

// LoginLimit throttles sign-ins (and password changes). Failures count
// for Window; an attempt is counted before its password is checked, so
// concurrent guesses are counted too. A client over a limit gets 429 with
// Retry-After until its oldest counted failure leaves the window. No limit
// refuses the right password to a client that has not been guessing: the
// per-address limit across clients only slows attempts down.
type LoginLimit struct {
	// PerEmail is the failures allowed per email address from one client
	// before that client is refused for it, and the failures from all
	// clients after which every attempt for the address is held for
	// SlowDown; 0 means 5.
	PerEmail int
	// PerIP is the failures allowed per client address (per /64 for
	// IPv6), whatever the email; 0 means 20. It is higher than PerEmail
	// because an office or a carrier NAT puts many people behind one
	// address.
	PerIP int
	// Window is how long a failure counts; 0 means 15 minutes.
	Window time.Duration
	// SlowDown is how long an attempt for an address that is being
	// guessed is held before its password is checked; 0 means 1 second.
	SlowDown time.Duration
}

// Config configures a Dashboard.
type Config struct {
	// Store holds users, sessions and every project's data.
	Store Store
	// Log receives unexpected errors; nil discards them.
	Log *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it to expire
	// sessions and throttling windows.
	Now func() time.Time
	// SecureCookies marks cookies Secure and gives them the __Host- name
	// prefix; set it when the dashboard is served over TLS.
	SecureCookies bool
	// PublicURL is the base URL SDKs and browsers reach Flytrap at, such
	// as http://127.0.0.1:8080; DSNs and snippets are built from it, and
	// form posts whose Origin is this URL are accepted. Empty means the
	// scheme and host of each request.
	PublicURL string
	// IngestURL is where SDKs send events (the DSN's host) when that is
	// not PublicURL, as on AWS where API Gateway takes events and EC2
	// serves the dashboard. Empty means the same as PublicURL.
	IngestURL string
	// LoginLimit throttles failed sign-ins.
	LoginLimit LoginLimit
	// SessionTTL is how long a sign-in lasts; 0 means 14 days.
	SessionTTL time.Duration
	// TrustForwardedFor takes the client address for login throttling
	// from the last X-Forwarded-For entry. Enable it only behind exactly
	// one reverse proxy that appends to that header, or clients choose
	// their own address and escape the per-address limit.
	TrustForwardedFor bool
	// Render bounds how much of an event the issue page shows; the raw
	// JSON download has all of it.
	Render RenderLimits
	// Symbolicator, when set, offers to symbolicate a JavaScript event
	// again, for source maps uploaded after it was processed.
	Symbolicator Symbolicator
	// PlainHTTP puts a banner on every page, the sign-in page first, saying
	// that passwords and session cookies cross the network unencrypted
	// and how to get HTTPS. Set it when other machines reach the dashboard
	// without TLS (AWS without a domain, flytrap dev on a non-loopback
	// address); the server's log is not where a user typing a password
	// looks.
	PlainHTTP bool
	// RequestTimeout bounds a request's work, its database calls above
	// all: a database that stops answering makes the page a 503 then,
	// not when TCP gives up. 0 means DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Mailer emails set-password links: invitations, resets an admin
	// issues and those "Forgot password?" sends (with a PublicURL to
	// build them from). Nil shows links only to the admin who issued
	// them, and "Forgot password?" says to ask an admin.
	Mailer service.LinkMailer
	// AlertsAllowPrivate lets webhook channels name loopback, private and
	// link-local addresses, as delivery does (notify.Config's
	// AllowPrivate); without it such a webhook is refused when added.
	AlertsAllowPrivate bool
	// ServerRateLimit is ingest's limit of projects without one of their
	// own, which a project's settings page names: events per minute,
	// store.RateLimitNone for none, or 0 when ingest runs elsewhere and
	// its limit is not known here, which the page says instead of a
	// number that may be wrong.
	ServerRateLimit int
	// AlertEmailLogged says the server only logs alert email, having no
	// SMTP server: the alerts page says so.
	AlertEmailLogged bool
	// ForgotPerEmail and ForgotPerIP limit "Forgot password?" requests
	// per address and per client; zero values take the defaults (3, then
	// one every 15 minutes; 10, then one a minute). ForgotPerEmail bounds
	// both the requests for an address from one client, beyond which that
	// client is refused, and the emails to the address from anywhere,
	// beyond which requests are answered as usual but send nothing.
	ForgotPerEmail, ForgotPerIP ForgotLimit
}

// Dashboard is the web UI's http.Handler.
type Dashboard struct {
	store      Store
	svc        *service.Services
	log        *slog.Logger
	now        func() time.Time
	secure     bool
	publicURL  string
	ingestURL  string
	sessionTTL time.Duration
	trustXFF   bool
	limits     RenderLimits
	resym      Symbolicator
	plainHTTP  bool
	timeout    time.Duration
	// serverRateLimit is Config.ServerRateLimit.
	serverRateLimit int
	// unavailable throttles the warning of pages the database could not
	// serve.
	unavailable *logthrottle.Throttle

	// handler is the routes (routes), compressed.
	handler http.Handler
	// pages and snippets parse their templates on first use: a server
	// that only ingests never holds their parse trees (about 1 MB of an
	// idle flytrap dev's heap; docs/benchmarks.md, "Idle footprint").
	pages    map[string]func() (*htmltemplate.Template, error)
	snippets func() (*template.Template, error)
	static   http.Handler
	cop      *http.CrossOriginProtection

	throttle *auth.Throttle
	// forgotPerIP and forgotPerPair (an address from one client) refuse
	// "Forgot password?" requests; forgotPerEmail (an address from
	// anywhere) only stops them sending more email (see forgotPassword).
	forgotPerEmail, forgotPerPair, forgotPerIP *keyedLimiter

	keyMu   sync.Mutex
	csrfKey []byte

	// unsubscriber checks alert emails' unsubscribe links.
	unsubscriber *notify.Unsubscriber

	// revealed holds the sealed secrets shown (takeReveal), until they
	// expire, so each is shown once.
	revealMu sync.Mutex
	revealed map[string]int64
}

// Default settings for zero Config fields.
const (
	DefaultSessionTTL = 14 * 24 * time.Hour
	defaultPerEmail   = auth.DefaultPerEmail
	defaultPerIP      = auth.DefaultPerIP
	defaultWindow     = auth.DefaultWindow
	defaultSlowDown   = auth.DefaultSlowDown
)

// DefaultRequestTimeout is Config.RequestTimeout's default; no page needs
// more than a fraction of it.
const DefaultRequestTimeout = 30 * time.Second

// New returns the dashboard. The templates are embedded and parsed on
// first use, so a template that does not parse is a build defect that
// TestTemplatesParse catches; at run time it renders as a 500.
func New(cfg Config) *Dashboard {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	lim := cfg.LoginLimit
	if lim.PerEmail <= 0 {
		lim.PerEmail = defaultPerEmail
	}
	if lim.PerIP <= 0 {
		lim.PerIP = defaultPerIP
	}
	if lim.Window <= 0 {
		lim.Window = defaultWindow
	}
	if lim.SlowDown <= 0 {
		lim.SlowDown = defaultSlowDown
	}
	d := &Dashboard{
		store:      cfg.Store,
		log:        cfg.Log,
		now:        cfg.Now,
		secure:     cfg.SecureCookies,
		publicURL:  strings.TrimRight(cfg.PublicURL, "/"),
		ingestURL:  strings.TrimRight(cfg.IngestURL, "/"),
		sessionTTL: cfg.SessionTTL,
		trustXFF:   cfg.TrustForwardedFor,
		limits:     cfg.Render.withDefaults(),
		resym:      cfg.Symbolicator,
		plainHTTP:  cfg.PlainHTTP,
		timeout:    cfg.RequestTimeout,

		serverRateLimit: cfg.ServerRateLimit,
		unavailable:     logthrottle.New(10 * time.Second),
		cop:             http.NewCrossOriginProtection(),
		throttle:        auth.NewThrottle(lim.PerEmail, lim.PerIP, lim.Window, lim.SlowDown),

		forgotPerEmail: newKeyedLimiter(forgotMailLimit(cfg.ForgotPerEmail.orDefault(defaultForgotPerEmail))),
		forgotPerPair:  newKeyedLimiter(cfg.ForgotPerEmail.orDefault(defaultForgotPerEmail)),
		forgotPerIP:    newKeyedLimiter(cfg.ForgotPerIP.orDefault(defaultForgotPerIP)),
	}
	d.svc = service.New(cfg.Store, cfg.Log).WithAlertDestinations(cfg.AlertsAllowPrivate, nil).WithAlertEmailLogged(cfg.AlertEmailLogged)
	if cfg.Mailer != nil {
		d.svc.WithMailer(cfg.Mailer)
	}
	if u, err := url.Parse(d.publicURL); err == nil && u.Scheme != "" && u.Host != "" {
		// Behind a proxy that rewrites Host, the browser's Origin is the
		// public URL rather than the Host the dashboard sees.
		if err := d.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			d.log.Warn("dashboard: public URL is not a usable origin", "url", d.publicURL, "err", err)
		}
	}
	d.unsubscriber = notify.NewUnsubscriber(d.publicURL, cfg.Store, d.now)
	d.pages = parsePages(d.funcs())
	d.snippets = sync.OnceValues(func() (*template.Template, error) {
		return template.New("").Funcs(templates.SnippetFuncs).ParseFS(templates.FS, "snippets/*.tmpl")
	})
	staticFS, err := fs.Sub(templates.FS, "static")
	if err != nil {
		panic(err)
	}
	d.static = http.StripPrefix("/static/", http.FileServerFS(staticFS))
	d.routes()
	return d
}

// routes registers every page and action. Actions are POSTs that redirect
// (303) back to a page, so reloading a page never repeats an action.
func (d *Dashboard) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", d.root)
	m.HandleFunc("GET /static/", d.serveStatic)
	m.HandleFunc("GET /favicon.ico", serveFavicon)
	m.HandleFunc("GET /login", d.loginPage)
	m.HandleFunc("POST /login", d.login)
	m.HandleFunc("GET /forgot-password", d.forgotPage)
	m.HandleFunc("POST /forgot-password", d.forgotPassword)
	m.HandleFunc("GET "+service.SetPasswordPath+"{token}", d.setPasswordPage)
	m.HandleFunc("POST "+service.SetPasswordPath+"{token}", d.setPassword)
	m.HandleFunc("POST /logout", d.action(d.logout))
	m.HandleFunc("GET /account", d.page(d.accountPage))
	m.HandleFunc("POST /account/password", d.action(d.changePassword))
	m.HandleFunc("GET /account/tokens", d.page(d.tokensPage))
	m.HandleFunc("POST /account/tokens", d.action(d.createToken))
	m.HandleFunc("POST /account/tokens/{id}/revoke", d.action(d.revokeToken))
	// `sentry-cli login` opens Sentry's token page in the browser, by
	// this path with ":orgslug" left in it; Flytrap's is /account/tokens.
	m.HandleFunc("GET /orgredirect/organizations/{org}/settings/auth-tokens/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/account/tokens", http.StatusSeeOther)
	})

	m.HandleFunc("GET /projects", d.page(d.projectsPage))
	m.HandleFunc("GET /projects/{id}/setup", d.page(d.setupPage))
	m.HandleFunc("GET /projects/{id}/issues", d.page(d.issuesPage))
	m.HandleFunc("POST /projects/{id}/issues/bulk", d.action(d.bulkUpdate))
	m.HandleFunc("GET /projects/{id}/issues/merge", d.page(d.confirmMerge))
	m.HandleFunc("POST /projects/{id}/issues/merge", d.action(d.mergeIssues))
	m.HandleFunc("GET /projects/{id}/feedback", d.page(d.feedbackPage))
	m.HandleFunc("GET /projects/{id}/releases", d.page(d.releasesPage))
	m.HandleFunc("GET /projects/{id}/releases/{version}", d.page(d.releasePage))
	m.HandleFunc("GET /projects/{id}/monitors", d.page(d.monitorsPage))
	m.HandleFunc("GET /projects/{id}/monitors/{slug}", d.page(d.monitorPage))
	m.HandleFunc("GET /projects/{id}/monitors/{slug}/delete", d.page(d.projectAdmins(d.confirmDeleteMonitor)))
	m.HandleFunc("POST /projects/{id}/monitors/{slug}/delete", d.action(d.projectAdmins(d.deleteMonitor)))
	m.HandleFunc("GET /issues/{id}", d.page(d.issuePage))
	m.HandleFunc("GET /issues/{id}/events/{event}/raw", d.page(d.rawEvent))
	m.HandleFunc("POST /issues/{id}/status", d.action(d.setStatus))
	m.HandleFunc("POST /issues/{id}/assign", d.action(d.assignIssue))
	m.HandleFunc("POST /issues/{id}/comments", d.commentAction(d.addComment))
	m.HandleFunc("POST /issues/{id}/comments/{comment}/edit", d.commentAction(d.editComment))
	m.HandleFunc("POST /issues/{id}/comments/{comment}/delete", d.action(d.deleteComment))
	m.HandleFunc("POST /issues/{id}/events/{event}/symbolicate", d.action(d.resymbolicate))
	m.HandleFunc("GET /issues/{id}/delete", d.page(d.confirmDeleteIssue))
	m.HandleFunc("POST /issues/{id}/delete", d.action(d.deleteIssue))

	m.HandleFunc("GET /admin/users", d.page(d.adminOnly(d.usersPage)))
	m.HandleFunc("POST /admin/users", d.action(d.adminOnly(d.createUser)))
	m.HandleFunc("POST /admin/users/{id}/role", d.action(d.adminOnly(d.setRole)))
	m.HandleFunc("POST /admin/users/{id}/reset-password", d.action(d.adminOnly(d.resetPassword)))
	m.HandleFunc("POST /admin/users/{id}/sign-out", d.action(d.adminOnly(d.signOutUser)))
	m.HandleFunc("POST /admin/users/{id}/delete", d.action(d.adminOnly(d.deleteUser)))
	m.HandleFunc("GET /admin/projects", d.page(d.adminOnly(d.adminProjectsPage)))
	m.HandleFunc("POST /admin/projects", d.action(d.adminOnly(d.createProject)))
	m.HandleFunc("GET /admin/projects/{id}", d.page(d.projectAdmins(d.adminProjectPage)))
	m.HandleFunc("POST /admin/projects/{id}/rename", d.action(d.projectAdmins(d.renameProject)))
	m.HandleFunc("POST /admin/projects/{id}/privacy", d.action(d.projectAdmins(d.setPrivacy)))
	m.HandleFunc("POST /admin/projects/{id}/filters", d.action(d.projectAdmins(d.setFilters)))
	m.HandleFunc("POST /admin/projects/{id}/rate-limit", d.action(d.projectAdmins(d.setRateLimit)))
	m.HandleFunc("POST /admin/projects/{id}/delete", d.action(d.adminOnly(d.deleteProject)))
	m.HandleFunc("POST /admin/projects/{id}/members", d.action(d.projectAdmins(d.addMember)))
	m.HandleFunc("GET /admin/projects/{id}/members/{user}/remove", d.page(d.projectAdmins(d.confirmRemoveMember)))
	m.HandleFunc("POST /admin/projects/{id}/members/{user}/remove", d.action(d.projectAdmins(d.removeMember)))
	m.HandleFunc("POST /admin/projects/{id}/keys/rotate", d.action(d.projectAdmins(d.rotateKey)))

	// Anything else, including a known path with another method, is the
	d.alertRoutes(m)
	// HTML 404 page rather than ServeMux's plain text.
	m.HandleFunc("/", d.unknown)
	d.handler = compressed(m)
}

// contentSecurityPolicy allows only this origin's scripts and styles (no
// inline code, so injected markup cannot run or restyle the page), data:
// images, connections to this origin only, and no framing. CSP Level 3's
// 'self' covers the live updates' WebSocket (ws: or wss: to the page's own
// host), which bare ws: wss: would allow to any host.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// ServeHTTP serves the dashboard with its security headers on every
// response.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	ctx, cancel := context.WithTimeout(r.Context(), d.timeout)
	defer cancel()
	d.handler.ServeHTTP(w, r.WithContext(ctx))
}

func (d *Dashboard) root(w http.ResponseWriter, r *http.Request) {
	if _, err := d.authenticate(r); err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/projects", http.StatusSeeOther)
}

func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) {
	// Directory listings would only show file names, but there is no
	// reason to offer them.
	if strings.HasSuffix(r.URL.Path, "/") {
		d.unknown(w, r)
		return
	}
	// Embedded files carry no modification time, so browsers revalidate
	// by downloading; the files are a few kilobytes and change with each
	// release, which a long max-age would hide.
	w.Header().Set("Cache-Control", "no-cache")
	d.static.ServeHTTP(w, r)
}

// serveFavicon answers the request browsers make on their own, which
// would otherwise log a 404 on every first visit.
func serveFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeFileFS(w, r, templates.FS, "static/favicon.ico")
}

// unknown renders the 404 page, with the navigation when signed in.
func (d *Dashboard) unknown(w http.ResponseWriter, r *http.Request) {
	if s, err := d.authenticate(r); err == nil {
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
	}
	d.notFound(w, r)
}

// pathID reads a positive integer path segment; anything else is no page.
func pathID(r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	return id, err == nil && id > 0
}

// ingestBase is where SDKs send events: IngestURL, else baseURL.
func (d *Dashboard) ingestBase(r *http.Request) string {
	if d.ingestURL != "" {
		return d.ingestURL
	}
	return d.baseURL(r)
}

// baseURL is PublicURL, or the scheme and host the request came to: for
// pages shown to the requester only, never for a link the server emails
// (the Host header is the requester's choice), which uses publicURL alone.
func (d *Dashboard) baseURL(r *http.Request) string {
	if d.publicURL != "" {
		return d.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
