package symbolicate

import (
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// mapCache holds parsed maps by artifact.Map.Key, bounded by their
// estimated size: least recently used maps go first. It is safe for
// concurrent use; a map is parsed outside the lock, so a slow parse holds
// up only the frames waiting for that same map.
type mapCache struct {
	mu       sync.Mutex
	lru      *simplelru.LRU[string, *parsedMap]
	bytes    int64 // sum of the cached maps' sizes
	maxBytes int64
	// parsing has a channel per key being parsed, closed when it is
	// cached: concurrent misses on one map parse it once.
	parsing map[string]chan struct{}
}

// maxEntries only satisfies simplelru, which counts entries; the byte
// bound is what evicts.
const maxEntries = 1 << 20

func newMapCache(maxBytes int64) *mapCache {
	c := &mapCache{maxBytes: maxBytes, parsing: map[string]chan struct{}{}}
	lru, err := simplelru.NewLRU(maxEntries, func(_ string, pm *parsedMap) { c.bytes -= pm.size })
	if err != nil {
		panic(err) // only for a size <= 0
	}
	c.lru = lru
	return c
}

// get returns the parsed map of key, parsing body with parse on a miss.
func (c *mapCache) get(key string, body []byte, parse func([]byte) *parsedMap) *parsedMap {
	c.mu.Lock()
	if pm, ok := c.lru.Get(key); ok {
		c.mu.Unlock()
		return pm
	}
	if wait, busy := c.parsing[key]; busy {
		c.mu.Unlock()
		<-wait
		if pm, ok := c.peek(key); ok {
			return pm
		}
		// Too large to cache (or evicted already): parse it here
		// rather than wait for nothing.
		return parse(body)
	}
	done := make(chan struct{})
	c.parsing[key] = done
	c.mu.Unlock()
	pm := parse(body)
	c.mu.Lock()
	c.add(key, pm)
	delete(c.parsing, key)
	close(done)
	c.mu.Unlock()
	return pm
}

// add caches pm under key, evicting the least recently used maps until it
// fits; a map larger than the whole cache is not kept. c.mu is held.
func (c *mapCache) add(key string, pm *parsedMap) {
	if pm.size > c.maxBytes {
		return
	}
	c.lru.Add(key, pm)
	c.bytes += pm.size
	for c.bytes > c.maxBytes {
		if _, _, ok := c.lru.RemoveOldest(); !ok {
			break
		}
	}
}

// peek returns the cached map of key without parsing.
func (c *mapCache) peek(key string) (*parsedMap, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Get(key)
}

// resolved is what Maps.Find answered for a query until expires: the
// map's key, the file it was stored for and whose upload it came from
// (see lookup), or why there is none (no map, or several matching).
type resolved struct {
	key, file, upload, minified string
	minifiedSize                int64
	reason, detail              string
	expires                     time.Time
}

// findCache remembers Find's answers for a short time, so the frames of a
// flood of events from one bundle neither query the store each nor read
// the map's bytes again. Not-found answers expire sooner: a map uploaded
// after its first errors should be used soon.
type findCache struct {
	mu  sync.Mutex
	lru *simplelru.LRU[artifact.Query, resolved]
}

func newFindCache(entries int) *findCache {
	lru, err := simplelru.NewLRU[artifact.Query, resolved](entries, nil)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &findCache{lru: lru}
}

func (c *findCache) get(q artifact.Query, now time.Time) (resolved, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.lru.Get(q)
	if !ok {
		return resolved{}, false
	}
	if !now.Before(r.expires) {
		c.lru.Remove(q)
		return resolved{}, false
	}
	return r, true
}

func (c *findCache) put(q artifact.Query, r resolved) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Add(q, r)
}
