package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

func TestStageOrder(t *testing.T) {
	var names []string
	for _, s := range New(Config{Saver: &fakeSaver{}}).stages {
		names = append(names, s.name)
	}
	// Symbolication needs parsed frames and rewrites the files that code
	// contexts and in-app marking look at; scrubbing comes before anything
	// derived from the event's text (contexts derives from the scrubbed
	// User-Agent), and saving comes last. Inbound filters read the frames
	// as sent (as Relay does) and spare dropped events the rest.
	want := []string{"decode", "parse stacks", "filter", "symbolicate", "code contexts", "in-app", "lambda tags", "scrub", "contexts", "group", "save"}
	if !slices.Equal(names, want) {
		t.Errorf("stages %q, want %q", names, want)
	}
}

func TestNewNeedsSaver(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "Saver") {
			t.Errorf("New without a Saver: recovered %v, want a panic naming Config.Saver", r)
		}
	}()
	New(Config{})
}

// runStage runs p's stage name alone on it.
func runStage(t *testing.T, p *Processor, name string, it *item) {
	t.Helper()
	for _, s := range p.stages {
		if s.name == name {
			s.run(context.Background(), &work{items: []*item{it}})
			return
		}
	}
	t.Fatalf("no stage %q", name)
}

func TestDecodeStage(t *testing.T) {
	tests := []struct {
		body      string
		wantErr   error
		wantLevel string
	}{
		{`{"event_id":"e1","project_id":3,"level":"warning"}`, nil, "warning"},
		{`{"event_id":"e1","project_id":3}`, nil, "error"},
		{`{"event_id":"e1","project_id":3,"level":"loud"}`, nil, "error"},
		{`not json`, ErrMalformed, ""},
		{`{}`, ErrMalformed, ""},
		{`{"event_id":"x"}`, ErrMalformed, ""},
		{`{"project_id":3}`, ErrMalformed, ""},
		{`{"event_id":"e1","project_id":-1}`, ErrMalformed, ""},
	}
	p := New(Config{Saver: &fakeSaver{}})
	for _, tt := range tests {
		it := &item{body: []byte(tt.body)}
		runStage(t, p, "decode", it)
		if !errors.Is(it.err, tt.wantErr) || (tt.wantErr == nil) != (it.err == nil) {
			t.Errorf("decode(%s) = %v, want %v", tt.body, it.err, tt.wantErr)
		}
		if it.err == nil && it.ev.Level != tt.wantLevel {
			t.Errorf("decode(%s): level %q, want %q", tt.body, it.ev.Level, tt.wantLevel)
		}
	}
}

func TestParseStacksStage(t *testing.T) {
	tests := []struct {
		name      string
		ex        event.Exception
		wantTitle string
		frames    int
	}{
		{"text stack", event.Exception{RawStack: "RangeError: Invalid array length\n    at grow (/srv/a.js:1:2)\n    at main (/srv/b.js:3:4)"},
			"RangeError: Invalid array length", 2},
		{"type and value kept", event.Exception{Type: "E", Value: "v", RawStack: "RangeError: x\n    at grow (/srv/a.js:1:2)"}, "E: v", 1},
		{"structured frames win", event.Exception{Type: "E", Frames: []event.Frame{{Function: "f"}}, RawStack: "X: y\n    at g (/a.js:1:1)\n    at h (/b.js:1:1)"},
			"E", 1},
	}
	for _, tt := range tests {
		ev := event.Event{Exceptions: []event.Exception{tt.ex}}
		parseStacks(&ev)
		if got := ev.Title(); got != tt.wantTitle || len(ev.Exceptions[0].Frames) != tt.frames {
			t.Errorf("%s: title %q with %d frames, want %q with %d", tt.name, got, len(ev.Exceptions[0].Frames), tt.wantTitle, tt.frames)
		}
	}
}

// fakeSymbolicator maps minified files to their sources.
type fakeSymbolicator struct {
	sources map[string]string
	err     error
}

func (f fakeSymbolicator) Symbolicate(_ context.Context, ev *event.Event) error {
	if f.err != nil {
		return f.err
	}
	for i := range ev.Exceptions {
		for j := range ev.Exceptions[i].Frames {
			fr := &ev.Exceptions[i].Frames[j]
			if src, ok := f.sources[fr.AbsPath]; ok {
				fr.AbsPath, fr.Filename = src, src
			}
		}
	}
	return nil
}

