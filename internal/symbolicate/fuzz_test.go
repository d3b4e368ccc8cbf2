package symbolicate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
)

// hostileMaps seed the fuzzers with what the tests already know breaks
// the library or tries to.
var hostileMaps = []string{
	`{"version":3,"sections":[{"offset":{"line":0,"column":0}}]}`,
	`{"version":3,"sections":[{"offset":{"line":0,"column":0},"map":null}]}`,
	`{"version":3,"sections":[{"offset":{"line":-5,"column":-1},"map":{"version":3,"sources":["a"],"mappings":"AAAA"}}]}`,
	`{"version":3,"sources":["a.js"],"names":[],"mappings":"AKAA"}`,
	`{"version":3,"sources":["a.js"],"names":[],"mappings":"ADAA"}`,
	`{"version":3,"sources":["a.js"],"names":["x"],"mappings":"AAAAF,AAAAK"}`,
	`{"version":3,"sources":["a.js"],"sourcesContent":[null],"mappings":"//////////////////B"}`,
	`{"version":3,"sources":["a.js"],"sourcesContent":["x\ny"],"mappings":";;;;;;;;;;;;;;;;AAAA"}`,
	`{"version":3,"sourceRoot":"http://[::1","sources":["a.js"],"mappings":"AAAA"}`,
	`{"version":3,"sources":["a.js"],"mappings":"AAAAg"}`,
	`{"version":3,`,
	`[]`,
	`null`,
}

// FuzzParseMap: no map body, however hostile, panics or hangs the stage;
// parsing, lookup and context all run on what the fuzzer makes.
func FuzzParseMap(f *testing.F) {
	f.Add(readFile(f, "testdata/build-a/app.min.js.map"), 1, 43)
	f.Add(readFile(f, "testdata/build-b/bundle.min.js.map"), 2, 37)
	for _, m := range hostileMaps {
		f.Add([]byte(m), 1, 1)
	}
	f.Fuzz(func(t *testing.T, body []byte, line, col int) {
		pm := parseMap(body, 1<<20)
		if pm.err != nil {
			if pm.sections != nil {
				t.Fatalf("a broken map has sections")
			}
			return
		}
		pos, err := pm.lookup(line, col)
		if err != nil {
			return
		}
		if pos.line < 1 || pos.column < 1 || len(pos.name) > maxName {
			t.Fatalf("lookup(%d, %d) = %+v: out of bounds", line, col, pos)
		}
		pre, cur, post, _ := pm.context(pos.source, pos.line)
		if len(pre) > contextRadius || len(post) > contextRadius || len(cur) > maxLine {
			t.Fatalf("context of %+v: %d, %d, %d bytes", pos, len(pre), len(post), len(cur))
		}
	})
}

// FuzzSymbolicate runs whole events through a Symbolicator whose one map
// the fuzzer writes, at positions it picks: the event comes back with
// every frame either mapped or carrying a reason, never a panic.
func FuzzSymbolicate(f *testing.F) {
	f.Add(readFile(f, "testdata/build-a/app.min.js.map"), 1, 43, 1, 156)
	for _, m := range hostileMaps {
		f.Add([]byte(m), 1, 1, 1<<30, -1)
	}
	f.Fuzz(func(t *testing.T, body []byte, l1, c1, l2, c2 int) {
		maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: {Key: "k", Body: body}}}
		s := New(Config{Maps: maps, MaxMapSize: 1 << 20, Now: func() time.Time { return time.Unix(0, 0) }})
		ev := event.Event{ProjectID: 1, Exceptions: []event.Exception{{Frames: []event.Frame{
			{AbsPath: urlA, Function: "a", Lineno: l1, Colno: c1},
			{AbsPath: urlA, Function: "b", Lineno: l2, Colno: c2},
		}}}}
		if err := s.Symbolicate(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		ex := ev.Exceptions[0]
		for i, fr := range ex.Frames {
			mapped := ex.RawFrames != nil && fr.AbsPath != urlA
			tried := fr.Lineno > 0
			if tried && !mapped && fr.Unmapped == "" {
				t.Fatalf("frame %d %+v neither mapped nor given a reason", i, fr)
			}
			if mapped && (len(fr.AbsPath) > maxPath || len(fr.Function) > maxName || len(fr.ContextLine) > maxLine ||
				strings.Contains(fr.AbsPath+fr.Function+fr.ContextLine, "\x00")) {
				t.Fatalf("frame %d not bounded: %+v", i, fr)
			}
		}
	})
}

// FuzzScopeName names a frame from a minified file the fuzzer writes, with
// build C's map: never a panic, and a name within bounds.
func FuzzScopeName(f *testing.F) {
	f.Add(readFile(f, "testdata/build-c/classes.min.js"), "t.lineTotal", 1, 201)
	f.Add([]byte("var e=class t{m(){x}}"), "new t", 1, 18)
	f.Add([]byte("function* s(){}\n\n=s"), "async s.s [as s]", 3, 1)
	pm := parseMap(readFile(f, "testdata/build-c/classes.min.js.map"), DefaultMaxMapSize)
	f.Fuzz(func(t *testing.T, src []byte, fn string, line, column int) {
		m := newMinified(src)
		if m == nil {
			return
		}
		name, ok := scopeName(fn, m, line, column, pm)
		if ok && (name == "" || len(name) > maxName) {
			t.Fatalf("scopeName(%q) = %q", fn, name)
		}
		m.hasLine(line, column, fn)
	})
}
