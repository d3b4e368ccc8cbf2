package artifact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
)

func TestInject(t *testing.T) {
	tests := []struct {
		name, js, mappings string
		wantMappings       string
		wantPrefix         string
	}{
		// The snippet goes on lines of its own: two lines are inserted.
		{"at the start", "abc()\n", "AAAA,GAAG", ";;AAAA,GAAG", "\n!function(){"},
		// The directive stays on line 1; what followed it moves two lines
		// down and 13 columns left: only the first moved segment changes.
		{"after a directive", `"use strict";abc()` + "\n", "AAAA,aAAa,GAAG", "AAAA;;AAAa,GAAG", `"use strict";` + "\n!function(){"},
		{"after a hashbang", "#!/usr/bin/env node\nabc()\n", "AAAA;AACA", "AAAA;;;AACA", "#!/usr/bin/env node\n\n!function(){"},
		{"after a comment", "/* (c) */abc()\n", "AAAA,SAAS", "AAAA;;AAAS", "/* (c) */\n!function(){"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := `{"version":3,"sources":["a.js"],"names":[],"mappings":"` + tt.mappings + `"}`
			out, err := artifact.Inject([]byte(tt.js), []byte(m))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Mappings string `json:"mappings"`
				DebugID  string `json:"debug_id"`
				DebugId  string `json:"debugId"`
			}
			if err := json.Unmarshal(out.Map, &got); err != nil {
				t.Fatal(err)
			}
			if got.Mappings != tt.wantMappings {
				t.Errorf("mappings %q, want %q", got.Mappings, tt.wantMappings)
			}
			if id := artifact.DebugIDFromBytes([]byte(m)); out.DebugID != id || got.DebugID != id || got.DebugId != id || artifact.DebugIDOf(out.JS) != id {
				t.Errorf("debug IDs: result %s, map %s/%s, file %s; want %s", out.DebugID, got.DebugID, got.DebugId, artifact.DebugIDOf(out.JS), id)
			}
			if !strings.HasPrefix(string(out.JS), tt.wantPrefix) || !strings.HasSuffix(string(out.JS), "\n//# debugId="+out.DebugID+"\n") {
				t.Errorf("file:\n%s", out.JS)
			}
		})
	}
}

func TestInjectKeepsTheMapsID(t *testing.T) {
	const id = "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"
	out, err := artifact.Inject([]byte("x()\n"), []byte(`{"version":3,"mappings":"AAAA","debugId":"`+id+`"}`))
	if err != nil || out.DebugID != id {
		t.Errorf("Inject = %s, %v; want the map's own %s", out.DebugID, err, id)
	}
	if _, err := artifact.Inject([]byte("x()\n"), []byte(`{"version":3,"mappings":"!!"}`)); err == nil {
		t.Error("Inject accepted broken mappings")
	}
	if _, err := artifact.Inject([]byte("x()\n"), []byte(`{`)); err == nil {
		t.Error("Inject accepted a broken map")
	}
}

// A map with a byte order mark or the spec's `)]}'` line is injected like
// any other; the rewritten map is plain JSON.
func TestInjectPrefixedMap(t *testing.T) {
	const id = "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11"
	for _, prefix := range []string{"\ufeff", ")]}'\n"} {
		out, err := artifact.Inject([]byte("x()\n"), []byte(prefix+`{"version":3,"mappings":"AAAA","debugId":"`+id+`"}`))
		if err != nil || out.DebugID != id || !json.Valid(out.Map) {
			t.Errorf("prefix %q: Inject = %s, %s, %v; want the map's %s and JSON", prefix, out.DebugID, out.Map, err, id)
		}
	}
}
