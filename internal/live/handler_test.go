package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/store"
)

// fixture is a stream endpoint over a real SQLite store with three users:
// an admin, a member of p1 only, and an outsider of every project.
type fixture struct {
	db     *store.DB
	hub    *Hub
	srv    *httptest.Server
	access *switchAccess
	p1, p2 store.Project

	adminToken, memberToken, outsiderToken string
	member                                 store.User
}

// switchAccess is the store's access rules, plus a switch that revokes
// everything (a member removed while connected).
type switchAccess struct {
	ProjectAccess
	revoked atomic.Bool
	fail    atomic.Bool
}

func (a *switchAccess) GetProject(ctx context.Context, v store.Viewer, id int64) (store.Project, error) {
	switch {
	case a.fail.Load():
		return store.Project{}, errors.New("database is on fire")
	case a.revoked.Load():
		return store.Project{}, store.ErrNotFound
	}
	return a.ProjectAccess.GetProject(ctx, v, id)
}

func (a *switchAccess) ListProjects(ctx context.Context, v store.Viewer) ([]store.Project, error) {
	switch {
	case a.fail.Load():
		return nil, errors.New("database is on fire")
	case a.revoked.Load():
		return []store.Project{}, nil
	}
	return a.ProjectAccess.ListProjects(ctx, v)
}

func openSQLite(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "flytrap.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: openSQLite(t), hub: NewHub(0)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.p1, err = f.db.CreateProject(ctx, "web")
	must(err)
	f.p2, err = f.db.CreateProject(ctx, "api")
	must(err)
	user := func(email, role string) (store.User, string) {
		u, err := f.db.CreateUser(ctx, email, "not-a-real-hash", role)
		must(err)
		token, _, err := f.db.CreateAPIToken(ctx, u.ID, "test")
		must(err)
		return u, token
	}
	_, f.adminToken = user("admin@example.com", store.RoleAdmin)
	f.member, f.memberToken = user("member@example.com", store.RoleMember)
	_, f.outsiderToken = user("outsider@example.com", store.RoleMember)
	must(f.db.AddMember(ctx, f.p1.ID, f.member.ID, store.RoleMember))

	// Browsers sign in with a cookie; this stands in for the dashboard's
	// session lookup.
	session := func(r *http.Request) (store.User, error) {
		c, err := r.Cookie("flytrap_session")
		if err != nil {
			return store.User{}, err
		}
		if c.Value != "member-session" {
			return store.User{}, store.ErrNotFound
		}
		return f.member, nil
	}
	f.access = &switchAccess{ProjectAccess: f.db}
	f.srv = httptest.NewServer(Handler(f.hub, BearerOrSession(f.db, session), f.access, quietLog(), opts...))
	t.Cleanup(f.srv.Close)
	// Handlers end when the Hub closes; without this a failing test
	// would leave them waiting for messages.
	t.Cleanup(f.hub.Close)
	return f
}

