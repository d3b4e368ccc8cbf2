package authheader

import "testing"

// TestBearer: the scheme is read in any case and the token trimmed; other
// schemes, a scheme alone and an empty token are not a bearer token.
func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		h, token string
		ok       bool
	}{
		{"Bearer ft_abc", "ft_abc", true},
		{"bearer ft_abc", "ft_abc", true},
		{"BEARER ft_abc", "ft_abc", true},
		{"bEaReR ft_abc", "ft_abc", true},
		{"Bearer   ft_abc  ", "ft_abc", true},
		{"Bearer ", "", false},
		{"Bearer", "", false},
		{"Bearer    ", "", false},
		{"", "", false},
		{"Basic ZnQ6YWJj", "", false},
		{"Bearerft_abc", "", false},
		{"Token ft_abc", "", false},
		{" Bearer ft_abc", "", false},
	} {
		token, ok := Bearer(tc.h)
		if token != tc.token || ok != tc.ok {
			t.Errorf("Bearer(%q) = %q, %v, want %q, %v", tc.h, token, ok, tc.token, tc.ok)
		}
	}
}
