package artifact

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/getflytrap/flytrap/internal/debugid"
)

// Debug IDs tie a minified file to its map without a release: the file
// registers its ID at run time (the snippet below), SDKs send it with each
// event, and Find looks the map up by it. The snippet, the comments and
// the way IDs are derived are sentry-cli's (src/utils/sourcemaps/inject.rs),
// so files injected by either tool are found alike.
const (
	snippet            = `!function(){try{var e="undefined"!=typeof window?window:"undefined"!=typeof global?global:"undefined"!=typeof globalThis?globalThis:"undefined"!=typeof self?self:{},n=(new e.Error).stack;n&&(e._sentryDebugIds=e._sentryDebugIds||{},e._sentryDebugIds[n]="__SENTRY_DEBUG_ID__")}catch(e){}}();`
	debugIDPlaceholder = "__SENTRY_DEBUG_ID__"
	debugIDComment     = "//# debugId="
)

// preInject matches what must stay before the snippet: a hashbang, leading
// comments and whitespace, and a directive such as "use strict";.
var preInject = regexp.MustCompile(`^(#!.*[\n\r])?(?:\s+|/\*(?:.|\r|\n)*?\*/|//.*[\n\r])*(?:"[^"]*";|'[^']*';[\n\r]?)?`)

// DebugIDFromBytes derives a debug ID from content as sentry-cli does: the
// first 16 bytes of its SHA-1 as a version 5 UUID.
func DebugIDFromBytes(b []byte) string {
	sum := sha1.Sum(b)
	var id uuid.UUID
	copy(id[:], sum[:16])
	id[6] = id[6]&0x0f | 0x50
	id[8] = id[8]&0x3f | 0x80
	return id.String()
}

// DebugIDOf returns the debug ID a JavaScript file declares in its last
// `//# debugId=` comment that holds one, canonical (debugid.Canonical),
// or "": inject writes its comment at the end, after whatever the file
// held. A comment whose value is no debug ID (text of the file that
// merely looks like the comment, such as a bundled tool's template) is
// passed over, not refused.
func DebugIDOf(js []byte) string {
	lines := bytes.Split(js, []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		if rest, ok := bytes.CutPrefix(bytes.TrimSpace(lines[i]), []byte(debugIDComment)); ok {
			if id, ok := debugid.Canonical(string(bytes.TrimSpace(rest))); ok {
				return id
			}
		}
	}
	return ""
}

// MapDebugID returns the debug ID of a source map, its debug_id or else
// its debugId, canonical (debugid.Canonical), or "" when neither holds
// one.
func MapDebugID(m []byte) string {
	var v struct {
		Snake string `json:"debug_id"`
		Camel string `json:"debugId"`
	}
	if json.Unmarshal(MapJSON(m), &v) != nil {
		return ""
	}
	for _, s := range []string{v.Snake, v.Camel} {
		if id, ok := debugid.Canonical(s); ok {
			return id
		}
	}
	return ""
}

// Injected is a file after Inject.
type Injected struct {
	JS []byte
	// Map is the external map rewritten to match JS and carry the debug
	// ID; nil when the file had none (or an inline one, rewritten in JS).
	Map     []byte
	DebugID string
}

// Inject gives a minified file and its map (nil when it has no external
// map) a debug ID, as `sentry-cli sourcemaps inject` does: the ID is the
// map's own or derived from the map (from the file without one); the
// registering snippet goes after any hashbang, leading comments and
// directive, the map's mappings move down to match, and `//# debugId=`
// ends the file. A file with no map gets the snippet at its end, where it
// moves no mapping.
func Inject(js, sourceMap []byte) (Injected, error) {
	ref := SourceMappingURL(js)
	inline := strings.HasPrefix(ref, "data:")
	if inline {
		decoded, err := decodeDataURL(ref)
		if err != nil {
			return Injected{}, fmt.Errorf("inline source map: %w", err)
		}
		sourceMap = decoded
	}
	if sourceMap == nil {
		id := DebugIDFromBytes(js)
		return Injected{JS: injectAtEnd(js, id), DebugID: id}, nil
	}
	id := MapDebugID(sourceMap)
	if id == "" {
		id = DebugIDFromBytes(sourceMap)
	}
	out, line, col := injectAtStart(js, id)
	newMap, err := shiftMap(sourceMap, line, col, id)
	if err != nil {
		return Injected{}, err
	}
	if inline {
		out = replaceSourceMappingURL(out, "data:application/json;base64,"+base64.StdEncoding.EncodeToString(newMap))
		return Injected{JS: out, DebugID: id}, nil
	}
	return Injected{JS: out, Map: newMap, DebugID: id}, nil
}

