package auth

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHashAndVerify(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("unexpected hash format %q", h)
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
	tests := []struct {
		password string
		want     bool
	}{
		{"correct horse", true},
		{"correct horse ", false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := VerifyPassword(tt.password, h)
		if err != nil || got != tt.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tt.password, got, err, tt.want)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x$AAAA$AAAA", "$argon2id$v=19$m=8,t=1,p=1$!!$AAAA", "$argon2id$v=19$m=8,t=0,p=1$AAAA$AAAA"} {
		if ok, err := VerifyPassword("x", h); ok || err == nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want false, error", h, ok, err)
		}
	}
}

func TestRandomPassword(t *testing.T) {
	p, err := RandomPassword(20)
	if err != nil || len(p) != 20 {
		t.Fatalf("RandomPassword = %q, %v", p, err)
	}
	if strings.ContainsAny(p, "0O1lI") {
		t.Fatalf("password %q has look-alike characters", p)
	}
	q, _ := RandomPassword(20)
	if p == q {
		t.Fatal("two random passwords are equal")
	}
}

// countingKey replaces argon2.IDKey: it records how many calls run at once
// and blocks each until release is closed.
type countingKey struct {
	mu            sync.Mutex
	running, peak int
	started       chan struct{}
	release       chan struct{}
}

func (c *countingKey) idKey(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
	c.mu.Lock()
	c.running++
	c.peak = max(c.peak, c.running)
	c.mu.Unlock()
	c.started <- struct{}{}
	<-c.release
	c.mu.Lock()
	c.running--
	c.mu.Unlock()
	return make([]byte, keyLen)
}

func TestPoolBoundsConcurrency(t *testing.T) {
	const n, size = 80, 2
	hash, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	c := &countingKey{started: make(chan struct{}, n), release: make(chan struct{})}
	p := NewPool(size, 20*time.Millisecond)
	p.idKey = c.idKey
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = p.Verify("guess", hash)
			} else {
				_, err = p.Hash("new password")
			}
			errs <- err
		})
	}
	// The slots fill and stay full; everyone else gives up after the
	// wait instead of queueing.
	for range size {
		<-c.started
	}
	busy := 0
	for range n - size {
		if err := <-errs; !errors.Is(err, ErrBusy) {
			t.Fatalf("err %v, want ErrBusy", err)
		}
		busy++
	}
	close(c.release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a computation that had a slot failed: %v", err)
		}
	}
	if c.peak > size || busy != n-size {
		t.Errorf("peak %d computations at once, %d refused; want at most %d and %d", c.peak, busy, size, n-size)
	}
	// Freed slots take new work.
	if _, err := p.Hash("again"); err != nil {
		t.Errorf("after the flood: %v", err)
	}
}

func TestPoolWaitsForASlot(t *testing.T) {
	c := &countingKey{started: make(chan struct{}, 2), release: make(chan struct{})}
	p := NewPool(1, time.Minute)
	p.idKey = c.idKey
	done := make(chan error, 2)
	go func() { _, err := p.Hash("one"); done <- err }()
	<-c.started
	go func() { _, err := p.Hash("two"); done <- err }()
	// The second caller waits within its minute; releasing the first lets
	// it run.
	close(c.release)
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if c.peak != 1 {
		t.Errorf("peak %d, want 1", c.peak)
	}
}

func TestDummyHash(t *testing.T) {
	h := DummyHash()
	if h == DummyHash() {
		t.Fatal("two dummy hashes are equal")
	}
	for _, pw := range []string{"", "password", h} {
		if ok, err := VerifyPassword(pw, h); ok || err != nil {
			t.Errorf("VerifyPassword(%q, dummy) = %v, %v; want false, nil", pw, ok, err)
		}
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("dummy hash %q has other parameters than real ones, so it costs a different time", h)
	}
}
