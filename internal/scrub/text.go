package scrub

import (
	"net/netip"
	"strings"
)

// The finders below locate what these regular expressions match, with the
// same leftmost-first semantics (text_test.go checks them against the
// expressions, and FuzzFinders on any input):
//
//	card: \b[2-6](?:[ -]?[0-9]){12,18}\b
//	IPv4: \b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b
//	IPv6: [0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*
//
// Scrubbing runs them over every string of an event, and the expressions'
// backtracking took more CPU than the rest of processing a 50 KB event;
// each finder is one pass without allocating when nothing matches.
//
// card: a candidate card number, 13 to 19 digits optionally grouped by
// single spaces or dashes, starting with 2 to 6 (the major networks'
// leading digits). The leading digit keeps millisecond Unix timestamps
// (1…) and most IDs out; Luhn decides the rest.
//
// IPv4: a dotted quad; neighbours are checked after finding so that
// four-part versions inside longer ones ("1.2.3.4.5") stay.
//
// IPv6: a run of characters an IPv6 address is made of, with two colons;
// netip.ParseAddr decides whether a run is one.

// maskText replaces the passwords of URLs and the bodies of PEM private
// keys with Filtered, Luhn-valid card numbers with CardMask and IP
// addresses with IPMask, and returns how many it replaced.
func maskText(s string) (string, int) {
	n := 0
	if strings.Contains(s, "://") {
		s = replace(s, findURLPassword, Filtered, &n, unless(Filtered))
	}
	if strings.Contains(s, "PRIVATE KEY-----") {
		s = replace(s, findPrivateKey, pemMask, &n, unless(pemMask))
	}
	if len(s) < 3 || !strings.ContainsAny(s, "0123456789") {
		return s, n
	}
	// Cards first: a card's mask ends a run of address characters
	// ("00::3882246310005" becomes "00::[creditcard]"), which can leave
	// an IPv6 address ("00::") that a second pass would find. Masking the
	// addresses after the cards finds it now, so a pass leaves nothing
	// for the next one (FuzzScrub).
	s = replace(s, findCard, CardMask, &n, isCard)
	// An IPv6 run holds two colons and a dotted quad three dots, which
	// most strings do not: counting a byte is vectorised, where the
	// finders test every byte of every run of hex letters and digits
	// (findIPv6 was most of scrubbing's text masking under a 50 KB load).
	if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') >= 0 {
		s = replace(s, findIPv6, IPMask, &n, isIPv6)
	}
	if strings.Count(s, ".") >= 3 {
		s = replace(s, findIPv4, IPMask, &n, isIPv4)
	}
	return s, n
}

// findURLPassword finds the password of a URL's user information
// (postgres://app:secret@db/shop, redis://:secret@cache), which Relay's
// @urlauth rule filters: connection strings end up in exception messages,
// and so in titles, e-mails and webhooks. The user name is not part of
// it. The password runs to the last "@" of the authority, since passwords
// with an unescaped "@" are common.
func findURLPassword(s string, from int) (int, int) {
	for {
		k := strings.Index(s[from:], "://")
		if k < 0 {
			return -1, -1
		}
		start := from + k + 3
		end := start
		for end < len(s) && !strings.ContainsRune("/?# \t\r\n\"'<>", rune(s[end])) {
			end++
		}
		from = end
		at := strings.LastIndexByte(s[start:end], '@')
		if at < 0 {
			continue
		}
		// A user name alone, or an empty password, is no match.
		if colon := strings.IndexByte(s[start:start+at], ':'); colon >= 0 && colon < at-1 {
			return start + colon + 1, start + at
		}
	}
}

// findPrivateKey finds the body of a PEM private key, between
// "-----BEGIN RSA PRIVATE KEY-----" and its END line, or to the end of a
// text cut short, which Relay's @pemkey rule filters. The BEGIN and END
// lines stay out of it, to say what was there.
func findPrivateKey(s string, from int) (int, int) {
	const begin, dashes, end = "-----BEGIN ", "-----", "-----END "
	for {
		i := strings.Index(s[from:], begin)
		if i < 0 {
			return -1, -1
		}
		i += from + len(begin)
		h := strings.Index(s[i:], dashes)
		if h < 0 {
			return -1, -1
		}
		label := s[i : i+h]
		from = i + h + len(dashes)
		if !strings.HasSuffix(label, "PRIVATE KEY") || strings.ContainsAny(label, "\r\n") {
			continue
		}
		if e := strings.Index(s[from:], end); e >= 0 {
			return from, from + e
		}
		return from, len(s)
	}
}

// pemMask replaces the body of a private key, on lines of its own.
const pemMask = "\n" + Filtered + "\n"

// unless accepts a match as found unless it is mask already: text scrubbed
// before (a URL's password, a key's body) is not counted again.
func unless(mask string) func(s string, i, j int) int {
	return func(s string, i, j int) int {
		if s[i:j] == mask {
			return -1
		}
		return j
	}
}

// finder returns the bounds of the first match in s at or after from, or
// i < 0 when there is none.
type finder func(s string, from int) (i, j int)

