package live

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of Limits.
const (
	// DefaultMaxStreamsPerUser is more than one person opens: every
	// dashboard tab holds one stream and each `flytrap tail` another, so
	// a dozen tabs and a few tails fit, and a token cannot hold
	// thousands.
	DefaultMaxStreamsPerUser = 16
	// DefaultMaxStreams bounds what all users together hold open: far
	// above what a team's tabs need, while each open stream costs a
	// file descriptor, goroutines and its connection's buffers (about
	// 48 KB of RSS measured), so 500 stay near 25 MB, small beside
	// `flytrap dev`'s 200 MiB memory limit and the 2 GB EC2 dashboard.
	DefaultMaxStreams = 500
	// RefusedRetryAfter is the Retry-After of a refused stream: streams
	// are freed by tabs closing, which takes a while, and the dashboard's
	// script retries every 30 s at its slowest.
	RefusedRetryAfter = 30 * time.Second
)

// Limits bound the streams a Handler holds open at once.
type Limits struct {
	// PerUser is the most one user's streams, over every token and
	// session (0: DefaultMaxStreamsPerUser); over it the handshake is
	// refused with 429.
	PerUser int
	// Total is the most streams of all users together (0:
	// DefaultMaxStreams); over it the handshake is refused with 503.
	Total int
}

// WithLimits bounds the streams open at once; the zero Limits are the
// defaults.
func WithLimits(l Limits) Option {
	return func(s *stream) { s.slots = newSlots(l) }
}

// slots counts the open streams, per user and in all.
type slots struct {
	perUser, total int

	mu     sync.Mutex
	byUser map[int64]int
	open   int
}

func newSlots(l Limits) *slots {
	if l.PerUser <= 0 {
		l.PerUser = DefaultMaxStreamsPerUser
	}
	if l.Total <= 0 {
		l.Total = DefaultMaxStreams
	}
	return &slots{perUser: l.PerUser, total: l.Total, byUser: make(map[int64]int)}
}

// take reserves a stream for user, or says why not as the answer to give
// before the upgrade. release gives the reservation back; call it once.
func (s *slots) take(user int64) (release func(), err *errRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The user's own limit first: a user holding too many is told so
	// even when the server is full too.
	if s.byUser[user] >= s.perUser {
		return nil, &errRequest{status: http.StatusTooManyRequests, code: "too_many_streams", retryAfter: RefusedRetryAfter,
			message: fmt.Sprintf("you have %d live streams open, the most one user may; close a dashboard tab or a flytrap tail", s.perUser)}
	}
	if s.open >= s.total {
		return nil, &errRequest{status: http.StatusServiceUnavailable, code: "streams_full", retryAfter: RefusedRetryAfter,
			message: fmt.Sprintf("the server has its most live streams open (%d); try again in a while", s.total)}
	}
	s.byUser[user]++
	s.open++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.open--
		if s.byUser[user]--; s.byUser[user] == 0 {
			delete(s.byUser, user)
		}
	}, nil
}

// retryAfter is the Retry-After header's value for d, in whole seconds.
func retryAfter(d time.Duration) string {
	return strconv.Itoa(int(max(time.Second, d).Round(time.Second) / time.Second))
}
