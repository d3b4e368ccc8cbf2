package symbolicate

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
)

func TestMapCacheBoundedByBytes(t *testing.T) {
	c := newMapCache(1000)
	parses := 0
	sized := func(n int64) func([]byte) *parsedMap {
		return func([]byte) *parsedMap {
			parses++
			return &parsedMap{size: n}
		}
	}
	c.get("a", nil, sized(400))
	c.get("b", nil, sized(400))
	c.get("a", nil, sized(400)) // a is now the most recently used
	c.get("c", nil, sized(400)) // evicts b, the least recently used
	if c.bytes > 1000 || c.lru.Len() != 2 {
		t.Errorf("%d bytes in %d maps, want at most 1000 in 2", c.bytes, c.lru.Len())
	}
	for key, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if _, ok := c.peek(key); ok != want {
			t.Errorf("%s cached: %v, want %v", key, ok, want)
		}
	}
	// A map larger than the cache is used, not kept.
	if pm := c.get("huge", nil, sized(2000)); pm.size != 2000 {
		t.Errorf("huge map not returned")
	}
	if _, ok := c.peek("huge"); ok || c.bytes > 1000 {
		t.Errorf("a map over the bound was cached (%d bytes)", c.bytes)
	}
	if parses != 4 {
		t.Errorf("%d parses, want 4 (a hit parses nothing)", parses)
	}
}

// Workers share one cache: concurrent frames of one new map parse it once,
// and the byte bound holds under concurrent use (run with -race).
func TestMapCacheConcurrent(t *testing.T) {
	c := newMapCache(10_000)
	var parses atomic.Int64
	release := make(chan struct{})
	parse := func([]byte) *parsedMap {
		parses.Add(1)
		<-release
		return &parsedMap{size: 100}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { c.get("same", nil, parse) })
	}
	// Let every goroutine reach the cache before the parse finishes.
	for {
		c.mu.Lock()
		_, busy := c.parsing["same"]
		c.mu.Unlock()
		if busy {
			break
		}
	}
	close(release)
	wg.Wait()
	if n := parses.Load(); n != 1 {
		t.Errorf("8 concurrent misses on one map parsed it %d times, want 1", n)
	}
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				c.get(fmt.Sprint(g, "-", i%50), nil, func([]byte) *parsedMap { return &parsedMap{size: 300} })
			}
		})
	}
	wg.Wait()
	if c.bytes > 10_000 {
		t.Errorf("%d bytes cached, over the bound of 10000", c.bytes)
	}
}

// Symbolicators serving concurrent workers return the same frames as one
// serving them in turn (run with -race).
func TestSymbolicateConcurrent(t *testing.T) {
	maps := &fakeMaps{byPath: map[string]artifact.Map{urlA: mapA(t), urlB: mapB(t)}}
	s := New(Config{Maps: maps, CacheBytes: 4096}) // room for one map at a time: evictions race with lookups
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for w := range 16 {
		wg.Go(func() {
			stack := []string{"testdata/build-a/stack.txt", "testdata/build-b/stack.txt"}[w%2]
			for range 50 {
				ev := stackEvent(t, stack)
				if err := s.Symbolicate(context.Background(), &ev); err != nil {
					errs <- err.Error()
					return
				}
				if got := summarize(lastN(ev.Exceptions[0].Frames, 1))[0]; got != wantBundleFrames[0] {
					errs <- fmt.Sprintf("%+v", got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestFindCacheBounded(t *testing.T) {
	c := newFindCache(3)
	for i := range 10 {
		c.put(artifact.Query{AbsPath: fmt.Sprint(i)}, resolved{})
	}
	if c.lru.Len() != 3 {
		t.Errorf("%d answers kept, want 3", c.lru.Len())
	}
}
