// Package scrub removes secrets and personal data from an event before it is
// grouped and stored, the way Sentry's server-side data scrubber does: values
// under sensitive keys become "[Filtered]", and credit card numbers and IP
// addresses inside free text are masked.
//
// It is pure (no store, no I/O) and never fails: input it cannot parse is
// treated as text. Work is bounded by the size of the event, and nesting
// deeper than maxDepth is replaced wholesale rather than walked.
package scrub

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/jsontree"
	"github.com/getflytrap/flytrap/internal/stacktrace"
	"github.com/go-json-experiment/json/jsontext"
)

// The masks. Filtered replaces a value under a sensitive key; CardMask and
// IPMask replace a card number or an IP address found inside text, so a
// reader still sees what kind of thing was there.
const (
	Filtered = "[Filtered]"
	CardMask = "[creditcard]"
	IPMask   = "[ip]"
)

// maxDepth bounds the nesting the scrubber walks. JSON nested deeper is
// replaced by Filtered: an unexamined subtree could hold a secret, and no
// SDK nests request bodies or extra data this deep.
const maxDepth = 32

// Config is a project's scrubbing settings.
type Config struct {
	// Enabled turns key and text scrubbing on; DropIP applies either way.
	Enabled bool
	// ExtraFields are more sensitive key names, matched like the defaults.
	ExtraFields []string
	// SafeFields are key names never filtered; they win over sensitive
	// ones.
	SafeFields []string
	// DropIP removes the user's (hashed) IP address.
	DropIP bool
}

// Locations a Result counts by, in the order its note lists them.
const (
	LocMessage            = "message"
	LocCulprit            = "culprit"
	LocExceptionType      = "exception.type"
	LocExceptionValue     = "exception.value"
	LocExceptionModule    = "exception.module"
	LocExceptionMechanism = "exception.mechanism"
	LocExceptionRawStack  = "exception.raw_stack"
	LocFrameVars          = "frames.vars"
	LocRequestURL         = "request.url"
	LocRequestQuery       = "request.query_string"
	LocRequestHeaders     = "request.headers"
	LocRequestData        = "request.data"
	LocUserData           = "user.data"
	LocExtra              = "extra"
	LocContexts           = "contexts"
	LocBreadcrumbMessage  = "breadcrumbs.message"
	LocBreadcrumbData     = "breadcrumbs.data"
	LocTags               = "tags"
	LocFeedbackMessage    = "feedback.message"
	LocFeedbackURL        = "feedback.url"
)

var locationOrder = []string{
	LocMessage, LocCulprit, LocExceptionType, LocExceptionValue, LocExceptionModule,
	LocExceptionMechanism, LocExceptionRawStack, LocFrameVars, LocRequestURL, LocRequestQuery,
	LocRequestHeaders, LocRequestData, LocUserData, LocExtra, LocContexts, LocBreadcrumbMessage,
	LocBreadcrumbData, LocTags, LocFeedbackMessage, LocFeedbackURL,
}

// urlTags are the tags ingest builds from a CSP report's blocked URI
// (internal/ingest/security.go). They hold what the report's csp context
// holds (a password or a session in the URL, an address), so they are
// scrubbed as that context is, by key and then as text; other tags are
// kept as sent.
var urlTags = map[string]bool{"blocked-uri": true, "blocked-host": true}

// Result counts the values Scrub filtered or masked, per location.
type Result struct {
	Counts map[string]int
}

// Total is the number of values filtered or masked.
func (r Result) Total() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

// Note describes the result for the event's notes, e.g. "Scrubbed 3 values
// (request.data: 2, request.query_string: 1)"; it is empty when nothing was
// scrubbed.
func (r Result) Note() string {
	total := r.Total()
	if total == 0 {
		return ""
	}
	parts := make([]string, 0, len(r.Counts))
	for _, loc := range locationOrder {
		if n := r.Counts[loc]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", loc, n))
		}
	}
	unit := "values"
	if total == 1 {
		unit = "value"
	}
	return fmt.Sprintf("Scrubbed %d %s (%s)", total, unit, strings.Join(parts, ", "))
}

