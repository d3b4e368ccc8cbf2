package event

import (
	"strings"
	"unicode/utf8"
)

// Clamp cuts s to at most limit bytes on a rune boundary, marking the cut
// with "…", and removes NUL characters, which PostgreSQL text rejects:
// how ingest bounds what SDKs send, and symbolication what maps add.
func Clamp(s string, limit int) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if len(s) <= limit {
		return s
	}
	cut := limit - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// TitleLine is text as an issue title shows it: its first line that is not
// blank, without surrounding spaces, cut to MaxTitleText characters, the
// last of which is then "…".
func TitleLine(s string) string {
	s = firstLine(s)
	if len(s) <= MaxTitleText || utf8.RuneCountInString(s) <= MaxTitleText {
		return s
	}
	n := 0
	for i := range s {
		if n == MaxTitleText-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// firstLine returns the first line of s that is not blank, trimmed of
// spaces. Lines end where Python's str.splitlines ends them, since most
// multi-line values come from Python.
func firstLine(s string) string {
	for s != "" {
		line := s
		if i := strings.IndexFunc(s, isLineBreak); i < 0 {
			s = ""
		} else {
			_, w := utf8.DecodeRuneInString(s[i:])
			line, s = s[:i], s[i+w:]
		}
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return ""
}

func isLineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}
