package auth

import (
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolReleasesWhenQuiet: the memory goes back once per burst, a quiet
// period after the last computation, never while one runs.
func TestPoolReleasesWhenQuiet(t *testing.T) {
	var releases atomic.Int32
	p := NewPool(2, time.Second)
	p.idKey = func(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte { return make([]byte, keyLen) }
	p.release = func() { releases.Add(1) }
	p.quiet = 50 * time.Millisecond

	for range 5 {
		if _, err := p.Hash("burst"); err != nil {
			t.Fatal(err)
		}
	}
	if n := releases.Load(); n != 0 {
		t.Fatalf("%d releases before the quiet period passed", n)
	}
	waitFor(t, func() bool { return releases.Load() == 1 })
	time.Sleep(3 * p.quiet)
	if n := releases.Load(); n != 1 {
		t.Fatalf("%d releases after one burst, want 1", n)
	}

	// A computation still running holds the release back, even when
	// another ends.
	p.started()
	p.started()
	p.finished()
	time.Sleep(3 * p.quiet)
	if n := releases.Load(); n != 1 {
		t.Fatalf("released while a computation ran (%d releases)", n)
	}
	p.finished()
	waitFor(t, func() bool { return releases.Load() == 2 })
}

// TestPoolGivesArgonMemoryBack runs a real hash through a pool as NewPool
// makes it (its quiet period shortened): afterwards the heap holds neither
// Argon2's 64 MiB nor the pages they took.
func TestPoolGivesArgonMemoryBack(t *testing.T) {
	p := NewPool(1, time.Second)
	p.quiet = 10 * time.Millisecond
	if _, err := p.Hash("correct horse"); err != nil {
		t.Fatal(err)
	}
	samples := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	held := func() uint64 {
		metrics.Read(samples)
		return samples[0].Value.Uint64() + samples[1].Value.Uint64()
	}
	waitFor(t, func() bool { return held() < 32<<20 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
	}
}
