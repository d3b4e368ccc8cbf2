package service

import (
	"sync"
	"time"
)

// CommentEmailEvery is how often, at most, an assignee is emailed about
// comments on one issue: a member posting comments in a loop must not
// flood a teammate's inbox. The comments in between are counted in the
// next email.
const CommentEmailEvery = 5 * time.Minute

// maxCommentThrottle bounds the (issue, assignee) pairs a CommentThrottle
// remembers; past it, pairs whose window has passed are forgotten.
const maxCommentThrottle = 10_000

// CommentThrottle decides which comment emails are sent: at most one per
// issue and assignee every CommentEmailEvery. One is shared by every
// server face that sends them (the dashboard's and the API's services),
// so that alternating between them gains nothing.
type CommentThrottle struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	last  map[commentPair]*commentSent
}

type commentPair struct{ issue, assignee int64 }

// commentSent is when a pair was last emailed, and how many comments were
// held back since.
type commentSent struct {
	at   time.Time
	held int
}

// NewCommentThrottle returns a throttle of one email per pair every
// every, reading the time from now.
func NewCommentThrottle(every time.Duration, now func() time.Time) *CommentThrottle {
	return &CommentThrottle{every: every, now: now, last: map[commentPair]*commentSent{}}
}

// take reports whether a comment on issue may be emailed to assignee now
// and, if so, how many comments were held back since the last email;
// a comment not emailed is counted for the next one.
func (t *CommentThrottle) take(issue, assignee int64) (send bool, held int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now, p := t.now(), commentPair{issue, assignee}
	if s, ok := t.last[p]; ok && now.Sub(s.at) < t.every {
		s.held++
		return false, 0
	} else if ok {
		held = s.held
	}
	if len(t.last) >= maxCommentThrottle {
		// Those held back are lost with their pair: the issue's page
		// still has them.
		for k, s := range t.last {
			if now.Sub(s.at) >= t.every {
				delete(t.last, k)
			}
		}
	}
	t.last[p] = &commentSent{at: now}
	return true, held
}
