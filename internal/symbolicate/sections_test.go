package symbolicate

import (
	"runtime"
	"strings"
	"testing"
)

// TestIndexMapSections: a section that starts partway along a generated
// line holds only the columns from its offset on, and the offset column
// counts on that first line only. go-sourcemap gave the whole line to the
// later section and shifted its later lines too.
func TestIndexMapSections(t *testing.T) {
	// Section A at 0:0 maps columns 0 and 10 of line 0 to a.js; section
	// B at 0:20 maps its own lines 0 to 3 (column 0) to lines 0 to 3 of
	// b.js; section C at 3:5 maps its lines 0 to 3 to c.js's first line.
	body := []byte(`{"version":3,"file":"bundle.js","sections":[
		{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"sourcesContent":["a0\na1"],"names":[],"mappings":"AAAA,UAAU"}},
		{"offset":{"line":3,"column":5},"map":{"version":3,"sources":["c.js"],"names":[],"mappings":"AAAA;AAAA;AAAA;AAAA"}},
		{"offset":{"line":0,"column":20},"map":{"version":3,"sources":["b.js"],"sourcesContent":["b0\nb1\nb2\nb3"],"names":[],"mappings":"AAAA;AACA;AACA;AACA"}}]}`)
	pm := parseMap(body, 1<<20)
	if pm.err != nil || pm.file != "bundle.js" {
		t.Fatalf("parseMap: %v, file %q", pm.err, pm.file)
	}
	for _, tc := range []struct {
		line, column int // as a stack frame gives them: 1-based
		source       string
		wantLine     int
		wantColumn   int
	}{
		{1, 12, "a.js", 1, 11}, // before section B's offset on the same line
		{1, 20, "a.js", 1, 11}, // the column just before it
		{1, 21, "b.js", 1, 1},  // B's first column
		{2, 1, "b.js", 2, 1},   // B's second line: no column offset there
		{4, 5, "b.js", 4, 1},   // before C's offset on C's line: still B
		{4, 6, "c.js", 1, 1},   // C's first column
		{7, 1, "c.js", 1, 1},   // a later line of C, its nearest mapping
	} {
		pos, err := pm.lookup(tc.line, tc.column)
		if err != nil || pos.source != tc.source || pos.line != tc.wantLine || pos.column != tc.wantColumn {
			t.Errorf("lookup(%d, %d) = %+v, %v; want %s:%d:%d", tc.line, tc.column, pos, err, tc.source, tc.wantLine, tc.wantColumn)
		}
	}
	if _, cur, _, ok := pm.context("b.js", 2); !ok || cur != "b1" {
		t.Errorf("context of b.js:2 = %q, %v; want a later section's sourcesContent", cur, ok)
	}
}

// QA's index map of 1.1 million empty sections: 40 MB that its separators
// put at 89 MB parsed, under the 96 MB limit, while the library's parsed
// section maps held 480 MB. Sections are charged for (and bounded in
// number), so it is a broken map before anything is parsed, and the
// estimate of a map of many small sections is above what parsing it
// takes.
func TestManySectionsCharged(t *testing.T) {
	sections := func(n int) []byte {
		const sec = `{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}}`
		return []byte(`{"version":3,"sections":[` + strings.TrimSuffix(strings.Repeat(sec+",", n), ",") + `]}`)
	}
	huge := []byte(`{"version":3,"sections":[` + strings.TrimSuffix(strings.Repeat(`{"map":{"version":3,"mappings":"A"}},`, 1100000), ",") + `]}`)
	if pm := parseMap(huge, DefaultMaxMapSize); pm.err == nil || !strings.Contains(pm.err.Error(), "over the limit of 96.0 MB") {
		t.Errorf("1.1 million sections: %v, want a map over the size limit", pm.err)
	}
	if pm := parseMap(sections(maxSections+1), DefaultMaxMapSize); pm.err == nil || !strings.Contains(pm.err.Error(), "10001 sections, over the 10000") {
		t.Errorf("%d sections: %v, want too many sections", maxSections+1, pm.err)
	}

	body := sections(maxSections)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pm := parseMap(body, DefaultMaxMapSize)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if pm.err != nil {
		t.Fatal(pm.err)
	}
	held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	if held > pm.size {
		t.Errorf("%d sections hold %d bytes parsed, more than the %d charged", maxSections, held, pm.size)
	}
	t.Logf("%d sections: %d bytes held, %d charged", maxSections, held, pm.size)
	runtime.KeepAlive(pm)
}
