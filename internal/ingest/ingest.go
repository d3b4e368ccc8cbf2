// Package ingest is Flytrap's public front door: an http.Handler that accepts
// error events from the original Flytrap SDKs and from the official Sentry
// SDKs, authenticates them against a cached key set, enforces size and rate
// limits, normalizes them into event.Event and hands them to a durable queue.
//
// All state (rate-limit buckets, counters) lives in the Handler value rather
// than in package variables, because the same code is mounted by `flytrap dev`
// and wrapped by an AWS Lambda adapter, and tests run several side by side.
//
// Routes served (paths are absolute; mount the handler at "/api/"):
//
//	POST /api/errors, /api/rejections              original Flytrap SDKs (x-api-key)
//	POST /api/{project_id}/envelope/               Sentry envelopes
//	POST /api/{project_id}/store/                  Sentry legacy store endpoint
//	POST /api/{project_id}/security/               browsers' CSP reports (also /csp-report/)
//	     /api/{project_id}/minidump/, /unreal/{key}/ refused with a 400 that says why
//	GET, POST /api/embed/error-page/               Sentry's crash-report dialog and its form
//	OPTIONS on all of the above                    CORS preflight
package ingest

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/bodydeadline"
	"github.com/getflytrap/flytrap/internal/logthrottle"
)

// Defaults used when the corresponding Config field is zero.
const (
	DefaultMaxEventBytes = 1 << 20
	DefaultMaxBodyBytes  = 20 << 20
	// DefaultMaxEnvelopeBytes is Relay's default max_envelope_size: an
	// envelope may carry attachments (minidumps, screenshots, log files)
	// this large beside its event. Flytrap skips their bytes as they
	// arrive, so they cost time, not memory.
	DefaultMaxEnvelopeBytes = 100 << 20
	DefaultRatePerMinute    = 6000
	// DefaultReportsPerMinute and DefaultReportsPerClientPerMinute are
	// the crash-report form's budget (see Config.ReportsPerMinute): a
	// crash seen by many users at once may bring a report a second to
	// a project, and one user sends one report, or a few when the form
	// refused a field.
	DefaultReportsPerMinute          = 60
	DefaultReportsPerClientPerMinute = 5
	// DefaultMaxInflightBytes and DefaultMaxConcurrentDecodes are sized
	// for a 2 GB instance: together they bound request bodies to about
	// 64 MiB + 16 × 16 MiB (brotli's largest window) = 320 MiB.
	DefaultMaxInflightBytes     = 64 << 20
	DefaultMaxConcurrentDecodes = 16
	// DefaultBodyTimeout and DefaultMinBodyRate give an SDK 10 s plus 1 s
	// per 32 KiB it has sent to finish its body: a 1 MiB envelope may
	// take 42 s, a client that announced a body and stalls is cut off
	// after 10 s. They are what every other request body gets too.
	DefaultBodyTimeout = bodydeadline.DefaultGrace
	DefaultMinBodyRate = bodydeadline.DefaultRate
	// DefaultMaxBacklog is about a minute and a half of processing on a
	// small machine (issue 10 measured ~550 events/s draining on 2
	// cores): enough to absorb bursts, small enough that a flood is
	// pushed back to the SDKs instead of piling up on disk.
	DefaultMaxBacklog = 50_000
	// DefaultPaceBacklog is the backlog past which a request waits for
	// processing before its body is read (see pace): four of a worker's
	// batches, under a second of processing for events of 50 KB and a
	// fraction of one for small ones, so that a load processing keeps up
	// with never waits.
	DefaultPaceBacklog = 400
	// maxPace is the longest pace holds a request. An SDK's transport
	// waits for its answers, so holding them slows it to the rate events
	// are processed; after maxPace it is let through whatever the backlog,
	// which MaxBacklog bounds.
	maxPace = time.Second
	// paceTick is how often the backlog is read while requests are held.
	paceTick = 5 * time.Millisecond
	// backlogRetryAfter is the Retry-After, in seconds, of a request
	// refused for the backlog: long enough for processing to make
	// headway, short enough that SDKs resume soon after it has.
	backlogRetryAfter = 5
	// queueRetryAfter is the Retry-After, in seconds, of an event the
	// queue or the key set could not take (their database restarting, a
	// full disk) or that failed unexpectedly: as long as a database
	// restart takes.
	queueRetryAfter = 5
)

