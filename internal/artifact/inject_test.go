package artifact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-sourcemap/sourcemap"

	"github.com/getflytrap/flytrap/internal/artifact"
)

func TestInject(t *testing.T) {
	tests := []struct {
		name, js, mappings string
		wantMappings       string
		wantPrefix         string
	}{
		// The snippet goes on lines of its own: two lines are inserted.
		{"at the start", "abc()\n", "AAAA,GAAG", ";;AAAA,GAAG", "\n!function(){"},
		// The directive stays on line 1; what followed it moves two lines
		// down and 13 columns left: only the first moved segment changes.
		{"after a directive", `"use strict";abc()` + "\n", "AAAA,aAAa,GAAG", "AAAA;;AAAa,GAAG", `"use strict";` + "\n!function(){"},
		{"after a hashbang", "#!/usr/bin/env node\nabc()\n", "AAAA;AACA", "AAAA;;;AACA", "#!/usr/bin/env node\n\n!function(){"},
		{"after a comment", "/* (c) */abc()\n", "AAAA,SAAS", "AAAA;;AAAS", "/* (c) */\n!function(){"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := `{"version":3,"sources":["a.js"],"names":[],"mappings":"` + tt.mappings + `"}`
			out, err := artifact.Inject([]byte(tt.js), []byte(m))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Mappings string `json:"mappings"`
				DebugID  string `json:"debug_id"`
				DebugId  string `json:"debugId"`
			}
			if err := json.Unmarshal(out.Map, &got); err != nil {
				t.Fatal(err)
			}
			if got.Mappings != tt.wantMappings {
				t.Errorf("mappings %q, want %q", got.Mappings, tt.wantMappings)
			}
			if id := artifact.DebugIDFromBytes([]byte(m)); out.DebugID != id || got.DebugID != id || got.DebugId != id || artifact.DebugIDOf(out.JS) != id {
				t.Errorf("debug IDs: result %s, map %s/%s, file %s; want %s", out.DebugID, got.DebugID, got.DebugId, artifact.DebugIDOf(out.JS), id)
			}
			if !strings.HasPrefix(string(out.JS), tt.wantPrefix) || !strings.HasSuffix(string(out.JS), "\n//# debugId="+out.DebugID+"\n") {
				t.Errorf("file:\n%s", out.JS)
			}
		})
	}
}

func TestInjectKeepsTheMapsID(t *testing.T) {
	const id = "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"
	out, err := artifact.Inject([]byte("x()\n"), []byte(`{"version":3,"mappings":"AAAA","debugId":"`+id+`"}`))
	if err != nil || out.DebugID != id {
		t.Errorf("Inject = %s, %v; want the map's own %s", out.DebugID, err, id)
	}
	// The map's ID written otherwise is written canonical, as sentry-cli
	// writes it, in the file and the map.
	out, err = artifact.Inject([]byte("x()\n"), []byte(`{"version":3,"mappings":"AAAA","debugId":"{`+strings.ToUpper(id)+`}"}`))
	if err != nil || out.DebugID != id || artifact.DebugIDOf(out.JS) != id || artifact.MapDebugID(out.Map) != id || strings.Contains(string(out.Map), "{0B9E") {
		t.Errorf("Inject of a map with its ID in braces = %s, %s, %v; want %s written canonical", out.DebugID, out.Map, err, id)
	}
	if _, err := artifact.Inject([]byte("x()\n"), []byte(`{"version":3,"mappings":"!!"}`)); err == nil {
		t.Error("Inject accepted broken mappings")
	}
	if _, err := artifact.Inject([]byte("x()\n"), []byte(`{`)); err == nil {
		t.Error("Inject accepted a broken map")
	}
}