func (f *fixture) url(query string) string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/api/v1/stream" + query
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// dial connects and returns the HTTP status of the handshake (101 when it
// upgraded).
func (f *fixture) dial(t *testing.T, query string, h http.Header) (*websocket.Conn, int) {
	t.Helper()
	c, resp, err := websocket.Dial(t.Context(), f.url(query), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial %s: %v", query, err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { c.CloseNow() })
	return c, resp.StatusCode
}

func TestHandlerAuthorization(t *testing.T) {
	f := newFixture(t, WithOriginPatterns("dashboard.example.com", "https://*.corp.example"))
	host := strings.TrimPrefix(f.srv.URL, "http://")
	withOrigin := func(h http.Header, origin string) http.Header {
		h = h.Clone()
		if h == nil {
			h = http.Header{}
		}
		h.Set("Origin", origin)
		return h
	}
	p1, p2 := fmt.Sprintf("?project=%d", f.p1.ID), fmt.Sprintf("?project=%d", f.p2.ID)
	tests := []struct {
		name   string
		query  string
		header http.Header
		want   int
	}{
		{"anonymous", p1, nil, http.StatusUnauthorized},
		{"unknown token", p1, bearer("nope"), http.StatusUnauthorized},
		{"not a bearer token", p1, http.Header{"Authorization": {"Basic " + f.memberToken}}, http.StatusUnauthorized},
		{"bad token does not fall back to the cookie", p1, http.Header{"Authorization": {"Bearer nope"}, "Cookie": {"flytrap_session=member-session"}}, http.StatusUnauthorized},
		{"unknown session", p1, http.Header{"Cookie": {"flytrap_session=stolen"}}, http.StatusUnauthorized},
		{"member, own project", p1, bearer(f.memberToken), http.StatusSwitchingProtocols},
		// RFC 9110: the scheme's name is case-insensitive.
		{"member, lower-case scheme", p1, http.Header{"Authorization": {"bearer " + f.memberToken}}, http.StatusSwitchingProtocols},
		{"member, upper-case scheme", p1, http.Header{"Authorization": {"BEARER " + f.memberToken}}, http.StatusSwitchingProtocols},
		{"member by session cookie", p1, http.Header{"Cookie": {"flytrap_session=member-session"}}, http.StatusSwitchingProtocols},
		{"member, all visible projects", "", bearer(f.memberToken), http.StatusSwitchingProtocols},
		{"member, other project", p2, bearer(f.memberToken), http.StatusNotFound},
		{"member, own and other project", p1 + fmt.Sprintf("&project=%d", f.p2.ID), bearer(f.memberToken), http.StatusNotFound},
		{"member, missing project", "?project=999999", bearer(f.memberToken), http.StatusNotFound},
		{"outsider", p1, bearer(f.outsiderToken), http.StatusNotFound},
		{"outsider, no projects at all", "", bearer(f.outsiderToken), http.StatusSwitchingProtocols},
		{"admin, any project", p2, bearer(f.adminToken), http.StatusSwitchingProtocols},
		{"malformed project", "?project=abc", bearer(f.adminToken), http.StatusBadRequest},
		{"zero project", "?project=0", bearer(f.adminToken), http.StatusBadRequest},
		{"too many projects", "?project=1" + strings.Repeat("&project=1", maxProjects), bearer(f.adminToken), http.StatusBadRequest},
		{"same-origin browser", p1, withOrigin(bearer(f.memberToken), "http://"+host), http.StatusSwitchingProtocols},
		{"foreign browser", p1, withOrigin(bearer(f.memberToken), "https://evil.example"), http.StatusForbidden},
		{"foreign browser, anonymous", p1, withOrigin(nil, "https://evil.example"), http.StatusForbidden},
		{"foreign browser, bad project", "?project=abc", withOrigin(nil, "https://evil.example"), http.StatusForbidden},
		{"opaque origin", p1, withOrigin(bearer(f.memberToken), "null"), http.StatusForbidden},
		{"allowed host pattern", p1, withOrigin(bearer(f.memberToken), "http://Dashboard.Example.com"), http.StatusSwitchingProtocols},
		{"allowed scheme pattern", p1, withOrigin(bearer(f.memberToken), "https://ops.corp.example"), http.StatusSwitchingProtocols},
		{"scheme pattern, wrong scheme", p1, withOrigin(bearer(f.memberToken), "http://ops.corp.example"), http.StatusForbidden},
		// The origin is scheme, host and port, as browsers send it.
		{"own host, other scheme", p1, withOrigin(bearer(f.memberToken), "https://"+host), http.StatusForbidden},
		{"own host with userinfo", p1, withOrigin(bearer(f.memberToken), "http://user@"+host), http.StatusForbidden},
		{"own host with a path", p1, withOrigin(bearer(f.memberToken), "http://"+host+"/"), http.StatusForbidden},
		{"allowed host pattern with userinfo", p1, withOrigin(bearer(f.memberToken), "http://evil@dashboard.example.com"), http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			c, got := f.dial(t, tt.query, h)
			if got != tt.want {
				t.Fatalf("status %d, want %d", got, tt.want)
			}
			if c != nil {
				c.Close(websocket.StatusNormalClosure, "")
			}
		})
	}
}

