package event

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

func TestTitleAndCulprit(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name                 string
		ev                   Event
		wantTitle, wantCulpr string
	}{
		{"empty", Event{}, "<unlabeled event>", ""},
		{"message", Event{Message: "disk full"}, "disk full", ""},
		{"type and value", Event{Exceptions: []Exception{{Type: "TypeError", Value: "x"}}}, "TypeError: x", ""},
		{"outermost wins", Event{Exceptions: []Exception{{Type: "Inner"}, {Type: "Outer", Value: "v"}}}, "Outer: v", ""},
		{"value only", Event{Exceptions: []Exception{{Value: "bare"}}, Message: "m"}, "bare", ""},
		{"empty exception falls back to message", Event{Exceptions: []Exception{{}}, Message: "m"}, "m", ""},
		{"transaction is the culprit", Event{Transaction: "GET /users", Exceptions: []Exception{{Type: "E", Frames: []Frame{{Filename: "a.js", Function: "f"}}}}}, "E", "GET /users"},
		{"innermost in-app frame", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{
			{Filename: "app.js", Function: "outer", InApp: &yes},
			{Filename: "app.js", Function: "inner", InApp: &yes},
			{Filename: "node_modules/x.js", Function: "lib", InApp: &no},
		}}}}, "E", "app.js in inner"},
		{"no in-app frame: innermost", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{{Module: "a"}, {Module: "b.c", Function: "run"}}}}}, "E", "b.c in run"},
		{"function only", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{{Function: "main"}}}}}, "E", "main"},
		// QA #9: a title is the first line, cut as Sentry cuts it.
		{"errors.Join: the first line", Event{Exceptions: []Exception{{Type: "*errors.joinError", Value: "first problem\nsecond problem"}}}, "*errors.joinError: first problem", ""},
		{"cocoa.json: the first line", Event{Exceptions: []Exception{{Type: "EXC_BAD_ACCESS", Value: "Attempted to dereference null pointer.\nOriginated at or in a subcall of ViewController.causeCrash(Any) -> ()"}}},
			"EXC_BAD_ACCESS: Attempted to dereference null pointer.", ""},
		{"blank lines and CRLF skipped", Event{Exceptions: []Exception{{Type: "ValidationError", Value: "\r\n  \r\n2 validation errors for User \r\nname\r\n  field required"}}}, "ValidationError: 2 validation errors for User", ""},
		{"a Unicode line separator ends a line", Event{Exceptions: []Exception{{Value: "one\u2028two"}}}, "one", ""},
		{"a multi-line message", Event{Message: "psycopg2.errors.UndefinedTable: relation \"x\" does not exist\nLINE 1: SELECT * FROM x"}, "psycopg2.errors.UndefinedTable: relation \"x\" does not exist", ""},
		{"a synthetic exception's message, first line", Event{Message: "job failed\ntraceback follows", Exceptions: []Exception{{Type: "SIGABRT", Mechanism: &Mechanism{Synthetic: true}}}}, "job failed", ""},
		{"a long value cut to 100 characters", Event{Exceptions: []Exception{{Type: "E", Value: strings.Repeat("é", 150)}}}, "E: " + strings.Repeat("é", 99) + "…", ""},
		{"a value of exactly 100 characters kept", Event{Exceptions: []Exception{{Type: "E", Value: strings.Repeat("x", 100)}}}, "E: " + strings.Repeat("x", 100), ""},
		{"a blank value: the type alone", Event{Exceptions: []Exception{{Type: "E", Value: "\n \n"}}}, "E", ""},
		{"abs path when no filename", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{{AbsPath: "/x/y.py"}}}}}, "E", "/x/y.py"},
		{"a native frame without symbols: its image and offset", Event{Exceptions: []Exception{{Type: "SIGSEGV", Frames: []Frame{
			{Function: "abort", Package: "/lib/libc.so.6", InstructionAddr: "0x7f0a1c2d3e4f", InApp: &no},
			{Package: "/usr/bin/crashy", InstructionAddr: "0x55d0c0a011f0", ImageAddr: "0x55d0c0a00000", InApp: &yes}}}}}, "SIGSEGV", "crashy + 0x11f0"},
		{"a native frame with a function: its image", Event{Exceptions: []Exception{{Type: "SIGSEGV", Frames: []Frame{
			{Function: "main", Package: "/usr/bin/crashy", InstructionAddr: "0x55d0c0a01300", ImageAddr: "0x55d0c0a00000", InApp: &yes}}}}}, "SIGSEGV", "crashy in main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ev.Title(); got != tt.wantTitle {
				t.Errorf("Title() = %q, want %q", got, tt.wantTitle)
			}
			if got := tt.ev.Culprit(); got != tt.wantCulpr {
				t.Errorf("Culprit() = %q, want %q", got, tt.wantCulpr)
			}
		})
	}
}

func TestTagAndLevels(t *testing.T) {
	ev := Event{Tags: []Tag{{"browser", "Firefox"}, {"browser", "Chrome"}}}
	if v, ok := ev.Tag("browser"); !ok || v != "Firefox" {
		t.Errorf("Tag(browser) = %q, %v; want the first", v, ok)
	}
	if _, ok := ev.Tag("os"); ok {
		t.Error("Tag(os) found a missing tag")
	}
	for _, l := range []string{"fatal", "error", "warning", "info", "debug"} {
		if !ValidLevel(l) {
			t.Errorf("ValidLevel(%q) = false", l)
		}
	}
	for _, l := range []string{"", "Error", "critical"} {
		if ValidLevel(l) {
			t.Errorf("ValidLevel(%q) = true", l)
		}
	}
}

