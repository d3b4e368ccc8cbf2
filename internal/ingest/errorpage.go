package ingest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// Sentry's crash-report dialog. Sentry.showReportDialog({eventId}) in the
// browser SDKs (@sentry/core getReportDialogEndpoint) adds
//
//	<script src="{DSN's base}/api/embed/error-page/?dsn={DSN}&eventId=...&title=...&name=...&email=...">
//
// to the page, with crossorigin="anonymous", and calls the options'
// onLoad once it has run and onClose when the page receives the message
// "__sentry_reportdialog_closed__". Sentry answers with a script that
// shows a form of name, e-mail and comments and posts it, form-encoded, to
// the same URL; Flytrap does the same, and stores the report as user
// feedback about the event, through the queue like every other feedback.

// Form fields of the dialog, Sentry's names (UserReportForm).
const (
	reportName     = "name"
	reportEmail    = "email"
	reportComments = "comments"
	// reportURL is the page the dialog was shown on, which Flytrap's
	// dialog adds, as captureFeedback's url.
	reportURL = "url"
)

// sourceErrorPage is the Feedback.Source of reports sent through the
// dialog, Sentry's name for them (FeedbackCreationSource).
const sourceErrorPage = "crash_report_embed_form"

// maxReportName is Sentry's limit on the dialog's name field, in
// characters; maxName also bounds it in bytes, as it does every stored
// user field.
const maxReportName = 128

// maxReportBody bounds a posted report: every field at its limit, in
// four-byte characters each written as three %XX, fits.
const maxReportBody = 64 << 10

// maxDialogOption bounds each text option (title, labels...) written into
// the script: a page's own wording, not a place for kilobytes.
const maxDialogOption = 1000

// dialogDefaults are the dialog's texts, Sentry's, each replaced by the
// query parameter of the same name (the ReportDialogOptions of the SDKs).
var dialogDefaults = map[string]string{
	"title":          "It looks like we're having issues.",
	"subtitle":       "Our team has been notified.",
	"subtitle2":      "If you'd like to help, tell us what happened below.",
	"labelName":      "Name",
	"labelEmail":     "Email",
	"labelComments":  "What happened?",
	"labelClose":     "Close",
	"labelSubmit":    "Submit Crash Report",
	"errorGeneric":   "An unknown error occurred while submitting your report. Please try again.",
	"errorFormEntry": "Some fields were invalid. Please correct the errors and try again.",
	// errorRateLimited is Flytrap's: the answer to a report over the
	// form's rate (reportLimits), which Sentry's dialog shows as
	// errorGeneric.
	"errorRateLimited": "Too many reports were sent just now. Please wait a minute and submit again.",
	"successMessage":   "Your feedback has been sent. Thank you!",
}

// What the dialog says of a field left empty or an address that is not
// one; the script shows the same words before posting.
var (
	reportRequired = map[string]string{
		reportName:     "Enter your name.",
		reportEmail:    "Enter your e-mail address.",
		reportComments: "Tell us what happened.",
	}
	reportBadEmail = "Enter a valid e-mail address, such as jane@example.com."
)

var (
	//go:embed errorpage.js
	dialogScript string
	//go:embed errorpage.css
	dialogCSS string
	// dialogHead and dialogTail surround the options' JSON in the script.
	dialogHead, dialogTail = splitDialogScript()
)

func splitDialogScript() (string, string) {
	head, tail, ok := strings.Cut(dialogScript, "/*FLYTRAP_CONFIG*/ null")
	if !ok {
		panic("ingest: errorpage.js lost its config placeholder")
	}
	return head, tail
}

