package dashboard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Bounded rendering: everything an SDK sent reaches a page through a
// budget, so what a page shows of an event is bounded by the limits below
// whatever the event holds. Pretty-printed JSON is the reason: indentation
// grows with the square of the nesting depth, and a 240 KB event nested
// 10,000 deep became a 799 MB page. What is cut ends in truncMark, and the
// whole event stays downloadable as raw JSON.
//
// Sizes are counted in bytes of HTML, as html/template writes the text
// (an "<" costs four bytes, a quote five), so a limit bounds what is sent
// and held in memory rather than what the SDK sent.

// RenderLimits bound how much of an event a dashboard page shows. Zero
// fields take the Default* values.
type RenderLimits struct {
	// MaxDepth is the deepest nesting of client JSON shown; a deeper
	// object or array is shown as {… truncated} or [… truncated].
	MaxDepth int
	// MaxItems bounds the members of one JSON object or array and the
	// entries of each list on the page: exceptions, frames of one
	// exception, source lines and local variables of one frame,
	// breadcrumbs, headers, tags, notes, tag keys.
	MaxItems int
	// MaxString bounds one string (a message, an exception value, a raw
	// stack, a header, a string in JSON), in bytes of HTML.
	MaxString int
	// MaxJSON bounds one JSON block (contexts, extra, user data, the
	// request body, a breadcrumb's data, a local variable's value), in
	// bytes of HTML.
	MaxJSON int
	// MaxPage bounds all of an event a page shows together, in bytes of
	// HTML; each list entry shown also costs itemMarkup for the markup
	// around it. What comes after the budget is spent is cut.
	MaxPage int
}

// Defaults of RenderLimits. They keep what a page shows of an event to
// about 512 KB of HTML while showing ordinary events whole: ingest already
// keeps at most 250 frames per stack, 100 breadcrumbs, headers and tags,
// and 8 KB messages. A 1 MB event (250 frames with variables, 100
// breadcrumbs of 4 KB) made a 1.3 MB page at 2 MB; its raw JSON has all.
const (
	DefaultMaxDepth  = 20
	DefaultMaxItems  = 250
	DefaultMaxString = 16 << 10
	DefaultMaxJSON   = 128 << 10
	DefaultMaxPage   = 512 << 10
)

// entryJSON bounds, in bytes of HTML, the JSON of one entry of a list an
// event may hold hundreds of: a breadcrumb's data, a local variable's
// value. Within MaxJSON, it keeps one such entry from taking the page's
// budget from the others; the raw JSON has what is cut.
const entryJSON = 2 << 10

// withDefaults fills zero (or negative) fields with the defaults.
func (l RenderLimits) withDefaults() RenderLimits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxDepth, DefaultMaxDepth)
	def(&l.MaxItems, DefaultMaxItems)
	def(&l.MaxString, DefaultMaxString)
	def(&l.MaxJSON, DefaultMaxJSON)
	def(&l.MaxPage, DefaultMaxPage)
	return l
}

// truncMark ends whatever was cut, so a reader knows there is more in the
// raw JSON.
const truncMark = "… truncated"

// itemMarkup is what one list entry is charged for the template's markup
// around its text: a frame's or a breadcrumb's is about this size, a tag's
// or a source line's less.
const itemMarkup = 256

// htmlCost is how many bytes html/template writes in text for byte c:
// these characters become entities (NUL becomes U+FFFD), the rest stay.
func htmlCost(c byte) int {
	switch c {
	case '"', '\'', '&', '+':
		return 5 // &#34; &#39; &amp; &#43;
	case '<', '>':
		return 4
	case 0:
		return 3
	}
	return 1
}

// textCost is len(s) as html/template writes it in text.
func textCost(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n += htmlCost(s[i])
	}
	return n
}

var markCost = textCost(truncMark)

