package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/jsontree"
	"github.com/google/uuid"
)

// Size limits applied while normalizing. They keep one event's footprint in
// the store and UI bounded no matter what an SDK sends; text beyond a limit
// is cut, ends in "…", and is named in a note (see cuts).
const (
	maxName         = 256                       // types, modules, functions, user fields
	maxNameBytes    = 4*event.MaxNameLength + 4 // releases, environments: event.CutName cuts them to characters after
	maxTag          = 200                       // tag keys and values (Sentry's limit)
	maxPath         = 2048                      // file names, paths, URLs
	maxLine         = 1024                      // one source line
	maxMessage      = 8192                      // messages and exception values
	maxStack        = 64 << 10                  // a Flytrap text stack
	maxRawJSON      = 256 << 10                 // each of contexts, extra, request.data and other kept JSON; trimmed to fit
	maxFrameVars    = 16 << 10                  // one frame's local variables, trimmed to fit like maxRawJSON
	maxFrames       = 250                       // per stack; the middle is cut
	maxExceptions   = 25                        // per chain; the outermost are kept
	maxThreads      = 100                       // beside the exceptions' own; the first are kept
	maxBreadcrumbs  = 100                       // the most recent are kept
	maxTags         = 100
	maxHeaders      = 100
	maxContextLines = 25 // pre/post context lines per frame
	maxFingerprint  = 50
	maxNotes        = 20
	// maxNote bounds a note's bytes, and maxNoteKey a key an SDK sent
	// as a note quotes it (a header or extra's name): notes are read in
	// a sentence, and the key itself is kept or cut elsewhere.
	maxNote    = 1024
	maxNoteKey = 64
	// maxCutNames bounds the members one cut note names, so that an event
	// of thousands of long strings gets one short note.
	maxCutNames = 5
)

// Timestamps outside [received-maxPast, received+maxFuture] are replaced by
// the received time, as Sentry does: such values come from broken clocks and
// would put events where nobody looks.
const (
	maxPast   = 30 * 24 * time.Hour
	maxFuture = time.Minute
	// minClockDrift is how far an envelope's sent_at must be from the
	// received time before event timestamps are corrected by the
	// difference; smaller gaps are transport delays.
	minClockDrift = 55 * time.Minute
)

// decoder turns untrusted JSON into event fields. Wrongly typed fields are
// dropped and remembered as notes; nothing in here fails on a bad field.
type decoder struct {
	received time.Time
	clientIP string // the sender's address, for Sentry's "{{auto}}"
	salt     []byte
	dropIPs  bool
	// loopbackHeader is set by headers on an X-Forwarded-For of
	// 127.0.0.1 or ::1, which the header's value, filtered, no longer
	// says (see event.Event.LoopbackIP).
	loopbackHeader bool
	notes          []string
	// changed is what clamp changed in the event's strings, nil until it
	// changes one: most events have nothing cut, and pay nothing for it.
	changed *changes
}

// changes are the strings cut to a limit and those NULs were removed
// from.
type changes struct{ cut, nul cuts }

// cuts tallies one kind of change to the event's strings, for the one
// note finish writes about it: how many, and the first few by name.
type cuts struct {
	n     int
	names []string
}

func (c *cuts) add(name func() string) {
	c.n++
	if len(c.names) < maxCutNames {
		c.names = append(c.names, name())
	}
}

// list is the names for a note: "a, b, c; and 4 more".
func (c *cuts) list() string {
	s := strings.Join(c.names, ", ")
	if more := c.n - len(c.names); more > 0 {
		s += fmt.Sprintf("; and %d more", more)
	}
	return s
}

func (h *Handler) newDecoder(clientIP string) *decoder {
	return &decoder{received: h.cfg.Now().UTC(), clientIP: clientIP, salt: h.cfg.IPSalt, dropIPs: h.cfg.DropIPs}
}

// finish writes the notes that sum up the event's strings, one per kind
// of change however many strings it touched, and returns all the notes.
func (d *decoder) finish() []string {
	c := d.changed
	if c == nil {
		return d.notes
	}
	if c.cut.n > 0 {
		d.note("cut %s to fit the event field limits (each now ends in \"…\"): %s", plural(c.cut.n, "string"), c.cut.list())
	}
	if c.nul.n > 0 {
		d.note("removed NUL characters, which cannot be stored, from %s: %s", plural(c.nul.n, "string"), c.nul.list())
	}
	return d.notes
}

