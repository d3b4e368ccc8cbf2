package ingest

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Key set timing. A miss may mean a key created a moment ago, so it reloads
// the set, every time: refusing a new key even briefly makes SDKs drop
// events on 401. Misses share loads instead of being rate-limited: one
// arriving during a load waits for it, or for the next one if that load
// began before the miss arrived, so a flood of wrong keys costs one load
// at a time. Only while the loader fails are attempts spaced by
// keyRetryInterval. A revoked key is refused once the set it was cached
// in is TTL old.
const (
	DefaultKeyTTL    = 30 * time.Second
	keyRetryInterval = 5 * time.Second
	keyLoadTimeout   = 10 * time.Second
)

// KeySetConfig tunes a KeySet.
type KeySetConfig struct {
	// TTL is how long a loaded key set is used before it is reloaded,
	// and so how long a revoked key keeps working; 0 means DefaultKeyTTL.
	TTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Log receives reload failures; nil discards them.
	Log *slog.Logger
}

// KeySet implements Keys over a loader that returns every active key
// (public key → its Key), caching the result. When a reload fails it
// keeps serving the last good set, so a database hiccup does not turn into
// rejected events.
type KeySet struct {
	load func(context.Context) (map[string]Key, error)
	ttl  time.Duration
	now  func() time.Time
	log  *slog.Logger

	mu       sync.Mutex
	keys     map[string]Key // nil until the first successful load
	keysSet  uint64         // number of the load keys came from: Key.Set
	loadedAt time.Time
	failedAt time.Time // of the last load, if it failed
	lastErr  error     // of the last load; nil if it worked
	started  uint64    // loads started
	finished uint64    // number of the last load finished
	// fresh is the first load number whose result may be used: Expire
	// moves it past the loads already started.
	fresh   uint64
	loading chan struct{} // closed when the load in progress ends; nil when none is
}

// NewKeySet returns a KeySet over load. The loader's map is kept as it is
// and must not be modified afterwards.
func NewKeySet(load func(ctx context.Context) (map[string]Key, error), cfg KeySetConfig) *KeySet {
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
func (s *KeySet) ProjectForKey(ctx context.Context, publicKey string) (Key, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Only a load numbered above arrived began after this lookup did,
	// and so surely saw a key created before it.
	arrived := s.started
	for s.needsLoad(publicKey, arrived) {
		if done := s.loading; done != nil {
			s.mu.Unlock()
			<-done
			s.mu.Lock()
			continue
		}
		s.reload(ctx)
	}
	if s.keys == nil {
		return Key{}, false, s.lastErr
	}
	k, found := s.keys[publicKey]
	k.Set = s.keysSet
	return k, found, nil
}

// Expire makes the next lookup load the keys again, also when a load that
// began before Expire is still running: a key revoked or a project deleted
// in this process is refused from then on, not a TTL later. It does not
// block, so it can run as a store.DB.OnAccessChange hook. A project's
// changed rate limit reaches ingest the same way.
func (s *KeySet) Expire() {
	s.mu.Lock()
	s.fresh = s.started + 1
	s.mu.Unlock()
}

// needsLoad reports whether the lookup of key, which arrived after load
// number arrived began, must wait for a load. Called with mu held.
func (s *KeySet) needsLoad(key string, arrived uint64) bool {
	switch {
	case s.finished > arrived && s.finished >= s.fresh:
		return false // as fresh as it gets
	case s.lastErr != nil && s.now().Sub(s.failedAt) < keyRetryInterval:
		return false // do not hammer a failing loader
	case s.keys == nil || s.finished < s.fresh || s.now().Sub(s.loadedAt) >= s.ttl:
		return true
	}
	_, found := s.keys[key]
	return !found
}

// reload runs one load, releasing mu meanwhile. Called with mu held.
func (s *KeySet) reload(ctx context.Context) {
	s.started++
	n, done := s.started, make(chan struct{})
	s.loading = done
	var (
		keys map[string]Key
		err  error
	)
	defer func() {
		// Also when the loader panics, or every later lookup would wait
		// for this load forever.
		s.finished, s.loading = n, nil
		close(done)
	}()
	s.mu.Unlock()
	func() {
		defer s.mu.Lock()
		// The load outlives a client that hangs up: its result serves
		// everyone, and a cancelled load would count as a failed
		// attempt.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), keyLoadTimeout)
		defer cancel()
		keys, err = s.load(lctx)
	}()
	if err != nil {
		s.lastErr, s.failedAt = err, s.now()
		if s.keys == nil {
			s.log.Error("ingest: loading project keys failed; rejecting events until it works", "error", err)
		} else {
			s.log.Warn("ingest: reloading project keys failed; using the previous set", "error", err, "loaded_at", s.loadedAt)
		}
		return
	}
	if keys == nil {
		keys = map[string]Key{}
	}
	s.keys, s.keysSet, s.loadedAt, s.lastErr = keys, n, s.now(), nil
}
