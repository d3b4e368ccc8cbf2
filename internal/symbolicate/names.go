package symbolicate

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// A JavaScript runtime names a minified frame by the minifier's
// identifiers: V8 says "o.lineTotal" for the method lineTotal of a class
// the minifier renamed o, "new o" for its constructor, "async s" for an
// async function. The map gives no name at the frame's own position (that
// is whatever the line calls), but it does at each identifier's
// declaration in the minified file, where the minifier wrote the name it
// renamed. So, as Sentry names a frame by its scope, scopeName finds the
// declaration of each part of the name nearest before the frame (class o,
// function s, s=...) and takes the original name the map gives there.

// Bounds on the work one frame's name may cost.
const (
	// maxScan is how far back from a frame its declarations are looked
	// for: a bundle's code before the frame, within reason.
	maxScan = 8 << 20
	// sourceCacheBytes bounds the minified files kept for naming.
	sourceCacheBytes = 32 << 20
	// nameEntries bounds the remembered names of frames.
	nameEntries = 10000
)

// placeholders are the names V8 gives a frame that no minifier wrote.
var placeholders = map[string]bool{"Object": true, "Function": true, "Array": true, "Promise": true, "prototype": true, "<anonymous>": true}

// minified is one minified file, split into lines once.
type minified struct {
	body  []byte
	lines []int // offset of each line's start
}

func newMinified(body []byte) *minified {
	m := &minified{body: body, lines: []int{0}}
	for i, b := range body {
		if b == '\n' {
			m.lines = append(m.lines, i+1)
		}
	}
	return m
}

// offset is the byte offset of a 1-based line and 0-based column, and
// false for a position outside the file.
func (m *minified) offset(line, column int) (int, bool) {
	if line < 1 || line > len(m.lines) || column < 0 {
		return 0, false
	}
	off := m.lines[line-1] + column
	if off > len(m.body) {
		return 0, false
	}
	return off, true
}

