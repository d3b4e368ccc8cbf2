package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// devServer returns a server with one worker over a fresh SQLite store, as
// flytrap dev leaves it on its first start: an admin, a project and its
// key.
func devServer(t *testing.T) (*Server, *store.DB, bootstrap.Result) {
	t.Helper()
	db := openDB(t)
	s, b := devServerOn(t, db)
	return s, db, b
}

// onEachStore runs fn as a subtest over a fresh SQLite store and over a
// fresh PostgreSQL database.
func onEachStore(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	dsns := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "s.db") },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	}
	for name, dsn := range dsns {
		t.Run(name, func(t *testing.T) {
			db, err := store.Open(context.Background(), dsn(t))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			fn(t, db)
		})
	}
}

// devServerOn is devServer over db, a fresh store of either dialect.
func devServerOn(t *testing.T, db *store.DB) (*Server, bootstrap.Result) {
	t.Helper()
	b, err := bootstrap.Ensure(context.Background(), db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	return New(db, Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 1}, slog.New(slog.NewTextHandler(io.Discard, nil))), b
}

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOperationsEndpoints(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	var free atomic.Uint64
	free.Store(1 << 40)
	s := New(db, Config{
		Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 1,
		DataDir: t.TempDir(), FreeSpace: func(string) (uint64, error) { return free.Load(), nil },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	const ready, notReady = `{"status":"ready"}` + "\n", `{"status":"not ready"}` + "\n"
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 || body != ready {
		t.Errorf("readyz = %d %q", code, body)
	}
	// A disk below the default minimum (100 MiB) makes the server not
	// ready, and a free one ready again.
	for _, tt := range []struct {
		free uint64
		code int
		body string
	}{{100<<20 - 1, 503, notReady}, {0, 503, notReady}, {100 << 20, 200, ready}} {
		free.Store(tt.free)
		if code, body := get("/readyz"); code != tt.code || body != tt.body {
			t.Errorf("readyz with %d bytes free = %d %q, want %d %q", tt.free, code, body, tt.code, tt.body)
		}
	}
	// One accepted event and one rejected request show up in the metrics.
	req, _ := http.NewRequest("POST", srv.URL+"/api/"+itoa(b.Project.ID)+"/store/?sentry_key="+b.Key.PublicKey, strings.NewReader(`{"message":"hello"}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("store: %v %v", resp, err)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/api/"+itoa(b.Project.ID)+"/store/", strings.NewReader(`{}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("keyless store: %v %v", resp, err)
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		"# TYPE flytrap_ingest_accepted_total counter\nflytrap_ingest_accepted_total 1\n",
		`flytrap_ingest_rejected_total{reason="unauthorized"} 1`,
		"flytrap_queue_ready 1\n",
		"flytrap_queue_dead 0\n",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	// The API is mounted beside ingest.
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/projects", nil)
	req.Header.Set("Authorization", "Bearer "+b.APIToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("api: %v %v", resp, err)
	}

	// The reason stays in the log: strangers can reach /readyz.
	db.Close()
	if code, body := get("/readyz"); code != 503 || body != notReady {
		t.Errorf("readyz with a closed database = %d %q, want 503 %q", code, body, notReady)
	}
}

// TestNoSniff: every kind of response forbids MIME sniffing, so browsers
// cannot be talked into running SDK-supplied text as HTML or script.
func TestNoSniff(t *testing.T) {
	s, _, b := devServer(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	store := "/api/" + itoa(b.Project.ID) + "/store/"
	tests := []struct {
		name, method, path, token, body string
		code                            int
	}{
		{"API JSON", "GET", "/api/v1/projects", b.APIToken, "", 200},
		{"API error", "GET", "/api/v1/projects", "", "", 401},
		{"API unknown route", "GET", "/api/v1/nope", b.APIToken, "", 404},
		{"ingest accepted", "POST", store + "?sentry_key=" + b.Key.PublicKey, "", `{"message":"hello"}`, 200},
		{"ingest refused", "POST", store, "", `{}`, 401},
		{"ingest preflight", "OPTIONS", store, "", "", 200},
		{"login page", "GET", "/login", "", "", 200},
		{"page redirect", "GET", "/", "", "", 303},
		{"healthz", "GET", "/healthz", "", "", 200},
		{"readyz", "GET", "/readyz", "", "", 200},
		{"metrics", "GET", "/metrics", "", "", 200},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %s %s = %d, X-Content-Type-Options %q; want %d, nosniff",
				tt.name, tt.method, tt.path, resp.StatusCode, resp.Header.Get("X-Content-Type-Options"), tt.code)
		}
	}
}

// TestRunDrainsQueueAndStops runs with the workers on the main pool and on
// their own (as flytrap dev does): either way every event is stored and
// acknowledged, and the queue's pending count, which ingest's backlog
// limit reads, comes back to zero.
func TestRunDrainsQueueAndStops(t *testing.T) {
	for _, ownPool := range []bool{false, true} {
		t.Run(map[bool]string{false: "main pool", true: "processing pool"}[ownPool], func(t *testing.T) {
			testRunDrainsQueueAndStops(t, ownPool)
		})
	}
}

func testRunDrainsQueueAndStops(t *testing.T, ownPool bool) {
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 2}
	if ownPool {
		pdb, err := db.Pool(3)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pdb.Close() })
		cfg.Processing = pdb
	}
	s := New(db, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ln := httptest.NewUnstartedServer(nil).Listener
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx, ln) }()
	url := "http://" + ln.Addr().String() + "/api/" + itoa(b.Project.ID) + "/store/?sentry_key=" + b.Key.PublicKey
	for i := range 20 {
		resp, err := http.Post(url, "application/json", strings.NewReader(`{"message":"event `+itoa(int64(i))+`"}`))
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("post %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		issues, _, err := db.ListIssues(ctx, store.System, store.IssueFilter{ProjectID: b.Project.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(issues) == 1 && issues[0].Count == 20 && s.queue.Pending() == 0 {
			break // "event <n>" masks to one message group
		}
		if time.Now().After(deadline) {
			t.Fatalf("issues = %+v, %d messages pending", issues, s.queue.Pending())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestIngestWithRepeatedSlashes: an SDK configured with "http://host/"
// posts to //api/errors. The web mux would redirect that path, which
// browsers refuse for a preflight; ingest must answer it directly, while
// other paths keep the mux's behaviour.
func TestIngestWithRepeatedSlashes(t *testing.T) {
	s, _, b := devServer(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, body string, header map[string]string) *http.Response {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	preflight := map[string]string{"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
	if resp := do("OPTIONS", "//api/errors", "", preflight); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
		t.Errorf("preflight of //api/errors: %d %v", resp.StatusCode, resp.Header)
	}
	body := `{"data":{"error":{"name":"Error","message":"x","stack":"Error: x\n    at f (/srv/app.js:1:1)"},"project_id":"` + itoa(b.Project.ID) + `"}}`
	if resp := do("POST", "//api/errors", body, map[string]string{"x-api-key": b.Key.PublicKey, "Content-Type": "application/json"}); resp.StatusCode != 200 {
		t.Errorf("POST //api/errors: %d", resp.StatusCode)
	}
	if resp := do("OPTIONS", "//api//"+itoa(b.Project.ID)+"//envelope/", "", preflight); resp.StatusCode != 200 {
		t.Errorf("preflight of a Sentry envelope path with repeated slashes: %d", resp.StatusCode)
	}
	if resp := do("GET", "//healthz", "", nil); resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/healthz" {
		t.Errorf("GET //healthz: %d to %q, want the mux's redirect to /healthz", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestProjectZeroIsIngest: /api/0/ is the sentry-cli API's prefix, but an
// SDK with a DSN naming project 0 must still get ingest's answer, with the
// CORS headers a browser needs to show it, while sentry-cli's routes stay
// where they are.
func TestProjectZeroIsIngest(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 1, Artifacts: artifact.Dir{Root: t.TempDir()}},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, path := range []string{"/api/0/envelope/", "/api/0/envelope", "/api/0/store/", "/api/0/store"} {
		req, _ := http.NewRequest("POST", srv.URL+path+"?sentry_key="+b.Key.PublicKey, strings.NewReader(`{"event_id":"`+strings.Repeat("a", 32)+`"}`+"\n"))
		req.Header.Set("Origin", "http://localhost:5173")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Error struct{ Code string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != 400 || out.Error.Code != "invalid_project_id" || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:5173" {
			t.Errorf("POST %s: %d %+v %v, want ingest's 400 invalid_project_id, with CORS", path, resp.StatusCode, out, resp.Header)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/0/organizations/flytrap/chunk-upload/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("sentry-cli's chunk-upload without a token: %d, want the artifact API's 401", resp.StatusCode)
	}
}

// TestSQLiteClaimsForOneWriter: on SQLite, where every batch is saved under
// the one write lock, the workers beyond the first claim only while the
// local queue's backlog is long (process.Workers.Backlog), and a claim
// holds at most sqliteClaimBytes; on PostgreSQL all workers claim, as much
// as a batch holds.
func TestSQLiteClaimsForOneWriter(t *testing.T) {
	tests := []struct {
		dialect     string
		wantBacklog bool
		wantClaimed int // of three 200 KiB messages
	}{
		{store.DialectSQLite, true, 2},
		{store.DialectPostgres, false, 3},
	}
	for _, tt := range tests {
		t.Run(tt.dialect, func(t *testing.T) {
			ctx := context.Background()
			db := openPipelineDB(t, tt.dialect)
			s := New(db, Config{Ingest: ingest.Config{IPSalt: []byte("salt")}, Workers: 2}, slog.New(slog.NewTextHandler(io.Discard, nil)))
			t.Cleanup(func() { s.queue.Close() })
			if got := s.workers.Backlog != nil; got != tt.wantBacklog {
				t.Fatalf("workers wait for a backlog: %v, want %v", got, tt.wantBacklog)
			}
			big := make([]byte, 200<<10)
			if err := s.queue.EnqueueBatch(ctx, [][]byte{big, big, big}); err != nil {
				t.Fatal(err)
			}
			if tt.wantBacklog {
				if n := s.workers.Backlog(); n != 3 {
					t.Errorf("Backlog() = %d after 3 enqueues, want the queue's 3 pending", n)
				}
			}
			msgs, err := s.queue.Receive(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != tt.wantClaimed {
				t.Errorf("claimed %d of three 200 KiB messages, want %d", len(msgs), tt.wantClaimed)
			}
		})
	}
}

// TestRotatedKeyRefusedAtOnce: after a key rotation or a project deletion
// through this process, ingest refuses the old key on the next request,
// not a key-cache TTL (30 s) later, so SDKs stop sending events that would
// be dropped.
func TestRotatedKeyRefusedAtOnce(t *testing.T) {
	ctx := context.Background()
	s, db, b := devServer(t)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	send := func(key string, project int64) int {
		t.Helper()
		body := `{"data":{"error":{"name":"Error","message":"x","stack":"Error: x\n    at f (/srv/app.js:1:1)"},"project_id":"` + itoa(project) + `"}}`
		req, _ := http.NewRequest("POST", srv.URL+"/api/errors", strings.NewReader(body))
		req.Header.Set("x-api-key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := send(b.Key.PublicKey, b.Project.ID); code != 200 {
		t.Fatalf("first event: HTTP %d", code)
	}
	k, err := db.RotateProjectKey(ctx, store.System, b.Project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if code := send(b.Key.PublicKey, b.Project.ID); code != 401 {
		t.Errorf("old key right after the rotation: HTTP %d, want 401", code)
	}
	if code := send(k.PublicKey, b.Project.ID); code != 200 {
		t.Errorf("new key: HTTP %d", code)
	}
	if err := db.DeleteProject(ctx, store.System, b.Project.ID); err != nil {
		t.Fatal(err)
	}
	if code := send(k.PublicKey, b.Project.ID); code != 401 {
		t.Errorf("key of the deleted project: HTTP %d, want 401", code)
	}
}

// TestServerRateLimit: the dashboard is given the limit ingest applies to
// projects without their own (flytrap dev's --rate-limit), not a number of
// its own.
func TestServerRateLimit(t *testing.T) {
	for _, tc := range []struct{ perMinute, want int }{
		{0, ingest.DefaultRatePerMinute},
		{600, 600},
		{-1, store.RateLimitNone},
	} {
		if got := serverRateLimit(tc.perMinute); got != tc.want {
			t.Errorf("serverRateLimit(%d) = %d, want %d", tc.perMinute, got, tc.want)
		}
	}
}

// TestSlowBodiesCutOff: flytrap dev's handler gives the REST API's bodies
// the web face's deadline, and ingest's its own, so a client trickling a
// token request or an event loses its connection after 10 s (the default
// --body-timeout), not the two-minute ReadTimeout.
func TestSlowBodiesCutOff(t *testing.T) {
	s, _, b := devServer(t)
	srv := httptest.NewUnstartedServer(s.Handler())
	srv.Config = s.app.HTTPServer(s.Handler())
	srv.Start()
	t.Cleanup(srv.Close)
	for _, path := range []string{"/api/v1/auth/token", "/api/" + itoa(b.Project.ID) + "/store/?sentry_key=" + b.Key.PublicKey} {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", path)
			go func() {
				for range 60 {
					time.Sleep(time.Second)
					if _, err := c.Write([]byte(" ")); err != nil {
						return
					}
				}
			}()
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			answer, err := io.ReadAll(c)
			if took := time.Since(start); err != nil || took > 15*time.Second {
				t.Fatalf("connection still open after %v (%v); want it closed after about 10 s", took, err)
			}
			if status, _, _ := strings.Cut(string(answer), "\r\n"); status != "HTTP/1.1 408 Request Timeout" {
				t.Errorf("answered %q, want 408", status)
			}
		})
	}
}
