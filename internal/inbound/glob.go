package inbound

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds on a project's patterns, so that one event costs the filters
// at most about (MaxMatchedLen × MaxListLen) character comparisons per
// text matched: no backtracking, whatever the patterns (see Glob).
const (
	// MaxPatterns is the most patterns a project keeps per list.
	MaxPatterns = 50
	// MaxPatternLen is the longest pattern in bytes.
	MaxPatternLen = 200
	// MaxListLen bounds the bytes of a list's patterns together, each
	// counted once per alternative it expands to ("{a,b}c" counts as
	// "ac" and "bc").
	MaxListLen = 2000
	// MaxMatchedLen is how much of a message or release the patterns
	// are matched against, in bytes: ingest keeps longer texts, but a
	// pattern only a text longer than this matches is no filter people
	// write.
	MaxMatchedLen = 1024
)

// maxExpansions bounds the globs one pattern's alternatives ({a,b})
// expand to: "{a,b}{c,d}" is four.
const maxExpansions = 64

// ErrPattern is wrapped by the errors of patterns that are not globs.
var ErrPattern = errors.New("invalid pattern")

// Glob is a compiled glob pattern with the semantics of Sentry's Relay
// (relay-pattern, case-insensitive as the inbound filters use it): * is
// any run of characters, newlines and slashes included; ? is one
// character; [abc], [a-z] and [!a-z] (or [^a-z]) are classes; {a,b} is
// either alternative; \ makes the next character literal. The whole text
// must match.
//
// A pattern is compiled to its alternatives' expansions, each a list of
// segments between stars, each segment a fixed number of one-character
// tokens. Matching places the first segment at the start, the last at the
// end and each other at its leftmost place after the one before, which
// is exact for such patterns and takes at most (text length × pattern
// length) comparisons, without backtracking.
type Glob struct {
	alts [][]segment
	size int // bytes of the expansions together
}

// segment is the tokens between two stars.
type segment []token

// token matches one character: a lower-cased literal, any character
// (any), or a class.
type token struct {
	lit   rune
	any   bool
	class *class
}

type class struct {
	negated bool
	ranges  [][2]rune
}

func (c *class) contains(r rune) bool {
	for _, rg := range c.ranges {
		if r >= rg[0] && r <= rg[1] {
			return true
		}
	}
	return false
}

func (t token) match(r rune) bool {
	switch {
	case t.any:
		return true
	case t.class != nil:
		in := t.class.contains(r) || t.class.contains(unicode.ToLower(r)) || t.class.contains(unicode.ToUpper(r))
		return in != t.class.negated
	}
	return unicode.ToLower(r) == t.lit
}

// CompileGlob compiles a pattern, or returns an error wrapping ErrPattern
// that says what is wrong with it.
func CompileGlob(pattern string) (*Glob, error) {
	if len(pattern) > MaxPatternLen {
		return nil, fmt.Errorf("%w: %d bytes, longer than %d", ErrPattern, len(pattern), MaxPatternLen)
	}
	if !utf8.ValidString(pattern) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrPattern)
	}
	expansions, err := expand(pattern)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrPattern, pattern, err)
	}
	g := &Glob{}
	for _, e := range expansions {
		g.size += len(e)
		segs, err := parseSegments(e)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %v", ErrPattern, pattern, err)
		}
		g.alts = append(g.alts, segs)
	}
	return g, nil
}

