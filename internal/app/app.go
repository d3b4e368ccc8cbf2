// Package app is the one assembly of a Flytrap server, shared by `flytrap
// dev` (internal/server adds ingest, the local queue and processor workers)
// and the EC2 dashboard (runtime/dashboard adds the key-set publisher and
// its TLS listeners): the web face, /healthz, /readyz and /metrics with the
// same checks and metric names, and the background jobs (event retention,
// session pruning, alert delivery). What only one side has is added through options, so the
// two cannot drift apart again.
package app

import (
	"cmp"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/artifactapi"
	"github.com/getflytrap/flytrap/internal/dashboard"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/symbolicate"
	"github.com/getflytrap/flytrap/internal/web"
)

// Defaults of the job intervals.
const (
	// DefaultRetentionEvery is how often retention runs: each run then
	// deletes about an hour's worth of expired events, a short job.
	DefaultRetentionEvery = time.Hour
	// RetentionDelay is how long after start retention first runs (or
	// its interval, when shorter): a restart under load leaves a queue
	// backlog, and retention's batched deletes compete with the workers
	// for the database while they catch up (7.6 s to delete 2,549 events
	// after a SIGKILL restart under a 50 KB load).
	RetentionDelay = time.Minute
	// DefaultHistoryRetention is how long the retention job keeps dead
	// letters, settled alert notifications and hourly counts (the charts
	// show 14 days).
	DefaultHistoryRetention = 30 * 24 * time.Hour
	// DefaultSQLiteSpaceEvery is how often the free pages of a SQLite
	// database are checked (a few PRAGMAs, reading its header).
	DefaultSQLiteSpaceEvery = time.Minute
	// DefaultSessionPruneEvery is how often expired sessions and
	// set-password links are deleted; they are refused from the moment
	// they expire, so this only reclaims rows.
	DefaultSessionPruneEvery = time.Hour
)

// Names of the jobs every assembly registers.
const (
	JobRetention = "retention"
	JobSessions  = "session-pruning"
	// JobArtifacts removes artifact bundles of deleted releases and the
	// blobs no bundle refers to; registered with WithArtifacts.
	JobArtifacts = "artifact-retention"
	// JobAlerts delivers the alert outbox (internal/notify).
	JobAlerts = "alerts"
	// JobSQLiteSpace gives a SQLite database's free pages back to the
	// file system once they are a large share of it (after a project or
	// many events were deleted); registered on SQLite only.
	JobSQLiteSpace = "sqlite-space"
	// JobMonitors writes the missed and timed-out check-ins of cron
	// monitors (store.DB.JudgeMonitors) and drops the check-ins held too
	// long for monitors never created (store.DB.PruneHeldCheckIns).
	JobMonitors = "monitors"
)

// MaxMonitorsLag is how far the monitors job judges behind the clock while
// the queue holds older messages (Config.QueueOldest): a message that
// keeps failing must not stop monitors from being judged at all.
const MaxMonitorsLag = time.Hour

// DefaultMonitorsEvery is how often the monitors job runs: a missed
// check-in is noticed within this much of its margin's end.
const DefaultMonitorsEvery = 30 * time.Second

// DefaultArtifactCleanupEvery is how often the artifact retention job runs.
const DefaultArtifactCleanupEvery = time.Hour