// dialogConfig is what the script is told: its texts, the user's name and
// address to start from, its field limits and where to post.
type dialogConfig struct {
	Endpoint string            `json:"endpoint"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Strings  map[string]string `json:"strings"`
	Limits   map[string]int    `json:"limits"`
	Messages map[string]string `json:"messages"`
	CSS      string            `json:"css"`
}

// serveErrorPage handles /api/embed/error-page/: GET answers the dialog's
// script, POST takes the report it sends, OPTIONS is the CORS preflight.
// Every answer but the script is JSON; a refused GET is a 4xx the SDK
// reports through the options' onError, since a browser runs no script
// from an error status.
func (h *Handler) serveErrorPage(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		preflightMethods(w, "GET, POST, OPTIONS")
	case http.MethodGet, http.MethodHead:
		if _, _, aerr := h.errorPageTarget(r); aerr != nil {
			h.writeError(w, r, aerr)
			return
		}
		h.writeDialog(w, r)
	case http.MethodPost:
		if aerr := h.checkBacklog(); aerr != nil {
			h.writeError(w, r, aerr)
			return
		}
		id, aerr := h.acceptReport(w, r)
		if aerr != nil {
			h.writeError(w, r, aerr)
			return
		}
		writeJSON(w, http.StatusOK, idBody{ID: id})
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		h.writeError(w, r, &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed", reason: ReasonBadRequest,
			msg: r.Method + " is not allowed here; GET the crash-report dialog, POST its form"})
	}
}

// errorPageTarget reads the dsn and eventId query parameters both the
// script and the form's post carry: the project, whose key must be one of
// its active keys, and the event the report is about. Flytrap does not
// check the event exists, since ingest never reads the event store: a
// report links to its event's issue when it is read, as feedback sent
// before its event does.
func (h *Handler) errorPageTarget(r *http.Request) (int64, string, *apiError) {
	q := r.URL.Query()
	dsn := strings.TrimSpace(q.Get("dsn"))
	if dsn == "" {
		return 0, "", badRequest("invalid_dsn", "no dsn query parameter: Sentry.showReportDialog sends the DSN the SDK was initialized with; pass dsn=https://KEY@HOST/PROJECT_ID")
	}
	key, pid, ok := parseDSN(dsn)
	if !ok {
		return 0, "", badRequest("invalid_dsn", "dsn %q is not a DSN of the form https://KEY@HOST/PROJECT_ID; copy it again from the project settings", clamp(dsn, 200))
	}
	if aerr := h.authorize(r.Context(), key, pid); aerr != nil {
		return 0, "", aerr
	}
	raw := q.Get("eventId")
	if strings.TrimSpace(raw) == "" {
		return 0, "", badRequest("invalid_event_id", "no eventId query parameter: pass the ID of the event the report is about, Sentry.showReportDialog({eventId: Sentry.captureException(err)})")
	}
	id, ok := normalizeEventID(raw)
	if !ok {
		return 0, "", badRequest("invalid_event_id", "eventId %q is not an event ID (32 hex digits or a UUID); pass what Sentry.captureException returned", clamp(raw, 100))
	}
	return pid, id, nil
}

// parseDSN returns a DSN's public key and project ID, the last segment of
// its path, as Sentry's ProjectKey.from_dsn reads them.
func parseDSN(dsn string) (string, int64, bool) {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil || u.Host == "" {
		return "", 0, false
	}
	key := u.User.Username()
	pid, ok := parseProjectID(path.Base(strings.TrimRight(u.Path, "/")))
	return key, pid, ok && key != ""
}

// writeDialog answers the dialog's script, the page's options written in
// as JSON. encoding/json escapes <, >, &, U+2028 and U+2029 in strings,
// so no option can end the script or a line of it, whatever it holds.
func (h *Handler) writeDialog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := dialogConfig{
		Endpoint: h.selfURL(r),
		Name:     clamp(q.Get("name"), maxName),
		Email:    clamp(q.Get("email"), maxFeedbackEmail),
		Strings:  make(map[string]string, len(dialogDefaults)),
		Limits:   map[string]int{reportName: maxReportName, reportEmail: maxFeedbackEmail, reportComments: event.MaxFeedbackMessage, reportURL: maxPath},
		Messages: map[string]string{reportName: reportRequired[reportName], reportEmail: reportRequired[reportEmail], reportComments: reportRequired[reportComments], "emailInvalid": reportBadEmail},
		CSS:      dialogCSS,
	}
	for name, def := range dialogDefaults {
		cfg.Strings[name] = def
		if v, ok := q[name]; ok {
			// Present but empty replaces the text too, as in Sentry:
			// subtitle2= drops the second line.
			cfg.Strings[name] = clamp(v[0], maxDialogOption)
		}
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		// Strings, ints and maps of them always encode.
		panic(fmt.Sprintf("ingest: encoding the dialog's options: %v", err))
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/javascript; charset=utf-8")
	// The script carries the user's name and address: no cache keeps it.
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", strconv.Itoa(len(dialogHead)+len(js)+len(dialogTail)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(dialogHead)) // the client may be gone; nothing to do about it
	_, _ = w.Write(js)
	_, _ = w.Write([]byte(dialogTail))
}

// selfURL is this request's absolute URL, where the script posts the form
// when the browser cannot say where it loaded the script from.
func (h *Handler) selfURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || (h.cfg.TrustForwardedFor && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// acceptReport takes the dialog's form: the same checks as the script's
// GET, the form's own rate (reportLimits), then the fields, and queues the report as user
// feedback about the event. It returns the feedback's ID.
func (h *Handler) acceptReport(w http.ResponseWriter, r *http.Request) (string, *apiError) {
	pid, eventID, aerr := h.errorPageTarget(r)
	if aerr != nil {
		return "", aerr
	}
	if aerr := h.checkReportRate(pid, h.clientIP(r)); aerr != nil {
		return "", aerr
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.EqualFold(mt, "application/x-www-form-urlencoded") {
		return "", &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", reason: ReasonBadRequest,
			msg: fmt.Sprintf("Content-Type %q is not a form; post the report as application/x-www-form-urlencoded name, email and comments", clamp(ct, 100))}
	}
	h.timeBody(w, r)
	b, aerr := h.openBody(r, pid, maxReportBody, maxReportBody)
	if aerr != nil {
		return "", aerr
	}
	data, aerr := b.all()
	b.release()
	if aerr != nil {
		return "", aerr
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		return "", badRequest("invalid_report", "the body is not a URL-encoded form: %v", err)
	}
	d := h.newDecoder(h.clientIP(r))
	fb, aerr := reportFeedback(form)
	if aerr != nil {
		return "", aerr
	}
	fb.AssociatedEventID = eventID
	fb.URL = d.str(at(reportURL), form.Get(reportURL), maxPath)
	if fb.URL == "" {
		fb.URL = clamp(r.Header.Get("Referer"), maxPath)
	}
	// A report gets its own ID: each one the user sends is kept, where
	// Sentry keeps the last per event.
	ev := d.feedbackEvent(nil, pid, envelopeHeader{})
	ev.Feedback = fb
	if aerr := h.enqueue(r.Context(), pid, nil, 1, ev); aerr != nil {
		return "", aerr
	}
	return ev.EventID, nil
}

// reportFeedback checks the form's fields as Sentry's UserReportForm
// does: a name, a valid e-mail address and comments are required. Each
// field's problem is named in the answer's errors, which the dialog shows
// beside the field; text over a limit is refused rather than cut, since
// the user is there to shorten it.
func reportFeedback(form url.Values) (*event.Feedback, *apiError) {
	errs := map[string][]string{}
	text := func(name string) string {
		return strings.TrimSpace(strings.ReplaceAll(form.Get(name), "\x00", ""))
	}
	name, email, comments := text(reportName), text(reportEmail), text(reportComments)
	for field, v := range map[string]string{reportName: name, reportEmail: email, reportComments: comments} {
		if v == "" {
			errs[field] = append(errs[field], reportRequired[field])
		}
	}
	// maxName bounds the bytes as where every user field is stored: a
	// name of fewer characters but of three- or four-byte letters is
	// refused with the same words rather than cut unseen.
	if n := utf8.RuneCountInString(name); n > maxReportName || len(name) > maxName {
		errs[reportName] = append(errs[reportName], fmt.Sprintf("Your name is too long: at most %d characters.", maxReportName))
	}
	if email != "" {
		if len(email) > maxFeedbackEmail {
			errs[reportEmail] = append(errs[reportEmail], fmt.Sprintf("That address is too long: at most %d characters.", maxFeedbackEmail))
		} else if !isEmailAddress(email) {
			errs[reportEmail] = append(errs[reportEmail], reportBadEmail)
		}
	}
	if n := utf8.RuneCountInString(comments); n > event.MaxFeedbackMessage {
		errs[reportComments] = append(errs[reportComments], fmt.Sprintf("That is too long: at most %d characters, and this is %d.", event.MaxFeedbackMessage, n))
	}
	if len(errs) > 0 {
		var parts []string
		for _, field := range []string{reportName, reportEmail, reportComments} {
			if m := errs[field]; len(m) > 0 {
				parts = append(parts, field+": "+strings.Join(m, " "))
			}
		}
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_report", reason: ReasonBadRequest, fields: errs,
			msg: "the report is incomplete or invalid; " + strings.Join(parts, "; ")}
	}
	msg, err := feedbackMessage(comments, reportComments)
	if err != nil {
		// comments is a non-empty string within the limit by now.
		panic(fmt.Sprintf("ingest: checked comments refused: %v", err))
	}
	return &event.Feedback{Message: msg, Name: name, Email: email, Source: sourceErrorPage}, nil
}

// isEmailAddress reports whether s is a bare address as RFC 5322 writes
// one, local@domain, without a display name or angle brackets: what a
// reply can be sent to.
func isEmailAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