// clipText returns s whole if it costs at most limit, else its longest
// prefix that fits with truncMark after it (just the mark when limit has no
// room for more), and what the result costs. Cuts fall between runes.
func clipText(s string, limit int) (string, int) {
	cost, cut, kept := 0, -1, 0
	for i := 0; i < len(s); {
		_, w := utf8.DecodeRuneInString(s[i:])
		c := 0
		for j := i; j < i+w; j++ {
			c += htmlCost(s[j])
		}
		if cut < 0 && cost+c+markCost > limit {
			cut, kept = i, cost // the last point with room for the mark
		}
		if cost+c > limit {
			if kept+markCost > limit {
				return truncMark, markCost
			}
			return s[:cut] + truncMark, kept + markCost
		}
		cost += c
		i += w
	}
	return s, cost
}

// budget is one page's allowance for client data. Views take their text
// from it in order of importance, so when it runs out what is cut is the
// end of the page's least important parts.
type budget struct {
	lim  RenderLimits
	left int
}

func newBudget(lim RenderLimits) *budget {
	lim = lim.withDefaults()
	return &budget{lim: lim, left: lim.MaxPage}
}

func (b *budget) charge(cost int) { b.left = max(0, b.left-cost) }

// text is s within MaxString and what is left of the page; "" stays "" so
// templates can still leave out empty fields.
func (b *budget) text(s string) string {
	if s == "" {
		return ""
	}
	out, cost := clipText(s, min(b.lim.MaxString, b.left))
	b.charge(cost)
	return out
}

// item reports whether entry i of a list may be shown, and charges its
// markup when it may. Once it says no, the caller stops and shows how many
// entries were left out.
func (b *budget) item(i int) bool {
	if i >= b.lim.MaxItems || b.left < itemMarkup {
		return false
	}
	b.charge(itemMarkup)
	return true
}

// indentJSON pretty-prints raw JSON for a <pre>; "" for empty or null.
func (b *budget) indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return b.json(raw, "  ")
}

// compactJSON is raw JSON on one line, for a table cell. A string value is
// shown without its quotes.
func (b *budget) compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return ""
	}
	if s, ok := decodeString(raw); ok {
		return b.text(s)
	}
	return b.json(raw, "")
}

// decodeString is raw decoded when it is a JSON string, as most values a
// page shows are (a frame's variables). Only a value that starts with a
// quote is decoded: json.Unmarshal would scan all of an object or array
// before finding that it is not a string.
func decodeString(raw []byte) (string, bool) {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	return s, jsonv1.Unmarshal(raw, &s) == nil
}

// entryCompactJSON is compactJSON of one entry of a long list, within
// entryJSON.
func (b *budget) entryCompactJSON(raw json.RawMessage) string {
	return b.entry(func(e *budget) string { return e.compactJSON(raw) })
}

// entryIndentJSON is indentJSON of one entry of a long list, within
// entryJSON.
func (b *budget) entryIndentJSON(raw json.RawMessage) string {
	return b.entry(func(e *budget) string { return e.indentJSON(raw) })
}

// entry runs fn on a budget whose JSON is held to entryJSON, and charges
// what it spent to b. A string in it shows at most half of that, so that
// one long string is cut rather than left out for want of room.
func (b *budget) entry(fn func(*budget) string) string {
	lim := b.lim
	lim.MaxJSON, lim.MaxString = min(lim.MaxJSON, entryJSON), min(lim.MaxString, entryJSON/2)
	e := &budget{lim: lim, left: min(b.left, entryJSON)}
	out := fn(e)
	b.charge(min(b.left, entryJSON) - e.left)
	return out
}

func (b *budget) json(raw json.RawMessage, indent string) string {
	if b.left < markCost {
		b.charge(markCost)
		return truncMark
	}
	lim := b.lim
	lim.MaxJSON = min(lim.MaxJSON, b.left)
	out, cost := renderJSON(raw, indent, lim)
	b.charge(cost)
	return out
}

