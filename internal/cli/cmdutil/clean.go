package cmdutil

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/bidi"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/shell"
)

// Clean makes text that came from the server safe to print on one line of
// a terminal. Titles, messages, tag values and names are written by SDKs
// and other users, so they may hold what a terminal obeys instead of
// showing: every C0 and C1 control character and DEL (U+0000–U+001F,
// U+007F–U+009F: ESC and CSI start the escape sequences that recolor, clear
// the screen, retitle the window or hide a link; tabs and line breaks would
// break the layout), and the line and paragraph separators U+2028 and
// U+2029, become a space, so what remains of a sequence is shown
// as text. Bidi controls (Unicode's Bidi_Control: U+061C, U+200E, U+200F,
// U+202A–U+202E, U+2066–U+2069) would reorder what the terminal shows
// around them, making one address or title look like another; they are
// made visible as <U+202E> and so on. Invalid UTF-8 becomes U+FFFD, as a
// stray byte 0x9B is CSI to a terminal reading 8-bit controls.
//
// JSON output is not cleaned: it is data, and encoding/json escapes
// control characters itself.
func Clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return event.IsControl(r) || lineBreak(r) }) {
		return s
	}
	// strings.Map writes each invalid byte as U+FFFD.
	return bidi.Show(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || lineBreak(r) {
			return ' '
		}
		return r
	}, s))
}

// lineBreak reports whether r is one of the line breaks that are not
// controls, U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR: what
// splits lines in Python's splitlines, JavaScript and some terminals would
// otherwise split a table's row in two.
func lineBreak(r rune) bool { return r == '\u2028' || r == '\u2029' }

// EscapeJSON rewrites DEL, the C1 controls and the bidi controls in the
// JSON text b as \u escapes. encoding/json and gojq escape only the C0
// controls, yet a terminal obeys U+009B as CSI just as it does ESC [; the
// escaped JSON decodes to the same data. Every other character is kept:
// these can only occur inside JSON strings, where an escape means the same.
func EscapeJSON(b []byte) []byte {
	if utf8.Valid(b) && !bytes.ContainsFunc(b, escapedInJSON) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if escapedInJSON(r) {
			out = fmt.Appendf(out, `\u%04x`, r)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// escapedInJSON reports whether EscapeJSON escapes r: the controls Clean
// changes, less the C0 controls, which the encoders escape in strings and
// which outside them are JSON's own line breaks and tabs.
func escapedInJSON(r rune) bool { return r >= 0x7f && event.IsControl(r) }

// ShellArg returns s as the last positional argument of a POSIX shell
// command, for hints that suggest a command to copy: a project's name is
// chosen by the project's admins, and "x; rm -rf ~" must not run as two
// commands when pasted, nor "--host=evil" as a flag, so a word starting
// with "-" follows "--", which ends the flags. Words of safe characters
// are returned as they are.
func ShellArg(s string) string { return shell.Arg(s) }
