package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Key set timing. A miss may mean a key created a moment ago, so it
// triggers a reload, but at most once per keyRetryInterval, so a client
// with a wrong key cannot turn every request into a database query. The
// same interval spaces out retries while the loader is failing.
const (
	DefaultKeyTTL    = 30 * time.Second
	keyRetryInterval = 5 * time.Second
	keyLoadTimeout   = 10 * time.Second
)

// KeySetConfig tunes a KeySet.
type KeySetConfig struct {
	// TTL is how long a loaded key set is used before it is reloaded;
	// 0 means DefaultKeyTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives reload failures; nil discards them.
	Log *slog.Logger
}

// KeySet implements Keys over a loader that returns every active key
// (public key → project ID), caching the result. When a reload fails it
// keeps serving the last good set, so a database hiccup does not turn into
// rejected events.
type KeySet struct {
	load func(context.Context) (map[string]int64, error)
	ttl  time.Duration
	now  func() time.Time
	log  *slog.Logger

	loadMu sync.Mutex // one load at a time; waiters reuse its result

	mu       sync.Mutex
	keys     map[string]int64 // nil until the first successful load
	loadedAt time.Time
	tried    time.Time // last load attempt
	gen      uint64    // counts load attempts
	lastErr  error
}

// NewKeySet returns a KeySet over load. The loader's map is kept as it is
// and must not be modified afterwards.
func NewKeySet(load func(ctx context.Context) (map[string]int64, error), cfg KeySetConfig) *KeySet {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultKeyTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &KeySet{load: load, ttl: cfg.TTL, now: cfg.Now, log: cfg.Log}
}

// ProjectForKey implements Keys.
func (s *KeySet) ProjectForKey(ctx context.Context, publicKey string) (int64, bool, error) {
	s.mu.Lock()
	pid, found, reload, err := s.lookup(publicKey)
	gen := s.gen
	s.mu.Unlock()
	if !reload {
		return pid, found, err
	}

	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	s.mu.Lock()
	if s.gen != gen {
		// Another request loaded while this one waited; its result (or
		// its failure) is as fresh as a new attempt would be.
		pid, found, _, err = s.lookup(publicKey)
		s.mu.Unlock()
		return pid, found, err
	}
	s.mu.Unlock()

	// The load outlives a client that hangs up: its result serves
	// everyone, and a cancelled load would count as a failed attempt.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyLoadTimeout)
	keys, err := s.load(lctx)
	cancel()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	s.tried = s.now()
	if err != nil {
		s.lastErr = err
		if s.keys == nil {
			s.log.Error("ingest: loading project keys failed; rejecting events until it works", "error", err)
			return 0, false, err
		}
		s.log.Warn("ingest: reloading project keys failed; using the previous set", "error", err, "loaded_at", s.loadedAt)
	} else {
		if keys == nil {
			keys = map[string]int64{}
		}
		s.keys, s.loadedAt, s.lastErr = keys, s.tried, nil
	}
	pid, found = s.keys[publicKey]
	return pid, found, nil
}

// lookup answers from the cache and says whether a load should be tried
// first. Called with mu held.
func (s *KeySet) lookup(key string) (pid int64, found, reload bool, err error) {
	now := s.now()
	mayTry := s.gen == 0 || now.Sub(s.tried) >= keyRetryInterval
	if s.keys == nil {
		if mayTry {
			return 0, false, true, nil
		}
		return 0, false, false, s.lastErr
	}
	pid, found = s.keys[key]
	expired := now.Sub(s.loadedAt) >= s.ttl
	return pid, found, mayTry && (expired || !found), nil
}
