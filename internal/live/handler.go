package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/getflytrap/flytrap/internal/authheader"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/store"
)

// Authenticator resolves the user a request comes from. Any error is
// answered 401: it cannot tell "no credentials" from "bad credentials", and
// should not.
type Authenticator func(r *http.Request) (store.User, error)

// ProjectAccess says which projects a viewer may see; *store.DB satisfies
// it. Projects the viewer may not see are store.ErrNotFound.
type ProjectAccess interface {
	GetProject(ctx context.Context, v store.Viewer, id int64) (store.Project, error)
	ListProjects(ctx context.Context, v store.Viewer) ([]store.Project, error)
}

// TokenUsers resolves API tokens; *store.DB satisfies it.
type TokenUsers interface {
	UserByAPIToken(ctx context.Context, token string) (store.User, error)
}

// ErrUnauthenticated is what BearerOrSession returns for a request without
// usable credentials.
var ErrUnauthenticated = errors.New("live: not signed in")

// BearerOrSession authenticates by an "Authorization: Bearer" API token
// (scripts, the CLI) when the request has an Authorization header, else by
// session (browsers, which cannot set headers on a WebSocket). session may
// be nil when there are no sessions.
func BearerOrSession(tokens TokenUsers, session Authenticator) Authenticator {
	return func(r *http.Request) (store.User, error) {
		if h := r.Header.Get("Authorization"); h != "" {
			// Explicit credentials that fail do not fall back to the
			// cookie: the caller meant the token.
			token, ok := authheader.Bearer(h)
			if !ok {
				return store.User{}, ErrUnauthenticated
			}
			return tokens.UserByAPIToken(r.Context(), token)
		}
		if session == nil {
			return store.User{}, ErrUnauthenticated
		}
		return session(r)
	}
}

// Option configures Handler.
type Option func(*stream)

// WithOriginPatterns lets browsers on other origins connect: host patterns
// (path.Match syntax, case-insensitive) or, with "://", scheme://host
// patterns. The request's own host is always allowed, and clients that send
// no Origin (not browsers) are too.
func WithOriginPatterns(patterns ...string) Option {
	return func(s *stream) { s.origins = append(s.origins, patterns...) }
}

// WithTrustedOrigin lets browsers on origin ("scheme://host[:port]", the
// server's public URL) connect though the request's Host differs, as
// behind a proxy that rewrites Host: the dashboard's forms trust the same
// origin. The origin is matched exactly, not as a pattern.
func WithTrustedOrigin(origin string) Option {
	return WithOriginPatterns(escapePattern(origin))
}

