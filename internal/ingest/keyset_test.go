package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLoader serves a replaceable key map and counts calls.
type fakeLoader struct {
	mu    sync.Mutex
	keys  map[string]int64
	err   error
	calls int
}

func (l *fakeLoader) load(ctx context.Context) (map[string]Key, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if l.err != nil {
		return nil, l.err
	}
	out := make(map[string]Key, len(l.keys))
	for k, v := range l.keys {
		out[k] = Key{ProjectID: v}
	}
	return out, nil
}

func (l *fakeLoader) set(keys map[string]int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys, l.err = keys, err
}

func TestKeySet(t *testing.T) {
	clock := &testClock{now: testNow}
	loader := &fakeLoader{keys: map[string]int64{"a": 1}}
	ks := NewKeySet(loader.load, KeySetConfig{Now: clock.Now})
	dbDown := errors.New("db down")
	steps := []struct {
		name      string
		advance   time.Duration
		keys      map[string]int64 // replaces the loader's data when set
		fail      bool             // loader fails from this step on, until a step sets keys
		key       string
		wantPID   int64
		wantOK    bool
		wantCalls int
	}{
		{name: "first lookup loads", key: "a", wantPID: 1, wantOK: true, wantCalls: 1},
		{name: "cached within the TTL", advance: 10 * time.Second, key: "a", wantPID: 1, wantOK: true, wantCalls: 1},
		{name: "a new key is found by a reload on a miss", keys: map[string]int64{"a": 1, "b": 2}, key: "b", wantPID: 2, wantOK: true, wantCalls: 2},
		{name: "a miss right after a load reloads: no negative cache", key: "zzz", wantCalls: 3},
		{name: "and so does the next", advance: time.Second, key: "zzz", wantCalls: 4},
		{name: "hits never reload within the TTL", advance: 20 * time.Second, key: "b", wantPID: 2, wantOK: true, wantCalls: 4},
		{name: "expiry reloads, removed key disappears", advance: 30 * time.Second, keys: map[string]int64{"a": 1}, key: "b", wantCalls: 5},
		{name: "failed reload serves the stale set", advance: 31 * time.Second, fail: true, key: "a", wantPID: 1, wantOK: true, wantCalls: 6},
		{name: "no retry right after a failure", advance: time.Second, key: "a", wantPID: 1, wantOK: true, wantCalls: 6},
		{name: "not even for a miss", key: "zzz", wantCalls: 6},
		{name: "retry after the interval, still failing", advance: 5 * time.Second, key: "a", wantPID: 1, wantOK: true, wantCalls: 7},
		{name: "recovery", advance: 5 * time.Second, keys: map[string]int64{"a": 10}, key: "a", wantPID: 10, wantOK: true, wantCalls: 8},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		switch {
		case s.fail:
			loader.set(loader.keys, dbDown)
		case s.keys != nil:
			loader.set(s.keys, nil)
		}
		k, ok, err := ks.ProjectForKey(context.Background(), s.key)
		if err != nil || k.ProjectID != s.wantPID || ok != s.wantOK {
			t.Fatalf("%s: got (%d, %v, %v), want (%d, %v, nil)", s.name, k.ProjectID, ok, err, s.wantPID, s.wantOK)
		}
		if loader.calls != s.wantCalls {
			t.Fatalf("%s: %d loads, want %d", s.name, loader.calls, s.wantCalls)
		}
	}
}

