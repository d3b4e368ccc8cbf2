package ingest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// Browsers post Content Security Policy violation reports to the URL a
// policy names (report-uri, or report-to through the Reporting API). Sentry
// hands out /api/{project_id}/security/?sentry_key=KEY for it; Relay turns
// each CSP report into an event (relay-event-schema security_report.rs),
// and so does Flytrap, with the same titles, tags and request, grouped by
// directive and blocked host.

// maxSecurityReports bounds the events one body of the Reporting API, a
// batch of reports, may make; browsers send a few at a time.
const maxSecurityReports = 100

// maxBlockedText bounds the blocked URI as it appears in a title and
// fingerprint; the whole URI is kept in the csp context, and in a tag
// when it is short enough for one (event.MaxTagChars).
const maxBlockedText = 200

// securityTypes are the media types of the reports browsers send: CSP
// level 2's report-uri (application/csp-report), the Reporting API's
// batches (application/reports+json), and plain JSON; the Expect-CT and
// Expect-Staple types Relay also accepts are taken and dropped.
var securityTypes = map[string]bool{
	"application/csp-report":            true,
	"application/reports+json":          true,
	"application/json":                  true,
	"application/expect-ct-report":      true,
	"application/expect-ct-report+json": true,
	"application/expect-staple-report":  true,
}

// serveSecurity handles POST /api/{project_id}/security/ (and the older
// /csp-report/). Browsers send the key in the query string; the body is
// bounded like a store body, one event's worth.
func (h *Handler) serveSecurity(r *http.Request) (any, *apiError) {
	pid, aerr := h.admitKeyed(r)
	if aerr != nil {
		return nil, aerr
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || !securityTypes[strings.ToLower(mt)] {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", reason: ReasonBadRequest,
			msg: fmt.Sprintf("Content-Type %q is not a security report; send application/csp-report (report-uri) or application/reports+json (report-to)", clamp(ct, 100))}
	}
	b, body, aerr := h.readBody(r, pid)
	if aerr != nil {
		return nil, aerr
	}
	defer b.release()
	reports, dropped, err := securityReports(body)
	if err != nil {
		return nil, badRequest("invalid_report", "%v", err)
	}
	q := r.URL.Query()
	meta := reportMeta{userAgent: r.Header.Get("User-Agent"), release: q.Get("sentry_release"), environment: q.Get("sentry_environment")}
	var events []*event.Event
	for _, rep := range reports {
		ev, err := h.newDecoder(h.clientIP(r)).decodeSentry(rep.event(meta), pid, envelopeHeader{})
		if err != nil {
			// The payload is built here from parsed values; it always
			// decodes.
			panic(fmt.Sprintf("ingest: decoding a CSP event: %v", err))
		}
		events = append(events, ev)
	}
	h.stats.dropped.Add(uint64(dropped))
	if len(events) == 0 {
		return emptyBody{}, nil
	}
	if aerr := h.accept(r.Context(), pid, events...); aerr != nil {
		return nil, aerr
	}
	return idBody{ID: events[0].EventID}, nil
}

// cspReport is one CSP violation, in either format's field names.
type cspReport struct {
	fields    map[string]any
	userAgent string // the Reporting API's, per report
}

// get returns the first of the names present as text: the Reporting API
// says documentURL where report-uri says document-uri.
func (c cspReport) get(names ...string) string {
	for _, n := range names {
		switch v := c.fields[n].(type) {
		case string:
			return v
		case json.Number:
			return string(v)
		}
	}
	return ""
}

// securityReports finds the CSP reports in a body: {"csp-report": {...}}
// (report-uri), a Reporting API report {"type": "csp-violation", "body":
// {...}}, or a list of those. Reports of other kinds (Expect-CT, HPKP,
// deprecation, intervention, ...) are counted in dropped; a body that is
// none of these is an error.
func securityReports(body []byte) (reports []cspReport, dropped int, err error) {
	v, err := parseJSONValue(body)
	if err != nil {
		return nil, 0, fmt.Errorf("the report is %v", err)
	}
	list, isList := v.([]any)
	if !isList {
		list = []any{v}
	}
	for _, item := range list {
		obj, _ := item.(map[string]any)
		rep, known := cspReportOf(obj)
		switch {
		case rep != nil && len(reports) < maxSecurityReports:
			reports = append(reports, *rep)
		case rep != nil, known:
			dropped++
		case !isList:
			return nil, 0, fmt.Errorf("the body is not a security report: expected {\"csp-report\": {...}} or a Reporting API report with a \"type\"")
		default:
			dropped++
		}
	}
	return reports, dropped, nil
}

