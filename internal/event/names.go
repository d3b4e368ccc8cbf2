package event

import (
	"strings"
	"unicode"

	"github.com/getflytrap/flytrap/internal/bidi"
)

// MaxNameLength is the most characters (runes) of a release or an
// environment name: Sentry's bound on a release version, and the most the
// store keeps of one (store.MaxTagLength).
const MaxNameLength = 200

// CutName is name as a release or environment is kept, whatever sent it
// (an event, a session, feedback): without surrounding spaces, and cut to
// MaxNameLength characters, so that one app's events and sessions count
// under one release.
func CutName(name string) string {
	name = strings.TrimSpace(name)
	n := 0
	for i := range name {
		if n == MaxNameLength {
			return strings.TrimSpace(name[:i])
		}
		n++
	}
	return name
}

// ReleaseProblem says why version cannot name a release, or returns ""
// when it can. The rules are Sentry's (Release.is_valid_version): no line
// breaks, tabs or slashes, which would break its URLs and sentry-cli's
// paths, and not blank, ".", ".." or "latest". Flytrap also refuses
// control and direction characters: a release name reaches terminals
// through sentry-cli, which prints it as it comes; and invisible
// formatting characters (Unicode's category Cf: U+200B ZERO WIDTH SPACE,
// U+2060 WORD JOINER, U+FEFF, the soft hyphen U+00AD, ...), with which
// "r1" and "r1\u200b" would be two releases that read the same.
func ReleaseProblem(version string) string {
	trimmed := strings.TrimSpace(version)
	switch {
	case trimmed == "":
		return "is blank"
	case trimmed == "." || trimmed == ".." || strings.EqualFold(trimmed, "latest"):
		return "is reserved"
	case strings.ContainsAny(version, "\r\n\f\t/\\"):
		return "holds a line break, tab or slash"
	case HasControl(version):
		return "holds control characters"
	case strings.ContainsFunc(version, isFormat):
		return "holds invisible formatting characters"
	}
	return ""
}

// isFormat reports whether r is a Unicode format character (category Cf),
// which is not shown or shows as nothing.
func isFormat(r rune) bool { return unicode.Is(unicode.Cf, r) }

// EnvironmentProblem says why name cannot name an environment, or returns
// "" when it can: Sentry refuses line breaks and slashes in environment
// names, and Flytrap control and direction characters, as for releases.
func EnvironmentProblem(name string) string {
	switch {
	case strings.ContainsAny(name, "\r\n\f/"):
		return "holds a line break or slash"
	case HasControl(name):
		return "holds control characters"
	}
	return ""
}

// HasControl reports whether s holds a rune IsControl refuses.
func HasControl(s string) bool { return strings.ContainsFunc(s, IsControl) }

// IsControl reports whether r steers how text is displayed instead of
// being displayed: a C0 or C1 control or DEL (terminal escape sequences
// start with ESC or CSI) or a bidi control (Unicode's Bidi_Control, such
// as U+202E), which reorders what is shown around it, so that one name or
// address can pass for another. What must not reach a terminal or a
// single line.
func IsControl(r rune) bool { return unicode.IsControl(r) || bidi.Control(r) }