// Scrub filters ev in place according to c and reports what it filtered.
func Scrub(ev *event.Event, c Config) Result {
	if c.DropIP && ev.User != nil {
		u := ev.User
		u.IPHash = ""
		if u.ID == "" && u.Email == "" && u.Username == "" && len(u.Data) == 0 {
			ev.User = nil
		}
	}
	if !c.Enabled {
		return Result{}
	}
	s := &scrubber{m: newMatcher(c), counts: map[string]int{}}
	s.loc = LocMessage
	ev.Message = s.text(ev.Message)
	s.messageParams(ev)
	// The SDK's culprit is often the request ("GET /reset?token=..."), and
	// it goes out with the issue in lists, alerts and webhooks. A culprit
	// the processor derives from the transaction or frames instead is
	// scrubbed there (see Text). Grouping never reads the SDK's culprit.
	s.loc = LocCulprit
	ev.SDKCulprit = s.text(ev.SDKCulprit)
	for i := range ev.Exceptions {
		ex := &ev.Exceptions[i]
		// The type is half the issue's title and of an alert's subject,
		// and some SDKs and apps build it from the error's text; the
		// module and mechanism are SDK text of the same kind.
		s.loc = LocExceptionType
		ex.Type = s.text(ex.Type)
		s.loc = LocExceptionValue
		ex.Value = s.text(ex.Value)
		s.loc = LocExceptionModule
		ex.Module = s.text(ex.Module)
		if ex.Mechanism != nil {
			s.loc = LocExceptionMechanism
			ex.Mechanism.Type = s.text(ex.Mechanism.Type)
			ex.Mechanism.Source = s.text(ex.Mechanism.Source)
		}
		s.loc = LocExceptionRawStack
		ex.RawStack = s.text(ex.RawStack)
		s.frameVars(ex.Frames, ex.RawFrames)
	}
	for i := range ev.Threads {
		s.frameVars(ev.Threads[i].Frames, nil)
	}
	for i := range ev.Breadcrumbs {
		b := &ev.Breadcrumbs[i]
		s.loc = LocBreadcrumbMessage
		b.Message = s.text(b.Message)
		s.loc = LocBreadcrumbData
		b.Data = s.raw(b.Data)
	}
	if r := ev.Request; r != nil {
		s.loc = LocRequestURL
		r.URL = s.text(r.URL)
		s.loc = LocRequestQuery
		r.QueryString = s.query(r.QueryString, "&")
		s.loc = LocRequestHeaders
		for i, h := range r.Headers {
			r.Headers[i][1] = s.keyed(h[0], h[1])
		}
		s.loc = LocRequestData
		r.Data = s.requestData(r)
	}
	if ev.User != nil {
		s.loc = LocUserData
		ev.User.Data = s.raw(ev.User.Data)
	}
	s.loc = LocExtra
	ev.Extra = s.raw(ev.Extra)
	s.loc = LocContexts
	ev.Contexts = s.raw(ev.Contexts)
	s.loc = LocTags
	for i, t := range ev.Tags {
		if urlTags[t.Key] {
			ev.Tags[i].Value = s.keyed(t.Key, t.Value)
		}
	}
	if fb := ev.Feedback; fb != nil {
		// What the user wrote is text like a message; the name and
		// contact address they typed to be answered are kept, as an
		// event's user e-mail and username are.
		s.loc = LocFeedbackMessage
		fb.Message = s.text(fb.Message)
		s.loc = LocFeedbackURL
		fb.URL = s.text(fb.URL)
	}
	return Result{Counts: s.counts}
}

// frameVars scrubs the local variables of frames as extra data is
// scrubbed. raw are the same frames as sent, which symbolication keeps
// beside frames it rewrote (event.Exception.RawFrames) with the same
// variables: they are scrubbed too, so that the minified view holds no
// secret either, but not counted again.
func (s *scrubber) frameVars(frames, raw []event.Frame) {
	s.loc = LocFrameVars
	for i := range frames {
		if f := &frames[i]; len(f.Vars) > 0 {
			f.Vars = s.raw(f.Vars)
		}
	}
	if len(raw) == 0 {
		return
	}
	counted := s.counts[s.loc]
	for i := range raw {
		if f := &raw[i]; len(f.Vars) > 0 {
			f.Vars = s.raw(f.Vars)
		}
	}
	s.counts[s.loc] = counted
	if counted == 0 {
		delete(s.counts, s.loc)
	}
}

// maxFormatted is ingest's limit on a message, which a message filled in
// again keeps.
const maxFormatted = 8 << 10

