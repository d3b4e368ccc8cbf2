// Package server is the local assembly behind `flytrap dev`: the shared
// application (internal/app: web face, operations endpoints, background
// jobs) plus ingest, the durable local queue and processor workers, all in
// one process over one database.
package server

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/app"
	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/bodydeadline"
	"github.com/getflytrap/flytrap/internal/dashboard"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/queue"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// Config tunes the local server.
type Config struct {
	Ingest ingest.Config
	// Workers is the number of processor goroutines.
	Workers int
	// BusyGCPercent, when positive, is the most GOGC the server sets while
	// events arrive or are stored at 100 a second or more, as far as a
	// heap goal of 64 MiB allows (ops.GCPacer); 0 leaves the collector
	// alone, as it must when the operator set GOGC.
	BusyGCPercent int
	// Processing, when not nil, is the store the workers claim, save and
	// acknowledge through: a pool of its own (store.DB.Pool), so ingest
	// cannot take every connection processing needs. nil shares db.
	Processing *store.DB
	// Retention says which events the retention job deletes.
	Retention app.Retention
	// SessionPruneEvery is how often expired sessions are deleted
	// (0: app.DefaultSessionPruneEvery).
	SessionPruneEvery time.Duration
	// MonitorsEvery is how often missed and timed-out check-ins are
	// written (0: app.DefaultMonitorsEvery).
	MonitorsEvery time.Duration
	// SQLiteSpaceEvery is how often a SQLite database's free pages are
	// checked (0: app.DefaultSQLiteSpaceEvery).
	SQLiteSpaceEvery time.Duration
	// ShutdownGrace bounds how long in-flight HTTP requests may take to
	// finish after a shutdown signal.
	ShutdownGrace time.Duration
	// PublicURL is the base URL users and SDKs reach the server at; the
	// dashboard builds DSNs and snippets from it.
	PublicURL string
	// SecureCookies marks session cookies Secure and sends HSTS on every
	// answer; set it only when browsers reach the server over HTTPS (a
	// TLS proxy in front of it).
	SecureCookies bool
	// PlainHTTP shows every dashboard page a banner that the connection
	// is not encrypted; set it when other machines reach the dashboard
	// without TLS.
	PlainHTTP bool
	// DataDir is where the SQLite database and dev.json live; /readyz
	// fails when its file system has less than MinFreeBytes available
	// (0: ops.DefaultMinFreeBytes). Empty skips the check.
	DataDir      string
	MinFreeBytes uint64
	// FreeSpace measures DataDir's free space; nil is ops.FreeBytes.
	FreeSpace ops.FreeSpace
	// Render bounds how much of an event dashboard pages show.
	Render dashboard.RenderLimits
	// LiveStreams bounds the live streams open at once (zero fields:
	// live's defaults).
	LiveStreams live.Limits
	// MaxConnsPerClient bounds the connections one client address holds
	// open at once (0: connlimit.DefaultPerClient); app.Config's.
	MaxConnsPerClient int
	// UploadRate is app.Config's: the bytes per second a source map
	// upload must keep up (0: bodydeadline.DefaultUploadRate).
	UploadRate int64
	// Alerts configures alert delivery (the mailer: SMTP, or nil to log
	// email); AlertsEvery is how often it runs (0: its default).
	Alerts      notify.Config
	AlertsEvery time.Duration
	// Mailer emails set-password links; nil shows them to the admin only.
	Mailer service.LinkMailer
	// Now is the background jobs' clock; nil is time.Now.
	Now func() time.Time
	// Artifacts keeps uploaded source maps (flytrap dev: a directory in
	// the data dir); nil serves no upload endpoints.
	Artifacts artifact.Blobs
}

// Server is the local pipeline over one database.
type Server struct {
	db      *store.DB
	queue   *queue.Local
	ingest  *ingest.Handler
	workers *process.Workers
	cfg     Config
	log     *slog.Logger
	handler http.Handler
	metrics *metrics
	app     *app.App
}

// queueOptions configure the local queue.
var queueOptions = queue.Options{Visibility: 15 * time.Second}

// sqliteClaimBytes bounds the bodies a worker claims at once on SQLite,
// where each batch is saved under the one write lock that ingest's commits
// wait for: one worker saving 100 events of 50 KB at a time took the
// accept p99 from 46-51 to 66-71 ms, and with this bound it stayed at
// 47-53 ms; 100 events of 2 KB stay under it. PostgreSQL writes side by
// side, and there the bound made batches small enough for processing to
// fall behind (docs/benchmarks.md).
const sqliteClaimBytes = 512 << 10