// cspReportOf returns the CSP report obj holds, or nil with known set when
// it is a report of another kind.
func cspReportOf(obj map[string]any) (*cspReport, bool) {
	if obj == nil {
		return nil, false
	}
	if inner, ok := obj["csp-report"].(map[string]any); ok {
		return &cspReport{fields: inner}, true
	}
	typ, ok := obj["type"].(string)
	if !ok {
		_, ct := obj["expect-ct-report"]
		_, staple := obj["expect-staple-report"]
		_, hpkp := obj["known-pins"]
		return nil, ct || staple || hpkp
	}
	inner, ok := obj["body"].(map[string]any)
	if typ != "csp-violation" || !ok {
		return nil, true
	}
	ua, _ := obj["user_agent"].(string)
	return &cspReport{fields: inner, userAgent: ua}, true
}

// reportMeta is what the request adds to each report's event.
type reportMeta struct {
	userAgent, release, environment string
}

// event builds the Sentry event JSON for the report, which decodeSentry
// then normalizes and bounds like any SDK's: the report's values are
// untrusted text.
func (c cspReport) event(meta reportMeta) []byte {
	directive := c.directive()
	blocked := c.get("blocked-uri", "blockedURL")
	if blocked == "" {
		blocked = "self" // as Relay: a report without one blocked the page's own
	}
	norm := clamp(normalizeBlockedURI(blocked), maxBlockedText)
	documentURI := c.get("document-uri", "documentURL")
	referrer := c.get("referrer")

	tags := [][2]string{{"effective-directive", directive}, {"blocked-uri", sanitizedBlockedURI(blocked)}}
	if u, err := url.Parse(blocked); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" {
		tags = append(tags, [2]string{"blocked-host", strings.ToLower(u.Hostname())})
	}
	var headers [][2]string
	if referrer != "" {
		headers = append(headers, [2]string{"Referer", referrer})
	}
	ua := c.userAgent
	if ua == "" {
		ua = meta.userAgent
	}
	if ua != "" {
		headers = append(headers, [2]string{"User-Agent", ua})
	}
	csp := map[string]any{"effective_directive": directive, "blocked_uri": blocked}
	for name, keys := range cspContextFields {
		if v := c.get(keys...); v != "" {
			csp[name] = v
		}
	}
	ev := map[string]any{
		"logger":  "csp",
		"message": cspMessage(directive, blocked, norm),
		"culprit": c.culprit(directive, documentURI),
		// Grouped as Sentry groups CSP reports: by directive and the
		// blocked host (or 'self' for inline). Each part is prefixed, so
		// no blocked value can read as a fingerprint variable.
		"fingerprint": []string{"csp", "directive:" + directive, "blocked:" + norm},
		"tags":        tags,
		"request":     map[string]any{"url": documentURI, "headers": headers},
		"contexts":    map[string]any{"csp": csp},
		"user":        map[string]any{"ip_address": "{{auto}}"},
	}
	if meta.release != "" {
		ev["release"] = meta.release
	}
	if meta.environment != "" {
		ev["environment"] = meta.environment
	}
	out, err := json.Marshal(ev)
	if err != nil {
		panic(err) // strings, maps and lists of them always encode
	}
	return out
}

// cspContextFields are the report's fields kept in the event's csp
// context, named as Relay names them, with the names each format uses.
var cspContextFields = map[string][]string{
	"document_uri":       {"document-uri", "documentURL"},
	"original_policy":    {"original-policy", "originalPolicy"},
	"referrer":           {"referrer"},
	"status_code":        {"status-code", "statusCode"},
	"violated_directive": {"violated-directive", "violatedDirective"},
	"source_file":        {"source-file", "sourceFile"},
	"line_number":        {"line-number", "lineNumber"},
	"column_number":      {"column-number", "columnNumber"},
	"script_sample":      {"script-sample", "scriptSample", "sample"},
	"disposition":        {"disposition"},
}

