// Package runtime_test checks the deployable runtime binaries as a set.
package runtime_test

import (
	"os"
	"testing"

	"github.com/getflytrap/flytrap/internal/lambdax/lambdaxtest"
)

// maxBinaryBytes is the budget for each runtime binary: small Lambda
// packages start faster, and the release embeds all three in the CLI.
const maxBinaryBytes = 15 << 20

// TestBinarySizes cross-builds every runtime binary for linux/arm64 exactly
// as releases do and checks it against the budget.
func TestBinarySizes(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles three binaries; skipped with -short")
	}
	for _, dir := range []string{"ingest", "processor", "dashboard"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			fi, err := os.Stat(lambdaxtest.Build(t, dir, "linux", "arm64"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("runtime/%s: %d bytes (%.1f MiB)", dir, fi.Size(), float64(fi.Size())/(1<<20))
			if fi.Size() >= maxBinaryBytes {
				t.Errorf("runtime/%s is %d bytes; the budget is %d", dir, fi.Size(), maxBinaryBytes)
			}
		})
	}
}
