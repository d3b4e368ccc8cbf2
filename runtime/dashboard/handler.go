package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/web"
)

// newHandler is every HTTP endpoint of the dashboard instance: the web
// face shared with `flytrap dev` (dashboard, /api/v1, the live stream,
// /healthz) plus this instance's /readyz and /metrics. Ingest is not served
// here; SDKs post to API Gateway.
func newHandler(db *store.DB, pub *publisher, site *web.Web) http.Handler {
	mux := site.Mux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := db.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "database unreachable:", err)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		metric := func(name, typ, help string, v int64) { web.Metric(w, name, typ, help, v) }
		metric("flytrap_keyset_publishes_total", "counter", "Ingest key sets published to S3.", pub.published.Load())
		metric("flytrap_keyset_publish_failures_total", "counter", "Failed attempts to read or publish the ingest key set.", pub.failures.Load())
		metric("flytrap_keyset_keys", "gauge", "Active keys in the last published key set.", pub.keys.Load())
		metric("flytrap_keyset_last_success_timestamp_seconds", "gauge", "When the key set was last published.", pub.lastSuccess.Load())
		st := db.SQL().Stats()
		metric("flytrap_db_open_connections", "gauge", "Open database connections.", int64(st.OpenConnections))
		metric("flytrap_db_wait_total", "counter", "Times a query waited for a free connection.", st.WaitCount)
		site.WriteLiveMetrics(w)
	})
	return nudgeAfterWrites(mux, pub.nudge)
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
