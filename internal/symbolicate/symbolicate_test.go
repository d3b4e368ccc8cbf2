package symbolicate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/stacktrace"
)

// The fixtures are two esbuild builds of testdata/src (testdata/gen.sh):
// build A an IIFE served as app.min.js, build B an ES module with a banner
// served as bundle.min.js, with the stacks Node printed from each.
const (
	urlA = "https://shop.example.com/static/js/app.min.js"
	urlB = "https://shop.example.com/assets/bundle.min.js"
	// debugIDA is the debug ID the Sentry-format tests give build A.
	debugIDA = "c0ffee00-1111-4222-8333-444455556666"
)

// fakeMaps is an artifact store: maps by debug ID, else by abs_path. It
// records every query.
type fakeMaps struct {
	mu        sync.Mutex
	byDebugID map[string]artifact.Map
	byPath    map[string]artifact.Map
	// sources are the minified files by blob (artifact.Map.Minified).
	sources map[string][]byte
	err     error
	queries []artifact.Query
}

func (f *fakeMaps) Source(_ context.Context, minified string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if body, ok := f.sources[minified]; ok {
		return body, nil
	}
	return nil, fmt.Errorf("%s: %w", minified, artifact.ErrBlobNotFound)
}

func (f *fakeMaps) Find(_ context.Context, q artifact.Query) (artifact.Map, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries = append(f.queries, q)
	if f.err != nil {
		return artifact.Map{}, f.err
	}
	if m, ok := f.byDebugID[q.DebugID]; ok && q.DebugID != "" {
		return m, nil
	}
	if m, ok := f.byPath[q.AbsPath]; ok {
		return m, nil
	}
	return artifact.Map{}, artifact.ErrNotFound
}

func (f *fakeMaps) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries)
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mapA(t testing.TB) artifact.Map {
	return artifact.Map{Key: "sha-a", File: "~/static/js/app.min.js", Body: readFile(t, "testdata/build-a/app.min.js.map")}
}

func mapB(t testing.TB) artifact.Map {
	return artifact.Map{Key: "sha-b", File: "~/assets/bundle.min.js", Body: readFile(t, "testdata/build-b/bundle.min.js.map")}
}

// stackEvent is a Flytrap-format event of a fixture stack, parsed as the
// processor's parse-stacks stage does.
func stackEvent(t testing.TB, stackFile string) event.Event {
	text := string(readFile(t, stackFile))
	typ, value := stacktrace.ParseTitle(text)
	return event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 7, Release: "shop@1.0", Platform: "javascript",
		Exceptions: []event.Exception{{Type: typ, Value: value, RawStack: text, Frames: stacktrace.Parse(text)}}}
}

// frameSummary is what a test checks of a frame.
type frameSummary struct {
	Function, Filename string
	Line, Col          int
	ContextLine        string
	Unmapped           string
}

func summarize(frames []event.Frame) []frameSummary {
	var out []frameSummary
	for _, f := range frames {
		out = append(out, frameSummary{f.Function, f.Filename, f.Lineno, f.Colno, strings.TrimSpace(f.ContextLine), f.Unmapped})
	}
	return out
}

// lastN is the innermost n frames, most recent call first.
func lastN(frames []event.Frame, n int) []event.Frame {
	out := slices.Clone(frames[len(frames)-n:])
	slices.Reverse(out)
	return out
}

// wantBundleFrames are the original frames of the fixture's error, most
// recent call first, symbolicated with the map alone. run keeps its
// minified name: nothing mapped calls it.
var wantBundleFrames = []frameSummary{
	{"lineTotal", "src/cart.js", 4, 11, `throw new RangeError("negative quantity for " + item.sku);`, ""},
	{"cartTotal", "src/cart.js", 12, 14, "total += lineTotal(item);", ""},
	{"checkout", "src/checkout.js", 5, 17, "const total = cartTotal(items);", ""},
	{"a", "src/main.js", 7, 5, `checkout([{ sku: "apple", price: 1.5, quantity: 2 }, { sku: "pear", price: 2, quantity: -1 }], "EUR");`, ""},
}

