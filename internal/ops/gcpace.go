package ops

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// GCPacer gives the garbage collector more room while the server is busy
// and the heap is small, and takes it back once the server has been quiet.
//
// Under load the live heap of `flytrap dev` is small (10 to 20 MB), so at
// the default GOGC of 100 the collector runs several times a second: its
// marking, assists and sweeping took 11% of the server's CPU in a 2 KB
// load. With more room the same load was accepted 10 to 20% faster, 50 KB
// events too. The room is bounded by a heap goal rather than a fixed GOGC:
// at 128 connections of 50 KB events the live heap is several times
// larger, and a GOGC of 400 there took RSS past 250 MB where the default
// held 152 MB (docs/benchmarks.md, "The collector under load").
// Idle, the default keeps the heap and RSS small, and the switch back to
// it returns what the busy spell grew to the OS.
type GCPacer struct {
	// Busy is the most GOGC the pacer sets while at least MinRate units of
	// Activity pass a second.
	Busy int
	// HeapGoal bounds the heap a busy GOGC may let grow: with a live heap
	// of L the pacer sets at most (HeapGoal/L - 1) * 100, and never less
	// than the GOGC it found.
	HeapGoal uint64
	// MinRate is the activity a second that counts as busy, so a trickle
	// of events does not hold the larger heap.
	MinRate int64
	// Quiet is how long activity stays below MinRate before the pacer
	// restores the GOGC it found and frees memory.
	Quiet time.Duration
	// Activity returns a counter that moves with the work (events
	// accepted and stored).
	Activity func() int64

	// setPercent, readPercent, free and liveHeap are debug.SetGCPercent,
	// GCPercent, debug.FreeOSMemory and the live heap the last collection
	// marked; tests replace them.
	setPercent  func(int) int
	readPercent func() int64
	free        func()
	liveHeap    func() uint64

	idle     int // the GOGC found when the server got busy, restored when quiet
	current  int // the GOGC set while busy
	busy     bool
	last     int64     // Activity at the previous tick
	lastTick time.Time // time of the previous tick
	lastBusy time.Time // last tick at or above MinRate
}

// Run samples Activity every interval until ctx is done, then restores
// the GOGC it found.
func (p *GCPacer) Run(ctx context.Context, interval time.Duration) {
	if p.setPercent == nil {
		p.setPercent, p.readPercent, p.free, p.liveHeap = debug.SetGCPercent, GCPercent, debug.FreeOSMemory, liveHeap
	}
	p.start(time.Now())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.busy && p.current != p.idle {
				p.setPercent(p.idle)
			}
			return
		case now := <-t.C:
			p.tick(now)
		}
	}
}

// start reads the activity counter.
func (p *GCPacer) start(now time.Time) {
	p.last, p.lastTick = p.Activity(), now
}

// tick moves between busy and idle on the activity since the last tick,
// and while busy follows the live heap.
func (p *GCPacer) tick(now time.Time) {
	n := p.Activity()
	rate := float64(n-p.last) / max(now.Sub(p.lastTick).Seconds(), 1e-3)
	p.last, p.lastTick = n, now
	switch {
	case rate >= float64(p.MinRate):
		p.lastBusy = now
		if !p.busy {
			p.busy = true
			p.idle = int(p.readPercent())
			p.current = p.idle
		}
		if want := p.busyPercent(); want != p.current {
			p.setPercent(want)
			p.current = want
		}
	case p.busy && now.Sub(p.lastBusy) >= p.Quiet:
		p.busy = false
		if p.current != p.idle {
			p.setPercent(p.idle)
		}
		// The busy heap's pages would otherwise wait for the scavenger,
		// which returns them over minutes.
		p.free()
	}
}

// busyPercent is the GOGC that keeps the heap goal within HeapGoal for
// the live heap now, between the GOGC found and Busy, in steps of 50 so
// that small moves of the live heap do not reset it every tick.
func (p *GCPacer) busyPercent() int {
	if p.idle < 0 {
		return p.idle // the collector is off; the pacer only ever adds room
	}
	pct := p.Busy
	if live := p.liveHeap(); live > 0 {
		room := (float64(p.HeapGoal)/float64(live) - 1) * 100
		pct = min(pct, int(max(room, 0))/50*50)
	}
	return max(pct, p.idle)
}

// liveHeap is the heap the last collection marked live.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
