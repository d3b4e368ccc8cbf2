package dashboard

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/auth"
)

// argonBytes is what one Argon2id computation of a stored hash allocates
// (m=65536 KiB).
const argonBytes = 64 << 20

// heapSample reads one runtime metric in bytes.
func heapSample(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// heapUse runs f and reports the bytes allocated meanwhile and how far the
// heap rose above its level before f (sampled every millisecond). The GC
// runs eagerly meanwhile so that dead Argon2 blocks do not count as peak.
func heapUse(f func()) (allocated, peak uint64) {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	const objects, allocs = "/memory/classes/heap/objects:bytes", "/gc/heap/allocs:bytes"
	base, before := heapSample(objects), heapSample(allocs)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := heapSample(objects); v > base && v-base > peak {
				peak = v - base
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return heapSample(allocs) - before, peak
}

// loginRequests builds n sign-in posts with one browser's form token:
// post i is for email(i) with password pw(i) from client(i).
func (f *fixture) loginRequests(n int, email, pw, client func(i int) string) []*http.Request {
	f.t.Helper()
	c, token := f.loginForm()
	reqs := make([]*http.Request, n)
	for i := range reqs {
		form := url.Values{"email": {email(i)}, "password": {pw(i)}, csrfField: {token}}
		req := httptest.NewRequest(http.MethodPost, "http://flytrap.test/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = client(i)
		req.AddCookie(c)
		reqs[i] = req
	}
	return reqs
}

// serveAll serves the requests at once and counts the answers by status.
func (f *fixture) serveAll(reqs []*http.Request) (map[int]int, []response) {
	out := make([]response, len(reqs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, req := range reqs {
		wg.Go(func() {
			<-start
			rec := httptest.NewRecorder()
			f.d.ServeHTTP(rec, req)
			out[i] = response{Response: rec.Result(), Body: rec.Body.String()}
		})
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, r := range out {
		count[r.StatusCode]++
	}
	return count, out
}

// postLogins serves n sign-in posts (see loginRequests) at once.
func (f *fixture) postLogins(n int, email, pw, client func(i int) string) (map[int]int, []response) {
	f.t.Helper()
	return f.serveAll(f.loginRequests(n, email, pw, client))
}

func same(s string) func(int) string { return func(int) string { return s } }

// Finding 3: concurrent guesses for one email from one client all passed
// the check-then-record throttle and were all hashed (80 of 80 got 401).
func TestConcurrentGuessesAreThrottled(t *testing.T) {
	const n, perEmail = 80, 5
	f := newFixture(t, func(c *Config) { c.LoginLimit = LoginLimit{PerEmail: perEmail, PerIP: 20, Window: 15 * time.Minute} })
	var count map[int]int
	var out []response
	allocated, _ := heapUse(func() {
		count, out = f.postLogins(n, same("admin@example.com"), func(i int) string { return "wrong " + strconv.Itoa(i) }, same("203.0.113.66:4000"))
	})
	t.Logf("%d concurrent wrong passwords: %d×401, %d×429, %d×503; %d MiB allocated", n,
		count[http.StatusUnauthorized], count[http.StatusTooManyRequests], count[http.StatusServiceUnavailable], allocated>>20)
	if got := count[http.StatusUnauthorized]; got > perEmail {
		t.Errorf("%d wrong passwords were checked, want at most %d", got, perEmail)
	}
	if got := count[http.StatusUnauthorized] + count[http.StatusServiceUnavailable]; count[http.StatusTooManyRequests] < n-perEmail || got+count[http.StatusTooManyRequests] != n {
		t.Errorf("statuses %v: want at least %d×429 and the rest 401 or 503", count, n-perEmail)
	}
	// Every checked password costs one Argon2id computation; the
	// refused ones must cost none.
	if hashes := allocated / argonBytes; hashes > perEmail {
		t.Errorf("%d MiB allocated: about %d password hashes for %d checked guesses", allocated>>20, hashes, perEmail)
	}
	for _, r := range out {
		if r.StatusCode == http.StatusTooManyRequests && r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
}

// Finding 3: nothing capped concurrent Argon2id computations, so 80
// concurrent sign-ins took 80 × 64 MiB at once.
func TestHashingIsBounded(t *testing.T) {
	const n = 80
	f := newFixture(t)
	var count map[int]int
	var out []response
	_, peak := heapUse(func() {
		count, out = f.postLogins(n, func(i int) string { return "user" + strconv.Itoa(i) + "@example.com" },
			same("wrong password"), func(i int) string { return "198.51.100." + strconv.Itoa(i+1) + ":4000" })
	})
	t.Logf("%d concurrent sign-ins: %d×401, %d×503; heap peaked %d MiB above its start", n,
		count[http.StatusUnauthorized], count[http.StatusServiceUnavailable], peak>>20)
	if count[http.StatusUnauthorized]+count[http.StatusServiceUnavailable] != n || count[http.StatusServiceUnavailable] == 0 {
		t.Errorf("statuses %v: want 401s and, for the excess, 503s", count)
	}
	for _, r := range out {
		if r.StatusCode == http.StatusServiceUnavailable && r.Header.Get("Retry-After") == "" {
			t.Fatal("503 without Retry-After")
		}
	}
	// Two hashes at once hold 128 MiB. The GC runs concurrently with the
	// next hashes, so finished blocks still count until it sweeps them:
	// CI saw four blocks (256 MiB) at the peak with only two live. Allow
	// four dead ones; without the bound, 80 hashes would hold 5 GiB.
	if limit := uint64(6 * argonBytes); peak > limit {
		t.Errorf("heap peaked %d MiB above its start, want at most %d MiB (two hashes at once and four not yet swept)", peak>>20, limit>>20)
	}
}

// Finding 6: five wrong guesses from anywhere locked the account for
// everyone, the owner included, for 15 minutes.
func TestStrangerCannotLockOutUser(t *testing.T) {
	const attacker, owner = "203.0.113.66:4000", "192.0.2.7:5000"
	guess := func(i int) string { return "guess " + strconv.Itoa(i) }
	t.Run("after the guesses", func(t *testing.T) {
		f := newFixture(t)
		for i := range 30 {
			r := f.login("admin@example.com", guess(i), attacker, nil)
			if r.StatusCode != http.StatusUnauthorized && r.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("guess %d: HTTP %d", i, r.StatusCode)
			}
		}
		// The attacker is refused even with the right password...
		wantStatus(t, f.login("admin@example.com", password, attacker, nil), http.StatusTooManyRequests)
		// ...while the admin, from a client that has not been guessing,
		// signs in at once.
		start := time.Now()
		wantRedirect(t, f.login("admin@example.com", password, owner, nil), "/projects")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the admin's sign-in took %v", d)
		}
	})
	t.Run("during a flood of guesses", func(t *testing.T) {
		f := newFixture(t)
		flood := f.loginRequests(80, same("admin@example.com"), guess, same(attacker))
		admin := f.loginRequests(1, same("admin@example.com"), same(password), same(owner))
		done := make(chan map[int]int)
		go func() {
			count, _ := f.serveAll(flood)
			done <- count
		}()
		time.Sleep(20 * time.Millisecond)
		_, out := f.serveAll(admin)
		// On a machine busy enough that the hashes the flood got in
		// take longer than the password pool's wait, the admin is told
		// the server is busy and to try again in a second (503, not a
		// lockout: the attacker's guesses are throttled, not queued), and
		// the next try gets in.
		for try := 1; out[0].StatusCode == http.StatusServiceUnavailable && try <= 5; try++ {
			t.Logf("admin's sign-in %d: HTTP 503 (busy); trying again after Retry-After", try)
			time.Sleep(auth.RetryAfter)
			_, out = f.serveAll(f.loginRequests(1, same("admin@example.com"), same(password), same(owner)))
		}
		count := <-done
		t.Logf("attacker: %v; admin: HTTP %d", count, out[0].StatusCode)
		wantRedirect(t, out[0], "/projects")
	})
}