func TestSymbolicateStage(t *testing.T) {
	frames := func() []event.Frame {
		return []event.Frame{{AbsPath: "https://shop.example.com/assets/app.min.js", Filename: "https://shop.example.com/assets/app.min.js", Lineno: 1}}
	}
	tests := []struct {
		name     string
		sym      Symbolicator
		wantFile string
		wantErr  string
	}{
		{"no symbolicator: frames as sent", nil, "https://shop.example.com/assets/app.min.js", ""},
		{"rewritten", fakeSymbolicator{sources: map[string]string{"https://shop.example.com/assets/app.min.js": "webpack:///./src/cart.js"}}, "webpack:///./src/cart.js", ""},
		{"maps unreadable: retried", fakeSymbolicator{err: errors.New("s3: access denied")}, "", "s3: access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := &item{ev: event.Event{EventID: "e1", Exceptions: []event.Exception{{Type: "E", Frames: frames()}}}}
			runStage(t, New(Config{Saver: &fakeSaver{}, Symbolicator: tt.sym}), "symbolicate", it)
			if tt.wantErr != "" {
				if it.err == nil || !strings.Contains(it.err.Error(), tt.wantErr) || !strings.Contains(it.err.Error(), "e1") {
					t.Errorf("err = %v, want %q naming the event", it.err, tt.wantErr)
				}
				return
			}
			if it.err != nil || it.ev.Exceptions[0].Frames[0].AbsPath != tt.wantFile {
				t.Errorf("frame %+v, err %v; want file %s", it.ev.Exceptions[0].Frames[0], it.err, tt.wantFile)
			}
		})
	}
}

// Symbolication runs before code contexts: a Flytrap code context names
// the original file, which only the symbolicated frame has.
func TestSymbolicateBeforeCodeContexts(t *testing.T) {
	s := &fakeSaver{}
	sym := fakeSymbolicator{sources: map[string]string{"/app/dist/main.js": "/app/src/cart.js"}}
	ev := event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 1, Platform: "node", Exceptions: []event.Exception{{
		RawStack:     "Error: boom\n    at checkout (/app/dist/main.js:7:3)",
		CodeContexts: []event.CodeContext{{File: "/app/src/cart.js", Line: 7, Context: "line 7"}},
	}}}
	if _, err := processOne(context.Background(), New(Config{Saver: s, Symbolicator: sym}), body(t, ev)); err != nil {
		t.Fatal(err)
	}
	if f := s.reqs[0].Event.Exceptions[0].Frames[0]; f.AbsPath != "/app/src/cart.js" || f.ContextLine != "line 7" {
		t.Errorf("frame %+v: want the symbolicated file with its code context", f)
	}
}

func TestInAppStage(t *testing.T) {
	ev := event.Event{Platform: "node", Exceptions: []event.Exception{{Frames: []event.Frame{
		{AbsPath: "/app/node_modules/express/lib/router/layer.js"},
		{AbsPath: "/app/src/app.js"},
		{AbsPath: "/app/lib/x.js", InApp: new(false)},
	}}}}
	markInApp(&ev)
	var got []bool
	for _, f := range ev.Exceptions[0].Frames {
		if f.InApp == nil {
			t.Fatalf("frame %s left unmarked", f.AbsPath)
		}
		got = append(got, *f.InApp)
	}
	if want := []bool{false, true, false}; !slices.Equal(got, want) {
		t.Errorf("in_app %v, want %v (libraries out, the SDK's flag kept)", got, want)
	}
}

// TestInAppStageThreads: the other threads' frames are marked too, so the
// issue page tells the app's frames in them from the system's.
func TestInAppStageThreads(t *testing.T) {
	ev := event.Event{Platform: "cocoa", Threads: []event.Thread{{ID: "1", Frames: []event.Frame{
		{Function: "__workq_kernreturn", Package: "/usr/lib/system/libsystem_kernel.dylib", InstructionAddr: "0x1"},
		{Function: "Worker.run()", Package: "/var/containers/Bundle/Application/A/Shop.app/Shop", InstructionAddr: "0x2"},
	}}}}
	markInApp(&ev)
	fs := ev.Threads[0].Frames
	if fs[0].InApp == nil || *fs[0].InApp || fs[1].InApp == nil || !*fs[1].InApp {
		t.Errorf("thread frames %+v, want the system's out and the app's in", fs)
	}
}