// messageParams scrubs a log message's params like extra data, and its
// filled-in text (event.MessageFormatted) like a message. The filled-in
// text holds the params as sent, so a param filtered by its key (a
// "%(password)s") is filled in again from the scrubbed params.
func (s *scrubber) messageParams(ev *event.Event) {
	if len(ev.MessageParams) > 0 {
		before := s.counts[s.loc]
		ev.MessageParams = s.raw(ev.MessageParams)
		if ev.MessageFormatted != "" && s.counts[s.loc] != before {
			ev.MessageFormatted = ""
			if p, ok := event.DecodeParams(ev.MessageParams); ok {
				if f, ok := event.FormatLogEntry(ev.Message, p, maxFormatted); ok && f != ev.Message {
					ev.MessageFormatted = event.Clamp(f, maxFormatted)
				}
			}
		}
	}
	ev.MessageFormatted = s.text(ev.MessageFormatted)
}

// scrubber carries the matcher and counts through one event.
type scrubber struct {
	m      *matcher
	loc    string
	counts map[string]int
	// loud is set once quiet could not vouch for a value of the event.
	loud bool
}

func (s *scrubber) count(n int) {
	if n > 0 {
		s.counts[s.loc] += n
	}
}

// filter returns Filtered, counting it unless v already was.
func (s *scrubber) filter(v string) string {
	if v != Filtered {
		s.count(1)
	}
	return Filtered
}

// text scrubs free text: sensitive parameters of the URLs in it are
// filtered, and card numbers and IP addresses masked.
func (s *scrubber) text(v string) string {
	q, h := strings.IndexByte(v, '?'), strings.IndexByte(v, '#')
	if q < 0 && h < 0 {
		return s.mask(v)
	}
	// A URL's query and fragment are scrubbed pair by pair, so that a
	// safe parameter stays unmasked; the words (split at spaces) between
	// URLs are masked together, so a card number written in groups is
	// still one. Only a word with a "?" or "#" can be a URL with either,
	// so those are looked for instead of splitting the whole text. Each
	// character's next position is looked for again only once passed, so
	// a text with many of one and a late other is still read once.
	var out []string
	next := 0 // where the word after the last URL starts
	for end := 0; ; {
		if q >= 0 && q < end {
			q = indexFrom(v, end, '?')
		}
		if h >= 0 && h < end {
			h = indexFrom(v, end, '#')
		}
		at := q
		if at < 0 || h >= 0 && h < at {
			at = h
		}
		if at < 0 {
			break
		}
		start := strings.LastIndexByte(v[:at], ' ') + 1
		if end = strings.IndexByte(v[at:], ' '); end < 0 {
			end = len(v)
		} else {
			end += at
		}
		w := v[start:end]
		if !looksLikeURL(w) {
			continue
		}
		if start > next {
			out = append(out, s.mask(v[next:start-1]))
		}
		out = append(out, s.url(w))
		next = end + 1
	}
	if out == nil {
		return s.mask(v)
	}
	if next <= len(v) {
		out = append(out, s.mask(v[next:]))
	}
	return strings.Join(out, " ")
}

// indexFrom is the index of the first c in v at or after from, or -1.
func indexFrom(v string, from int, c byte) int {
	if from >= len(v) {
		return -1
	}
	if i := strings.IndexByte(v[from:], c); i >= 0 {
		return from + i
	}
	return -1
}

// url scrubs a URL with a query or fragment: its query pair by pair, its
// fragment (see fragment), and the rest masked as text.
func (s *scrubber) url(w string) string {
	w, frag, hasFrag := strings.Cut(w, "#")
	base, query, hasQuery := strings.Cut(w, "?")
	out := s.mask(base)
	if hasQuery {
		out += "?" + s.query(query, "&")
	}
	if hasFrag {
		out += "#" + s.fragment(frag)
	}
	return out
}

// fragment scrubs a URL's fragment. Browsers report the page's whole URL
// (location.href), and a fragment can carry what a query does: OAuth's
// implicit flow returns "#access_token=...&state=...", and hash routers
// put a route with its query there ("#/reset?token=..."). Pairs are
// filtered by key as a query's are; any other fragment is masked as text.
func (s *scrubber) fragment(f string) string {
	if route, query, ok := strings.Cut(f, "?"); ok {
		return s.mask(route) + "?" + s.query(query, "&")
	}
	if strings.IndexByte(f, '=') >= 0 {
		return s.query(f, "&")
	}
	return s.mask(f)
}

