package symbolicate

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
)

const urlC = "https://shop.example.com/static/js/classes.min.js"

// classesMaps holds build C's map, found through its minified file.
func classesMaps(t testing.TB) *fakeMaps {
	return &fakeMaps{
		byPath:  map[string]artifact.Map{urlC: {Key: "sha-c", File: "~/static/js/classes.min.js", Minified: "files/c", Body: readFile(t, "testdata/build-c/classes.min.js.map")}},
		sources: map[string][]byte{"files/c": readFile(t, "testdata/build-c/classes.min.js")},
	}
}

// Node's stacks of esbuild's minified classes name methods by the
// minified class (t.lineTotal, new t), an assigned arrow function and a
// function by their minified names (l, a): each is named by the original
// name the map gives at its declaration in the minified file, as Sentry
// names frames by their scopes. esbuild gives the class an inner name (t,
// var e=class t{...}); the binding it is assigned to carries the class's
// name, the inner one "_ShoppingCart". An anonymous function stays
// unnamed: the name at its caller's position is that of the parameter it
// was called through (stackOf's run). A name with a method's kept name
// last (Object.render) stays, and every name but the anonymous ones is
// the source's (marked *, Frame.OriginalFunction).
//
// build-d is webpack and terser's, which name the class, its parameters
// and more all r, and inline checkoutTotal.
func TestFramesNamedByTheirDeclarations(t *testing.T) {
	for _, tt := range []struct {
		build, stack string
		want         []string // innermost first, the bundle's frames only
	}{
		{"build-c", "render.txt", []string{"ShoppingCart.lineTotal*", "", "ShoppingCart.render*", "checkoutTotal*", "", "stackOf*", "Object.render*"}},
		{"build-c", "construct.txt", []string{"new ShoppingCart*", "ShoppingCart.load*", "", "stackOf*", "Object.construct*"}},
		{"build-c", "apply.txt", []string{"ShoppingCart.lineTotal*", "", "ShoppingCart.render*", "Discount.apply*"}},
		{"build-d", "render.txt", []string{"ShoppingCart.lineTotal*", "", "ShoppingCart.render*", "", "stackOf*", "Object.render*"}},
		{"build-d", "construct.txt", []string{"new ShoppingCart*", "ShoppingCart.load*", "", "stackOf*", "Object.construct*"}},
		{"build-d", "apply.txt", []string{"ShoppingCart.lineTotal*", "", "ShoppingCart.render*", "Discount.apply*"}},
	} {
		t.Run(tt.build+"/"+tt.stack, func(t *testing.T) {
			maps := &fakeMaps{
				byPath:  map[string]artifact.Map{urlC: {Key: tt.build, Minified: "files/" + tt.build, Body: readFile(t, "testdata/"+tt.build+"/classes.min.js.map")}},
				sources: map[string][]byte{"files/" + tt.build: readFile(t, "testdata/"+tt.build+"/classes.min.js")},
			}
			ev := stackEvent(t, "testdata/"+tt.build+"/"+tt.stack)
			if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			var got []string
			ex := ev.Exceptions[0]
			for i, f := range slices.Backward(ex.Frames) {
				if ex.RawFrames[i].AbsPath == urlC {
					if f.OriginalFunction {
						f.Function += "*"
					}
					got = append(got, f.Function)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("functions %q, want %q", got, tt.want)
			}
		})
	}
}

// Without the minified file (a map uploaded alone, or its file gone from
// the store) the frames keep the runtime's names; the store failing is an
// error worth a retry, as for a map.
func TestFramesWithoutTheirMinifiedFile(t *testing.T) {
	ev := stackEvent(t, "testdata/build-c/construct.txt")
	maps := classesMaps(t)
	maps.sources = nil
	if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	if got := ev.Exceptions[0].Frames[len(ev.Exceptions[0].Frames)-1].Function; got != "new t" {
		t.Errorf("innermost function %q, want the runtime's new t", got)
	}

	failing := &failingSources{fakeMaps: classesMaps(t)}
	ev = stackEvent(t, "testdata/build-c/construct.txt")
	if err := New(Config{Maps: failing}).Symbolicate(context.Background(), &ev); !errors.Is(err, errSlow) {
		t.Errorf("error %v, want the store's", err)
	}
}

var errSlow = errors.New("s3: slow down")

type failingSources struct{ *fakeMaps }

func (f *failingSources) Source(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf("read: %w", errSlow)
}

// declarations finds the declaration nearest before a position whatever
// the minifier wrote, and not an identifier's other uses.
func TestDeclarations(t *testing.T) {
	for _, tt := range []struct {
		name, code, id string
		want           []string // the code from each offset found
	}{
		{"class", "class o{m(){x}}", "o", []string{"o{m(){x}}"}},
		{"class assigned", "var e=class o{m(){x}}", "o", []string{"e=class o{m(){x}}", "o{m(){x}}"}},
		{"class assigned, spaced", "let e = class o { m() { x } }", "o", []string{"e = class o { m() { x } }", "o { m() { x } }"}},
		{"comparison is no binding", "a==class o{m(){x}}", "o", []string{"o{m(){x}}"}},
		{"function", "function s(t){x}", "s", []string{"s(t){x}"}},
		{"generator", "function* s(t){x}", "s", []string{"s(t){x}"}},
		{"assigned arrow", "var l=t=>x", "l", []string{"l=t=>x"}},
		{"arrow parameter is no declaration", "var o=1;f(o=>x)", "o", []string{"o=1;f(o=>x)"}},
		{"equality is no declaration", "if(o==1)x", "o", nil},
		{"property is not the identifier", "a.o=1;x", "o", nil},
		{"longer identifier", "oo=1;x", "o", nil},
		{"nearest first", "function s(){} function s(){x}", "s", []string{"s(){x}"}},
		{"after the position is not looked at", "x;function s(){}", "s", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			end := len(tt.code)
			if i := strings.IndexByte(tt.code, 'x'); i >= 0 {
				end = i
			}
			var got []string
			for _, off := range newMinified([]byte(tt.code)).declarations(tt.id, end) {
				got = append(got, tt.code[off:])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("declarations %q, want %q", got, tt.want)
			}
		})
	}
}

