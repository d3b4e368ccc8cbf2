package ops

import (
	"context"
	"runtime/debug"
	"slices"
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
	t.Cleanup(func() { debug.SetGCPercent(prev) })
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
}
