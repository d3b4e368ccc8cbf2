// Package samples finds the Sentry SDKs' sample events (getsentry/sentry's
// src/sentry/data/samples), kept outside the repository, for the tests
// that hold Flytrap to every one of them.
package samples

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the samples' directory: FLYTRAP_SENTRY_SAMPLES, else
// ../shared/fixtures/sentry-samples beside the repository, seen from a
// package two levels down (internal/x). Without it the test is skipped,
// and fails under CI=true, where a skip would hide a lost check.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("FLYTRAP_SENTRY_SAMPLES")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures", "sentry-samples")
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Sentry samples not found at %s (set FLYTRAP_SENTRY_SAMPLES): %v", dir, err)
		}
		t.Skipf("Sentry samples not found at %s; set FLYTRAP_SENTRY_SAMPLES to run this test", dir)
	}
	return dir
}

// Read returns the sample event name (python-modern.json, say) from Dir.
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t), name))
	if err != nil {
		t.Fatalf("Sentry sample %s: %v", name, err)
	}
	return b
}
