// Package web assembles what people and scripts talk to: the dashboard, the
// REST API, the live stream and /healthz. internal/app builds every server
// on it, adding /readyz, /metrics and the background jobs.
package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/api"
	"github.com/getflytrap/flytrap/internal/bodydeadline"
	"github.com/getflytrap/flytrap/internal/connlimit"
	"github.com/getflytrap/flytrap/internal/dashboard"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/logthrottle"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// Config configures the web face of a server.
type Config struct {
	// PublicURL is the base URL users reach the dashboard at.
	PublicURL string
	// IngestURL is where SDKs send events, when not PublicURL (AWS: the
	// API Gateway endpoint).
	IngestURL string
	// SecureCookies marks session cookies Secure; set it only under TLS.
	SecureCookies bool
	// Render bounds how much of an event dashboard pages show.
	Render dashboard.RenderLimits
	// Symbolicator, when set, gives the issue page its Re-symbolicate
	// action (a *symbolicate.Symbolicator over the artifact store).
	Symbolicator dashboard.Symbolicator
	// PlainHTTP shows every dashboard page a banner that the connection
	// is not encrypted; set it when other machines reach the dashboard
	// without TLS.
	PlainHTTP bool
	// TrustForwardedFor takes a client's address for sign-in throttling
	// from the last X-Forwarded-For entry: set it only when every request
	// comes through one proxy that appends it (CloudFront on AWS).
	TrustForwardedFor bool
	// Mailer emails set-password links (invitations, password resets,
	// "Forgot password?"); nil shows them to the admin only.
	Mailer service.LinkMailer
	// AlertsAllowPrivate lets webhook channels name loopback, private and
	// link-local addresses, as delivery does; the app sets it from its
	// alerts' notify.Config.
	AlertsAllowPrivate bool
	// ServerRateLimit is ingest's limit of projects without their own,
	// shown on their settings pages (dashboard.Config's).
	ServerRateLimit int
	// AlertEmailLogged says alert email is only logged, the alerts'
	// notify.Config having no Mailer; the app sets it.
	AlertEmailLogged bool
	// LiveStreams bounds the live streams open at once, per user and in
	// all; zero fields take live's defaults.
	LiveStreams live.Limits
	// MaxConnsPerClient bounds the connections one client address (an
	// IPv6 /64) holds open at once (0: connlimit.DefaultPerClient), an
	// idle one giving way to a new one (connlimit.Listener). With
	// TrustForwardedFor the connections come from the proxy, which bounds
	// its own clients, and Listener leaves them unbounded.
	MaxConnsPerClient int
}

// Web is the dashboard, the REST API, the live stream and /healthz over one
// database.
type Web struct {
	cfg Config
	db  *store.DB
	hub *live.Hub
	log *slog.Logger
	mux *http.ServeMux
	// refused counts connections Listener's listeners closed; connWarns
	// logs them once per 10 s.
	refused   atomic.Int64
	connWarns *logthrottle.Throttle
}

// New mounts the dashboard, /api/v1, /api/v1/stream and /healthz.
func New(db *store.DB, cfg Config, log *slog.Logger) *Web {
	w := &Web{cfg: cfg, db: db, hub: live.NewHub(0), log: log, mux: http.NewServeMux(), connWarns: logthrottle.New(10 * time.Second)}
	db.OnAccessChange(w.hub.AccessChanged)
	db.OnUsageNotRecorded(usageLog(log))
	dash := dashboard.New(dashboard.Config{
		Store:         db,
		Log:           log,
		PublicURL:     cfg.PublicURL,
		IngestURL:     cfg.IngestURL,
		SecureCookies: cfg.SecureCookies,
		Render:        cfg.Render,
		Symbolicator:  cfg.Symbolicator,
		PlainHTTP:     cfg.PlainHTTP,

		TrustForwardedFor:  cfg.TrustForwardedFor,
		Mailer:             cfg.Mailer,
		AlertsAllowPrivate: cfg.AlertsAllowPrivate,
		ServerRateLimit:    cfg.ServerRateLimit,
		AlertEmailLogged:   cfg.AlertEmailLogged,
	})
	session := apiSession(dash.SessionAuth)
	w.mux.Handle("/", dash)
	w.mux.Handle("/api/v1/", api.New(db, log, nil).WithSessionAuth(session).WithThrottle(dash.Throttle(), dash.ClientKey).WithCommentThrottle(dash.CommentThrottle()).WithEmailMisses(dash.EmailMisses()).WithIngestBase(dash.IngestBase).WithMailer(cfg.Mailer).WithPublicURL(cfg.PublicURL).WithAlertDestinations(cfg.AlertsAllowPrivate).WithAlertEmailLogged(cfg.AlertEmailLogged))
	streamOpts := []live.Option{live.WithLimits(cfg.LiveStreams)}
	if u, err := url.Parse(cfg.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		// As the dashboard's forms: behind a proxy that rewrites Host the
		// browser's Origin is the public URL, not the Host seen here.
		streamOpts = append(streamOpts, live.WithTrustedOrigin(u.Scheme+"://"+u.Host))
	}
	w.mux.Handle("GET /api/v1/stream", live.Handler(w.hub, live.BearerOrSession(db, live.Authenticator(session)), db, log, streamOpts...))
	w.mux.HandleFunc("GET /healthz", ops.Healthz)
	return w
}