// Config configures an App.
type Config struct {
	// PublicURL is the base URL users reach the dashboard at.
	PublicURL string
	// IngestURL is where SDKs send events, when not PublicURL (AWS: the
	// API Gateway endpoint).
	IngestURL string
	// SecureCookies marks session cookies Secure; set it only under TLS.
	SecureCookies bool
	// PlainHTTP shows every dashboard page a banner that the connection
	// is not encrypted; set it when other machines reach the dashboard
	// without TLS.
	PlainHTTP bool
	// TrustForwardedFor takes a client's address for sign-in throttling
	// from the last X-Forwarded-For entry: set it only when every request
	// comes through one proxy that appends it (CloudFront on AWS).
	TrustForwardedFor bool
	// Render bounds how much of an event dashboard pages show.
	Render dashboard.RenderLimits
	// ServerRateLimit is ingest's limit of projects without one of their
	// own, which their settings pages name: events per minute, -1 for
	// none, 0 when not known (dashboard.Config's).
	ServerRateLimit int
	// LiveStreams bounds the live streams open at once, per user and in
	// all; zero fields take live's defaults.
	LiveStreams live.Limits
	// MaxConnsPerClient bounds the connections one client address holds
	// open at once (0: connlimit.DefaultPerClient); web.Config's.
	MaxConnsPerClient int
	// UploadRate is the bytes per second an authenticated upload under
	// /api/0/ (sentry-cli's source maps) must keep up; 0 is
	// bodydeadline.DefaultUploadRate.
	UploadRate int64
	// Retention says which events the retention job deletes.
	Retention Retention
	// SessionPruneEvery is how often expired sessions are deleted
	// (0: DefaultSessionPruneEvery).
	SessionPruneEvery time.Duration
	// QueueOldest, when set, says when the oldest message still in the
	// event queue was enqueued (false: none). The monitors job judges as
	// of then, at most MaxMonitorsLag behind, rather than now: a check-in
	// waiting in the queue (a backlog, or the queue a stopped or upgraded
	// server left) is not yet stored, and its run would be written missed
	// and alerted as failing before the workers reach it.
	QueueOldest func(ctx context.Context) (time.Time, bool, error)
	// MonitorsEvery is how often the monitors job runs (0:
	// DefaultMonitorsEvery).
	MonitorsEvery time.Duration
	// SQLiteSpaceEvery is how often a SQLite database's free pages are
	// checked and given back (0: DefaultSQLiteSpaceEvery).
	SQLiteSpaceEvery time.Duration
	// DataDir is the directory whose file system must have MinFreeBytes
	// available (0: ops.DefaultMinFreeBytes) for /readyz to answer ready:
	// the SQLite data dir locally, the certificate cache on EC2. Empty
	// skips the check.
	DataDir      string
	MinFreeBytes uint64
	// FreeSpace measures DataDir's free space; nil is ops.FreeBytes.
	FreeSpace ops.FreeSpace
	// Alerts configures the delivery of alert notifications: the mailer
	// (SMTP, SNS, or nil to log email), HTTP client and retry policy.
	// PublicURL, Log and Now default to this Config's.
	Alerts notify.Config
	// AlertsEvery is how often the alerts job delivers what is due
	// (0: notify.DefaultEvery).
	AlertsEvery time.Duration
	// Mailer emails set-password links (invitations, password resets,
	// "Forgot password?"); nil shows them to the admin only.
	Mailer service.LinkMailer
	// Log receives the server's and the jobs' logs; nil discards them.
	Log *slog.Logger
	// Now is the jobs' clock; nil is time.Now.
	Now func() time.Time
}

// Retention is the retention rule: events by MaxAge and PerIssue (both
// zero keeps every event), and the history (dead letters, settled alert
// notifications, hourly counts) by History.
type Retention struct {
	// MaxAge deletes events received longer ago than this, and releases
	// first seen before then that nothing refers to any more
	// (store.PruneReleases; 0: keep).
	MaxAge time.Duration
	// PerIssue keeps at most this many events per issue (0: all).
	PerIssue int
	// History deletes dead letters, sent or dead alert notifications and
	// issues' hourly counts older than this (0: DefaultHistoryRetention,
	// negative: keep them).
	History time.Duration
	// Every is how often the job runs (0: DefaultRetentionEvery).
	Every time.Duration
}

// Option adds what only one assembly has.
type Option func(*options)

type options struct {
	checks     []ops.Check
	metrics    []func(context.Context, io.Writer)
	metricAuth ops.Authorizer
	jobs       []Job
	artifacts  artifact.Blobs
}

