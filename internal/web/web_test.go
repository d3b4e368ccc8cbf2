package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/store"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// TestSignInThrottleIsShared: password guesses through the API's token
// endpoint count against the dashboard's sign-in form, since both are
// mounted here on one throttle.
func TestSignInThrottleIsShared(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	srv := httptest.NewServer(New(db, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// The default limit is 5 failures per address from one client.
	for i := range 5 {
		resp, err := c.Post(srv.URL+"/api/v1/auth/token", "application/json",
			strings.NewReader(`{"email":"ada@example.com","password":"guess","name":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d through the API: HTTP %d, want 401", i, resp.StatusCode)
		}
	}
	resp, err := c.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field on the sign-in page:\n%s", page)
	}
	resp, err = c.PostForm(srv.URL+"/login", url.Values{"csrf_token": {string(m[1])}, "email": {"ada@example.com"}, "password": {"guess"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the form after 5 guesses through the API: HTTP %d, Retry-After %q; want 429 with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// TestRevokingATokenEndsItsStreamAtOnce: a live stream authenticated by a
// token closes as soon as the token is revoked through the API, not at the
// stream's next periodic recheck a minute later.
func TestRevokingATokenEndsItsStreamAtOnce(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, "ada@example.com", "h", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	secret, tok, err := db.CreateAPIToken(ctx, u.ID, "tail")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(db, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	header := http.Header{"Authorization": {"Bearer " + secret}}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/stream", &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	req, _ := http.NewRequest("DELETE", srv.URL+"/api/v1/tokens/"+strconv.FormatInt(tok.ID, 10), nil)
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: HTTP %d", resp.StatusCode)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	_, _, err = c.Read(rctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Fatalf("read after revoking the token: %v (status %v), want 1008 at once", err, got)
	}
	t.Logf("closed %v after the revocation", time.Since(start))
}

// TestAPILinksOnPublicURL: the API's Link header, mounted here, pages on
// the configured public URL, not on the Host the client sent.
func TestAPILinksOnPublicURL(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, "ada@example.com", "x", store.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateAPIToken(ctx, u.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	p, err := db.CreateProject(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	h := New(db, Config{PublicURL: "https://flytrap.example"}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler()
	path := "/api/v1/projects/" + strconv.FormatInt(p.ID, 10) + "/issues"
	r := httptest.NewRequest("GET", "http://attacker.example"+path, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	want := `<https://flytrap.example` + path + `>; rel="previous"; results="false"; cursor="", <https://flytrap.example` + path + `>; rel="next"; results="false"; cursor=""`
	if got := w.Header().Get("Link"); w.Code != http.StatusOK || got != want {
		t.Errorf("HTTP %d, Link %q; want 200, %q", w.Code, got, want)
	}
}

// TestLiveStreamLimits: the web face, which both flytrap dev and the EC2
// dashboard serve, hands Config.LiveStreams to the live stream.
func TestLiveStreamLimits(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, "ada@example.com", "h", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := db.CreateAPIToken(ctx, u.ID, "tail")
	if err != nil {
		t.Fatal(err)
	}
	w := New(db, Config{LiveStreams: live.Limits{PerUser: 1}}, slog.New(slog.DiscardHandler))
	defer w.Hub().Close()
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	opts := &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + secret}}}
	streamURL := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/stream"
	c, _, err := websocket.Dial(ctx, streamURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, resp, err := websocket.Dial(ctx, streamURL, opts)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second stream of a user limited to one: %v, %v; want 429", err, resp)
	}
}

// TestLiveStreamTrustsPublicURL: behind a proxy that rewrites Host, the
// browser's Origin is the public URL, which the live stream accepts as
// the dashboard's forms do; another origin is still refused.
func TestLiveStreamTrustsPublicURL(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.CreateUser(ctx, "ada@example.com", "h", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := db.CreateAPIToken(ctx, u.ID, "tail")
	if err != nil {
		t.Fatal(err)
	}
	w := New(db, Config{PublicURL: "https://flytrap.example/"}, slog.New(slog.DiscardHandler))
	defer w.Hub().Close()
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	for origin, want := range map[string]int{"https://flytrap.example": http.StatusSwitchingProtocols, "https://evil.example": http.StatusForbidden} {
		h := http.Header{"Authorization": {"Bearer " + secret}, "Origin": {origin}}
		c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/api/v1/stream", &websocket.DialOptions{HTTPHeader: h})
		if c != nil {
			c.CloseNow()
		}
		if resp == nil || resp.StatusCode != want {
			t.Errorf("Origin %s: %v, %v; want %d", origin, resp, err, want)
		}
	}
}

// TestSlowFormIsCutOff: a client without an account that announces a
// sign-in form and trickles it loses its connection after the body's
// grace (10 s), not the server's two-minute ReadTimeout, so such clients
// cannot hold connections up to the open-file limit for long.
func TestSlowFormIsCutOff(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := New(db, Config{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewUnstartedServer(w.Handler())
	srv.Config = w.HTTPServer(w.Handler())
	srv.Start()
	defer srv.Close()

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	fmt.Fprintf(c, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nemail=")
	go func() {
		// A byte a second, far below any real client, for 9 s: a byte
		// that arrives as the server cuts the connection at 10 s is
		// left unread, and closing with it makes the kernel reset the
		// connection, which can drop the 408 before the client reads it.
		// A deadline that each byte put off would still end past 15 s.
		for range 9 {
			time.Sleep(time.Second)
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	answer, err := io.ReadAll(c)
	took := time.Since(start)
	if err != nil || took > 15*time.Second {
		t.Fatalf("connection still open after %v (%v); want it closed after about 10 s", took, err)
	}
	if status, _, _ := strings.Cut(string(answer), "\r\n"); status != "HTTP/1.1 408 Request Timeout" {
		t.Errorf("answered %q, want 408", status)
	}
	t.Logf("closed after %v", took)
}

// TestListenerCountsOnlyDirectClients: served directly, connections are
// bounded per client address and the server's ConnState hook tells the
// limit which are idle; behind a trusted proxy every connection
// comes from the proxy, which must not be held to one client's share.
func TestListenerCountsOnlyDirectClients(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := &http.Server{}
	if got := New(db, Config{}, slog.New(slog.DiscardHandler)).Listener(srv, ln); got == ln {
		t.Error("served directly, the listener is not limited")
	}
	if srv.ConnState == nil {
		t.Error("served directly, the server does not tell the listener which connections are idle")
	}
	if got := New(db, Config{TrustForwardedFor: true}, slog.New(slog.DiscardHandler)).Listener(&http.Server{}, ln); got != ln {
		t.Errorf("behind a trusted proxy, the listener is %T; want it as is", got)
	}
}

// TestHTTP2StreamsPerConn: an HTTP/2 client gets at most
// MaxStreamsPerConn requests open on one connection; its transport opens
// another connection for the rest, which the per-address limit counts.
func TestHTTP2StreamsPerConn(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := New(db, Config{}, slog.New(slog.DiscardHandler))
	release := make(chan struct{})
	var mu sync.Mutex
	conns := map[string]int{}
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr]++
		mu.Unlock()
		<-release
	})
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.Config = w.HTTPServer(h)
	srv.StartTLS()
	defer srv.Close()
	c := srv.Client()
	var wg sync.WaitGroup
	for range MaxStreamsPerConn + 4 {
		wg.Go(func() {
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			if resp.ProtoMajor != 2 {
				t.Errorf("protocol %s, want HTTP/2", resp.Proto)
			}
			resp.Body.Close()
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, k := range conns {
			n += k
		}
		mu.Unlock()
		if n == MaxStreamsPerConn+4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests reached the handler", n, MaxStreamsPerConn+4)
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	for addr, n := range conns {
		if n > MaxStreamsPerConn {
			t.Errorf("%d requests open at once on one connection (%s), want at most %d", n, addr, MaxStreamsPerConn)
		}
	}
}