// TestGroupStageIgnoresThreads: the other threads are context, not the
// error: whatever they hold, the event joins the same issue.
func TestGroupStageIgnoresThreads(t *testing.T) {
	ev := event.Event{EventID: "e1", ProjectID: 1, Platform: "java", Exceptions: []event.Exception{{Type: "IllegalStateException", Value: "stuck",
		Frames: []event.Frame{{Module: "com.example.Worker", Function: "run", InApp: new(true)}}}}}
	var hashes []string
	for _, threads := range [][]event.Thread{nil,
		{{ID: "1", Name: "main", Frames: []event.Frame{{Module: "com.example.Cart", Function: "lock", InApp: new(true)}}}},
		{{ID: "2", Name: "pool-1", Frames: []event.Frame{{Module: "com.example.Pool", Function: "take", InApp: new(true)}}}, {ID: "3"}},
	} {
		ev.Threads = threads
		it := &item{ev: ev}
		runStage(t, New(Config{Saver: &fakeSaver{}}), "group", it)
		hashes = append(hashes, it.req.Fingerprint)
	}
	if hashes[0] != hashes[1] || hashes[0] != hashes[2] {
		t.Errorf("threads changed the fingerprint: %q", hashes)
	}
}

func TestGroupStage(t *testing.T) {
	ev := event.Event{EventID: "e1", ProjectID: 1, Platform: "javascript", User: &event.User{Email: "Ann@Example.com"},
		Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined", Frames: []event.Frame{
			{Filename: "http://localhost:5173/src/app.js", Function: "handleClick", InApp: new(true)}}}}}
	it := &item{ev: ev}
	runStage(t, New(Config{Saver: &fakeSaver{}}), "group", it)
	r := it.req
	if it.err != nil || r.Event != &it.ev || r.Fingerprint == "" || r.GroupingVersion == "" || r.Title != "TypeError: x is undefined" ||
		r.Culprit != "/src/app.js in handleClick" || r.UserKey != "email:ann@example.com" {
		t.Errorf("request %+v, err %v", r, it.err)
	}
}

// QA #9: sentry-go's errors.Join sends a two-line value; the issue is
// titled by its first line, and the event keeps both.
func TestGroupStageTitlesByFirstLine(t *testing.T) {
	value := "first problem\nsecond problem"
	it := &item{ev: event.Event{EventID: "e1", ProjectID: 1, Platform: "go",
		Exceptions: []event.Exception{{Type: "*errors.joinError", Value: value}}}}
	runStage(t, New(Config{Saver: &fakeSaver{}}), "group", it)
	if it.err != nil || it.req.Title != "*errors.joinError: first problem" || it.req.Event.Exceptions[0].Value != value {
		t.Errorf("title %q, value %q, err %v", it.req.Title, it.req.Event.Exceptions[0].Value, it.err)
	}
}

// QA #3: log messages sent as a template and params (sentry-python's
// logging integration) are titled filled in, and grouped by the template,
// so every order and user that is not found is one issue.
func TestGroupStageLogMessagesByTemplate(t *testing.T) {
	var fps, titles []string
	for i, p := range [][2]string{{"A-17", "bob"}, {"B-99", "alice"}} {
		it := &item{ev: event.Event{EventID: fmt.Sprint("e", i), ProjectID: 1, Platform: "python",
			Message:          "Order %s not found for user %s",
			MessageFormatted: "Order " + p[0] + " not found for user " + p[1],
			MessageParams:    json.RawMessage(`["` + p[0] + `","` + p[1] + `"]`)}}
		runStage(t, New(Config{Saver: &fakeSaver{}}), "group", it)
		fps, titles = append(fps, it.req.Fingerprint), append(titles, it.req.Title)
	}
	if fps[0] != fps[1] || titles[0] != "Order A-17 not found for user bob" || titles[1] != "Order B-99 not found for user alice" {
		t.Errorf("fingerprints %q, titles %q: want one issue, each event titled filled in", fps, titles)
	}
}

func TestScrubStage(t *testing.T) {
	it := &item{ev: acceptanceEvent("e1")}
	runStage(t, New(Config{Saver: &fakeSaver{}, Privacy: &fakePrivacy{s: store.PrivacySettings{Scrubbing: true, DropIPAddresses: true}}}), "scrub", it)
	if it.err != nil || strings.Contains(it.ev.Message, "4111") || it.ev.User.IPHash != "" || len(it.ev.Notes) != 1 {
		t.Errorf("scrubbed event: message %q, ip %q, notes %q, err %v", it.ev.Message, it.ev.User.IPHash, it.ev.Notes, it.err)
	}
}