// note adds a note, cut to maxNote bytes and without control characters
// (a name an SDK sent may hold any): the cost is only a written note's.
func (d *decoder) note(format string, args ...any) {
	switch {
	case len(d.notes) < maxNotes:
		d.notes = append(d.notes, clamp(noControls(fmt.Sprintf(format, args...)), maxNote))
	case len(d.notes) == maxNotes:
		d.notes = append(d.notes, "further notes omitted")
	}
}

// where names a member of the event in notes, as
// "exception.values[0].stacktrace.frames[3].lineno". Decoding names every
// field of every frame and breadcrumb, and only a note reads the name, so
// it is put together only then: building each one up front was 3.5% of the
// server's CPU under load (docs/benchmarks.md).
type where struct {
	base string
	idx  int    // 1 + the index that follows base; 0 for none
	leaf string // a member name that follows, such as ".type"
}

// at names the member name, such as "user" or "sdk.name".
func at(name string) where { return where{base: name} }

// String returns the name.
func (w where) String() string {
	if w.idx == 0 {
		return w.base + w.leaf
	}
	return w.base + "[" + strconv.Itoa(w.idx-1) + "]" + w.leaf
}

// field names member name (".type") of w. Only a field of a field puts a
// name together.
func (w where) field(name string) where {
	if w.leaf != "" {
		return where{base: w.String(), leaf: name}
	}
	w.leaf = name
	return w
}

// list fixes w's name once, so that naming its items puts nothing together.
func (w where) list() where { return where{base: w.String()} }

// item names entry i of the list w names; call it on a list().
func (w where) item(i int) where {
	if w.idx != 0 || w.leaf != "" {
		w = w.list()
	}
	w.idx = i + 1
	return w
}

func (d *decoder) wrongType(path where, want string, v any) {
	d.note("dropped %s: expected %s, got %s", path, want, jsonKind(v))
}

// str reads a string field. Numbers and booleans are taken as their JSON
// text, because SDKs send numeric IDs, releases and tag values; objects and
// arrays are dropped.
func (d *decoder) str(path where, v any, limit int) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return d.clamp(path, x, limit)
	case json.Number:
		return d.clamp(path, string(x), limit)
	case bool:
		return strconv.FormatBool(x)
	default:
		d.wrongType(path, "a string", v)
		return ""
	}
}

// clamp is clamp for the member path names, remembering for the notes
// (finish) a cut or NULs removed. The test before the call is all that a
// string within its limit costs: decoding calls this for every field of
// every frame.
func (d *decoder) clamp(path where, s string, limit int) string {
	if len(s) <= limit && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return d.clampSlow(path.String, s, limit)
}

// clampKey is clamp for member key of the object path names, such as a
// header; the name is put together only for a note.
func (d *decoder) clampKey(path where, key, s string, limit int) string {
	if len(s) <= limit && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return d.clampSlow(func() string { return path.String() + "." + noteKey(key) }, s, limit)
}

// noteKey is a key an SDK sent as a note names it: without control
// characters (NUL among them), cut to maxNoteKey bytes.
func noteKey(key string) string { return clamp(noControls(key), maxNoteKey) }

// noControls removes s's control characters, which a note, one line of
// text, has no use for.
func noControls(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

func (d *decoder) clampSlow(name func() string, s string, limit int) string {
	out := clamp(s, limit)
	if d.changed == nil {
		d.changed = &changes{}
	}
	nuls := strings.Count(s, "\x00")
	if nuls > 0 {
		d.changed.nul.add(name)
	}
	if len(s)-nuls > limit {
		d.changed.cut.add(func() string { return fmt.Sprintf("%s (%d bytes, kept %d)", name(), len(s), len(out)) })
	}
	return out
}

// text is anyText for the member path names, with clamp's notes.
func (d *decoder) text(path where, v any, limit int) string {
	return d.clamp(path, anyText(v, math.MaxInt), limit)
}

// textItem is text for item i of the list path names, whose name is put
// together only for a note: a list() for each frame's context lines cost
// an allocation each.
func (d *decoder) textItem(path where, i int, v any, limit int) string {
	s := anyText(v, math.MaxInt)
	if len(s) <= limit && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return d.clampSlow(func() string { return path.item(i).String() }, s, limit)
}

// name reads a release or an environment, which name things in URLs and
// terminals: cut as event.CutName cuts it, as a session's is, with a note,
// and a value problem refuses dropped with a note saying why, as Sentry
// drops it.
func (d *decoder) name(path where, v any, problem func(string) string) string {
	if x, ok := v.(string); ok {
		cut := event.CutName(x)
		if len(cut) < len(strings.TrimSpace(x)) {
			d.note("cut %s to %d characters", path, event.MaxNameLength)
		}
		v = cut
	}
	// Within maxNameBytes now: this only removes NULs.
	s := strings.TrimSpace(d.str(path, v, maxNameBytes))
	if s == "" {
		return ""
	}
	if p := problem(s); p != "" {
		d.note("dropped %s: the name %s", path, p)
		return ""
	}
	return s
}

// anyText renders any JSON value as text: strings as they are, everything
// else as compact JSON. For fields the protocol defines as free-form.
// With a limit of math.MaxInt it cuts nothing and keeps NULs, for text a
// decoder's clamp bounds afterwards.
func anyText(v any, limit int) string {
	s, ok := v.(string)
	if !ok {
		s = compactJSON(v)
	}
	if limit == math.MaxInt {
		return s
	}
	return clamp(s, limit)
}

func (d *decoder) object(path where, v any) map[string]any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		return x
	default:
		d.wrongType(path, "an object", v)
		return nil
	}
}