// TestMainException checks that the exception grouping picked as the main
// one of a group titles the event and names its culprit, and that an event
// without one is titled by the outermost as before.
func TestMainException(t *testing.T) {
	id := func(n int) *int { return &n }
	inApp := true
	group := []Exception{
		{Type: "TypeError", Value: "x", Mechanism: &Mechanism{ExceptionID: id(2), ParentID: id(0), Source: "errors[1]"},
			Frames: []Frame{{Filename: "jobs.js", Function: "copy", InApp: &inApp}}},
		{Type: "TypeError", Value: "x", Mechanism: &Mechanism{ExceptionID: id(1), ParentID: id(0), Source: "errors[0]"}},
		{Type: "AggregateError", Value: "same", Mechanism: &Mechanism{ExceptionID: id(0), IsExceptionGroup: true},
			Frames: []Frame{{Filename: "jobs.js", Function: "copies", InApp: &inApp}}},
	}
	tests := []struct {
		name           string
		main           *int
		title, culprit string
	}{
		{"no main exception: the outermost", nil, "AggregateError: same", "jobs.js in copies"},
		{"main exception with frames", id(2), "TypeError: x", "jobs.js in copy"},
		{"main exception without frames: culprit of the outermost", id(1), "TypeError: x", "jobs.js in copies"},
		{"unknown ID: the outermost", id(9), "AggregateError: same", "jobs.js in copies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event{Exceptions: group, MainExceptionID: tt.main}
			if got := ev.Title(); got != tt.title {
				t.Errorf("Title = %q, want %q", got, tt.title)
			}
			if got := ev.Culprit(); got != tt.culprit {
				t.Errorf("Culprit = %q, want %q", got, tt.culprit)
			}
		})
	}
}

// TestExceptionTree checks the order and depth pages show an exception
// group in: @sentry/node's nested AggregateError as recorded (outermost
// last), and lists that make no tree.
func TestExceptionTree(t *testing.T) {
	id := func(n int) *int { return &n }
	ex := func(name string, eid, parent *int, group bool) Exception {
		return Exception{Type: name, Mechanism: &Mechanism{ExceptionID: eid, ParentID: parent, IsExceptionGroup: group}}
	}
	nested := []Exception{
		ex("TypeError c", id(4), id(2), false),
		ex("RangeError b", id(3), id(2), false),
		ex("AggregateError inner", id(2), id(0), true),
		ex("TypeError a", id(1), id(0), false),
		ex("AggregateError outer", id(0), nil, true),
	}
	causeInGroup := []Exception{
		ex("KeyError", id(2), id(1), false),
		ex("ValueError", id(1), id(0), false),
		ex("ExceptionGroup", id(0), nil, true),
	}
	tests := []struct {
		name string
		exs  []Exception
		want []TreeEntry
	}{
		{"nested groups", nested, []TreeEntry{{4, 0, false}, {3, 1, true}, {2, 1, true}, {1, 2, true}, {0, 2, true}}},
		{"a cause below a group's error", causeInGroup, []TreeEntry{{2, 0, false}, {1, 1, true}, {0, 2, false}}},
		{"a chain with IDs and no group", []Exception{ex("KeyError", id(1), id(0), false), ex("LookupFailed", id(0), nil, false)}, nil},
		{"an exception without ID", append([]Exception{{Type: "x"}}, nested...), nil},
		{"a repeated ID", append([]Exception{ex("dup", id(3), id(0), false)}, nested...), nil},
		{"no root", nested[:4], nil},
		{"an orphan", append([]Exception{ex("orphan", id(9), id(8), false)}, nested...), nil},
		{"a loop", []Exception{ex("G2", id(1), id(2), true), ex("G1", id(2), id(1), true), ex("R", id(0), nil, true)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event{Exceptions: tt.exs}
			if got := ev.ExceptionTree(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExceptionTree = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFlagJSON: a Flag reads and writes as the *bool it replaced did, so
// stored events and queue messages read the same.
func TestFlagJSON(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Flag
		out  string
	}{
		{`{"handled":true}`, FlagYes, `{"handled":true}`},
		{`{"handled":false}`, FlagNo, `{"handled":false}`},
		{`{"handled":null}`, FlagUnknown, `{}`},
		{`{}`, FlagUnknown, `{}`},
	} {
		var v struct {
			Handled Flag `json:"handled,omitempty"`
		}
		if err := json.Unmarshal([]byte(tt.in), &v); err != nil || v.Handled != tt.want {
			t.Errorf("%s: %v, %v; want %v", tt.in, v.Handled, err, tt.want)
		}
		if out, _ := json.Marshal(v); string(out) != tt.out {
			t.Errorf("%s: wrote %s, want %s", tt.in, out, tt.out)
		}
	}
	var v struct{ Handled Flag }
	if err := json.Unmarshal([]byte(`{"Handled":"yes"}`), &v); err == nil {
		t.Error("a string read as a flag")
	}
}

// TestEventSize: Event fits the allocator's 576-byte size class with its
// 8-byte header (see SessionsOnly); a field that breaks this costs every
// event 64 bytes more.
func TestEventSize(t *testing.T) {
	if n := unsafe.Sizeof(Event{}); n > 568 {
		t.Errorf("Event is %d bytes, over 568", n)
	}
}
