package dashboard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/bidi"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/shell"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/templates"
)

// pageNames are the page templates under templates/dashboard; each defines
// "content" and is parsed together with the shared layout, which defines
// the page frame and the partials (csrf, chart, level, status,
// project-tabs) that pages use.
var pageNames = []string{
	"login", "forgot-password", "set-password", "error", "account",
	"projects", "setup", "issues", "issue", "feedback", "releases", "release", "monitors", "monitor", "confirm-delete", "confirm-delete-monitor", "confirm-merge", "confirm-remove-member",
	"admin-users", "admin-projects", "admin-project", "alerts", "alert-rule", "tokens",
	"unsubscribe",
}

// parsePages returns, for each page, a function that parses it with the
// layout on its first call and returns the same template after.
func parsePages(funcs template.FuncMap) map[string]func() (*template.Template, error) {
	pages := make(map[string]func() (*template.Template, error), len(pageNames))
	for _, name := range pageNames {
		pages[name] = sync.OnceValues(func() (*template.Template, error) {
			return template.New(name).Funcs(funcs).ParseFS(templates.FS, "dashboard/layout.html", "dashboard/"+name+".html")
		})
	}
	return pages
}

// view is what every page template gets; Data is the page's own model.
type view struct {
	Title string
	// User is the signed-in user, nil on the sign-in and anonymous error
	// pages.
	User *store.User
	// CSRF is the session's token, for hidden form fields and the
	// csrf-token meta tag that scripts read.
	CSRF string
	// ProjectID is <body data-project-id>, the project whose live updates
	// the page follows: set on the issue list, issue and setup pages, 0
	// (rendered empty) elsewhere.
	ProjectID int64
	// Nav names the active navigation entry, Tab the active tab of a
	// project's pages.
	Nav   string
	Tab   string
	Flash *flash
	Data  any
	// Manages shows the project's Settings tab and the forms that change
	// its alerts: the viewer is an admin user or an admin of the project.
	Manages bool
	// PlainHTTP shows the unencrypted-connection banner (Config.PlainHTTP).
	PlainHTTP bool
}

// render writes a page. Rendering into a buffer first means a template
// error becomes a clean 500 instead of half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, v *view) {
	if s := sessionFrom(r); s != nil {
		if v.User == nil {
			u := s.user
			v.User = &u
		}
		if v.CSRF == "" {
			v.CSRF = s.csrf
		}
	}
	v.CSRF = maskCSRF(v.CSRF)
	if v.Flash == nil {
		v.Flash = d.takeFlash(w, r)
	}
	v.PlainHTTP = d.plainHTTP
	var buf bytes.Buffer
	t, err := d.pages[name]()
	if err == nil {
		err = t.ExecuteTemplate(&buf, "layout", v)
	}
	if err != nil {
		d.log.Error("dashboard: render failed", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "internal error; the server log has details")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// Every direction control in a page came from data (the templates
	// hold none), nearly all of it what an SDK sent; writing them out
	// here covers every field of every page, where a template function
	// covered only the fields someone passed through it.
	w.Write(bidi.ShowHTML(buf.Bytes()))
}

// errorData is the error page's model.
type errorData struct {
	Status  int
	Heading string
	Message string
}

func (d *Dashboard) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	d.render(w, r, status, "error", &view{Title: heading, Data: errorData{Status: status, Heading: heading, Message: msg}})
}

// notFound is the answer for anything missing or not the viewer's to see.
func (d *Dashboard) notFound(w http.ResponseWriter, r *http.Request) {
	d.errorPage(w, r, http.StatusNotFound, "Page not found", "There is nothing here, or it is not shared with you.")
}

func (d *Dashboard) forbidden(w http.ResponseWriter, r *http.Request, msg string) {
	d.errorPage(w, r, http.StatusForbidden, "Request refused", msg)
}

func (d *Dashboard) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the browser went away; nobody reads the answer
	}
	if store.InvalidText(err) {
		d.errorPage(w, r, http.StatusBadRequest, "Request refused", "The request holds a NUL byte or bytes that are not UTF-8. Remove them and try again.")
		return
	}
	if store.Unavailable(err) {
		// During an outage every page fails alike: one warning per 10 s.
		if ok, held := d.unavailable.Allow("db", d.now()); ok {
			d.log.Warn("dashboard request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err,
				"suppressed", held)
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(store.UnavailableRetryAfter/time.Second)))
		if d.store.DiskFull(err) {
			d.errorPage(w, r, http.StatusServiceUnavailable, "Disk full",
				"The database's disk is full, so this request could not be done. Ask the server's operator to free disk space, then try again.")
			return
		}
		d.errorPage(w, r, http.StatusServiceUnavailable, "Database unavailable",
			"The database cannot be reached or is not taking requests right now. Reload the page in a few seconds.")
		return
	}
	d.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	d.errorPage(w, r, http.StatusInternalServerError, "Something went wrong", "The server could not complete this request. The server log has details.")
}

// refusal returns the message of a service's refusal, which a form shows
// next to the values it refused, and whether err is one. A refusal to
// someone who may not do what they asked is not one: it is a 404, so that
// members cannot tell which pages exist.
func refusal(err error) (string, bool) {
	if errors.Is(err, service.ErrForbidden) {
		return "", false
	}
	return service.Message(err)
}

