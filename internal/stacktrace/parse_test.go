package stacktrace

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// frame builds an expected frame without module or context.
func frame(fn, abs, file string, line, col int) event.Frame {
	return event.Frame{Function: fn, AbsPath: abs, Filename: file, Lineno: line, Colno: col}
}

// parseCases pin down one construct each; the realistic whole traces are in
// testdata (TestParseGolden).
var parseCases = []struct {
	name string
	in   string
	want []event.Frame
}{
	{"flytrap case study", "at app.js:42:13",
		[]event.Frame{frame("", "app.js", "app.js", 42, 13)}},
	{"v8 named", "    at handler (/srv/app/src/routes.js:10:5)",
		[]event.Frame{frame("handler", "/srv/app/src/routes.js", "routes.js", 10, 5)}},
	{"v8 anonymous location only", "    at /srv/app/src/routes.js:10:5",
		[]event.Frame{frame("", "/srv/app/src/routes.js", "routes.js", 10, 5)}},
	{"v8 line without column", "    at handler (/srv/app/a.js:7)",
		[]event.Frame{frame("handler", "/srv/app/a.js", "a.js", 7, 0)}},
	{"v8 async drops the marker", "    at async getUser (/srv/app/db.js:18:20)",
		[]event.Frame{frame("getUser", "/srv/app/db.js", "db.js", 18, 20)}},
	{"v8 async location only", "    at async /srv/app/server.js:54:5",
		[]event.Frame{frame("", "/srv/app/server.js", "server.js", 54, 5)}},
	{"v8 constructor keeps new", "    at new Cart (/srv/app/cart.js:3:9)",
		[]event.Frame{frame("new Cart", "/srv/app/cart.js", "cart.js", 3, 9)}},
	{"v8 object anonymous", "    at Object.<anonymous> (/srv/app/index.js:7:1)",
		[]event.Frame{frame("Object.<anonymous>", "/srv/app/index.js", "index.js", 7, 1)}},
	{"v8 alias", "    at Layer.handle [as handle_request] (/a/node_modules/express/lib/router/layer.js:95:5)",
		[]event.Frame{frame("Layer.handle [as handle_request]", "/a/node_modules/express/lib/router/layer.js",
			"node_modules/express/lib/router/layer.js", 95, 5)}},
	{"v8 eval uses the call site", "    at eval (eval at loadPlugin (https://x.example/app.js:1:30551), <anonymous>:3:17)",
		[]event.Frame{frame("eval", "https://x.example/app.js", "/app.js", 1, 30551)}},
	{"v8 nested eval uses the innermost call site",
		"    at eval (eval at a (eval at b (https://x.example/app.js:4:2), <anonymous>:1:1), <anonymous>:2:2)",
		[]event.Frame{frame("eval", "https://x.example/app.js", "/app.js", 4, 2)}},
	{"v8 eval without parentheses", "    at eval (eval at <anonymous>, <anonymous>:3:4)",
		[]event.Frame{frame("eval", "<anonymous>", "<anonymous>", 3, 4)}},
	{"v8 native", "    at Array.forEach (native)",
		[]event.Frame{frame("Array.forEach", "native", "native", 0, 0)}},
	{"v8 anonymous location", "    at new Promise (<anonymous>)",
		[]event.Frame{frame("new Promise", "<anonymous>", "<anonymous>", 0, 0)}},
	{"v8 promise combinator has no file", "    at async Promise.all (index 0)",
		[]event.Frame{frame("Promise.all", "", "", 0, 0)}},
	{"v8 node internal", "    at Module._compile (node:internal/modules/cjs/loader:1364:14)",
		[]event.Frame{frame("Module._compile", "node:internal/modules/cjs/loader", "node:internal/modules/cjs/loader", 1364, 14)}},
	{"v8 url with port and query", "    at f (http://localhost:3000/static/app.min.js?v=3&x=1:1:2)",
		[]event.Frame{frame("f", "http://localhost:3000/static/app.min.js?v=3&x=1", "/static/app.min.js", 1, 2)}},
	{"v8 url without path", "    at f (http://localhost:3000:1:2)",
		[]event.Frame{frame("f", "http://localhost:3000", "/", 1, 2)}},
	{"v8 windows path", `    at C:\app\x.js:1:2`,
		[]event.Frame{frame("", `C:\app\x.js`, "x.js", 1, 2)}},
	{"v8 file url", "    at main (file:///srv/app/main.mjs:3:9)",
		[]event.Frame{frame("main", "file:///srv/app/main.mjs", "main.mjs", 3, 9)}},
	{"v8 pnpm keeps the last node_modules", "    at f (/a/node_modules/.pnpm/pg@8.1.0/node_modules/pg/lib/client.js:1:2)",
		[]event.Frame{frame("f", "/a/node_modules/.pnpm/pg@8.1.0/node_modules/pg/lib/client.js", "node_modules/pg/lib/client.js", 1, 2)}},
	{"v8 at inside a message is not a frame", "Error: failed\n    at least 3 items are required\n    at the moment (try later)", nil},
	{"v8 oversized line number is not a frame", "    at f (a.js:12345678901:2)", nil},
	{"gecko named", "ProductList@https://x.example/static/app.js:2:104521",
		[]event.Frame{frame("ProductList", "https://x.example/static/app.js", "/static/app.js", 2, 104521)}},
	{"gecko anonymous", "@https://x.example/app.js:1:100",
		[]event.Frame{frame("", "https://x.example/app.js", "/app.js", 1, 100)}},
	{"gecko nested closure", "loadPlugin/</<@https://x.example/app.js:1:30600",
		[]event.Frame{frame("loadPlugin/</<", "https://x.example/app.js", "/app.js", 1, 30600)}},
	{"gecko async cause dropped", "promise callback*fetchProducts@https://x.example/app.js:1:8812",
		[]event.Frame{frame("fetchProducts", "https://x.example/app.js", "/app.js", 1, 8812)}},
	{"gecko eval uses the call site", "@https://x.example/app.js line 12 > eval:3:17",
		[]event.Frame{frame("", "https://x.example/app.js", "/app.js", 12, 0)}},
	{"gecko new Function", "f@https://x.example/app.js line 4 > Function:1:1",
		[]event.Frame{frame("f", "https://x.example/app.js", "/app.js", 4, 0)}},
	{"gecko @ inside url", "@https://unpkg.com/lodash@4.17.21/lodash.min.js:9:1204",
		[]event.Frame{frame("", "https://unpkg.com/lodash@4.17.21/lodash.min.js", "/lodash@4.17.21/lodash.min.js", 9, 1204)}},
	{"safari global code", "global code@https://x.example/index.html:12:9",
		[]event.Frame{frame("global code", "https://x.example/index.html", "/index.html", 12, 9)}},
	{"safari native", "map@[native code]",
		[]event.Frame{frame("map", "[native code]", "[native code]", 0, 0)}},
	{"safari eval code without location is skipped", "eval code@", nil},
	{"message with an email is not a frame", "Error: bad address a@b.example:25", nil},
	{"title line is not a frame", "TypeError: x is not a function", nil},
	{"innermost first becomes oldest first",
		"Error: x\n    at inner (/a/b.js:3:1)\n    at middle (/a/b.js:2:1)\n    at outer (/a/b.js:1:1)",
		[]event.Frame{
			frame("outer", "/a/b.js", "b.js", 1, 1),
			frame("middle", "/a/b.js", "b.js", 2, 1),
			frame("inner", "/a/b.js", "b.js", 3, 1),
		}},
	{"crlf line endings", "Error: x\r\n    at inner (/a/b.js:3:1)\r\n    at outer (/a/b.js:1:1)\r\n",
		[]event.Frame{frame("outer", "/a/b.js", "b.js", 1, 1), frame("inner", "/a/b.js", "b.js", 3, 1)}},
	{"python frame with source",
		"Traceback (most recent call last):\n  File \"/srv/app/shop/views.py\", line 27, in get_order\n    order = load(id)\nKeyError: 1",
		[]event.Frame{{Function: "get_order", AbsPath: "/srv/app/shop/views.py", Filename: "views.py", Lineno: 27, ContextLine: "order = load(id)"}}},
	{"python site-packages module",
		"  File \"/v/lib/python3.12/site-packages/flask/app.py\", line 1, in wsgi_app",
		[]event.Frame{{Function: "wsgi_app", AbsPath: "/v/lib/python3.12/site-packages/flask/app.py", Filename: "flask/app.py", Module: "flask.app", Lineno: 1}}},
	{"python package init module",
		"  File \"/usr/lib/python3/dist-packages/requests/__init__.py\", line 5, in <module>",
		[]event.Frame{{Function: "<module>", AbsPath: "/usr/lib/python3/dist-packages/requests/__init__.py", Filename: "requests/__init__.py", Module: "requests", Lineno: 5}}},
	{"python stdlib module",
		"  File \"/usr/local/lib/python3.11/json/decoder.py\", line 337, in decode",
		[]event.Frame{{Function: "decode", AbsPath: "/usr/local/lib/python3.11/json/decoder.py", Filename: "json/decoder.py", Module: "json.decoder", Lineno: 337}}},
	{"python directory merely named python is not the stdlib",
		"  File \"/srv/lib/python_utils/x.py\", line 2, in f",
		[]event.Frame{{Function: "f", AbsPath: "/srv/lib/python_utils/x.py", Filename: "x.py", Lineno: 2}}},
	{"python syntax error frame has no function",
		"  File \"/srv/app/broken.py\", line 3\n    def f(:\n          ^\nSyntaxError: invalid syntax",
		[]event.Frame{{AbsPath: "/srv/app/broken.py", Filename: "broken.py", Lineno: 3, ContextLine: "def f(:"}}},
	{"python caret line is not source",
		"  File \"/a/x.py\", line 1, in f\n    ^^^^\n",
		[]event.Frame{{Function: "f", AbsPath: "/a/x.py", Filename: "x.py", Lineno: 1}}},
	{"python frame line with junk after the number", "  File \"/a/x.py\", line 1 in f", nil},
	{"python wins over javascript-looking lines",
		"  File \"/a/x.py\", line 1, in f\nfoo@/a/y.js:1:1",
		[]event.Frame{{Function: "f", AbsPath: "/a/x.py", Filename: "x.py", Lineno: 1}}},
	{"python chained keeps the last traceback",
		"Traceback (most recent call last):\n  File \"/a/x.py\", line 1, in first\nKeyError: 1\n\n" +
			"During handling of the above exception, another exception occurred:\n\n" +
			"Traceback (most recent call last):\n  File \"/a/x.py\", line 2, in second\nValueError: 2",
		[]event.Frame{{Function: "second", AbsPath: "/a/x.py", Filename: "x.py", Lineno: 2}}},
	{"empty", "", nil},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.in)
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tc.in, dump(got), dump(tc.want))
			}
		})
	}
}

