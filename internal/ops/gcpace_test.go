package ops

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// TestGCPacer drives the pacer tick by tick: each step adds events to the
// activity counter, moves the clock one second and says which GOGC the
// pacer must have set (0: none) and whether it freed memory. The live
// heap is 10 MiB unless a step says otherwise, and the heap goal 96 MiB.
func TestGCPacer(t *testing.T) {
	type step struct {
		events  int64
		wantSet int
		free    bool
		liveMiB uint64
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"a trickle leaves the collector alone", []step{{5, 0, false, 0}, {99, 0, false, 0}, {0, 0, false, 0}}},
		{"a burst raises GOGC once", []step{{100, 400, false, 0}, {5000, 0, false, 0}, {3000, 0, false, 0}}},
		{"quiet for 3s restores GOGC and frees", []step{
			{500, 400, false, 0}, {10, 0, false, 0}, {10, 0, false, 0}, {0, 100, true, 0}, {0, 0, false, 0},
		}},
		{"a pause shorter than Quiet keeps the room", []step{
			{500, 400, false, 0}, {0, 0, false, 0}, {0, 0, false, 0}, {500, 0, false, 0}, {0, 0, false, 0}, {0, 0, false, 0}, {0, 100, true, 0},
		}},
		{"busy again after idle", []step{
			{500, 400, false, 0}, {0, 0, false, 0}, {0, 0, false, 0}, {0, 100, true, 0}, {200, 400, false, 0},
		}},
		{"a growing live heap takes room back, in steps of 50", []step{
			{500, 400, false, 10}, {500, 200, false, 30}, {500, 0, false, 31}, {500, 100, false, 60},
			{500, 0, false, 200}, {500, 400, false, 12},
		}},
		{"a live heap past the goal from the start keeps the default", []step{
			{500, 0, false, 120}, {0, 0, false, 0}, {0, 0, false, 0}, {0, 0, true, 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				count   int64
				current = 100
				sets    []int
				freed   int
			)
			live := uint64(10 << 20)
			p := &GCPacer{Busy: 400, HeapGoal: 96 << 20, MinRate: 100, Quiet: 3 * time.Second, Activity: func() int64 { return count }}
			p.liveHeap = func() uint64 { return live }
			p.setPercent = func(v int) int {
				prev := current
				current = v
				sets = append(sets, v)
				return prev
			}
			p.readPercent = func() int64 { return int64(current) }
			p.setLimit = func(int64) int64 { return math.MaxInt64 }
			p.overhead = func() uint64 { return 0 }
			p.free = func() { freed++ }
			now := time.Unix(1_700_000_000, 0)
			p.start(now)
			for i, s := range tt.steps {
				sets, freed = nil, 0
				count += s.events
				if s.liveMiB != 0 {
					live = s.liveMiB << 20
				}
				now = now.Add(time.Second)
				p.tick(now)
				var want []int
				if s.wantSet != 0 {
					want = []int{s.wantSet}
				}
				if !slices.Equal(sets, want) {
					t.Errorf("step %d (%d events): set GOGC %v, want %v", i, s.events, sets, want)
				}
				if got := freed > 0; got != s.free {
					t.Errorf("step %d: freed memory %v, want %v", i, got, s.free)
				}
			}
		})
	}
}

// TestGCPacerRunRestores checks, on the real collector, that Run sets the
// busy GOGC under load and puts the one it found back when it stops.
func TestGCPacerRunRestores(t *testing.T) {
	prev := debug.SetGCPercent(150)
	prevLimit := debug.SetMemoryLimit(300 << 20)
	t.Cleanup(func() { debug.SetGCPercent(prev); debug.SetMemoryLimit(prevLimit) })
	var count int64
	busy := make(chan struct{})
	p := &GCPacer{Busy: 400, HeapGoal: 96 << 20, MinRate: 1, Quiet: time.Hour, Activity: func() int64 {
		count += 1000
		return count
	}}
	p.setPercent = func(v int) int {
		old := debug.SetGCPercent(v)
		if v == 400 {
			close(busy)
		}
		return old
	}
	p.readPercent = GCPercent
	p.setLimit = debug.SetMemoryLimit
	p.overhead = nonHeap
	p.free = debug.FreeOSMemory
	p.liveHeap = func() uint64 { return 1 << 20 }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, 5*time.Millisecond)
	}()
	select {
	case <-busy:
	case <-time.After(5 * time.Second):
		t.Fatal("the pacer never went busy")
	}
	cancel()
	<-done
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("GOGC after Run = %d, want the 150 it found", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("memory limit after Run = %d, want the %d it found", got, 300<<20)
	}
}