// IssueCulprit is an issue's culprit (stacktrace.DisplayCulprit), scrubbed
// as Scrub scrubbed its event. The SDK's culprit already was; one derived
// from the transaction or the frames, which the event keeps as sent, is
// scrubbed here: a transaction can hold a query ("GET /reset?token=..."),
// and the issue's culprit goes out in lists, alerts, Slack and webhooks.
// Grouping reads the event's raw culprit (event.Event.Culprit), so this
// changes no issue an event joins. The processor and re-symbolication both
// set an issue's culprit through it.
func IssueCulprit(ev event.Event, c Config) string {
	culprit := stacktrace.DisplayCulprit(ev)
	if ev.SDKCulprit != "" {
		return culprit
	}
	return Text(culprit, c)
}

// Text scrubs v as Scrub scrubs an event's message under c: sensitive
// parameters of the URLs in it filtered, passwords of URLs, private keys,
// card numbers and IP addresses masked. It is for text derived from an
// event after Scrub, such as the culprit the processor computes from the
// transaction or the frames, which go out with the issue in alerts.
func Text(v string, c Config) string {
	if !c.Enabled || v == "" {
		return v
	}
	if strings.IndexByte(v, '?') < 0 && strings.IndexByte(v, '#') < 0 {
		// No URL query or fragment to filter by key: most culprits
		// ("app.views in checkout") need no matcher, whose maps cost
		// more than masking them.
		out, _ := maskText(v)
		return out
	}
	s := &scrubber{m: newMatcher(c), counts: map[string]int{}}
	return s.text(v)
}

// mask masks card numbers and IP addresses in text.
func (s *scrubber) mask(v string) string {
	out, n := maskText(v)
	s.count(n)
	return out
}

// keyed scrubs the string value of key: filtered when the key is sensitive,
// kept when it is safe, else scrubbed as text.
func (s *scrubber) keyed(key, v string) string {
	switch s.m.classify(key) {
	case safe:
		return v
	case sensitive, cookies:
		// A Cookie header is filtered whole: its cookies are as much
		// credentials as an Authorization header.
		return s.filter(v)
	}
	return s.text(v)
}

// query scrubs "k=v" pairs separated by sep (a query string, form body or
// cookie header): values of sensitive keys are filtered, others masked.
func (s *scrubber) query(q, sep string) string {
	if q == "" {
		return q
	}
	pairs := strings.Split(q, sep)
	for i, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			pairs[i] = s.text(p)
			continue
		}
		name := strings.TrimSpace(k)
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		switch s.m.classify(name) {
		case safe:
		case sensitive, cookies:
			pairs[i] = k + "=" + s.filter(v)
		default:
			pairs[i] = k + "=" + s.text(v)
		}
	}
	return strings.Join(pairs, sep)
}

// requestData scrubs a request's body. One its Content-Type declares a
// form is scrubbed pair by pair whatever it looks like, as the dashboard
// then shows it as fields: a value with a raw space keeps it from reading
// as a form, and its password from being filtered.
func (s *scrubber) requestData(r *event.Request) json.RawMessage {
	var body string
	if len(r.Data) == 0 || r.Data[0] != '"' || !r.FormBody() || json.Unmarshal(r.Data, &body) != nil {
		return s.raw(r.Data)
	}
	before := s.counts[s.loc]
	out := s.query(body, "&")
	if s.counts[s.loc] == before {
		return r.Data
	}
	return encode(out)
}

// raw scrubs kept JSON: objects and arrays are walked by key; a string is
// parsed as embedded JSON or a form body when it is one, else masked as
// text. The result is re-encoded only when something changed.
func (s *scrubber) raw(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return b
	}
	if !s.loud {
		if s.quiet(b) {
			return b
		}
		// An event with one secret often has more (a password in
		// every frame's arguments): its other values go straight to
		// the tree, which quiet's read would only precede.
		s.loud = true
	}
	return s.rawTree(b)
}

// rawTree is raw on b's tree, for the values quiet cannot vouch for.
func (s *scrubber) rawTree(b json.RawMessage) json.RawMessage {
	v, ok := decode(b)
	if !ok {
		// Not JSON: nothing upstream produces it, but it may still
		// hold secrets. Scrub it as the string it would be, and store
		// valid JSON.
		before := s.counts[s.loc]
		t := s.embedded(string(b), 0)
		if s.counts[s.loc] == before {
			return b
		}
		return encode(t)
	}
	before := s.counts[s.loc]
	v = s.walk(v, 0)
	if s.counts[s.loc] == before {
		return b
	}
	return encode(v)
}