// renderJSON formats raw JSON for reading within lim's MaxDepth, MaxItems,
// MaxString and MaxJSON, which must all be set: members in the order sent,
// numbers as sent, and strings with only the escapes JSON requires, so "<"
// shows as "<" (the template escapes it for HTML) where a stored payload
// has "\u003c". The result is plain text, not necessarily JSON; it also
// returns its cost. Input that is not JSON is shown as it is, within
// MaxJSON.
//
// It reads tokens as it writes, never holding the value decoded, and
// skips what it does not show without formatting it, so time and memory
// are linear in len(raw) and the output's size is bounded by MaxJSON.
func renderJSON(raw []byte, indent string, lim RenderLimits) (string, int) {
	dec := getDecoder(raw)
	defer putDecoder(dec)
	p := &jsonPrinter{dec: dec, lim: lim, indent: indent, room: lim.MaxJSON - textCost("\n"+truncMark)}
	err := p.value(0)
	switch {
	case errors.Is(err, errFull):
		p.out.WriteString("\n" + truncMark)
		p.cost += textCost("\n" + truncMark)
	case err != nil:
		return clipText(string(raw), lim.MaxJSON)
	}
	return p.out.String(), p.cost
}

// clientJSON reads JSON an SDK sent as encoding/json reads it: invalid
// UTF-8 as U+FFFD, and a member whose name repeats shown, not refused.
var clientJSON = []jsontext.Options{jsontext.AllowInvalidUTF8(true), jsontext.AllowDuplicateNames(true)}

// decoders are reused: a page of a 1 MB event reads thousands of values
// (eight variables in each of 250 frames), each with a decoder of its own.
var decoders = sync.Pool{New: func() any { return jsontext.NewDecoder(noInput, clientJSON...) }}

// noInput is what a pooled decoder reads between uses, so it holds no page's data.
var noInput = bytes.NewReader(nil)

// getDecoder returns a decoder of raw, for putDecoder to give back.
func getDecoder(raw []byte) *jsontext.Decoder {
	dec := decoders.Get().(*jsontext.Decoder)
	dec.Reset(bytes.NewReader(raw), clientJSON...)
	return dec
}

func putDecoder(dec *jsontext.Decoder) {
	dec.Reset(noInput, clientJSON...)
	decoders.Put(dec)
}

// errFull stops a jsonPrinter whose output reached its limit.
var errFull = errors.New("output limit reached")

// jsonPrinter is renderJSON's state.
type jsonPrinter struct {
	dec    *jsontext.Decoder
	lim    RenderLimits
	indent string
	out    strings.Builder
	cost   int
	room   int // cost allowed before the closing mark
}

// write appends s, or fails with errFull when s does not fit.
func (p *jsonPrinter) write(s string) error {
	c := textCost(s)
	if p.cost+c > p.room {
		return errFull
	}
	p.out.WriteString(s)
	p.cost += c
	return nil
}

// newline starts a line at depth, in indented output only.
func (p *jsonPrinter) newline(depth int) error {
	if p.indent == "" {
		return nil
	}
	return p.write("\n" + strings.Repeat(p.indent, depth))
}

// value prints the next value, at nesting depth.
func (p *jsonPrinter) value(depth int) error {
	tok, err := p.dec.ReadToken()
	if err != nil {
		return err
	}
	switch k := tok.Kind(); k {
	case '{', '[':
		return p.container(k, depth)
	case '"':
		return p.write(quoteJSON(tok.String(), p.lim.MaxString))
	case '0':
		s, _ := clipText(tok.String(), p.lim.MaxString) // as sent: big integers and exact decimals
		return p.write(s)
	case 't':
		return p.write("true")
	case 'f':
		return p.write("false")
	case 'n':
		return p.write("null")
	}
	return errors.New("unexpected JSON token")
}

// more reports whether the object or array dec is reading has another
// value (an object's names count as values), or the error that stops
// reading it.
func more(dec *jsontext.Decoder) (bool, error) {
	switch dec.PeekKind() {
	case '}', ']':
		return false, nil
	case 0:
		_, err := dec.ReadToken()
		return false, cmp.Or(err, errors.New("unexpected end of JSON input"))
	}
	return true, nil
}