// A map with a byte order mark or the spec's `)]}'` line is injected like
// any other; the rewritten map is plain JSON.
func TestInjectPrefixedMap(t *testing.T) {
	const id = "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"
	for _, prefix := range []string{"\ufeff", ")]}'\n"} {
		out, err := artifact.Inject([]byte("x()\n"), []byte(prefix+`{"version":3,"mappings":"AAAA","debugId":"`+id+`"}`))
		if err != nil || out.DebugID != id || !json.Valid(out.Map) {
			t.Errorf("prefix %q: Inject = %s, %s, %v; want the map's %s and JSON", prefix, out.DebugID, out.Map, err, id)
		}
	}
}

// An index map is injected like a regular one: the sections after the
// snippet move down by their offsets, and the one the snippet splits has
// its own mappings moved. Every position of the file's code maps where it
// did before.
func TestInjectIndexMap(t *testing.T) {
	const (
		strict = `"use strict";`
		// Section 0 covers "use strict"; and a(), section 1 b() on the
		// next line (go-sourcemap misreads sections that start mid-line).
		js    = strict + "a();\nb()\n"
		index = `{"version":3,"file":"x.js","sections":[` +
			`{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA,aACA"}},` +
			`{"offset":{"line":1,"column":0},"map":{"version":3,"sources":["b.js"],"names":[],"mappings":"AAAA"}}]}`
	)
	out, err := artifact.Inject([]byte(js), []byte(index))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out.JS), strict+"\n!function(){") {
		t.Fatalf("file:\n%s", out.JS)
	}
	var got struct {
		DebugID  string `json:"debug_id"`
		Sections []struct {
			Offset struct{ Line, Column int }
			Map    struct{ Mappings string }
		}
	}
	if err := json.Unmarshal(out.Map, &got); err != nil {
		t.Fatal(err)
	}
	if got.DebugID != out.DebugID || len(got.Sections) != 2 ||
		got.Sections[0].Offset.Line != 0 || got.Sections[0].Map.Mappings != "AAAA;;AACA" ||
		got.Sections[1].Offset.Line != 3 || got.Sections[1].Offset.Column != 0 || got.Sections[1].Map.Mappings != "AAAA" {
		t.Fatalf("map %s", out.Map)
	}
	before, err := sourcemap.Parse("", []byte(index))
	if err != nil {
		t.Fatal(err)
	}
	after, err := sourcemap.Parse("", out.Map)
	if err != nil {
		t.Fatal(err)
	}
	// Generated positions (1-based line, 0-based column) of a() and b().
	for _, p := range []struct{ line, col, newLine, newCol int }{{1, 13, 3, 0}, {2, 0, 4, 0}} {
		src, _, l, c, ok := before.Source(p.line, p.col)
		src2, _, l2, c2, ok2 := after.Source(p.newLine, p.newCol)
		if !ok || !ok2 || src != src2 || l != l2 || c != c2 {
			t.Errorf("%d:%d → %s:%d:%d, but %d:%d after injecting → %s:%d:%d", p.line, p.col, src, l, c, p.newLine, p.newCol, src2, l2, c2)
		}
	}
	// A section starting after the snippet on its line moves to the
	// start of the line after it, less the columns left behind.
	midLine := `{"version":3,"sections":[{"offset":{"line":0,"column":0},"map":{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA"}},` +
		`{"offset":{"line":0,"column":17},"map":{"version":3,"sources":["b.js"],"names":[],"mappings":"AAAA"}}]}`
	out, err = artifact.Inject([]byte(strict+"a();b()\n"), []byte(midLine))
	if err != nil || !strings.Contains(string(out.Map), `"offset":{"line":2,"column":4}`) {
		t.Errorf("section mid-line: Inject = %s, %v; want it at line 2, column 4", out.Map, err)
	}
	url := `{"version":3,"sections":[{"offset":{"line":0,"column":0},"url":"a.js.map"}]}`
	if _, err := artifact.Inject([]byte(js), []byte(url)); err == nil || !strings.Contains(err.Error(), "refers to a url") {
		t.Errorf("Inject of a section by url before the snippet: err = %v", err)
	}
}
