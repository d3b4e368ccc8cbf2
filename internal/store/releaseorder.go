package store

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Release ordering, for "resolved in release X": an event of X or of a
// newer release reopens the issue, one of an older release does not.
// Releases are compared as versions when both parse as one (of the same
// package), else by when each was first seen, as Sentry does.

var (
	// packageVersionRE splits "package@version" as Sentry's release
	// parser (getsentry/sentry-release-parser) does.
	packageVersionRE = regexp.MustCompile(`^(@?[^@]+)@(.+?)$`)
	// sentryVersionRE is that parser's version grammar: one to four
	// numeric components, a pre-release (after "-" or starting with a
	// letter: 1.0.0-rc.1, 1.0.0rc1) and a build code (+...).
	sentryVersionRE = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:\.([0-9]+))?` +
		`((?:-|[a-z])(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)?(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	// semverRE is strict SemVer 2.0.0 (semver.org): what a release
	// without a package must be to be ordered as a version.
	semverRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
		`(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
		`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)
	hexRE = regexp.MustCompile(`^[a-fA-F0-9]+$`)
)

// releaseVersion is a release parsed as a version.
type releaseVersion struct {
	pkg string
	// nums are major, minor, patch and revision; missing ones are 0.
	nums [4]uint64
	// pre is the pre-release ("" for a release proper), build the build
	// code.
	pre, build string
}

// parseRelease parses a release as a version. A "package@version" parses
// as Sentry parses it: its version by Sentry's grammar, unless it is a
// build hash (12, 16, 20, 32, 40 or 64 hex digits). Sentry orders a
// release without a package by date only; Flytrap orders one as a version
// when it is strict SemVer (1.10.0, 2.0.0-rc.1), which can only mean that,
// and by date otherwise (a build number, a commit, 2.0b).
func parseRelease(release string) (releaseVersion, bool) {
	var (
		v releaseVersion
		m []string
	)
	if pv := packageVersionRE.FindStringSubmatch(release); pv != nil {
		v.pkg = pv[1]
		if isBuildHash(pv[2]) {
			return v, false
		}
		if m = sentryVersionRE.FindStringSubmatch(pv[2]); m == nil {
			return v, false
		}
		m = []string{m[0], m[1], m[2], m[3], m[4], strings.TrimPrefix(m[5], "-"), m[6]}
	} else {
		s := semverRE.FindStringSubmatch(release)
		if s == nil {
			return v, false
		}
		m = []string{s[0], s[1], s[2], s[3], "", s[4], s[5]}
	}
	for i := range v.nums {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseUint(m[i+1], 10, 64)
		if err != nil {
			// Too large to be a version anyone numbers releases by.
			return v, false
		}
		v.nums[i] = n
	}
	v.pre, v.build = m[5], m[6]
	return v, true
}

func isBuildHash(s string) bool {
	switch len(s) {
	case 12, 16, 20, 32, 40, 64:
		return hexRE.MatchString(s)
	}
	return false
}

// compareReleases orders releases a and b as versions: -1, 0 or +1, and
// true, when both parse as versions of the same package (see
// parseRelease); false when they must be ordered by date instead. A
// pre-release comes before its release (1.0.0-rc.1 < 1.0.0), pre-releases
// compare as SemVer's identifiers do (alpha < alpha.1 < beta.2 < beta.11),
// and numeric build codes numerically (+2 > +1); other build codes are
// equal.
func compareReleases(a, b string) (int, bool) {
	va, ok := parseRelease(a)
	if !ok {
		return 0, false
	}
	vb, ok := parseRelease(b)
	if !ok || va.pkg != vb.pkg {
		return 0, false
	}
	for i := range va.nums {
		if c := cmp.Compare(va.nums[i], vb.nums[i]); c != 0 {
			return c, true
		}
	}
	switch {
	case va.pre == "" && vb.pre != "":
		return 1, true
	case va.pre != "" && vb.pre == "":
		return -1, true
	}
	if c := comparePrerelease(va.pre, vb.pre); c != 0 {
		return c, true
	}
	ba, errA := strconv.ParseUint(va.build, 10, 64)
	bb, errB := strconv.ParseUint(vb.build, 10, 64)
	if errA == nil && errB == nil {
		return cmp.Compare(ba, bb), true
	}
	return 0, true
}

// comparePrerelease compares pre-releases as SemVer 2.0.0 does: by
// dot-separated identifiers, numeric ones numerically and before
// alphanumeric ones, a shorter list first when all else is equal.
func comparePrerelease(a, b string) int {
	if a == b {
		return 0
	}
	ia, ib := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(ia) && i < len(ib); i++ {
		na, errA := strconv.ParseUint(ia[i], 10, 64)
		nb, errB := strconv.ParseUint(ib[i], 10, 64)
		var c int
		switch {
		case errA == nil && errB == nil:
			c = cmp.Compare(na, nb)
		case errA == nil:
			c = -1
		case errB == nil:
			c = 1
		default:
			c = strings.Compare(ia[i], ib[i])
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ia), len(ib))
}

// newestFirst sorts versions of releases first seen at the same time,
// the one release:latest means first, and returns them. Sentry orders
// them as versions: of two that parse as versions of one package (see
// compareReleases; shop@1.10.0 is newer than shop@1.9.0), the higher
// comes first, and other pairs, or equal versions, go by their bytes,
// the higher first. Sorted by bytes first, the versions come out in the
// same order whatever order the database read them in.
func newestFirst(versions []string) []string {
	slices.Sort(versions)
	slices.SortStableFunc(versions, func(a, b string) int {
		if c, ok := compareReleases(a, b); ok && c != 0 {
			return -c
		}
		return strings.Compare(b, a)
	})
	return versions
}
