package symbolicate

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/go-sourcemap/sourcemap"
)

// mappingSize is what the library keeps per mapping segment: six int32s.
// It allocates them up front, one per ',' or ';' of the mappings, so a
// map of nothing but separators costs 24 times its size.
const mappingSize = 24

// Bounds on what a map puts into a stored event, as ingest bounds what an
// SDK sends (see internal/ingest).
const (
	maxName         = 256  // function names
	maxPath         = 2048 // source paths
	maxLine         = 1024 // one source line
	contextRadius   = 5    // lines on either side of the frame's line
	maxPosition     = 1<<31 - 1
	brokenEntrySize = 256 // what a cached parse failure costs
)

// errBrokenMap marks a map that cannot be used at all.
var errBrokenMap = errors.New("broken source map")

// parsedMap is one parsed source map, shared by every worker that resolves
// a frame through it. A map that could not be parsed is kept too (err set),
// so the next frames pointing at it do not parse it again.
type parsedMap struct {
	// sections are the map's parts, in order of their offsets: one at
	// 0:0 for a regular map, each of an index map's sections for one.
	sections []section
	// file is the map's own "file" field: the minified file it says it
	// was generated for.
	file string
	// size estimates the bytes the parsed map holds (see estimateSize).
	size int64
	err  error

	mu    sync.Mutex
	lines map[string][]string // each source's lines, split on first use
}

// estimateSize is what a parsed map is charged against the cache: its
// strings (about the JSON's length), the library's mapping segments,
// which it allocates one per ',' or ';' of the mappings, and for an index
// map its sections' own parsed maps. Every ',' and ';'
// of the document and every \u escape (which could decode to one) is
// counted: an upper bound a hostile map cannot get under, and close for a
// real one, where the mappings hold most separators.
func estimateSize(body []byte) int64 {
	seps := bytes.Count(body, []byte{','}) + bytes.Count(body, []byte{';'}) + bytes.Count(body, []byte(`\u`))
	size := int64(len(body)) + mappingSize*int64(seps+1)
	if bytes.Contains(body, []byte(`"sections"`)) {
		// Every section's "map" key (quotes inside JSON strings are
		// escaped, so only keys and the string "map" itself count).
		size += sectionSize * int64(bytes.Count(body, []byte(`"map"`)))
	}
	return size
}

// parseMap parses body, refusing one whose parsed form would exceed
// maxSize. The library is not hardened against hostile input (a section
// without a map dereferences nil), so a panic is a broken map, not a
// crashed processor.
func parseMap(body []byte, maxSize int64) (pm *parsedMap) {
	size := estimateSize(body)
	if size > maxSize {
		// In tenths of a MB, the estimate rounded up and the limit down:
		// rounded alike, a map just over the limit would read "96 MB,
		// over the limit of 96 MB".
		const tenth = 1 << 20 / 10
		return &parsedMap{size: brokenEntrySize,
			err: fmt.Errorf("%w: %d bytes would take about %.1f MB parsed, over the limit of %.1f MB",
				errBrokenMap, len(body), float64((size+tenth-1)/tenth)/10, float64(maxSize/tenth)/10)}
	}
	if err := artifact.CheckMappings(body); err != nil {
		return &parsedMap{size: brokenEntrySize, err: fmt.Errorf("%w: %v", errBrokenMap, err)}
	}
	defer func() {
		if r := recover(); r != nil {
			pm = &parsedMap{size: brokenEntrySize, err: fmt.Errorf("%w: malformed map (%v)", errBrokenMap, r)}
		}
	}()
	file, sections, err := parseSections(artifact.MapJSON(body))
	if err != nil {
		return &parsedMap{size: brokenEntrySize, err: fmt.Errorf("%w: %s", errBrokenMap, event.Clamp(err.Error(), maxLine))}
	}
	return &parsedMap{sections: sections, file: file, size: size}
}

// sectionSize is what the library keeps per section of an index map
// beyond its mappings (its own parsed map: about 400 bytes measured), and
// maxSections how many sections a map may have: bundlers write one per
// file at most, and a map of a million empty sections is 40 MB that a
// size by separators would let take 500 MB.
const (
	sectionSize = 1 << 10
	maxSections = 10000
)

// section is one part of a map, placed at a 0-based line and column of
// the generated file.
type section struct {
	line, column int
	consumer     *sourcemap.Consumer
}

