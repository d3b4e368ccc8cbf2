package service

import (
	"strings"
	"unicode/utf8"
)

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
	if commonPasswords[strings.ToLower(p)] || oneCharacter(p) {
		return errCommonPassword
	}
	return nil
}

// oneCharacter reports whether p is one character repeated.
func oneCharacter(p string) bool {
	first, _ := utf8.DecodeRuneInString(p)
	return strings.Trim(p, string(first)) == ""
}

// errCommonPassword is the refusal of a password attackers try first.
var errCommonPassword = &Error{Kind: ErrInvalid, Msg: "That password is one of the most common ones, which attackers try first; choose another."}

// commonPasswords are the most common passwords of 8 characters or more in
// published breach corpora, compared without case, as NIST SP 800-63B
// asks: sign-in allows a few tries per address before it throttles, and
// these are the ones spent. A password of one character repeated is
// refused too.
var commonPasswords = map[string]bool{
	"password": true, "password1": true, "password12": true, "password123": true, "passw0rd": true, "p@ssw0rd": true, "p@ssword": true,
	"12345678": true, "123456789": true, "1234567890": true, "12341234": true, "123123123": true, "87654321": true, "11223344": true,
	"qwertyui": true, "qwertyuiop": true, "qwerty12": true, "qwerty123": true, "1q2w3e4r": true, "1q2w3e4r5t": true, "1qaz2wsx": true,
	"zaq12wsx": true, "q1w2e3r4": true, "12qwaszx": true, "abc12345": true, "abcd1234": true, "asdfghjk": true, "asdfasdf": true,
	"iloveyou": true, "sunshine": true, "princess": true, "football": true, "baseball": true, "superman": true, "starwars": true,
	"whatever": true, "trustno1": true, "welcome1": true, "welcome123": true, "admin123": true, "administrator": true,
	"changeme": true, "letmein1": true, "computer": true, "internet": true, "michelle": true, "jennifer": true, "flytrap1": true,
}

// mayBePassword reports whether p could be someone's password, so that
// checking it is worth an Argon2 computation. Only the upper bound applies:
// every password CheckPassword accepts passes, and so do shorter ones set
// under an earlier rule (bootstrap once counted bytes), which must still
// sign in.
func mayBePassword(p string) bool {
	return p != "" && utf8.RuneCountInString(p) <= MaxPasswordLength
}
