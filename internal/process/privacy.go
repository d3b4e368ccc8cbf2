package process

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/scrub"
	"github.com/getflytrap/flytrap/internal/store"
)

// PrivacyReader reads a project's privacy settings; *store.DB satisfies it.
type PrivacyReader interface {
	ProjectPrivacy(ctx context.Context, v store.Viewer, projectID int64) (store.PrivacySettings, error)
}

// privacyTTL is how long the processor uses a project's settings before
// reading them again: a changed setting applies to events processed at
// most this much later, and a busy project costs one read per interval.
const privacyTTL = 30 * time.Second

// maxCachedProjects bounds the cache; past it, the cache starts over.
const maxCachedProjects = 10000

// scrub is the scrub stage: it removes secrets and, if the project says
// so, the user's IP address, and notes what it filtered on the event. It
// runs before grouping and saving: what is stored never held the secret,
// and which issue an event joins never depends on one. Only reading the
// settings can fail, and then the event is retried rather than stored
// unscrubbed.
func (p *Processor) scrub(ctx context.Context, it *item) error {
	ev := &it.ev
	settings := store.DefaultPrivacy
	if p.privacy != nil {
		var err error
		if settings, err = p.privacy.get(ctx, ev.ProjectID); err != nil {
			return fmt.Errorf("read the privacy settings of project %d to scrub event %s: %w", ev.ProjectID, ev.EventID, err)
		}
	}
	it.scrub = settings.ScrubConfig()
	if note := scrub.Scrub(ev, it.scrub).Note(); note != "" {
		ev.Notes = append(ev.Notes, note)
	}
	return nil
}

type cachedPrivacy struct {
	s       store.PrivacySettings
	expires time.Time
}

// privacyCache is a short-TTL cache of projects' settings, safe for
// concurrent use. Concurrent misses for one project may read it twice,
// which is harmless.
type privacyCache struct {
	r   PrivacyReader
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex
	m  map[int64]cachedPrivacy
}

func (c *privacyCache) get(ctx context.Context, projectID int64) (store.PrivacySettings, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[projectID]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.s, nil
	}
	s, err := c.r.ProjectPrivacy(ctx, store.System, projectID)
	if errors.Is(err, store.ErrNotFound) {
		// The project was deleted after ingest accepted the event; saving
		// decides what happens to it, and there is nothing to configure.
		s, err = store.DefaultPrivacy, nil
	}
	if err != nil {
		return store.PrivacySettings{}, err
	}
	c.mu.Lock()
	if len(c.m) >= maxCachedProjects {
		clear(c.m)
	}
	c.m[projectID] = cachedPrivacy{s: s, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return s, nil
}
