package grouping

import "strings"

// Placeholders MaskMessage puts in place of variable parts.
const (
	maskInt   = "<int>"
	maskHex   = "<hex>"
	maskUUID  = "<uuid>"
	maskIP    = "<ip>"
	maskEmail = "<email>"
	maskDate  = "<date>"
	maskID    = "<id>"
)

// Bounds of the look-ahead matchers. Each keeps the work done at one
// position constant, which is what keeps MaskMessage linear.
const (
	maxQuotedID = 128 // characters between the quotes
	maxIPv6     = 45  // longest textual IPv6 address
	maxZone     = 16  // IPv6 zone, "%eth0"
	minBareHex  = 7   // a short git commit hash
)

// MaskMessage replaces the variable parts of a message with placeholders,
// so that "user 123 not found" and "user 456 not found" group together while
// "user not found" and "order not found" stay apart:
//
//	numbers                      -> <int>   ("500ms" -> "<int>ms")
//	0x1f, bare hex of 7+ digits  -> <hex>
//	UUIDs                        -> <uuid>
//	IPv4 and IPv6 addresses      -> <ip>
//	e-mail addresses             -> <email>
//	ISO 8601 dates and times     -> <date>
//	quoted ids ('user_42')       -> '<id>'
//
// A quoted id is a quoted word of letters, digits and _-.: that contains a
// digit; quoted words without digits ('email') are names and stay. Digits
// glued to letters on their left (utf8, sha256, user123) are part of a name
// and stay too; "_" separates words, so "user_123" becomes "user_<int>".
//
// MaskMessage runs in time linear in len(s): every matcher either consumes
// what it scanned or looks at a bounded number of bytes.
func MaskMessage(s string) string {
	m := masker{s: s}
	m.b.Grow(len(s))
	for i := 0; i < len(s); {
		i = m.step(i)
	}
	return m.b.String()
}

// masker holds the state of one MaskMessage call.
type masker struct {
	s string
	b strings.Builder
	// noEmailBefore caches a failed e-mail match: every word starting
	// before this offset belongs to the same run of local-part characters,
	// which is not followed by "@domain" either.
	noEmailBefore int
}