// injectAtStart inserts the snippet on lines of its own where preInject
// ends and returns the new file and the line and column of that point.
func injectAtStart(js []byte, id string) ([]byte, int, int) {
	at := preInject.FindIndex(js)[1]
	line := bytes.Count(js[:at], []byte("\n"))
	col := at - (bytes.LastIndexByte(js[:at], '\n') + 1)
	var b bytes.Buffer
	b.Write(js[:at])
	b.WriteString("\n" + strings.Replace(snippet, debugIDPlaceholder, id, 1) + "\n")
	b.Write(js[at:])
	b.WriteString("\n" + debugIDComment + id + "\n")
	return b.Bytes(), line, col
}

// injectAtEnd appends the snippet, then the sourceMappingURL comment
// moved after it, then the debugId comment.
func injectAtEnd(js []byte, id string) []byte {
	lines := strings.Split(strings.TrimSuffix(string(js), "\n"), "\n")
	ref := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "//# sourceMappingURL=") || strings.HasPrefix(lines[i], "//@ sourceMappingURL=") {
			ref = i
			break
		}
	}
	var tail []string
	if ref >= 0 {
		tail = []string{lines[ref]}
		lines = append(lines[:ref], lines[ref+1:]...)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	b.WriteString(strings.Replace(snippet, debugIDPlaceholder, id, 1) + "\n")
	for _, l := range tail {
		b.WriteString(l + "\n")
	}
	b.WriteString(debugIDComment + id + "\n")
	return []byte(b.String())
}

// replaceSourceMappingURL replaces the last sourceMappingURL comment.
func replaceSourceMappingURL(js []byte, url string) []byte {
	lines := strings.Split(string(js), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "//# sourceMappingURL=") || strings.HasPrefix(lines[i], "//@ sourceMappingURL=") {
			lines[i] = "//# sourceMappingURL=" + url
			break
		}
	}
	return []byte(strings.Join(lines, "\n"))
}

// shiftMap moves the mappings of a map to follow the two lines inserted at
// (line, col) of its generated file and sets its debug ID. Only generated
// positions change: the segments of the split line from col on move two
// lines down and col to the left, later lines move two lines down. Every
// other field of a segment is relative to the segment before it, which
// stays the same, so only one value is re-encoded. An index map's
// sections at or after (line, col) move by their offsets instead; a
// section before it has its own mappings shifted where the point falls
// in it.
func shiftMap(sourceMap []byte, line, col int, id string) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(MapJSON(sourceMap), &m); err != nil {
		return nil, fmt.Errorf("source map: %w", err)
	}
	if err := shiftDoc(m, line, col); err != nil {
		return nil, err
	}
	m["debug_id"], _ = json.Marshal(id)
	m["debugId"], _ = json.Marshal(id)
	return json.Marshal(m)
}

// shiftDoc is shiftMap on a decoded map, without the debug ID: a
// section's map is shifted the same way.
func shiftDoc(m map[string]json.RawMessage, line, col int) error {
	if raw, ok := m["sections"]; ok {
		sections, err := shiftSections(raw, line, col)
		if err != nil {
			return err
		}
		m["sections"] = sections
		return nil
	}
	var mappings string
	if raw, ok := m["mappings"]; ok {
		if err := json.Unmarshal(raw, &mappings); err != nil {
			return fmt.Errorf("source map mappings: %w", err)
		}
	}
	shifted, err := shiftMappings(mappings, line, col)
	if err != nil {
		return err
	}
	m["mappings"], _ = json.Marshal(shifted)
	return nil
}

