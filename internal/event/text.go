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