// Config tunes a Handler. The zero value is usable: limits take their
// defaults, but IPs are dropped because no salt is set.
type Config struct {
	// MaxEventBytes caps the decompressed size of one event: an envelope
	// item, a store body or a Flytrap body. 0 means DefaultMaxEventBytes.
	MaxEventBytes int64
	// MaxBodyBytes caps a store or Flytrap request body as sent (possibly
	// compressed), and the bytes of an envelope kept in memory: its event
	// items together. 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxEnvelopeBytes caps an envelope as sent and decompressed,
	// attachments and other items Flytrap does not store included: their
	// bytes are read and skipped, never held. 0 means
	// DefaultMaxEnvelopeBytes; a value below MaxBodyBytes is raised to it.
	MaxEnvelopeBytes int64
	// MaxInflightBytes caps the request body bytes all requests together
	// hold in memory, decoded or as sent, with the windows of their
	// brotli (up to 16 MiB) and zstd (up to 8 MiB) decoders; a request
	// that would pass it is answered 503 with Retry-After before the
	// memory is allocated. 0 means DefaultMaxInflightBytes; a value not
	// above MaxBodyBytes is raised to MaxBodyBytes+1, or the largest
	// bodies could never be accepted (a brotli body that large also needs
	// room for its window).
	MaxInflightBytes int64
	// MaxInflightBytesPerProject caps what one project's requests hold of
	// MaxInflightBytes, so a client with a project's public key cannot
	// spend what every project shares; before a request's project is
	// known (its key is in the envelope header) its bytes count against
	// its client address instead, with the same cap. Over it, the request
	// is answered 503 with Retry-After. 0 means a quarter of
	// MaxInflightBytes; a value not above MaxBodyBytes is raised to
	// MaxBodyBytes+1, as for MaxInflightBytes, and one above
	// MaxInflightBytes is lowered to it.
	MaxInflightBytesPerProject int64
	// MaxConcurrentDecodes caps the compressed bodies being decoded at
	// once, each holding a decoder window of up to 16 MiB (brotli); one
	// more is answered 503 with Retry-After. 0 means
	// DefaultMaxConcurrentDecodes.
	MaxConcurrentDecodes int
	// MaxDecodesPerClient caps the compressed bodies of one client
	// address (an IPv6 /64) decoded at once, so one client cannot hold
	// every decoder; its request over the cap waits, until its body's
	// deadline, for one of its own to finish. 0 means a quarter of
	// MaxConcurrentDecodes, at least 1; a value above
	// MaxConcurrentDecodes is lowered to it.
	MaxDecodesPerClient int
	// BodyTimeout is how long a request body may take, plus one second
	// per MinBodyRate bytes received, capped at two minutes; past it the
	// request is answered 408 and the connection closed. 0 means
	// DefaultBodyTimeout. Only servers whose ResponseWriter supports read
	// deadlines (net/http's) enforce it; a Lambda body is already in
	// memory.
	BodyTimeout time.Duration
	// MinBodyRate is the slowest sustained upload, in bytes per second,
	// that BodyTimeout allows for. 0 means DefaultMinBodyRate.
	MinBodyRate int64
	// RatePerMinute is the sustained event rate of each project without
	// one of its own (Key.RatePerMinute); bursts of the same size are
	// allowed. 0 means DefaultRatePerMinute, a negative value no limit.
	RatePerMinute int
	// ReportsPerMinute bounds each project's posts of the crash-report
	// form (Sentry.showReportDialog, /api/embed/error-page/), and
	// ReportsPerClientPerMinute those of one client address to one
	// project; bursts of a minute's worth are allowed. The form has this
	// budget of its own instead of RatePerMinute's, so a flood of
	// events does not keep users from reporting and a flood of posts
	// does not eat the events' budget. 0 means the Default; a negative
	// value is no limit.
	ReportsPerMinute          int
	ReportsPerClientPerMinute int
	// IPSalt is prepended to an IP address before hashing it, so stored
	// hashes cannot be reversed by hashing all 2^32 IPv4 addresses. An empty
	// salt makes the handler drop IPs, for exactly that reason.
	IPSalt []byte
	// DropIPs drops user IP addresses instead of hashing them.
	DropIPs bool
	// TrustForwardedFor takes the client IP (for Sentry's "{{auto}}" user
	// IP) from the last X-Forwarded-For entry instead of the connection's
	// remote address. Enable it only behind one proxy that appends to that
	// header, such as API Gateway, or clients can pick the address.
	TrustForwardedFor bool
	// Backlog reports how many accepted events wait to be processed; nil
	// disables the backlog limit.
	Backlog Backlog
	// MaxBacklog is the backlog past which every event request is
	// answered 429, before its body is read, until processing catches up.
	// 0 means DefaultMaxBacklog, a negative value disables the limit.
	MaxBacklog int64
	// PaceBacklog is the backlog past which a request is held, before its
	// body is read, until processing brings the backlog back under it (at
	// most a second): accepting then slows to the rate events are
	// processed instead of the queue growing and taking the CPU processing
	// needs. 0 means DefaultPaceBacklog, a negative value never holds, and
	// neither does a disabled MaxBacklog.
	PaceBacklog int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Backlog is the depth of the queue behind ingest. The local queue
// maintains it in memory; it must be as cheap, since it is checked on
// every request.
type Backlog interface {
	// Pending returns how many enqueued events are not yet processed.
	Pending() int64
}

// Keys resolves a public key (a DSN's key, a Flytrap x-api-key) to its
// project. Implementations must be cheap and must not touch the event store;
// KeySet is the usual one.
type Keys interface {
	// ProjectForKey returns the project the key belongs to, ok=false for an
	// unknown or inactive key, and an error only when the lookup itself
	// failed.
	ProjectForKey(ctx context.Context, publicKey string) (key Key, ok bool, err error)
}

// Key is what a public key stands for: its project, and the project's own
// event rate, which comes with the key so that ingest, on AWS too, needs
// nothing but its key set to apply it.
type Key struct {
	ProjectID int64
	// RatePerMinute is the project's sustained event rate, bursts of the
	// same size allowed: 0 means Config.RatePerMinute, a negative value
	// no limit. A change applies to the project's bucket as it is, at
	// the next lookup of any of its keys.
	RatePerMinute int
	// Set numbers the key set the key was found in, a later set higher
	// (always 0 from Keys that keep no sets), so that a request that
	// found its key in an older set than another request did cannot put
	// the older rate back.
	Set uint64
}

// Queue receives accepted events.
//
// An Enqueue error with a method TooLarge() bool that returns true (in its
// chain) means the body can never fit the queue (SQS takes 1 MiB); ingest
// then answers 413 instead of 503, since a retry would fail the same way.
type Queue interface {
	// Enqueue stores body (the JSON of one event.Event) durably and returns
	// only after it is durable; an error means the event was not accepted.
	Enqueue(ctx context.Context, body []byte) error
	// EnqueueBatch stores the events of one envelope like Enqueue; an
	// error means the request must fail (some may have been stored, and
	// are stored again when the SDK retries; processing deduplicates
	// them by event ID).
	EnqueueBatch(ctx context.Context, bodies [][]byte) error
}

// Handler is the ingest http.Handler. Create it with New; it is safe for
// concurrent use.
type Handler struct {
	cfg     Config
	keys    Keys
	queue   Queue
	log     *slog.Logger
	mux     *http.ServeMux
	limiter *limiter
	reports *reportLimits
	budget  *budget
	stats   counters
	warns   *logthrottle.Throttle
	// checkInDrops throttles, per project, the line of an invalid
	// check-in: it is answered 200, as Sentry answers it, so the log is
	// where the user learns that a monitor gets nothing.
	checkInDrops *logthrottle.Throttle
	// reserved counts decoded events on their way into the queue, not yet
	// in Backlog.Pending (see reserve).
	reserved atomic.Int64
	pacer    pacer
}

// New returns a Handler. A nil log discards log output.
func New(cfg Config, keys Keys, q Queue, log *slog.Logger) *Handler {
	if cfg.MaxEventBytes <= 0 {
		cfg.MaxEventBytes = DefaultMaxEventBytes
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxEnvelopeBytes <= 0 {
		cfg.MaxEnvelopeBytes = DefaultMaxEnvelopeBytes
	}
	cfg.MaxEnvelopeBytes = max(cfg.MaxEnvelopeBytes, cfg.MaxBodyBytes)
	if cfg.MaxInflightBytes <= 0 {
		cfg.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if cfg.MaxConcurrentDecodes <= 0 {
		cfg.MaxConcurrentDecodes = DefaultMaxConcurrentDecodes
	}
	if cfg.MaxDecodesPerClient <= 0 {
		cfg.MaxDecodesPerClient = max(1, cfg.MaxConcurrentDecodes/4)
	}
	cfg.MaxDecodesPerClient = min(cfg.MaxDecodesPerClient, cfg.MaxConcurrentDecodes)
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = DefaultBodyTimeout
	}
	if cfg.MinBodyRate <= 0 {
		cfg.MinBodyRate = DefaultMinBodyRate
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = DefaultRatePerMinute
	}
	if cfg.ReportsPerMinute == 0 {
		cfg.ReportsPerMinute = DefaultReportsPerMinute
	}
	if cfg.ReportsPerClientPerMinute == 0 {
		cfg.ReportsPerClientPerMinute = DefaultReportsPerClientPerMinute
	}
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = DefaultMaxBacklog
	}
	if cfg.PaceBacklog == 0 {
		cfg.PaceBacklog = DefaultPaceBacklog
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.IPSalt) == 0 && !cfg.DropIPs {
		log.Warn("ingest: no IP salt configured; user IP addresses will be dropped instead of hashed")
		cfg.DropIPs = true
	}
	if cfg.MaxInflightBytes <= cfg.MaxBodyBytes {
		log.Warn("ingest: the in-flight byte budget is smaller than one body; raising it", "max_inflight_bytes", cfg.MaxInflightBytes, "max_body_bytes", cfg.MaxBodyBytes)
		cfg.MaxInflightBytes = cfg.MaxBodyBytes + 1
	}
	if cfg.MaxInflightBytesPerProject <= 0 {
		cfg.MaxInflightBytesPerProject = cfg.MaxInflightBytes / 4
	}
	cfg.MaxInflightBytesPerProject = min(max(cfg.MaxInflightBytesPerProject, cfg.MaxBodyBytes+1), cfg.MaxInflightBytes)
	h := &Handler{cfg: cfg, keys: keys, queue: q, log: log, mux: http.NewServeMux(), warns: logthrottle.New(warnEvery),
		checkInDrops: logthrottle.New(warnEvery),
		budget:       newBudget(cfg.MaxInflightBytes, cfg.MaxInflightBytesPerProject, cfg.MaxConcurrentDecodes, cfg.MaxDecodesPerClient)}
	h.limiter = newLimiter(cfg.RatePerMinute, cfg.Now)
	h.reports = newReportLimits(cfg.ReportsPerMinute, cfg.ReportsPerClientPerMinute, cfg.Now)
	h.route("/api/errors", h.serveFlytrap(flytrapError))
	h.route("/api/rejections", h.serveFlytrap(flytrapRejection))
	// Sentry SDKs append a slash, some proxies and hand-written clients
	// do not; {$} keeps the slash form from matching deeper paths.
	h.route("/api/{project_id}/envelope/{$}", h.serveEnvelope)
	h.route("/api/{project_id}/envelope", h.serveEnvelope)
	h.route("/api/{project_id}/store/{$}", h.serveStore)
	h.route("/api/{project_id}/store", h.serveStore)
	// Browsers' CSP reports; csp-report is the path Sentry gave out
	// before security.
	h.route("/api/{project_id}/security/{$}", h.serveSecurity)
	h.route("/api/{project_id}/security", h.serveSecurity)
	h.route("/api/{project_id}/csp-report/{$}", h.serveSecurity)
	h.route("/api/{project_id}/csp-report", h.serveSecurity)
	// Sentry's crash-report dialog (showReportDialog): not under a
	// project, whose ID is in the dsn query parameter.
	h.mux.HandleFunc("/api/embed/error-page/{$}", h.serveErrorPage)
	h.mux.HandleFunc("/api/embed/error-page", h.serveErrorPage)
	minidump := h.unsupportedUpload("minidump uploads",
		"Send crashes as events to /api/{project_id}/envelope/ instead: sentry-native's inproc or breakpad backend does, and so do Sentry's JavaScript SDKs in Electron's processes.")
	h.mux.HandleFunc("/api/{project_id}/minidump/{$}", minidump)
	h.mux.HandleFunc("/api/{project_id}/minidump", minidump)
	unreal := h.unsupportedUpload("Unreal Engine crash reports",
		"Send errors as events to /api/{project_id}/envelope/ instead, with the Sentry Unreal SDK's own transport rather than the engine's crash reporter.")
	h.mux.HandleFunc("/api/{project_id}/unreal/{key}/{$}", unreal)
	h.mux.HandleFunc("/api/{project_id}/unreal/{key}", unreal)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.writeError(w, r, &apiError{status: http.StatusNotFound, code: "not_found", reason: ReasonBadRequest,
			msg: "no ingest endpoint at " + clamp(r.URL.Path, 200) + "; Sentry SDKs post to /api/{project_id}/envelope/, Flytrap SDKs to /api/errors and /api/rejections"})
	})
	return h
}