// errLoud stops quiet's read at the first value that would be scrubbed.
var errLoud = errors.New("scrub: a value would change")

// quiet reports whether b is one JSON value and walking its tree would
// filter or mask nothing, which is what most frames' variables, contexts
// and data bags come to: raw then keeps b as it is, and building the tree
// (maps of every object, a string or number in an interface each) was half
// of scrubbing a 50 KB event (docs/benchmarks.md). It reads b's values
// once, in walk's order, and scrubs each string and number as walk does;
// the shapes walk changes by their key (sensitive and cookie keys, pair
// lists, depth) make it answer false unless it is sure nothing changes,
// and raw builds the tree. Counts are left as they were.
func (s *scrubber) quiet(b []byte) bool {
	before, had := s.counts[s.loc]
	err := jsontree.Read(b, func(dec *jsontext.Decoder) error {
		if !s.quietValue(dec, 0, false) {
			return errLoud
		}
		if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
			return errLoud
		}
		return nil
	})
	if err == nil {
		return true
	}
	if had {
		s.counts[s.loc] = before
	} else {
		delete(s.counts, s.loc)
	}
	return false
}

// quietValue reads the next value, at depth, and reports whether walk
// would keep it as it is. inList is true for an item of a list, which may
// be a [name, value] pair of a pair list (isPairList), whose value walk
// scrubs by the name. Every member of an object is read, a repeated
// name's too, where walk sees only the last: a stricter answer, never a
// wrong one.
func (s *scrubber) quietValue(dec *jsontext.Decoder, depth int, inList bool) bool {
	switch dec.PeekKind() {
	case '{':
		if depth >= maxDepth {
			return false
		}
		if _, err := dec.ReadToken(); err != nil {
			return false
		}
		for dec.PeekKind() != '}' {
			k, err := dec.ReadValue()
			if err != nil {
				return false
			}
			c := s.m.classify(jsontree.Unquote(k))
			if c == safe {
				if dec.SkipValue() != nil {
					return false
				}
				continue
			}
			if !s.quietUnder(dec, c, depth+1, false) {
				return false
			}
		}
		_, err := dec.ReadToken()
		return err == nil
	case '[':
		if depth >= maxDepth {
			return false
		}
		if _, err := dec.ReadToken(); err != nil {
			return false
		}
		name := plain
		for i := 0; dec.PeekKind() != ']'; i++ {
			switch k := dec.PeekKind(); {
			case inList && i == 0 && (k == '"' || k == '0'):
				v, err := dec.ReadValue()
				if err != nil || !s.quietScalar(v, depth+1) {
					return false
				}
				// A pair's name is read as walk reads it: a number as
				// its digits.
				if k == '"' {
					name = s.m.classify(jsontree.Unquote(v))
				} else {
					name = s.m.classify(string(v))
				}
			case inList && i == 1:
				// Outside a pair list the item is walked as any other:
				// a safe name's value is read all the same.
				if name == safe {
					name = plain
				}
				if !s.quietUnder(dec, name, depth+1, true) {
					return false
				}
			default:
				if !s.quietValue(dec, depth+1, true) {
					return false
				}
			}
		}
		_, err := dec.ReadToken()
		return err == nil
	case '"', '0':
		v, err := dec.ReadValue()
		return err == nil && s.quietScalar(v, depth)
	}
	return dec.SkipValue() == nil // true, false and null, which walk keeps
}

// quietUnder reads the value of a key or pair name of class c (not safe)
// at depth and reports whether walk would keep it: a sensitive key's
// value is filtered unless it is null, empty or filtered already, and
// quiet leaves cookie jars to walk.
func (s *scrubber) quietUnder(dec *jsontext.Decoder, c class, depth int, inList bool) bool {
	switch c {
	case sensitive:
		switch dec.PeekKind() {
		case 'n':
			return dec.SkipValue() == nil
		case '"':
			v, err := dec.ReadValue()
			return err == nil && (string(v) == `""` || string(v) == `"`+Filtered+`"`)
		}
		return false
	case cookies:
		return dec.PeekKind() == 'n' && dec.SkipValue() == nil
	}
	return s.quietValue(dec, depth, inList)
}