// fail answers a service or store error, the one place that maps them to
// pages: what the viewer may not see or change is a 404 (admin pages do not
// exist for members), a refusal a 400 with its message, a bad page cursor a
// 400, a conflict (a merge racing a delete) a 409 with the store's reason,
// a full password-hashing pool a 503, anything else a 500.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	if msg, ok := refusal(err); ok {
		d.errorPage(w, r, http.StatusBadRequest, "Request refused", msg)
		return
	}
	switch {
	case errors.Is(err, auth.ErrBusy):
		d.passwordError(w, r, err)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrForbidden):
		d.notFound(w, r)
	case errors.Is(err, store.ErrBadCursor):
		d.errorPage(w, r, http.StatusBadRequest, "Bad page link", "That page link is not valid any more. Start again from the first page.")
	case errors.Is(err, store.ErrConflict):
		d.errorPage(w, r, http.StatusConflict, "Changed meanwhile", conflictReason(err))
	default:
		d.serverError(w, r, err)
	}
}

// conflictReason is what a store conflict says to the user: the text after
// the sentinel ("an issue was merged or deleted meanwhile; try again"), or
// the message without its "store: " prefix when nothing follows it.
func conflictReason(err error) string {
	msg := err.Error()
	if _, reason, ok := strings.Cut(msg, store.ErrConflict.Error()+": "); ok {
		return reason
	}
	return strings.TrimPrefix(msg, "store: ")
}

// funcs are the template helpers. None of them returns template.HTML or
// another trusted type: everything an SDK sent goes through html/template's
// contextual escaping.
func (d *Dashboard) funcs() template.FuncMap {
	return template.FuncMap{
		"ago":        d.ago,
		"utc":        formatUTC,
		"iso":        func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"isoMillis":  func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") },
		"httpURL":    httpURL,
		"plural":     pluralAny,
		"clock":      clock,
		"levelClass": levelClass,
		"number":     formatNumber,
		"percent":    func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"coord":      func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
		"crashFree":  crashFree,
		"title":      statusTitle,
		"issueURL":   issueURL,
		"releaseURL": releaseURL,
		"monitorURL": monitorURL,
		"schedule":   scheduleText,
		"reason":     reasonWords,
		"breakable":  breakable,
		// Words of the commands a page shows to be copied.
		"shellQuote": shell.Quote,
		"shellArg":   shell.Arg,
	}
}

// ago is a short relative time such as "5 min ago".
func (d *Dashboard) ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	dt := d.now().Sub(t)
	switch {
	case dt < 0:
		return "just now" // a client clock ahead of ours
	case dt < time.Minute:
		return "just now"
	case dt < time.Hour:
		return strconv.Itoa(int(dt/time.Minute)) + " min ago"
	case dt < 48*time.Hour:
		return plural(int64(dt/time.Hour), "hour", "hours") + " ago"
	case dt < 60*24*time.Hour:
		return plural(int64(dt/(24*time.Hour)), "day", "days") + " ago"
	default:
		return t.UTC().Format("2 Jan 2006")
	}
}

// crashFree is a crash-free rate as a percentage with two decimals, cut
// rather than rounded, so that a release with one crash in 100,000
// sessions never reads 100.00%; "" for none.
func crashFree(p *float64) string {
	if p == nil {
		return ""
	}
	// The epsilon keeps a float's error (0.29*100 is 28.999...) from
	// cutting a hundredth off.
	return strconv.FormatFloat(math.Floor(*p*100+1e-9)/100, 'f', 2, 64) + "%"
}

func formatUTC(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// plural formats "1 event" / "3 events".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return formatNumber(n) + " " + many
}

// pluralAny is plural for templates, which pass int or int64.
func pluralAny(n any, one, many string) (string, error) {
	switch n := n.(type) {
	case int:
		return plural(int64(n), one, many), nil
	case int64:
		return plural(n, one, many), nil
	}
	return "", fmt.Errorf("plural: %T is not an integer", n)
}

// clock is a breadcrumb's time of day in UTC, to the millisecond since
// breadcrumbs are often milliseconds apart, with its date when withDate
// (it is not of the event's day); app.js shows it in the reader's zone.
func clock(t time.Time, withDate bool) string {
	if t.IsZero() {
		return ""
	}
	if withDate {
		return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
	}
	return t.UTC().Format("15:04:05.000 UTC")
}

// levelClass maps an event level to its CSS class. Levels come from SDKs;
// anything unknown gets a neutral class rather than a class name an SDK
// chose.
func levelClass(level string) string {
	if event.ValidLevel(level) {
		return level
	}
	return "other"
}

// formatNumber groups thousands: 12,345.
func formatNumber(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// httpURL returns s if it is an absolute http(s) URL, else "". Templates
// link only such URLs from events; anything else (javascript:, data:,
// relative paths an SDK made up) is shown as text.
func httpURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.String()
	}
	return ""
}

func statusTitle(s string) string {
	switch s {
	case store.StatusUnresolved:
		return "Unresolved"
	case store.StatusResolved:
		return "Resolved"
	case store.StatusIgnored:
		return "Ignored"
	case "":
		return "All"
	}
	return s
}

// breakable is s escaped, with a line break opportunity (<wbr>) after each
// of its dots, underscores, slashes, colons, at and plus signs. Tag keys
// and release names are shown where they may not fit a line, and the
// stylesheet lets such text break anywhere rather than overflow: this makes
// "browser.name" break after its dot, not inside "name".
func breakable(s string) template.HTML {
	var b strings.Builder
	start := 0
	for i, r := range s {
		if strings.ContainsRune("._/:@+", r) {
			b.WriteString(template.HTMLEscapeString(s[start : i+1]))
			b.WriteString("<wbr>")
			start = i + 1
		}
	}
	b.WriteString(template.HTMLEscapeString(s[start:]))
	return template.HTML(b.String())
}
