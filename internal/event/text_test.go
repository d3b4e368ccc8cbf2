package event

import "testing"

func TestClamp(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"a\x00b", 10, "ab"},
		{"abcdefghij", 6, "abc…"},
		{"ééééé", 6, "é…"}, // never half a rune
		{"日本語", 4, "…"},
	}
	for _, tt := range tests {
		if got := Clamp(tt.in, tt.limit); got != tt.want || len(got) > tt.limit {
			t.Errorf("Clamp(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
	}
}