// New wires the pipeline over db.
func New(db *store.DB, cfg Config, log *slog.Logger) *Server {
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 15 * time.Second
	}
	s := &Server{db: db, cfg: cfg, log: log, metrics: &metrics{}}
	// Processing one event takes milliseconds; a short visibility timeout
	// means messages held by a process that crashed are redelivered soon
	// after a restart, and a redelivery is harmless (idempotent).
	qopts := queueOptions
	qopts.Consumer = cfg.Processing // nil: the main pool
	// SQLite saves every batch under its one write lock.
	oneWriter := db.Dialect() == store.DialectSQLite
	if oneWriter {
		qopts.MaxReceiveBytes = sqliteClaimBytes
	}
	s.queue = queue.NewLocal(db, qopts)
	wake := make(chan struct{}, 1)
	keys := ingest.NewKeySet(func(ctx context.Context) (map[string]ingest.Key, error) {
		active, err := db.ActiveKeys(ctx)
		if err != nil {
			return nil, err
		}
		keys := make(map[string]ingest.Key, len(active))
		for k, ak := range active {
			keys[k] = ingest.Key{ProjectID: ak.ProjectID, RatePerMinute: ak.RateLimit}
		}
		return keys, nil
	}, ingest.KeySetConfig{Log: log})
	// A key rotated, a project deleted or its rate limit changed through
	// this process applies at once; other processes' changes within the
	// key set's TTL.
	db.OnAccessChange(keys.Expire)
	cfg.Ingest.Backlog = s.queue
	s.ingest = ingest.New(cfg.Ingest, keys, &wakingQueue{q: s.queue, wake: wake}, log)
	opts := []app.Option{
		app.WithReadyCheck(ops.Check{Name: "queue", Run: func(ctx context.Context) error {
			_, _, err := s.queue.Depth(ctx)
			return err
		}}),
		// Open to anyone who reaches the listener: flytrap dev binds to
		// 127.0.0.1 unless told otherwise (docs/api.md says so).
		app.WithMetrics(s.writeMetrics),
	}
	if cfg.Artifacts != nil {
		opts = append(opts, app.WithArtifacts(cfg.Artifacts))
	}
	s.app = app.New(db, app.Config{
		PublicURL:         cfg.PublicURL,
		SecureCookies:     cfg.SecureCookies,
		PlainHTTP:         cfg.PlainHTTP,
		Render:            cfg.Render,
		ServerRateLimit:   serverRateLimit(cfg.Ingest.RatePerMinute),
		LiveStreams:       cfg.LiveStreams,
		MaxConnsPerClient: cfg.MaxConnsPerClient,
		UploadRate:        cfg.UploadRate,
		Retention:         cfg.Retention,
		SessionPruneEvery: cfg.SessionPruneEvery,
		MonitorsEvery:     cfg.MonitorsEvery,
		QueueOldest:       s.queue.Oldest,
		SQLiteSpaceEvery:  cfg.SQLiteSpaceEvery,
		DataDir:           cfg.DataDir,
		MinFreeBytes:      cfg.MinFreeBytes,
		FreeSpace:         cfg.FreeSpace,
		Alerts:            cfg.Alerts,
		AlertsEvery:       cfg.AlertsEvery,
		Mailer:            cfg.Mailer,
		Log:               log,
		Now:               cfg.Now,
	}, opts...)
	pdb := cmp.Or(cfg.Processing, db)
	pcfg := process.Config{Saver: &countingSaver{db: pdb, m: s.metrics}, Outbox: pdb.AlertHook(cfg.Now), Privacy: pdb, Filters: pdb,
		Symbolicator: s.app.Symbolicator(), Log: log}
	if db.Dialect() == store.DialectPostgres {
		// NOTIFY reaches every dashboard process's listener, this one's too.
		pcfg.Notify = livemsg.Notify
	} else {
		pcfg.Publisher = s.app.Hub()
	}
	s.workers = &process.Workers{
		Processor: process.New(pcfg),
		Source:    queueSource{s.queue},
		Log:       log,
		Count:     cfg.Workers,
		Wake:      wake,
	}
	if oneWriter {
		// The other workers join only when the first falls behind
		// (process.Workers.Backlog).
		s.workers.Backlog = s.queue.Pending
	}
	mux := s.app.Mux()
	mux.Handle("/api/", s.ingest)
	// Project 0's ingest paths would otherwise fall to the sentry-cli API
	// under /api/0/, whose 404 has no CORS headers: a browser SDK with a
	// mistyped DSN would see a CORS failure instead of ingest's answer.
	for _, p := range []string{"envelope", "store"} {
		mux.Handle("/api/0/"+p, s.ingest)
		mux.Handle("/api/0/"+p+"/", s.ingest)
	}
	// nosniff outermost, so ingest paths answered without the mux get it;
	// every body gets the web face's deadline (web.Web.Handler), which
	// ingest re-times with its own flags.
	s.handler = ops.NoSniff(bodydeadline.Handler(s.ingest.AcceptRepeatedSlashes(mux)))
	if cfg.SecureCookies {
		s.handler = ops.HSTS(s.handler)
	}
	return s
}