// quietScalar scrubs the string or number v (as read, quoted) as walk
// does, and reports whether nothing was.
func (s *scrubber) quietScalar(v jsontext.Value, depth int) bool {
	if v.Kind() == '0' {
		_, n := maskText(string(v))
		return n == 0
	}
	if bytes.IndexByte(v, '\\') < 0 && !mayScrub(v[1:len(v)-1]) {
		return true
	}
	before := s.counts[s.loc]
	s.embedded(jsontree.Unquote(v), depth)
	return s.counts[s.loc] == before
}

// mayScrub is false for text that embedded keeps as it is without
// reading it: no JSON opener and no form ("{", "[", "="), no URL query
// or fragment ("?", "#"), and nothing maskText masks, which takes a
// digit, or ":" or "-" for a URL's password or a private key. Most text
// in events is such words, and needs no string made of it.
// FuzzMayScrub holds it to embedded.
func mayScrub(b []byte) bool {
	return bytes.ContainsAny(b, "0123456789{[=?#:-")
}

// walk scrubs a decoded JSON value.
func (s *scrubber) walk(v any, depth int) any {
	if depth >= maxDepth {
		if isScalar(v) {
			return s.scalar(v, depth)
		}
		return s.filter("")
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch s.m.classify(k) {
			case safe:
			case sensitive:
				if e != nil && e != "" {
					x[k] = s.filter(fmt.Sprint(e))
				}
			case cookies:
				x[k] = s.jar(e, depth+1)
			default:
				x[k] = s.walk(e, depth+1)
			}
		}
		return x
	case []any:
		if depth+2 < maxDepth && isPairList(x) {
			for _, e := range x {
				s.pair(e.([]any), depth+1)
			}
			return x
		}
		for i, e := range x {
			x[i] = s.walk(e, depth+1)
		}
		return x
	}
	return s.scalar(v, depth)
}

// isPairList reports whether every item of x is a [name, value] pair: a
// two-item list whose first item is a string or a number. It is the shape
// of Sentry's headers, cookies, env and query lists outside the typed
// request.headers ([["Set-Cookie", "sid=1"], ["Accept", "*"]]), which
// are read by name as Relay reads them. A list of pairs is also what a
// list of tuples looks like; reading one by name filters more only when
// a first item is a sensitive name. A number counts as a name because a
// card number there is masked into a string ("[creditcard]"), and a list
// that held it must read the same when scrubbed again.
func isPairList(x []any) bool {
	if len(x) == 0 {
		return false
	}
	for _, e := range x {
		p, ok := e.([]any)
		if !ok || len(p) != 2 {
			return false
		}
		switch p[0].(type) {
		case string, json.Number:
		default:
			return false
		}
	}
	return true
}

// pair scrubs a [name, value] pair of a pair list at depth: the name is
// scrubbed as any string is, then the value by the scrubbed name as an
// object's member is by its key. The name is classified as scrubbed, so
// that a second pass, which finds it so, reads the pair the same way.
func (s *scrubber) pair(p []any, depth int) {
	p[0] = s.walk(p[0], depth+1)
	var name string
	switch k := p[0].(type) {
	case string:
		name = k
	case json.Number:
		name = k.String()
	}
	switch e := p[1]; s.m.classify(name) {
	case safe:
	case sensitive:
		if e != nil && e != "" {
			p[1] = s.filter(fmt.Sprint(e))
		}
	case cookies:
		p[1] = s.jar(e, depth+1)
	default:
		p[1] = s.walk(e, depth+1)
	}
}

// jar scrubs what a cookie key ("cookie", "cookies") holds outside
// request.headers. Cookies are credentials, and a session cookie's name
// says nothing of it (connect.sid, PHPSESSID, _gh_sess, sid), so every
// cookie's value is filtered whatever its name, and only the names are
// kept, to show which cookies were sent. A jar is a "a=1; b=2" string,
// an object of names, a list of [name, value] pairs or of either; a
// string segment with no "=" is a value with no name, filtered whole, as
// is anything else under a name (an object, a number). A name among the
// project's safe fields keeps its value.
func (s *scrubber) jar(v any, depth int) any {
	if v == nil {
		return nil
	}
	if depth >= maxDepth {
		return s.cookieValue(v)
	}
	switch x := v.(type) {
	case string:
		return s.cookieString(x)
	case map[string]any:
		for name, e := range x {
			if s.m.classify(name) != safe {
				x[name] = s.cookieValue(e)
			}
		}
		return x
	case []any:
		for i, e := range x {
			if pair, ok := e.([]any); ok && len(pair) == 2 {
				if name, ok := pair[0].(string); ok {
					if s.m.classify(name) != safe {
						pair[1] = s.cookieValue(pair[1])
					}
					continue
				}
			}
			x[i] = s.jar(e, depth+1)
		}
		return x
	}
	return s.cookieValue(v)
}

