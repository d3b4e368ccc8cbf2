package main

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/store"
)

// publisher keeps the ingest key set in S3 equal to the database's active
// keys and their projects' rate limits. It checks every interval, and at once after any request that may
// have changed them (see nudgeAfterWrites), because ingest functions reload
// the set on a miss: a key created or rotated in the dashboard is accepted
// as soon as it is published, instead of SDKs dropping events on 401 until
// the next check. Revoked keys stop working when the functions' cached set
// expires, within a minute of publication.
type publisher struct {
	db          *store.DB
	s3          awsbase.S3Putter
	bucket, key string
	salt        string
	log         *slog.Logger
	nudged      chan struct{} // buffered (1): a check is due; nil disables nudges

	mu   sync.Mutex
	last map[string]store.ActiveKey // the set last published, nil before the first

	published, failures atomic.Int64
	keys                atomic.Int64
	lastSuccess         atomic.Int64 // unix seconds
}

// publishIfChanged publishes the active keys unless they equal the set
// published last. A failure is logged and retried on the next call.
func (p *publisher) publishIfChanged(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	keys, err := p.db.ActiveKeys(ctx)
	if err != nil {
		if ctx.Err() == nil {
			p.failures.Add(1)
			p.log.Error("key set: reading active keys failed", "err", err)
		}
		return
	}
	if p.last != nil && maps.Equal(keys, p.last) {
		return
	}
	err = awsx.PublishKeySet(ctx, p.s3, p.bucket, p.key, keySet(keys, p.salt))
	if err != nil {
		if ctx.Err() == nil {
			p.failures.Add(1)
			p.log.Error("key set: publishing failed; ingest keeps using the previous set", "err", err)
		}
		return
	}
	p.last = keys
	p.published.Add(1)
	p.keys.Store(int64(len(keys)))
	p.lastSuccess.Store(time.Now().Unix())
	p.log.Info("key set published", "keys", len(keys), "object", "s3://"+p.bucket+"/"+p.key)
}

// keySet is the published form of the active keys: each key's project,
// and the rate limits of the projects that have their own.
func keySet(keys map[string]store.ActiveKey, salt string) awsx.KeySet {
	ks := awsx.KeySet{Keys: make(map[string]int64, len(keys)), IPSalt: salt}
	for k, ak := range keys {
		ks.Keys[k] = ak.ProjectID
		if ak.RateLimit != store.RateLimitDefault {
			if ks.RateLimits == nil {
				ks.RateLimits = map[int64]int{}
			}
			ks.RateLimits[ak.ProjectID] = ak.RateLimit
		}
	}
	return ks
}

// nudge asks the loop for a check now. Nudges that arrive while one is
// pending merge into it, so a burst of writes costs one check.
func (p *publisher) nudge() {
	select {
	case p.nudged <- struct{}{}:
	default:
	}
}

// loop checks for changes every interval, and when nudged, until ctx ends.
func (p *publisher) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-p.nudged:
		}
		p.publishIfChanged(ctx)
	}
}
