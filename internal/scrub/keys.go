package scrub

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// DefaultFields are the sensitive key names filtered by default. A key is
// sensitive when its normalized form (lowercase letters and digits only, so
// "X-Api-Key" is "xapikey") contains one of them, as in Sentry:
// "user_password", "sessionid" and "csrftoken" all match. "sessid" and
// "jwt" are in the names of session cookies that hold no other field
// (PHP's PHPSESSID, Vercel's _vercel_jwt).
var DefaultFields = []string{
	"password", "passwd", "pwd", "secret", "apikey", "auth", "credential", "token",
	"session", "sessid", "jwt", "csrf", "xsrf", "privatekey", "accesskey", "creditcard",
	"cardnumber", "ccnumber", "cookie",
}

// DefaultWords are short sensitive names that would match too much as
// substrings ("ssn" is in "classname", "sid" in "inside", "sess" in
// "assess"); they match a whole word of a key, split at punctuation and
// camelCase: "ssn", "user_ssn", "cardCvv", and the session cookies
// "sid", Express's "connect.sid" and GitHub's "_gh_sess".
var DefaultWords = []string{"ssn", "card", "cvv", "cvc", "sid", "sess"}

type class int

const (
	plain class = iota
	sensitive
	safe
	// cookies holds cookies ("cookie", "cookies"): a header is
	// filtered whole; a map, list or cookie string elsewhere keeps the
	// cookies' names and has every value filtered (see scrubber.jar).
	cookies
)

// matcher classifies keys for one Config. It is made for one event and
// is not safe for concurrent use.
type matcher struct {
	fields []string
	words  map[string]bool
	safe   map[string]bool
	// seen remembers the keys classified so far: an event repeats its
	// keys (every breadcrumb's data has the same few), and classifying
	// one takes a normalized copy and a substring search per field.
	seen map[string]class
}

func newMatcher(c Config) *matcher {
	m := &matcher{
		fields: append([]string(nil), DefaultFields...),
		words:  make(map[string]bool, len(DefaultWords)),
		safe:   make(map[string]bool, len(c.SafeFields)),
		seen:   make(map[string]class),
	}
	for _, w := range DefaultWords {
		m.words[w] = true
	}
	for _, f := range c.ExtraFields {
		if n := normalize(fold(f)); n != "" {
			m.fields = append(m.fields, n)
		}
	}
	for _, f := range c.SafeFields {
		if n := normalize(fold(f)); n != "" {
			m.safe[n] = true
		}
	}
	return m
}

func (m *matcher) classify(key string) class {
	c, ok := m.seen[key]
	if !ok {
		c = m.classifyNew(key)
		m.seen[key] = c
	}
	return c
}

func (m *matcher) classifyNew(key string) class {
	key = fold(key)
	n := normalize(key)
	if n == "" {
		return plain
	}
	if m.safe[n] {
		return safe
	}
	switch n {
	case "cookie", "cookies":
		return cookies
	}
	// A Set-Cookie value (a cookie with its attributes) and anything
	// else named after cookies ("set_cookie", "mycookie") is filtered
	// whole, by the "cookie" field below.
	for _, f := range m.fields {
		if strings.Contains(n, f) {
			return sensitive
		}
	}
	if !m.holdsWord(n) {
		return plain
	}
	for _, w := range words(key) {
		if m.words[w] {
			return sensitive
		}
	}
	return plain
}

// holdsWord reports whether the normalized key n contains one of the
// sensitive words. A word of a key is a run of its letters and digits, and
// so also a substring of n: a key whose n holds none is not split into
// words, which most keys were, at an allocation per word.
func (m *matcher) holdsWord(n string) bool {
	for w := range m.words {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// fold maps a key's compatibility characters to the ones they stand for
// (Unicode NFKC), for classifying it only: a fullwidth "ｃｏｏｋｉｅ" (as an
// East Asian input method types it), a mathematical "𝐩𝐚𝐬𝐬𝐰𝐨𝐫𝐝" or a
// ligature "ﬁeld" reads as "cookie", "password" and "field". The stored
// key is kept as sent. An ASCII key, as almost every key is, is its own
// fold and is returned without a look at the tables.
func fold(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return norm.NFKC.String(key)
		}
	}
	return key
}

// normalize lowercases a key and drops everything but letters and digits,
// so "API-Key", "api_key" and "apiKey" compare equal.
func normalize(key string) string {
	if isNormal(key) {
		return key
	}
	var b strings.Builder
	for _, r := range key {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// isNormal reports whether key is all lowercase ASCII letters and digits,
// as most keys are ("url", "method", "version"): its own normal form.
func isNormal(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// words splits a key into lowercase words at punctuation and at lower-to-
// upper case changes: "userSSN_hash" is user, ssn, hash.
func words(key string) []string {
	var (
		out  []string
		cur  []rune
		prev rune
	)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	for _, r := range key {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
		prev = r
	}
	flush()
	return out
}