// cookieValue filters a cookie's value whole; a null or empty one is kept.
func (s *scrubber) cookieValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if x == "" {
			return x
		}
		return s.filter(x)
	}
	return s.filter("")
}

// cookieString filters the values of a "a=1; b=2" cookie string, keeping
// the names and the spacing; a segment with no "=" is filtered whole.
func (s *scrubber) cookieString(v string) string {
	if v == "" {
		return v
	}
	parts := strings.Split(v, ";")
	for i, p := range parts {
		t := strings.TrimLeft(p, " \t")
		if strings.TrimSpace(t) == "" {
			continue
		}
		k, val, ok := strings.Cut(t, "=")
		if !ok {
			parts[i] = p[:len(p)-len(t)] + s.filter(t)
			continue
		}
		name := strings.TrimSpace(k)
		if un, err := url.QueryUnescape(name); err == nil {
			name = un
		}
		if val == "" || s.m.classify(name) == safe {
			continue
		}
		parts[i] = p[:len(p)-len(t)] + k + "=" + s.filter(val)
	}
	return strings.Join(parts, ";")
}

// scalar scrubs a string or number: a string may itself be embedded JSON or
// a form body; a number may be a card number.
func (s *scrubber) scalar(v any, depth int) any {
	switch x := v.(type) {
	case string:
		return s.embedded(x, depth)
	case json.Number:
		if out, n := maskText(x.String()); n > 0 {
			s.count(n)
			return out
		}
	}
	return v
}

// embedded scrubs a string that may be a JSON document, a form body or text.
func (s *scrubber) embedded(str string, depth int) string {
	t := strings.TrimSpace(str)
	if len(t) > 1 && (t[0] == '{' || t[0] == '[') {
		if v, ok := decode([]byte(t)); ok {
			before := s.counts[s.loc]
			v = s.walk(v, depth+1)
			if s.counts[s.loc] == before {
				return str
			}
			return string(encode(v))
		}
	}
	if looksLikeForm(t) {
		return s.query(str, "&")
	}
	out := s.text(str)
	// A mask can take away what kept the text from reading as a form
	// (the spaces of a card number): read as one now, or a second pass
	// would filter what this one left.
	if out != str && looksLikeForm(strings.TrimSpace(out)) {
		return s.query(out, "&")
	}
	return out
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// looksLikeForm reports whether s is an application/x-www-form-urlencoded
// body: key=value pairs joined by "&", with no spaces. A URL with a query
// is not one, though its first pair reads so: its base would be kept as a
// key, password and address included.
func looksLikeForm(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n") || looksLikeURL(s) {
		return false
	}
	for p := range strings.SplitSeq(s, "&") {
		k, _, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return false
		}
	}
	return true
}

// looksLikeURL reports whether s is an absolute or rooted URL with a query
// or a fragment, the parts of a URL scrubbed by key.
func looksLikeURL(s string) bool {
	if strings.IndexByte(s, '?') < 0 && strings.IndexByte(s, '#') < 0 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	if strings.HasPrefix(s, "/") {
		return true
	}
	scheme, _, ok := strings.Cut(s, "://")
	return ok && scheme != "" && !strings.ContainsAny(scheme, "/?")
}

func decode(b []byte) (any, bool) {
	v, err := jsontree.Parse(b)
	return v, err == nil
}

// encode re-encodes a decoded tree as ingest does (no HTML escaping, the
// UI escapes on output). A decoded tree always encodes; were that ever to
// fail, the value is filtered rather than kept unscrubbed.
func encode(v any) json.RawMessage {
	b, err := jsontree.Marshal(v)
	if err != nil {
		return json.RawMessage(`"` + Filtered + `"`)
	}
	return b
}
