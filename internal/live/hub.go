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
// Delivery is best effort: a message published while a listener reconnects,
// or one a slow subscriber has no room for, is lost. Pages are always right
// after a reload, so live updates only need to be timely, not complete.
package live

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/getflytrap/flytrap/internal/livemsg"
)

// DefaultBuffer is how many messages a subscriber may fall behind by before
// it loses the oldest.
const DefaultBuffer = 64

// Hub fans messages out to subscribers by project. It starts no goroutines:
// delivery is a non-blocking send to each subscriber's buffered channel, so
// a slow subscriber loses messages instead of holding up the others or the
// publisher. It is safe for concurrent use.
type Hub struct {
	buffer int

	mu     sync.RWMutex
	rooms  map[int64]map[*subscriber]struct{}
	subs   map[*subscriber]struct{} // every open subscription, even one in no room
	closed bool

	delivered atomic.Uint64
	dropped   atomic.Uint64
}

type subscriber struct {
	ch chan livemsg.Message
}

// HubStats are counters for /metrics.
type HubStats struct {
	// Subscribers is the number of open subscriptions.
	Subscribers int
	// Delivered counts messages put into a subscriber's buffer.
	Delivered uint64
	// Dropped counts messages a subscriber lost because its buffer was full.
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
	}
}

// Subscribe joins the rooms of projectIDs. The channel receives every
// message for those projects, each once, until cancel is called or the Hub
// is closed; then it is closed. cancel may be called more than once. A
// closed Hub returns a closed channel.
func (h *Hub) Subscribe(projectIDs []int64) (<-chan livemsg.Message, func()) {
	s := &subscriber{ch: make(chan livemsg.Message, h.buffer)}
	ids := slices.Clone(projectIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)

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
	return s.ch, func() { once.Do(func() { h.unsubscribe(s, ids) }) }
}

func (h *Hub) unsubscribe(s *subscriber, ids []int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		// Close already closed the channel.
		return
	}
	for _, id := range ids {
		delete(h.rooms[id], s)
		if len(h.rooms[id]) == 0 {
			delete(h.rooms, id)
		}
	}
	delete(h.subs, s)
	close(s.ch)
}

// Deliver hands m to the subscribers of m.ProjectID without blocking. A
// subscriber whose buffer is full loses its oldest message, so it catches
// up on the newest state (counts) rather than on stale news.
func (h *Hub) Deliver(m livemsg.Message) {
	// The read lock keeps channels from being closed during the sends;
	// the sends themselves never block.
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.rooms[m.ProjectID] {
		select {
		case s.ch <- m:
			h.delivered.Add(1)
			continue
		default:
		}
		select {
		case <-s.ch:
			h.dropped.Add(1)
		default:
			// The subscriber drained it meanwhile.
		}
		select {
		case s.ch <- m:
			h.delivered.Add(1)
		default:
			// Another Deliver filled the slot first.
			h.dropped.Add(1)
		}
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

// Stats returns the Hub's counters.
func (h *Hub) Stats() HubStats {
	h.mu.RLock()
	n := len(h.subs)
	h.mu.RUnlock()
	return HubStats{Subscribers: n, Delivered: h.delivered.Load(), Dropped: h.dropped.Load()}
}
