package process

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/logthrottle"
)

// Message is a message a Source handed out. Processing it ends with Ack or
// Retry by its ID.
type Message struct {
	ID   int64
	Body []byte
	// Attempts counts deliveries, this one included.
	Attempts int
}

// Source is the consuming side of a queue.
type Source interface {
	Receive(ctx context.Context, max int) ([]Message, error)
	// Ack removes the messages of a processed batch, in one statement
	// where the queue allows: a per-message round trip costs as much as
	// saving the event.
	Ack(ctx context.Context, ids []int64) error
	Retry(ctx context.Context, id int64, reason string) error
}

// Workers drain a queue with a fixed number of goroutines.
type Workers struct {
	Processor *Processor
	Source    Source
	Log       *slog.Logger
	// Count is the number of goroutines (default 2).
	Count int
	// Batch is how many messages one goroutine claims, and processes as
	// one batch, at a time (default 100). Claiming, saving and
	// acknowledging cost a commit each whatever the batch's size, so a
	// backlog drains in large batches; a trickle still goes one message
	// at a time, as Receive returns what is there.
	Batch int
	// Backlog, when not nil, counts the messages waiting, and only the
	// first goroutine claims while it is at most two batches: the
	// others join while processing falls behind. Where every batch
	// is saved under one write lock (SQLite), goroutines claiming side
	// by side split what arrived into smaller batches, each paying the
	// per-batch costs, for no parallel writing; one goroutine took 2 KB
	// events 11 to 16% faster, but fell behind on 50 KB ones, whose
	// processing is CPU the others can share (docs/benchmarks.md).
	Backlog func() int64

	// receiveErrs throttles the error of failed claims: while the
	// database is away every claim fails, several a second.
	receiveErrs *logthrottle.Throttle
	// Idle is how long a goroutine sleeps when the queue is empty, unless
	// woken by Wake (default 250 ms).
	Idle time.Duration
	// Wake, when not nil, cuts the idle sleep short so a fresh event is
	// processed within milliseconds rather than on the next poll.
	Wake <-chan struct{}
}

// Run processes messages until ctx is cancelled. Messages already claimed
// when ctx ends are finished with a context that is not cancelled, so a
// shutdown drains in-flight work instead of abandoning it; anything left
// unclaimed stays durable in the queue.
func (w *Workers) Run(ctx context.Context) {
	w.receiveErrs = logthrottle.New(10 * time.Second)
	n := w.Count
	if n <= 0 {
		n = 2
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if i > 0 && w.Backlog != nil {
				w.help(ctx)
				return
			}
			w.loop(ctx)
		})
	}
	wg.Wait()
}

// helpEvery is how often a goroutine that is not needed checks the
// backlog: an atomic read, so idle costs nothing measurable.
const helpEvery = 50 * time.Millisecond

// help is the loop of a goroutine beyond the first when Backlog is set: it
// claims only while more than two batches wait. It never takes Wake, which
// belongs to the first goroutine.
func (w *Workers) help(ctx context.Context) {
	batch := w.batch()
	work := context.WithoutCancel(ctx)
	tick := time.NewTicker(helpEvery)
	defer tick.Stop()
	for ctx.Err() == nil {
		if w.Backlog() > 2*int64(batch) && w.claim(ctx, work, batch) {
			continue
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// batch is Batch or its default.
func (w *Workers) batch() int {
	if w.Batch <= 0 {
		return 100
	}
	return w.Batch
}

func (w *Workers) loop(ctx context.Context) {
	batch, idle := w.batch(), w.Idle
	if idle <= 0 {
		idle = 250 * time.Millisecond
	}
	work := context.WithoutCancel(ctx)
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for ctx.Err() == nil {
		if w.claim(ctx, work, batch) {
			// Claim again at once: a source may return fewer than
			// batch messages while more wait (the local queue bounds a
			// claim's bytes), and a claim that finds none costs less
			// than a backlog left to the idle timer.
			continue
		}
		timer.Reset(idle)
		select {
		case <-ctx.Done():
		case <-timer.C:
		case <-w.Wake:
		}
	}
}

// claim receives up to batch messages and processes them with work, the
// context that outlives a shutdown; false when there were none.
func (w *Workers) claim(ctx, work context.Context, batch int) bool {
	msgs, err := w.Source.Receive(ctx, batch)
	// A shutdown that lands inside a claim fails it with whatever the
	// queue's driver makes of the cancel (database/sql: "transaction has
	// already been committed or rolled back"), which is no failure.
	if err != nil && ctx.Err() == nil {
		if ok, held := w.receiveErrs.Allow("receive", time.Now()); ok {
			w.log().Error("queue receive failed", "err", err, "suppressed", held)
		}
	}
	if len(msgs) == 0 {
		return false
	}
	w.handle(work, msgs)
	return true
}

// handle processes msgs as one batch and settles each by its own outcome:
// the stored ones are acknowledged together after the save committed, the
// failed ones retried one by one. A crash between the commit and the ack
// redelivers stored events, which saving then reports as duplicates, so
// delivery stays at-least-once and storage exactly-once.
func (w *Workers) handle(ctx context.Context, msgs []Message) {
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		bodies[i] = m.Body
	}
	var done []int64
	for i, out := range w.Processor.ProcessBatch(ctx, bodies) {
		m := msgs[i]
		if out.Err == nil {
			done = append(done, m.ID)
			continue
		}
		w.log().Warn("event processing failed", "id", m.ID, "attempt", m.Attempts, "err", out.Err)
		if err := w.Source.Retry(ctx, m.ID, out.Err.Error()); err != nil {
			w.log().Error("queue retry failed", "id", m.ID, "err", err)
		}
	}
	if len(done) == 0 {
		return
	}
	if err := w.Source.Ack(ctx, done); err != nil {
		// The events are stored; a redelivery is harmless (idempotent).
		w.log().Error("queue ack failed", "messages", len(done), "err", err)
	}
}

func (w *Workers) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}
