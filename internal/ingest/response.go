package ingest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// apiError is a refused request: what the client is told and how it is
// counted.
type apiError struct {
	status     int
	code       string // machine-readable, in the body
	reason     string // Stats.Rejected key
	msg        string // precise, actionable text for the SDK's debug log
	retryAfter int    // seconds; 0 sends no Retry-After
	limits     string // X-Sentry-Rate-Limits after the seconds: "categories:scope"
	cause      error  // logged, never sent: it may describe internals
	// fields names what is wrong with each field of a form, for the
	// crash-report dialog to show beside it.
	fields map[string][]string
}

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, reason: ReasonBadRequest, msg: fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", reason: ReasonTooLarge, msg: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON error shape shared with the REST API.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	// Errors is set on a refused crash-report form: each field's
	// problems, in the shape of Sentry's dialog endpoint.
	Errors map[string][]string `json:"errors,omitempty"`
}

// idBody is the success response Sentry SDKs expect.
type idBody struct {
	ID string `json:"id"`
}

// emptyBody answers an envelope without events, as Sentry does.
type emptyBody struct{}

// notStored answers an envelope of data Flytrap never stores (transactions,
// replays, profiles, sessions...): {} like emptyBody, with an
// X-Sentry-Rate-Limits header that asks the SDK to stop sending those
// categories for a while. Sentry SDKs honour the header on every response,
// 200 included (read in @sentry/core updateRateLimits, sentry-go
// ratelimit.FromResponse, sentry-python HttpTransportCore._update_rate_limits
// and sentry-native's rate limiter; sentry-cocoa documents the same), drop
// only the items of the categories it names, and ignore categories they do
// not know. It never names error, default, security or feedback, and no
// Retry-After goes with it, since that would limit everything in SDKs that
// read it. sentry-python's backpressure monitor also counts the transport
// unhealthy while any category is limited and halves its trace sampling
// rate, which only thins transactions Flytrap drops anyway.
type notStored struct {
	limits string // unexported: the body is {}
}

func (n notStored) setHeaders(h http.Header) {
	h.Set("X-Sentry-Rate-Limits", n.limits)
}

// notStoredRetryAfter is how long, in seconds, SDKs are asked to hold data
// Flytrap drops: an hour, so an SDK process sends such data about once an
// hour instead of continuously, and one that Flytrap might store some day
// resumes within the hour.
const notStoredRetryAfter = 3600

// itemCategories are the rate-limit categories (Relay's data categories,
// and the names SDKs file envelope items under) of the item types Flytrap
// always drops. Types absent here are never named: events (error,
// default), client reports (internal), user feedback (feedback, default),
// sessions (session), check-ins (monitor), security reports (security),
// and types ingest does not know.
var itemCategories = map[string][]string{
	"transaction":      {"transaction"},
	"span":             {"span"},
	"profile":          {"profile"},
	"profile_chunk":    {"profile_chunk", "profile"},
	"replay_event":     {"replay", "replay_event"},
	"replay_recording": {"replay", "replay_recording"},
	"replay_video":     {"replay"},
	"attachment":       {"attachment"},
	"log":              {"log_item"},
	"otel_log":         {"log_item"},
	"statsd":           {"metric_bucket"},
	"metric_meta":      {"metric_bucket"},
	"trace_metric":     {"trace_metric", "metric"},
}

// categories collects the categories of an envelope's dropped items, in
// the order met, each once. Items of no category (client reports, the
// common companion of an event) cost nothing.
type categories []string

func (c *categories) add(itemType string) {
	for _, name := range itemCategories[itemType] {
		if !slices.Contains(*c, name) {
			*c = append(*c, name)
		}
	}
}

// header is the X-Sentry-Rate-Limits value: retry_after:categories:scope:reason.
func (c categories) header() string {
	return strconv.Itoa(notStoredRetryAfter) + ":" + strings.Join(c, ";") + ":organization:not_stored"
}

// warnEvery is how often ingest logs a WARN line for refusals with the
// same code (a full disk, an unavailable queue, a spent memory budget).
// The first refusal of a code is logged at once; the rest of its interval
// is counted and reported on the next line. Every refusal still counts in
// flytrap_ingest_rejected_total.
const warnEvery = 10 * time.Second

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	h.stats.reject(e.reason)
	level := slog.LevelDebug
	attrs := []any{"status", e.status, "code", e.code, "message", e.msg, "path", r.URL.Path}
	if e.cause != nil {
		attrs = append(attrs, "cause", e.cause)
	}
	if e.status >= 500 {
		// At most one WARN line per code and interval; the others are
		// DEBUG, and counted on the next WARN line.
		if ok, suppressed := h.warns.Allow(e.code, h.cfg.Now()); ok {
			level = slog.LevelWarn
			if suppressed > 0 {
				attrs = append(attrs, "suppressed", suppressed, "suppressed_note", "refusals with this code since the last line, logged at DEBUG")
			}
		}
	}
	h.log.Log(r.Context(), level, "ingest: request rejected", attrs...)
	if e.retryAfter > 0 {
		secs := strconv.Itoa(e.retryAfter)
		w.Header().Set("Retry-After", secs)
		if e.limits != "" {
			w.Header().Set("X-Sentry-Rate-Limits", secs+":"+e.limits)
		}
	}
	if e.status == http.StatusRequestTimeout {
		// The rest of the body is not coming; the connection cannot
		// carry another request.
		w.Header().Set("Connection", "close")
	}
	var body errorBody
	body.Error.Code = e.code
	body.Error.Message = e.msg
	body.Errors = e.fields
	writeJSON(w, e.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the fixed response types above reach here; they always
		// marshal.
		panic(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n')) // the client may be gone; nothing to do about it
}

// setCORS adds the headers every response needs so browser SDKs can read
// status and rate-limit headers from any origin.
func setCORS(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		hdr.Set("Access-Control-Allow-Origin", origin)
		hdr.Add("Vary", "Origin")
	} else {
		hdr.Set("Access-Control-Allow-Origin", "*")
	}
	hdr.Set("Access-Control-Expose-Headers", "X-Sentry-Rate-Limits, Retry-After")
}

func preflight(w http.ResponseWriter) { preflightMethods(w, "POST, OPTIONS") }

// preflightMethods answers a CORS preflight for an endpoint of methods.
func preflightMethods(w http.ResponseWriter, methods string) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Methods", methods)
	hdr.Set("Access-Control-Allow-Headers", "content-type, content-encoding, x-sentry-auth, authorization, sentry-trace, baggage, x-api-key")
	hdr.Set("Access-Control-Max-Age", "86400")
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