// sectionOffset is where an index map's section starts in the generated
// file, 0-based.
type sectionOffset struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// shiftSections is shiftMap for the sections of an index map.
func shiftSections(raw json.RawMessage, line, col int) (json.RawMessage, error) {
	var sections []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sections); err != nil {
		return nil, fmt.Errorf("index map sections: %w", err)
	}
	for i, sec := range sections {
		var off sectionOffset
		if err := json.Unmarshal(sec["offset"], &off); err != nil {
			return nil, fmt.Errorf("index map section %d: offset: %w", i, err)
		}
		if off.Line > line || off.Line == line && off.Column >= col {
			if off.Line == line {
				off.Column -= col
			}
			off.Line += 2
			sec["offset"], _ = json.Marshal(off)
			continue
		}
		// The point is after the section's start: within it, or past its
		// end, where shifting its mappings changes nothing.
		if _, ok := sec["map"]; !ok {
			return nil, fmt.Errorf("index map section %d refers to a url, not a map: inject before joining the maps", i)
		}
		relLine, relCol := line-off.Line, col
		if relLine == 0 {
			relCol -= off.Column
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sec["map"], &m); err != nil {
			return nil, fmt.Errorf("index map section %d: map: %w", i, err)
		}
		if err := shiftDoc(m, relLine, relCol); err != nil {
			return nil, fmt.Errorf("index map section %d: %w", i, err)
		}
		sec["map"], _ = json.Marshal(m)
	}
	return json.Marshal(sections)
}

// shiftMappings moves the segments of mappings from (line, col) on two
// lines down (see shiftMap).
func shiftMappings(mappings string, line, col int) (string, error) {
	lines := strings.Split(mappings, ";")
	if line < len(lines) {
		before, after, err := splitLine(lines[line], col)
		if err != nil {
			return "", err
		}
		lines = append(lines[:line], append([]string{before, "", after}, lines[line+1:]...)...)
	}
	return strings.Join(lines, ";"), nil
}

// splitLine splits the segments of one generated line at column col: the
// ones before stay, the others start a new line with col subtracted.
func splitLine(segs string, col int) (before, after string, err error) {
	if segs == "" {
		return "", "", nil
	}
	parts := strings.Split(segs, ",")
	gen := 0
	for i, p := range parts {
		delta, rest, err := decodeVLQ(p)
		if err != nil {
			return "", "", err
		}
		gen += delta
		if gen >= col {
			parts[i] = encodeVLQ(gen-col) + rest
			return strings.Join(parts[:i], ","), strings.Join(parts[i:], ","), nil
		}
	}
	return segs, "", nil
}

const vlqChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// decodeVLQ reads the first base64 VLQ value of a segment and returns it
// with the rest of the segment.
func decodeVLQ(s string) (int, string, error) {
	v, shift := 0, 0
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(vlqChars, s[i])
		if d < 0 || shift > 30 {
			return 0, "", fmt.Errorf("source map mappings: bad segment %q", s)
		}
		v |= (d & 31) << shift
		shift += 5
		if d&32 == 0 {
			if v&1 != 0 {
				return -(v >> 1), s[i+1:], nil
			}
			return v >> 1, s[i+1:], nil
		}
	}
	return 0, "", fmt.Errorf("source map mappings: truncated segment %q", s)
}

// encodeVLQ writes v as base64 VLQ.
func encodeVLQ(v int) string {
	u := v << 1
	if v < 0 {
		u = (-v)<<1 | 1
	}
	var b []byte
	for {
		d := u & 31
		u >>= 5
		if u > 0 {
			d |= 32
		}
		b = append(b, vlqChars[d])
		if u == 0 {
			return string(b)
		}
	}
}