// step masks or copies the input at offset i and returns the next offset.
func (m *masker) step(i int) int {
	s := m.s
	c := s[i]
	switch {
	case isWordByte(c):
		// Words are consumed whole, so i is always at a word's start here.
		if n, ph := m.token(i); n > 0 {
			m.b.WriteString(ph)
			return i + n
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		m.b.WriteString(maskWord(s[i:j]))
		return j
	case c == '\'' || c == '"' || c == '`':
		if n := quotedIDLen(s, i); n > 0 {
			m.b.WriteByte(c)
			m.b.WriteString(maskID)
			m.b.WriteByte(c)
			return i + n
		}
	case c == ':' && strings.HasPrefix(s[i:], "::") && (i == 0 || s[i-1] != ':' && !isWordByte(s[i-1])):
		// An IPv6 address may start with "::" ("::1"), but "std::vector"
		// and "a:::1" hold none.
		if n := ipv6Len(s, i); n > 0 {
			m.b.WriteString(maskIP)
			return i + n
		}
	}
	m.b.WriteByte(c)
	return i + 1
}

// token matches the structured values that start with a word byte at i and
// returns the length matched and its placeholder.
func (m *masker) token(i int) (int, string) {
	s := m.s
	if n := m.emailLen(i); n > 0 {
		return n, maskEmail
	}
	if n := uuidLen(s, i); n > 0 {
		return n, maskUUID
	}
	if n := dateLen(s[i:]); n > 0 {
		return n, maskDate
	}
	if n := ipv4Len(s, i); n > 0 {
		return n, maskIP
	}
	if n := ipv6Len(s, i); n > 0 {
		return n, maskIP
	}
	if n := prefixedHexLen(s, i); n > 0 {
		return n, maskHex
	}
	return 0, ""
}

// maskWord masks a whole word (a run of word bytes) that no matcher took.
func maskWord(w string) string {
	digits := 0
	for digits < len(w) && isDigit(w[digits]) {
		digits++
	}
	switch {
	case digits == len(w):
		return maskInt
	case len(w) >= minBareHex && isHexString(w) && strings.ContainsAny(w, "0123456789"):
		return maskHex
	case digits > 0:
		// A number with a unit or suffix: "500ms", "3rd".
		return maskInt + w[digits:]
	}
	return w
}

// emailLen matches local@domain.tld starting at i.
func (m *masker) emailLen(i int) int {
	s := m.s
	if i < m.noEmailBefore {
		return 0
	}
	j := i
	for j < len(s) && isEmailLocalByte(s[j]) {
		j++
	}
	if n := emailDomainLen(s, j); n > 0 {
		return j + n - i
	}
	m.noEmailBefore = j
	return 0
}

// emailDomainLen matches "@domain.tld" at j and returns its length.
func emailDomainLen(s string, j int) int {
	if j >= len(s) || s[j] != '@' {
		return 0
	}
	k := j + 1
	for k < len(s) && (isAlnum(s[k]) || s[k] == '-' || s[k] == '.') {
		k++
	}
	// A sentence may end right after the address.
	for k > j+1 && s[k-1] == '.' {
		k--
	}
	domain := s[j+1 : k]
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 || !atWordEnd(s, k) {
		return 0
	}
	tld := domain[dot+1:]
	if len(tld) < 2 {
		return 0
	}
	for t := 0; t < len(tld); t++ {
		if !isLetter(tld[t]) {
			return 0
		}
	}
	return k - j
}

// uuidLen matches 8-4-4-4-12 hex digits starting at i.
func uuidLen(s string, i int) int {
	const n = 36
	if len(s)-i < n || !atWordEnd(s, i+n) {
		return 0
	}
	for k := 0; k < n; k++ {
		c := s[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if c != '-' {
				return 0
			}
		} else if !isHexByte(c) {
			return 0
		}
	}
	return n
}

// dateLen matches an ISO 8601 date with optional time and zone at the start
// of s: 2026-11-21, 2026-11-21T10:00:00.123Z, 2026-11-21 10:00:00+02:00.
func dateLen(s string) int {
	if !digitsAt(s, 0, 4) || !byteAt(s, 4, '-') || !digitsAt(s, 5, 2) || !byteAt(s, 7, '-') || !digitsAt(s, 8, 2) {
		return 0
	}
	if mo, d := atoi2(s[5:7]), atoi2(s[8:10]); mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0
	}
	end := 10
	if len(s) > end && (s[end] == 'T' || s[end] == 't' || s[end] == ' ') &&
		digitsAt(s, end+1, 2) && byteAt(s, end+3, ':') && digitsAt(s, end+4, 2) {
		end += 6
		if byteAt(s, end, ':') && digitsAt(s, end+1, 2) {
			end += 3
			if byteAt(s, end, '.') || byteAt(s, end, ',') {
				k := end + 1
				for k < len(s) && k-end <= 9 && isDigit(s[k]) {
					k++
				}
				if k > end+1 {
					end = k
				}
			}
		}
		switch {
		case byteAt(s, end, 'Z') || byteAt(s, end, 'z'):
			end++
		case (byteAt(s, end, '+') || byteAt(s, end, '-')) && digitsAt(s, end+1, 2):
			end += 3
			if byteAt(s, end, ':') && digitsAt(s, end+1, 2) {
				end += 3
			} else if digitsAt(s, end, 2) {
				end += 2
			}
		}
	}
	if !atWordEnd(s, end) {
		return 0
	}
	return end
}

// ipv4Len matches a dotted-quad address starting at i.
func ipv4Len(s string, i int) int {
	// "1.2.3.4.5" is a version number, not an address, read from either end.
	if i >= 2 && s[i-1] == '.' && isDigit(s[i-2]) {
		return 0
	}
	j := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if j >= len(s) || s[j] != '.' {
				return 0
			}
			j++
		}
		k := j
		for k < len(s) && k-j < 3 && isDigit(s[k]) {
			k++
		}
		if k == j || atoiN(s[j:k]) > 255 {
			return 0
		}
		j = k
	}
	if !atWordEnd(s, j) || j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		return 0
	}
	return j - i
}