// expand writes out the alternatives of a pattern: "a{b,c}" is "ab" and
// "ac". Escapes and classes are kept for parseSegments.
func expand(p string) ([]string, error) {
	out := []string{""}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 >= len(p) {
				return nil, errors.New(`it ends in an unescaped \`)
			}
			for j := range out {
				out[j] += p[i : i+2]
			}
			i++
		case '[':
			end, err := classEnd(p[i:])
			if err != nil {
				return nil, err
			}
			for j := range out {
				out[j] += p[i : i+end]
			}
			i += end - 1
		case '{':
			end := strings.IndexByte(p[i:], '}')
			if end < 0 {
				return nil, errors.New("{ without }")
			}
			body := p[i+1 : i+end]
			if strings.ContainsAny(body, `{\[`) {
				return nil, errors.New("alternatives {…} cannot hold braces, brackets or escapes")
			}
			alts := strings.Split(body, ",")
			if len(out)*len(alts) > maxExpansions {
				return nil, fmt.Errorf("alternatives make more than %d patterns", maxExpansions)
			}
			next := make([]string, 0, len(out)*len(alts))
			for _, o := range out {
				for _, a := range alts {
					next = append(next, o+a)
				}
			}
			out = next
			i += end
		case '}':
			return nil, errors.New("} without {")
		default:
			for j := range out {
				out[j] += string(c)
			}
		}
	}
	return out, nil
}

// classEnd returns the length of the class s starts with ("[…]"): a ]
// right after [, [! or [^ is a member, not the end.
func classEnd(s string) (int, error) {
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		i++
	}
	if i < len(s) && s[i] == ']' {
		i++
	}
	for ; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ']':
			return i + 1, nil
		}
	}
	return 0, errors.New("[ without ]")
}

// parseSegments splits an expanded pattern at its stars into segments.
func parseSegments(p string) ([]segment, error) {
	segs := []segment{{}}
	for i := 0; i < len(p); {
		r, n := utf8.DecodeRuneInString(p[i:])
		cur := &segs[len(segs)-1]
		switch r {
		case '*':
			segs = append(segs, segment{})
		case '?':
			*cur = append(*cur, token{any: true})
		case '\\':
			esc, m := utf8.DecodeRuneInString(p[i+n:])
			*cur = append(*cur, token{lit: unicode.ToLower(esc)})
			n += m
		case '[':
			end, _ := classEnd(p[i:])
			c, err := parseClass(p[i+1 : i+end-1])
			if err != nil {
				return nil, err
			}
			*cur = append(*cur, token{class: c})
			n = end
		default:
			*cur = append(*cur, token{lit: unicode.ToLower(r)})
		}
		i += n
	}
	return segs, nil
}

// parseClass reads the inside of a class: members and ranges.
func parseClass(s string) (*class, error) {
	c := &class{}
	if s != "" && (s[0] == '!' || s[0] == '^') {
		c.negated, s = true, s[1:]
	}
	var rs []rune
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\\' && i+n < len(s) {
			i += n
			r, n = utf8.DecodeRuneInString(s[i:])
		}
		rs = append(rs, r)
		i += n
		if i+1 < len(s) && s[i] == '-' {
			hi, m := utf8.DecodeRuneInString(s[i+1:])
			if hi < r {
				return nil, fmt.Errorf("range %c-%c is backwards", r, hi)
			}
			c.ranges = append(c.ranges, [2]rune{r, hi})
			rs = rs[:len(rs)-1]
			i += 1 + m
		}
	}
	for _, r := range rs {
		c.ranges = append(c.ranges, [2]rune{r, r})
	}
	return c, nil
}

// Match reports whether the whole of s (its first MaxMatchedLen bytes)
// matches. Like Relay, an empty text matches no pattern.
func (g *Glob) Match(s string) bool {
	return g.match(prepare(s))
}

// prepare is a text as Glob.match takes it: its first MaxMatchedLen
// bytes as characters.
func prepare(s string) []rune {
	if len(s) > MaxMatchedLen {
		s = s[:MaxMatchedLen]
	}
	return []rune(s)
}

func (g *Glob) match(text []rune) bool {
	if len(text) == 0 {
		return false
	}
	for _, segs := range g.alts {
		if matchSegments(segs, text) {
			return true
		}
	}
	return false
}

func matchSegments(segs []segment, text []rune) bool {
	first, last := segs[0], segs[len(segs)-1]
	if len(segs) == 1 {
		return len(first) == len(text) && matchAt(first, text)
	}
	if len(first)+len(last) > len(text) || !matchAt(first, text) || !matchAt(last, text[len(text)-len(last):]) {
		return false
	}
	rest := text[len(first) : len(text)-len(last)]
	for _, seg := range segs[1 : len(segs)-1] {
		at := find(seg, rest)
		if at < 0 {
			return false
		}
		rest = rest[at+len(seg):]
	}
	return true
}

// matchAt reports whether seg matches the start of text.
func matchAt(seg segment, text []rune) bool {
	if len(seg) > len(text) {
		return false
	}
	for i, t := range seg {
		if !t.match(text[i]) {
			return false
		}
	}
	return true
}

// find returns the leftmost place seg matches in text, or -1.
func find(seg segment, text []rune) int {
	for i := 0; i+len(seg) <= len(text); i++ {
		if matchAt(seg, text[i:]) {
			return i
		}
	}
	return -1
}