// TestKeySetNumbersItsSets: every key comes with the number of the set it
// was found in, which a reload raises and a failed reload does not.
func TestKeySetNumbersItsSets(t *testing.T) {
	clock := &testClock{now: testNow}
	loader := &fakeLoader{keys: map[string]int64{"a": 1}}
	ks := NewKeySet(loader.load, KeySetConfig{Now: clock.Now})
	set := func() uint64 {
		t.Helper()
		k, ok, err := ks.ProjectForKey(context.Background(), "a")
		if !ok || err != nil {
			t.Fatalf("lookup: %v, %v", ok, err)
		}
		return k.Set
	}
	first := set()
	ks.Expire()
	second := set()
	if second <= first {
		t.Fatalf("a reload numbered its set %d after %d", second, first)
	}
	loader.set(loader.keys, errors.New("db down"))
	ks.Expire()
	if got := set(); got != second {
		t.Errorf("a failed reload left the set numbered %d, want %d: its keys are the set before", got, second)
	}
}

func TestKeySetFirstLoadFails(t *testing.T) {
	clock := &testClock{now: testNow}
	dbDown := errors.New("db down")
	loader := &fakeLoader{err: dbDown}
	ks := NewKeySet(loader.load, KeySetConfig{TTL: time.Minute, Now: clock.Now})
	for i, want := range []int{1, 1} {
		if _, _, err := ks.ProjectForKey(context.Background(), "a"); !errors.Is(err, dbDown) {
			t.Fatalf("call %d: err %v, want %v", i, err, dbDown)
		}
		if loader.calls != want {
			t.Fatalf("call %d: %d loads, want %d (failures must not hammer the loader)", i, loader.calls, want)
		}
	}
	clock.Advance(keyRetryInterval)
	loader.set(map[string]int64{"a": 1}, nil)
	if k, ok, err := ks.ProjectForKey(context.Background(), "a"); k.ProjectID != 1 || !ok || err != nil {
		t.Fatalf("after recovery: (%d, %v, %v)", k.ProjectID, ok, err)
	}
}

func TestKeySetNilMapIsEmpty(t *testing.T) {
	ks := NewKeySet(func(context.Context) (map[string]Key, error) { return nil, nil }, KeySetConfig{})
	if k, ok, err := ks.ProjectForKey(context.Background(), "a"); k.ProjectID != 0 || ok || err != nil {
		t.Errorf("(%d, %v, %v), want (0, false, nil)", k.ProjectID, ok, err)
	}
}