// Handler returns the HTTP handler of every endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves on ln, at most Config.MaxConnsPerClient connections per
// client address, and processes the queue until ctx is cancelled, then
// shuts down in order: stop accepting requests and let in-flight ones finish
// (their events are queued durably), then let the workers finish the
// messages they hold. Unclaimed messages stay queued for the next start.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := s.app.HTTPServer(s.handler)
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.app.Run(workCtx)
	}()
	if s.cfg.BusyGCPercent > 0 {
		p := &ops.GCPacer{Busy: s.cfg.BusyGCPercent, HeapGoal: gcHeapGoal, MinRate: gcBusyRate, Quiet: gcQuiet, Activity: s.activity}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Run(workCtx, time.Second)
		}()
	}
	go func() {
		defer wg.Done()
		s.workers.Run(workCtx)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(s.app.Listener(srv, ln)) }()

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		// The queue is durable, so what no worker has claimed waits for
		// the next start rather than holding up the shutdown.
		s.log.Info("shutting down: finishing in-flight requests and the events being processed; queued events are processed on the next start")
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopWork()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return errors.Join(err, s.queue.Close())
}

// The GC pacer's busy threshold; how long it waits before calling the
// server idle, a few seconds so a pause between bursts keeps the room; and
// the heap goal the room stops at. At 100 MiB a flood of 50 KB events over
// 128 connections peaked at 217 MB of RSS; at 64 MiB at 188 to 194 MB
// (152 MB without the pacer) and the 32-connection gains held. The pacer
// holds the heap to the goal with a memory limit while it gives room.
const (
	gcBusyRate = 100
	gcQuiet    = 10 * time.Second
	gcHeapGoal = 64 << 20
)

// activity counts events accepted and stored, for the GC pacer.
func (s *Server) activity() int64 {
	return int64(s.ingest.Stats().Accepted) + s.metrics.processed.Load()
}

// wakingQueue enqueues and then nudges an idle worker, so a local event is
// processed at once instead of on the next poll.
type wakingQueue struct {
	q    *queue.Local
	wake chan struct{}
}

func (w *wakingQueue) Enqueue(ctx context.Context, body []byte) error {
	return w.EnqueueBatch(ctx, [][]byte{body})
}

func (w *wakingQueue) EnqueueBatch(ctx context.Context, bodies [][]byte) error {
	if err := w.q.EnqueueBatch(ctx, bodies); err != nil {
		return err
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return nil
}

// queueSource hands the local queue's messages to the processor workers,
// which do not depend on the queue package.
type queueSource struct{ *queue.Local }

// Ack acknowledges a processed batch with one DELETE.
func (q queueSource) Ack(ctx context.Context, ids []int64) error { return q.AckBatch(ctx, ids) }

func (q queueSource) Receive(ctx context.Context, max int) ([]process.Message, error) {
	msgs, err := q.Local.Receive(ctx, max)
	out := make([]process.Message, len(msgs))
	for i, m := range msgs {
		out[i] = process.Message{ID: m.ID, Body: m.Body, Attempts: m.Attempts}
	}
	return out, err
}

// serverRateLimit is ingest's RatePerMinute as the dashboard names it: its
// default for 0, and store.RateLimitNone for no limit.
func serverRateLimit(perMinute int) int {
	switch {
	case perMinute == 0:
		return ingest.DefaultRatePerMinute
	case perMinute < 0:
		return store.RateLimitNone
	}
	return perMinute
}
