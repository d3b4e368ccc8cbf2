package debugid

import "testing"

// TestCanonical: every spelling of a UUID that ingest has accepted is one
// debug ID, and anything else is none.
func TestCanonical(t *testing.T) {
	const id = "6a1c4bd3-0c6e-5a28-9d1e-2b7a6f1c0d11"
	for _, tt := range []struct {
		name, in, want string
	}{
		{"canonical", id, id},
		{"upper case", "6A1C4BD3-0C6E-5A28-9D1E-2B7A6F1C0D11", id},
		{"mixed case", "6a1C4bd3-0C6e-5A28-9d1E-2b7A6f1C0d11", id},
		{"without dashes", "6a1c4bd30c6e5a289d1e2b7a6f1c0d11", id},
		{"upper case without dashes", "6A1C4BD30C6E5A289D1E2B7A6F1C0D11", id},
		{"in braces", "{" + id + "}", id},
		{"upper case in braces", "{6A1C4BD3-0C6E-5A28-9D1E-2B7A6F1C0D11}", id},
		// uuid.Parse reads 38 characters as the dashed form between two
		// it does not check; ingest has always accepted these.
		{"between other characters", "(" + id + ")", id},
		{"a space either side", " " + id + " ", id},
		{"urn", "urn:uuid:" + id, id},
		{"urn, upper case", "URN:UUID:6A1C4BD3-0C6E-5A28-9D1E-2B7A6F1C0D11", id},
		{"not version 4 or 5", "c0ffee00-1111-1222-0333-444455556666", "c0ffee00-1111-1222-0333-444455556666"},

		{"empty", "", ""},
		{"nil UUID", "00000000-0000-0000-0000-000000000000", ""},
		{"nil UUID without dashes", "00000000000000000000000000000000", ""},
		{"garbage", "not-a-debug-id", ""},
		{"sentry-cli's placeholder", "__SENTRY_DEBUG_ID__", ""},
		{"leading space", " " + id, ""},
		{"trailing newline", id + "\n", ""},
		{"one digit short", id[:35], ""},
		{"one digit long", id + "1", ""},
		{"dashes misplaced", "6a1c4bd30-c6e-5a28-9d1e-2b7a6f1c0d11", ""},
		{"non-hex digit", "6a1c4bd3-0c6e-5a28-9d1e-2b7a6f1c0d1g", ""},
		{"without dashes, non-hex", "6a1c4bd30c6e5a289d1e2b7a6f1c0d1z", ""},
		{"dashes in 32 characters", "6a1c4bd3-0c6e-5a28-9d1e2b7a6f1c0d", ""},
		{"other urn", "urn:oid:" + id + "x", ""},
		{"native debug ID with an age", id + "-1", ""},
		{"non-ASCII in braces", "«" + id + "»", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Canonical(tt.in)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("Canonical(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.want != "")
			}
		})
	}
}