// directive is the violated directive's name: effective-directive, which
// Firefox leaves out, else the first word of violated-directive (CSP 2
// sends the whole policy clause there). A name outside CSP's directives
// is "unknown", so report text never names a group.
func (c cspReport) directive() string {
	for _, v := range []string{c.get("effective-directive", "effectiveDirective"), c.get("violated-directive", "violatedDirective")} {
		name, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		if name = strings.ToLower(name); cspDirectives[name] {
			return name
		}
	}
	return "unknown"
}

var cspDirectives = map[string]bool{}

// culprit is the event's culprit, as Relay makes it (Csp::get_culprit):
// the violated directive and its values, each normalized against the
// document's URL (normalizeCSPValue), "img-src 'self'". Browsers of CSP
// level 3 report the directive's name alone (Chromium's report-uri
// "violated-directive": "img-src", and the Reporting API no
// violatedDirective at all), which leaves Relay a culprit of the bare
// name or none: the values are then those original-policy gives the
// directive, as the browser enforced it (policyValues). A report that
// names no known directive and no violated one has none.
func (c cspReport) culprit(directive, documentURI string) string {
	bits := strings.Fields(c.get("violated-directive", "violatedDirective"))
	if len(bits) == 0 {
		if directive == "unknown" {
			return ""
		}
		bits = []string{directive}
	}
	values := bits[1:]
	if len(values) == 0 {
		values = policyValues(c.get("original-policy", "originalPolicy"), strings.ToLower(bits[0]))
	}
	doc := normalizeBlockedURI(documentURI)
	var b strings.Builder
	b.WriteString(bits[0])
	for _, v := range values {
		if b.Len() > maxBlockedText {
			// Enough to read; ingest cuts the culprit anyway.
			break
		}
		b.WriteString(" " + normalizeCSPValue(v, documentURI, doc))
	}
	return b.String()
}

// policyValues returns the source list that policy, a serialized CSP,
// gives directive: its own clause, else the clause of the first directive
// it falls back to in CSP 3 (img-src to default-src, script-src-elem to
// script-src then default-src, ...), as a browser enforces it. As in a
// browser, the first clause of a name counts.
func policyValues(policy, directive string) []string {
	clauses := map[string][]string{}
	for clause := range strings.SplitSeq(policy, ";") {
		f := strings.Fields(clause)
		if len(f) == 0 {
			continue
		}
		if name := strings.ToLower(f[0]); clauses[name] == nil {
			clauses[name] = f[1:]
		}
	}
	for _, d := range append([]string{directive}, cspFallbacks[directive]...) {
		if v, ok := clauses[d]; ok {
			return v
		}
	}
	return nil
}

// cspFallbacks are the directives each directive falls back to, in order,
// when a policy lacks it (CSP 3, "directive fallback list"). The others
// (base-uri, form-action, frame-ancestors, ...) fall back to none.
var cspFallbacks = map[string][]string{
	"script-src-elem":  {"script-src", "default-src"},
	"script-src-attr":  {"script-src", "default-src"},
	"script-src":       {"default-src"},
	"style-src-elem":   {"style-src", "default-src"},
	"style-src-attr":   {"style-src", "default-src"},
	"style-src":        {"default-src"},
	"worker-src":       {"child-src", "script-src", "default-src"},
	"child-src":        {"default-src"},
	"frame-src":        {"child-src", "default-src"},
	"fenced-frame-src": {"frame-src", "child-src", "default-src"},
	"connect-src":      {"default-src"},
	"font-src":         {"default-src"},
	"img-src":          {"default-src"},
	"manifest-src":     {"default-src"},
	"media-src":        {"default-src"},
	"object-src":       {"default-src"},
	"prefetch-src":     {"default-src"},
}

// normalizeCSPValue reads a source of a directive as Relay's
// normalize_value does: the keywords as they are; a source naming the
// document's own origin (doc, normalized as a blocked URI is), which
// Firefox spells out for 'self', as 'self'; another source with a scheme
// as it is; one without, under a document of a scheme other than http(s),
// with that scheme.
func normalizeCSPValue(value, documentURI, doc string) string {
	switch value {
	case "'none'", "'self'", "'unsafe-inline'", "'unsafe-eval'":
		return value
	}
	for _, scheme := range []string{"data:", "mediastream:", "blob:", "filesystem:", "http:", "https:", "file:"} {
		if strings.HasPrefix(value, scheme) {
			if normalizeBlockedURI(value) == doc {
				return "'self'"
			}
			return value
		}
	}
	if value == doc {
		return "'self'"
	}
	scheme, _, ok := strings.Cut(documentURI, ":")
	if !ok || scheme == "http" || scheme == "https" {
		return value
	}
	return unsplitURI(scheme, value)
}