// escapePattern makes s a path.Match pattern that matches s alone: an
// IPv6 host's brackets would otherwise be a character class.
func escapePattern(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// WithPingInterval sets how often a connection is pinged (default 30 s);
// a ping not answered within the write timeout closes it.
func WithPingInterval(d time.Duration) Option {
	return func(s *stream) { s.ping = d }
}

// WithWriteTimeout bounds each write and ping (default 10 s).
func WithWriteTimeout(d time.Duration) Option {
	return func(s *stream) { s.writeTimeout = d }
}

// WithRecheckInterval sets how often a connection's user and projects are
// authorized again (default 1 min), so a signed-out user or a removed
// member stops receiving messages without having to reconnect. A change
// this process makes rechecks at once (Hub.AccessChanged); the interval
// bounds the delay for what it cannot see: tokens expiring, and changes
// made through other processes.
func WithRecheckInterval(d time.Duration) Option {
	return func(s *stream) { s.recheck = d }
}

// maxProjects bounds the project parameters of one connection; a page asks
// for one, or for all by asking for none.
const maxProjects = 100

// Handler serves GET /api/v1/stream?project=ID[&project=ID...]: a WebSocket
// sending the Messages of those projects as JSON text frames, or of every
// project the user may see when none is named. The answer before the
// upgrade is 403 for a browser from a foreign origin, 401 without a user,
// 400 for a malformed project ID, 429 for a user with the most streams
// open and 503 when the server has (see Limits; both with Retry-After),
// and 404 for a project the user may not see. The client sends nothing; the server closes with 1001 when the Hub
// closes, 1008 when the user loses access and StatusFellBehind (4000)
// when the client fell a whole buffer behind.
func Handler(hub *Hub, auth Authenticator, access ProjectAccess, log *slog.Logger, opts ...Option) http.Handler {
	s := &stream{
		hub: hub, auth: auth, access: access, log: log,
		ping: 30 * time.Second, writeTimeout: 10 * time.Second, recheck: time.Minute,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	for _, o := range opts {
		o(s)
	}
	if s.slots == nil {
		s.slots = newSlots(Limits{})
	}
	return s
}

// StatusFellBehind is the close code of a connection whose client read
// too slowly to keep up: the Hub cut it off rather than drop messages it
// would never know about. Reconnect, and fill the gap from GET
// /api/v1/events.
const StatusFellBehind websocket.StatusCode = 4000

type stream struct {
	hub     *Hub
	auth    Authenticator
	access  ProjectAccess
	log     *slog.Logger
	origins []string
	slots   *slots

	ping, writeTimeout, recheck time.Duration
}

// errRequest is a refusal answered before the upgrade: a client mistake,
// or a limit with the time to wait.
type errRequest struct {
	status        int
	code, message string
	retryAfter    time.Duration
}

func (e *errRequest) Error() string { return e.message }

func (s *stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The origin comes first: a foreign page learns nothing, not even
	// whether the victim's cookie is valid.
	if err := checkOrigin(r, s.origins); err != nil {
		s.log.Info("live: origin refused", "err", err)
		writeError(w, http.StatusForbidden, "forbidden", "origin not allowed")
		return
	}
	// Taken before the credential is checked: a revocation between the
	// check and the stream's first wait (a token deleted as soon as the
	// handshake returns) must still end the stream at once, not at the
	// next periodic recheck.
	changed := s.hub.accessChanges()
	u, err := s.auth(r)
	if err != nil {
		s.log.Debug("live: unauthenticated stream request", "err", err)
		w.Header().Set("WWW-Authenticate", `Bearer realm="flytrap"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "sign in or send Authorization: Bearer <token>")
		return
	}
	requested, err := parseProjects(r.URL.Query()["project"])
	if err != nil {
		s.fail(w, err)
		return
	}
	// Before the projects are looked up: a refused stream costs no query.
	release, refused := s.slots.take(u.ID)
	if refused != nil {
		s.log.Debug("live: stream refused", "user_id", u.ID, "reason", refused.code)
		s.fail(w, refused)
		return
	}
	defer release()
	v := viewer(u)
	ids, err := s.resolve(r.Context(), v, requested)
	if err != nil {
		s.fail(w, err)
		return
	}

	// Subscribing before the handshake completes means a client that has
	// connected misses nothing published afterwards.
	sub := subscribe(s.hub, ids)
	defer sub.close()
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.origins})
	if err != nil {
		// Accept has answered (426 for a request that is not a WebSocket
		// handshake).
		s.log.Debug("live: websocket accept failed", "err", err)
		return
	}
	defer c.CloseNow()
	// The client has nothing to say; CloseRead answers pings and close
	// frames and ends ctx when the connection goes away.
	ctx := c.CloseRead(r.Context())
	s.log.Debug("live: stream opened", "user_id", u.ID, "projects", ids)
	s.serve(ctx, c, r, requested, sub, changed)
	s.log.Debug("live: stream closed", "user_id", u.ID)
}

// subscription is a connection's current subscription, which a recheck
// may move to other projects.
type subscription struct {
	hub *Hub
	ids []int64
	*Subscription
}

func subscribe(h *Hub, ids []int64) *subscription {
	return &subscription{hub: h, ids: ids, Subscription: h.Subscribe(ids)}
}

// move follows ids instead. It subscribes before cancelling, so nothing
// falls in between; a duplicate only sets a count twice. Messages the old
// subscription has not handed over yet are dropped with it: they were
// for the projects the connection no longer follows, or are duplicates.
func (sub *subscription) move(ids []int64) {
	next := sub.hub.Subscribe(ids)
	sub.Cancel()
	sub.ids, sub.Subscription = ids, next
}

// close ends the subscription current at the time of the call.
func (sub *subscription) close() { sub.Cancel() }

// serve sends messages until the connection, the Hub or the user's access
// ends; changed is closed by the first access change after the stream's
// credential was checked.
func (s *stream) serve(ctx context.Context, c *websocket.Conn, r *http.Request, requested []int64, sub *subscription, changed <-chan struct{}) {
	ping := time.NewTicker(s.ping)
	defer ping.Stop()
	recheck := time.NewTicker(s.recheck)
	defer recheck.Stop()
	for {
		var check bool
		select {
		case <-ctx.Done():
			return
		case <-sub.Ready():
			msgs, open := sub.Take()
			for _, m := range msgs {
				if err := s.write(ctx, c, m); err != nil {
					s.log.Debug("live: write failed", "err", err)
					return
				}
			}
			if !open {
				if sub.hub.Closed() {
					c.Close(websocket.StatusGoingAway, "server shutting down")
				} else {
					c.Close(StatusFellBehind, "fell behind: reconnect and fetch what you missed from the REST API")
				}
				return
			}
		case <-ping.C:
			pctx, done := context.WithTimeout(ctx, s.writeTimeout)
			err := c.Ping(pctx)
			done()
			if err != nil {
				s.log.Debug("live: ping failed", "err", err)
				return
			}
		case <-recheck.C:
			check = true
		case <-changed:
			changed = s.hub.accessChanges()
			check = true
		}
		if !check {
			continue
		}
		now, err := s.reauthorize(ctx, r, requested)
		if errors.Is(err, errRevoked) {
			c.Close(websocket.StatusPolicyViolation, "access revoked")
			return
		}
		if err != nil {
			// A database hiccup is no reason to drop every page; the
			// next check decides.
			s.log.Warn("live: recheck failed", "err", err)
			continue
		}
		if !slices.Equal(now, sub.ids) {
			sub.move(now)
		}
	}
}

// errRevoked ends a connection whose user may no longer see its projects.
var errRevoked = errors.New("access revoked")

// reauthorize resolves the user and projects of the connection again.
func (s *stream) reauthorize(ctx context.Context, r *http.Request, requested []int64) ([]int64, error) {
	u, err := s.auth(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errRevoked, err)
	}
	ids, err := s.resolve(ctx, viewer(u), requested)
	var reqErr *errRequest
	if errors.As(err, &reqErr) {
		return nil, fmt.Errorf("%w: %v", errRevoked, err)
	}
	return ids, err
}

func (s *stream) write(ctx context.Context, c *websocket.Conn, m livemsg.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, s.writeTimeout)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, b)
}

// resolve returns the sorted project IDs v may follow: requested, each of
// which must be visible, or every visible project when none was requested.
func (s *stream) resolve(ctx context.Context, v store.Viewer, requested []int64) ([]int64, error) {
	if len(requested) == 0 {
		ps, err := s.access.ListProjects(ctx, v)
		if err != nil {
			return nil, fmt.Errorf("list projects: %w", err)
		}
		ids := make([]int64, 0, len(ps))
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		slices.Sort(ids)
		return ids, nil
	}
	for _, id := range requested {
		_, err := s.access.GetProject(ctx, v, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, &errRequest{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf("project %d not found", id)}
		}
		if err != nil {
			return nil, fmt.Errorf("project %d: %w", id, err)
		}
	}
	return requested, nil
}

// parseProjects returns the distinct project IDs, sorted.
func parseProjects(values []string) ([]int64, error) {
	if len(values) > maxProjects {
		return nil, &errRequest{status: http.StatusBadRequest, code: "bad_request", message: fmt.Sprintf("at most %d project parameters", maxProjects)}
	}
	ids := make([]int64, 0, len(values))
	for _, v := range values {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, &errRequest{status: http.StatusBadRequest, code: "bad_request", message: fmt.Sprintf("project must be a positive integer, not %q", v)}
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

func (s *stream) fail(w http.ResponseWriter, err error) {
	var reqErr *errRequest
	if errors.As(err, &reqErr) {
		if reqErr.retryAfter > 0 {
			w.Header().Set("Retry-After", retryAfter(reqErr.retryAfter))
			// A client refused for the limits retries later on a
			// new connection anyway; keeping this one open would
			// hold the file descriptor the limits are there to save.
			w.Header().Set("Connection", "close")
		}
		writeError(w, reqErr.status, reqErr.code, reqErr.message)
		return
	}
	s.log.Error("live: stream request failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error")
}

func viewer(u store.User) store.Viewer {
	return store.Viewer{UserID: u.ID, Admin: u.Role == store.RoleAdmin}
}

// checkOrigin applies coder/websocket's origin rule before anything else
// runs, so the answer to a foreign page does not depend on its cookies,
// and makes it exact: an Origin is scheme://host[:port] as browsers send
// it, without userinfo or path, and the request's own origin has its
// scheme as well as its Host (https:// for a TLS connection). Accept
// applies the looser rule again with the same patterns, which passes all
// this one does.
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("bad Origin %q: %w", origin, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || origin != u.Scheme+"://"+u.Host {
		return fmt.Errorf("origin %q is not a browser's scheme://host[:port]", origin)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if u.Scheme == scheme && strings.EqualFold(r.Host, u.Host) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		ok, err := path.Match(strings.ToLower(p), strings.ToLower(target))
		if err != nil {
			return fmt.Errorf("origin pattern %q: %w", p, err)
		}
		if ok {
			return nil
		}
	}
	return fmt.Errorf("origin %q is not allowed for %s://%s", origin, scheme, r.Host)
}

// writeError answers in the REST API's error shape. Most answers are about
// one user's credentials and projects: no-store keeps a cache in front of
// the server from handing them to others (CloudFront on AWS caches a 404
// for 10 s unless told; it ignores no-store for a 503, which says the
// server is full for everyone anyway).
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}
