package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/web"
)

// newHandler is every HTTP endpoint of the dashboard instance: the web
// face shared with `flytrap dev` (dashboard, /api/v1, the live stream,
// /healthz) plus this instance's /readyz and /metrics. Ingest is not served
// here; SDKs post to API Gateway.
//
// The instance's listeners face the internet, so /metrics asks for an
// admin's API token, and /readyz says only "ready" or "not ready" (the
// reason goes to the log). /readyz checks the database and free space in
// the state directory, where certificates are cached and renewed.
func newHandler(db *store.DB, pub *publisher, site *web.Web, opts options, log *slog.Logger) http.Handler {
	mux := site.Mux()
	mux.Handle("GET /readyz", ops.Readyz(log,
		ops.Check{Name: "database", Run: db.Ping},
		ops.DiskSpace(opts.stateDir, opts.minFreeBytes, opts.freeSpace)))
	metrics := ops.Metrics(func(_ context.Context, w io.Writer) {
		metric := func(name, typ, help string, v int64) { ops.Metric(w, name, typ, help, v) }
		metric("flytrap_keyset_publishes_total", "counter", "Ingest key sets published to S3.", pub.published.Load())
		metric("flytrap_keyset_publish_failures_total", "counter", "Failed attempts to read or publish the ingest key set.", pub.failures.Load())
		metric("flytrap_keyset_keys", "gauge", "Active keys in the last published key set.", pub.keys.Load())
		metric("flytrap_keyset_last_success_timestamp_seconds", "gauge", "When the key set was last published.", pub.lastSuccess.Load())
		st := db.SQL().Stats()
		metric("flytrap_db_open_connections", "gauge", "Open database connections.", int64(st.OpenConnections))
		metric("flytrap_db_wait_total", "counter", "Times a query waited for a free connection.", st.WaitCount)
		site.WriteLiveMetrics(w)
	})
	mux.Handle("GET /metrics", ops.RequireAdmin(adminToken(db), log, metrics))
	return nudgeAfterWrites(site.Handler(), pub.nudge)
}

// nudgeAfterWrites calls nudge after every request that may change data:
// keys are created and rotated by several API and dashboard routes, and
// checking for changed keys after any write (a query, a PUT only if they
// changed) is cheaper than keeping that list of routes right.
func nudgeAfterWrites(h http.Handler, nudge func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			nudge()
		}
	})
}

// adminToken accepts the API token of an admin user.
func adminToken(db *store.DB) ops.Authorizer {
	return func(ctx context.Context, token string) error {
		u, err := db.UserByAPIToken(ctx, token)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return ops.ErrUnauthorized
		case err != nil:
			return err
		case u.Role != store.RoleAdmin:
			return ops.ErrForbidden
		}
		return nil
	}
}