// WithReadyCheck makes /readyz require c too (the local queue).
func WithReadyCheck(c ops.Check) Option {
	return func(o *options) { o.checks = append(o.checks, c) }
}

// WithMetrics makes /metrics write write's samples too (ingest and
// processor counters locally, the key-set publisher on EC2). Names must not
// repeat the shared ones.
func WithMetrics(write func(ctx context.Context, w io.Writer)) Option {
	return func(o *options) { o.metrics = append(o.metrics, write) }
}

// WithMetricsAuth puts /metrics behind an admin's API token checked by
// authorize, for servers whose listeners face the internet.
func WithMetricsAuth(authorize ops.Authorizer) Option {
	return func(o *options) { o.metricAuth = authorize }
}

// WithJob registers j with the jobs every server runs; this is where
// outbox delivery and artifact cleanup belong.
func WithJob(j Job) Option {
	return func(o *options) { o.jobs = append(o.jobs, j) }
}

// WithArtifacts keeps uploaded source maps in blobs (the data dir
// locally, the source-map bucket on AWS): it serves the sentry-cli upload
// endpoints under /api/0/ and registers the artifact retention job.
func WithArtifacts(blobs artifact.Blobs) Option {
	return func(o *options) { o.artifacts = blobs }
}

// App is the web face, the operations endpoints and the background jobs
// over one database.
type App struct {
	db   *store.DB
	cfg  Config
	log  *slog.Logger
	web  *web.Web
	jobs *Jobs
	opts options
	// artifacts and symbolicator are nil without WithArtifacts.
	artifacts    *artifact.Store
	symbolicator *symbolicate.Symbolicator
}

// New assembles the App over db: the dashboard, /api/v1, the live stream,
// /healthz, /readyz, /metrics and the jobs. It panics on an invalid job
// (see Jobs.Add).
func New(db *store.DB, cfg Config, opts ...Option) *App {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &App{db: db, cfg: cfg, log: cfg.Log, jobs: newJobs(cfg.Log, cfg.Now)}
	for _, o := range opts {
		o(&a.opts)
	}
	wcfg := web.Config{PublicURL: cfg.PublicURL, IngestURL: cfg.IngestURL, SecureCookies: cfg.SecureCookies, PlainHTTP: cfg.PlainHTTP, TrustForwardedFor: cfg.TrustForwardedFor, Render: cfg.Render, Mailer: cfg.Mailer,
		AlertsAllowPrivate: cfg.Alerts.AllowPrivate, ServerRateLimit: cfg.ServerRateLimit,
		AlertEmailLogged: cfg.Alerts.Mailer == nil, LiveStreams: cfg.LiveStreams, MaxConnsPerClient: cfg.MaxConnsPerClient}
	if a.opts.artifacts != nil {
		a.artifacts = artifact.New(db, a.opts.artifacts, artifact.DefaultLimits)
		// One symbolicator, so the workers and the issue page's
		// re-symbolicate action share its parsed-map cache.
		a.symbolicator = symbolicate.New(symbolicate.Config{Maps: a.artifacts, Now: cfg.Now})
		wcfg.Symbolicator = a.symbolicator
	}
	a.web = web.New(db, wcfg, cfg.Log)
	a.registerJobs()

	mux := a.web.Mux()
	if a.artifacts != nil {
		// More specific than ingest's /api/ catch-all, so it wins there.
		mux.Handle(artifactapi.Prefix, artifactapi.New(db, a.artifacts, a.log, cfg.Now).WithUploadRate(cfg.UploadRate))
	}
	mux.Handle("GET /readyz", ops.Readyz(a.log, a.readyChecks()...))
	var metrics http.Handler = ops.Metrics(a.writeMetrics)
	if a.opts.metricAuth != nil {
		metrics = ops.RequireAdmin(a.opts.metricAuth, a.log, metrics)
	}
	mux.Handle("GET /metrics", metrics)
	return a
}