// replace substitutes mask for every match of find that accept takes.
// Matches do not overlap: each is looked for after the end of the one
// before. accept sees the whole string and the match's bounds, and
// returns the end of the part to mask, or -1 to keep the match.
func replace(s string, find finder, mask string, n *int, accept func(s string, i, j int) int) string {
	var b strings.Builder
	last := 0
	for from := 0; from < len(s); {
		i, j := find(s, from)
		if i < 0 {
			break
		}
		from = j
		end := accept(s, i, j)
		if end < 0 {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(mask)
		last = end
		*n++
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// wordBoundaryBefore reports whether \b holds before s[i], a word
// character.
func wordBoundaryBefore(s string, i int) bool { return i == 0 || !isWord(s[i-1]) }

// wordBoundaryAfter reports whether \b holds at j, after a word character.
func wordBoundaryAfter(s string, j int) bool { return j == len(s) || !isWord(s[j]) }

// findCard finds a card number candidate: the greedy repetition takes up
// to 18 more digits, then gives them back until a word boundary follows.
func findCard(s string, from int) (int, int) {
	var ends [18]int
	for i := from; i+13 <= len(s); i++ {
		if c := s[i]; c < '2' || c > '6' || !wordBoundaryBefore(s, i) {
			continue
		}
		m := 0
		for p := i + 1; m < len(ends); m++ {
			switch {
			case p+1 < len(s) && (s[p] == ' ' || s[p] == '-') && isDigit(s[p+1]):
				p += 2
			case p < len(s) && isDigit(s[p]):
				p++
			default:
				p = -1
			}
			if p < 0 {
				break
			}
			ends[m] = p
		}
		for k := m; k >= 12; k-- {
			if wordBoundaryAfter(s, ends[k-1]) {
				return i, ends[k-1]
			}
		}
	}
	return -1, -1
}

// findIPv4 finds a dotted quad. An octet must be followed by a dot or, the
// last, by a word boundary, so it is its whole run of digits: no shorter
// alternative of the expression can match where the longest fails.
func findIPv4(s string, from int) (int, int) {
	for i := from; i+7 <= len(s); i++ {
		if !isDigit(s[i]) || !wordBoundaryBefore(s, i) {
			continue
		}
		p := i
		for octet := 0; ; octet++ {
			r := p
			for r < len(s) && isDigit(s[r]) {
				r++
			}
			if !isOctet(s[p:r]) {
				break
			}
			if octet == 3 {
				if wordBoundaryAfter(s, r) {
					return i, r
				}
				break
			}
			if r+1 >= len(s) || s[r] != '.' {
				break
			}
			p = r + 1
		}
	}
	return -1, -1
}

// isOctet reports whether d, a run of digits, is what
// 25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9] matches.
func isOctet(d string) bool {
	switch len(d) {
	case 1:
		return true
	case 2:
		return d[0] != '0'
	case 3:
		return d[0] == '1' || d[0] == '2' && (d[1] < '5' || d[1] == '5' && d[2] <= '5')
	}
	return false
}

// findIPv6 finds a maximal run of IPv6 characters holding two colons: the
// expression's leftmost match starts where such a run does, and its last
// star takes the run to its end.
func findIPv6(s string, from int) (int, int) {
	for i := from; i < len(s); {
		if !isIPv6Char(s[i]) {
			i++
			continue
		}
		j, colons := i, 0
		for ; j < len(s) && isIPv6Char(s[j]); j++ {
			if s[j] == ':' {
				colons++
			}
		}
		if colons >= 2 {
			return i, j
		}
		i = j
	}
	return -1, -1
}

func isIPv6Char(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.'
}
func isCard(s string, i, j int) int {
	digits := make([]byte, 0, 19)
	for k := i; k < j; k++ {
		if c := s[k]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if !luhn(digits) {
		return -1
	}
	return j
}

// luhn reports whether digits pass the Luhn checksum every card number
// carries.
func luhn(digits []byte) bool {
	sum := 0
	double := false
	for k := len(digits) - 1; k >= 0; k-- {
		d := int(digits[k] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// isIPv4 rejects dotted quads that are versions: part of a longer dotted
// number ("1.2.3.4.5"), or a product token's version ("Chrome/120.0.0.0"
// in every Chrome User-Agent). "http://10.0.0.1" is still an address.
func isIPv4(s string, i, j int) int {
	if i > 0 && s[i-1] == '.' || j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		return -1
	}
	if i > 1 && s[i-1] == '/' && isWord(s[i-2]) {
		return -1
	}
	return j
}

// isIPv6 accepts a run that parses as an IPv6 address, holds a digit and
// stands alone: "std::string" and "a::b" are code, "12:30:00" a time. A
// trailing dot ends a sentence and is kept.
func isIPv6(s string, i, j int) int {
	if i > 0 && isWord(s[i-1]) || j < len(s) && isWord(s[j]) {
		return -1
	}
	c := strings.TrimRight(s[i:j], ".")
	if strings.Count(c, ":") < 2 || !strings.ContainsAny(c, "0123456789") {
		return -1
	}
	if a, err := netip.ParseAddr(c); err != nil || !a.Is6() {
		return -1
	}
	return i + len(c)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isWord(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}
