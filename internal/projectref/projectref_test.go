package projectref

import (
	"slices"
	"testing"
)

func TestResolve(t *testing.T) {
	type project struct {
		id   int64
		name string
	}
	key := func(p project) (int64, string) { return p.id, p.name }
	ps := []project{{2, "alpha"}, {3, "beta"}, {4, "ALPHA"}, {6, "Web Shop"}, {7, "web-shop"}, {8, "3"}, {9, "Gamma"}, {10, "Delta Team"}}
	for _, tc := range []struct {
		ref  string
		want []int64
	}{
		{"alpha", []int64{2}},
		{"ALPHA", []int64{4}},
		{"Alpha", []int64{2, 4}}, // no exact name: both differ only in case
		{"web-shop", []int64{7}}, // an exact name beats Web Shop's slug
		{"Web Shop", []int64{6}},
		{"WEB SHOP", []int64{6}},
		{"3", []int64{3, 8}}, // one's ID, the other's name
		{"9", []int64{9}},
		{"gamma", []int64{9}},
		{"delta-team", []int64{10}},
		{"delta", nil},
		{"", nil},
	} {
		var got []int64
		for _, p := range Resolve(ps, tc.ref, key) {
			got = append(got, p.id)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Resolve(%q) = %v, want %v", tc.ref, got, tc.want)
		}
	}
	if got := Describe([]project{ps[0], ps[2]}, key); got != `"alpha" (ID 2), "ALPHA" (ID 4)` {
		t.Errorf("Describe = %s", got)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Web Shop": "web-shop", "  API / v2 ": "api-v2", "déjà vu": "d-j-vu", "---": ""} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}
