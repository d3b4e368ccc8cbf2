package service

import (
	"strings"
	"unicode"

	"github.com/getflytrap/flytrap/internal/bidi"
)

// hiddenControl reports whether s holds a character that steers how text
// is displayed instead of being displayed: a C0 or C1 control or DEL
// (terminal escape sequences start with ESC or CSI) or a bidi control
// (Unicode's Bidi_Control, such as U+202E), which reorders what is shown
// around it, so that one name or address can pass for another. Names and
// addresses are shown to other users, in the dashboard, in email and in
// terminals.
func hiddenControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || bidi.Control(r)
	})
}