// container prints an object or array whose opening delimiter was read.
func (p *jsonPrinter) container(open jsontext.Kind, depth int) error {
	obj := open == '{'
	opening, closing := "[", "]"
	if obj {
		opening, closing = "{", "}"
	}
	if depth >= p.lim.MaxDepth {
		if err := p.skipRest(); err != nil {
			return err
		}
		return p.write(opening + truncMark + closing)
	}
	if err := p.write(opening); err != nil {
		return err
	}
	colon := ":"
	if p.indent != "" {
		colon = ": "
	}
	n := 0
	for {
		ok, err := more(p.dec)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if n == p.lim.MaxItems {
			rest, err := p.countRest(obj)
			if err != nil {
				return err
			}
			if err := p.write(","); err != nil {
				return err
			}
			if err := p.newline(depth + 1); err != nil {
				return err
			}
			if err := p.write(truncMark + " (" + strconv.Itoa(rest) + " more)"); err != nil {
				return err
			}
			break
		}
		if n > 0 {
			if err := p.write(","); err != nil {
				return err
			}
		}
		if err := p.newline(depth + 1); err != nil {
			return err
		}
		if obj {
			key, err := p.dec.ReadToken()
			if err != nil {
				return err
			}
			if err := p.write(quoteJSON(key.String(), p.lim.MaxString) + colon); err != nil {
				return err
			}
		}
		if err := p.value(depth + 1); err != nil {
			return err
		}
		n++
	}
	if _, err := p.dec.ReadToken(); err != nil { // the closing delimiter
		return err
	}
	if n > 0 {
		if err := p.newline(depth); err != nil {
			return err
		}
	}
	return p.write(closing)
}

// skipRest reads past the end of the container being read, without
// printing it. SkipValue does not recurse: what it skips may be nested
// 10,000 deep.
func (p *jsonPrinter) skipRest() error {
	if _, err := skipMembers(p.dec); err != nil {
		return err
	}
	_, err := p.dec.ReadToken()
	return err
}

// countRest skips the remaining members of the container being read and
// counts them, leaving its closing delimiter to be read.
func (p *jsonPrinter) countRest(obj bool) (int, error) {
	n, err := skipMembers(p.dec)
	if obj {
		n /= 2 // a name and a value each
	}
	return n, err
}

// skipMembers skips the rest of the object or array dec is reading,
// leaving its closing delimiter to be read, and returns how many values it
// skipped: an object's names count as values.
func skipMembers(dec *jsontext.Decoder) (int, error) {
	n := 0
	for {
		ok, err := more(dec)
		if !ok {
			return n, err
		}
		if err := dec.SkipValue(); err != nil {
			return n, err
		}
		n++
	}
}

// quoteJSON quotes s as a JSON string of at most limit bytes of HTML,
// escaping only what JSON requires; a cut string gets truncMark after its
// closing quote.
func quoteJSON(s string, limit int) string {
	const hex = "0123456789abcdef"
	buf := []byte{'"'}
	cost := textCost(`""`)
	cut := -1 // len(buf) at the last point where the mark still fits after
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '"':
			esc = `\"`
		case r == '\\':
			esc = `\\`
		case r == '\n':
			esc = `\n`
		case r == '\r':
			esc = `\r`
		case r == '\t':
			esc = `\t`
		case r < 0x20:
			esc = `\u00` + hex[r>>4:r>>4+1] + hex[r&0xf:r&0xf+1]
		default:
			esc = s[i : i+w]
		}
		c := textCost(esc)
		if cut < 0 && cost+c+markCost > limit {
			cut = len(buf)
		}
		if cost+c > limit {
			return string(buf[:cut]) + `"` + truncMark
		}
		buf = append(buf, esc...)
		cost += c
		i += w
	}
	return string(append(buf, '"'))
}