// values reads a list that SDKs send either bare or wrapped as
// {"values": [...]} (exceptions, breadcrumbs, threads).
func (d *decoder) values(path where, v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	case map[string]any:
		if inner, ok := x["values"]; ok {
			return d.list(path.field(".values"), inner)
		}
	}
	d.wrongType(path, "a list", v)
	return nil
}

func (d *decoder) list(path where, v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	default:
		d.wrongType(path, "a list", v)
		return nil
	}
}

// boolPtr reads a boolean; "true"/"false" strings are accepted because
// some SDKs stringify everything.
func (d *decoder) boolPtr(path where, v any) *bool {
	var b bool
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		b = x
	case string:
		p, err := strconv.ParseBool(x)
		if err != nil {
			d.wrongType(path, "a boolean", v)
			return nil
		}
		b = p
	default:
		d.wrongType(path, "a boolean", v)
		return nil
	}
	return &b
}

// lineNumber reads a 1-based line or column number sent as a number, a
// float or a numeric string. Zero and negative values (Unity sends -1) mean
// unknown.
func (d *decoder) lineNumber(path where, v any) int {
	var s string
	switch x := v.(type) {
	case nil:
		return 0
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		d.wrongType(path, "a number", v)
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		d.wrongType(path, "a number", v)
		return 0
	}
	if f < 1 || f > math.MaxInt32 {
		return 0
	}
	return int(f)
}

// rawObject keeps an object as JSON (contexts, extra, data bags). Empty
// objects are dropped as noise, oversized ones with a note.
func (d *decoder) rawObject(path where, v any) json.RawMessage {
	m := d.object(path, v)
	if len(m) == 0 {
		return nil
	}
	return d.raw(path, m)
}

// raw keeps any JSON value, within maxRawJSON: a larger one is trimmed
// (trimRaw), not dropped.
func (d *decoder) raw(path where, v any) json.RawMessage {
	return d.rawWithin(path, v, maxRawJSON)
}

// rawWithin is raw with limit in place of maxRawJSON.
func (d *decoder) rawWithin(path where, v any, limit int) json.RawMessage {
	if v == nil {
		return nil
	}
	b := marshalJSON(v)
	if len(b) > limit {
		return d.trimRaw(path, v, len(b), limit)
	}
	return b
}

// marshalJSON re-encodes a decoded JSON tree. It cannot fail: the tree
// holds only maps, slices, strings, json.Numbers (from the parser, so
// valid), bools and nils.
func marshalJSON(v any) []byte {
	b, err := jsontree.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ingest: re-encoding decoded JSON: %v", err))
	}
	return b
}

func compactJSON(v any) string { return string(marshalJSON(v)) }

// jsonKind names a decoded JSON value's type for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	default:
		return "an object"
	}
}

// clamp is event.Clamp: SDK text cut to limit bytes, without NULs.
func clamp(s string, limit int) string { return event.Clamp(s, limit) }

// normalizeEventID accepts a UUID in any of its usual spellings (32 hex
// digits, dashed, braced, urn:uuid:) and returns 32 lowercase hex digits.
// The nil UUID is rejected: it is what broken SDKs send for "no ID".
func normalizeEventID(s string) (string, bool) {
	u, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil || u == uuid.Nil {
		return "", false
	}
	return hex.EncodeToString(u[:]), true
}

