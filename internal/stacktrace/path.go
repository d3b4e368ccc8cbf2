package stacktrace

import (
	"path"
	"strings"
)

// displayName derives a frame's Filename from the location as given (see
// Parse for the rules).
func displayName(abs string) string {
	p := abs
	if u, ok := urlPath(abs); ok {
		if !strings.HasPrefix(strings.ToLower(abs), "file:") {
			return u
		}
		// A file: URL (Node's ES modules) is a local path in disguise.
		p = u
	}
	switch {
	case p == "", p == "native", p == "[native code]",
		strings.HasPrefix(p, "<"), strings.HasPrefix(p, "node:"):
		// Engine pseudo-locations are already short and meaningful.
		return p
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if i := strings.LastIndex(p, "/node_modules/"); i >= 0 {
		// The last node_modules wins, so pnpm's nested store layout
		// (.pnpm/x@1/node_modules/x/...) shows the package path.
		return p[i+1:]
	}
	if rel, ok := pythonImportPath(p); ok {
		return rel
	}
	return p[strings.LastIndexByte(p, '/')+1:]
}

// urlPath returns the path part of a URL location (scheme://host/path),
// without query string or fragment.
func urlPath(s string) (string, bool) {
	i := strings.Index(s, "://")
	if i <= 0 || !IsScheme(s[:i]) {
		return "", false
	}
	rest := s[i+len("://"):]
	j := strings.IndexByte(rest, '/')
	if j < 0 {
		return "/", true
	}
	p := rest[j:]
	if k := strings.IndexAny(p, "?#"); k >= 0 {
		p = p[:k]
	}
	// Bundlers emit dot segments (webpack-internal:///./src/x.js) that
	// name the same file as the clean path.
	return path.Clean(p), true
}

// IsScheme reports whether s is a URL scheme (RFC 3986: a letter followed by
// letters, digits, "+", "-" or ".").
func IsScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && (isDigit(c) || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// pythonImportPath returns the part of a slash-separated path below a Python
// import root: site-packages, dist-packages or the standard library's
// lib/pythonX.Y directory.
func pythonImportPath(p string) (string, bool) {
	for _, root := range []string{"/site-packages/", "/dist-packages/"} {
		if i := strings.LastIndex(p, root); i >= 0 {
			return p[i+len(root):], true
		}
	}
	if i := stdlibRoot(p); i >= 0 {
		return p[i:], true
	}
	return "", false
}

// stdlibRoot returns the index just past "/lib/pythonX.Y/" in p, or -1. The
// version digits are required so an application directory that merely
// starts with "python" is not mistaken for the standard library.
func stdlibRoot(p string) int {
	const marker = "/lib/python"
	for off := 0; ; {
		i := strings.Index(p[off:], marker)
		if i < 0 {
			return -1
		}
		j := off + i + len(marker)
		k := j
		for k < len(p) && (isDigit(p[k]) || p[k] == '.') {
			k++
		}
		if k > j && isDigit(p[j]) && k < len(p) && p[k] == '/' {
			return k + 1
		}
		off = j
	}
}

// pythonModule derives the dotted module name of a Python file under an
// import root ("django/core/handlers/base.py" -> "django.core.handlers.base").
func pythonModule(file string) string {
	rel, ok := pythonImportPath(strings.ReplaceAll(file, `\`, "/"))
	if !ok {
		return ""
	}
	mod, ok := strings.CutSuffix(rel, ".py")
	if !ok || mod == "" {
		return ""
	}
	mod = strings.TrimSuffix(mod, "/__init__")
	return strings.ReplaceAll(mod, "/", ".")
}