// Errors before the upgrade have the REST API's JSON shape.
// TestHandlerTrustedOrigin: a trusted origin (the public URL) connects
// whatever Host the request names, matched exactly: an IPv6 host's
// brackets are no character class, and the scheme counts.
func TestHandlerTrustedOrigin(t *testing.T) {
	f := newFixture(t, WithTrustedOrigin("https://Flytrap.example"), WithTrustedOrigin("http://[::1]:8080"))
	for origin, want := range map[string]int{
		"https://flytrap.example":      http.StatusSwitchingProtocols,
		"http://[::1]:8080":            http.StatusSwitchingProtocols,
		"http://flytrap.example":       http.StatusForbidden,
		"https://flytrap.example:8443": http.StatusForbidden,
		"http://[::1]:8081":            http.StatusForbidden,
		"http://:":                     http.StatusForbidden,
		"https://evil@flytrap.example": http.StatusForbidden,
	} {
		h := bearer(f.memberToken)
		h.Set("Origin", origin)
		c, got := f.dial(t, "", h)
		if got != want {
			t.Errorf("Origin %s: status %d, want %d", origin, got, want)
		}
		if c != nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
	}
}

// TestHandlerOriginScheme: over TLS the page's own origin is https://,
// and an http:// page on the same host and port is another origin.
func TestHandlerOriginScheme(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewTLSServer(f.srv.Config.Handler)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "https://")
	for origin, want := range map[string]int{
		"https://" + host: http.StatusSwitchingProtocols,
		"http://" + host:  http.StatusForbidden,
	} {
		h := bearer(f.memberToken)
		h.Set("Origin", origin)
		c, resp, err := websocket.Dial(t.Context(), "wss://"+host+"/api/v1/stream", &websocket.DialOptions{HTTPClient: srv.Client(), HTTPHeader: h})
		if resp == nil || resp.StatusCode != want {
			t.Errorf("Origin %s: %v, %v; want %d", origin, resp, err, want)
		}
		if c != nil {
			c.Close(websocket.StatusNormalClosure, "")
		}
	}
}

