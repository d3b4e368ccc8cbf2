package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/getflytrap/flytrap/internal/app"
	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// newApp is every HTTP endpoint and background job of the dashboard
// instance: the application shared with `flytrap dev` (dashboard, /api/v1,
// the live stream, /healthz, /readyz, /metrics, the source map upload
// endpoints over blobs, retention and session pruning) plus the key-set publisher's metrics. Ingest is not served here;
// SDKs post to API Gateway.
//
// The instance's listeners face the internet, so /metrics asks for an
// admin's API token, and /readyz says only "ready" or "not ready" (the
// reason goes to the log).
func newApp(db *store.DB, pub *publisher, blobs artifact.Blobs, rc awsx.RuntimeConfig, opts options, alerts notify.Config, extra []app.Option, log *slog.Logger) *app.App {
	cfg := appConfig(rc, opts, log)
	cfg.Alerts = alerts
	cfg.Mailer = linkMailer(alerts)
	return app.New(db, cfg, append(extra,
		app.WithArtifacts(blobs),
		app.WithMetricsAuth(adminToken(db)),
		app.WithMetrics(func(_ context.Context, w io.Writer) {
			metric := func(name, typ, help string, v int64) { ops.Metric(w, name, typ, help, v) }
			metric("flytrap_keyset_publishes_total", "counter", "Ingest key sets published to S3.", pub.published.Load())
			metric("flytrap_keyset_publish_failures_total", "counter", "Failed attempts to read or publish the ingest key set.", pub.failures.Load())
			metric("flytrap_keyset_keys", "gauge", "Active keys in the last published key set.", pub.keys.Load())
			metric("flytrap_keyset_last_success_timestamp_seconds", "gauge", "When the key set was last published.", pub.lastSuccess.Load())
		}))...)
}

// linkMailer emails set-password links through the alerts' SMTP server,
// or is nil when alert email goes through SNS, whose topics reach a
// project's members and not one address.
func linkMailer(alerts notify.Config) service.LinkMailer {
	if m, ok := alerts.Mailer.(notify.SMTPMailer); ok {
		return notify.LinkMailer{SMTP: m.SMTP}
	}
	return nil
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