// wantNamedFrames are wantBundleFrames symbolicated with the minified
// file uploaded beside its map: run is named by its declaration there.
var wantNamedFrames = append(wantBundleFrames[:3:3], frameSummary{"run", "src/main.js", 7, 5,
	`checkout([{ sku: "apple", price: 1.5, quantity: 2 }, { sku: "pear", price: 2, quantity: -1 }], "EUR");`, ""})

func TestFlytrapTextStack(t *testing.T) {
	for _, tt := range []struct {
		name, stack string
		maps        *fakeMaps
		path        string // the innermost frame's, ../src/cart.js resolved against the map's URL
	}{
		{"build A by abs_path", "testdata/build-a/stack.txt", &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}}, "https://shop.example.com/static/src/cart.js"},
		{"build B by abs_path", "testdata/build-b/stack.txt", &fakeMaps{byPath: map[string]artifact.Map{urlB: mapB(t)}}, "https://shop.example.com/src/cart.js"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := stackEvent(t, tt.stack)
			sent := slices.Clone(ev.Exceptions[0].Frames)
			if err := New(Config{Maps: tt.maps}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			ex := ev.Exceptions[0]
			if got := summarize(lastN(ex.Frames, 4)); !reflect.DeepEqual(got, wantBundleFrames) {
				t.Errorf("frames\n got %+v\nwant %+v", got, wantBundleFrames)
			}
			if !reflect.DeepEqual(ex.RawFrames, sent) {
				t.Errorf("raw frames %+v, want the frames as parsed %+v", ex.RawFrames, sent)
			}
			// Node's own frames and the eval'd caller are no map's.
			if n := len(sent) - 4; !reflect.DeepEqual(ex.Frames[:n], sent[:n]) {
				t.Errorf("frames outside the bundle changed: %+v, want %+v", ex.Frames[:n], sent[:n])
			}
			top := lastN(ex.Frames, 1)[0]
			if len(top.PreContext) != 3 || len(top.PostContext) != 5 || top.AbsPath != tt.path {
				t.Errorf("innermost frame: %d lines before, %d after, abs_path %q; want 3, 5, %s", len(top.PreContext), len(top.PostContext), top.AbsPath, tt.path)
			}
			if len(ev.Notes) != 0 {
				t.Errorf("notes %q, want none", ev.Notes)
			}
		})
	}
}

// sentryEvent is build A's error as the Sentry browser SDK reports it:
// structured frames, oldest first, with the debug ID ingest took from
// debug_meta on each.
func sentryEvent(t testing.TB) event.Event {
	ev := stackEvent(t, "testdata/build-a/stack.txt")
	frames := ev.Exceptions[0].Frames
	frames = slices.Clone(frames[len(frames)-4:])
	for i := range frames {
		frames[i].DebugID = debugIDA
		frames[i].Module = "app.min"
	}
	ev.Exceptions[0].RawStack, ev.Exceptions[0].Frames = "", frames
	ev.Dist = "web"
	return ev
}

func TestSentryFramesByDebugID(t *testing.T) {
	maps := &fakeMaps{byDebugID: map[string]artifact.Map{debugIDA: mapA(t)}}
	ev := sentryEvent(t)
	if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	frames := ev.Exceptions[0].Frames
	if got := summarize(lastN(frames, 4)); !reflect.DeepEqual(got, wantBundleFrames) {
		t.Errorf("frames\n got %+v\nwant %+v", got, wantBundleFrames)
	}
	for _, f := range frames {
		if f.Module != "" || f.DebugID != "" {
			t.Errorf("frame %s keeps the minified file's module %q or debug ID %q", f.Function, f.Module, f.DebugID)
		}
	}
	for _, f := range ev.Exceptions[0].RawFrames {
		if f.DebugID != debugIDA || f.Module != "app.min" {
			t.Errorf("raw frame %+v lost what the SDK sent", f)
		}
	}
	want := artifact.Query{ProjectID: 7, DebugID: debugIDA, Release: "shop@1.0", Dist: "web", AbsPath: urlA}
	if len(maps.queries) != 1 || maps.queries[0] != want {
		t.Errorf("queries %+v, want one %+v (one per file per event)", maps.queries, want)
	}
}

