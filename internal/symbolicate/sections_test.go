package symbolicate

import "testing"

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
