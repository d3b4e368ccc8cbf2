package symbolicate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
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

// Bounds on the work and memory naming frames may cost. Every frame of an
// event, from anyone holding the project's public DSN, may point into the
// largest uploaded file: reading and indexing a file happens once per file
// (cached), and a frame then costs a map lookup and a binary search per
// part of its name, whatever the file holds.
const (
	// maxSourceBytes is the largest minified file read for naming frames
	// and checking their lines; larger ones are used as if uploaded
	// without their file (their maps still map).
	maxSourceBytes = 16 << 20
	// maxLines and maxDeclarations bound a file's indexes: a file with
	// more lines is not used, and declarations past the limit name
	// nothing.
	maxLines        = 1 << 20
	maxDeclarations = 1 << 20
	// nameEntries bounds the remembered names of frames.
	nameEntries = 10000
)

// placeholders are the names V8 gives a frame that no minifier wrote.
var placeholders = map[string]bool{"Object": true, "Function": true, "Array": true, "Promise": true, "prototype": true, "<anonymous>": true}

// minified is one minified file, with its lines and declarations indexed
// once.
type minified struct {
	body  []byte
	lines []int32 // offset of each line's start
	// otherBreaks says the file holds a line terminator besides \n (\r,
	// U+2028, U+2029), which engines count as one and maps may not:
	// its lines are not known for sure (see outside).
	otherBreaks bool
	// decls are the declarations of each identifier, in the order of
	// the file (see declaredAt).
	decls map[string][]decl
	size  int64 // what the cache charges for it
}

// decl is where an identifier is declared: at is the identifier's
// offset; alt, if not -1, the offset of the binding a named class
// expression is assigned to (esbuild's `var e=class o{`, whose o is an
// inner name derived from the outer one), which is asked first.
type decl struct{ at, alt int32 }

