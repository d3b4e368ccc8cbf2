package ingest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// trimRaw makes a JSON value that encodes to more than limit (size bytes,
// maxRawJSON for extra and the other data bags, maxFrameVars for a frame's
// local variables) fit, keeping as much of it as it can, as Sentry trims data bags
// value by value rather than dropping them: one 300 KB log tail in extra
// must not take extra.small, or the os and trace contexts, with it.
//
// First it cuts the longest strings (values and keys) to one common
// length, the longest that makes the whole fit, so every shorter string is
// kept whole. Only when strings are not what makes it large (tens of
// thousands of small members) does it then keep members in order until
// the limit and drop the rest. Either way a note says what was cut.
func (d *decoder) trimRaw(path where, v any, size, limit int) json.RawMessage {
	name := path.String()
	var lens []int
	stringLengths(v, &lens)
	excess := size - limit
	for range 3 {
		c, ok := stringCap(lens, excess)
		if !ok {
			break
		}
		var cut []string
		t := capStrings(v, c, name, &cut)
		b := marshalJSON(t)
		if len(b) <= limit {
			d.note("%s was over %d bytes of JSON: cut %s to %d bytes (%s)", name, limit, plural(len(cut), "string"), c, listNames(cut))
			return b
		}
		// Escapes made the encoding longer than the lengths said: ask
		// for that much more.
		excess += len(b) - limit
	}
	// Strings are not the bulk: cap them short, then keep members while
	// they fit.
	short := min(1<<10, limit/16)
	var cut []string
	t := capStrings(v, short, name, &cut)
	budget, dropped := limit-2*short, 0
	t = keepMembers(t, &budget, &dropped)
	b := marshalJSON(t)
	if len(b) > limit {
		d.note("dropped %s: %d bytes of JSON exceed the limit of %d", path, size, limit)
		return nil
	}
	what := "dropped " + plural(dropped, "member") + " beyond the limit"
	if len(cut) > 0 {
		what += fmt.Sprintf(" and cut %s to %d bytes (%s)", plural(len(cut), "string"), short, listNames(cut))
	}
	d.note("%s was over %d bytes of JSON: %s", name, limit, what)
	return b
}

// stringLengths appends the encoded length of every string in v, keys
// included.
func stringLengths(v any, lens *[]int) {
	switch x := v.(type) {
	case string:
		*lens = append(*lens, encodedLen(x))
	case map[string]any:
		for k, e := range x {
			*lens = append(*lens, encodedLen(k))
			stringLengths(e, lens)
		}
	case []any:
		for _, e := range x {
			stringLengths(e, lens)
		}
	}
}

// stringCap returns the longest length c such that cutting every string
// longer than c to c bytes saves at least excess bytes; false when even
// cutting all of them to nothing would not.
func stringCap(lens []int, excess int) (int, bool) {
	saved := func(c int) int {
		n := 0
		for _, l := range lens {
			if l > c {
				n += l - c
			}
		}
		return n
	}
	if len(lens) == 0 || saved(len("…")) < excess {
		return 0, false
	}
	lo, hi := len("…"), slices.Max(lens) // saved(lo) >= excess; find the largest such
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if saved(mid) >= excess {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, true
}

// capStrings returns a copy of v whose strings (values and keys) are cut
// to at most c bytes encoded, appending the names of those it cut to cut.
func capStrings(v any, c int, name string, cut *[]string) any {
	switch x := v.(type) {
	case string:
		if encodedLen(x) > c {
			*cut = append(*cut, name)
			return cutEncoded(x, c)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		// In key order, as the map encodes, so that the note names the
		// cut members in the same order every time.
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			child := name + "." + noteKey(k)
			if encodedLen(k) > c {
				*cut = append(*cut, child+" (its key)")
				k = cutEncoded(k, c)
			}
			out[k] = capStrings(e, c, child, cut)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = capStrings(e, c, name+"["+strconv.Itoa(i)+"]", cut)
		}
		return out
	}
	return v
}

// encodedLen is the length of s in JSON as marshalJSON writes it, without
// the quotes.
func encodedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			n += asciiEscape(b)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		n += runeEscape(r, size)
		i += size
	}
	return n
}

// asciiEscape is how many bytes more than one an ASCII byte takes in JSON.
func asciiEscape(b byte) int {
	switch {
	case b == '"' || b == '\\' || b == '\n' || b == '\r' || b == '\t' || b == '\b' || b == '\f':
		return 1
	case b < 0x20:
		return 5 // \u00XX
	}
	return 0
}

// runeEscape is how many bytes more than its size a multi-byte rune takes.
func runeEscape(r rune, size int) int {
	switch {
	case r == utf8.RuneError && size == 1:
		return 5 // \ufffd for an invalid byte
	case r == '\u2028' || r == '\u2029':
		return 6 - size
	}
	return 0
}

// cutEncoded cuts s to at most c bytes encoded, on a rune boundary, ending
// in "…".
func cutEncoded(s string, c int) string {
	budget, i := c-len("…"), 0
	for i < len(s) {
		var size, n int
		if s[i] < utf8.RuneSelf {
			size, n = 1, 1+asciiEscape(s[i])
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			n = size + runeEscape(r, size)
		}
		if n > budget {
			break
		}
		budget -= n
		i += size
	}
	return clamp(s[:i], i) + "…"
}

// keepMembers returns a copy of v holding its members, depth first and in
// the order they encode (keys sorted), while their approximate encoded
// size fits budget; it counts the members it leaves out in dropped.
func keepMembers(v any, budget, dropped *int) any {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		out := make(map[string]any, len(x))
		for _, k := range keys {
			if *budget <= 0 {
				*dropped++
				continue
			}
			*budget -= len(k) + 4
			out[k] = keepMembers(x[k], budget, dropped)
		}
		return out
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if *budget <= 0 {
				*dropped++
				continue
			}
			*budget--
			out = append(out, keepMembers(e, budget, dropped))
		}
		return out
	case string:
		*budget -= len(x) + 2
	case json.Number:
		*budget -= len(x)
	default:
		*budget -= 5
	}
	return v
}

// listNames names at most three members for a note.
func listNames(names []string) string {
	if len(names) > 3 {
		return strings.Join(names[:3], ", ") + fmt.Sprintf(" and %d more", len(names)-3)
	}
	return strings.Join(names, ", ")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
