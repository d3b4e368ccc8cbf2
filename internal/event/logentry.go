package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FormatLogEntry fills a logentry's params into its message template, as
// Sentry's Relay does (relay-event-normalization, normalize/logentry.rs)
// when an SDK sends a template without formatted text: sentry-python's
// logging integration sends record.msg and record.args, sentry-cli
// send-event -m with -a the same. A template with a "%" is Python's
// printf style, "%s" and the like taking list params in order and
// "%(name)s" taking object params by key; one without, but with "{", is
// the "{}", "{0}" and "{name}" style of Java and .NET loggers.
//
// A template without placeholders is returned as it is. It reports false,
// and the template stays as sent, when the template does
// not parse or names a param that is missing or of the wrong kind: a log
// line is never lost to its format. Params left over are no error (they
// are kept on the event anyway). The result is cut off once it passes
// limit bytes, so a short template repeating a large param stays cheap.
func FormatLogEntry(template string, params any, limit int) (string, bool) {
	f := logFormatter{limit: limit}
	switch p := params.(type) {
	case []any:
		f.list = p
	case map[string]any:
		f.object = p
	default:
		// Python formats a single value that is not a tuple by itself.
		f.list = []any{p}
	}
	switch {
	case strings.IndexByte(template, '%') >= 0:
		return f.python(template)
	case strings.IndexByte(template, '{') >= 0:
		return f.curly(template)
	}
	return template, true
}

type logFormatter struct {
	list   []any
	object map[string]any
	next   int // the next positional param
	limit  int
	out    strings.Builder
}

// maxFormatWidth bounds the width and precision a placeholder may ask for,
// so "%999999999s" costs nothing.
const maxFormatWidth = 1024

// arg returns the param a placeholder names: by key when name is not
// empty, else the next one in order.
func (f *logFormatter) arg(name string, named bool) (any, bool) {
	if named {
		v, ok := f.object[name]
		return v, ok
	}
	if f.next >= len(f.list) {
		return nil, false
	}
	f.next++
	return f.list[f.next-1], true
}

// full reports whether the output has passed the limit.
func (f *logFormatter) full() bool { return f.out.Len() > f.limit }