// usageLog warns of bookkeeping a read could not write, once per 10 s:
// on a full disk every authenticated request fails to, and the requests
// themselves go on. A request the client gave up on is no news.
func usageLog(log *slog.Logger) func(error) {
	warns := logthrottle.New(10 * time.Second)
	return func(err error) {
		if errors.Is(err, context.Canceled) {
			return
		}
		if ok, held := warns.Allow("usage", time.Now()); ok {
			log.Warn("a request went on without recording its use (an API token's last use); free disk space if the disk is full",
				"err", err, "suppressed", held)
		}
	}
}

// Mux is the web mux, for the caller's extra routes (/readyz, /metrics,
// ingest). Serve Handler, not the mux itself.
func (w *Web) Mux() *http.ServeMux { return w.mux }

// Handler is what to serve: the mux, with the headers every response
// needs, and a read deadline on every request body that moves with its
// progress (bodydeadline.Handler), so that forms and API calls trickled
// byte by byte hold their connection for seconds, not the server's
// ReadTimeout, while uploads sent at a usable rate finish.
func (w *Web) Handler() http.Handler { return bodydeadline.Handler(ops.NoSniff(w.mux)) }

// Hub is the live hub the processor publishes to in this process.
func (w *Web) Hub() *live.Hub { return w.hub }

// Listen feeds the hub from PostgreSQL NOTIFY, so messages published by
// other processes (more dashboards, the processor Lambda) reach this one's
// streams. It returns when ctx ends; on SQLite, publishing is in-process
// and it returns at once.
func (w *Web) Listen(ctx context.Context) {
	if w.db.Dialect() != store.DialectPostgres {
		return
	}
	_ = (&live.Listener{DB: w.db.SQL(), Hub: w.hub, Log: w.log}).Run(ctx)
}

// MaxStreamsPerConn bounds the requests an HTTP/2 client (the EC2
// dashboard under TLS) has open on one connection, each of which may hold
// ops.MaxHeaderBytes while its body stalls: the 100 to 250 of Go's defaults
// let one connection hold as much as a hundred. A dashboard page loads a
// handful of files at once, sentry-cli uploads 8 chunks; more wait their
// turn in the client.
const MaxStreamsPerConn = 16

// HTTPServer returns a server for h with timeouts suited to SDK uploads and
// dashboards; serve it on Listener's listener. Headers get
// ops.ReadHeaderTimeout and are at most ops.MaxHeaderBytes. Bodies get deadlines of
// their own (Handler; ingest's ingest.Config.BodyTimeout), tighter for a
// stalled body and longer for a large steady one; ReadTimeout is the
// bound of a handler served without them. Idle keep-alive
// connections are closed after a minute: SDKs reuse them within seconds
// of each other, and idle ones only cost memory. Shutdown neither waits
// for nor cancels hijacked (WebSocket) connections, so closing the hub on
// shutdown ends their streams.
func (w *Web) HTTPServer(h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ops.ReadHeaderTimeout,
		MaxHeaderBytes:    ops.MaxHeaderBytes,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: MaxStreamsPerConn},
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(w.log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(w.hub.Close)
	return srv
}

// Listener bounds the connections each client address holds open on ln,
// for srv to serve on, to Config.MaxConnsPerClient (connlimit), so that
// what stalled requests hold, their headers and buffers, is bounded per
// address; it sets srv's ConnState hook, so that an address at its limit
// gives up an idle keep-alive connection for a new one. Behind a trusted
// proxy (Config.TrustForwardedFor) it returns ln as is.
func (w *Web) Listener(srv *http.Server, ln net.Listener) net.Listener {
	if w.cfg.TrustForwardedFor {
		return ln
	}
	limit := cmp.Or(w.cfg.MaxConnsPerClient, connlimit.DefaultPerClient)
	l := connlimit.New(ln, limit)
	srv.ConnState = l.ConnState
	l.OnRefuse = func(remote net.Addr) {
		w.refused.Add(1)
		if ok, held := w.connWarns.Allow("conns", time.Now()); ok {
			w.log.Warn("closed a connection from a client address that holds its limit of open ones, none of them idle; raise --max-conns-per-client (flytrap.yaml's max_conns_per_client) if it is a real client",
				"client", remote.String(), "limit", limit, "suppressed", held)
		}
	}
	return l
}

// WriteLiveMetrics writes the hub's counters in the Prometheus text format.
func (w *Web) WriteLiveMetrics(rw io.Writer) {
	hs := w.hub.Stats()
	ops.Metric(rw, "flytrap_live_subscribers", "gauge", "Open live-update streams.", int64(hs.Subscribers))
	ops.Metric(rw, "flytrap_live_delivered_total", "counter", "Live messages handed to streams.", int64(hs.Delivered))
	ops.Metric(rw, "flytrap_live_dropped_total", "counter", "Live messages a slow stream had no room for; each cut that stream off (close 4000).", int64(hs.Dropped))
}

// WriteConnMetrics writes the count of connections Listener refused in
// the Prometheus text format.
func (w *Web) WriteConnMetrics(rw io.Writer) {
	ops.Metric(rw, "flytrap_connections_refused_total", "counter", "Connections closed as soon as accepted, their client address holding its limit of open ones.", w.refused.Load())
}

// apiSession adapts the dashboard's session check to the errors the REST
// API and the live stream map to 401 and 403.
func apiSession(auth func(*http.Request) (store.User, error)) api.SessionAuth {
	return func(r *http.Request) (store.User, error) {
		u, err := auth(r)
		switch {
		case errors.Is(err, dashboard.ErrNoSession):
			return u, fmt.Errorf("%w: %w", store.ErrNotFound, err)
		case errors.Is(err, dashboard.ErrCSRF):
			return u, fmt.Errorf("%w: %w", api.ErrCSRF, err)
		}
		return u, err
	}
}