func (a *App) registerJobs() {
	r := a.cfg.Retention
	every := r.Every
	if every <= 0 {
		every = DefaultRetentionEvery
	}
	history := r.History
	if history == 0 {
		history = DefaultHistoryRetention
	}
	a.jobs.Add(Job{Name: JobRetention, Every: every, Delay: min(every, RetentionDelay), Run: func(ctx context.Context, now time.Time) error {
		if r.MaxAge > 0 || r.PerIssue > 0 {
			n, err := a.db.Prune(ctx, now, r.MaxAge, r.PerIssue)
			if n > 0 {
				a.log.Info("retention pruned events and feedback", "deleted", n)
			}
			if err != nil {
				return err
			}
			n, err = a.db.PruneReleases(ctx, now, r.MaxAge)
			if n > 0 {
				a.log.Info("retention pruned releases", "deleted", n)
			}
			if err != nil {
				return err
			}
		}
		p, err := a.db.PruneHistory(ctx, now, history)
		if p.Total() > 0 {
			a.log.Info("retention pruned history", "dead_letters", p.DeadLetters, "alert_notifications", p.Notifications, "hourly_counts", p.HourlyCounts, "session_counts", p.Sessions)
		}
		return err
	}})
	every = a.cfg.SessionPruneEvery
	if every <= 0 {
		every = DefaultSessionPruneEvery
	}
	a.jobs.Add(Job{Name: JobSessions, Every: every, Run: func(ctx context.Context, now time.Time) error {
		n, err := a.db.PruneSessions(ctx, now)
		if n > 0 {
			a.log.Info("expired sessions pruned", "deleted", n)
		}
		if err != nil {
			return err
		}
		n, err = a.db.PrunePasswordLinks(ctx, now)
		if n > 0 {
			a.log.Info("expired set-password links pruned", "deleted", n)
		}
		return err
	}})
	every = a.cfg.MonitorsEvery
	if every <= 0 {
		every = DefaultMonitorsEvery
	}
	a.jobs.Add(Job{Name: JobMonitors, Every: every, Run: func(ctx context.Context, now time.Time) error {
		at := now
		if a.cfg.QueueOldest != nil {
			oldest, ok, err := a.cfg.QueueOldest(ctx)
			if err != nil {
				return err
			}
			if ok && oldest.Before(at) {
				at = oldest
				if floor := now.Add(-MaxMonitorsLag); at.Before(floor) {
					at = floor
				}
			}
		}
		ts, err := a.db.JudgeMonitors(ctx, at)
		for _, t := range ts {
			a.log.Info("monitor status changed", "project", t.Monitor.ProjectID, "monitor", t.Monitor.Slug,
				"environment", t.Environment.Name, "status", t.Environment.Status, "check_in", t.CheckIn.Status)
		}
		if err != nil {
			return err
		}
		dropped, err := a.db.PruneHeldCheckIns(ctx, now)
		for _, c := range dropped {
			a.log.Info("dropped a check-in", "project", c.ProjectID, "monitor", c.Slug, "check_in_id", c.ID,
				"reason", "no monitor, and no check-in with a monitor_config created it within an hour")
		}
		return err
	}})
	if a.db.Dialect() == store.DialectSQLite {
		every := a.cfg.SQLiteSpaceEvery
		if every <= 0 {
			every = DefaultSQLiteSpaceEvery
		}
		a.jobs.Add(Job{Name: JobSQLiteSpace, Every: every, Run: func(ctx context.Context, _ time.Time) error {
			n, err := a.db.ReclaimSpace(ctx)
			if n > 0 {
				a.log.Info("database space given back to the file system", "bytes", n)
			}
			return err
		}})
	}
	if a.artifacts != nil {
		a.jobs.Add(Job{Name: JobArtifacts, Every: DefaultArtifactCleanupEvery, Run: func(ctx context.Context, now time.Time) error {
			c, err := a.artifacts.Cleanup(ctx, now)
			if c != (artifact.Cleaned{}) {
				a.log.Info("artifact retention", "bundles", c.Bundles, "file_blobs", c.Files, "chunks", c.Chunks)
			}
			return err
		}})
	}
	alerts := a.cfg.Alerts
	if alerts.PublicURL == "" {
		alerts.PublicURL = a.cfg.PublicURL
	}
	if alerts.Log == nil {
		alerts.Log = a.log
	}
	if alerts.Now == nil {
		alerts.Now = a.cfg.Now
	}
	a.jobs.Add(Job{Name: JobAlerts, Every: cmp.Or(a.cfg.AlertsEvery, notify.DefaultEvery), Run: notify.NewWorker(a.db, alerts).Run})
	for _, j := range a.opts.jobs {
		a.jobs.Add(j)
	}
}