func dump(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// golden is what TestParseGolden records for one sample trace.
type golden struct {
	Type   string        `json:"type"`
	Value  string        `json:"value"`
	Frames []event.Frame `json:"frames"`
}

// TestParseGolden parses realistic traces from each runtime and compares
// frames and title with testdata/NAME.golden.json (go test -update rewrites
// them; review the diff).
func TestParseGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no samples in testdata: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var g golden
			g.Type, g.Value = ParseTitle(string(text))
			g.Frames = Parse(string(text))
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from %s:\n%s", in, path, got)
			}
		})
	}
}

func TestParseCapsFrames(t *testing.T) {
	var b strings.Builder
	b.WriteString("RangeError: Maximum call stack size exceeded\n")
	const n = 1000
	// Innermost first, as V8 prints it: line numbers count down to 1, the
	// outermost call.
	for i := n; i >= 1; i-- {
		fmt.Fprintf(&b, "    at f%d (/a/b.js:%d:1)\n", i, i)
	}
	got := Parse(b.String())
	if len(got) != maxFrames {
		t.Fatalf("got %d frames, want %d", len(got), maxFrames)
	}
	var lines []int
	for _, f := range got {
		lines = append(lines, f.Lineno)
	}
	// Oldest first: the outermost calls 1..125, then the innermost 876..1000.
	for i, l := range lines {
		want := i + 1
		if i >= tailFrames {
			want = n - maxFrames + i + 1
		}
		if l != want {
			t.Fatalf("frame %d has line %d, want %d (lines %v)", i, l, want, lines)
		}
	}
}

