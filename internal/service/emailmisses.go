package service

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Adding a member by email tells a project's admin whether an address
// has an account ("No user has that email"). Kept for the typo it helps
// with, it is bounded so that it cannot list who has an account at
// scale: each project admin who is no admin user may try EmailMissBurst
// addresses no user has at once, then one every EmailMissEvery.
const (
	EmailMissBurst = 20
	EmailMissEvery = 3 * time.Minute
)

// maxEmailMissActors bounds the actors whose misses are remembered; the
// least recently seen are forgotten first. Only project admins who are no
// admin users are counted, so the table holds at most one entry a user.
const maxEmailMissActors = 10_000

// EmailMisses counts, per actor, the emails looked up that no user has.
// One is shared by every server face (the dashboard's and the API's
// services), so that alternating between them gains nothing.
type EmailMisses struct {
	burst int
	every time.Duration
	now   func() time.Time

	mu     sync.Mutex // makes a new actor's entry once
	actors *lru.Cache[int64, *missBudget]
}

// missBudget is one actor's misses: a token bucket, and a lock held from
// the check to the count, so that concurrent lookups cannot all pass
// while one miss is left.
type missBudget struct {
	mu  sync.Mutex
	lim *rate.Limiter
}

func newEmailMisses(burst int, every time.Duration, now func() time.Time) *EmailMisses {
	actors, err := lru.New[int64, *missBudget](maxEmailMissActors)
	if err != nil {
		// Only a size below one fails.
		panic(err)
	}
	return &EmailMisses{burst: burst, every: every, now: now, actors: actors}
}

// begin checks that actor has a miss left before an email is looked up.
// It returns how long until there is one, or the function to call with
// the lookup's outcome, which counts a miss; the actor's next lookup waits
// for it.
func (m *EmailMisses) begin(actor int64) (done func(missed bool), wait time.Duration) {
	m.mu.Lock()
	b, ok := m.actors.Get(actor)
	if !ok {
		b = &missBudget{lim: rate.NewLimiter(rate.Every(m.every), m.burst)}
		m.actors.Add(actor, b)
	}
	m.mu.Unlock()
	b.mu.Lock()
	now := m.now()
	if tokens := b.lim.TokensAt(now); tokens < 1 {
		b.mu.Unlock()
		return nil, time.Duration((1 - tokens) * float64(m.every))
	}
	return func(missed bool) {
		if missed {
			b.lim.AllowN(m.now(), 1)
		}
		b.mu.Unlock()
	}, 0
}
