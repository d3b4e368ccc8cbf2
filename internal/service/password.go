package service

import "unicode/utf8"

// The password rule, the one rule wherever a password is set (a new user
// over the API or the dashboard, bootstrap's first admin, a password
// change) and the bound wherever one is checked (sign-in, the current
// password of a change).
//
// Lengths are counted in characters (runes), not bytes: people choose
// passwords in characters, and a passphrase in Cyrillic or CJK takes two
// or three bytes a character, so a byte limit would give those users a
// half or a third of the length it promises and, with byte-counting
// sign-in under a character-counting create, lock them out. The upper
// bound exists to bound the work of hashing; 1024 characters are at most
// 4 KiB (an invalid UTF-8 byte counts as one character), which Argon2id
// reads once through BLAKE2b, negligible next to its 64 MiB passes.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 1024
)

// errPasswordLength is the refusal of a password outside the rule.
var errPasswordLength = &Error{Kind: ErrInvalid, Msg: "The password must be 8 to 1024 characters long."}

// CheckPassword refuses, with ErrInvalid, a password that may not be set.
// Forms call it before they count an attempt; the services call it again.
func CheckPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPasswordLength || n > MaxPasswordLength {
		return errPasswordLength
	}
	return nil
}

// mayBePassword reports whether p could be someone's password, so that
// checking it is worth an Argon2 computation. Only the upper bound applies:
// every password CheckPassword accepts passes, and so do shorter ones set
// under an earlier rule (bootstrap once counted bytes), which must still
// sign in.
func mayBePassword(p string) bool {
	return p != "" && utf8.RuneCountInString(p) <= MaxPasswordLength
}
