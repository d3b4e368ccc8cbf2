// Package stacktrace turns the text stack traces that the Flytrap SDKs send
// (V8/Node, Firefox, Safari and Python tracebacks) into the normalized frame
// model, marks which frames belong to the application, and recovers the
// exception type and value from a stack that arrived without them.
//
// Everything here reads untrusted input: parsing never panics, runs in time
// linear in the input (hand-written scanners, no backtracking regexps) and
// returns at most 250 frames.
package stacktrace

import (
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// maxFrames caps the frames Parse returns. A runaway recursion can print
// thousands of identical frames; the innermost ones say where it failed and
// the outermost ones say how it started, so those are what we keep.
const maxFrames = 250

// maxNumberDigits bounds line and column numbers so that they fit an int on
// every platform and can never come out negative after an overflow.
const maxNumberDigits = 9

// pythonHeader starts every Python traceback, including each link of a
// chained exception.
const pythonHeader = "Traceback (most recent call last):"

// Parse parses a text stack trace into frames, oldest call first (the Sentry
// order). The format is detected from the text: if any line is a Python
// traceback frame (`File "x.py", line 3, in fn`) the text is read as a
// Python traceback; otherwise each line is tried as a V8/Node frame
// (`at fn (file:1:2)`) and then as a Firefox/Safari frame (`fn@file:1:2`).
// Lines that are not frames, such as the leading `TypeError: msg`, are
// skipped.
//
// For chained Python exceptions ("During handling of the above exception..."
// or "The above exception was the direct cause..."), only the frames of the
// last traceback are returned: that is the outermost exception, the one whose
// type and value ParseTitle reports, so frames and title describe the same
// error.
//
// Filename is a short display path: the path part of a URL
// (`/static/app.min.js`), the path from `node_modules/` or from a Python
// import root (`django/core/handlers/base.py`) onwards for library code, and
// the base name otherwise, so it does not change when the application is
// deployed to a different directory. AbsPath is the location as given.
// Module is set only for Python frames under an import root (site-packages,
// dist-packages, the standard library), where the dotted module name can be
// derived from the path without knowing the application's sys.path; it is
// empty otherwise.
func Parse(text string) []event.Frame {
	var js, py frameBuffer
	// awaitingSource is set right after a Python frame line, whose source
	// line, if the interpreter could read the file, follows it.
	awaitingSource := false
	for line := range strings.Lines(text) {
		raw := strings.TrimRight(line, "\r\n")
		trimmed := strings.TrimSpace(raw)
		if awaitingSource {
			awaitingSource = false
			if isPythonSource(raw, trimmed) {
				py.last().ContextLine = trimmed
				continue
			}
		}
		if trimmed == "" {
			continue
		}
		if trimmed == pythonHeader {
			py.reset()
			continue
		}
		if f, ok := parsePython(trimmed); ok {
			py.push(f)
			awaitingSource = true
			continue
		}
		if f, ok := parseJSLine(trimmed); ok {
			js.push(f)
		}
	}
	if py.n > 0 {
		// Python prints the most recent call last: already Sentry order.
		return py.frames()
	}
	frames := js.frames()
	// JavaScript engines print the most recent call first.
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	return frames
}

// parseJSLine parses one trimmed line as a V8 frame or, failing that, as a
// Firefox/Safari frame.
func parseJSLine(line string) (event.Frame, bool) {
	if strings.HasPrefix(line, "at ") {
		// A line starting with "at " is only ever read as V8, so that an "@"
		// inside a V8 location cannot turn it into a bogus Firefox frame.
		return parseV8(line)
	}
	return parseGecko(line)
}

// frameBuffer collects frames in input order but keeps only the first and
// the last maxFrames/2 of them, so memory stays bounded however long the
// input is.
type frameBuffer struct {
	head  []event.Frame
	tail  []event.Frame // ring buffer once full; start is its oldest entry
	start int
	n     int // frames pushed, including dropped ones
}

const (
	headFrames = maxFrames / 2
	tailFrames = maxFrames - headFrames
)

func (b *frameBuffer) push(f event.Frame) {
	b.n++
	switch {
	case len(b.head) < headFrames:
		b.head = append(b.head, f)
	case len(b.tail) < tailFrames:
		b.tail = append(b.tail, f)
	default:
		b.tail[b.start] = f
		b.start = (b.start + 1) % tailFrames
	}
}

// last returns the most recently pushed frame; the buffer must not be empty.
func (b *frameBuffer) last() *event.Frame {
	switch {
	case len(b.tail) == 0:
		return &b.head[len(b.head)-1]
	case len(b.tail) < tailFrames:
		return &b.tail[len(b.tail)-1]
	default:
		return &b.tail[(b.start+tailFrames-1)%tailFrames]
	}
}

func (b *frameBuffer) reset() { *b = frameBuffer{} }

// frames returns the kept frames in input order.
func (b *frameBuffer) frames() []event.Frame {
	out := make([]event.Frame, 0, len(b.head)+len(b.tail))
	out = append(out, b.head...)
	out = append(out, b.tail[b.start:]...)
	return append(out, b.tail[:b.start]...)
}

// parseV8 parses a trimmed V8 frame line:
//
//	at fn (file:line:col)          at file:line:col
//	at async fn (file:line:col)    at async file:line:col
//	at new Foo (file:line:col)     at Object.<anonymous> (file:line:col)
//	at fn (native)                 at new Promise (<anonymous>)
//	at Promise.all (index 0)
//	at eval (eval at fn (file:1:2), <anonymous>:3:4)
func parseV8(line string) (event.Frame, bool) {
	rest := strings.TrimSpace(strings.TrimPrefix(line, "at "))
	// "async" marks an awaited call in Node's async stack traces; it is not
	// part of the function's name, and keeping it would make the same
	// function look different depending on how it was reached.
	rest = strings.TrimPrefix(rest, "async ")
	fn, loc := "", rest
	if strings.HasSuffix(rest, ")") {
		if open := matchingOpenParen(rest); open >= 0 {
			fn = strings.TrimSpace(rest[:open])
			loc = rest[open+1 : len(rest)-1]
		}
	}
	if inner, ok := strings.CutPrefix(loc, "eval at "); ok {
		loc = evalCallSite(inner)
	}
	file, lineno, colno, ok := parseV8Location(loc)
	if !ok {
		return event.Frame{}, false
	}
	return newFrame(fn, file, lineno, colno), true
}

// matchingOpenParen returns the index of the "(" that matches the final ")"
// of s, or -1. One backward scan keeps nested eval locations linear.
func matchingOpenParen(s string) int {
	depth := 0
	for i := len(s) - 1; i >= 0; i-- {
		switch s[i] {
		case ')':
			depth++
		case '(':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// evalCallSite picks, from a V8 eval location such as
// "fn (eval at g (file:1:2), <anonymous>:3:4), <anonymous>:5:6", the
// innermost parenthesised location: the real file and position where eval
// was called. The position inside the evaluated string refers to code that
// exists in no file, so it is useless for finding the source.
func evalCallSite(loc string) string {
	if c := strings.IndexByte(loc, ')'); c >= 0 {
		if o := strings.LastIndexByte(loc[:c], '('); o >= 0 {
			return loc[o+1 : c]
		}
	}
	if i := strings.LastIndex(loc, ", "); i >= 0 {
		return loc[i+2:]
	}
	return loc
}

// parseV8Location splits a V8 location into file, line and column. It
// reports false for text that is not a location (for instance a message line
// that happens to start with "at"), so such lines are skipped.
func parseV8Location(loc string) (file string, line, col int, ok bool) {
	switch {
	case loc == "native", loc == "<anonymous>":
		return loc, 0, 0, true
	case loc == "unknown location", strings.HasPrefix(loc, "index "):
		// Built-ins such as Promise.all report no file at all.
		return "", 0, 0, true
	}
	file, line, col = splitLineCol(loc)
	return file, line, col, line > 0 && file != ""
}

// parseGecko parses a trimmed Firefox (SpiderMonkey) or Safari
// (JavaScriptCore) frame line:
//
//	fn@file:line:col          @file:line:col       a/b<@file:line:col
//	async*fn@file:line:col    global code@file:line:col
//	forEach@[native code]     fn@file line 12 > eval:1:5
func parseGecko(line string) (event.Frame, bool) {
	// The first "@" separates function and location: function names never
	// contain one, but URLs may (https://cdn/pkg@1.2.3/x.js).
	fn, loc, found := strings.Cut(line, "@")
	if !found || strings.Contains(fn, ": ") {
		// "Error: bad email a@b.example" is a message, not a frame.
		return event.Frame{}, false
	}
	// Firefox prefixes frames reached across an async boundary with the
	// cause ("async*", "promise callback*", "setTimeout handler*"); like
	// V8's "async", it describes the call, not the function.
	if i := strings.LastIndexByte(fn, '*'); i >= 0 {
		fn = fn[i+1:]
	}
	if loc == "[native code]" {
		return newFrame(fn, loc, 0, 0), true
	}
	// Code run by eval or new Function is reported at the call site:
	// "file line 12 > eval:1:5" or "file line 12 > Function:1:5".
	if i := strings.Index(loc, " line "); i > 0 && strings.Contains(loc[i:], " > ") {
		if n, ok := leadingNumber(loc[i+len(" line "):]); ok {
			return newFrame(fn, loc[:i], n, 0), true
		}
	}
	file, lineno, colno := splitLineCol(loc)
	if lineno == 0 || file == "" {
		return event.Frame{}, false
	}
	return newFrame(fn, file, lineno, colno), true
}

// parsePython parses a trimmed Python traceback frame line:
//
//	File "/app/views.py", line 3, in handler
//	File "/app/views.py", line 3          (SyntaxError)
func parsePython(line string) (event.Frame, bool) {
	rest, ok := strings.CutPrefix(line, `File "`)
	if !ok {
		return event.Frame{}, false
	}
	i := strings.LastIndex(rest, `", line `)
	if i < 0 {
		return event.Frame{}, false
	}
	path := rest[:i]
	rest = rest[i+len(`", line `):]
	digits := 0
	for digits < len(rest) && isDigit(rest[digits]) {
		digits++
	}
	n, ok := parseNumber(rest[:digits])
	if !ok || path == "" {
		return event.Frame{}, false
	}
	fn := ""
	if tail := rest[digits:]; tail != "" {
		if fn, ok = strings.CutPrefix(tail, ", in "); !ok {
			return event.Frame{}, false
		}
	}
	f := newFrame(fn, path, n, 0)
	f.Module = pythonModule(path)
	return f, true
}

// isPythonSource reports whether a line following a Python frame line is
// that frame's source line (indented by the interpreter) rather than the
// next frame, a caret marker or the exception line.
func isPythonSource(raw, trimmed string) bool {
	if trimmed == "" || raw == trimmed || trimmed == pythonHeader {
		return false
	}
	if strings.HasPrefix(trimmed, `File "`) || strings.HasPrefix(trimmed, "[Previous line repeated") {
		return false
	}
	// Python 3.11+ underlines the failing expression with ^ and ~.
	return strings.Trim(trimmed, "^~ ") != ""
}

// newFrame builds a frame for a location as it appeared in the stack.
func newFrame(fn, absPath string, line, col int) event.Frame {
	return event.Frame{
		Function: fn,
		AbsPath:  absPath,
		Filename: displayName(absPath),
		Lineno:   line,
		Colno:    col,
	}
}

// splitLineCol splits "file:line:col" or "file:line" from the right, so
// colons inside the file part (URLs with ports, Windows drive letters) are
// left alone. Without a trailing number, all of loc is the file.
func splitLineCol(loc string) (file string, line, col int) {
	file, n, ok := cutNumberSuffix(loc)
	if !ok {
		return loc, 0, 0
	}
	if f, m, ok := cutNumberSuffix(file); ok {
		return f, m, n
	}
	if i := strings.LastIndexByte(file, ':'); i >= 0 && allDigits(file[i+1:]) {
		// A line number too long to trust: the frame is garbage, and
		// reading its column as the line would point somewhere else.
		return loc, 0, 0
	}
	return file, n, 0
}

// cutNumberSuffix splits s at its last ":" if only a number follows it.
func cutNumberSuffix(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, 0, false
	}
	n, ok := parseNumber(s[i+1:])
	if !ok {
		return s, 0, false
	}
	return s[:i], n, true
}

// leadingNumber parses the decimal number at the start of s.
func leadingNumber(s string) (int, bool) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return parseNumber(s[:i])
}

// parseNumber parses a non-empty run of at most maxNumberDigits digits.
func parseNumber(s string) (int, bool) {
	if len(s) > maxNumberDigits || !allDigits(s) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// allDigits reports whether s is a non-empty run of decimal digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
