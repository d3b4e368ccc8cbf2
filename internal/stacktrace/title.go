package stacktrace

import "strings"

// maxTypeLen bounds what ParseTitle accepts as an exception type; a longer
// "type" is a sentence with a colon in it, not a class name.
const maxTypeLen = 128

// ParseTitle returns the exception type and value that a text stack states,
// for events whose SDK sent only a stack.
//
// A V8 stack starts with them (`TypeError: msg`, `Error [ERR_X]: msg`,
// `Uncaught TypeError: msg`); a message spanning several lines continues up
// to the first frame. A Python traceback ends with them (`ValueError: msg`,
// `KeyError: 'id'`, a bare `StopIteration`); for chained exceptions the last
// traceback's exception is returned, matching the frames Parse returns.
// Firefox and Safari stacks hold only frames, so both results are empty. A
// statement that names no type (`Uncaught a string was thrown`) is returned
// as the value with an empty type.
func ParseTitle(text string) (typ, value string) {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	if start, ok := pythonTitleStart(lines); ok {
		if start < 0 {
			return "", ""
		}
		return splitTitle(joinTrimmed(lines[start:]))
	}
	first := 0
	for first < len(lines) && strings.TrimSpace(lines[first]) == "" {
		first++
	}
	end := first
	for end < len(lines) {
		if _, isFrame := parseJSLine(strings.TrimSpace(lines[end])); isFrame {
			break
		}
		end++
	}
	if end == first {
		return "", ""
	}
	return splitTitle(joinTrimmed(lines[first:end]))
}

// pythonTitleStart finds, in a Python traceback, the line where the last
// traceback's exception begins: the first unindented line after that
// traceback's header and frames. It reports false when lines are not a
// Python traceback, and -1 when a traceback has no exception line.
func pythonTitleStart(lines []string) (int, bool) {
	isPython := false
	start := -1
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if trimmed == pythonHeader {
			isPython, start = true, -1
			continue
		}
		if _, ok := parsePython(trimmed); ok {
			isPython, start = true, -1
			continue
		}
		if isPython && start < 0 && trimmed != "" && trimmed == l {
			start = i
		}
	}
	return start, isPython
}

// joinTrimmed joins lines with newlines, dropping surrounding blank space.
func joinTrimmed(lines []string) string {
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// splitTitle splits "Type: value" into its parts. Text that does not start
// with a type name is all value.
func splitTitle(s string) (typ, value string) {
	s = strings.TrimPrefix(s, "Uncaught ")
	head, rest, found := strings.Cut(s, ":")
	if !found {
		if isTypeName(s) {
			return s, ""
		}
		return "", s
	}
	// The colon must end the line or be followed by a space, so that
	// "https://host is down" is not read as type "https".
	if !isTypeName(head) || rest != "" && rest[0] != ' ' {
		return "", s
	}
	return head, strings.TrimSpace(rest)
}

// isTypeName reports whether s looks like an exception class name: a dotted
// identifier (`TypeError`, `requests.exceptions.ConnectionError`),
// optionally followed by Node's error code in brackets (`Error [ERR_X]`).
func isTypeName(s string) bool {
	if s == "" || len(s) > maxTypeLen {
		return false
	}
	name, code, hasCode := strings.Cut(s, " [")
	if hasCode {
		code, ok := strings.CutSuffix(code, "]")
		if !ok || code == "" || strings.ContainsAny(code, " []") {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '$':
		case i > 0 && (isDigit(c) || c == '.'):
		default:
			return false
		}
	}
	return name != ""
}