// oneFrame is an event with one frame of build A at line:col.
func oneFrame(line, col int) event.Event {
	return event.Event{EventID: "e1", ProjectID: 7, Exceptions: []event.Exception{{Type: "Error",
		Frames: []event.Frame{{AbsPath: urlA, Filename: urlA, Function: "u", Lineno: line, Colno: col}}}}}
}

func TestUnmappedReasons(t *testing.T) {
	withBody := func(body string) *fakeMaps {
		return &fakeMaps{byPath: map[string]artifact.Map{urlA: {Key: body, File: "~/static/js/app.min.js", Body: []byte(body)}}}
	}
	// mapping is a map of one source and one mapping segment.
	mapping := func(seg string) string {
		return `{"version":3,"sources":["a.js"],"names":[],"mappings":"` + seg + `"}`
	}
	tests := []struct {
		name       string
		maps       *fakeMaps
		line, col  int
		maxSize    int64
		want, note string
	}{
		{"no map", &fakeMaps{}, 1, 43, 0, event.UnmappedNoMap, "no source map uploaded for " + urlA},
		{"its debug ID's file uploaded without a map", &fakeMaps{err: &artifact.WithoutMapError{File: "~/run.js", DebugID: debugIDA}}, 1, 43, 0,
			event.UnmappedNoMap, "~/run.js, the file with debug ID " + debugIDA + ", was uploaded without a source map"},
		{"several maps match", &fakeMaps{err: &artifact.AmbiguousError{AbsPath: urlA, URLs: []string{"~/a/app.min.js", "~/b/app.min.js"}}}, 1, 1,
			0, event.UnmappedAmbiguous, "several uploaded files match " + urlA + " equally well (~/a/app.min.js, ~/b/app.min.js)"},
		{"map for another file", withBody(`{"version":3,"file":"vendor.min.js","sources":["v.js"],"names":[],"mappings":"AAAA"}`), 1, 1,
			0, event.UnmappedOtherFile, "made for vendor.min.js"},
		{"line past the map", &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}}, 99, 1, 0, event.UnmappedOutOfRange, "line 99, column 1"},
		{"huge line", &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}}, 1 << 40, 1, 0, event.UnmappedOutOfRange, "outside the source map"},
		{"huge column", &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}}, 1, 1 << 40, 0, event.UnmappedOutOfRange, "outside the source map"},
		{"not JSON", withBody(`{"version":3,`), 1, 1, 0, event.UnmappedBrokenMap, "cannot be used: unexpected end of JSON input"},
		{"another version", withBody(`{"version":4,"sources":["a.js"],"mappings":"AAAA"}`), 1, 1, 0, event.UnmappedBrokenMap, "version=4"},
		{"no mappings", withBody(`{"version":3,"sources":[]}`), 1, 1, 0, event.UnmappedBrokenMap, "mappings are empty"},
		{"bad VLQ", withBody(mapping("AAg")), 1, 1, 0, event.UnmappedBrokenMap, "EOF"},
		// The library reads them as 0: frames mapped to wrong places.
		{"characters outside VLQ", withBody(mapping("!!!!;@@")), 1, 1, 0, event.UnmappedBrokenMap,
			`malformed "mappings": '!' at offset 0 is not base64 VLQ`},
		{"section characters outside VLQ", withBody(`{"version":3,"sections":[{"offset":{"line":0,"column":0},"map":` + mapping("AAAA;é") + `}]}`),
			1, 1, 0, event.UnmappedBrokenMap, `section 0: malformed "mappings": 'é' at offset 5`},
		{"section without a map", withBody(`{"version":3,"sections":[{"offset":{"line":0,"column":0}}]}`), 1, 1, 0,
			event.UnmappedBrokenMap, "section 0 has no map"},
		{"nested index map", withBody(`{"version":3,"sections":[{"offset":{"line":0,"column":0},"map":{"version":3,"sections":[]}}]}`), 1, 1, 0,
			event.UnmappedBrokenMap, "section 0 is an index map itself"},
		// Refused as a whole before the library reads it (see
		// artifact.CheckMappings), not frame by frame.
		{"source index out of range", withBody(mapping("AKAA")), 1, 1, 0, event.UnmappedBrokenMap,
			`the segment at offset 0 points at source 5, but "sources" has 1 entry`},
		{"negative source index", withBody(mapping("ADAA")), 1, 1, 0, event.UnmappedBrokenMap,
			`the segment at offset 0 points at source -1, but "sources" has 1 entry`},
		{"too large", &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}}, 1, 43, 1024, event.UnmappedBrokenMap, "over the limit"},
		// The library allocates 24 bytes per separator before reading
		// one: refused before it does.
		{"separators only", withBody(mapping(strings.Repeat(";", 1<<20))), 1, 1, 8 << 20, event.UnmappedBrokenMap, "about 25.1 MB parsed, over the limit of 8.0 MB"},
		// Just over the limit: the message must not read "2 MB, over
		// the limit of 2 MB".
		{"just over the limit", withBody(mapping(strings.Repeat(";", 84_000))), 1, 1, 2<<20 + 1000, event.UnmappedBrokenMap,
			"about 2.1 MB parsed, over the limit of 2.0 MB"},
		{"escaped separators", withBody(mapping(strings.Repeat(`\u003b`, 100_000))), 1, 1, 2 << 20, event.UnmappedBrokenMap, "over the limit of 2.0 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := oneFrame(tt.line, tt.col)
			sent := ev.Exceptions[0].Frames[0]
			if err := New(Config{Maps: tt.maps, MaxMapSize: tt.maxSize}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			f := ev.Exceptions[0].Frames[0]
			sent.Unmapped = tt.want
			if !reflect.DeepEqual(f, sent) {
				t.Errorf("frame %+v, want it as sent with reason %q", f, tt.want)
			}
			if ev.Exceptions[0].RawFrames != nil {
				t.Errorf("raw frames kept although nothing was mapped")
			}
			if len(ev.Notes) != 1 || !strings.HasPrefix(ev.Notes[0], notePrefix) || !strings.Contains(ev.Notes[0], tt.note) {
				t.Errorf("notes %q, want one containing %q", ev.Notes, tt.note)
			}
		})
	}
}

