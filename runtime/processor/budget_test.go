package main

import (
	"testing"

	"github.com/getflytrap/flytrap/internal/symbolicate"
)

// TestMemoryBudget: at every memory size the plan allows (processor_memory_mb,
// 128 to 10240 MB) the symbolicator's worst case, its caches full and one map
// of the largest size being parsed, leaves a quarter of what the collector
// may use for the batch and the rest of the process, and that is under the
// function's memory, which Lambda enforces by ending the environment. Without
// a limit the collector lets the heap reach about twice what is live, so then
// only half the memory may be live.
func TestMemoryBudget(t *testing.T) {
	for _, memoryMB := range []int64{128, 256, 512, 1024, 3008, 10240} {
		b := newMemoryBudget(memoryMB)
		memory := memoryMB << 20
		usable := b.limitMB << 20
		if b.limitMB <= 0 {
			usable = memory / 2
		}
		if usable >= memory {
			t.Errorf("%d MB: memory limit %d MB is not under the function's memory", memoryMB, b.limitMB)
		}
		or := func(v, def int64) int64 {
			if v > 0 {
				return v
			}
			return def
		}
		worst := or(b.maps, symbolicate.DefaultCacheBytes) + or(b.sources, symbolicate.DefaultSourceCacheBytes) +
			or(b.maxMap, symbolicate.DefaultMaxMapSize)
		if worst > usable*3/4 {
			t.Errorf("%d MB: caches and one parse take up to %d MB of the %d MB the collector may use; want at most 3/4",
				memoryMB, worst>>20, usable>>20)
		}
	}
	// The small preset's 512 MB keeps the sizes the symbolicator was
	// measured with.
	b := newMemoryBudget(512)
	if b.maps != symbolicate.DefaultCacheBytes || b.sources != symbolicate.DefaultSourceCacheBytes || b.maxMap != symbolicate.DefaultMaxMapSize {
		t.Errorf("512 MB: %+v, want the symbolicator's defaults", b)
	}
	if b := newMemoryBudget(0); b != (memoryBudget{}) {
		t.Errorf("off Lambda: %+v, want the defaults and no limit", b)
	}
}