// python formats a printf-style template as Python's % operator does:
// %[(name)][flags][width][.precision][length]type.
func (f *logFormatter) python(s string) (string, bool) {
	for i := 0; i < len(s) && !f.full(); {
		pct := strings.IndexByte(s[i:], '%')
		if pct < 0 {
			f.out.WriteString(s[i:])
			break
		}
		f.out.WriteString(s[i : i+pct])
		i += pct + 1
		if i < len(s) && s[i] == '%' {
			f.out.WriteByte('%')
			i++
			continue
		}
		var (
			name  string
			named bool
		)
		if i < len(s) && s[i] == '(' {
			// Python allows nested parentheses in the key.
			depth, j := 1, i+1
			for ; j < len(s) && depth > 0; j++ {
				switch s[j] {
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			if depth > 0 {
				return "", false
			}
			name, named, i = s[i+1:j-1], true, j
		}
		if named != (f.object != nil) {
			// A key needs object params and a position list params.
			return "", false
		}
		spec := []byte{'%'}
		for ; i < len(s) && strings.IndexByte("#0- +", s[i]) >= 0; i++ {
			spec = append(spec, s[i])
		}
		width, j, ok := digits(s, i)
		if !ok {
			return "", false
		}
		spec, i = append(spec, width...), j
		if i < len(s) && s[i] == '.' {
			prec, j, ok := digits(s, i+1)
			if !ok {
				return "", false
			}
			spec, i = append(append(spec, '.'), prec...), j
		}
		for i < len(s) && strings.IndexByte("hlL", s[i]) >= 0 {
			i++
		}
		if i >= len(s) {
			return "", false
		}
		conv := s[i]
		i++
		v, ok := f.arg(name, named)
		if !ok || !f.convert(spec, conv, v) {
			return "", false
		}
	}
	return f.out.String(), true
}

// digits reads an optional decimal number at s[i:], at most
// maxFormatWidth; "*" (a width taken from the params) is not supported.
func digits(s string, i int) (string, int, bool) {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j < len(s) && s[j] == '*' {
		return "", j, false
	}
	if j > i {
		if n, err := strconv.Atoi(s[i:j]); err != nil || n > maxFormatWidth {
			return "", j, false
		}
	}
	return s[i:j], j, true
}

// convert writes v under one Python conversion, through fmt with the same
// flags, width and precision.
func (f *logFormatter) convert(spec []byte, conv byte, v any) bool {
	switch conv {
	case 's':
		fmt.Fprintf(&f.out, string(spec)+"s", pyStr(v))
	case 'r', 'a':
		fmt.Fprintf(&f.out, string(spec)+"s", pyRepr(v))
	case 'd', 'i', 'u':
		n, ok := pyInt(v)
		if !ok {
			return false
		}
		fmt.Fprintf(&f.out, string(spec)+"d", n)
	case 'x', 'X', 'o':
		n, ok := pyInt(v)
		if !ok {
			return false
		}
		fmt.Fprintf(&f.out, string(spec)+string(conv), n)
	case 'e', 'E', 'f', 'F', 'g', 'G':
		x, ok := pyFloat(v)
		if !ok {
			return false
		}
		if (conv == 'g' || conv == 'G') && !strings.Contains(string(spec), ".") {
			spec = append(spec, ".6"...) // Python's default; Go's is the shortest
		}
		fmt.Fprintf(&f.out, string(spec)+string(conv), x)
	case 'c':
		var r rune
		switch x := v.(type) {
		case string:
			if utf8.RuneCountInString(x) != 1 {
				return false
			}
			r, _ = utf8.DecodeRuneInString(x)
		default:
			n, ok := pyInt(v)
			if !ok || n < 0 || n > utf8.MaxRune {
				return false
			}
			r = rune(n)
		}
		fmt.Fprintf(&f.out, string(spec)+"c", r)
	default:
		return false
	}
	return true
}

// curly formats a "{}", "{0}" or "{name}" template; "{{" and "}}" are
// braces. What follows ":" or "!" in a placeholder (a format spec) is
// ignored.
func (f *logFormatter) curly(s string) (string, bool) {
	for i := 0; i < len(s) && !f.full(); {
		j := strings.IndexAny(s[i:], "{}")
		if j < 0 {
			f.out.WriteString(s[i:])
			break
		}
		f.out.WriteString(s[i : i+j])
		i += j
		if i+1 < len(s) && s[i+1] == s[i] {
			f.out.WriteByte(s[i])
			i += 2
			continue
		}
		if s[i] == '}' {
			return "", false
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", false
		}
		key := s[i+1 : i+end]
		i += end + 1
		if k := strings.IndexAny(key, ":!"); k >= 0 {
			key = key[:k]
		}
		var (
			v  any
			ok bool
		)
		switch n, err := strconv.Atoi(key); {
		case key == "":
			v, ok = f.arg("", false)
		case err == nil:
			if ok = n >= 0 && n < len(f.list); ok {
				v = f.list[n]
			}
		default:
			v, ok = f.arg(key, true)
		}
		if !ok {
			return "", false
		}
		if str, isStr := v.(string); isStr {
			f.out.WriteString(str)
		} else {
			f.out.WriteString(compactJSON(v))
		}
	}
	return f.out.String(), true
}

// pyStr is str(v) for a param as Python would have printed the value the
// SDK serialized; lists and objects print as JSON.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return string(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case nil:
		return "None"
	}
	return compactJSON(v)
}

var reprEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`, "\t", `\t`)

// pyRepr is repr(v): strings quoted as Python quotes them.
func pyRepr(v any) string {
	s, ok := v.(string)
	if !ok {
		return pyStr(v)
	}
	s = reprEscaper.Replace(s)
	switch {
	case !strings.Contains(s, "'"):
		return "'" + s + "'"
	case !strings.Contains(s, `"`):
		return `"` + s + `"`
	}
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}

// pyInt reads a number (floats truncate, as Python's %d does) or a
// boolean; a string is Python's TypeError.
func pyInt(v any) (int64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n, true
		}
		if fl, err := strconv.ParseFloat(string(x), 64); err == nil && fl >= math.MinInt64 && fl < math.MaxInt64 {
			return int64(fl), true
		}
	}
	return 0, false
}

func pyFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case json.Number:
		fl, err := strconv.ParseFloat(string(x), 64)
		return fl, err == nil
	}
	return 0, false
}

// compactJSON writes a decoded param back as JSON, "<" and ">" as
// themselves (pages escape on output).
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// DecodeParams decodes MessageParams for FormatLogEntry, numbers as
// json.Number; it reports false for JSON that does not decode.
func DecodeParams(raw json.RawMessage) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}
