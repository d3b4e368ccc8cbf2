package members

import "testing"

func TestWithArticle(t *testing.T) {
	for _, tt := range []struct{ role, want string }{
		{"admin", "an admin"},
		{"member", "a member"},
		{"owner", "an owner"},
		{"", "a "},
	} {
		if got := withArticle(tt.role); got != tt.want {
			t.Errorf("withArticle(%q) = %q, want %q", tt.role, got, tt.want)
		}
	}
}