func TestHandlerErrorBody(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, query string
		header      http.Header
		status      int
		code        string
	}{
		{"unauthorized", "", nil, http.StatusUnauthorized, "unauthorized"},
		{"not found", fmt.Sprintf("?project=%d", f.p2.ID), bearer(f.memberToken), http.StatusNotFound, "not_found"},
		{"bad request", "?project=-1", bearer(f.memberToken), http.StatusBadRequest, "bad_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/stream"+tt.query, nil)
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.status || body.Error.Code != tt.code || body.Error.Message == "" {
				t.Errorf("%d %+v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
	// A well-authorized request that is not a WebSocket handshake.
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/api/v1/stream", nil)
	req.Header.Set("Authorization", "Bearer "+f.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("plain GET = %d, want 426", resp.StatusCode)
	}
}

func TestHandlerErrorFromStore(t *testing.T) {
	f := newFixture(t)
	f.access.fail.Store(true)
	for _, q := range []string{"", fmt.Sprintf("?project=%d", f.p1.ID)} {
		if _, got := f.dial(t, q, bearer(f.adminToken)); got != http.StatusInternalServerError {
			t.Errorf("%q with a failing store: %d, want 500", q, got)
		}
	}
}

// read returns the next message on c within a few seconds.
func read(t *testing.T, c *websocket.Conn) livemsg.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if typ != websocket.MessageText {
		t.Errorf("frame type %v, want text", typ)
	}
	var m livemsg.Message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return m
}

// Each connection receives the messages of its rooms only, in order. The
// first message published is for a project the member may not see: if it
// leaked, it would be the first one read.
func TestHandlerRooms(t *testing.T) {
	f := newFixture(t)
	member, _ := f.dial(t, fmt.Sprintf("?project=%d", f.p1.ID), bearer(f.memberToken))
	memberAll, _ := f.dial(t, "", http.Header{"Cookie": {"flytrap_session=member-session"}})
	admin, _ := f.dial(t, "", bearer(f.adminToken))
	adminP2, _ := f.dial(t, fmt.Sprintf("?project=%d", f.p2.ID), bearer(f.adminToken))
	if member == nil || memberAll == nil || admin == nil || adminP2 == nil {
		t.Fatal("a connection was refused")
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	secret := livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: f.p2.ID, IssueID: 20, Title: "secret", At: at}
	visible := livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 10, Title: "<b>visible</b>", Level: "error", Status: "unresolved", Count: 5, EventID: "e1", At: at}
	ctx := context.Background()
	f.hub.Publish(ctx, secret)
	f.hub.Publish(ctx, visible)
	for name, c := range map[string]*websocket.Conn{"member": member, "member, all projects": memberAll} {
		if got := read(t, c); got != visible {
			t.Errorf("%s received %+v, want %+v", name, got, visible)
		}
	}
	if got := read(t, admin); got != secret {
		t.Errorf("admin's first message %+v, want %+v", got, secret)
	}
	if got := read(t, admin); got != visible {
		t.Errorf("admin's second message %+v, want %+v", got, visible)
	}
	if got := read(t, adminP2); got != secret {
		t.Errorf("admin on p2 received %+v", got)
	}
	// The wire format is what live.js reads.
	f.hub.Publish(ctx, visible)
	_, raw, err := member.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"issue.event","project_id":` + fmt.Sprint(f.p1.ID) + `,"issue_id":10,"title":"\u003cb\u003evisible\u003c/b\u003e","level":"error","status":"unresolved","count":5,"event_id":"e1","at":"2026-05-01T12:00:00Z"}`
	if string(raw) != want {
		t.Errorf("frame\n%s\nwant\n%s", raw, want)
	}
}

// A member removed while connected is disconnected with 1008 at the next
// check.
func TestHandlerRecheckRevokes(t *testing.T) {
	f := newFixture(t, WithRecheckInterval(20*time.Millisecond))
	c, _ := f.dial(t, fmt.Sprintf("?project=%d", f.p1.ID), bearer(f.memberToken))
	f.hub.Publish(context.Background(), livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 1})
	read(t, c)
	f.access.revoked.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Errorf("read after revocation: %v (status %v), want 1008", err, got)
	}
}

// Access taken away between the stream's credential check and its first
// wait (a token deleted as soon as the handshake returns) ends the stream
// at once, not at the next periodic recheck, an hour away here.
func TestHandlerRevokedDuringHandshake(t *testing.T) {
	f := newFixture(t)
	auth := BearerOrSession(f.db, nil)
	var checked atomic.Bool
	revokeAfterCheck := func(r *http.Request) (store.User, error) {
		if checked.Swap(true) {
			return store.User{}, ErrUnauthenticated // revoked since
		}
		u, err := auth(r)
		f.hub.AccessChanged()
		return u, err
	}
	srv := httptest.NewServer(Handler(f.hub, revokeAfterCheck, f.access, quietLog(), WithRecheckInterval(time.Hour)))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+fmt.Sprintf("?project=%d", f.p1.ID),
		&websocket.DialOptions{HTTPHeader: bearer(f.memberToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	_, _, err = c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusPolicyViolation {
		t.Errorf("read after a revocation during the handshake: %v (status %v), want 1008", err, got)
	}
}

// A store failure during a check keeps the connection.
func TestHandlerRecheckSurvivesStoreFailure(t *testing.T) {
	f := newFixture(t, WithRecheckInterval(10*time.Millisecond))
	c, _ := f.dial(t, fmt.Sprintf("?project=%d", f.p1.ID), bearer(f.memberToken))
	f.access.fail.Store(true)
	time.Sleep(100 * time.Millisecond)
	f.access.fail.Store(false)
	f.hub.Publish(context.Background(), livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 3})
	if got := read(t, c); got.IssueID != 3 {
		t.Errorf("received %+v", got)
	}
}

// A connection following every visible project picks up a project created
// after it connected.
func TestHandlerRecheckFollowsNewProjects(t *testing.T) {
	f := newFixture(t, WithRecheckInterval(20*time.Millisecond))
	c, _ := f.dial(t, "", bearer(f.adminToken))
	p3, err := f.db.CreateProject(context.Background(), "worker")
	if err != nil {
		t.Fatal(err)
	}
	// Publish until the recheck has moved the subscription: the first
	// message to arrive must be one for p3.
	got := make(chan livemsg.Message, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, b, err := c.Read(ctx)
		var m livemsg.Message
		if err == nil {
			json.Unmarshal(b, &m)
		}
		got <- m
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case m := <-got:
			if m.ProjectID != p3.ID {
				t.Fatalf("received %+v, want a message of project %d", m, p3.ID)
			}
			return
		case <-tick.C:
			f.hub.Publish(context.Background(), livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: p3.ID, IssueID: 30})
		}
	}
}

func TestHandlerHubCloseSaysGoingAway(t *testing.T) {
	f := newFixture(t)
	c, _ := f.dial(t, "", bearer(f.adminToken))
	f.hub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := c.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
		t.Errorf("read after Hub.Close: %v, want 1001", err)
	}
}

// A client that answers pings stays; one that does not (it never reads, so
// its pongs are never sent) is dropped.
func TestHandlerPing(t *testing.T) {
	f := newFixture(t, WithPingInterval(20*time.Millisecond), WithWriteTimeout(100*time.Millisecond))
	alive, _ := f.dial(t, "", bearer(f.adminToken))
	got := make(chan livemsg.Message, 1)
	go func() {
		_, b, err := alive.Read(context.Background())
		var m livemsg.Message
		if err == nil {
			json.Unmarshal(b, &m)
		}
		got <- m
	}()
	deaf, _ := f.dial(t, "", bearer(f.adminToken))
	_ = deaf
	waitFor(t, "the deaf client to be dropped", func() bool { return f.hub.Stats().Subscribers == 1 })
	time.Sleep(200 * time.Millisecond) // ten ping intervals
	f.hub.Publish(context.Background(), livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: 7})
	select {
	case m := <-got:
		if m.IssueID != 7 {
			t.Errorf("live client received %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client answering pings lost its connection")
	}
}

// The server's ReadTimeout must not cut a stream that lasts longer.
func TestHandlerOutlivesServerTimeouts(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewUnstartedServer(f.srv.Config.Handler)
	srv.Config.ReadTimeout = 50 * time.Millisecond
	srv.Config.ReadHeaderTimeout = 50 * time.Millisecond
	srv.Config.IdleTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/stream"
	c, _, err := websocket.Dial(t.Context(), url, &websocket.DialOptions{HTTPHeader: bearer(f.adminToken)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	time.Sleep(200 * time.Millisecond)
	f.hub.Publish(context.Background(), livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p2.ID, IssueID: 8})
	if got := read(t, c); got.IssueID != 8 {
		t.Errorf("received %+v", got)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Connections that come and go leave no goroutines and no subscriptions
// behind, whether the client or the server ends them.
func TestHandlerNoLeaks(t *testing.T) {
	f := newFixture(t, WithLimits(Limits{PerUser: 20}))
	// Warm up the client transport and the server's listener goroutines.
	c, _ := f.dial(t, "", bearer(f.adminToken))
	c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "the warm-up connection to end", func() bool { return f.hub.Stats().Subscribers == 0 })
	base := runtime.NumGoroutine()

	var conns []*websocket.Conn
	for range 20 {
		c, code := f.dial(t, fmt.Sprintf("?project=%d", f.p1.ID), bearer(f.memberToken))
		if code != http.StatusSwitchingProtocols {
			t.Fatalf("status %d", code)
		}
		conns = append(conns, c)
	}
	if n := f.hub.Stats().Subscribers; n != 20 {
		t.Fatalf("subscribers = %d, want 20", n)
	}
	for i, c := range conns {
		if i%2 == 0 {
			c.Close(websocket.StatusNormalClosure, "bye")
		} else {
			c.CloseNow() // a tab killed without a close frame
		}
	}
	waitFor(t, "subscriptions to end", func() bool { return f.hub.Stats().Subscribers == 0 })
	waitFor(t, fmt.Sprintf("goroutines to return to %d", base), func() bool { return runtime.NumGoroutine() <= base })
}

// A client that stops reading is cut off with StatusFellBehind once the
// server cannot write to it and its buffer fills, after the messages it
// was sent: it learns it missed some instead of silently losing them.
func TestHandlerSlowReaderFellBehind(t *testing.T) {
	f := newFixture(t)
	c, _ := f.dial(t, fmt.Sprintf("?project=%d", f.p1.ID), bearer(f.adminToken))
	waitFor(t, "the subscription", func() bool { return f.hub.Stats().Subscribers == 1 })
	title := strings.Repeat("x", livemsg.MaxTitleRunes)
	deadline := time.Now().Add(20 * time.Second)
	for i := int64(1); f.hub.Stats().Subscribers == 1; i++ {
		if time.Now().After(deadline) {
			t.Fatal("a client that never reads was not cut off")
		}
		f.hub.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: f.p1.ID, IssueID: i, Title: title})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last int64
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			if got := websocket.CloseStatus(err); got != StatusFellBehind {
				t.Fatalf("stream ended with %v, want close code 4000", err)
			}
			break
		}
		var m livemsg.Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if m.IssueID != last+1 {
			t.Fatalf("message %d after %d: a gap before the close", m.IssueID, last)
		}
		last = m.IssueID
	}
	if last == 0 {
		t.Error("no message arrived before the close")
	}
	if f.hub.Closed() {
		t.Error("the hub closed")
	}
}

// A user may hold Limits.PerUser streams, all users together
// Limits.Total; beyond them the handshake is refused before the upgrade
// with 429 or 503, Retry-After and a message, on a connection then
// closed, and a stream that ends, or a handshake refused for another
// reason, gives its place back.
func TestHandlerLimits(t *testing.T) {
	f := newFixture(t, WithLimits(Limits{PerUser: 2, Total: 3}))
	refused := func(token string, status int, code string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, f.url(""), nil)
		req.URL.Scheme = "http"
		req.Header = bearer(token)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatalf("HTTP %d: %v", resp.StatusCode, err)
		}
		if resp.StatusCode != status || resp.Header.Get("Retry-After") != "30" || body.Error.Code != code || body.Error.Message == "" {
			t.Fatalf("HTTP %d, Retry-After %q, %+v; want %d, 30, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body.Error, status, code)
		}
		if !resp.Close {
			t.Fatal("the refused connection is kept open, holding a file descriptor")
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Fatalf("Cache-Control %q, want no-store: a cache in front must not hand one user's answer to others", cc)
		}
	}
	open := func(token string) *websocket.Conn {
		t.Helper()
		c, code := f.dial(t, "", bearer(token))
		if code != http.StatusSwitchingProtocols {
			t.Fatalf("HTTP %d, want 101", code)
		}
		return c
	}

	m1 := open(f.memberToken)
	// A refusal for another reason holds no place.
	if _, code := f.dial(t, fmt.Sprintf("?project=%d", f.p2.ID), bearer(f.memberToken)); code != http.StatusNotFound {
		t.Fatalf("other project: HTTP %d, want 404", code)
	}
	open(f.memberToken)
	refused(f.memberToken, http.StatusTooManyRequests, "too_many_streams")
	open(f.adminToken)
	refused(f.adminToken, http.StatusServiceUnavailable, "streams_full")
	// The member over its own limit hears of that, not of the server's.
	refused(f.memberToken, http.StatusTooManyRequests, "too_many_streams")

	m1.Close(websocket.StatusNormalClosure, "tab closed")
	waitFor(t, "the closed stream to end", func() bool { return f.hub.Stats().Subscribers == 2 })
	open(f.adminToken)
	refused(f.memberToken, http.StatusServiceUnavailable, "streams_full")
}

// TestHandlerDefaultLimits: without WithLimits a user may hold
// DefaultMaxStreamsPerUser streams and no more.
func TestHandlerDefaultLimits(t *testing.T) {
	f := newFixture(t)
	for i := range DefaultMaxStreamsPerUser {
		if _, code := f.dial(t, "", bearer(f.memberToken)); code != http.StatusSwitchingProtocols {
			t.Fatalf("stream %d: HTTP %d, want 101", i+1, code)
		}
	}
	if _, code := f.dial(t, "", bearer(f.memberToken)); code != http.StatusTooManyRequests {
		t.Fatalf("stream %d: HTTP %d, want 429", DefaultMaxStreamsPerUser+1, code)
	}
}