func newEventID() string {
	u := uuid.New()
	return hex.EncodeToString(u[:])
}

// eventID picks the event's ID: its own if valid, else the envelope's,
// else a fresh one. An invalid ID is replaced rather than rejected: losing
// an error report over a malformed ID helps nobody, and the processor needs
// a well-formed ID to deduplicate deliveries.
func (d *decoder) eventID(v any, fallback string) string {
	if v != nil {
		s := d.str(at("event_id"), v, 64)
		if id, ok := normalizeEventID(s); ok {
			return id
		}
		d.note("event_id %q is not a UUID; the event got a new ID", s)
	}
	if id, ok := normalizeEventID(fallback); ok {
		return id
	}
	return newEventID()
}

// latestUnix is 9999-12-31T23:59:59Z, the last instant encoding/json can
// write for a time.Time.
const latestUnix = 253402300799

// parseTimestamp reads seconds since the epoch (a number or numeric string,
// possibly fractional) or an RFC 3339 timestamp, with or without a zone
// (without one, UTC, which is what SDKs mean).
func parseTimestamp(v any) (time.Time, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = string(x)
	case string:
		s = strings.TrimSpace(x)
	default:
		return time.Time{}, false
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		// ParseFloat takes "NaN", which no comparison rejects.
		if !(f >= 0 && f <= latestUnix) {
			return time.Time{}, false
		}
		sec, frac := math.Modf(f)
		// Round to microseconds: float64 cannot carry more at today's
		// epoch and SDKs send no more.
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), true
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// encodable reports whether encoding/json can write t (years 0 to 9999).
func encodable(t time.Time) bool {
	y := t.Year()
	return y >= 0 && y <= 9999
}

// timestamp reads the event timestamp, corrects it for the client's clock
// drift, and falls back to the received time when it is missing or absurd.
func (d *decoder) timestamp(v any, drift time.Duration) time.Time {
	if v == nil {
		return d.received
	}
	t, ok := parseTimestamp(v)
	if !ok {
		d.note("timestamp %s is not a Unix time or RFC 3339 timestamp; using the received time", clamp(compactJSON(v), 64))
		return d.received
	}
	t = t.Add(drift)
	if t.Before(d.received.Add(-maxPast)) || t.After(d.received.Add(maxFuture)) {
		d.note("timestamp %s is more than 30 days before or a minute after the received time; using the received time", t.Format(time.RFC3339))
		return d.received
	}
	return t
}

// clockDrift is how far the client's clock is behind ours, judged from the
// envelope's sent_at, or 0 when within transport-delay tolerance.
func (d *decoder) clockDrift(sentAt time.Time) time.Duration {
	if sentAt.IsZero() {
		return 0
	}
	drift := d.received.Sub(sentAt)
	if drift.Abs() < minClockDrift {
		return 0
	}
	d.note("the client clock is off by %s; timestamps were corrected", drift.Round(time.Second))
	return drift
}

// hashIP turns an IP address into the stored pseudonym: the first 32 hex
// digits of SHA-256(salt || ip). Addresses are canonicalized first so that
// "::ffff:10.0.0.1" and "10.0.0.1" count as one user; other strings are
// hashed as sent, since they may still be identifying.
func (d *decoder) hashIP(ip string) string {
	ip = strings.TrimSpace(ip)
	if ip == "" || d.dropIPs {
		return ""
	}
	if a, err := netip.ParseAddr(ip); err == nil {
		ip = a.Unmap().String()
	}
	sum := sha256.Sum256(append(append([]byte(nil), d.salt...), ip...))
	return hex.EncodeToString(sum[:])[:32]
}

// level maps Sentry's level names, their aliases and Python logging's
// numeric levels; anything else is an error, the protocol's default.
func (d *decoder) level(path where, v any, fallback string) string {
	switch x := v.(type) {
	case nil:
		return fallback
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "fatal", "critical":
			return "fatal"
		case "error":
			return "error"
		case "warning", "warn":
			return "warning"
		case "info", "log":
			return "info"
		case "debug", "trace":
			return "debug"
		}
	case json.Number:
		switch x {
		case "50":
			return "fatal"
		case "40":
			return "error"
		case "30":
			return "warning"
		case "20":
			return "info"
		case "10":
			return "debug"
		}
	}
	d.note("dropped %s %s: not a known level", path, clamp(compactJSON(v), 32))
	return fallback
}
