// Package shell writes text as words of a POSIX shell command, for the
// commands Flytrap shows to be copied and pasted (the dashboard's hints,
// the setup page's snippets, the CLI's hints): a release, a project's name
// or a URL holding "$(...)", a backtick, ";", "|" or a space must reach the
// command as one word, never run.
package shell

import "strings"

// Quote returns s as one word of a POSIX shell command: as it is when it
// is made of characters no shell treats specially, else in single quotes,
// where a single quote of s ends the quoting, is escaped with a backslash,
// and the quoting starts again.
func Quote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@%+=", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Arg returns s as the last positional argument of a command: Quote(s),
// after "--", which ends the flags, when s starts with "-", so that
// "--host=evil" is not taken for a flag.
func Arg(s string) string {
	if strings.HasPrefix(s, "-") {
		return "-- " + Quote(s)
	}
	return Quote(s)
}
