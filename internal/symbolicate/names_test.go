package symbolicate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
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
// name, the inner one "_ShoppingCart". An anonymous function is named by
// its caller, as before (stackOf calls it as run), or not at all (Array's
// map calls it); a placeholder (Object) stays.
func TestFramesNamedByTheirDeclarations(t *testing.T) {
	for _, tt := range []struct {
		stack string
		want  []string // innermost first, the bundle's frames only
	}{
		{"render.txt", []string{"ShoppingCart.lineTotal", "", "ShoppingCart.render", "checkoutTotal", "run", "stackOf", "Object.render"}},
		{"construct.txt", []string{"new ShoppingCart", "ShoppingCart.load", "run", "stackOf", "Object.construct"}},
		{"apply.txt", []string{"ShoppingCart.lineTotal", "", "ShoppingCart.render", "Discount.apply"}},
	} {
		t.Run(tt.stack, func(t *testing.T) {
			maps := classesMaps(t)
			ev := stackEvent(t, "testdata/build-c/"+tt.stack)
			if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range slices.Backward(ev.Exceptions[0].Frames) {
				if f.Filename == "src/classes.js" {
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
			for _, off := range declarations([]byte(tt.code), tt.id, end) {
				got = append(got, tt.code[off:])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("declarations %q, want %q", got, tt.want)
			}
		})
	}
}
