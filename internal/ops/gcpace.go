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
//
// The GOGC is chosen from the live heap of the last collection, once a
// tick, and the live heap of a server under load moves between ticks (17
// to 44 MB under 128 connections of 50 KB events): a GOGC of 150 chosen
// at 25 MB let a 44 MB cycle aim for 110 MB. So while the pacer gives
// room it also sets a memory limit of HeapGoal plus the runtime's memory
// outside the heap, which makes the collector start as the heap nears
// HeapGoal whatever the live heap did since the tick. The limit is never
// raised above the one found, and is put back as the room goes.
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

	// setPercent, readPercent, setLimit, free, liveHeap and overhead are
	// debug.SetGCPercent, GCPercent, debug.SetMemoryLimit,
	// debug.FreeOSMemory, the live heap the last collection marked and
	// the runtime's memory outside the heap; tests replace them.
	setPercent  func(int) int
	readPercent func() int64
	setLimit    func(int64) int64
	free        func()
	liveHeap    func() uint64
	overhead    func() uint64

	idle      int   // the GOGC found when the server got busy, restored when quiet
	current   int   // the GOGC set while busy
	idleLimit int64 // the memory limit found when the server got busy
	limit     int64 // the memory limit set while busy
	busy      bool
	last      int64     // Activity at the previous tick
	lastTick  time.Time // time of the previous tick
	lastBusy  time.Time // last tick at or above MinRate
}

// Run samples Activity every interval until ctx is done, then restores
// the GOGC it found.
func (p *GCPacer) Run(ctx context.Context, interval time.Duration) {
	if p.setPercent == nil {
		p.setPercent, p.readPercent, p.setLimit = debug.SetGCPercent, GCPercent, debug.SetMemoryLimit
		p.free, p.liveHeap, p.overhead = debug.FreeOSMemory, liveHeap, nonHeap
	}
	p.start(time.Now())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if p.busy {
				p.restore()
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
			p.idleLimit = p.setLimit(-1) // a negative value only reads it
			p.limit = p.idleLimit
		}
		if want := p.busyPercent(); want != p.current {
			p.setPercent(want)
			p.current = want
		}
		if want := p.busyLimit(); want != p.limit {
			p.setLimit(want)
			p.limit = want
		}
	case p.busy && now.Sub(p.lastBusy) >= p.Quiet:
		p.busy = false
		p.restore()
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

// busyLimit is the memory limit for the GOGC just set: the one found
// while the GOGC is too, else HeapGoal plus the runtime's memory outside
// the heap, rounded up to a MiB so that the small moves of the latter do
// not reset it every tick, and never above the one found.
func (p *GCPacer) busyLimit() int64 {
	if p.current <= p.idle {
		return p.idleLimit
	}
	const mib = 1 << 20
	goal := (p.HeapGoal + p.overhead() + mib - 1) / mib * mib
	if goal >= uint64(p.idleLimit) {
		return p.idleLimit
	}
	return int64(goal)
}

// restore puts back the GOGC and memory limit found when the server got
// busy.
func (p *GCPacer) restore() {
	if p.current != p.idle {
		p.setPercent(p.idle)
		p.current = p.idle
	}
	if p.limit != p.idleLimit {
		p.setLimit(p.idleLimit)
		p.limit = p.idleLimit
	}
}

// nonHeap is the memory the runtime holds outside the heap (goroutine
// stacks, its metadata, profiling buckets, ...), which counts toward the
// memory limit.
func nonHeap() uint64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	metrics.Read(s)
	var v [5]uint64
	for i := range s {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		v[i] = s[i].Value.Uint64()
	}
	heap := v[1] + v[2] + v[3] + v[4]
	if heap > v[0] {
		return 0
	}
	return v[0] - heap
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