// QA's Node server: its own index.js (readable, so the SDK sent its lines)
// shares only its name with a bundle uploaded for the release, whose map
// would move the frame into another file. A frame whose line the SDK sent
// is mapped only when the uploaded file has that line there: as the Node
// SDK sends it (cut to 140 characters, "{snip}"), whole, or cut by ingest.
func TestReadableFramesOfAnotherFile(t *testing.T) {
	minifiedA := readFile(t, "testdata/build-a/app.min.js")
	line1, _, _ := strings.Cut(string(minifiedA), "\n")
	for _, tt := range []struct {
		name, contextLine string
		mapped            bool
	}{
		{"another file's line", `  throw new Error("server side failure in index.js");`, false},
		{"the bundle's line, cut by the Node SDK", line1[:140] + " {snip}", true},
		{"the bundle's line whole", "  " + line1, true},
		{"the bundle's line cut by ingest", line1[:100] + "…", true},
		{"a part of the bundle's line is not the line", line1[:100], false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := mapA(t)
			m.Minified = "files/a"
			maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: m}, sources: map[string][]byte{"files/a": minifiedA}}
			ev := stackEvent(t, "testdata/build-a/stack.txt")
			frames := ev.Exceptions[0].Frames
			top := &frames[len(frames)-1]
			top.ContextLine = tt.contextLine
			sent := *top
			if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			got := ev.Exceptions[0].Frames[len(frames)-1]
			if mapped := got.Filename == "src/cart.js"; mapped != tt.mapped {
				t.Errorf("top frame %+v, mapped %v, want %v", got, mapped, tt.mapped)
			}
			if !tt.mapped && (!reflect.DeepEqual(got, sent) || len(ev.Notes) != 0) {
				t.Errorf("top frame %+v, notes %q; want it as sent, without a note", got, ev.Notes)
			}
		})
	}
}

func TestKept(t *testing.T) {
	for fn, want := range map[string]bool{
		"Object.loadUsers": true, "render": true, "ShoppingCart.lineTotal": true, "Object.o [as render]": false,
		"Object.c": false, "Qt": false, "t.load": true, "<anonymous>": false, "Object": false, "": false, "async go": false,
	} {
		if got := kept(fn); got != want {
			t.Errorf("kept(%q) = %v, want %v", fn, got, want)
		}
	}
}

// countingSources counts the reads of minified files.
type countingSources struct {
	*fakeMaps
	mu    sync.Mutex
	reads int
}

func (c *countingSources) Source(ctx context.Context, minified string) ([]byte, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.fakeMaps.Source(ctx, minified)
}

