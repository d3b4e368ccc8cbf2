package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/ops"
)

const (
	// keySetTTL is how long a warm function trusts its key set before
	// asking S3 again (a conditional GET: usually a bodiless 304). An
	// unknown key asks at once, so a key created in the dashboard works
	// as soon as the dashboard has published it (right after the change);
	// a revoked key stops working within this time of publication.
	keySetTTL = 60 * time.Second
	// saltRetry spaces out key set loads while the function still has no
	// IP salt, i.e. before the dashboard first published.
	saltRetry = 5 * time.Second
	// loadTimeout bounds one key set load.
	loadTimeout = 5 * time.Second
)

// appDeps are the function's collaborators.
type appDeps struct {
	Loader *awsx.KeySetLoader
	Queue  ingest.Queue
	Log    *slog.Logger
	Now    func() time.Time // nil: time.Now
	// RatePerMinute is the limit of projects without their own
	// (ingest.Config's).
	RatePerMinute int
}

// app is the function's http.Handler: an ingest.Handler over the S3 key set
// and SQS. The handler needs the IP salt when it is built, and the salt is
// in the key set, so the cold start loads it first. When that fails (the
// dashboard has not published yet, or S3 hiccuped) the function still
// starts, with a handler whose every key lookup fails (503, which SDKs
// retry; preflights still work), and swaps in the real one as soon as a
// key set has loaded. So no event is ever accepted without its IP hashed.
type app struct {
	deps appDeps
	keys *ingest.KeySet

	current atomic.Pointer[ingest.Handler]
	salted  atomic.Bool

	mu      sync.Mutex // serializes rebuilds
	lastTry time.Time
}

func newApp(ctx context.Context, deps appDeps) *app {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	a := &app{deps: deps}
	a.keys = ingest.NewKeySet(ingestKeys(deps.Loader), ingest.KeySetConfig{TTL: keySetTTL, Now: deps.Now, Log: deps.Log})
	a.ensureSalt(ctx)
	return a
}

// ServeHTTP implements http.Handler.
func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ops.SetNoSniff(w.Header())
	if !a.salted.Load() {
		a.ensureSalt(r.Context())
	}
	a.current.Load().ServeHTTP(w, r)
}

// ensureSalt installs the real handler once a key set is known, loading
// one at most every saltRetry; until then it keeps (or, on the first call,
// installs) the refusing one.
func (a *app) ensureSalt(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.salted.Load() {
		return
	}
	ks, ok := a.deps.Loader.Current()
	if now := a.deps.Now(); !ok && (a.current.Load() == nil || now.Sub(a.lastTry) >= saltRetry) {
		a.lastTry = now
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		var err error
		ks, err = a.deps.Loader.Load(lctx)
		cancel()
		if err != nil {
			a.deps.Log.Warn("ingest: no key set yet; refusing events until one loads", "err", err)
		}
	}
	if ks.IPSalt == "" {
		if a.current.Load() == nil {
			a.current.Store(ingest.New(ingest.Config{Now: a.deps.Now, DropIPs: true}, noKeySet{}, a.deps.Queue, a.deps.Log))
		}
		return
	}
	a.current.Store(ingest.New(ingest.Config{
		IPSalt: []byte(ks.IPSalt),
		// API Gateway connects to the function, so there is no peer
		// address; lambdax puts the client's (requestContext sourceIp)
		// in RemoteAddr, and X-Forwarded-For, which the client can
		// prefill, stays untrusted.
		TrustForwardedFor: false,
		Now:               a.deps.Now,
		RatePerMinute:     a.deps.RatePerMinute,
	}, a.keys, a.deps.Queue, a.deps.Log))
	a.salted.Store(true)
}

// errNoKeySet is what every key lookup answers before the first key set.
var errNoKeySet = errors.New("the ingest key set has not been loaded yet")

// noKeySet is ingest.Keys before the first key set: every lookup fails, so
// ingest answers 503 and SDKs retry later.
type noKeySet struct{}

func (noKeySet) ProjectForKey(context.Context, string) (ingest.Key, bool, error) {
	return ingest.Key{}, false, errNoKeySet
}

// ingestKeys is the loader of the function's ingest.KeySet: the published
// key set, each key with its project's rate limit. It converts the set on
// every reload, unchanged or not: a map of a key per project, a few
// milliseconds for a hundred thousand keys once a TTL.
func ingestKeys(loader *awsx.KeySetLoader) func(context.Context) (map[string]ingest.Key, error) {
	return func(ctx context.Context) (map[string]ingest.Key, error) {
		ks, err := loader.Load(ctx)
		if err != nil {
			return nil, err
		}
		keys := make(map[string]ingest.Key, len(ks.Keys))
		for k, pid := range ks.Keys {
			// A project missing from RateLimits has the default, which
			// is all a set from an older dashboard says.
			keys[k] = ingest.Key{ProjectID: pid, RatePerMinute: ks.RateLimits[pid]}
		}
		return keys, nil
	}
}