// parseSections parses a regular map as one section at 0:0, and an index
// map as its sections. The library resolves an index map's sections
// itself, but wrongly for one that starts partway along a line: it
// compares the 0-based offset line with a 1-based line, so the whole line
// goes to the later section, and it subtracts the offset column on every
// line of the section, not only the first.
func parseSections(body []byte) (string, []section, error) {
	var index struct {
		File     string `json:"file"`
		Sections []struct {
			Offset struct {
				Line   int `json:"line"`
				Column int `json:"column"`
			} `json:"offset"`
			Map json.RawMessage `json:"map"`
		} `json:"sections"`
	}
	// Decoding a regular map twice would double its parse: only a body
	// that mentions sections can be an index map.
	if !bytes.Contains(body, []byte(`"sections"`)) || json.Unmarshal(body, &index) != nil || index.Sections == nil {
		// Not an index map (or not JSON, which the library says better).
		c, err := sourcemap.Parse("", body)
		if err != nil {
			return "", nil, err
		}
		return c.File(), []section{{consumer: c}}, nil
	}
	if n := len(index.Sections); n > maxSections {
		return "", nil, fmt.Errorf("%d sections, over the %d a map may have", n, maxSections)
	}
	var out []section
	for i, sec := range index.Sections {
		switch {
		case len(sec.Map) == 0 || string(sec.Map) == "null":
			return "", nil, fmt.Errorf("section %d has no map (a url is not fetched)", i)
		case sec.Offset.Line < 0 || sec.Offset.Column < 0:
			return "", nil, fmt.Errorf("section %d has a negative offset", i)
		case bytes.Contains(sec.Map, []byte(`"sections"`)):
			return "", nil, fmt.Errorf("section %d is an index map itself, which the format does not allow", i)
		}
		c, err := sourcemap.Parse("", sec.Map)
		if err != nil {
			return "", nil, fmt.Errorf("section %d: %w", i, err)
		}
		out = append(out, section{line: sec.Offset.Line, column: sec.Offset.Column, consumer: c})
	}
	slices.SortStableFunc(out, func(a, b section) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.column, b.column)) })
	return index.File, out, nil
}

// at returns the section holding the 0-based generated line and column,
// and the position within it, as the library counts: line 1-based,
// column 0-based.
func (pm *parsedMap) at(line, column int) (section, int, int, bool) {
	i := sort.Search(len(pm.sections), func(i int) bool {
		s := pm.sections[i]
		return s.line > line || s.line == line && s.column > column
	}) - 1
	if i < 0 {
		return section{}, 0, 0, false
	}
	s := pm.sections[i]
	if line == s.line {
		column -= s.column
	}
	return s, line - s.line + 1, column, true
}

// position is where a minified position came from in the original source.
type position struct {
	source string // as the map names it, uncut: the key of its content
	name   string // the original identifier at the position, if the map names one
	line   int    // 1-based
	column int    // 1-based
}

// errOutOfRange is a position the map has no mapping for.
var errOutOfRange = errors.New("position out of range")

// lookup maps a 1-based line and column of the minified file. A mapping
// that points outside the map's sources or names makes the library index
// out of range: that is a broken map.
func (pm *parsedMap) lookup(line, column int) (pos position, err error) {
	if line < 1 || column < 0 || line > maxPosition || column > maxPosition {
		return position{}, errOutOfRange
	}
	defer func() {
		if r := recover(); r != nil {
			pos, err = position{}, fmt.Errorf("%w: a mapping points outside the map (%v)", errBrokenMap, r)
		}
	}()
	// Columns are 1-based in stack frames and 0-based in maps; a frame
	// without a column (0) means the line's start.
	sec, secLine, secCol, ok := pm.at(line-1, max(column-1, 0))
	if !ok {
		return position{}, errOutOfRange
	}
	src, name, l, c, ok := sec.consumer.Source(secLine, secCol)
	if !ok || l < 1 || c < 0 {
		return position{}, errOutOfRange
	}
	if src == "" {
		// A negative source index, which the library skips over.
		return position{}, fmt.Errorf("%w: the mapping at line %d, column %d names no source", errBrokenMap, line, column)
	}
	return position{source: src, name: event.Clamp(name, maxName), line: l, column: c + 1}, nil
}

// context returns the source lines around line of source from the map's
// sourcesContent; ok is false when the map carries no content for it or
// the content is shorter than line.
func (pm *parsedMap) context(source string, line int) (pre []string, current string, post []string, ok bool) {
	lines := pm.sourceLines(source)
	if line < 1 || line > len(lines) {
		return nil, "", nil, false
	}
	i := line - 1
	lo, hi := max(i-contextRadius, 0), min(i+contextRadius+1, len(lines))
	pre = clampAll(lines[lo:i])
	post = clampAll(lines[i+1 : hi])
	return pre, event.Clamp(lines[i], maxLine), post, true
}

// sourceLines splits a source's content once per parsed map: splitting on
// every frame would cost more than the lookup itself.
func (pm *parsedMap) sourceLines(source string) []string {
	pm.mu.Lock()
	defer pm.mu.Unlock()
	if lines, ok := pm.lines[source]; ok {
		return lines
	}
	var lines []string
	for _, sec := range pm.sections {
		if content := sec.consumer.SourceContent(source); content != "" {
			lines = strings.Split(strings.ReplaceAll(content, "\r\n", "\n"), "\n")
			break
		}
	}
	if pm.lines == nil {
		pm.lines = map[string][]string{}
	}
	pm.lines[source] = lines
	return lines
}

func clampAll(lines []string) []string {
	if len(lines) == 0 {
		return nil
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = event.Clamp(l, maxLine)
	}
	return out
}