// route registers fn for POST on path and answers every other method on the
// same path itself, so preflights succeed and wrong methods get a JSON 405
// instead of the mux's plain-text one.
func (h *Handler) route(path string, fn func(*http.Request) (any, *apiError)) {
	h.mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		if aerr := h.checkBacklog(); aerr != nil {
			// Before the body, the key and the decoder: a flood past
			// the backlog costs a header parse per request.
			h.writeError(w, r, aerr)
			return
		}
		h.timeBody(w, r)
		body, aerr := fn(r)
		if aerr != nil {
			h.writeError(w, r, aerr)
			return
		}
		if hs, ok := body.(interface{ setHeaders(http.Header) }); ok {
			hs.setHeaders(w.Header())
		}
		writeJSON(w, http.StatusOK, body)
	})
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			preflight(w)
			return
		}
		w.Header().Set("Allow", "POST, OPTIONS")
		h.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", reason: ReasonBadRequest,
			msg: r.Method + " is not allowed here; SDKs send events with POST"})
	})
}

// timeBody gives the request body a read deadline that moves with its
// progress (bodydeadline.Set with BodyTimeout and MinBodyRate): a client
// whose Content-Length promises more than it sends loses its connection
// after BodyTimeout instead of holding it, and its share of the budget,
// while a slow but steady upload finishes.
func (h *Handler) timeBody(w http.ResponseWriter, r *http.Request) {
	bodydeadline.Set(w, r, h.cfg.BodyTimeout, h.cfg.MinBodyRate)
}

