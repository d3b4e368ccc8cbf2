// Package live carries "something happened to an issue" messages
// (livemsg.Message) to open dashboard pages.
//
// With SQLite (one process) the processor publishes to the Hub itself,
// after the transaction that stored the event committed. With PostgreSQL
// it sends them with NOTIFY inside that transaction, and every dashboard
// process runs a Listener that feeds its own Hub, so all processes on one
// database see every message. The Hub fans messages out to per-project
// rooms, and Handler serves those rooms to browsers over a WebSocket.
//
// Delivery is best effort, but never silently incomplete for a subscriber:
// one that falls a whole buffer behind is cut off (its subscription ended, and
// Handler closes its WebSocket with StatusFellBehind), so the client
// knows to reload or, like `flytrap tail`, to fill the gap from the REST
// API. A message published while a PostgreSQL listener reconnects is
// still lost; pages are right after a reload.
package live

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/getflytrap/flytrap/internal/livemsg"
)

// DefaultBuffer is how many messages a subscriber may fall behind by before
// it is cut off. The processor publishes a whole batch at once (a worker
// claims up to 100 queue messages, and several workers run), so a buffer
// smaller than a few batches would cut off readers that keep up on
// average; a slot is a Message whose strings are shared by every
// subscriber, 160 bytes. The buffer is a bound, not an allocation: a
// subscription's queue grows as messages wait and is let go once they
// are taken, so an idle stream holds none of it (a channel of this size
// held 164 KB each, whether or not anything was ever sent).
const DefaultBuffer = 1024

// Hub fans messages out to subscribers by project. It starts no goroutines:
// delivery appends to each subscriber's queue without waiting for it, so
// a slow subscriber is cut off instead of holding up the others or the
// publisher. It is safe for concurrent use.
type Hub struct {
	buffer int

	mu     sync.RWMutex
	rooms  map[int64]map[*Subscription]struct{}
	subs   map[*Subscription]struct{} // every open subscription, even one in no room
	closed bool
	// access is closed, and replaced, by AccessChanged.
	access chan struct{}

	delivered atomic.Uint64
	dropped   atomic.Uint64
}

// Subscription is what Subscribe returns: the messages of its projects,
// each once, in the order delivered, until it ends. It ends when it is
// cancelled, when the Hub closes (see Hub.Closed) and when it falls a
// whole buffer behind.
type Subscription struct {
	hub   *Hub
	ids   []int64
	ready chan struct{} // holds a token while messages wait or the end is unseen
	once  sync.Once

	mu    sync.Mutex
	queue []livemsg.Message
	ended bool
}

// Ready receives when messages wait or the subscription has ended: call
// Take then.
func (s *Subscription) Ready() <-chan struct{} { return s.ready }

// Take returns the messages waiting, oldest first, and whether the
// subscription is still open. After it ended, Take still returns the
// messages delivered before the end, with false.
func (s *Subscription) Take() (msgs []livemsg.Message, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs, s.queue = s.queue, nil
	return msgs, !s.ended
}

// Cancel ends the subscription and leaves its rooms; it may be called more
// than once.
func (s *Subscription) Cancel() {
	s.once.Do(func() { s.hub.unsubscribe(s) })
}

// put queues m, or ends s when a whole buffer already waits; it reports
// whether m was queued.
func (s *Subscription) put(m livemsg.Message, buffer int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) >= buffer {
		return false
	}
	s.queue = append(s.queue, m)
	s.wake()
	return true
}

// end marks s ended and wakes its reader.
func (s *Subscription) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	s.wake()
}

// wake leaves a token in ready unless one is there; s.mu is held.
func (s *Subscription) wake() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// HubStats are counters for /metrics.
type HubStats struct {
	// Subscribers is the number of open subscriptions.
	Subscribers int
	// Delivered counts messages put into a subscriber's queue.
	Delivered uint64
	// Dropped counts messages a subscriber could not take because its
	// queue was full; each cut that subscriber off.
	Dropped uint64
}

// NewHub returns a Hub whose subscribers may fall up to buffer messages
// behind (DefaultBuffer when buffer <= 0).
func NewHub(buffer int) *Hub {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Hub{
		buffer: buffer,
		rooms:  make(map[int64]map[*Subscription]struct{}),
		subs:   make(map[*Subscription]struct{}),
		access: make(chan struct{}),
	}
}

// AccessChanged makes every open stream authorize its user and projects
// again now rather than at its next periodic recheck. Call it after a
// change that may take access away (a token revoked, a session ended, a
// user removed or demoted, a membership or project deleted): a revoked
// credential then stops receiving at once.
func (h *Hub) AccessChanged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.access)
	h.access = make(chan struct{})
}

// accessChanges returns a channel closed by the next AccessChanged.
func (h *Hub) accessChanges() <-chan struct{} {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.access
}

// Subscribe joins the rooms of projectIDs. A closed Hub returns a
// subscription that has ended.
func (h *Hub) Subscribe(projectIDs []int64) *Subscription {
	ids := slices.Clone(projectIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	s := &Subscription{hub: h, ids: ids, ready: make(chan struct{}, 1)}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.end()
		return s
	}
	for _, id := range ids {
		room := h.rooms[id]
		if room == nil {
			room = make(map[*Subscription]struct{})
			h.rooms[id] = room
		}
		room[s] = struct{}{}
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *Hub) unsubscribe(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(s)
}

// remove takes s out of its rooms and ends it, unless that was done
// already (Close, or a cut-off). h.mu must be held for writing.
func (h *Hub) remove(s *Subscription) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	for _, id := range s.ids {
		delete(h.rooms[id], s)
		if len(h.rooms[id]) == 0 {
			delete(h.rooms, id)
		}
	}
	delete(h.subs, s)
	s.end()
}

// Deliver hands m to the subscribers of m.ProjectID without blocking. A
// subscriber whose queue is full is cut off after the messages it has:
// dropping its oldest instead would leave a gap nobody knows about.
func (h *Hub) Deliver(m livemsg.Message) {
	var full []*Subscription
	// The read lock keeps subscriptions from ending during the puts;
	// the puts themselves never block.
	h.mu.RLock()
	for s := range h.rooms[m.ProjectID] {
		if s.put(m, h.buffer) {
			h.delivered.Add(1)
		} else {
			h.dropped.Add(1)
			full = append(full, s)
		}
	}
	h.mu.RUnlock()
	if len(full) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range full {
		h.remove(s)
	}
}

// Publish delivers m to this Hub's own subscribers: the livemsg.Publisher
// of a single process (SQLite). It never blocks and never fails.
func (h *Hub) Publish(_ context.Context, m livemsg.Message) error {
	h.Deliver(m.Trimmed())
	return nil
}

// Close ends every subscription (which tells WebSocket handlers to say
// goodbye) and makes later ones end at once. Call
// it on shutdown: http.Server.Shutdown does not wait for or cancel
// hijacked connections.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		s.end()
	}
	h.rooms, h.subs = nil, nil
}

// Closed reports whether Close was called: a subscription that ended
// without its Cancel was cut off for falling behind if the Hub is still
// open.
func (h *Hub) Closed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

// Stats returns the Hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.RLock()
	n := len(h.subs)
	h.mu.RUnlock()
	return HubStats{Subscribers: n, Delivered: h.delivered.Load(), Dropped: h.dropped.Load()}
}
