package event

import (
	"net/url"
	"strings"
)

// Locates reports whether c is the source of frame f: the same line of the
// same file. The server SDKs send the frame's path; the browser SDKs send
// the stack line up to the line number ("at renderCart (http://host/app.js"),
// whose URL is compared by path, as the frame's host may differ in spelling
// and its query string (cache busters) is not part of the file.
func (c CodeContext) Locates(f *Frame) bool {
	if f.Lineno != c.Line {
		return false
	}
	file := stackLineFile(c.File)
	if file == "" {
		return false
	}
	filePath := urlPath(file)
	for _, p := range []string{f.AbsPath, f.Filename} {
		if p == "" {
			continue
		}
		if p == file || strings.HasSuffix(p, "/"+strings.TrimPrefix(file, "/")) {
			return true
		}
		if filePath != "" && (p == filePath || urlPath(p) == filePath) {
			return true
		}
	}
	return false
}

// stackLineFile strips what a stack line puts before the file: V8's "at "
// and "at name (", Firefox's and Safari's "name@".
func stackLineFile(s string) string {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "at "); ok {
		s = strings.TrimSpace(rest)
		if i := strings.LastIndex(s, " ("); i >= 0 {
			s = s[i+2:]
		}
		return strings.TrimPrefix(s, "(")
	}
	if i := strings.Index(s, "@"); i >= 0 && !strings.Contains(s[:i], "/") {
		return s[i+1:]
	}
	return s
}

// urlPath is the path of an absolute http(s) URL, "" for anything else.
func urlPath(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path == "" {
		return ""
	}
	return u.Path
}
