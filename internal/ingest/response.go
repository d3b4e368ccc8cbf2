package ingest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
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
}

// idBody is the success response Sentry SDKs expect.
type idBody struct {
	ID string `json:"id"`
}

// emptyBody answers an envelope without events, as Sentry does.
type emptyBody struct{}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, e *apiError) {
	h.stats.reject(e.reason)
	level := slog.LevelDebug
	if e.status >= 500 {
		level = slog.LevelWarn
	}
	attrs := []any{"status", e.status, "code", e.code, "message", e.msg, "path", r.URL.Path}
	if e.cause != nil {
		attrs = append(attrs, "cause", e.cause)
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

func preflight(w http.ResponseWriter) {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	hdr.Set("Access-Control-Allow-Headers", "content-type, content-encoding, x-sentry-auth, authorization, sentry-trace, baggage, x-api-key")
	hdr.Set("Access-Control-Max-Age", "86400")
	hdr.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
