package main

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/store"
)

// publisher keeps the ingest key set in S3 equal to the database's active
// keys. Ingest functions re-read it within a minute (conditional GETs), so
// a key created or revoked in the dashboard reaches them within the check
// interval plus that.
type publisher struct {
	db          *store.DB
	s3          awsx.S3Putter
	bucket, key string
	salt        string
	log         *slog.Logger

	mu   sync.Mutex
	last map[string]int64 // the set last published, nil before the first

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
	err = awsx.PublishKeySet(ctx, p.s3, p.bucket, p.key, awsx.KeySet{Keys: keys, IPSalt: p.salt})
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

// loop checks for changes every interval until ctx ends.
func (p *publisher) loop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.publishIfChanged(ctx)
		}
	}
}
