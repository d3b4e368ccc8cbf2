package ingest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestDecodeFlytrap(t *testing.T) {
	tests := []struct {
		name    string
		kind    flytrapKind
		in      string
		wantPID int64
		wantErr string
		check   func(t *testing.T, ev *event.Event)
	}{
		{
			name: "case study error payload",
			kind: flytrapError,
			in: `{"data":{"error":{"name":"TypeError","message":"Cannot read property 'foo' of undefined","stack":"at app.js:42:13"},
				"codeContexts":[{"file":"app.js","line":42,"column":13,"context":"function example() { return foo.bar; }"}],
				"handled":false,"timestamp":"2025-06-27T06:48:00Z","project_id":"42","method":"GET","path":"/example","ip":"192.168.1.1","os":"macOS","runtime":"Node.js v22.3.0"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				want := []event.Exception{{
					Type: "TypeError", Value: "Cannot read property 'foo' of undefined", RawStack: "at app.js:42:13",
					CodeContexts: []event.CodeContext{{File: "app.js", Line: 42, Column: 13, Context: "function example() { return foo.bar; }"}},
					Mechanism:    &event.Mechanism{Type: "onerror", Handled: ptr(false)},
				}}
				if !reflect.DeepEqual(ev.Exceptions, want) {
					t.Errorf("exceptions %+v\nwant %+v", ev.Exceptions, want)
				}
				if ev.Handled != event.FlagNo || ev.Level != "error" || ev.Platform != "node" || ev.Source != event.SourceFlytrap {
					t.Errorf("handled %v level %q platform %q source %q", ev.Handled, ev.Level, ev.Platform, ev.Source)
				}
				if want := time.Date(2025, 6, 27, 6, 48, 0, 0, time.UTC); !ev.Timestamp.Equal(want) {
					t.Errorf("timestamp %v", ev.Timestamp)
				}
				if !reflect.DeepEqual(ev.Request, &event.Request{Method: "GET", URL: "/example"}) {
					t.Errorf("request %+v", ev.Request)
				}
				if want := tagList("os", "macOS", "runtime", "Node.js v22.3.0"); !reflect.DeepEqual(ev.Tags, want) {
					t.Errorf("tags %v", ev.Tags)
				}
				if ev.User == nil || ev.User.IPHash != testDecoder().hashIP("192.168.1.1") {
					t.Errorf("user %+v", ev.User)
				}
				if ev.Title() != "TypeError: Cannot read property 'foo' of undefined" {
					t.Errorf("title %q", ev.Title())
				}
			},
		},
		{
			name:    "browser SDK: nulls, numeric project, browser tag",
			kind:    flytrapError,
			in:      `{"data":{"error":{"name":"Error","message":"x","stack":"Error: x\n    at https://a.example/app.js:1:2"},"codeContexts":[],"handled":true,"timestamp":"2025-06-27T06:48:00.000Z","project_id":42,"method":null,"path":null,"ip":null,"os":"Mac OS 10.15.7","browser":"Chrome 126.0.0.0"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if ev.Request != nil || ev.User != nil || ev.Exceptions[0].CodeContexts != nil || ev.Platform != "javascript" {
					t.Errorf("request %+v user %+v contexts %+v platform %q", ev.Request, ev.User, ev.Exceptions[0].CodeContexts, ev.Platform)
				}
				if v, _ := ev.Tag("browser"); v != "Chrome 126.0.0.0" {
					t.Errorf("browser tag %q", v)
				}
				if ev.Handled != event.FlagYes {
					t.Errorf("handled %v", ev.Handled)
				}
			},
		},
		{
			name:    "flask SDK: Python traceback, local time with offset, line only",
			kind:    flytrapError,
			in:      `{"data":{"error":{"name":"ZeroDivisionError","message":"division by zero","stack":"Traceback (most recent call last):\n  File \"/app/app.py\", line 9, in index\n    1 / 0\nZeroDivisionError: division by zero\n"},"codeContexts":[{"file":"/app/app.py","line":"9","context":"1 / 0"}],"handled":false,"timestamp":"2025-06-27T08:48:00.123456+02:00","project_id":" 42 ","method":"GET","path":"/"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if ev.Platform != "python" || ev.Exceptions[0].CodeContexts[0] != (event.CodeContext{File: "/app/app.py", Line: 9, Context: "1 / 0"}) {
					t.Errorf("platform %q contexts %+v", ev.Platform, ev.Exceptions[0].CodeContexts)
				}
				if want := time.Date(2025, 6, 27, 6, 48, 0, 123456000, time.UTC); !ev.Timestamp.Equal(want) {
					t.Errorf("timestamp %v", ev.Timestamp)
				}
			},
		},
		{
			name:    "wrongly typed fields are dropped with notes",
			kind:    flytrapError,
			in:      `{"data":{"error":{"name":["E"],"message":"m","stack":{"x":1}},"codeContexts":"none","handled":"yes","timestamp":"soon","project_id":"42","os":{"n":1}}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				ex := ev.Exceptions[0]
				if ex.Type != "Error" || ex.Value != "m" || ex.RawStack != "" || ex.CodeContexts != nil || ev.Handled != event.FlagUnknown || ev.Tags != nil || !ev.Timestamp.Equal(testNow) {
					t.Errorf("event %+v", ev)
				}
				for _, n := range []string{"data.error.name", "data.error.stack", "data.codeContexts", "data.handled", "timestamp", "data.os"} {
					if !hasNote(ev, n) {
						t.Errorf("no note about %s in %q", n, ev.Notes)
					}
				}
			},
		},
		{
			name:    "tag values Sentry would not keep are dropped with notes, not cut",
			kind:    flytrapError,
			in:      `{"data":{"error":{"name":"E","message":"m"},"project_id":"42","os":"Linux\u001b[2J","browser":"` + strings.Repeat("b", 201) + `","runtime":" Node.js v22 "}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if want := tagList("runtime", "Node.js v22"); !reflect.DeepEqual(ev.Tags, want) {
					t.Errorf("tags %q, want %q", ev.Tags, want)
				}
				if !hasNote(ev, "data.os is not a tag: the value holds a line break") || !hasNote(ev, "data.browser is not a tag: the value is longer than 200 characters") {
					t.Errorf("notes %q", ev.Notes)
				}
			},
		},
		{
			name:    "rejection with a string",
			kind:    flytrapRejection,
			in:      `{"data":{"value":"network down","handled":false,"timestamp":"2025-06-27T06:48:00Z","project_id":"42","ip":"2001:db8::1","os":"Windows 11","browser":"Firefox 127"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				want := []event.Exception{{Type: "UnhandledRejection", Value: "network down", Mechanism: &event.Mechanism{Type: "onunhandledrejection", Handled: ptr(false)}}}
				if !reflect.DeepEqual(ev.Exceptions, want) {
					t.Errorf("exceptions %+v", ev.Exceptions)
				}
				if ev.Title() != "UnhandledRejection: network down" || ev.User == nil || ev.User.IPHash != testDecoder().hashIP("2001:db8::1") {
					t.Errorf("title %q user %+v", ev.Title(), ev.User)
				}
			},
		},
		{
			name:    "rejection with an object",
			kind:    flytrapRejection,
			in:      `{"data":{"value":{"code":503,"reason":"<busy>"},"handled":false,"project_id":"42"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if v := ev.Exceptions[0].Value; v != `{"code":503,"reason":"<busy>"}` {
					t.Errorf("value %q", v)
				}
			},
		},
		{
			name:    "rejection with null",
			kind:    flytrapRejection,
			in:      `{"data":{"value":null,"project_id":"42"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if v := ev.Exceptions[0].Value; v != "null" {
					t.Errorf("value %q", v)
				}
			},
		},
		{
			name:    "rejection with undefined",
			kind:    flytrapRejection,
			in:      `{"data":{"handled":true,"project_id":"42"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if v := ev.Exceptions[0].Value; v != "undefined" {
					t.Errorf("value %q", v)
				}
			},
		},
		{
			name:    "rejection with a number",
			kind:    flytrapRejection,
			in:      `{"data":{"value":42.5,"project_id":"42"}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if v := ev.Exceptions[0].Value; v != "42.5" {
					t.Errorf("value %q", v)
				}
			},
		},
		{
			name:    "code contexts capped",
			kind:    flytrapError,
			in:      `{"data":{"error":{"name":"E"},"project_id":"42","codeContexts":[` + strings.Repeat(`{"file":"a.js","line":1},null,`, 300) + `{}]}}`,
			wantPID: 42,
			check: func(t *testing.T, ev *event.Event) {
				if n := len(ev.Exceptions[0].CodeContexts); n != maxFrames/2 || !hasNote(ev, "kept the first 250 of 601 code contexts") {
					t.Errorf("%d code contexts, notes %q", n, ev.Notes)
				}
			},
		},
		{name: "case study's placeholder project ID", kind: flytrapError, in: `{"data":{"error":{"name":"E"},"project_id":"project-id-123-456"}}`, wantErr: `data.project_id must be the project's numeric ID, e.g. "42" (see the project's SDK settings); got "project-id-123-456"`},
		{name: "project ID zero", kind: flytrapError, in: `{"data":{"error":{"name":"E"},"project_id":"0"}}`, wantErr: "data.project_id must be"},
		{name: "project ID fractional", kind: flytrapRejection, in: `{"data":{"project_id":4.2}}`, wantErr: "got 4.2"},
		{name: "project ID missing", kind: flytrapRejection, in: `{"data":{"value":"x"}}`, wantErr: "got null"},
		{name: "data missing", kind: flytrapError, in: `{"error":{}}`, wantErr: `the body must be {"data": {...}}, but "data" is null`},
		{name: "data not an object", kind: flytrapError, in: `{"data":"x"}`, wantErr: `"data" is a string`},
		{name: "error missing", kind: flytrapError, in: `{"data":{"project_id":"42"}}`, wantErr: "data.error must be an object"},
		{name: "not JSON", kind: flytrapError, in: `{"data":`, wantErr: "not valid JSON"},
		{name: "a list", kind: flytrapRejection, in: `[{"data":{}}]`, wantErr: "a list, not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, pid, err := testDecoder().decodeFlytrap(tt.kind, []byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if pid != tt.wantPID || ev.ProjectID != tt.wantPID {
				t.Errorf("project %d / %d, want %d", pid, ev.ProjectID, tt.wantPID)
			}
			if _, ok := normalizeEventID(ev.EventID); !ok || len(ev.EventID) != 32 {
				t.Errorf("event_id %q", ev.EventID)
			}
			tt.check(t, ev)
		})
	}
}