// readyChecks are what /readyz requires: the database, free space in the
// data directory, and the caller's checks.
func (a *App) readyChecks() []ops.Check {
	checks := []ops.Check{{Name: "database", Run: a.db.Ping}}
	if a.cfg.DataDir != "" {
		minFree := a.cfg.MinFreeBytes
		if minFree == 0 {
			minFree = ops.DefaultMinFreeBytes
		}
		checks = append(checks, ops.DiskSpace(a.cfg.DataDir, minFree, a.cfg.FreeSpace))
	}
	return append(checks, a.opts.checks...)
}

// writeMetrics writes the samples every server exports, then the caller's.
func (a *App) writeMetrics(ctx context.Context, w io.Writer) {
	st := a.db.SQL().Stats()
	ops.Metric(w, "flytrap_db_open_connections", "gauge", "Open database connections.", int64(st.OpenConnections))
	ops.Metric(w, "flytrap_db_wait_total", "counter", "Times a query waited for a free connection.", st.WaitCount)
	a.web.WriteLiveMetrics(w)
	a.web.WriteConnMetrics(w)
	a.jobs.WriteMetrics(w)
	for _, write := range a.opts.metrics {
		write(ctx, w)
	}
}

// Symbolicator is the processor's symbolicate stage over the uploaded
// source maps, nil without WithArtifacts.
func (a *App) Symbolicator() process.Symbolicator {
	if a.symbolicator == nil {
		return nil
	}
	return a.symbolicator
}

// Mux is the mux of every route, for the caller's extra ones (ingest).
// Serve Handler, not the mux itself.
func (a *App) Mux() *http.ServeMux { return a.web.Mux() }

// Handler is what to serve: the mux, with the headers every response needs.
func (a *App) Handler() http.Handler { return a.web.Handler() }

// Artifacts is the store of uploaded source maps, nil without
// WithArtifacts; the processor's symbolicate stage finds maps through it.
func (a *App) Artifacts() *artifact.Store { return a.artifacts }

// Hub is the live hub the processor publishes to in this process.
func (a *App) Hub() *live.Hub { return a.web.Hub() }

// Jobs is the registry of background jobs, for listing them.
func (a *App) Jobs() *Jobs { return a.jobs }

// HTTPServer returns a server for h with the timeouts and header limit of
// the web face; its shutdown ends the live streams. Serve it on Listener's
// listener.
func (a *App) HTTPServer(h http.Handler) *http.Server { return a.web.HTTPServer(h) }

// Listener bounds the connections each client address holds open on ln,
// for srv to serve on (Config.MaxConnsPerClient; unbounded behind a
// trusted proxy); it sets srv's ConnState hook.
func (a *App) Listener(srv *http.Server, ln net.Listener) net.Listener {
	return a.web.Listener(srv, ln)
}

// Run runs the background work every server does until ctx ends: the jobs,
// and on PostgreSQL the listener that feeds other processes' live messages
// to this one's streams.
func (a *App) Run(ctx context.Context) {
	a.log.Info("background jobs started", "jobs", a.jobs.Names(),
		"retention_max_age", a.cfg.Retention.MaxAge, "retention_per_issue", a.cfg.Retention.PerIssue)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		a.jobs.Run(ctx)
	}()
	go func() {
		defer wg.Done()
		a.web.Listen(ctx)
	}()
	wg.Wait()
}