func init() {
	for _, d := range strings.Fields(`base-uri child-src connect-src default-src fenced-frame-src font-src
		form-action frame-ancestors frame-src img-src manifest-src media-src object-src plugin-types
		prefetch-src referrer script-src script-src-attr script-src-elem style-src style-src-elem
		style-src-attr upgrade-insecure-requests worker-src sandbox navigate-to report-uri report-to
		block-all-mixed-content require-sri-for require-trusted-types-for trusted-types`) {
		cspDirectives[d] = true
	}
}

// cspMessage is the event's title, worded as Relay words it:
// "Blocked 'script' from 'evil.example'".
func cspMessage(directive, blocked, norm string) string {
	// Chromium reports inline code under the -elem and -attr directives
	// too (script-src-elem with blockedURL "inline"), which Relay titles
	// "Blocked 'script' from 'inline:'"; they read as script-src's.
	switch blocked = strings.Trim(blocked, "'"); {
	case blocked == "inline" || blocked == "unsafe-inline":
		if m, ok := unsafeInlineMessages[directive]; ok {
			return m
		}
	case (blocked == "eval" || blocked == "unsafe-eval") && (directive == "script-src" || directive == "script-src-elem"):
		return "Blocked unsafe eval() 'script'"
	}
	if isLocalURI(blocked) {
		if m, ok := inlineMessages[directive]; ok {
			return m
		}
		return "Blocked inline '" + directive + "'"
	}
	if m, ok := fromMessages[directive]; ok {
		return fmt.Sprintf(m, norm)
	}
	return "Blocked '" + directive + "' from '" + norm + "'"
}

// unsafeInlineMessages title a report of inline code ("inline" as the
// blocked URI) by the directive that blocked it.
var unsafeInlineMessages = map[string]string{
	"script-src":      "Blocked unsafe inline 'script'",
	"script-src-elem": "Blocked unsafe inline 'script'",
	"script-src-attr": "Blocked unsafe script attribute",
	"style-src":       "Blocked unsafe inline 'style'",
	"style-src-elem":  "Blocked unsafe inline 'style'",
	"style-src-attr":  "Blocked style attribute",
}

var inlineMessages = map[string]string{
	"child-src":       "Blocked inline 'child'",
	"connect-src":     "Blocked inline 'connect'",
	"font-src":        "Blocked inline 'font'",
	"img-src":         "Blocked inline 'image'",
	"manifest-src":    "Blocked inline 'manifest'",
	"media-src":       "Blocked inline 'media'",
	"object-src":      "Blocked inline 'object'",
	"script-src-attr": "Blocked unsafe script attribute",
	"script-src-elem": "Blocked unsafe 'script' element",
	"style-src":       "Blocked inline 'style'",
	"style-src-elem":  "Blocked 'style' or 'link' element",
	"style-src-attr":  "Blocked style attribute",
	"script-src":      "Blocked unsafe (eval() or inline) 'script'",
}

var fromMessages = map[string]string{
	"child-src":       "Blocked 'child' from '%s'",
	"connect-src":     "Blocked 'connect' from '%s'",
	"font-src":        "Blocked 'font' from '%s'",
	"form-action":     "Blocked 'form' action to '%s'",
	"img-src":         "Blocked 'image' from '%s'",
	"manifest-src":    "Blocked 'manifest' from '%s'",
	"media-src":       "Blocked 'media' from '%s'",
	"object-src":      "Blocked 'object' from '%s'",
	"script-src":      "Blocked 'script' from '%s'",
	"script-src-attr": "Blocked inline script attribute from '%s'",
	"script-src-elem": "Blocked 'script' from '%s'",
	"style-src":       "Blocked 'style' from '%s'",
	"style-src-elem":  "Blocked 'style' from '%s'",
	"style-src-attr":  "Blocked style attribute from '%s'",
}

func isLocalURI(s string) bool { return s == "" || s == "self" || s == "'self'" }

