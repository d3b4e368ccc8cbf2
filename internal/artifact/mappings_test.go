package artifact_test

import (
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
)

// TestCheckMappingsIndexes: a segment's source and name indexes are sums of
// deltas over the whole mappings (not reset per line) and must fall within
// "sources" and "names"; each section of an index map is checked against
// its own.
func TestCheckMappingsIndexes(t *testing.T) {
	tests := []struct {
		name, body, want string // want "" for a good map
	}{
		{"one source", `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA,EAAE;AACA"}`, ""},
		{"deltas accumulate across lines",
			// sources 0, 1, 2 then back to 0 on the next line.
			`{"version":3,"sources":["a.js","b.js","c.js"],"names":[],"mappings":"AAAA,ECAA,ECAA;ADDA"}`, ""},
		{"names", `{"version":3,"sources":["a.js"],"names":["x","y"],"mappings":"AAAAA,EAAEC"}`, ""},
		{"generated columns only", `{"version":3,"sources":[],"mappings":"A,C;E"}`, ""},
		{"no segments", `{"version":3,"sources":[],"names":[],"mappings":""}`, ""},
		{"names with commas, brackets and escapes",
			`{"version":3,"sources":["a,b.js","[c]\",.js"],"names":["x,y","{z}","\\",""],"mappings":"AAAAG,ACAAA"}`, ""},
		{"one source, indexes 0 to 2",
			`{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA,KCAA,KCAA"}`,
			`the segment at offset 5 points at source 1, but "sources" has 1 entry`},
		{"out of range on a later line",
			`{"version":3,"sources":["a.js","b.js"],"names":[],"mappings":"AAAA;ACAA;ACAA"}`,
			`the segment at offset 10 points at source 2, but "sources" has 2 entries`},
		{"negative source", `{"version":3,"sources":["a.js"],"mappings":"ADAA"}`, `points at source -1`},
		{"no sources at all", `{"version":3,"mappings":"AAAA"}`, `points at source 0, but "sources" has 0 entries`},
		{"name out of range", `{"version":3,"sources":["a.js"],"names":["x"],"mappings":"AAAAA,EAAAC"}`,
			`the segment at offset 6 points at name 1, but "names" has 1 entry`},
		{"no names", `{"version":3,"sources":["a.js"],"mappings":"AAAAA"}`, `points at name 0, but "names" has 0 entries`},
		{"value wider than 32 bits", `{"version":3,"sources":["a.js"],"mappings":"A` + strings.Repeat("g", 8) + `B"}`, "longer than 32 bits"},
		{"section checked against its own sources",
			`{"version":3,"sections":[` +
				`{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js","b.js"],"mappings":"AAAA,ACAA"}},` +
				`{"offset":{"line":1,"column":0},"map":{"version":3,"sources":["c.js"],"mappings":"AAAA,ACAA"}}]}`,
			`section 1: malformed "mappings": the segment at offset 5 points at source 1, but "sources" has 1 entry`},
		{"good sections", `{"version":3,"sections":[` +
			`{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js","b.js"],"mappings":"AAAA,ACAA"}},` +
			`{"offset":{"line":1,"column":0},"map":{"version":3,"sources":["c.js"],"mappings":"AAAA"}}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := artifact.CheckMappings([]byte(tt.body))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckMappings = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckMappings = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// TestCheckMappingsAllocations: the check decodes no segment into memory
// of its own, however many there are.
func TestCheckMappingsAllocations(t *testing.T) {
	small := []byte(`{"version":3,"sources":["a.js","b.js"],"names":["x"],"mappings":"AAAAA,ECAA"}`)
	big := []byte(`{"version":3,"sources":["a.js","b.js"],"names":["x"],"mappings":"AAAAA` + strings.Repeat(",ECAA,EDAA", 10000) + `"}`)
	a := testing.AllocsPerRun(10, func() { _ = artifact.CheckMappings(small) })
	b := testing.AllocsPerRun(10, func() { _ = artifact.CheckMappings(big) })
	if b > a {
		t.Errorf("%v allocations for 20,000 segments, %v for 2: want no more", b, a)
	}
}
