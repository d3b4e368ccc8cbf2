package dev

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsUseDefaultPort: the docs' commands that reach a local `flytrap
// dev` (flytrap login, FLYTRAP_URL, SENTRY_URL, sentry-cli --url) use the
// port it listens on by default, so they work as pasted.
func TestDocsUseDefaultPort(t *testing.T) {
	_, want, err := net.SplitHostPort(DefaultAddr)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..", "..", "..")
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs found: %v", err)
	}
	files = append(files, filepath.Join(root, "README.md"))
	local := regexp.MustCompile(`(?:flytrap login|FLYTRAP_URL=|SENTRY_URL=|--url)\s*http://(?:127\.0\.0\.1|localhost):(\d+)`)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range local.FindAllStringSubmatch(line, -1) {
				if m[1] != want {
					t.Errorf("%s:%d: %q: flytrap dev listens on port %s by default", filepath.Base(name), i+1, m[0], want)
				}
			}
		}
	}
}