// A batch is saved in one transaction; what cannot be processed fails
// alone, and a batch the store rejects is saved again event by event, so a
// poison event holds up nothing else.
func TestProcessBatch(t *testing.T) {
	ev := func(id string) []byte {
		return body(t, event.Event{EventID: id, ProjectID: 1, Exceptions: []event.Exception{{Type: "E", Value: id}}})
	}
	a, b, c := strings.Repeat("a", 32), strings.Repeat("b", 32), strings.Repeat("c", 32)
	tests := []struct {
		name        string
		bodies      [][]byte
		reject      string
		wantFailed  []int
		wantBatches [][]string
	}{
		{"all in one transaction", [][]byte{ev(a), ev(b), ev(c)}, "", nil, [][]string{{a, b, c}}},
		{"a malformed message fails alone", [][]byte{ev(a), []byte("garbage"), ev(c)}, "", []int{1}, [][]string{{a, c}}},
		{"a rejected batch is saved one by one", [][]byte{ev(a), ev(b), ev(c)}, b, []int{1}, [][]string{{a, b, c}, {a}, {b}, {c}}},
		{"a rejected batch of one is not saved again", [][]byte{ev(b)}, b, []int{0}, [][]string{{b}}},
		{"nothing to save", [][]byte{[]byte("{}")}, "", []int{0}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &fakeSaver{reject: tt.reject}
			out := New(Config{Saver: s}).ProcessBatch(context.Background(), tt.bodies)
			if len(out) != len(tt.bodies) {
				t.Fatalf("%d outcomes for %d messages", len(out), len(tt.bodies))
			}
			var failed []int
			for i, o := range out {
				if o.Err != nil {
					failed = append(failed, i)
					if o.Result != (store.SaveResult{}) {
						t.Errorf("failed message %d has a result %+v", i, o.Result)
					}
				} else if o.Result.IssueID == 0 {
					t.Errorf("message %d: no result", i)
				}
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("failed %v, want %v (%+v)", failed, tt.wantFailed, out)
			}
			if !slices.EqualFunc(s.batches, tt.wantBatches, slices.Equal) {
				t.Errorf("saved batches %v, want %v", s.batches, tt.wantBatches)
			}
		})
	}
}

// TestInAppStageJSRuntimeFrames: @sentry/browser flags every frame in-app,
// V8's <anonymous> (JSON.parse) and webpack's bootstrap included; the
// in-app stage makes them library code, so the app frame that called
// JSON.parse is the culprit, and they take no part in grouping. That
// changes the hash of such events against the SDK's flags kept, as before
// (the grouping version that carries this rule says so).
func TestInAppStageJSRuntimeFrames(t *testing.T) {
	newEvent := func() event.Event {
		return event.Event{EventID: "e1", ProjectID: 1, Platform: "javascript",
			Exceptions: []event.Exception{{Type: "SyntaxError", Value: "Unexpected token", Frames: []event.Frame{
				{AbsPath: "webpack://shop/webpack/bootstrap", Filename: "webpack/bootstrap", Function: "__webpack_require__", Lineno: 19, InApp: new(true)},
				{AbsPath: `webpack://shop/external "react"`, Filename: `external "react"`, Function: "Object.react", Lineno: 1, InApp: new(true)},
				{AbsPath: "webpack://shop/./src/cart.js", Filename: "src/cart.js", Function: "loadCart", Lineno: 12, InApp: new(true)},
				{Filename: "<anonymous>", Function: "JSON.parse", InApp: new(true)},
			}}}}
	}
	p := New(Config{Saver: &fakeSaver{}})
	it := &item{ev: newEvent()}
	runStage(t, p, "in-app", it)
	runStage(t, p, "group", it)
	var got []bool
	for _, f := range it.ev.Exceptions[0].Frames {
		got = append(got, *f.InApp)
	}
	if want := []bool{false, false, true, false}; !slices.Equal(got, want) {
		t.Errorf("in_app %v, want %v", got, want)
	}
	if it.req.Culprit != "src/cart.js in loadCart" {
		t.Errorf("culprit %q, want the app frame that called JSON.parse", it.req.Culprit)
	}
	// The same event grouped with the SDK's flags, as the in-app stage
	// kept them before: another hash.
	before := &item{ev: newEvent()}
	runStage(t, p, "group", before)
	if before.req.Fingerprint == it.req.Fingerprint {
		t.Errorf("hash %s unchanged: the runtime frames still take part", it.req.Fingerprint)
	}
	// Only the app frame counts now: an event whose runtime frames differ
	// (another bootstrap line, no JSON.parse) is the same issue.
	other := newEvent()
	other.Exceptions[0].Frames[0].Lineno = 27
	other.Exceptions[0].Frames = other.Exceptions[0].Frames[:3]
	it2 := &item{ev: other}
	runStage(t, p, "in-app", it2)
	runStage(t, p, "group", it2)
	if it2.req.Fingerprint != it.req.Fingerprint {
		t.Errorf("hashes %s and %s: runtime frames split the issue", it.req.Fingerprint, it2.req.Fingerprint)
	}
}
