// Package ops serves the operations endpoints of every Flytrap server
// (/healthz, /readyz, /metrics) and the headers every response carries, so
// `flytrap dev` and the EC2 dashboard answer them alike. It imports only
// the standard library: the ingest Lambda uses it too and must stay small.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/getflytrap/flytrap/internal/authheader"
)

// DefaultMinFreeBytes is the free space below which a data directory makes
// a server not ready: enough for SQLite's WAL, the local queue and
// certificate renewals to keep working while an operator reacts.
const DefaultMinFreeBytes = 100 << 20

// MaxHeaderBytes bounds a request's line and headers on every Flytrap
// server; larger ones get net/http's 431. SDKs send about 1 KB and a
// browser's dashboard cookies a few KB; Go's default of 1 MiB let each
// stalled connection hold a megabyte of headers, which no other limit
// counts.
const MaxHeaderBytes = 64 << 10

// ReadHeaderTimeout bounds how long every Flytrap server waits for a
// request's headers: SDKs and browsers send them at once, so 5 s is
// plenty and cuts off clients that trickle them.
const ReadHeaderTimeout = 5 * time.Second

// readyTimeout bounds all of a readiness probe's checks together; probes
// retry, and a database slower than this is not ready.
const readyTimeout = 3 * time.Second

// NoSniff returns h with "X-Content-Type-Options: nosniff" on every
// response, so browsers never reinterpret SDK-supplied text served as JSON
// or plain text as HTML or script.
func NoSniff(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetNoSniff(w.Header())
		h.ServeHTTP(w, r)
	})
}

// HSTS returns h with a Strict-Transport-Security header on every
// response, so a browser that reached the server over HTTPS once uses
// HTTPS only for a year; browsers ignore the header on plain HTTP. Serve
// it only where browsers reach the host over HTTPS.
func HSTS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		h.ServeHTTP(w, r)
	})
}

// SetNoSniff adds the header NoSniff adds, for handlers that are not
// served through a wrapped mux (the ingest Lambda).
func SetNoSniff(h http.Header) { h.Set("X-Content-Type-Options", "nosniff") }

// Healthz answers 200 "ok" while the process runs; it checks nothing else,
// so a load balancer does not restart a server whose database is down.
func Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

// Check is one readiness condition.
type Check struct {
	// Name says what failed in the log.
	Name string
	// Run returns nil when the condition holds.
	Run func(ctx context.Context) error
}

// readyBody is /readyz's answer; it never carries error text, because
// anyone who can reach the server can probe it.
type readyBody struct {
	Status string `json:"status"`
}

// Readyz returns the /readyz handler: 200 {"status":"ready"} when every
// check passes, else 503 {"status":"not ready"}, with each failure logged
// (name and error) on log instead of sent.
func Readyz(log *slog.Logger, checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		body, status := readyBody{Status: "ready"}, http.StatusOK
		for _, c := range checks {
			if err := c.Run(ctx); err != nil {
				log.Warn("not ready", "check", c.Name, "err", err)
				body, status = readyBody{Status: "not ready"}, http.StatusServiceUnavailable
				break
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
}

// FreeSpace returns the bytes an unprivileged process may still write on
// the file system that holds dir.
type FreeSpace func(dir string) (uint64, error)

// DiskSpace is a Check that fails when the file system holding dir has
// fewer than minFree bytes available, since a full disk fails every write
// (SQLite, the local queue, certificate renewals) while reads still work.
// free nil means FreeBytes; where FreeBytes is unsupported the check
// passes.
func DiskSpace(dir string, minFree uint64, free FreeSpace) Check {
	if free == nil {
		free = FreeBytes
	}
	return Check{Name: "disk space of " + dir, Run: func(context.Context) error {
		n, err := free(dir)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			return nil
		case err != nil:
			return fmt.Errorf("free space of %s: %w", dir, err)
		case n < minFree:
			return fmt.Errorf("%s has %d bytes free, below the minimum of %d: free disk space or grow the volume", dir, n, minFree)
		}
		return nil
	}}
}

// Metrics returns a /metrics handler that writes the Prometheus text
// exposition format through write, with the request's context, followed
// by WriteProcessMetrics: every server reports its memory the same way.
func Metrics(write func(ctx context.Context, w io.Writer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		write(r.Context(), w)
		WriteProcessMetrics(w)
	})
}

// Metric writes one sample in the Prometheus text exposition format, with
// its HELP and TYPE lines; a dozen counters do not earn a client library.
func Metric(w io.Writer, name, typ, help string, v int64) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, typ, name, v)
}

// Errors an Authorizer returns to refuse a token.
var (
	// ErrUnauthorized: the token is unknown (401).
	ErrUnauthorized = errors.New("unknown token")
	// ErrForbidden: the token is valid but its user is not an admin (403).
	ErrForbidden = errors.New("not an admin")
)

// Authorizer accepts a bearer token of an admin (nil) or refuses it with
// ErrUnauthorized or ErrForbidden; any other error is a failure to check.
type Authorizer func(ctx context.Context, token string) error

// RequireAdmin returns h behind "Authorization: Bearer <token>" checked by
// authorize, for endpoints that must not answer strangers on a public
// listener (/metrics on the EC2 dashboard).
func RequireAdmin(authorize Authorizer, log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := authheader.Bearer(r.Header.Get("Authorization"))
		err := ErrUnauthorized
		if ok {
			err = authorize(r.Context(), token)
		}
		switch {
		case err == nil:
			h.ServeHTTP(w, r)
		case errors.Is(err, ErrUnauthorized):
			w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <API token of an admin>", http.StatusUnauthorized)
		case errors.Is(err, ErrForbidden):
			http.Error(w, "forbidden: only an admin's API token may read this", http.StatusForbidden)
		default:
			log.Error("check API token", "path", r.URL.Path, "err", err)
			http.Error(w, "internal error; the server log has details", http.StatusInternalServerError)
		}
	})
}
