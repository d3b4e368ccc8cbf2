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
// one that falls a whole buffer behind is cut off (its channel closed, and
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
// subscriber, about 150 bytes.
const DefaultBuffer = 1024

// Hub fans messages out to subscribers by project. It starts no goroutines:
// delivery is a non-blocking send to each subscriber's buffered channel, so
// a slow subscriber is cut off instead of holding up the others or the
// publisher. It is safe for concurrent use.
type Hub struct {
	buffer int

	mu     sync.RWMutex
	rooms  map[int64]map[*subscriber]struct{}
	subs   map[*subscriber]struct{} // every open subscription, even one in no room
	closed bool
	// access is closed, and replaced, by AccessChanged.
	access chan struct{}

	delivered atomic.Uint64
	dropped   atomic.Uint64
}

type subscriber struct {
	ch  chan livemsg.Message
	ids []int64
}

// HubStats are counters for /metrics.
type HubStats struct {
	// Subscribers is the number of open subscriptions.
	Subscribers int
	// Delivered counts messages put into a subscriber's buffer.
	Delivered uint64
	// Dropped counts messages a subscriber could not take because its
	// buffer was full; each cut that subscriber off.
	Dropped uint64
}

// NewHub returns a Hub whose subscribers buffer up to buffer messages
// (DefaultBuffer when buffer <= 0).
func NewHub(buffer int) *Hub {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Hub{
		buffer: buffer,
		rooms:  make(map[int64]map[*subscriber]struct{}),
		subs:   make(map[*subscriber]struct{}),
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

// Subscribe joins the rooms of projectIDs. The channel receives every
// message for those projects, each once, until cancel is called, the Hub
// is closed (see Closed) or the subscriber falls a whole buffer behind;
// then it is closed. cancel may be called more than once. A closed Hub
// returns a closed channel.
func (h *Hub) Subscribe(projectIDs []int64) (<-chan livemsg.Message, func()) {
	ids := slices.Clone(projectIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	s := &subscriber{ch: make(chan livemsg.Message, h.buffer), ids: ids}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.ch)
		return s.ch, func() {}
	}
	for _, id := range ids {
		room := h.rooms[id]
		if room == nil {
			room = make(map[*subscriber]struct{})
			h.rooms[id] = room
		}
		room[s] = struct{}{}
	}
	h.subs[s] = struct{}{}
	var once sync.Once
	return s.ch, func() { once.Do(func() { h.unsubscribe(s) }) }
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(s)
}

// remove takes s out of its rooms and closes its channel, unless that was
// done already (Close, or a cut-off). h.mu must be held for writing.
func (h *Hub) remove(s *subscriber) {
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
	close(s.ch)
}

// Deliver hands m to the subscribers of m.ProjectID without blocking. A
// subscriber whose buffer is full is cut off after the messages it has:
// dropping its oldest instead would leave a gap nobody knows about.
func (h *Hub) Deliver(m livemsg.Message) {
	var full []*subscriber
	// The read lock keeps channels from being closed during the sends;
	// the sends themselves never block.
	h.mu.RLock()
	for s := range h.rooms[m.ProjectID] {
		select {
		case s.ch <- m:
			h.delivered.Add(1)
		default:
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

// Close ends every subscription (their channels are closed, which tells
// WebSocket handlers to say goodbye) and makes later ones end at once. Call
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
		close(s.ch)
	}
	h.rooms, h.subs = nil, nil
}

// Closed reports whether Close was called: a subscription's channel that
// closed without its cancel was cut off for falling behind if the Hub is
// still open.
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