func TestParseCapsPythonFramesKeepingContext(t *testing.T) {
	var b strings.Builder
	b.WriteString(pythonHeader + "\n")
	const n = 600
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  File \"/a/x.py\", line %d, in f\n    src%d\n", i, i)
	}
	got := Parse(b.String())
	if len(got) != maxFrames {
		t.Fatalf("got %d frames, want %d", len(got), maxFrames)
	}
	for i, f := range got {
		want := i + 1
		if i >= headFrames {
			want = n - maxFrames + i + 1
		}
		if f.Lineno != want || f.ContextLine != fmt.Sprintf("src%d", want) {
			t.Fatalf("frame %d = line %d %q, want line %d", i, f.Lineno, f.ContextLine, want)
		}
	}
}

// TestParseLinearTime feeds inputs that make backtracking or rescanning
// parsers quadratic; at a megabyte each, quadratic work would take far
// longer than the limit.
func TestParseLinearTime(t *testing.T) {
	const size = 1 << 20
	inputs := map[string]string{
		"open parens":   "at " + strings.Repeat("(", size) + ")",
		"close parens":  "at f " + strings.Repeat(")", size),
		"nested eval":   "at eval (" + strings.Repeat("eval at f (", size/11) + "a.js:1:2" + strings.Repeat(")", size/11),
		"colons":        "at " + strings.Repeat(":1", size/2),
		"at signs":      strings.Repeat("@", size),
		"python quotes": `File "` + strings.Repeat(`", line `, size/8),
		"stdlib marker": "  File \"" + strings.Repeat("/lib/python3", size/12) + "\", line 1, in f",
		"many lines":    strings.Repeat("    at f (/a/b.js:1:2)\n", size/24),
	}
	for name, in := range inputs {
		start := time.Now()
		Parse(in)
		ParseTitle(in)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: %v for %d bytes", name, d, len(in))
		}
	}
}