// ipv6Len matches an IPv6 address, with an optional zone ("%eth0"), starting
// at i.
func ipv6Len(s string, i int) int {
	j := i
	for j < len(s) && j-i <= maxIPv6 && (isHexByte(s[j]) || s[j] == ':' || s[j] == '.') {
		j++
	}
	if j-i > maxIPv6 {
		return 0
	}
	// Punctuation ending a sentence or a "host: message" label.
	for j > i && s[j-1] == '.' {
		j--
	}
	if j-i >= 2 && s[j-1] == ':' && s[j-2] != ':' {
		j--
	}
	if !validIPv6(s[i:j]) {
		return 0
	}
	if j < len(s) && s[j] == '%' {
		k := j + 1
		for k < len(s) && k-j <= maxZone && isAlnum(s[k]) {
			k++
		}
		if k > j+1 && k-j <= maxZone {
			j = k
		}
	}
	if !atWordEnd(s, j) {
		return 0
	}
	return j - i
}

// validIPv6 checks the textual form of an IPv6 address (RFC 4291 2.2):
// eight groups of one to four hex digits, one "::" standing for one or more
// zero groups, and optionally a dotted IPv4 address in place of the last two
// groups.
func validIPv6(a string) bool {
	if strings.Count(a, ":") < 2 || strings.Count(a, "::") > 1 || strings.Contains(a, ":::") {
		return false
	}
	compressed := strings.Contains(a, "::")
	groups := strings.Split(a, ":")
	n := 0
	for gi, g := range groups {
		switch {
		case g == "":
			// Only the "::" (and its ends at the start or end) may be empty.
			if !compressed {
				return false
			}
		case strings.Contains(g, "."):
			if gi != len(groups)-1 || !isDottedQuad(g) {
				return false
			}
			n += 2
		case len(g) <= 4 && isHexString(g):
			n++
		default:
			return false
		}
	}
	if compressed {
		return n < 8
	}
	return n == 8
}

// isDottedQuad reports whether all of g is an IPv4 address.
func isDottedQuad(g string) bool { return ipv4Len(g, 0) == len(g) }

// prefixedHexLen matches 0x followed by hex digits starting at i.
func prefixedHexLen(s string, i int) int {
	if !strings.HasPrefix(s[i:], "0x") && !strings.HasPrefix(s[i:], "0X") {
		return 0
	}
	j := i + 2
	for j < len(s) && isHexByte(s[j]) {
		j++
	}
	if j == i+2 || !atWordEnd(s, j) {
		return 0
	}
	return j - i
}

// quotedIDLen matches a quoted id starting at the quote at i and returns its
// length including both quotes.
func quotedIDLen(s string, i int) int {
	q := s[i]
	digit := false
	for j := i + 1; j < len(s) && j-i-1 <= maxQuotedID; j++ {
		c := s[j]
		switch {
		case c == q:
			if j == i+1 || !digit {
				return 0
			}
			return j - i + 1
		case isDigit(c):
			digit = true
		case isLetter(c), c == '_', c == '-', c == '.', c == ':':
		default:
			return 0
		}
	}
	return 0
}

// isWordByte reports whether c belongs to a word. Bytes of multi-byte UTF-8
// characters count, so that numbers glued to non-ASCII letters stay part of
// their word as they do with ASCII letters. "_" does not: it joins the parts
// of identifiers such as "user_123", which should be masked separately.
func isWordByte(c byte) bool { return isAlnum(c) || c >= 0x80 }

// atWordEnd reports whether offset j of s ends a word.
func atWordEnd(s string, j int) bool { return j >= len(s) || !isWordByte(s[j]) }

func isEmailLocalByte(c byte) bool {
	return isAlnum(c) || c >= 0x80 || strings.IndexByte("._%+-", c) >= 0
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isHexByte(s[i]) {
			return false
		}
	}
	return s != ""
}

// digitsAt reports whether s has n decimal digits at offset i.
func digitsAt(s string, i, n int) bool {
	if i < 0 || i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

func byteAt(s string, i int, c byte) bool { return i < len(s) && s[i] == c }

// atoi2 converts two digits, already checked.
func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// atoiN converts at most three digits, already checked.
func atoiN(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func isLetter(c byte) bool  { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isAlnum(c byte) bool   { return isLetter(c) || isDigit(c) }
func isHexByte(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
