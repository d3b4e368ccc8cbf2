package ingest

import (
	"strings"
	"testing"
)

func TestParseJSONObjectErrors(t *testing.T) {
	long := strings.Repeat("k", 100_000)
	for _, tt := range []struct{ in, want string }{
		{``, "empty; expected a JSON object"},
		{`[1]`, "a list, not a JSON object"},
		{`{}x`, "not valid JSON: unexpected data after the top-level value"},
		{`{"data":`, `not valid JSON: unexpected EOF within "/data" after offset 8`},
		{`{"a":tru}`, `not valid JSON: invalid character '}' in literal true (expecting 'e') within "/a" after offset 8`},
		{`{"` + long + `":[}`, `not valid JSON: invalid character '}' at start of value within "/kkk`},
	} {
		_, err := parseJSONObject([]byte(tt.in))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("parseJSONObject(%.20q) = %v, want %q", tt.in, err, tt.want)
			continue
		}
		if len(err.Error()) > maxJSONError {
			t.Errorf("parseJSONObject(%.20q): a %d-byte message, over %d", tt.in, len(err.Error()), maxJSONError)
		}
	}
}
