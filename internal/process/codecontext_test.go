package process

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// numbered returns the lines "line from".."line to", joined as ingest
// stores a code context.
func numbered(from, to int) string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("line %d", n))
	}
	return strings.Join(out, "\n")
}

func lines(from, to int) []string {
	return strings.Split(numbered(from, to), "\n")
}

// attachCase is a text stack with its code contexts and the context the
// innermost frame (the last one) must get.
type attachCase struct {
	name     string
	stack    string
	contexts []event.CodeContext
	wantPre  []string
	wantLine string
	wantPost []string
}

// TestAttachCodeContexts: the original SDKs send the lines line-5 through
// line+5, clamped at the file's ends; they land around the frame's line.
func TestAttachCodeContexts(t *testing.T) {
	const nodeStack = "TypeError: x is undefined\n    at checkout (/srv/app/checkout.js:%d:7)\n    at Layer.handle (/srv/app/node_modules/express/lib/router/layer.js:95:5)"
	tests := []attachCase{
		{
			name:     "Node: five lines either side",
			stack:    fmt.Sprintf(nodeStack, 42),
			contexts: []event.CodeContext{{File: "/srv/app/checkout.js", Line: 42, Column: 7, Context: numbered(37, 47)}},
			wantPre:  lines(37, 41), wantLine: "line 42", wantPost: lines(43, 47),
		},
		{
			name:     "clamped at the file's start: line 4 sends lines 1-9",
			stack:    fmt.Sprintf(nodeStack, 4),
			contexts: []event.CodeContext{{File: "/srv/app/checkout.js", Line: 4, Context: numbered(1, 9)}},
			wantPre:  lines(1, 3), wantLine: "line 4", wantPost: lines(5, 9),
		},
		{
			name:     "clamped at the file's end",
			stack:    fmt.Sprintf(nodeStack, 42),
			contexts: []event.CodeContext{{File: "/srv/app/checkout.js", Line: 42, Context: numbered(37, 43)}},
			wantPre:  lines(37, 41), wantLine: "line 42", wantPost: lines(43, 43),
		},
		{
			name:     "first line of the file",
			stack:    fmt.Sprintf(nodeStack, 1),
			contexts: []event.CodeContext{{File: "/srv/app/checkout.js", Line: 1, Context: numbered(1, 6)}},
			wantLine: "line 1", wantPost: lines(2, 6),
		},
		{
			name:     "a single line is the frame's line",
			stack:    fmt.Sprintf(nodeStack, 42),
			contexts: []event.CodeContext{{File: "/srv/app/checkout.js", Line: 42, Context: "return cart.total;"}},
			wantLine: "return cart.total;",
		},
		{
			name:     "too short for its line: the last line is the frame's",
			stack:    fmt.Sprintf(nodeStack, 42),
			contexts: []event.CodeContext{{File: "/srv/app/checkout.js", Line: 42, Context: "a\nb\nc"}},
			wantPre:  []string{"a", "b"}, wantLine: "c",
		},
		{
			name:     "relative file matches by suffix",
			stack:    fmt.Sprintf(nodeStack, 42),
			contexts: []event.CodeContext{{File: "checkout.js", Line: 42, Context: numbered(37, 47)}},
			wantPre:  lines(37, 41), wantLine: "line 42", wantPost: lines(43, 47),
		},
		{
			name:     "another line's context stays off",
			stack:    fmt.Sprintf(nodeStack, 42),
			contexts: []event.CodeContext{{File: "/srv/app/checkout.js", Line: 41, Context: numbered(36, 46)}},
		},
	}
	runAttachCases(t, tests)
}

// TestAttachBrowserCodeContexts: the browser SDKs send the stack line up
// to the line number as the file.
func TestAttachBrowserCodeContexts(t *testing.T) {
	const browserStack = "TypeError: x is undefined\n    at renderCart (http://localhost:5173/src/app.js:14:11)\n    at http://localhost:5173/src/main.js?t=1712:3:1"
	tests := []attachCase{
		{
			name:     "browser: stack-line fragment",
			stack:    browserStack,
			contexts: []event.CodeContext{{File: "at renderCart (http://localhost:5173/src/app.js", Line: 14, Column: 11, Context: numbered(9, 19)}},
			wantPre:  lines(9, 13), wantLine: "line 14", wantPost: lines(15, 19),
		},
		{
			name:     "browser: fragment with another spelling of the host",
			stack:    browserStack,
			contexts: []event.CodeContext{{File: "    at renderCart (http://127.0.0.1:5173/src/app.js", Line: 14, Context: numbered(9, 19)}},
			wantPre:  lines(9, 13), wantLine: "line 14", wantPost: lines(15, 19),
		},
		{
			name:     "browser: Firefox fragment",
			stack:    "renderCart@http://localhost:5173/src/app.js:14:11\n",
			contexts: []event.CodeContext{{File: "renderCart@http://localhost:5173/src/app.js", Line: 14, Context: numbered(9, 19)}},
			wantPre:  lines(9, 13), wantLine: "line 14", wantPost: lines(15, 19),
		},
		{
			name:     "browser: another file's context stays off",
			stack:    browserStack,
			contexts: []event.CodeContext{{File: "at renderCart (http://localhost:5173/src/cart.js", Line: 14, Context: numbered(9, 19)}},
		},
		{
			name:     "browser: anonymous function with a cache buster",
			stack:    "TypeError: x is undefined\n    at http://localhost:5173/src/main.js?t=1712:3:1",
			contexts: []event.CodeContext{{File: "at http://localhost:5173/src/main.js?t=1712", Line: 3, Context: numbered(1, 8)}},
			wantPre:  lines(1, 2), wantLine: "line 3", wantPost: lines(4, 8),
		},
	}
	runAttachCases(t, tests)
}

func runAttachCases(t *testing.T, tests []attachCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event.Event{Platform: "node", Exceptions: []event.Exception{{RawStack: tt.stack, CodeContexts: tt.contexts}}}
			parseStacks(&ev)
			attachCodeContexts(&ev)
			frames := ev.Exceptions[0].Frames
			if len(frames) == 0 {
				t.Fatalf("no frames from %q", tt.stack)
			}
			f := frames[len(frames)-1]
			if f.ContextLine != tt.wantLine || !equalLines(f.PreContext, tt.wantPre) || !equalLines(f.PostContext, tt.wantPost) {
				t.Errorf("frame %s:%d context\npre  %q\nline %q\npost %q\nwant\npre  %q\nline %q\npost %q",
					f.AbsPath, f.Lineno, f.PreContext, f.ContextLine, f.PostContext, tt.wantPre, tt.wantLine, tt.wantPost)
			}
			for _, other := range frames[:len(frames)-1] {
				if other.ContextLine != "" || other.PreContext != nil || other.PostContext != nil {
					t.Errorf("context attached to %s:%d too", other.AbsPath, other.Lineno)
				}
			}
		})
	}
}

// equalLines treats nil and empty as equal: neither is stored.
func equalLines(a, b []string) bool {
	return len(a) == 0 && len(b) == 0 || reflect.DeepEqual(a, b)
}