func TestKeySetLoadSurvivesCancelledRequest(t *testing.T) {
	loader := &fakeLoader{keys: map[string]int64{"a": 1}}
	ks := NewKeySet(loader.load, KeySetConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if k, ok, err := ks.ProjectForKey(ctx, "a"); k.ProjectID != 1 || !ok || err != nil {
		t.Errorf("(%d, %v, %v): a hung-up client must not fail the shared load", k.ProjectID, ok, err)
	}
}

func TestKeySetConcurrentColdStart(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	ks := NewKeySet(func(context.Context) (map[string]Key, error) {
		calls.Add(1)
		<-release
		return map[string]Key{"a": {ProjectID: 1}}, nil
	}, KeySetConfig{})
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if k, ok, err := ks.ProjectForKey(context.Background(), "a"); k.ProjectID != 1 || !ok || err != nil {
				errs <- "lookup failed"
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the goroutines queue up behind the first load
	close(release)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d loads for 50 concurrent lookups, want 1", n)
	}
}

// TestKeySetNewKeyOnFirstRequest is finding 7: a key created after the
// last load must be accepted on its first request, however soon after that
// load it comes, or SDKs drop their first events on 401.
func TestKeySetNewKeyOnFirstRequest(t *testing.T) {
	for _, after := range []time.Duration{0, time.Second, 4 * time.Second} {
		t.Run(after.String(), func(t *testing.T) {
			clock := &testClock{now: testNow}
			loader := &fakeLoader{keys: map[string]int64{"a": 1}}
			ks := NewKeySet(loader.load, KeySetConfig{Now: clock.Now})
			if _, ok, err := ks.ProjectForKey(context.Background(), "a"); !ok || err != nil {
				t.Fatalf("first lookup: (%v, %v)", ok, err)
			}
			// An unknown key first, so a rate limit on reloads would
			// have been used up.
			if _, ok, _ := ks.ProjectForKey(context.Background(), "wrong"); ok {
				t.Fatal("an unknown key was found")
			}
			loader.set(map[string]int64{"a": 1, "new": 2}, nil)
			clock.Advance(after)
			if k, ok, err := ks.ProjectForKey(context.Background(), "new"); k.ProjectID != 2 || !ok || err != nil {
				t.Errorf("a key created %v after the last load: (%d, %v, %v), want (2, true, nil)", after, k.ProjectID, ok, err)
			}
		})
	}
}

// TestKeySetRevokedKey states the bound on revocation: a revoked key is
// accepted until the set it was cached in is TTL old, and not after.
func TestKeySetRevokedKey(t *testing.T) {
	clock := &testClock{now: testNow}
	loader := &fakeLoader{keys: map[string]int64{"a": 1}}
	const ttl = 30 * time.Second
	ks := NewKeySet(loader.load, KeySetConfig{TTL: ttl, Now: clock.Now})
	steps := []struct {
		advance time.Duration
		wantOK  bool
	}{
		{0, true},                      // cached
		{ttl - time.Millisecond, true}, // revoked meanwhile, still cached
		{time.Millisecond, false},      // TTL old: reloaded, refused
		{time.Second, false},
	}
	for i, s := range steps {
		if i == 1 {
			loader.set(map[string]int64{}, nil)
		}
		clock.Advance(s.advance)
		if _, ok, err := ks.ProjectForKey(context.Background(), "a"); ok != s.wantOK || err != nil {
			t.Fatalf("step %d (+%v): (%v, %v), want %v", i, s.advance, ok, err, s.wantOK)
		}
	}
}

// TestKeySetExpire: a key revoked in this process is refused at once after
// Expire, with no time passing, and a failing loader is not retried on
// every lookup meanwhile.
func TestKeySetExpire(t *testing.T) {
	clock := &testClock{now: testNow}
	loader := &fakeLoader{keys: map[string]int64{"a": 1}}
	ks := NewKeySet(loader.load, KeySetConfig{Now: clock.Now})
	lookup := func() bool {
		t.Helper()
		_, ok, err := ks.ProjectForKey(context.Background(), "a")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !lookup() {
		t.Fatal("key a refused before it was revoked")
	}
	loader.set(map[string]int64{}, nil)
	if !lookup() {
		t.Fatal("key a refused before Expire, within the TTL")
	}
	ks.Expire()
	if lookup() {
		t.Fatal("key a accepted after Expire")
	}
	loader.mu.Lock()
	loads := loader.calls
	loader.mu.Unlock()
	loader.set(nil, errors.New("database down"))
	ks.Expire()
	lookup()
	lookup()
	loader.mu.Lock()
	n := loader.calls - loads
	loader.mu.Unlock()
	if n != 1 {
		t.Errorf("%d loads after Expire with a failing loader, want 1", n)
	}
}

// TestKeySetMissesShareLoads checks that reloading on every miss cannot
// become a load per request: misses that arrive while a load runs wait for
// it or share the one after it.
func TestKeySetMissesShareLoads(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	ks := NewKeySet(func(context.Context) (map[string]Key, error) {
		if calls.Add(1) > 1 {
			<-release
		}
		return map[string]Key{"a": {ProjectID: 1}}, nil
	}, KeySetConfig{})
	if _, ok, err := ks.ProjectForKey(context.Background(), "a"); !ok || err != nil {
		t.Fatalf("first lookup: (%v, %v)", ok, err)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, ok, err := ks.ProjectForKey(context.Background(), fmt.Sprint("unknown", i)); ok || err != nil {
				t.Errorf("unknown key: (%v, %v)", ok, err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let the misses queue up behind the blocked load
	close(release)
	wg.Wait()
	if n := calls.Load(); n > 3 {
		t.Errorf("%d loads for one cold start and 50 concurrent misses, want at most 3", n)
	}
}
