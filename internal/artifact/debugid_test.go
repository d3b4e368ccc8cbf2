package artifact_test

import (
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
)

// TestDebugIDsReadCanonical: a debug ID read from an upload (a map's
// debug_id or debugId, a file's `//# debugId=` comment, a manifest's
// debug-id header) is canonical however it is written, and text that is
// no debug ID is none: passed over, the upload not refused.
func TestDebugIDsReadCanonical(t *testing.T) {
	upper, bare := strings.ToUpper(debugID), strings.ReplaceAll(debugID, "-", "")
	for _, tt := range []struct {
		name, written, want string
	}{
		{"canonical", debugID, debugID},
		{"capitals", upper, debugID},
		{"without dashes", bare, debugID},
		{"capitals without dashes", strings.ToUpper(bare), debugID},
		{"in braces", "{" + upper + "}", debugID},
		{"URN", "urn:uuid:" + debugID, debugID},
		{"garbage", "not-a-debug-id", ""},
		{"nil UUID", "00000000-0000-0000-0000-000000000000", ""},
		{"sentry-cli's placeholder", "__SENTRY_DEBUG_ID__", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, field := range []string{"debug_id", "debugId"} {
				m := `{"version":3,"sources":["a.js"],"names":[],"mappings":"AAAA","` + field + `":"` + tt.written + `"}`
				if got := artifact.MapDebugID([]byte(m)); got != tt.want {
					t.Errorf("MapDebugID of %s %q = %q, want %q", field, tt.written, got, tt.want)
				}
			}
			if got := artifact.DebugIDOf([]byte("x()\n//# debugId= " + tt.written + " \n")); got != tt.want {
				t.Errorf("DebugIDOf comment %q = %q, want %q", tt.written, got, tt.want)
			}
			manifest := entry{"manifest.json", []byte(`{"files":{"files/a.js":{"url":"~/a.js","type":"minified_source","headers":{"Debug-Id":"` + tt.written + `"}}}}`)}
			b, err := artifact.ReadBundle(zipOf(t, manifest, entry{"files/a.js", []byte("x()")}), small)
			if err != nil || len(b.Files) != 1 || b.Files[0].DebugID != tt.want {
				t.Errorf("ReadBundle with debug-id header %q = %+v, %v; want the file, debug ID %q", tt.written, b.Files, err, tt.want)
			}
		})
	}
}

// TestDebugIDOfLastComment: the last `//# debugId=` comment holding a
// debug ID is the file's: inject appends its comment after any that the
// file's text held before.
func TestDebugIDOfLastComment(t *testing.T) {
	for _, tt := range []struct {
		name, js, want string
	}{
		{"two", "//# debugId=" + debugID2 + "\nx()\n//# debugId=" + debugID + "\n", debugID},
		{"the last no debug ID", "x()\n//# debugId=" + debugID + "\n//# debugId=${id}\n", debugID},
		{"none holds one", "x()\n//# debugId=${id}\n", ""},
		{"none", "x()\n", ""},
	} {
		if got := artifact.DebugIDOf([]byte(tt.js)); got != tt.want {
			t.Errorf("%s: DebugIDOf = %q, want %q", tt.name, got, tt.want)
		}
	}
	// debug_id no debug ID, debugId one: the map's.
	m := `{"version":3,"sources":[],"names":[],"mappings":"","debug_id":"x","debugId":"` + strings.ToUpper(debugID) + `"}`
	if got := artifact.MapDebugID([]byte(m)); got != debugID {
		t.Errorf("MapDebugID with debug_id no debug ID = %q, want debugId's %s", got, debugID)
	}
}
