// Package auth hashes passwords and generates secrets.
//
// Every Argon2id computation in the process (sign-in, password changes,
// new users, bootstrap) goes through one Pool, Shared, because memory is
// a per-process budget: each computation holds 64 MiB while it runs.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: 64 MiB and 3 passes follow the RFC 9106 second
// recommendation for memory-constrained servers; a login costs ~50 ms here.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
	saltLen      = 16
)

// ErrMalformedHash is returned by Verify for a hash it cannot read.
var ErrMalformedHash = errors.New("malformed password hash")

// ErrBusy is returned when every hashing slot stayed taken for the pool's
// wait. Servers answer it with 503 and Retry-After (RetryAfter).
var ErrBusy = errors.New("auth: too many passwords are being checked at once; try again in a second")

// Defaults of Shared. Two slots hold 128 MiB, which a 2 GB dashboard
// instance affords next to the database pool and page rendering, and at
// about 50 ms a hash they still check some 40 passwords a second.
const (
	DefaultPoolSize = 2
	DefaultPoolWait = time.Second
	// RetryAfter is what a caller refused with ErrBusy is told to wait.
	RetryAfter = time.Second
	// ReleaseQuiet is how long a pool waits, after its last computation,
	// before it gives the memory back (Pool).
	ReleaseQuiet = time.Second
)

// Shared is the process's pool; HashPassword and VerifyPassword use it.
var Shared = NewPool(DefaultPoolSize, DefaultPoolWait)

// Pool bounds how many Argon2id computations run at once. A caller that
// finds every slot taken waits at most the pool's wait and then gets
// ErrBusy: a waiting caller holds no Argon2 memory, but a flood would
// otherwise queue without end while the real user's sign-in waits behind
// it.
//
// A pool gives the memory back once its computations stop: ReleaseQuiet
// after the last one ends, unless another started, it collects and returns
// the freed pages to the OS (debug.FreeOSMemory). Argon2's 64 MiB is
// garbage the moment a hash is done, but an idle server's small heap makes
// no collection due, and the runtime keeps freed pages for the next
// growth: one dashboard sign-in left `flytrap dev` at 110 MB of RSS instead
// of 43 MB, for minutes (docs/benchmarks.md). Waiting for a quiet moment
// means a burst of sign-ins costs one collection, not one each.
type Pool struct {
	slots chan struct{}
	wait  time.Duration
	// idKey is argon2.IDKey; tests replace it to observe concurrency.
	idKey func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
	// release and quiet are debug.FreeOSMemory and ReleaseQuiet; tests
	// replace them.
	release func()
	quiet   time.Duration

	mu      sync.Mutex
	running int
	timer   *time.Timer
}

// NewPool returns a pool that runs at most size computations at once
// (at least one) and lets callers wait up to wait for a slot.
func NewPool(size int, wait time.Duration) *Pool {
	return &Pool{slots: make(chan struct{}, max(size, 1)), wait: wait, idKey: argon2.IDKey,
		release: debug.FreeOSMemory, quiet: ReleaseQuiet}
}

// run computes one key in a slot.
func (p *Pool) run(password, salt []byte, iters, mem uint32, threads uint8, keyLen uint32) ([]byte, error) {
	select {
	case p.slots <- struct{}{}:
	default:
		t := time.NewTimer(p.wait)
		defer t.Stop()
		select {
		case p.slots <- struct{}{}:
		case <-t.C:
			return nil, ErrBusy
		}
	}
	defer func() { <-p.slots }()
	p.started()
	defer p.finished()
	return p.idKey(password, salt, iters, mem, threads, keyLen), nil
}

func (p *Pool) started() {
	p.mu.Lock()
	p.running++
	p.mu.Unlock()
}

// finished (re)arms the release when the last computation ends.
func (p *Pool) finished() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running--; p.running > 0 {
		return
	}
	if p.timer == nil {
		p.timer = time.AfterFunc(p.quiet, p.releaseIfIdle)
	} else {
		p.timer.Reset(p.quiet)
	}
}

func (p *Pool) releaseIfIdle() {
	p.mu.Lock()
	idle := p.running == 0
	p.mu.Unlock()
	if idle {
		p.release()
	}
}

// HashPassword returns an Argon2id hash of password in the PHC string
// format, computed in Shared.
func HashPassword(password string) (string, error) { return Shared.Hash(password) }

// VerifyPassword reports whether password matches a hash, computed in
// Shared.
func VerifyPassword(password, hash string) (bool, error) { return Shared.Verify(password, hash) }

// Hash returns an Argon2id hash of password in the PHC string format, or
// ErrBusy.
func (p *Pool) Hash(password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := p.run([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	if err != nil {
		return "", err
	}
	return phc(salt, key), nil
}

func phc(salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// DummyHash returns a hash that no password matches (its key is random,
// not derived) and that costs as much to verify as a real one: sign-in
// verifies against it for unknown addresses, so a failure takes the same
// time whether or not the address has an account. It computes nothing.
func DummyHash() string {
	salt, key := make([]byte, saltLen), make([]byte, argonKeyLen)
	rand.Read(salt)
	rand.Read(key)
	return phc(salt, key)
}

// Verify reports whether password matches a Hash hash, or returns
// ErrMalformedHash or ErrBusy. The parameters are read from the hash so
// they can be raised later without invalidating stored hashes.
func (p *Pool) Verify(password, hash string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrMalformedHash
	}
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil || threads == 0 || iters == 0 {
		return false, ErrMalformedHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	got, err := p.run([]byte(password), salt, iters, mem, threads, uint32(len(want)))
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// RandomPassword returns a password of n characters from an alphabet without
// look-alike characters, for passwords that are printed once and typed.
func RandomPassword(n int) (string, error) {
	const alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	out := make([]byte, n)
	for i, b := range buf {
		// 256 % 55 != 0 gives a bias of under 1%; acceptable for a 20-char
		// password with ~115 bits of entropy.
		out[i] = alphabet[int(b)%len(alphabet)]
	}
	return string(out), nil
}
