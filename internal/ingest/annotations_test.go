package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/samples"
)

// TestDecodeSentryAnnotations: what an SDK's _meta says it did to the
// request's values is kept beside them; other interfaces' _meta, members
// Flytrap does not keep, and what is no annotation are not.
func TestDecodeSentryAnnotations(t *testing.T) {
	formdata, err := os.ReadFile(filepath.Join(samples.Dir(t), "python-formdata.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, in string
		want     []event.Annotation
	}{
		// sentry-python left out a file upload of a form.
		{"python-formdata.json", string(formdata), []event.Annotation{{Path: []string{"data", "bam"}, Rule: "!raw", Type: "x"}}},
		{"a body cut and one removed, in path order",
			`{"request":{"data":{"a":"xx…","b":""}},"_meta":{"request":{"data":{"b":{"":{"rem":[["!config","x"]]}},"a":{"":{"len":9000,"rem":[["!limit","x",2,3]]}}},` +
				`"cookies":{"":{"rem":[["!config","x"]]}}}}}`,
			[]event.Annotation{{Path: []string{"data", "a"}, Rule: "!limit", Type: "x", Len: 9000}, {Path: []string{"data", "b"}, Rule: "!config", Type: "x"}}},
		{"the whole body, and a legacy interface name",
			`{"sentry.interfaces.Http":{"url":"http://x/","data":""},"_meta":{"sentry.interfaces.Http":{"data":{"":{"rem":[["!config","x"]]}}}}}`,
			[]event.Annotation{{Path: []string{"data"}, Rule: "!config", Type: "x"}}},
		{"a header, nested list index, unknown type and bad len dropped",
			`{"request":{"url":"http://x/"},"_meta":{"request":{"headers":{"Authorization":{"":{"rem":[["@password:filter","q"]],"len":-3}}},"data":{"l":{"0":{"":{"len":"12"}}}}}}}`,
			[]event.Annotation{{Path: []string{"headers", "Authorization"}, Rule: "@password:filter"}}},
		{"nothing to say", `{"request":{"url":"http://x/"},"_meta":{"request":{"data":{"":{"err":["invalid_data"]}}}}}`, nil},
		{"not an object", `{"request":{"url":"http://x/"},"_meta":[1,2]}`, nil},
		{"no request", `{"_meta":{"request":{"data":{"":{"rem":[["!raw","x"]]}}}}}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := testDecoder().decodeSentry([]byte(tt.in), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			var got []event.Annotation
			if ev.Request != nil {
				got = ev.Request.Annotations
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("annotations %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecodeSentryAnnotationBounds: a hostile _meta keeps at most
// maxAnnotations, each path at most maxAnnotationPath keys of bounded
// length, with a note of the rest.
func TestDecodeSentryAnnotationBounds(t *testing.T) {
	var fields []string
	for i := range maxAnnotations + 5 {
		fields = append(fields, fmt.Sprintf(`"f%03d":{"":{"rem":[["!raw","x"]]}}`, i))
	}
	deep := `{"":{"rem":[["!raw","x"]]}}`
	for range maxAnnotationPath + 3 {
		deep = `{"` + strings.Repeat("k", 100) + `":` + deep + `}`
	}
	in := `{"request":{"url":"http://x/"},"_meta":{"request":{"data":{` + strings.Join(fields, ",") + `},"headers":` + deep + `}}}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	anns := ev.Request.Annotations
	if len(anns) != maxAnnotations || anns[0].Path[1] != "f000" {
		t.Fatalf("%d annotations, first %+v; want %d from f000", len(anns), anns[0], maxAnnotations)
	}
	for _, a := range anns {
		if len(a.Path) > maxAnnotationPath {
			t.Errorf("path of %d keys: %q", len(a.Path), a.Path)
		}
	}
	if !hasNote(ev, "kept the SDK's first 50 _meta annotations of the request, not 5 more") {
		t.Errorf("notes %q", ev.Notes)
	}
}

// TestDecodeSentryExceptionAnnotations: notes on an exception's type,
// value and frames go with the exception, each frame's under the index
// the frame was kept at; notes on a frame or exception not kept are
// dropped with it.
func TestDecodeSentryExceptionAnnotations(t *testing.T) {
	pii, err := os.ReadFile(filepath.Join(samples.Dir(t), "pii.json"))
	if err != nil {
		t.Fatal(err)
	}
	userpath := func(i string) event.Annotation {
		return event.Annotation{Path: []string{"frames", i, "abs_path"}, Rule: "@userpath:replace", Type: "s", Len: 40}
	}
	rem := func(rule string) string { return `{"":{"rem":[["` + rule + `","x"]]}}` }
	// Past maxFrames the middle is cut: the note on the first frame cut
	// goes with it, the one on the last frame sent follows it to the end.
	var long []string
	for i := range maxFrames + 2 {
		long = append(long, fmt.Sprintf(`{"function":"f%d"}`, i))
	}
	cut := fmt.Sprintf(`{"exception":{"values":[{"type":"E","stacktrace":{"frames":[%s]}}]},"_meta":{"exception":{"values":{"0":{"stacktrace":{"frames":{"%d":{"function":%s},"%d":{"function":%s}}}}}}}}`,
		strings.Join(long, ","), maxFrames/2, rem("cut"), maxFrames+1, rem("last"))
	for _, tt := range []struct {
		name, in string
		want     [][]event.Annotation // per exception kept
	}{
		{"pii.json", string(pii), [][]event.Annotation{{
			{Path: []string{"value"}, Rule: "device_id", Type: "p", Len: 30},
			userpath("0"), userpath("1"), userpath("2"), userpath("3"),
		}}},
		{"a frame without location skipped, vars and type",
			`{"exception":{"values":[{"type":"E","stacktrace":{"frames":[{"function":"a"},{},{"function":"c","vars":{"x":"[Filtered]"}}]}}]},` +
				`"_meta":{"exception":{"values":{"0":{"type":` + rem("!limit") + `,"module":` + rem("!raw") + `,"stacktrace":{"frames":{"0":{"function":` + rem("a") + `,"lineno":` + rem("no") + `},` +
				`"1":{"function":` + rem("gone") + `},"2":{"vars":{"x":{"":{"rem":[["@password","s"]]}}}}}}}}}}}`,
			[][]event.Annotation{{
				{Path: []string{"type"}, Rule: "!limit", Type: "x"},
				{Path: []string{"frames", "0", "function"}, Rule: "a", Type: "x"},
				{Path: []string{"frames", "1", "vars", "x"}, Rule: "@password", Type: "s"},
			}}},
		{"frames cut from the middle", cut, [][]event.Annotation{{
			{Path: []string{"frames", fmt.Sprint(maxFrames - 1), "function"}, Rule: "last", Type: "x"},
		}}},
		{"a null exception skipped",
			`{"exception":{"values":[null,{"type":"A"},{"type":"B","value":"v"}]},"_meta":{"exception":{"values":{"0":{"value":` + rem("gone") + `},"2":{"value":` + rem("b") + `}}}}}`,
			[][]event.Annotation{nil, {{Path: []string{"value"}, Rule: "b", Type: "x"}}}},
		{"a single exception object", `{"exception":{"type":"E","value":"v"},"_meta":{"exception":{"value":` + rem("one") + `}}}`,
			[][]event.Annotation{{{Path: []string{"value"}, Rule: "one", Type: "x"}}}},
		{"a bare list", `{"exception":[{"type":"E","value":"v"}],"_meta":{"exception":{"0":{"value":` + rem("bare") + `}}}}`,
			[][]event.Annotation{{{Path: []string{"value"}, Rule: "bare", Type: "x"}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := testDecoder().decodeSentry([]byte(tt.in), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			var got [][]event.Annotation
			for _, ex := range ev.Exceptions {
				got = append(got, ex.Annotations)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("annotations %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecodeSentryUserAnnotations: notes on the user's values are kept
// with it, but not one on its IP address, which is kept only hashed.
func TestDecodeSentryUserAnnotations(t *testing.T) {
	ev, err := testDecoder().decodeSentry([]byte(`{"user":{"email":"[email]","ip_address":"10.0.0.1","data":{"k":""}},`+
		`"_meta":{"user":{"email":{"":{"len":17,"rem":[["@email","s"]]}},"ip_address":{"":{"rem":[["@ip","s"]]}},"data":{"k":{"":{"rem":[["!raw","x"]]}}}}}}`),
		testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	want := []event.Annotation{
		{Path: []string{"data", "k"}, Rule: "!raw", Type: "x"},
		{Path: []string{"email"}, Rule: "@email", Type: "s", Len: 17},
	}
	if got := ev.User.Annotations; !reflect.DeepEqual(got, want) {
		t.Errorf("annotations %+v, want %+v", got, want)
	}
}

// annotatedStack returns a "stacktrace" member of n frames, and the _meta
// of that stack with a note on each frame's function.
func annotatedStack(n int) (stack, meta string) {
	var frames, metas []string
	for i := range n {
		frames = append(frames, fmt.Sprintf(`{"function":"f%d"}`, i))
		metas = append(metas, fmt.Sprintf(`"%d":{"function":{"":{"rem":[["r","x"]]}}}`, i))
	}
	return `"stacktrace":{"frames":[` + strings.Join(frames, ",") + `]}`,
		`{"stacktrace":{"frames":{` + strings.Join(metas, ",") + `}}}`
}

// TestDecodeSentryExceptionAnnotationBounds: a chain's exceptions share
// one bound, and a note says how many more there were.
func TestDecodeSentryExceptionAnnotationBounds(t *testing.T) {
	st, fm := annotatedStack(maxAnnotations + 10)
	in := `{"exception":{"values":[{"type":"A",` + st + `},{"type":"B",` + st + `}]},"_meta":{"exception":{"values":{"0":` + fm + `,"1":` + fm + `}}}}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := len(ev.Exceptions[0].Annotations), len(ev.Exceptions[1].Annotations); a != maxAnnotations || b != 0 {
		t.Errorf("%d and %d annotations, want %d and 0", a, b, maxAnnotations)
	}
	if !hasNote(ev, "kept the SDK's first 50 _meta annotations of the exceptions, not 70 more") {
		t.Errorf("notes %q", ev.Notes)
	}
}

// TestDecodeSentryEventAnnotations: notes on extra, contexts and
// breadcrumbs are kept beside the event, a breadcrumb's under the index it
// was kept at; an event whose _meta says nothing of them has none.
func TestDecodeSentryEventAnnotations(t *testing.T) {
	rem := func(rule string) string { return `{"":{"rem":[["` + rule + `","x"]]}}` }
	var crumbs []string
	for i := range maxBreadcrumbs + 1 {
		crumbs = append(crumbs, fmt.Sprintf(`{"message":"m%d"}`, i))
	}
	for _, tt := range []struct {
		name, in string
		want     *event.Annotations
	}{
		{"extra and contexts", `{"extra":{"big":"…","n":{"k":""}},"contexts":{"os":{"name":""}},` +
			`"_meta":{"extra":{"big":{"":{"len":90000,"rem":[["!limit","x"]]}},"n":{"k":` + rem("@password") + `}},"contexts":{"os":{"name":` + rem("!raw") + `}}}}`,
			&event.Annotations{
				Extra: []event.Annotation{
					{Path: []string{"big"}, Rule: "!limit", Type: "x", Len: 90000},
					{Path: []string{"n", "k"}, Rule: "@password", Type: "x"},
				},
				Contexts: []event.Annotation{{Path: []string{"os", "name"}, Rule: "!raw", Type: "x"}},
			}},
		{"a breadcrumb skipped, message and data", `{"breadcrumbs":{"values":[null,{"message":"","data":{"q":""}},{"category":"c"}]},` +
			`"_meta":{"breadcrumbs":{"values":{"0":{"message":` + rem("gone") + `},"1":{"message":` + rem("m") + `,"data":{"q":` + rem("d") + `},"category":` + rem("no") + `}}}}}`,
			&event.Annotations{Breadcrumbs: []event.Annotation{
				{Path: []string{"0", "data", "q"}, Rule: "d", Type: "x"},
				{Path: []string{"0", "message"}, Rule: "m", Type: "x"},
			}}},
		{"breadcrumbs past the bound, as a bare list", `{"breadcrumbs":[` + strings.Join(crumbs, ",") + `],` +
			`"_meta":{"breadcrumbs":{"0":{"message":` + rem("dropped") + `},"1":{"message":` + rem("first") + `}}}}`,
			&event.Annotations{Breadcrumbs: []event.Annotation{{Path: []string{"0", "message"}, Rule: "first", Type: "x"}}}},
		{"tags, a dropped one's note with it", `{"tags":{"a":"[ip]","sentry:user":"x","b":"v"},"_meta":{"tags":{"a":` + rem("@ip") + `,"sentry:user":` + rem("no") + `}}}`,
			&event.Annotations{Tags: []event.Annotation{{Path: []string{"a"}, Rule: "@ip", Type: "x"}}}},
		{"tags as pairs", `{"tags":[["a","1"],["b","…"]],"_meta":{"tags":{"1":{"1":` + rem("!raw") + `,"0":` + rem("key") + `}}}}`,
			&event.Annotations{Tags: []event.Annotation{{Path: []string{"b"}, Rule: "!raw", Type: "x"}}}},
		{"nothing said", `{"extra":{"a":1},"_meta":{"extra":{"a":{"":{"err":["x"]}}},"tags":` + rem("no") + `}}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := testDecoder().decodeSentry([]byte(tt.in), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ev.Annotations, tt.want) {
				t.Errorf("annotations %+v, want %+v", ev.Annotations, tt.want)
			}
		})
	}
}

// TestDecodeSentryStackAnnotations: notes on the frames of the top-level
// stacktrace and of threads go with the frames wherever they went: the
// exception ingest makes of a message's stack, the exception a thread's
// frames went to, or a thread kept beside the exceptions, each frame's
// under the index it was kept at.
func TestDecodeSentryStackAnnotations(t *testing.T) {
	// sentry-python cuts a long local variable and says so in _meta; with
	// attach_stacktrace its message event carries the stack as the
	// current thread, {"values": [...]}.
	limit := func(n int) string { return fmt.Sprintf(`{"":{"len":%d,"rem":[["!limit","x",509,512]]}}`, n) }
	frames := `[{"function":"<module>","module":"__main__","filename":"job.py","lineno":40},` +
		`{},{"function":"run","module":"jobs","filename":"jobs.py","lineno":12,"vars":{"x":"aaaa...","y":"1"}}]`
	vars := func(i int) string {
		return fmt.Sprintf(`{"frames":{"%d":{"vars":{"x":%s}},"1":{"vars":{"x":%s}}}}`, i, limit(1532), limit(9))
	}
	varNote := func(i string) event.Annotation {
		return event.Annotation{Path: []string{"frames", i, "vars", "x"}, Rule: "!limit", Type: "x", Len: 1532}
	}
	for _, tt := range []struct {
		name, in   string
		exceptions [][]event.Annotation // per exception kept
		threads    [][]event.Annotation // per other thread kept
	}{
		{"sentry-python message with attach_stacktrace: the current thread",
			`{"message":"job failed","platform":"python","threads":{"values":[{"stacktrace":{"frames":` + frames + `},"crashed":false,"current":true}]},` +
				`"_meta":{"threads":{"values":{"0":{"stacktrace":` + vars(2) + `}}}}}`,
			[][]event.Annotation{{varNote("1")}}, nil},
		{"a bare thread list (sentry-go)",
			`{"message":"m","threads":[{"stacktrace":{"frames":` + frames + `},"current":true}],"_meta":{"threads":{"0":{"stacktrace":` + vars(2) + `}}}}`,
			[][]event.Annotation{{varNote("1")}}, nil},
		{"the top-level stacktrace of a message",
			`{"message":"m","stacktrace":{"frames":` + frames + `},"_meta":{"stacktrace":` + vars(2) + `}}`,
			[][]event.Annotation{{varNote("1")}}, nil},
		{"the top-level stacktrace given to an exception without frames, beside its own notes",
			`{"exception":{"values":[{"type":"E","value":"v"}]},"stacktrace":{"frames":` + frames + `},` +
				`"_meta":{"exception":{"values":{"0":{"value":{"":{"rem":[["@password","s"]]}}}}},"stacktrace":` + vars(0) + `}}`,
			[][]event.Annotation{{{Path: []string{"value"}, Rule: "@password", Type: "s"}, varNote("0")}}, nil},
		{"a thread named by thread_id, and another kept",
			`{"exception":{"values":[{"type":"E","thread_id":7}]},"threads":{"values":[` +
				`{"id":3,"name":"worker","stacktrace":{"frames":` + frames + `}},{"id":7,"crashed":true,"stacktrace":{"frames":` + frames + `}}]},` +
				`"_meta":{"threads":{"values":{"0":{"stacktrace":` + vars(0) + `},"1":{"stacktrace":` + vars(2) + `}}}}}`,
			[][]event.Annotation{{varNote("1")}}, [][]event.Annotation{{varNote("0")}}},
		{"no _meta", `{"message":"m","threads":{"values":[{"id":1,"stacktrace":{"frames":` + frames + `}},{"id":2,"current":true,"stacktrace":{"frames":` + frames + `}}]}}`,
			[][]event.Annotation{nil}, [][]event.Annotation{nil}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := testDecoder().decodeSentry([]byte(tt.in), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			var exs, ths [][]event.Annotation
			for _, ex := range ev.Exceptions {
				exs = append(exs, ex.Annotations)
			}
			for _, th := range ev.Threads {
				ths = append(ths, th.Annotations)
			}
			if !reflect.DeepEqual(exs, tt.exceptions) {
				t.Errorf("exceptions' annotations %+v, want %+v", exs, tt.exceptions)
			}
			if !reflect.DeepEqual(ths, tt.threads) {
				t.Errorf("threads' annotations %+v, want %+v", ths, tt.threads)
			}
		})
	}
}

// TestDecodeSentryThreadAnnotationBounds: the threads share one bound,
// whichever exception or thread their frames went to, and the top-level
// stacktrace has its own; a note says how many more there were.
func TestDecodeSentryThreadAnnotationBounds(t *testing.T) {
	st, fm := annotatedStack(maxAnnotations + 10)
	in := `{"message":"m","threads":{"values":[{"id":1,"current":true,` + st + `},{"id":2,` + st + `}]},` +
		`"_meta":{"threads":{"values":{"0":` + fm + `,"1":` + fm + `}}}}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Exceptions) != 1 || len(ev.Threads) != 1 {
		t.Fatalf("%d exceptions and %d threads, want 1 and 1", len(ev.Exceptions), len(ev.Threads))
	}
	if a, b := len(ev.Exceptions[0].Annotations), len(ev.Threads[0].Annotations); a != maxAnnotations || b != 0 {
		t.Errorf("%d and %d annotations, want %d and 0", a, b, maxAnnotations)
	}
	if !hasNote(ev, "kept the SDK's first 50 _meta annotations of the threads, not 70 more") {
		t.Errorf("notes %q", ev.Notes)
	}
	in = `{"message":"m",` + st + `,"_meta":{"stacktrace":` + fm[len(`{"stacktrace":`):len(fm)-1] + `}}`
	if ev, err = testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{}); err != nil {
		t.Fatal(err)
	}
	if a := len(ev.Exceptions[0].Annotations); a != maxAnnotations {
		t.Errorf("%d annotations, want %d", a, maxAnnotations)
	}
	if !hasNote(ev, "kept the SDK's first 50 _meta annotations of the stacktrace, not 10 more") {
		t.Errorf("notes %q", ev.Notes)
	}
}
