package store

import (
	"slices"
	"testing"
)

func TestCompareReleases(t *testing.T) {
	// Each pair is ordered a < b.
	for _, tt := range [][2]string{
		{"1.9.0", "1.10.0"},
		{"shop@1.9.0", "shop@1.10.0"},
		{"shop@4.0.0", "shop@4.0.1"},
		{"shop@4.0.0", "shop@5.0.0"},
		{"shop@1.10.0", "shop@1.11.0"},
		{"shop@1.2", "shop@1.10"},
		{"shop@1.2.3", "shop@1.2.3.1"},
		{"@scope/app@2.0.0", "@scope/app@10.0.0"},
		// Pre-releases come before their release, in SemVer's order.
		{"1.0.0-alpha", "1.0.0-alpha.1"},
		{"1.0.0-alpha.1", "1.0.0-alpha.beta"},
		{"1.0.0-alpha.beta", "1.0.0-beta"},
		{"1.0.0-beta", "1.0.0-beta.2"},
		{"1.0.0-beta.2", "1.0.0-beta.11"},
		{"1.0.0-beta.11", "1.0.0-rc.1"},
		{"1.0.0-rc.1", "1.0.0"},
		{"shop@2.0.0-rc.1", "shop@2.0.0"},
		{"shop@2.0.0rc1", "shop@2.0.0"},
		{"shop@1.9.9", "shop@2.0.0-rc.1"},
		{"shop@1.0.0+1", "shop@1.0.0+2"},
		{"shop@1.0.0+9", "shop@1.0.0+10"},
	} {
		if c, ok := compareReleases(tt[0], tt[1]); !ok || c != -1 {
			t.Errorf("compareReleases(%q, %q) = %d, %v; want -1, true", tt[0], tt[1], c, ok)
		}
		if c, ok := compareReleases(tt[1], tt[0]); !ok || c != 1 {
			t.Errorf("compareReleases(%q, %q) = %d, %v; want 1, true", tt[1], tt[0], c, ok)
		}
	}
	for _, tt := range [][2]string{
		{"1.0.0", "1.0.0"},
		{"shop@1.0.0+abc", "shop@1.0.0+def"},
		{"shop@1.2", "shop@1.2.0"},
	} {
		if c, ok := compareReleases(tt[0], tt[1]); !ok || c != 0 {
			t.Errorf("compareReleases(%q, %q) = %d, %v; want 0, true", tt[0], tt[1], c, ok)
		}
	}
	// Ordered by date instead: not versions, or not of one package.
	for _, tt := range [][2]string{
		{"build-a", "build-b"},
		{"shop@abc", "shop@1.0.0"},
		{"shop@4.0.0", "api@5.0.0"},
		{"1.0.0", "shop@2.0.0"},
		// A release without a package is a version only as strict SemVer:
		// a build number, two components or a letter suffix may be
		// anything.
		{"41", "42"},
		{"2.0", "2.0b"},
		{"1.0", "1.1"},
		{"v1.0.0", "v1.1.0"},
		{"01.0.0", "1.0.0"},
		// A build hash is not a version, though it may look like one.
		{"shop@0123456789ab", "shop@1.0.0"},
		{"shop@1.0.0", "shop@da39a3ee5e6b4b0d3255bfef95601890afd80709"},
		{"shop@99999999999999999999.0.0", "shop@1.0.0"},
	} {
		if c, ok := compareReleases(tt[0], tt[1]); ok {
			t.Errorf("compareReleases(%q, %q) = %d, true; want date ordering", tt[0], tt[1], c)
		}
	}
}

// Releases first seen together go highest version first, else by bytes,
// whatever order they came in.
func TestNewestFirst(t *testing.T) {
	for _, tt := range []struct {
		in, want []string
	}{
		{[]string{"shop@1.9.0", "shop@1.10.0"}, []string{"shop@1.10.0", "shop@1.9.0"}},
		{[]string{"9.0.0", "10.0.0+build.5", "10.0.0-rc.1"}, []string{"10.0.0+build.5", "10.0.0-rc.1", "9.0.0"}},
		{[]string{"shop@1.0.0+abc", "shop@1.0.0+abd"}, []string{"shop@1.0.0+abd", "shop@1.0.0+abc"}},
		{[]string{"nightly-a", "nightly-b"}, []string{"nightly-b", "nightly-a"}},
		// Versions of different packages are not ordered as versions.
		{[]string{"api@10.0.0", "web@2.0.0"}, []string{"web@2.0.0", "api@10.0.0"}},
		{[]string{"only"}, []string{"only"}},
	} {
		got := newestFirst(slices.Clone(tt.in))
		if !slices.Equal(got, tt.want) {
			t.Errorf("newestFirst(%q) = %q, want %q", tt.in, got, tt.want)
		}
		reversed := slices.Clone(tt.in)
		slices.Reverse(reversed)
		if got := newestFirst(reversed); !slices.Equal(got, tt.want) {
			t.Errorf("newestFirst(%q) = %q, want %q", reversed, got, tt.want)
		}
	}
}
