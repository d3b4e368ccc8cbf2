package scrub

import (
	"net/netip"
	"regexp"
	"strings"
)

var (
	// cardRE finds candidate card numbers: 13 to 19 digits, optionally
	// grouped by single spaces or dashes, starting with 2 to 6 (the major
	// networks' leading digits). The leading digit keeps millisecond Unix
	// timestamps (1…) and most IDs out; Luhn decides the rest.
	cardRE = regexp.MustCompile(`\b[2-6](?:[ -]?[0-9]){12,18}\b`)
	// ipv4RE finds dotted quads; neighbours are checked after matching so
	// that four-part versions inside longer ones ("1.2.3.4.5") stay.
	ipv4RE = regexp.MustCompile(`\b(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\b`)
	// ipv6RE finds runs of characters an IPv6 address is made of;
	// netip.ParseAddr decides whether a run is one.
	ipv6RE = regexp.MustCompile(`[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*`)
)

// maskText replaces Luhn-valid card numbers with CardMask and IP addresses
// with IPMask, and returns how many it replaced.
func maskText(s string) (string, int) {
	if len(s) < 3 || !strings.ContainsAny(s, "0123456789") {
		return s, 0
	}
	n := 0
	s = replace(s, ipv6RE, IPMask, &n, isIPv6)
	s = replace(s, ipv4RE, IPMask, &n, isIPv4)
	s = replace(s, cardRE, CardMask, &n, isCard)
	return s, n
}

// replace substitutes mask for every match of re that accept takes. accept
// sees the whole string and the match's bounds, and returns the end of the
// part to mask, or -1 to keep the match.
func replace(s string, re *regexp.Regexp, mask string, n *int, accept func(s string, i, j int) int) string {
	idx := re.FindAllStringIndex(s, -1)
	if idx == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range idx {
		end := accept(s, m[0], m[1])
		if end < 0 {
			continue
		}
		b.WriteString(s[last:m[0]])
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
