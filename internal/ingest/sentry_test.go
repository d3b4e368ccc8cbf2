package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getsentry/sentry-go"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

const testClientIP = "203.0.113.9"

func testDecoder() *decoder {
	return &decoder{received: testNow, clientIP: testClientIP, salt: []byte(testSalt)}
}

func hasNote(ev *event.Event, substr string) bool {
	for _, n := range ev.Notes {
		if strings.Contains(n, substr) {
			return true
		}
	}
	return false
}

func frameSummary(fs []event.Frame) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s:%d", f.Function, f.Lineno))
	}
	return strings.Join(parts, " ")
}

func ptr[T any](v T) *T { return &v }

func TestDecodeSentry(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		hdr   envelopeHeader
		check func(t *testing.T, ev *event.Event)
	}{
		// exceptions
		{"exception values", `{"exception":{"values":[{"type":"ValueError","value":"bad","module":"app"}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Title() != "ValueError: bad" || ev.Exceptions[0].Module != "app" {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"exception as a bare list (sentry-go)", `{"exception":[{"type":"*errors.errorString","value":"inner"},{"type":"*fs.PathError","value":"open x: no such file"}]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 2 || ev.Title() != "*fs.PathError: open x: no such file" {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"legacy sentry.interfaces.Exception", `{"sentry.interfaces.Exception":{"values":[{"type":"ZeroDivisionError","value":"divided by 0"}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Title() != "ZeroDivisionError: divided by 0" {
				t.Errorf("title %q", ev.Title())
			}
		}},
		{"legacy single exception object", `{"sentry.interfaces.Exception":{"type":"KeyError","value":"'x'","stacktrace":{"frames":[{"function":"f","lineno":3}]}}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Title() != "KeyError: 'x'" || frameSummary(ev.Exceptions[0].Frames) != "f:3" {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"modern key wins over legacy", `{"exception":{"values":[{"type":"New"}]},"sentry.interfaces.Exception":{"values":[{"type":"Old"}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Title() != "New" {
				t.Errorf("title %q", ev.Title())
			}
		}},
		{"null, empty and non-object values skipped", `{"exception":{"values":[null,{},{"type":"","value":""},"junk",{"type":"E"}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 1 || ev.Title() != "E" {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
			if !hasNote(ev, "exception.values[3]: expected an object, got a string") {
				t.Errorf("notes %q", ev.Notes)
			}
		}},
		{"exception of the wrong type", `{"exception":"boom","message":"m"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Exceptions != nil || ev.Title() != "m" || !hasNote(ev, "dropped exception") {
				t.Errorf("exceptions %+v notes %q", ev.Exceptions, ev.Notes)
			}
		}},
		{"mechanism and handled", `{"exception":{"values":[{"type":"A","mechanism":{"type":"chained","handled":true}},{"type":"B","mechanism":{"type":"onerror","handled":false}}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Handled != event.FlagNo {
				t.Errorf("Handled %v, want no", ev.Handled)
			}
			if m := ev.Exceptions[1].Mechanism; m == nil || m.Type != "onerror" || *m.Handled {
				t.Errorf("mechanism %+v", m)
			}
		}},
		{"handled when every mechanism says so", `{"exception":{"values":[{"type":"A","mechanism":{"type":"generic","handled":"true"}}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Handled != event.FlagYes {
				t.Errorf("Handled %v, want yes", ev.Handled)
			}
		}},
		{"handled unknown without mechanisms", `{"exception":{"values":[{"type":"A"}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Handled != event.FlagUnknown {
				t.Errorf("Handled %v, want unknown", ev.Handled)
			}
		}},

		// frames
		{"frame fields and number spellings", `{"exception":{"values":[{"type":"E","stacktrace":{"frames":[
			{"filename":"a.js","abs_path":"https://x/a.js","function":"f","module":"m","package":"p","lineno":10,"colno":"5","in_app":true,"context_line":"  x()","pre_context":["a",null,3],"post_context":["z"]},
			{"function":"g","lineno":12.0,"colno":-1,"in_app":"false"},
			{"function":"h","lineno":"x","in_app":"maybe"},
			{},{"vars":{"a":1}}]}}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			fs := ev.Exceptions[0].Frames
			want := []event.Frame{
				{Filename: "a.js", AbsPath: "https://x/a.js", Function: "f", Module: "m", Package: "p", Lineno: 10, Colno: 5, InApp: ptr(true), ContextLine: "  x()", PreContext: []string{"a", "", "3"}, PostContext: []string{"z"}},
				{Function: "g", Lineno: 12, InApp: ptr(false)},
				{Function: "h"},
			}
			if !reflect.DeepEqual(fs, want) {
				t.Errorf("frames\n%+v\nwant\n%+v", fs, want)
			}
			if !hasNote(ev, "frames[2].lineno: expected a number") || !hasNote(ev, "frames[2].in_app: expected a boolean") {
				t.Errorf("notes %q", ev.Notes)
			}
		}},
		{"top-level stacktrace joins a frameless exception", `{"exception":{"values":[{"type":"E"}]},"stacktrace":{"frames":[{"function":"main","lineno":1}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 1 || frameSummary(ev.Exceptions[0].Frames) != "main:1" {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"top-level stacktrace without exception", `{"logentry":{"message":"Param is null!"},"stacktrace":{"frames":[{"function":"Dispatch"},{"function":"PostIndex","lineno":9}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 1 || ev.Title() != "Param is null!" || ev.Culprit() != "PostIndex" {
				t.Errorf("exceptions %+v title %q culprit %q", ev.Exceptions, ev.Title(), ev.Culprit())
			}
		}},
		{"legacy sentry.interfaces.Stacktrace", `{"message":"m","sentry.interfaces.Stacktrace":{"frames":[{"function":"build_msg","lineno":300}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 1 || frameSummary(ev.Exceptions[0].Frames) != "build_msg:300" {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"frames from the thread named by thread_id", `{"exception":{"values":[{"type":"EXC_BAD_ACCESS","thread_id":3}]},"threads":{"values":[
			{"id":1,"crashed":true,"stacktrace":{"frames":[{"function":"wrong"}]}},
			{"id":"3","stacktrace":{"frames":[{"function":"right","lineno":7}]}}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if frameSummary(ev.Exceptions[0].Frames) != "right:7" {
				t.Errorf("frames %s", frameSummary(ev.Exceptions[0].Frames))
			}
		}},
		{"a thread's frames go to the outermost exception naming it, once", `{"exception":{"values":[
			{"type":"Cause","thread_id":3},{"type":"Other","thread_id":4},{"type":"Outer","thread_id":3}]},"threads":{"values":[
			{"id":3,"stacktrace":{"frames":[{"function":"three","lineno":3}]}},
			{"id":4,"stacktrace":{"frames":[{"function":"four","lineno":4}]}}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			var got []string
			for _, ex := range ev.Exceptions {
				got = append(got, ex.Type+"="+frameSummary(ex.Frames))
			}
			if want := []string{"Cause=", "Other=four:4", "Outer=three:3"}; !slices.Equal(got, want) {
				t.Errorf("exceptions %q, want %q", got, want)
			}
		}},
		{"frames from the crashed thread", `{"exception":{"values":[{"type":"E"}]},"threads":[{"id":1,"current":true,"stacktrace":{"frames":[{"function":"current"}]}},{"id":2,"crashed":true,"stacktrace":{"frames":[{"function":"crashed"}]}}]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if frameSummary(ev.Exceptions[0].Frames) != "crashed:0" {
				t.Errorf("frames %s", frameSummary(ev.Exceptions[0].Frames))
			}
		}},
		{"frames from the current thread of a message event", `{"message":"attach_stacktrace","threads":{"values":[{"id":1,"current":true,"stacktrace":{"frames":[{"function":"main"}]}}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 1 || ev.Title() != "attach_stacktrace" || frameSummary(ev.Exceptions[0].Frames) != "main:0" || !ev.Exceptions[0].Synthetic() {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		// What sentry-go's CaptureMessage sends with AttachStacktrace: a
		// bare thread list, the thread without an id, crashed false.
		{"sentry-go's message with a stack", `{"message":"cache warmed","level":"info","platform":"go","threads":[{"stacktrace":{"frames":[{"function":"main","module":"main","abs_path":"/app/main.go","lineno":12,"in_app":true}]},"crashed":false,"current":true}]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 1 || ev.Title() != "cache warmed" || frameSummary(ev.Exceptions[0].Frames) != "main:12" || !ev.Exceptions[0].Synthetic() {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"a legacy top-level stacktrace on a message", `{"message":"m","stacktrace":{"frames":[{"function":"f","lineno":3}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 1 || ev.Title() != "m" || !ev.Exceptions[0].Synthetic() {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"own frames win over threads", `{"exception":{"values":[{"type":"E","thread_id":1,"stacktrace":{"frames":[{"function":"own"}]}}]},"threads":[{"id":1,"crashed":true,"stacktrace":{"frames":[{"function":"thread"}]}}]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if frameSummary(ev.Exceptions[0].Frames) != "own:0" {
				t.Errorf("frames %s", frameSummary(ev.Exceptions[0].Frames))
			}
		}},
		{"exception with only an unknown thread_id is dropped", `{"exception":{"values":[{"thread_id":9}]},"message":"m"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Exceptions) != 0 || ev.Title() != "m" {
				t.Errorf("exceptions %+v", ev.Exceptions)
			}
		}},
		{"debug IDs from debug_meta", `{"exception":{"values":[{"type":"E","stacktrace":{"frames":[
			{"abs_path":"https://cdn.example.com/app.min.js","lineno":1,"colno":100},
			{"filename":"vendor.js","lineno":2},
			{"abs_path":"https://cdn.example.com/other.js","lineno":3,"debug_id":"AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"}]}}]},
			"debug_meta":{"images":[{"type":"sourcemap","code_file":"https://cdn.example.com/app.min.js","debug_id":"C941D872-647E-4F6E-A8F9-8FF0FA1F2A8D"},
			{"type":"sourcemap","code_file":"vendor.js","debug_id":"2e0f6f4b-3c52-4b6d-9b8e-2f1d0c9a8b7e"},
			{"type":"macho","code_file":"https://cdn.example.com/other.js","debug_id":"11111111-1111-1111-1111-111111111111"},
			{"type":"sourcemap","code_file":"x.js","debug_id":"not-a-uuid"}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			var got []string
			for _, f := range ev.Exceptions[0].Frames {
				got = append(got, f.DebugID)
			}
			want := []string{"c941d872-647e-4f6e-a8f9-8ff0fa1f2a8d", "2e0f6f4b-3c52-4b6d-9b8e-2f1d0c9a8b7e", "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("debug IDs %q, want %q", got, want)
			}
		}},

		// culprit
		{"the SDK's culprit is kept (javascript.json sample)", `{"culprit":"views.js in updateMember","exception":{"values":[{"type":"TypeError","value":"x","stacktrace":{"frames":[{"filename":"../../sentry/scripts/views.js","function":"poll","in_app":true}]}}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.SDKCulprit != "views.js in updateMember" || ev.Culprit() != "../../sentry/scripts/views.js in poll" {
				t.Errorf("SDK culprit %q, computed %q", ev.SDKCulprit, ev.Culprit())
			}
		}},
		{"an empty or blank culprit is none (php.json sample)", `{"culprit":"  ","message":"m"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.SDKCulprit != "" {
				t.Errorf("SDK culprit %q", ev.SDKCulprit)
			}
		}},

		// messages
		{"message string", `{"message":"plain"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "plain" {
				t.Errorf("message %q", ev.Message)
			}
		}},
		// The same text, once the SDK's and once ingest's: only the mark
		// tells them apart, which grouping before 2026-12d needs.
		{"message object with formatted", `{"message":{"message":"User %s failed","params":["bob"],"formatted":"User bob failed"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "User %s failed" || ev.MessageFormatted != "User bob failed" || !ev.MessageFormattedBySDK || ev.Title() != "User bob failed" {
				t.Errorf("message %q, formatted %q (by the SDK: %v), title %q", ev.Message, ev.MessageFormatted, ev.MessageFormattedBySDK, ev.Title())
			}
		}},
		{"message object without formatted", `{"message":{"message":"User %s failed","params":["bob"]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "User %s failed" || ev.MessageFormatted != "User bob failed" || ev.MessageFormattedBySDK || ev.Title() != "User bob failed" {
				t.Errorf("message %q, formatted %q (by the SDK: %v), title %q", ev.Message, ev.MessageFormatted, ev.MessageFormattedBySDK, ev.Title())
			}
		}},
		// QA #3: what sentry-python's logging integration and sentry-cli
		// send-event -a send: a template and params, no formatted text.
		{"logentry params filled in, template and params kept", `{"logentry":{"message":"Order %s not found for user %s","params":["A-17","bob"]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "Order %s not found for user %s" || ev.MessageFormatted != "Order A-17 not found for user bob" ||
				string(ev.MessageParams) != `["A-17","bob"]` || ev.Title() != "Order A-17 not found for user bob" || len(ev.Notes) != 0 {
				t.Errorf("message %q, formatted %q, params %s, title %q, notes %q", ev.Message, ev.MessageFormatted, ev.MessageParams, ev.Title(), ev.Notes)
			}
		}},
		{"logentry params by name (a logging call with one mapping)", `{"logentry":{"message":"%(count)d orders for %(user)s","params":{"count":3,"user":"bob"}}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.MessageFormatted != "3 orders for bob" || string(ev.MessageParams) != `{"count":3,"user":"bob"}` {
				t.Errorf("formatted %q, params %s", ev.MessageFormatted, ev.MessageParams)
			}
		}},
		{"logentry params that do not fit: template kept, with a note", `{"logentry":{"message":"%s and %s","params":["only one"]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "%s and %s" || ev.MessageFormatted != "" || string(ev.MessageParams) != `["only one"]` || ev.Title() != "%s and %s" ||
				!hasNote(ev, "logentry.message was not formatted") {
				t.Errorf("message %q, formatted %q, params %s, notes %q", ev.Message, ev.MessageFormatted, ev.MessageParams, ev.Notes)
			}
		}},
		// sentry-python's logging integration: the template is what
		// groups, the SDK's text what titles show; not formatted again.
		{"logentry params with formatted text: not formatted again, params kept", `{"logentry":{"message":"User %s failed","params":["bob"],"formatted":"User bob failed!"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "User %s failed" || ev.MessageFormatted != "User bob failed!" || string(ev.MessageParams) != `["bob"]` {
				t.Errorf("message %q, formatted %q, params %s", ev.Message, ev.MessageFormatted, ev.MessageParams)
			}
		}},
		{"logentry with empty params: Python's logging formats nothing", `{"logentry":{"message":"100%s","params":[]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "100%s" || ev.MessageFormatted != "" || ev.MessageParams != nil || len(ev.Notes) != 0 {
				t.Errorf("message %q, formatted %q, params %s, notes %q", ev.Message, ev.MessageFormatted, ev.MessageParams, ev.Notes)
			}
		}},
		{"logentry {} placeholders (Java, .NET)", `{"logentry":{"message":"hello, {}!","params":["<b>world</b>"]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.MessageFormatted != "hello, <b>world</b>!" {
				t.Errorf("formatted %q", ev.MessageFormatted)
			}
		}},
		{"logentry wins over message", `{"logentry":{"formatted":"from logentry"},"message":"from message"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "from logentry" {
				t.Errorf("message %q", ev.Message)
			}
		}},
		{"legacy sentry.interfaces.Message", `{"sentry.interfaces.Message":{"message":"Authentication failed, token expired!"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Title() != "Authentication failed, token expired!" {
				t.Errorf("title %q", ev.Title())
			}
		}},
		{"empty logentry falls back to message", `{"logentry":{"params":["bogus"]},"message":"fallback"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "fallback" {
				t.Errorf("message %q", ev.Message)
			}
		}},
		{"message of the wrong type", `{"message":["a"]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "" || !hasNote(ev, "dropped message: expected a string, got a list") || ev.Title() != "<unlabeled event>" {
				t.Errorf("message %q notes %q", ev.Message, ev.Notes)
			}
		}},

		// tags
		{"tags object, sorted and stringified", `{"tags":{"b":"2","a":1,"c":true,"d":null,"e":{"x":1}," ":"blank","sentry:user":"ip:198.51.100.7"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			// A key's spaces become dashes, as in Relay; an object is no
			// tag value.
			want := tagList("-", "blank", "a", "1", "b", "2", "c", "true")
			if !reflect.DeepEqual(ev.Tags, want) {
				t.Errorf("tags %v, want %v", ev.Tags, want)
			}
		}},
		{"tags list of pairs, order kept", `{"tags":[["server_name","web01"],["level","error"],["n",5],["bad"],[1,"x"],null,["x",null]]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			want := tagList("server_name", "web01", "level", "error", "n", "5")
			if !reflect.DeepEqual(ev.Tags, want) {
				t.Errorf("tags %v, want %v", ev.Tags, want)
			}
			if !hasNote(ev, "tags[3]") || !hasNote(ev, "tags[4]: the key is not a string") {
				t.Errorf("notes %q", ev.Notes)
			}
		}},
		{"tags of the wrong type", `{"tags":"a=b"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Tags != nil || !hasNote(ev, "dropped tags") {
				t.Errorf("tags %v notes %q", ev.Tags, ev.Notes)
			}
		}},

		// timestamps
		{"timestamp as fractional seconds", `{"timestamp":1751006912.86742}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if want := time.Date(2025, 6, 27, 6, 48, 32, 867420000, time.UTC); !ev.Timestamp.Equal(want) {
				t.Errorf("timestamp %v, want %v", ev.Timestamp, want)
			}
		}},
		{"timestamp as RFC 3339 with zone", `{"timestamp":"2025-06-27T08:40:00.5+02:00"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if want := time.Date(2025, 6, 27, 6, 40, 0, 5e8, time.UTC); !ev.Timestamp.Equal(want) || ev.Timestamp.Location() != time.UTC {
				t.Errorf("timestamp %v, want %v", ev.Timestamp, want)
			}
		}},
		{"timestamp without zone is UTC", `{"timestamp":"2025-06-27T06:40:00"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if want := time.Date(2025, 6, 27, 6, 40, 0, 0, time.UTC); !ev.Timestamp.Equal(want) {
				t.Errorf("timestamp %v, want %v", ev.Timestamp, want)
			}
		}},
		{"timestamp as a numeric string", `{"timestamp":"1751006900"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if want := time.Unix(1751006900, 0); !ev.Timestamp.Equal(want) {
				t.Errorf("timestamp %v, want %v", ev.Timestamp, want)
			}
		}},
		{"timestamp missing", `{}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.Equal(testNow) || !ev.Received.Equal(testNow) || len(ev.Notes) != 0 {
				t.Errorf("timestamp %v received %v notes %q", ev.Timestamp, ev.Received, ev.Notes)
			}
		}},
		{"timestamp far in the past", `{"timestamp":1000}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.Equal(testNow) || !hasNote(ev, "using the received time") {
				t.Errorf("timestamp %v notes %q", ev.Timestamp, ev.Notes)
			}
		}},
		{"timestamp in the future", `{"timestamp":"2999-01-01T00:00:00Z"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.Equal(testNow) {
				t.Errorf("timestamp %v", ev.Timestamp)
			}
		}},
		{"timestamp beyond year 9999", `{"timestamp":1e300}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.Equal(testNow) || !hasNote(ev, "not a Unix time") {
				t.Errorf("timestamp %v notes %q", ev.Timestamp, ev.Notes)
			}
		}},
		{"timestamp NaN", `{"timestamp":"NaN","breadcrumbs":[{"timestamp":"nan","message":"b"}]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.Equal(testNow) || !hasNote(ev, `timestamp "NaN" is not`) || !ev.Breadcrumbs[0].Timestamp.IsZero() {
				t.Errorf("timestamp %v, breadcrumb at %v, notes %q", ev.Timestamp, ev.Breadcrumbs[0].Timestamp, ev.Notes)
			}
		}},
		{"timestamp unparsable", `{"timestamp":"yesterday"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if !ev.Timestamp.Equal(testNow) || !hasNote(ev, `timestamp "yesterday" is not`) {
				t.Errorf("timestamp %v notes %q", ev.Timestamp, ev.Notes)
			}
		}},
		{"clock drift corrected from sent_at", `{"timestamp":"2025-06-27T04:48:00Z","breadcrumbs":[{"timestamp":"2025-06-27T04:47:00Z","message":"b"}]}`,
			envelopeHeader{sentAt: testNow.Add(-2 * time.Hour)}, func(t *testing.T, ev *event.Event) {
				if want := testNow.Add(-33 * time.Second); !ev.Timestamp.Equal(want) {
					t.Errorf("timestamp %v, want %v", ev.Timestamp, want)
				}
				if want := testNow.Add(-93 * time.Second); !ev.Breadcrumbs[0].Timestamp.Equal(want) {
					t.Errorf("breadcrumb timestamp %v, want %v", ev.Breadcrumbs[0].Timestamp, want)
				}
				if !hasNote(ev, "clock is off by 2h0m0s") {
					t.Errorf("notes %q", ev.Notes)
				}
			}},
		{"small drift is transport delay", `{"timestamp":"2025-06-27T06:40:00Z"}`, envelopeHeader{sentAt: testNow.Add(-10 * time.Minute)}, func(t *testing.T, ev *event.Event) {
			if want := time.Date(2025, 6, 27, 6, 40, 0, 0, time.UTC); !ev.Timestamp.Equal(want) || len(ev.Notes) != 0 {
				t.Errorf("timestamp %v notes %q", ev.Timestamp, ev.Notes)
			}
		}},

		// levels
		{"level missing", `{}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Level != "error" {
				t.Errorf("level %q", ev.Level)
			}
		}},
		{"level alias", `{"level":"WARN"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Level != "warning" {
				t.Errorf("level %q", ev.Level)
			}
		}},
		{"level critical", `{"level":"critical"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Level != "fatal" {
				t.Errorf("level %q", ev.Level)
			}
		}},
		{"level as a Python logging number", `{"level":20}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Level != "info" {
				t.Errorf("level %q", ev.Level)
			}
		}},
		{"level unknown", `{"level":"catastrophic"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Level != "error" || !hasNote(ev, "catastrophic") {
				t.Errorf("level %q notes %q", ev.Level, ev.Notes)
			}
		}},

		// user
		{"user with numeric id and hashed ip", `{"user":{"id":123,"email":"a@example.com","username":"ann","ip_address":"198.51.100.7","data":{"plan":"pro"},"segment":"x"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			want := &event.User{ID: "123", Email: "a@example.com", Username: "ann", IPHash: testDecoder().hashIP("198.51.100.7"), Data: json.RawMessage(`{"plan":"pro"}`)}
			if !reflect.DeepEqual(ev.User, want) {
				t.Errorf("user %+v, want %+v", ev.User, want)
			}
		}},
		{"user {{auto}} ip is the client's", `{"user":{"ip_address":"{{auto}}"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.User == nil || ev.User.IPHash != testDecoder().hashIP(testClientIP) {
				t.Errorf("user %+v", ev.User)
			}
		}},
		{"legacy sentry.interfaces.User", `{"sentry.interfaces.User":{"email":"user@sentry.io","ip_address":"0:0:0:0:0:0:0:1"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.User == nil || ev.User.Email != "user@sentry.io" || ev.User.IPHash != testDecoder().hashIP("::1") {
				t.Errorf("user %+v", ev.User)
			}
		}},
		{"empty user", `{"user":{"id":null,"geo":{"city":"x"}}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.User != nil {
				t.Errorf("user %+v, want nil", ev.User)
			}
		}},

		// request
		{"request with header object and filtered credentials", `{"request":{"method":"post","url":"https://x/api","query_string":"?a=1&b=2",
			"headers":{"User-Agent":"curl","Cookie":"session=s3cr3t","authorization":"Bearer t0k3n","X-Forwarded-For":"198.51.100.7","Accept":["a","b"]},
			"cookies":{"session":"s3cr3t"},"env":{"REMOTE_ADDR":"198.51.100.7"},"data":{"x":1}}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			want := &event.Request{Method: "POST", URL: "https://x/api", QueryString: "a=1&b=2",
				Headers: [][2]string{{"Accept", "a, b"}, {"Cookie", "[Filtered]"}, {"User-Agent", "curl"}, {"X-Forwarded-For", "[Filtered]"}, {"authorization", "[Filtered]"}},
				Data:    json.RawMessage(`{"x":1}`)}
			if !reflect.DeepEqual(ev.Request, want) {
				t.Errorf("request %+v\nwant %+v", ev.Request, want)
			}
		}},
		{"request with header pairs and query pairs (legacy Http)", `{"sentry.interfaces.Http":{"url":"http://localhost:8080/","headers":[["Host","localhost"],["Cookie","a=b"],["bad"]],
			"query_string":[["foo","bar baz"],["bam",null],null],"data":"{\"logged_in\":[\"1\"]}"}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			r := ev.Request
			if r == nil || r.QueryString != "foo=bar+baz&bam=" || !reflect.DeepEqual(r.Headers, [][2]string{{"Host", "localhost"}, {"Cookie", "[Filtered]"}}) || string(r.Data) != `"{\"logged_in\":[\"1\"]}"` {
				t.Errorf("request %+v", r)
			}
		}},
		{"query string object", `{"request":{"query_string":{"b":"2","a":"1"}}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Request == nil || ev.Request.QueryString != "a=1&b=2" {
				t.Errorf("request %+v", ev.Request)
			}
		}},
		{"request of the wrong type", `{"request":"GET /"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Request != nil || !hasNote(ev, "dropped request") {
				t.Errorf("request %+v", ev.Request)
			}
		}},

		// breadcrumbs
		{"breadcrumbs as values, bad fields dropped", `{"breadcrumbs":{"values":[{"message":"missing timestamp"},{"message":"invalid level","timestamp":"2025-06-27T06:40:00Z","level":"invalid","type":"debug"},{"message":"invalid data","timestamp":1751006400,"data":"must be a mapping","category":"ui.click","level":"warning"},"junk"]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			want := []event.Breadcrumb{
				{Message: "missing timestamp"},
				{Message: "invalid level", Timestamp: time.Date(2025, 6, 27, 6, 40, 0, 0, time.UTC), Type: "debug"},
				{Message: "invalid data", Timestamp: time.Unix(1751006400, 0).UTC(), Category: "ui.click", Level: "warning"},
			}
			if !reflect.DeepEqual(ev.Breadcrumbs, want) {
				t.Errorf("breadcrumbs %+v\nwant %+v", ev.Breadcrumbs, want)
			}
		}},
		{"breadcrumbs as a list, data kept", `{"breadcrumbs":[{"category":"fetch","data":{"url":"/api","status_code":500}}]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Breadcrumbs) != 1 || string(ev.Breadcrumbs[0].Data) != `{"status_code":500,"url":"/api"}` {
				t.Errorf("breadcrumbs %+v", ev.Breadcrumbs)
			}
		}},
		{"legacy sentry.interfaces.Breadcrumbs", `{"sentry.interfaces.Breadcrumbs":{"values":[{"message":"Querying for user.","timestamp":1751006400}]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Breadcrumbs) != 1 || ev.Breadcrumbs[0].Message != "Querying for user." {
				t.Errorf("breadcrumbs %+v", ev.Breadcrumbs)
			}
		}},

		// kept JSON, sdk, fingerprint, scalars
		{"contexts and extra kept as JSON", `{"contexts":{"os":{"name":"iOS","version":"17.1"},"device":{"<b>":1.50}},"extra":{"k":[1,"two"]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if string(ev.Contexts) != `{"device":{"<b>":1.50},"os":{"name":"iOS","version":"17.1"}}` || string(ev.Extra) != `{"k":[1,"two"]}` {
				t.Errorf("contexts %s extra %s", ev.Contexts, ev.Extra)
			}
		}},
		{"contexts and extra of the wrong type", `{"contexts":"x","extra":[1],"sdk":"sentry"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Contexts != nil || ev.Extra != nil || ev.SDK != nil || !hasNote(ev, "dropped contexts") || !hasNote(ev, "dropped extra") || !hasNote(ev, "dropped sdk") {
				t.Errorf("contexts %s extra %s notes %q", ev.Contexts, ev.Extra, ev.Notes)
			}
		}},
		{"oversized extra trimmed, not dropped", `{"extra":{"blob":"` + strings.Repeat("x", maxRawJSON) + `","small":1},"contexts":{"os":{"name":"Linux"}}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if len(ev.Extra) != maxRawJSON || !strings.HasSuffix(string(ev.Extra), `x…","small":1}`) || ev.Contexts == nil ||
				!hasNote(ev, "extra was over 262144 bytes of JSON: cut 1 string to 262123 bytes (extra.blob)") {
				t.Errorf("extra %d bytes, ends %q, notes %q", len(ev.Extra), ev.Extra[max(0, len(ev.Extra)-20):], ev.Notes)
			}
		}},
		{"empty contexts dropped quietly", `{"contexts":{},"extra":{}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Contexts != nil || ev.Extra != nil || len(ev.Notes) != 0 {
				t.Errorf("contexts %s extra %s notes %q", ev.Contexts, ev.Extra, ev.Notes)
			}
		}},
		{"sdk", `{"sdk":{"name":"sentry.javascript.browser","version":"8.55.0","integrations":["x"]}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.SDK == nil || *ev.SDK != (event.SDK{Name: "sentry.javascript.browser", Version: "8.55.0"}) {
				t.Errorf("sdk %+v", ev.SDK)
			}
		}},
		{"fingerprint with non-strings", `{"fingerprint":["{{ default }}",42,true,{"a":1},null]}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if want := []string{"{{ default }}", "42", "true", `{"a":1}`, "null"}; !reflect.DeepEqual(ev.Fingerprint, want) {
				t.Errorf("fingerprint %q, want %q", ev.Fingerprint, want)
			}
		}},
		{"fingerprint of the wrong type", `{"fingerprint":"x"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Fingerprint != nil || !hasNote(ev, "dropped fingerprint") {
				t.Errorf("fingerprint %q", ev.Fingerprint)
			}
		}},
		{"scalar fields, numbers stringified, objects dropped", `{"release":1.2,"dist":7,"environment":"prod","server_name":"web01","site":"eu-1","transaction":"/users/:id","platform":"python","logger":{"x":1},"_meta":{"release":{"":{"err":["x"]}}}}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Release != "1.2" || ev.Dist != "7" || ev.Environment != "prod" || ev.ServerName != "web01" || ev.Site != "eu-1" || ev.Transaction != "/users/:id" || ev.Platform != "python" || ev.Logger != "" {
				t.Errorf("event %+v", ev)
			}
			if !hasNote(ev, "dropped logger: expected a string, got an object") {
				t.Errorf("notes %q", ev.Notes)
			}
		}},
		{"NUL characters removed", `{"message":"a\u0000b"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.Message != "ab" {
				t.Errorf("message %q", ev.Message)
			}
		}},

		// event IDs
		{"event_id dashed and uppercase", `{"event_id":"9EC79C33-EC99-42AB-8353-589FCB2E04DC"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if ev.EventID != "9ec79c33ec9942ab8353589fcb2e04dc" {
				t.Errorf("event_id %q", ev.EventID)
			}
		}},
		{"event_id from the envelope header", `{}`, envelopeHeader{eventID: "9ec79c33ec9942ab8353589fcb2e04dc"}, func(t *testing.T, ev *event.Event) {
			if ev.EventID != "9ec79c33ec9942ab8353589fcb2e04dc" {
				t.Errorf("event_id %q", ev.EventID)
			}
		}},
		{"invalid event_id falls back to the header", `{"event_id":"xyz"}`, envelopeHeader{eventID: "9ec79c33ec9942ab8353589fcb2e04dc"}, func(t *testing.T, ev *event.Event) {
			if ev.EventID != "9ec79c33ec9942ab8353589fcb2e04dc" || !hasNote(ev, `event_id "xyz" is not a UUID`) {
				t.Errorf("event_id %q notes %q", ev.EventID, ev.Notes)
			}
		}},
		{"nil UUID gets a fresh ID", `{"event_id":"00000000000000000000000000000000"}`, envelopeHeader{}, func(t *testing.T, ev *event.Event) {
			if _, ok := normalizeEventID(ev.EventID); !ok || ev.EventID == "00000000000000000000000000000000" || !hasNote(ev, "got a new ID") {
				t.Errorf("event_id %q notes %q", ev.EventID, ev.Notes)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := testDecoder().decodeSentry([]byte(tt.in), testProject, tt.hdr)
			if err != nil {
				t.Fatal(err)
			}
			if ev.ProjectID != testProject || ev.Source != event.SourceSentry || len(ev.EventID) != 32 {
				t.Errorf("project %d source %q id %q", ev.ProjectID, ev.Source, ev.EventID)
			}
			tt.check(t, ev)
		})
	}
}

func TestDecodeSentryLimits(t *testing.T) {
	var frames, tags, excs, crumbs, pre []string
	for i := range 300 {
		frames = append(frames, fmt.Sprintf(`{"function":"f%d","lineno":%d}`, i, i+1))
		tags = append(tags, fmt.Sprintf(`"t%03d":"v"`, i))
		excs = append(excs, fmt.Sprintf(`{"type":"E%d"}`, i))
		crumbs = append(crumbs, fmt.Sprintf(`{"message":"c%d"}`, i))
		pre = append(pre, fmt.Sprintf(`"line %d"`, i))
	}
	long := strings.Repeat("é", 10000) // two bytes per rune
	in := fmt.Sprintf(`{"message":%q,"tags":{%s},"breadcrumbs":[%s],"exception":{"values":[%s,{"type":%q,"stacktrace":{"frames":[%s,{"function":"last","pre_context":[%s],"post_context":[%s]}]}}]},"fingerprint":[%s]}`,
		long, strings.Join(tags, ","), strings.Join(crumbs, ","), strings.Join(excs, ","), long, strings.Join(frames, ","), strings.Join(pre, ","), strings.Join(pre, ","), strings.Join(pre, ","))
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want int
	}{
		{"message bytes", len(ev.Message), maxMessage - 1}, // the cut lands mid-rune and backs off one byte
		{"tags", len(ev.Tags), maxTags},
		{"breadcrumbs", len(ev.Breadcrumbs), maxBreadcrumbs},
		{"exceptions", len(ev.Exceptions), maxExceptions},
		{"frames", len(ev.Exceptions[maxExceptions-1].Frames), maxFrames},
		{"exception type bytes", len(ev.Exceptions[maxExceptions-1].Type), maxName - 1},
		{"fingerprint", len(ev.Fingerprint), maxFingerprint},
		{"notes", len(ev.Notes), 6}, // one per cut list, one for the strings cut
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if want := `cut 2 strings to fit the event field limits (each now ends in "…"): message (20000 bytes, kept 8191), exception.values[24].type (20000 bytes, kept 255)`; !slices.Contains(ev.Notes, want) {
		t.Errorf("notes %q, want among them %q", ev.Notes, want)
	}
	if !strings.HasSuffix(ev.Message, "é…") {
		t.Errorf("message does not end in a whole rune and an ellipsis: %q", ev.Message[len(ev.Message)-8:])
	}
	if ev.Breadcrumbs[0].Message != "c200" || ev.Tags[0].Key != "t000" || ev.Exceptions[0].Type != "E276" {
		t.Errorf("kept the wrong end: first breadcrumb %q, first tag %q, first exception %q", ev.Breadcrumbs[0].Message, ev.Tags[0].Key, ev.Exceptions[0].Type)
	}
	fs := ev.Exceptions[maxExceptions-1].Frames
	if fs[0].Function != "f0" || fs[124].Function != "f124" || fs[125].Function != "f176" || fs[249].Function != "last" {
		t.Errorf("frames cut in the wrong place: %s %s %s %s", fs[0].Function, fs[124].Function, fs[125].Function, fs[249].Function)
	}
	last := fs[249]
	if len(last.PreContext) != maxContextLines || last.PreContext[maxContextLines-1] != "line 299" || len(last.PostContext) != maxContextLines || last.PostContext[0] != "line 0" {
		t.Errorf("context lines not cut next to the frame: pre %q... post %q...", last.PreContext[0], last.PostContext[0])
	}
}

func TestDecodeSentryNotesAreCapped(t *testing.T) {
	var fields []string
	for i := range 50 {
		fields = append(fields, fmt.Sprintf(`[%d]`, i))
	}
	in := `{"tags":[` + strings.Join(fields, ",") + `]}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Notes) != maxNotes+1 || ev.Notes[maxNotes] != "further notes omitted" {
		t.Errorf("%d notes, last %q", len(ev.Notes), ev.Notes[len(ev.Notes)-1])
	}
}

func TestDecodeSentryRejectsNonObjects(t *testing.T) {
	for _, in := range []string{``, `null`, `[]`, `"event"`, `42`, `{"a":1} {"b":2}`, `{"a":`, "\xff"} {
		if ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{}); err == nil {
			t.Errorf("decodeSentry(%q) = %+v, want an error", in, ev)
		}
	}
}

// TestDecodeSentryGolden runs realistic events from several SDKs through
// the decoder and compares the normalized JSON with testdata/golden.
func TestDecodeSentryGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "sentry", "*.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs in testdata/sentry: %v", err)
	}
	for _, path := range inputs {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := testDecoder().decodeSentry(in, testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.MarshalIndent(ev, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("golden", name+".json"), append(out, '\n'))
		})
	}
}

// TestExceptionTreeIDs checks the mechanism's exception_id and parent_id:
// whole numbers from 0 are kept, anything else is dropped with a note and
// the exception keeps the rest of its mechanism.
func TestExceptionTreeIDs(t *testing.T) {
	tests := []struct {
		id       string
		want     int // -1: dropped
		wantNote bool
	}{
		{`0`, 0, false},
		{`7`, 7, false},
		{`-1`, -1, true},
		{`1.5`, -1, true},
		{`1e3`, -1, true},
		{`99999999999`, -1, true},
		{`"3"`, -1, true},
		{`null`, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			in := `{"exception":{"values":[{"type":"TypeError","value":"a","mechanism":{"type":"chained","exception_id":` + tt.id +
				`,"parent_id":0,"is_exception_group":true,"source":"errors[0]"}}]}}`
			ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			m := ev.Exceptions[0].Mechanism
			got := -1
			if m.ExceptionID != nil {
				got = *m.ExceptionID
			}
			if got != tt.want || m.ParentID == nil || *m.ParentID != 0 || !m.IsExceptionGroup || m.Source != "errors[0]" || m.Type != "chained" {
				t.Errorf("mechanism %+v (exception_id %d), want exception_id %d", m, got, tt.want)
			}
			if noted := len(ev.Notes) > 0; noted != tt.wantNote {
				t.Errorf("notes %q", ev.Notes)
			}
		})
	}
}

// TestDecodeSentryTagRules sends hostile tags, each beside a good one,
// and checks Relay's rules: what is kept (keys' spaces made dashes, both
// ends trimmed), what is dropped rather than cut, and the note that names
// the dropped key and why.
func TestDecodeSentryTagRules(t *testing.T) {
	long := strings.Repeat("k", 300)
	for _, tt := range []struct {
		name     string
		key      string
		value    any
		want     []event.Tag // besides good=1
		note     string      // a note that must be left; "" for none
		envAfter string      // the event's environment afterwards
	}{
		{name: "plain", key: "team", value: "web", want: tagList("team", "web")},
		{name: "spaces in the key become dashes, ends trimmed", key: "  my tag ", value: " v\t", want: tagList("--my-tag-", "v")},
		{name: "key at the limit", key: long[:200], value: "v", want: tagList(long[:200], "v")},
		{name: "value at the limit, in characters", key: "k", value: strings.Repeat("é", 200), want: tagList("k", strings.Repeat("é", 200))},
		{name: "number and boolean values", key: "n", value: 1.5, want: tagList("n", "1.5")},
		{name: "empty key", key: "", value: "v", note: `"" (the key is empty)`},
		{name: "blank key", key: "\t", value: "v", note: `"" (the key is empty)`},
		{name: "300-character key", key: long, value: "v", note: "the key is longer than 200 characters"},
		{name: "newline in the key", key: "a\nb", value: "v", note: `"a\nb" (the key holds characters other than letters, digits and _.:-)`},
		{name: "control character in the key", key: "a\x1b[31mb", value: "v", note: "the key holds characters"},
		{name: "non-ASCII key", key: "clé", value: "v", note: "the key holds characters"},
		{name: "bidi control in the key", key: "a\u202eb", value: "v", note: "the key holds characters"},
		{name: "201-character value", key: "k", value: strings.Repeat("v", 201), note: `"k" (the value is longer than 200 characters)`},
		{name: "newline in the value", key: "k", value: "a\nb", note: `"k" (the value holds a line break or another control character)`},
		{name: "escape in the value", key: "k", value: "a\x1b[2Jb", note: "the value holds a line break"},
		{name: "empty value", key: "k", value: "  ", note: `"k" (the value is empty)`},
		{name: "object value", key: "k", value: map[string]any{"x": 1}, note: "the value is an object or a list"},
		{name: "null value: no tag, no note", key: "k", value: nil},
		{name: "sentry:user", key: "sentry:user", value: "ip:198.51.100.7", note: `"sentry:user" (the sentry: prefix is the server's)`},
		{name: "sentry:release", key: "sentry:release", value: "1.0", note: "the sentry: prefix is the server's"},
		{name: "reserved release", key: "release", value: "1.0", note: `"release" (Sentry sets this tag from the event's own field)`},
		{name: "reserved user", key: "user", value: "ada", note: "Sentry sets this tag"},
		{name: "reserved dist, filename, function", key: "function", value: "f", note: "Sentry sets this tag"},
		{name: "environment becomes the event's", key: "environment", value: "staging", envAfter: "staging"},
		{name: "a bad environment is dropped", key: "environment", value: "a\nb", note: "the value holds a line break"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pairs, err := json.Marshal([][]any{{tt.key, tt.value}, {"good", "1"}})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := testDecoder().decodeSentry([]byte(`{"tags":`+string(pairs)+`}`), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			want := append(tt.want, tagList("good", "1")...)
			if !reflect.DeepEqual(ev.Tags, want) {
				t.Errorf("tags %q, want %q", ev.Tags, want)
			}
			if tt.note == "" && len(ev.Notes) > 0 || tt.note != "" && !hasNote(ev, tt.note) {
				t.Errorf("notes %q, want one with %q", ev.Notes, tt.note)
			}
			if ev.Environment != tt.envAfter {
				t.Errorf("environment %q, want %q", ev.Environment, tt.envAfter)
			}
		})
	}
}

// TestDecodeSentryTagDuplicatesAndNote checks that the first tag of a key
// is kept, that a sent environment wins over the tag, and that the note
// lists five dropped keys and counts the rest.
func TestDecodeSentryTagDuplicatesAndNote(t *testing.T) {
	in := `{"environment":"production","tags":[["a","1"],["a","2"],["environment","staging"],["b c","3"],["b-c","4"],
		["x 1",""],["x2",""],["x3",""],["x4",""],["x5",""]]}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if want := tagList("a", "1", "b-c", "3"); !reflect.DeepEqual(ev.Tags, want) {
		t.Errorf("tags %q, want %q", ev.Tags, want)
	}
	if ev.Environment != "production" {
		t.Errorf("environment %q, want the event's own", ev.Environment)
	}
	want := `dropped 7 tags, as Sentry does: "a" (a tag of this key came before); "b-c" (a tag of this key came before); ` +
		`"x-1" (the value is empty); "x2" (the value is empty); "x3" (the value is empty); and 2 more`
	if !slices.Equal(ev.Notes, []string{want}) {
		t.Errorf("notes %q\nwant %q", ev.Notes, want)
	}
}

// TestSentryGoHostileTags sends hostile tags through sentry-go, in the
// shape it sends them (an object), and checks what is queued: Relay's
// rules, the event accepted, the note naming what was dropped.
func TestSentryGoHostileTags(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	dsn := strings.Replace(srv.URL, "http://", "http://"+testKey+"@", 1) + "/" + strconv.Itoa(testProject)
	client, err := sentry.NewClient(sentry.ClientOptions{Dsn: dsn, Transport: sentry.NewHTTPSyncTransport()})
	if err != nil {
		t.Fatal(err)
	}
	scope := sentry.NewScope()
	scope.SetTags(map[string]string{
		"team": "checkout", "": "empty", strings.Repeat("k", 300): "long", "has space": "dashed", "line\nbreak": "v",
		"bell\a": "v", "sentry:user": "ip:198.51.100.7", "release": "1.0", "value": "a\nb", "environment": "staging",
	})
	hub := sentry.NewHub(client, scope)
	if id := hub.CaptureException(errors.New("card declined")); id == nil {
		t.Fatal("sentry-go sent nothing")
	}
	evs := q.events(t)
	if len(evs) != 1 {
		t.Fatalf("queued %d events, want 1", len(evs))
	}
	ev := evs[0]
	got := map[string]string{}
	for _, tg := range ev.Tags {
		got[tg.Key] = tg.Value
	}
	if want := map[string]string{"team": "checkout", "has-space": "dashed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	if ev.Environment != "staging" {
		t.Errorf("environment %q: the environment tag should be the event's, sentry-go sending none", ev.Environment)
	}
	if !hasNote(&ev, "dropped 7 tags, as Sentry does") || !hasNote(&ev, `"" (the key is empty)`) {
		t.Errorf("notes %q", ev.Notes)
	}
}
