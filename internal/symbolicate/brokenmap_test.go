package symbolicate

import (
	"context"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
)

// TestPartlyBrokenMapIsBroken: a map with one source whose mappings use
// source indexes 0 to 2 is a broken_map for every frame, not one that
// rewrites the frames at index 0 (to positions of a source the map does
// not have) and fails only the others.
func TestPartlyBrokenMapIsBroken(t *testing.T) {
	// Line 1: column 0 to source 0, column 5 to source 1, column 10 to 2.
	body := `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA,KCAA,KCAA"}`
	maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: {Key: body, File: "~/static/js/app.min.js", Body: []byte(body)}}}
	for _, col := range []int{1, 6, 11} {
		ev := oneFrame(1, col)
		if err := New(Config{Maps: maps}).Symbolicate(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
		if f := ev.Exceptions[0].Frames[0]; f.Unmapped != event.UnmappedBrokenMap || f.AbsPath != urlA {
			t.Errorf("column %d: frame %+v, want it as sent with reason %q", col, f, event.UnmappedBrokenMap)
		}
	}
}