// newMinified indexes body, or returns nil for one too large to index.
func newMinified(body []byte) *minified {
	if len(body) > maxSourceBytes || bytes.Count(body, []byte{'\n'}) >= maxLines {
		return nil
	}
	m := &minified{body: body, lines: []int32{0}, decls: map[string][]decl{},
		otherBreaks: bytes.IndexByte(body, '\r') >= 0 || bytes.Contains(body, []byte("\u2028")) || bytes.Contains(body, []byte("\u2029"))}
	for i, b := range body {
		if b == '\n' {
			m.lines = append(m.lines, int32(i+1))
		}
	}
	n := 0
	for i := 0; i < len(body) && n < maxDeclarations; {
		if !identByte(body[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(body) && identByte(body[j]) {
			j++
		}
		if d, ok := declaredAt(body, i, j); ok && j-i <= maxName && (body[i] < '0' || body[i] > '9') {
			m.decls[string(body[i:j])] = append(m.decls[string(body[i:j])], d)
			n++
		}
		i = j
	}
	m.size = int64(len(body)) + 4*int64(len(m.lines)) + 8*int64(n) + 64*int64(len(m.decls))
	return m
}

// offset is the byte offset of a 1-based line and 0-based column, and
// false for a position outside the file.
func (m *minified) offset(line, column int) (int, bool) {
	if line < 1 || line > len(m.lines) || column < 0 {
		return 0, false
	}
	off := int(m.lines[line-1]) + column
	if off > len(m.body) {
		return 0, false
	}
	return off, true
}

// position is the 1-based line and 0-based column of an offset.
func (m *minified) position(off int) (int, int) {
	i := sort.Search(len(m.lines), func(i int) bool { return int(m.lines[i]) > off }) - 1
	return i + 1, off - int(m.lines[i])
}

// outside says why the 1-based line and column of a frame cannot be in
// m ("its minified file has 2 lines", "line 1 of its minified file is 392
// bytes long"), or "" when they may be. Engines count columns from 1 in
// UTF-16 code units, never more than the line's UTF-8 bytes: the column
// after the last character is the last a frame can point at (an
// unexpected end of input). Column 0 is no column. A file with line
// breaks besides \n is never outside: an engine counts its lines
// otherwise than a split on \n would.
func (m *minified) outside(line, column int) string {
	switch {
	case m.otherBreaks || line < 1:
		return ""
	case line > len(m.lines):
		return fmt.Sprintf("its minified file has %d lines", len(m.lines))
	}
	if n := m.lineEnd(line) - int(m.lines[line-1]); column > n+1 {
		return fmt.Sprintf("line %d of its minified file is %d bytes long", line, n)
	}
	return ""
}

// lineEnd is the offset of the end of the 1-based line (its newline, or
// the end of the file).
func (m *minified) lineEnd(line int) int {
	if line < len(m.lines) {
		return int(m.lines[line]) - 1
	}
	return len(m.body)
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
		for _, decl := range m.declarations(part, end) {
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
// ...); for a named class expression assigned to a binding, the binding
// first.
func (m *minified) declarations(id string, end int) []int {
	ds := m.decls[id]
	k := sort.Search(len(ds), func(k int) bool { return int(ds[k].at) >= end }) - 1
	if k < 0 {
		return nil
	}
	if d := ds[k]; d.alt >= 0 {
		return []int{int(d.alt), int(d.at)}
	}
	return []int{int(ds[k].at)}
}

// declaredAt reports whether the identifier body[i:j] is declared there:
// after `class` or `function` (`function*`), or assigned (`id=`, not
// `==` or an arrow's `=>`).
func declaredAt(body []byte, i, j int) (decl, bool) {
	if i > 0 && body[i-1] == '.' {
		return decl{}, false
	}
	before := bytes.TrimRight(body[:i], " \t\n\r")
	switch {
	case keywordEnd(before, "class"):
		if b, ok := binding(before[:len(before)-len("class")]); ok {
			return decl{at: int32(i), alt: int32(b)}, true
		}
		return decl{at: int32(i), alt: -1}, true
	case keywordEnd(before, "function"), keywordEnd(bytes.TrimRight(bytes.TrimRight(before, "*"), " \t\n\r"), "function"):
		return decl{at: int32(i), alt: -1}, true
	}
	after := bytes.TrimLeft(body[j:], " \t")
	if len(after) > 0 && after[0] == '=' && (len(after) == 1 || after[1] != '=' && after[1] != '>') {
		return decl{at: int32(i), alt: -1}, true
	}
	return decl{}, false
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
	for i > 0 && identByte(code[i-1]) && len(code)-i <= maxName {
		i--
	}
	if i == len(code) || i > 0 && (code[i-1] == '.' || identByte(code[i-1])) || !identifier(string(code[i:])) {
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
	// maxBytes bounds the minified files kept, with their indexes
	// (Config.SourceCacheBytes).
	maxBytes int64
	named    *simplelru.LRU[nameKey, string]
}

func newNames(maxBytes int64) *names {
	n := &names{maxBytes: maxBytes}
	sources, err := simplelru.NewLRU(maxEntries, func(_ string, m *minified) {
		if m == nil {
			n.bytes -= 64
			return
		}
		n.bytes -= m.size
	})
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

// source returns the minified file l's map was found through, read and
// indexed once for all events; nil when there is none to use: uploaded
// without one, larger than maxSourceBytes, too many lines to index, or
// gone from the store. Only the store failing is an error.
func (r *eventRun) source(ctx context.Context, l lookup) (*minified, error) {
	if l.minified == "" || l.minifiedSize > maxSourceBytes {
		return nil, nil
	}
	n := r.s.names
	n.mu.Lock()
	m, ok := n.sources.Get(l.minified)
	n.mu.Unlock()
	if ok {
		return m, nil
	}
	body, err := r.s.cfg.Maps.Source(ctx, l.minified)
	if errors.Is(err, artifact.ErrBlobNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m = newMinified(body)
	// A file not worth indexing is remembered as nil, so that it is not
	// read again for every frame.
	size := int64(64)
	if m != nil {
		size = m.size
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	// Another worker may have read it meanwhile: keep its copy, counted
	// once.
	if other, ok := n.sources.Get(l.minified); ok {
		return other, nil
	}
	n.sources.Add(l.minified, m)
	n.bytes += size
	for n.bytes > n.maxBytes {
		if _, _, ok := n.sources.RemoveOldest(); !ok {
			break
		}
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
// as a frame's context, at the 1-based column: the same apart from
// surrounding space or, for a line cut short, holding what was kept. The
// JavaScript SDKs cut a line longer than 150 characters to 140 and mark
// the cut "{snip}" (at the end, or at the start for a cut around the
// column); ingest cuts a longer one with "…". It reads only as far into
// the line as the sent text reaches, however long the line is.
func (m *minified) hasLine(line, column int, sent string) bool {
	start, ok := m.offset(line, 0)
	if !ok {
		return false
	}
	text := m.body[start:m.lineEnd(line)]
	core := strings.TrimSpace(sent)
	core, cutEnd := strings.CutSuffix(core, "{snip}")
	if !cutEnd {
		core, cutEnd = strings.CutSuffix(core, "…")
	}
	core = strings.TrimSpace(core)
	core, cutStart := strings.CutPrefix(core, "'{snip}")
	if !cutStart {
		core, cutStart = strings.CutPrefix(core, "{snip}")
	}
	core = strings.TrimSpace(core)
	if cutStart {
		// Somewhere around the column.
		const around = 512
		c := min(max(column-1, 0), len(text))
		return bytes.Contains(text[max(c-around, 0):min(c+around, len(text))], []byte(core))
	}
	// Past the indentation (within reason), the line starts with core...
	const maxSpace = 4096
	i := 0
	for i < len(text) && i < maxSpace && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	if !bytes.HasPrefix(text[i:], []byte(core)) {
		return false
	}
	if cutEnd {
		return true
	}
	// ...and, uncut, ends with it.
	rest := text[i+len(core):]
	return len(rest) <= maxSpace && len(bytes.TrimSpace(rest)) == 0
}