// bodyDeadline is when r's body must have arrived by: its read deadline
// as it stands, or BodyTimeout from now for a body already in memory.
func (h *Handler) bodyDeadline(r *http.Request) time.Time {
	if d, ok := bodydeadline.Of(r); ok {
		return d
	}
	return time.Now().Add(h.cfg.BodyTimeout)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCORS(w, r)
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler {
			// net/http's own way to abort a response silently.
			panic(v)
		}
		// A panic is a bug in this package or in the Queue/Keys
		// implementation, never the client's fault; answer like an
		// unavailable dependency so the server keeps serving.
		h.log.Error("ingest: recovered panic", "panic", v, "method", r.Method, "path", r.URL.Path, "stack", string(debug.Stack()))
		h.writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: "internal_error", reason: ReasonPanic,
			retryAfter: queueRetryAfter, msg: "the server failed to process this request; the failure has been logged"})
	}()
	if strings.Contains(r.URL.Path, "//") {
		r = collapseSlashes(r)
	}
	h.mux.ServeHTTP(w, r)
}

// AcceptRepeatedSlashes returns a handler that serves ingest endpoints
// written with repeated slashes ("//api/errors", what an SDK configured
// with "http://host/" posts to) with h and every other request with next.
// Mount it in front of a ServeMux that routes "/api/" to h: the mux would
// answer such a path with a redirect, which browsers refuse for a CORS
// preflight and SDKs do not follow, so the event would be lost silently.
func (h *Handler) AcceptRepeatedSlashes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "//") {
			if c := collapseSlashes(r); h.routes(c) {
				h.ServeHTTP(w, c)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// routes reports whether r's path is one of the ingest endpoints rather
// than the catch-all that answers 404.
func (h *Handler) routes(r *http.Request) bool {
	_, pattern := h.mux.Handler(r)
	return pattern != "/"
}

// collapseSlashes returns a shallow copy of r whose path has every run of
// slashes reduced to one.
func collapseSlashes(r *http.Request) *http.Request {
	var b strings.Builder
	b.Grow(len(r.URL.Path))
	for i := 0; i < len(r.URL.Path); i++ {
		if c := r.URL.Path[i]; c != '/' || i == 0 || r.URL.Path[i-1] != '/' {
			b.WriteByte(c)
		}
	}
	c := r.Clone(r.Context())
	c.URL.Path, c.URL.RawPath = b.String(), ""
	return c
}

// Reasons a request is rejected, the keys of Stats.Rejected.
const (
	ReasonBadRequest   = "bad_request"  // 400, 404, 405, 408, 415
	ReasonUnauthorized = "unauthorized" // 401: missing or unknown key
	ReasonForbidden    = "forbidden"    // 403: key of another project
	ReasonTooLarge     = "too_large"    // 413
	ReasonRateLimited  = "rate_limited" // 429: the project is over its rate
	ReasonBacklog      = "backlog"      // 429: processing is too far behind
	ReasonQueueError   = "queue_error"  // 503: the queue refused the events
	ReasonKeyError     = "key_error"    // 503: Keys.ProjectForKey failed
	ReasonPanic        = "panic"        // 503: a recovered panic
	ReasonOverloaded   = "overloaded"   // 503: the in-flight body budget is spent
)

var reasons = [...]string{ReasonBadRequest, ReasonUnauthorized, ReasonForbidden, ReasonTooLarge,
	ReasonRateLimited, ReasonBacklog, ReasonQueueError, ReasonKeyError, ReasonPanic, ReasonOverloaded}

// counters are the live values behind Stats.
type counters struct {
	accepted atomic.Uint64
	dropped  atomic.Uint64
	rejected [len(reasons)]atomic.Uint64
}

func (c *counters) reject(reason string) {
	for i, r := range reasons {
		if r == reason {
			c.rejected[i].Add(1)
			return
		}
	}
}

// Stats is a snapshot of a Handler's counters since it was created.
type Stats struct {
	// Accepted counts events handed to the queue.
	Accepted uint64
	// DroppedItems counts envelope items accepted but not kept:
	// transactions, attachments and every other item but events,
	// feedback and sessions; session items that could not be counted
	// (no release, no start time); and the security reports other than
	// CSP violations.
	DroppedItems uint64
	// Rejected counts refused requests by reason; every Reason* constant
	// is present, zero or not, so metrics series exist from the start.
	Rejected map[string]uint64
}

// Stats returns the current counters.
func (h *Handler) Stats() Stats {
	s := Stats{
		Accepted:     h.stats.accepted.Load(),
		DroppedItems: h.stats.dropped.Load(),
		Rejected:     make(map[string]uint64, len(reasons)),
	}
	for i, r := range reasons {
		s.Rejected[r] = h.stats.rejected[i].Load()
	}
	return s
}
