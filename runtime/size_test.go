// Package runtime_test checks the deployable runtime binaries as a set.
package runtime_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/getflytrap/flytrap/internal/lambdax/lambdaxtest"
	"github.com/getflytrap/flytrap/internal/runtimebin"
)

// TestBinarySizes cross-builds every runtime binary for linux/arm64 exactly
// as releases do and checks it against its budget (runtimebin.Packages:
// 15 MiB for each Lambda, 30 MiB for the dashboard).
func TestBinarySizes(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles three binaries; skipped with -short")
	}
	for _, p := range runtimebin.Packages {
		dir := filepath.Base(p.Dir)
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			fi, err := os.Stat(lambdaxtest.Build(t, dir, "linux", "arm64"))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("runtime/%s: %d bytes (%.1f MiB)", dir, fi.Size(), float64(fi.Size())/(1<<20))
			if fi.Size() > p.MaxBytes {
				t.Errorf("runtime/%s is %d bytes; its budget is %d (%d MiB)", dir, fi.Size(), p.MaxBytes, p.MaxBytes>>20)
			}
		})
	}
}