// QA's attack with the public DSN: an 8 MB one-line file that declares
// nothing, and an event whose 250 frames each name 51 parts no
// declaration has, at 250 columns. Scanning back from each frame for each
// part took 136 s of CPU; the file's declarations are indexed once, so a
// frame costs a lookup per part. A file over maxSourceBytes (QA's 40 MB,
// read and indexed again for every frame) is not read at all: its map
// still maps the frames.
func TestHostileFramesReadTheirFileOnce(t *testing.T) {
	body := []byte(strings.Repeat("a.push('xxxxxx');", 8<<20/17))
	mapBody := `{"version":3,"sources":["a.js"],"names":["push"],"mappings":"AAAAA"}`
	fn := strings.TrimSuffix(strings.Repeat("push.", 51), ".")
	for _, tt := range []struct {
		name  string
		size  int64
		reads int
	}{
		{"8 MB", int64(len(body)), 1},
		{"over the limit", maxSourceBytes + 1, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			maps := &countingSources{fakeMaps: &fakeMaps{
				byPath:  map[string]artifact.Map{urlC: {Key: "k", Minified: "files/big", MinifiedSize: tt.size, Body: []byte(mapBody)}},
				sources: map[string][]byte{"files/big": body},
			}}
			ev := event.Event{ProjectID: 7, Release: "hostile@1", Platform: "javascript", Exceptions: []event.Exception{{Type: "Error"}}}
			for i := range 250 {
				ev.Exceptions[0].Frames = append(ev.Exceptions[0].Frames, event.Frame{AbsPath: urlC, Function: fn, Lineno: 1, Colno: 7900000 + 3*i})
			}
			start := time.Now()
			if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			t.Logf("250 frames in %v", time.Since(start))
			if maps.reads != tt.reads {
				t.Errorf("the minified file was read %d times, want %d", maps.reads, tt.reads)
			}
			for _, f := range ev.Exceptions[0].Frames {
				if f.Filename != "a.js" {
					t.Fatalf("frame %+v: want mapped to a.js", f)
				}
			}
		})
	}
}

// The line check reads only what the SDK sent, however long the line.
func TestHasLine(t *testing.T) {
	long := "  " + strings.Repeat("x=1;", 1<<20) + "throw new Error(q);" + strings.Repeat("y=2;", 1<<20)
	m := newMinified([]byte("first line\n" + long + "\n\tlast line  \n"))
	col := 2 + 4<<20 + 5 // the throw, 1-based
	for _, tt := range []struct {
		line, column int
		sent         string
		want         bool
	}{
		{1, 1, "first line", true},
		{1, 1, "  first line  ", true},
		{1, 1, "first", false},
		{1, 1, "first line and more", false},
		{3, 1, "last line", true},
		{2, col, strings.Repeat("x=1;", 35) + " {snip}", true},
		{2, col, strings.Repeat("x=1;", 30) + "…", true},
		{2, col, "'{snip} x=1;throw new Error(q);y=2; {snip}", true},
		{2, col, "'{snip} throw new Error(r); {snip}", false},
		{2, 1, "'{snip} throw new Error(q); {snip}", false}, // not around the column
		{2, col, strings.Repeat("y=2;", 35) + " {snip}", false},
		{4, 1, "", true},
		{5, 1, "x", false},
	} {
		if got := m.hasLine(tt.line, tt.column, tt.sent); got != tt.want {
			t.Errorf("hasLine(%d, %d, %.40q) = %v, want %v", tt.line, tt.column, tt.sent, got, tt.want)
		}
	}
}

// Workers reading one file at once keep one copy, counted once, so the
// cache's byte count goes back to zero when it is emptied.
func TestSourcesReadConcurrentlyCountedOnce(t *testing.T) {
	s := New(Config{Maps: slowSources{classesMaps(t)}})
	l := lookup{minified: "files/c", minifiedSize: 617}
	var wg sync.WaitGroup
	got := make([]*minified, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := (&eventRun{s: s}).source(context.Background(), l)
			if err != nil || m == nil {
				t.Errorf("source: %v, %v", m, err)
			}
			got[i] = m
		}()
	}
	wg.Wait()
	n := s.names
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.sources.Len() != 1 || n.bytes != got[0].size {
		t.Errorf("%d files counted as %d bytes, want one of %d", n.sources.Len(), n.bytes, got[0].size)
	}
	n.sources.Purge()
	if n.bytes != 0 {
		t.Errorf("%d bytes counted in an empty cache", n.bytes)
	}
}

// slowSources reads slowly, so that concurrent readers all miss the cache.
type slowSources struct{ *fakeMaps }

func (s slowSources) Source(ctx context.Context, minified string) ([]byte, error) {
	time.Sleep(20 * time.Millisecond)
	return s.fakeMaps.Source(ctx, minified)
}