// normalizeBlockedURI reduces a blocked URI to what a report is grouped
// and titled by: the host (and port) of an http(s) URL, the scheme of a
// data:, blob: or other URL, 'self' for the page itself.
func normalizeBlockedURI(s string) string {
	if isLocalURI(s) {
		return "'self'"
	}
	if !strings.Contains(s, ":") {
		if bareScheme(s) {
			// Browsers report some as the bare scheme: "data", "blob".
			return unsplitURI(s, "")
		}
		// A path or a URL without its scheme ("//cdn/x.js?token=",
		// "cdn.example/x.js?token="), which no browser sends but a
		// forged report may.
		return unparsedBlockedURI(s)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque != "" && strings.ContainsAny(u.Opaque, "/@")) {
		// Also "cdn.example:8443/x?api_key=", read as the scheme
		// "cdn.example", and "bob:pw@host".
		return unparsedBlockedURI(s)
	}
	host := strings.ToLower(u.Hostname())
	out := host
	if u.Scheme != "http" && u.Scheme != "https" {
		out = unsplitURI(strings.ToLower(u.Scheme), host)
	}
	if p := u.Port(); p != "" {
		out += ":" + p
	}
	return out
}

// unparsedBlockedURI is what the title and fingerprint take of a blocked
// URI that does not parse ("https://h:x/"): Relay takes it whole, here it
// goes without the parts of a URL that hold secrets, the query, the
// fragment and the user information. The processor scrubs the title as a
// message, but the fingerprint is stored with the event as built here.
func unparsedBlockedURI(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		// No authority to find user information in: whatever comes
		// before an "@" may be a password ("bob:pw@host").
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			if colon := strings.IndexByte(s, ':'); colon >= 0 && colon < at {
				return s[:colon+1] + s[at+1:]
			}
			return s[at+1:]
		}
		return s
	}
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	return scheme + "://" + authority + path
}

// unsplitURI joins a scheme and host as Python's urlunsplit does, which
// Sentry's titles follow: "data:" but "http://".
func unsplitURI(scheme, host string) string {
	switch {
	case host != "" || schemesWithHost[scheme]:
		return scheme + "://" + host
	case scheme != "":
		return scheme + ":"
	default:
		return ""
	}
}

var schemesWithHost = map[string]bool{}

func init() {
	for _, s := range strings.Fields("ftp http gopher nntp telnet imap wais file mms https shttp snews prospero rtsp rtspu rsync svn svn+ssh sftp nfs git git+ssh ws wss") {
		schemesWithHost[s] = true
	}
}

// sanitizedBlockedURI is the blocked-uri tag: Stripe's API puts secrets
// in its query strings, so its are cut, as Sentry does. Whatever the host,
// the processor then scrubs the tag as it scrubs the report's csp context
// (internal/scrub), by the project's settings: Relay keeps the rest whole
// and calls scrubbing the tags "the real solution".
//
// A blocked URI that is not a URL with a scheme and a host ("cdn.example/
// x.js?token=", "bob:pw@host?token=") is one the scrubber cannot read as a
// URL, so its query, fragment and user information would pass it as text:
// the tag takes what the title takes of it (unparsedBlockedURI).
func sanitizedBlockedURI(s string) string {
	if strings.HasPrefix(s, "https://api.stripe.com/") {
		if i := strings.IndexAny(s, "?#"); i >= 0 {
			return s[:i]
		}
	}
	if u, err := url.Parse(s); err != nil || u.Scheme == "" || u.Host == "" {
		if strings.ContainsAny(s, "?#@") {
			return unparsedBlockedURI(s)
		}
	}
	return s
}

// bareScheme reports whether s is only a URI scheme (RFC 3986: a letter,
// then letters, digits, "+", "-" and "."), as browsers report "data" and
// "blob".
func bareScheme(s string) bool {
	for i, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case i > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// unsupportedUpload refuses the crash uploads Flytrap cannot process:
// minidumps (sentry-native's crashpad backend, Electron) and Unreal
// Engine crash reports need native symbolication, which Flytrap does not
// do. A 400 with a message an operator can act on, where a 404 would
// read as a wrong URL.
func (h *Handler) unsupportedUpload(what, instead string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			preflight(w)
			return
		}
		h.writeError(w, r, &apiError{status: http.StatusBadRequest, code: "unsupported_upload", reason: ReasonBadRequest,
			msg: "Flytrap does not accept " + what + ": it has no native symbolication to process them. " + instead})
	}
}
