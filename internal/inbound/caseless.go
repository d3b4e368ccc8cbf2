package inbound

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// caseless is a case-insensitive, unanchored alternation of Relay's
// patterns that decides most texts without running the regexp. Go's
// regexp finds no literal to skip ahead to in such an alternation, so it
// tried every pattern at every position of every event's exception value,
// top frame and User-Agent: 11% of the instructions of a processed 2 KB
// event (docs/benchmarks.md). Every match of a pattern contains a literal
// of it (needles), so a text that contains none of them, in any case,
// matches none of the patterns.
type caseless struct {
	re *regexp.Regexp
	// needles holds, for each pattern, the longest literal of its
	// top-level sequence in lower case; "" when it has none, which sends
	// every text to re.
	needles []string
}

// newCaseless compiles patterns, each a regexp, as one case-insensitive
// alternation.
func newCaseless(patterns ...string) *caseless {
	c := &caseless{re: regexp.MustCompile(`(?i)` + strings.Join(patterns, "|"))}
	for _, p := range patterns {
		c.needles = append(c.needles, needle(p))
	}
	return c
}

// needle is the longest literal that every match of pattern contains, in
// lower case, or "" when its top-level sequence holds no literal.
func needle(pattern string) string {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		panic("inbound: pattern " + pattern + ": " + err.Error())
	}
	parts := []*syntax.Regexp{re}
	if re.Op == syntax.OpConcat {
		parts = re.Sub
	}
	best := ""
	for _, p := range parts {
		if p.Op == syntax.OpLiteral {
			if lit := strings.ToLower(string(p.Rune)); len(lit) > len(best) {
				best = lit
			}
		}
	}
	return best
}

// MatchString reports whether s matches one of the patterns, in any case.
func (c *caseless) MatchString(s string) bool {
	if !isASCII(s) {
		// Case folding beyond ASCII (ſ matches s, K matches k) is the
		// regexp's; strings.ToLower does not fold those together.
		return c.re.MatchString(s)
	}
	lower := strings.ToLower(s)
	for _, n := range c.needles {
		if strings.Contains(lower, n) {
			return c.re.MatchString(s)
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
