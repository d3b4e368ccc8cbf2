package symbolicate

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
)

// anotherBuild is the note of build E's frames (of its outermost, the
// first read) mapped through build A's map with build A's minified file:
// E, the next release of the same source served under the same URL
// (testdata/gen.sh), puts the cart's code further along the one minified
// line.
const anotherBuild = "symbolication: line 1, column 793 is outside the source map of " + urlA +
	" (line 1 of its minified file is 392 bytes long): it may be from another build; " +
	"upload the maps of this build, or give each build its own release or debug IDs"

// A release deployed again without new uploads: build E's frames arrive
// with build A's release, and find build A's map. Where build A's
// minified file was uploaded too (sentry-cli and `sourcemaps upload`
// upload both), the frames are past the end of its line: they are left as
// sent with a note, where the map would have moved each to its nearest
// mapping, build A's last statement on line 1 (`globalThis.flytrapFixture
// = run` in src/main.js). A map uploaded alone cannot tell: its mappings
// end where the line's code does, and a position past them is an ordinary
// lookup. Build A's own frames map as always.
func TestAnotherBuildsFrames(t *testing.T) {
	minifiedA := readFile(t, "testdata/build-a/app.min.js")
	withFile := func() *fakeMaps {
		m := mapA(t)
		m.Minified = "files/a"
		return &fakeMaps{byPath: map[string]artifact.Map{urlA: m}, sources: map[string][]byte{"files/a": minifiedA}}
	}
	for _, tt := range []struct {
		name, stack string
		maps        *fakeMaps
		// want is the innermost frames after symbolication; nil means
		// all four as sent, unmapped out_of_range.
		want  []frameSummary
		notes []string
	}{
		{"its own build", "testdata/build-a/stack.txt", withFile(), wantNamedFrames, nil},
		{"another build, with the minified file", "testdata/build-e/stack.txt", withFile(), nil, []string{anotherBuild}},
		{"another build, the map alone: cannot tell", "testdata/build-e/stack.txt", &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t)}},
			append(slices.Repeat([]frameSummary{{"run", "src/main.js", 14, 29, "globalThis.flytrapFixture = run;", ""}}, 3),
				frameSummary{"a", "src/main.js", 14, 29, "globalThis.flytrapFixture = run;", ""}), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := stackEvent(t, tt.stack)
			sent := slices.Clone(ev.Exceptions[0].Frames)
			if err := New(Config{Maps: tt.maps}).Symbolicate(context.Background(), &ev); err != nil {
				t.Fatal(err)
			}
			ex := ev.Exceptions[0]
			if tt.want != nil {
				if got := summarize(lastN(ex.Frames, 4)); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("frames\n got %+v\nwant %+v", got, tt.want)
				}
			} else {
				want := slices.Clone(sent)
				for i := len(want) - 4; i < len(want); i++ {
					want[i].Unmapped = event.UnmappedOutOfRange
				}
				if !reflect.DeepEqual(ex.Frames, want) || ex.RawFrames != nil {
					t.Errorf("frames %+v, raw frames %+v; want them as sent, unmapped %s", summarize(ex.Frames), ex.RawFrames, event.UnmappedOutOfRange)
				}
			}
			if !slices.Equal(ev.Notes, tt.notes) {
				t.Errorf("notes %q, want %q", ev.Notes, tt.notes)
			}
		})
	}
}

// What outside reads of a minified file: its lines split on \n, each
// line's length in bytes, and nothing of a file whose lines an engine may
// count otherwise.
func TestMinifiedOutside(t *testing.T) {
	m := newMinified([]byte("ab\nαβ\n"))
	crlf := newMinified([]byte("ab\r\ncd"))
	sep := newMinified([]byte("ab\u2028cd\nef"))
	for _, tt := range []struct {
		name         string
		m            *minified
		line, column int
		want         string
	}{
		{"a column on the line", m, 1, 2, ""},
		{"just past the line's end", m, 1, 3, ""},
		{"past the line's end", m, 1, 4, "line 1 of its minified file is 2 bytes long"},
		{"no column", m, 2, 0, ""},
		// Two characters, one UTF-16 unit each, four bytes: a column
		// is never over the bytes.
		{"bytes, not characters", m, 2, 5, ""},
		{"past the bytes", m, 2, 6, "line 2 of its minified file is 4 bytes long"},
		{"the empty last line", m, 3, 1, ""},
		{"past the last line", m, 4, 1, "its minified file has 3 lines"},
		{"\\r\\n line breaks", crlf, 3, 99, ""},
		{"a line separator", sep, 3, 99, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.outside(tt.line, tt.column); got != tt.want {
				t.Errorf("outside(%d, %d) = %q, want %q", tt.line, tt.column, got, tt.want)
			}
		})
	}
}
