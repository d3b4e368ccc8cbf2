package process

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// settingsTTL is how long the processor uses a project's settings
// (privacy, inbound filters) before reading them again: a changed setting
// applies to events processed at most this much later, and a busy project
// costs one read per interval.
const settingsTTL = 30 * time.Second

// maxCachedProjects bounds a projectCache; past it, the cache starts over.
const maxCachedProjects = 10000

// projectCache is a short-TTL cache of one of a project's settings, safe
// for concurrent use. Concurrent misses for one project may read it
// twice, which is harmless.
type projectCache[V any] struct {
	load func(ctx context.Context, projectID int64) (V, error)
	// gone is the value of a project deleted after ingest accepted its
	// event: saving decides what happens to the event, and there is
	// nothing to configure.
	gone V
	now  func() time.Time

	mu sync.Mutex
	m  map[int64]cachedSetting[V]
}

// cachedSetting is a project's value and when to read it again.
type cachedSetting[V any] struct {
	v       V
	expires time.Time
}

func newProjectCache[V any](load func(context.Context, int64) (V, error), gone V, now func() time.Time) *projectCache[V] {
	return &projectCache[V]{load: load, gone: gone, now: now, m: map[int64]cachedSetting[V]{}}
}

func (c *projectCache[V]) get(ctx context.Context, projectID int64) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[projectID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := c.load(ctx, projectID)
	if errors.Is(err, store.ErrNotFound) {
		v, err = c.gone, nil
	}
	if err != nil {
		var zero V
		return zero, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedProjects {
		clear(c.m)
	}
	c.m[projectID] = cachedSetting[V]{v: v, expires: now.Add(settingsTTL)}
	c.mu.Unlock()
	return v, nil
}
