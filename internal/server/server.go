// Package server assembles the local pipeline: ingest, the durable queue,
// processor workers, the REST API, operations endpoints and the retention
// job, all in one process over one database.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/dashboard"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/queue"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/web"
)

// Config tunes the local server.
type Config struct {
	Ingest ingest.Config
	// Workers is the number of processor goroutines.
	Workers int
	// RetentionMaxAge prunes events older than this (0 keeps them).
	RetentionMaxAge time.Duration
	// RetentionPerIssue keeps at most this many events per issue (0: all).
	RetentionPerIssue int
	// RetentionEvery is how often the retention job runs.
	RetentionEvery time.Duration
	// ShutdownGrace bounds how long in-flight HTTP requests may take to
	// finish after a shutdown signal.
	ShutdownGrace time.Duration
	// PublicURL is the base URL users and SDKs reach the server at; the
	// dashboard builds DSNs and snippets from it.
	PublicURL string
	// SecureCookies marks session cookies Secure; set it only under TLS.
	SecureCookies bool
	// DataDir is where the SQLite database and dev.json live; /readyz
	// fails when its file system has less than MinFreeBytes available
	// (0: ops.DefaultMinFreeBytes). Empty skips the check.
	DataDir      string
	MinFreeBytes uint64
	// FreeSpace measures DataDir's free space; nil is ops.FreeBytes.
	FreeSpace ops.FreeSpace
	// Render bounds how much of an event dashboard pages show.
	Render dashboard.RenderLimits
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
	web     *web.Web
}

// New wires the pipeline over db.
func New(db *store.DB, cfg Config, log *slog.Logger) *Server {
	if cfg.RetentionEvery <= 0 {
		cfg.RetentionEvery = time.Hour
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 15 * time.Second
	}
	s := &Server{db: db, cfg: cfg, log: log, metrics: &metrics{}}
	// Processing one event takes milliseconds; a short visibility timeout
	// means messages held by a process that crashed are redelivered soon
	// after a restart, and a redelivery is harmless (idempotent).
	s.queue = queue.NewLocal(db, queue.Options{Visibility: 15 * time.Second})
	wake := make(chan struct{}, 1)
	keys := ingest.NewKeySet(db.ActiveKeys, ingest.KeySetConfig{Log: log})
	cfg.Ingest.Backlog = s.queue
	s.ingest = ingest.New(cfg.Ingest, keys, &wakingQueue{q: s.queue, wake: wake}, log)
	s.web = web.New(db, web.Config{PublicURL: cfg.PublicURL, SecureCookies: cfg.SecureCookies, Render: cfg.Render}, log)
	proc := process.New(&countingSaver{db: db, m: s.metrics}, log).
		WithPublisher(live.PublisherFor(db, s.web.Hub()), db).
		WithPrivacy(db)
	s.workers = &process.Workers{
		Processor: proc,
		Source:    s.queue,
		Log:       log,
		Count:     cfg.Workers,
		Wake:      wake,
	}
	mux := s.web.Mux()
	mux.Handle("/api/", s.ingest)
	mux.Handle("GET /readyz", ops.Readyz(log, s.readyChecks()...))
	// Open to anyone who reaches the listener: flytrap dev binds to
	// 127.0.0.1 unless told otherwise (docs/api.md says so).
	mux.Handle("GET /metrics", ops.Metrics(s.writeMetrics))
	// nosniff outermost, so ingest paths answered without the mux get it.
	s.handler = ops.NoSniff(s.ingest.AcceptRepeatedSlashes(s.web.Mux()))
	return s
}

// readyChecks are what /readyz requires: the database, the local queue
// and, with a data directory, free space on its file system.
func (s *Server) readyChecks() []ops.Check {
	checks := []ops.Check{
		{Name: "database", Run: s.db.Ping},
		{Name: "queue", Run: func(ctx context.Context) error {
			_, _, err := s.queue.Depth(ctx)
			return err
		}},
	}
	if s.cfg.DataDir != "" {
		minFree := s.cfg.MinFreeBytes
		if minFree == 0 {
			minFree = ops.DefaultMinFreeBytes
		}
		checks = append(checks, ops.DiskSpace(s.cfg.DataDir, minFree, s.cfg.FreeSpace))
	}
	return checks
}

// Handler returns the HTTP handler of every endpoint.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves on ln and processes the queue until ctx is cancelled, then
// shuts down in order: stop accepting requests and let in-flight ones finish
// (their events are queued durably), then let the workers finish the
// messages they hold. Unclaimed messages stay queued for the next start.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := s.web.HTTPServer(s.handler)
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		s.web.Listen(workCtx)
	}()
	go func() {
		defer wg.Done()
		s.workers.Run(workCtx)
	}()
	go func() {
		defer wg.Done()
		s.retentionLoop(workCtx)
	}()

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		s.log.Info("shutting down: draining in-flight requests and queued work")
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

func (s *Server) retentionLoop(ctx context.Context) {
	if s.cfg.RetentionMaxAge <= 0 && s.cfg.RetentionPerIssue <= 0 {
		return
	}
	t := time.NewTicker(s.cfg.RetentionEvery)
	defer t.Stop()
	for {
		n, err := s.db.Prune(ctx, time.Now(), s.cfg.RetentionMaxAge, s.cfg.RetentionPerIssue)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("retention failed", "err", err)
		case n > 0:
			s.log.Info("retention pruned events", "deleted", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
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