func TestParseTitle(t *testing.T) {
	tests := []struct {
		name, in, typ, value string
	}{
		{"v8", "TypeError: x is not a function\n    at f (/a.js:1:2)", "TypeError", "x is not a function"},
		{"v8 multi-line message", "Error: first\nsecond\n    at f (/a.js:1:2)", "Error", "first\nsecond"},
		{"v8 empty message", "Error\n    at f (/a.js:1:2)", "Error", ""},
		{"node error code", "Error [ERR_HTTP_HEADERS_SENT]: Cannot set headers\n    at f (/a.js:1:2)", "Error [ERR_HTTP_HEADERS_SENT]", "Cannot set headers"},
		{"browser uncaught prefix", "Uncaught TypeError: boom", "TypeError", "boom"},
		{"leading blank lines", "\n\n  RangeError: too deep\n", "RangeError", "too deep"},
		{"no type", "Uncaught a string was thrown", "", "a string was thrown"},
		{"colon in a sentence", "Request to https://api.example/x failed", "", "Request to https://api.example/x failed"},
		{"url before the colon", "https://host is down: retry", "", "https://host is down: retry"},
		{"bad bracket code", "Error [bad code]: x", "", "Error [bad code]: x"},
		{"only frames", "    at f (/a.js:1:2)\n    at g (/a.js:3:4)", "", ""},
		{"firefox has no title", "f@https://x.example/a.js:1:2\n@https://x.example/a.js:3:4", "", ""},
		{"python", "Traceback (most recent call last):\n  File \"/a/x.py\", line 1, in f\n    g()\nValueError: bad value", "ValueError", "bad value"},
		{"python dotted type and quoted value", "  File \"/a/x.py\", line 1, in f\nrequests.exceptions.HTTPError: 404 'x'", "requests.exceptions.HTTPError", "404 'x'"},
		{"python bare type", "Traceback (most recent call last):\n  File \"/a/x.py\", line 1, in f\nStopIteration\n", "StopIteration", ""},
		{"python multi-line value", "Traceback (most recent call last):\n  File \"/a/x.py\", line 1, in f\nValueError: a\nb\n", "ValueError", "a\nb"},
		{"python chained takes the last", "Traceback (most recent call last):\n  File \"/a/x.py\", line 1, in f\nKeyError: 'k'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/a/x.py\", line 2, in g\nLookupError: miss", "LookupError", "miss"},
		{"python without exception line", "Traceback (most recent call last):\n  File \"/a/x.py\", line 1, in f\n    g()\n", "", ""},
		{"empty", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			typ, value := ParseTitle(tc.in)
			if typ != tc.typ || value != tc.value {
				t.Errorf("ParseTitle(%q) = %q, %q; want %q, %q", tc.in, typ, value, tc.typ, tc.value)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	samples, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, text string) {
		frames := Parse(text)
		if len(frames) > maxFrames {
			t.Fatalf("%d frames, more than %d", len(frames), maxFrames)
		}
		for _, fr := range frames {
			if fr.Lineno < 0 || fr.Colno < 0 {
				t.Fatalf("negative position in %+v", fr)
			}
		}
		MarkInApp(frames, "")
		for _, fr := range frames {
			if fr.InApp == nil {
				t.Fatalf("InApp left nil in %+v", fr)
			}
		}
		ParseTitle(text)
	})
}