// TestGCPacerLimit drives the pacer's memory limit tick by tick: it is
// HeapGoal plus the runtime's memory outside the heap (5 MiB and a byte,
// rounded up to 102 MiB) while the pacer gives room, the limit found
// otherwise, and never above the limit found.
func TestGCPacerLimit(t *testing.T) {
	const mib = 1 << 20
	type step struct {
		events   int64
		liveMiB  uint64
		wantMiB  int64 // the limit in force after the tick
		wantSets int
	}
	tests := []struct {
		name     string
		foundMiB int64 // 0: none
		steps    []step
	}{
		{"busy with room caps the heap; quiet takes the cap off", 0, []step{
			{500, 10, 102, 1}, {500, 10, 102, 0}, {0, 10, 102, 0}, {0, 10, 102, 0}, {0, 10, 0, 1},
		}},
		{"a lower limit found is kept", 80, []step{{500, 10, 80, 0}, {0, 10, 80, 0}, {0, 10, 80, 0}, {0, 10, 80, 0}}},
		{"a higher limit found is lowered while busy", 200, []step{{500, 10, 102, 1}, {0, 10, 102, 0}, {0, 10, 102, 0}, {0, 10, 200, 1}}},
		{"no room, no cap", 0, []step{{500, 10, 102, 1}, {500, 60, 0, 1}, {500, 12, 102, 1}}},
		{"a live heap past the goal from the start keeps the limit found", 0, []step{{500, 120, 0, 0}, {500, 120, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var count int64
			gogc := 100
			limit := int64(math.MaxInt64)
			if tt.foundMiB != 0 {
				limit = tt.foundMiB * mib
			}
			found := limit
			live := uint64(10 * mib)
			sets := 0
			p := &GCPacer{Busy: 400, HeapGoal: 96 * mib, MinRate: 100, Quiet: 3 * time.Second, Activity: func() int64 { return count }}
			p.liveHeap = func() uint64 { return live }
			p.overhead = func() uint64 { return 5*mib + 1 }
			p.setPercent = func(v int) int { prev := gogc; gogc = v; return prev }
			p.readPercent = func() int64 { return int64(gogc) }
			p.setLimit = func(v int64) int64 {
				prev := limit
				if v >= 0 {
					limit = v
					sets++
				}
				return prev
			}
			p.free = func() {}
			now := time.Unix(1_700_000_000, 0)
			p.start(now)
			for i, s := range tt.steps {
				sets = 0
				count += s.events
				live = s.liveMiB * mib
				now = now.Add(time.Second)
				p.tick(now)
				want := found
				if s.wantMiB != 0 {
					want = s.wantMiB * mib
				}
				if limit != want || sets != s.wantSets {
					t.Errorf("step %d (%d events, live %d MiB): limit %d after %d sets, want %d after %d", i, s.events, s.liveMiB, limit, sets, want, s.wantSets)
				}
			}
		})
	}
}

// TestGCPacerCapsHeapGoal checks, on the real collector, that the room
// the pacer gives for a small live heap does not let a live heap that
// grew since its last tick aim far past HeapGoal: with GOGC 400 chosen
// for the test's few MiB, a live heap of 24 MiB would aim for 120 MiB.
func TestGCPacerCapsHeapGoal(t *testing.T) {
	prev := debug.SetGCPercent(100)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() { debug.SetGCPercent(prev); debug.SetMemoryLimit(prevLimit) })
	runtime.GC()

	var count, step atomic.Int64
	step.Store(1000)
	p := &GCPacer{Busy: 400, HeapGoal: 32 << 20, MinRate: 1, Quiet: time.Hour, Activity: func() int64 {
		return count.Add(step.Load())
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx, 5*time.Millisecond)
	}()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for GCPercent() != 400 {
		if time.Now().After(deadline) {
			t.Fatalf("GOGC %d, want the pacer's 400 for a live heap of %d bytes", GCPercent(), liveHeap())
		}
		time.Sleep(time.Millisecond)
	}
	// Below MinRate the pacer stays busy (Quiet is an hour) and leaves
	// its settings as they are, as between two ticks of a server.
	step.Store(0)
	time.Sleep(50 * time.Millisecond)

	ballast := make([]byte, 24<<20)
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/goal:bytes"}}
	metrics.Read(s)
	runtime.KeepAlive(ballast)
	if goal := s[0].Value.Uint64(); goal > 48<<20 {
		t.Errorf("heap goal %d MiB with a live heap of %d MiB, want at most 48 (HeapGoal 32 MiB and the runtime's own memory)", goal>>20, liveHeap()>>20)
	}
}