// position is the 1-based line and 0-based column of an offset.
func (m *minified) position(off int) (int, int) {
	lo, hi := 0, len(m.lines)
	for lo+1 < hi {
		mid := (lo + hi) / 2
		if m.lines[mid] <= off {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + 1, off - m.lines[lo]
}

// scopeName returns fn, the name a runtime gave a frame at the 1-based
// line and column of the minified file m, with each identifier the map
// names at its declaration replaced by that original name; ok is false
// when none was.
func scopeName(fn string, m *minified, line, column int, pm *parsedMap) (string, bool) {
	end, okPos := m.offset(line, max(column-1, 0))
	if !okPos {
		return "", false
	}
	rest, prefix := fn, ""
	for _, p := range []string{"async ", "new "} {
		if after, found := strings.CutPrefix(rest, p); found {
			prefix += p
			rest = after
		}
	}
	suffix := ""
	if i := strings.Index(rest, " [as "); i >= 0 {
		rest, suffix = rest[:i], rest[i:]
	}
	parts := strings.Split(rest, ".")
	changed := false
	for i, part := range parts {
		if !identifier(part) || placeholders[part] {
			continue
		}
		for _, decl := range declarations(m.body, part, end) {
			l, c := m.position(decl)
			if name := nameAt(pm, l, c); name != "" {
				if name != part {
					parts[i], changed = name, true
				}
				break
			}
		}
	}
	if !changed {
		return "", false
	}
	return event.Clamp(prefix+strings.Join(parts, ".")+suffix, maxName), true
}

// declarations returns the offsets of the identifier that may have given
// id's original name, for the declaration of id nearest before end: the
// class or function declared as id, or id assigned (var id=..., id=class
// ...). For a named class expression assigned to a binding (esbuild's
// `var e=class o{`, whose o is an inner name it derives from the outer
// one), the binding comes first.
func declarations(body []byte, id string, end int) []int {
	start := max(end-maxScan, 0)
	for end > start {
		i := bytes.LastIndex(body[start:end], []byte(id))
		if i < 0 {
			return nil
		}
		i += start
		end = i
		j := i + len(id)
		if (i > 0 && (identByte(body[i-1]) || body[i-1] == '.')) || (j < len(body) && identByte(body[j])) {
			continue
		}
		before := bytes.TrimRight(body[start:i], " \t\n\r")
		switch {
		case keywordEnd(before, "class"):
			if b, ok := binding(before[:len(before)-len("class")]); ok {
				return []int{b, i}
			}
			return []int{i}
		case keywordEnd(before, "function"), keywordEnd(bytes.TrimRight(bytes.TrimRight(before, "*"), " \t\n\r"), "function"):
			return []int{i}
		}
		after := bytes.TrimLeft(body[j:], " \t")
		if len(after) > 0 && after[0] == '=' && (len(after) == 1 || after[1] != '=' && after[1] != '>') {
			return []int{i}
		}
	}
	return nil
}

// binding returns the offset of x in code ending "x=" (spaces allowed),
// the name a class expression is assigned to.
func binding(code []byte) (int, bool) {
	code = bytes.TrimRight(code, " \t\n\r")
	if len(code) < 2 || code[len(code)-1] != '=' || strings.ContainsRune("=!<>+-*/%&|^?", rune(code[len(code)-2])) {
		return 0, false
	}
	code = bytes.TrimRight(code[:len(code)-1], " \t\n\r")
	i := len(code)
	for i > 0 && identByte(code[i-1]) {
		i--
	}
	if i == len(code) || i > 0 && code[i-1] == '.' || !identifier(string(code[i:])) {
		return 0, false
	}
	return i, true
}

// keywordEnd reports whether code ends with the keyword kw as a word.
func keywordEnd(code []byte, kw string) bool {
	if !bytes.HasSuffix(code, []byte(kw)) {
		return false
	}
	i := len(code) - len(kw)
	return i == 0 || !identByte(code[i-1]) && code[i-1] != '.'
}

// nameAt is the name the map gives at the 1-based line and 0-based column
// of the minified file, if a mapping starts exactly there: a lookup falls
// back to the mapping before, whose name is some other identifier's.
func nameAt(pm *parsedMap, line, column int) string {
	pos, err := pm.lookup(line, column+1)
	if err != nil || pos.name == "" {
		return ""
	}
	if column > 0 {
		if prev, err := pm.lookup(line, column); err == nil && prev == pos {
			return ""
		}
	}
	return pos.name
}

func identByte(b byte) bool {
	return b == '_' || b == '$' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b >= 0x80
}

// identifier reports whether s is a JavaScript identifier a minifier
// could have written (ASCII; minifiers write no other).
func identifier(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b >= 0x80 || !identByte(b) {
			return false
		}
	}
	return true
}

// nameKey identifies a frame's name: the same function at the same place
// of the same file is named the same way.
type nameKey struct {
	minified     string
	function     string
	line, column int
}

// names keeps minified files, bounded by their size, and the names
// worked out from them, so that a flood of one error reads and scans its
// bundle once.
type names struct {
	mu      sync.Mutex
	sources *simplelru.LRU[string, *minified]
	bytes   int64
	named   *simplelru.LRU[nameKey, string]
}

func newNames() *names {
	n := &names{}
	sources, err := simplelru.NewLRU(maxEntries, func(_ string, m *minified) { n.bytes -= int64(len(m.body)) })
	if err != nil {
		panic(err) // only for a size <= 0
	}
	named, err := simplelru.NewLRU[nameKey, string](nameEntries, nil)
	if err != nil {
		panic(err)
	}
	n.sources, n.named = sources, named
	return n
}

// source returns the minified file of blob, read once for all events;
// nil when the store no longer has it. Only the store failing is an
// error.
func (r *eventRun) source(ctx context.Context, blob string) (*minified, error) {
	n := r.s.names
	n.mu.Lock()
	m, ok := n.sources.Get(blob)
	n.mu.Unlock()
	if ok {
		return m, nil
	}
	body, err := r.s.cfg.Maps.Source(ctx, blob)
	if errors.Is(err, artifact.ErrBlobNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m = newMinified(body)
	if int64(len(body)) <= sourceCacheBytes {
		n.mu.Lock()
		n.sources.Add(blob, m)
		n.bytes += int64(len(body))
		for n.bytes > sourceCacheBytes {
			n.sources.RemoveOldest()
		}
		n.mu.Unlock()
	}
	return m, nil
}

// name is the name of a frame the runtime called function, at the
// 1-based line and column of the minified file m that l's map was found
// through: function with the minifier's identifiers named by their
// declarations (scopeName), or function itself, whose identifiers the
// minifier kept or renamed where m does not say. original says the name
// is the source's: named by declarations, or ending in a name longer than
// a minifier writes (a method's, which minifiers keep).
func (r *eventRun) name(l lookup, m *minified, function string, line, column int) (string, bool) {
	if function == "" {
		return "", false
	}
	n := r.s.names
	key := nameKey{minified: l.minified, function: function, line: line, column: column}
	n.mu.Lock()
	scoped, ok := n.named.Get(key)
	n.mu.Unlock()
	if !ok {
		scoped, _ = scopeName(function, m, line, column, l.pm)
		n.mu.Lock()
		n.named.Add(key, scoped)
		n.mu.Unlock()
	}
	if scoped != "" {
		return scoped, true
	}
	return function, kept(function)
}

// kept reports whether the last part of a function name the map did not
// rename is longer than the names minifiers give (one or two
// characters), so that the minifier kept it: a method or property name.
func kept(function string) bool {
	if i := strings.Index(function, " [as "); i >= 0 {
		function = function[:i]
	}
	last := function[strings.LastIndexByte(function, '.')+1:]
	return len(last) > 2 && identifier(last) && !placeholders[last]
}

// hasLine reports whether the 1-based line of m is the line an SDK sent
// as a frame's context: the same apart from surrounding space or, for a
// line cut short, containing what was kept. The JavaScript SDKs cut a line
// longer than 150 characters to 140 and mark the cut "{snip}"; ingest
// cuts a longer one with "…".
func (m *minified) hasLine(line int, sent string) bool {
	start, ok := m.offset(line, 0)
	if !ok {
		return false
	}
	text := m.body[start:]
	if i := bytes.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	text = bytes.TrimSpace(text)
	sent = strings.TrimSpace(sent)
	cut, found := strings.CutSuffix(sent, "…")
	if !found && !strings.Contains(sent, "{snip}") {
		return string(text) == sent
	}
	for part := range strings.SplitSeq(cut, "{snip}") {
		// The SDKs write a quote before a leading "{snip}".
		if part = strings.TrimSpace(part); part != "" && part != "'" && !bytes.Contains(text, []byte(part)) {
			return false
		}
	}
	return true
}
