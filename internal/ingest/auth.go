package ingest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxKeyLen bounds what is passed to Keys; real keys are 32 hex characters.
const maxKeyLen = 256

// pathProject parses the {project_id} path segment of the Sentry routes.
func pathProject(r *http.Request) (int64, *apiError) {
	s := r.PathValue("project_id")
	id, ok := parseProjectID(s)
	if !ok {
		return 0, badRequest("invalid_project_id", "the project ID in the URL must be a positive integer, got %q; check the DSN (https://KEY@HOST/PROJECT_ID)", clamp(s, 64))
	}
	return id, nil
}

// parseProjectID accepts decimal digits only: strconv would also take a
// sign, and "+7" or "007" in a URL is more likely a mangled DSN than intent.
func parseProjectID(s string) (int64, bool) {
	if s == "" || len(s) > 18 || s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// sentryKey finds the public key where Sentry SDKs put it before the body:
// the X-Sentry-Auth header, an Authorization header using the Sentry
// scheme, or the sentry_key query parameter (browsers, to avoid preflight).
func sentryKey(r *http.Request) string {
	for _, name := range []string{"X-Sentry-Auth", "Authorization"} {
		if k := authHeaderKey(r.Header.Get(name)); k != "" {
			return k
		}
	}
	return strings.TrimSpace(r.URL.Query().Get("sentry_key"))
}

// authHeaderKey extracts sentry_key from "Sentry sentry_key=abc,
// sentry_version=7, sentry_client=...". Values are sometimes quoted.
func authHeaderKey(v string) string {
	scheme, params, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Sentry") {
		return ""
	}
	for _, p := range strings.Split(params, ",") {
		k, val, ok := strings.Cut(p, "=")
		if ok && strings.TrimSpace(k) == "sentry_key" {
			return strings.Trim(strings.TrimSpace(val), `"`)
		}
	}
	return ""
}

// dsnKey returns the public key of a DSN (https://KEY@HOST/PROJECT_ID).
func dsnKey(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return ""
	}
	return u.User.Username()
}

// authorize checks that the Sentry key belongs to project want.
func (h *Handler) authorize(ctx context.Context, key string, want int64) *apiError {
	got, aerr := h.lookupKey(ctx, key, missingSentryKey)
	if aerr != nil {
		return aerr
	}
	if got != want {
		return wrongProject(want)
	}
	return nil
}

// wrongProject refuses a valid key used for another project. The message
// does not say which project the key belongs to.
func wrongProject(want int64) *apiError {
	return &apiError{status: http.StatusForbidden, code: "wrong_project", reason: ReasonForbidden,
		msg: fmt.Sprintf("this key is not a key of project %d; use the DSN or API key of project %d", want, want)}
}

// Messages for a request without a key, naming where each SDK family puts it.
const (
	missingSentryKey  = "no project key: send X-Sentry-Auth: Sentry sentry_key=<public key>, the sentry_key query parameter, or a dsn in the envelope header"
	missingFlytrapKey = "no project key: send the project's API key in the x-api-key header"
)

// lookupKey resolves key to its project and sets the project's rate;
// missing is the message for an empty key.
func (h *Handler) lookupKey(ctx context.Context, key, missing string) (int64, *apiError) {
	if key == "" {
		return 0, &apiError{status: http.StatusUnauthorized, code: "missing_key", reason: ReasonUnauthorized, msg: missing}
	}
	if len(key) <= maxKeyLen {
		k, ok, err := h.keys.ProjectForKey(ctx, key)
		if err != nil {
			return 0, &apiError{status: http.StatusServiceUnavailable, code: "keys_unavailable", reason: ReasonKeyError,
				retryAfter: queueRetryAfter, msg: "project keys cannot be checked right now; retry later", cause: err}
		}
		if ok {
			// The key set is where a project's rate comes from, so each
			// lookup brings its bucket to the rate of the latest set
			// before the request is checked against it.
			h.limiter.setRate(k.ProjectID, k.RatePerMinute, k.Set)
			return k.ProjectID, nil
		}
	}
	return 0, &apiError{status: http.StatusUnauthorized, code: "unknown_key", reason: ReasonUnauthorized,
		msg: "the project key is unknown or disabled; copy the DSN or API key again from the project settings"}
}