// A map found by debug ID is the frame's whatever its "file" says.
func TestDebugIDWinsOverFileField(t *testing.T) {
	body := strings.Replace(string(mapA(t).Body), `"version": 3,`, `"version": 3, "file": "main.js",`, 1)
	maps := &fakeMaps{byDebugID: map[string]artifact.Map{debugIDA: {Key: "k", Body: []byte(body)}}}
	ev := sentryEvent(t)
	if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	if got := summarize(lastN(ev.Exceptions[0].Frames, 1)); got[0] != wantBundleFrames[0] {
		t.Errorf("frame %+v, want %+v", got[0], wantBundleFrames[0])
	}
}

// A Node server's own files are not minified: the SDK read their source,
// and their having no map is not reported, whether a Sentry SDK put it on
// the frame or a Flytrap SDK sent it as a code context.
func TestNoMapQuietForReadableSource(t *testing.T) {
	frame := event.Frame{AbsPath: "/srv/app/server.js", Function: "handle", Lineno: 10, Colno: 3}
	withLine := frame
	withLine.ContextLine = "  handle(req)"
	tests := []struct {
		name     string
		ex       event.Exception
		wantNote bool
	}{
		{"context line on the frame", event.Exception{Frames: []event.Frame{withLine}}, false},
		{"Flytrap code context", event.Exception{Frames: []event.Frame{frame},
			CodeContexts: []event.CodeContext{{File: "/srv/app/server.js", Line: 10, Context: "  handle(req)"}}}, false},
		// The getting-started curl: a Flytrap SDK sends the innermost
		// frame's source only, and the file is readable for every frame.
		{"code context of another frame of the file", event.Exception{Frames: []event.Frame{frame, {AbsPath: "/srv/app/server.js", Function: "example", Lineno: 42, Colno: 13}},
			CodeContexts: []event.CodeContext{{File: "/srv/app/server.js", Line: 42, Context: "  foo.bar"}}}, false},
		{"code context of another line", event.Exception{Frames: []event.Frame{frame},
			CodeContexts: []event.CodeContext{{File: "/srv/app/server.js", Line: 11, Context: "  next()"}}}, true},
		{"code context of another file", event.Exception{Frames: []event.Frame{frame},
			CodeContexts: []event.CodeContext{{File: "/srv/app/other.js", Line: 10, Context: "  x()"}}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event.Event{ProjectID: 7, Exceptions: []event.Exception{tt.ex}}
			if err := New(Config{Maps: &fakeMaps{}}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			f := ev.Exceptions[0].Frames[0]
			if noted := f.Unmapped == event.UnmappedNoMap && len(ev.Notes) == 1; noted != tt.wantNote || (!tt.wantNote && (f.Unmapped != "" || len(ev.Notes) != 0)) {
				t.Errorf("reason %q, notes %q; want a no_map note: %v", f.Unmapped, ev.Notes, tt.wantNote)
			}
		})
	}
}

func TestFindErrorIsRetried(t *testing.T) {
	ev := oneFrame(1, 43)
	err := New(Config{Maps: &fakeMaps{err: errors.New("s3: access denied")}}).Symbolicate(context.Background(), &ev)
	if err == nil || !strings.Contains(err.Error(), "s3: access denied") || !strings.Contains(err.Error(), urlA) {
		t.Errorf("err = %v, want the store's error naming the file", err)
	}
}

// Symbolicating a stored event again starts from its raw frames: the
// result is the same, and notes are replaced, not added.
func TestSymbolicateAgain(t *testing.T) {
	maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}}
	s := New(Config{Maps: maps})
	ev := stackEvent(t, "testdata/build-a/stack.txt")
	ev.Exceptions = append(ev.Exceptions, event.Exception{Type: "Error", Frames: []event.Frame{{AbsPath: "https://cdn.example.com/vendor.js", Lineno: 1, Colno: 5}}})
	ev.Notes = []string{"exception: omitted 3 frames"}
	if err := s.Symbolicate(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	first := clone(t, ev)
	if err := s.Resymbolicate(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, ev) {
		t.Errorf("second run changed the event:\n%+v\n%+v", first, ev)
	}
	if len(ev.Notes) != 2 || ev.Notes[0] != "exception: omitted 3 frames" {
		t.Errorf("notes %q, want the ingest note and one about vendor.js", ev.Notes)
	}
}

