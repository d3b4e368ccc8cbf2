package grouping

import (
	"strings"

	"github.com/getflytrap/flytrap/internal/stacktrace"
)

// normalizeFilename reduces a frame's file name to what stays the same
// across deployments of the same code: no URL scheme or host (one bundle is
// served from several hosts and CDNs), no query string or fragment (cache
// busting), and no content hashes in path segments ("app.3f9a1c.js" ->
// "app.js"), which change with every build.
func normalizeFilename(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "://"); i > 0 && stacktrace.IsScheme(s[:i]) {
		rest := s[i+len("://"):]
		s = "/"
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			s = rest[j:]
		}
	}
	if k := strings.IndexAny(s, "?#"); k >= 0 {
		s = s[:k]
	}
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		segs[i] = stripHashes(seg, i == len(segs)-1)
	}
	return strings.Join(segs, "/")
}

// stripHashes removes content hashes from one path segment. Dot-separated
// parts that are hashes are dropped ("main.3f9a1c2b.chunk.js" ->
// "main.chunk.js"), or become "<hash>" when they are the name itself
// ("3f9a1c2b.js"); a hash appended with "-" is cut off ("index-D8b4DHJx.js"
// -> "index.js"). The extension of the last segment is left alone.
func stripHashes(seg string, last bool) string {
	parts := strings.Split(seg, ".")
	checked := len(parts)
	if last && checked > 1 {
		checked--
	}
	kept := make([]string, 0, len(parts))
	for i, p := range parts {
		if i < checked {
			if isHexHash(p) {
				if i == 0 {
					kept = append(kept, "<hash>")
				}
				continue
			}
			p = stripHashSuffix(p)
		}
		kept = append(kept, p)
	}
	return strings.Join(kept, ".")
}

// stripHashSuffix cuts a "-hash" suffix: hex of any length (webpack,
// Next.js, esbuild) or Rollup/Vite's eight base64url characters.
func stripHashSuffix(p string) string {
	if i := strings.LastIndexByte(p, '-'); i > 0 && isHexHash(p[i+1:]) {
		return p[:i]
	}
	if n := len(p); n > 9 && p[n-9] == '-' && isBase64Hash(p[n-8:]) {
		return p[:n-9]
	}
	return p
}

// isHexHash reports whether s looks like a hex content hash: at least six hex
// digits, at least one of them a decimal digit so that words spelled in hex
// letters ("facade") are not taken for hashes.
func isHexHash(s string) bool {
	if len(s) < 6 {
		return false
	}
	digit := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			digit = true
		case 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return digit
}

// isBase64Hash reports whether s is an eight-character base64url hash as
// Rollup and Vite append. Requiring a digit or an upper-case letter keeps
// plain lower-case words ("-settings") as they are; a rare name that looks
// like a hash loses a suffix, which merges at most two files that also share
// every function name, whereas a kept hash would split every issue on every
// deployment.
func isBase64Hash(s string) bool {
	if len(s) != 8 {
		return false
	}
	marked := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c), 'A' <= c && c <= 'Z':
			marked = true
		case 'a' <= c && c <= 'z', c == '_', c == '-':
		default:
			return false
		}
	}
	return marked
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