func clone(t *testing.T, ev event.Event) event.Event {
	t.Helper()
	c := ev
	c.Notes = slices.Clone(ev.Notes)
	c.Exceptions = nil
	for _, ex := range ev.Exceptions {
		ex.Frames, ex.RawFrames = slices.Clone(ex.Frames), slices.Clone(ex.RawFrames)
		c.Exceptions = append(c.Exceptions, ex)
	}
	return c
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestFindAnswersCached(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}}
	s := New(Config{Maps: maps, Now: clock.Now, NotFoundTTL: 10 * time.Second, FoundTTL: time.Minute})
	run := func(ev event.Event) event.Event {
		t.Helper()
		if err := s.Symbolicate(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	unmapped := func() event.Event {
		ev := oneFrame(1, 43)
		ev.Exceptions[0].Frames[0].AbsPath = "https://shop.example.com/static/js/late.min.js"
		return ev
	}

	// A flood of unmapped frames asks the store once per TTL.
	for range 100 {
		run(unmapped())
	}
	if n := maps.calls(); n != 1 {
		t.Fatalf("100 events without a map: %d finds, want 1", n)
	}
	// The map arrives: used once the not-found answer expires.
	maps.mu.Lock()
	maps.byPath["https://shop.example.com/static/js/late.min.js"] = mapA(t)
	maps.mu.Unlock()
	clock.Add(9 * time.Second)
	if f := run(unmapped()).Exceptions[0].Frames[0]; f.Unmapped != event.UnmappedNoMap {
		t.Errorf("within the TTL: reason %q, want the cached no_map", f.Unmapped)
	}
	clock.Add(time.Second)
	if f := run(unmapped()).Exceptions[0].Frames[0]; f.Unmapped != "" || f.Function != "u" || f.Filename != "src/cart.js" {
		t.Errorf("after the TTL: frame %+v, want it mapped", f)
	}

	// A found map is reused for FoundTTL without asking the store.
	before := maps.calls()
	for range 100 {
		run(stackEvent(t, "testdata/build-a/stack.txt"))
	}
	if n := maps.calls() - before; n != 1 {
		t.Errorf("100 events of one bundle: %d finds, want 1", n)
	}
	clock.Add(time.Minute)
	run(stackEvent(t, "testdata/build-a/stack.txt"))
	if n := maps.calls() - before; n != 2 {
		t.Errorf("after FoundTTL: %d finds, want 2", n)
	}
}

// Resymbolicate asks the store even while a not-found answer is cached:
// the user uploaded the map and asked for this event to be done again.
func TestResymbolicateSkipsFindCache(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	maps := &fakeMaps{byPath: map[string]artifact.Map{}}
	s := New(Config{Maps: maps, Now: clock.Now})
	ev := oneFrame(1, 43)
	if err := s.Symbolicate(context.Background(), &ev); err != nil || ev.Exceptions[0].Frames[0].Unmapped != event.UnmappedNoMap {
		t.Fatalf("before the upload: %+v, %v", ev.Exceptions[0].Frames[0], err)
	}
	maps.byPath[urlA] = mapA(t)
	if err := s.Resymbolicate(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	if f := ev.Exceptions[0].Frames[0]; f.Unmapped != "" || f.Filename != "src/cart.js" || len(ev.Notes) != 0 {
		t.Errorf("after the upload: frame %+v, notes %q; want it mapped and the note gone", f, ev.Notes)
	}
	if raw := ev.Exceptions[0].RawFrames; len(raw) != 1 || raw[0].Unmapped != "" || raw[0].AbsPath != urlA {
		t.Errorf("raw frames %+v, want the frame as sent, without the earlier run's reason", raw)
	}
}

// What a map puts into an event is bounded and clean like what an SDK
// sends: no NUL characters (PostgreSQL text rejects them), and paths,
// names and lines cut to ingest's limits.
func TestMapTextBounded(t *testing.T) {
	long := strings.Repeat("x", 5000)
	body := `{"version":3,"sources":["src/` + long + `.js"],"names":["evil\u0000name` + long + `"],` +
		`"sourcesContent":["` + long + `\u0000\nsecond"],"mappings":"AAAAA;AACA"}`
	maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: {Key: "k", Body: []byte(body)}}}
	ev := event.Event{ProjectID: 7, Exceptions: []event.Exception{{Frames: []event.Frame{
		{AbsPath: urlA, Function: "a", Lineno: 1, Colno: 1},
		{AbsPath: urlA, Function: "b", Lineno: 2, Colno: 1},
	}}}}
	if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	callee := ev.Exceptions[0].Frames[1]
	if len(callee.AbsPath) > maxPath || len(callee.Function) > maxName || !strings.HasPrefix(callee.Function, "evilname") ||
		len(callee.PreContext) != 1 || len(callee.PreContext[0]) > maxLine || strings.Contains(callee.PreContext[0], "\x00") ||
		callee.ContextLine != "second" {
		t.Errorf("frame not bounded: path %d bytes, function %.20q (%d bytes), pre-context %d lines", len(callee.AbsPath),
			callee.Function, len(callee.Function), len(callee.PreContext))
	}
}

// A stored map that starts with a byte order mark or the spec's `)]}'`
// line is read past it.
func TestMapPrefixesReadPast(t *testing.T) {
	for _, prefix := range []string{"\ufeff", ")]}'\n", ")]}'\r\n"} {
		m := mapA(t)
		m.Key, m.Body = prefix, append([]byte(prefix), m.Body...)
		ev := oneFrame(1, 43)
		if err := New(Config{Maps: &fakeMaps{byPath: map[string]artifact.Map{urlA: m}}}).Symbolicate(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		if f := ev.Exceptions[0].Frames[0]; f.Unmapped != "" || f.AbsPath == urlA {
			t.Errorf("prefix %q: frame %s unmapped %q, notes %q; want it mapped", prefix, f.AbsPath, f.Unmapped, ev.Notes)
		}
	}
}
