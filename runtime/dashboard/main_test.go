package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/coder/websocket"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

const (
	bucket    = "flytrap-test-000000000000-us-east-1"
	configKey = "deploy/dashboard/config.json"
	keySetKey = "keyset/ingest-keys.json"
	admin     = "ops@example.com"
)

// world is a fake AWS account around a real test database: instance
// metadata with the Flytrap tags, S3 holding config.json, and Secrets
// Manager holding the master credentials. The SDK finds the fakes through
// its standard environment variables, as it would find AWS.
type world struct {
	dsn          string // the test database, as its master
	s3           *s3.Client
	processor    string        // the processor role the config names
	publishEvery time.Duration // the key set check interval; 0 means 50 ms
	// free is what the state directory's file system reports free.
	free atomic.Uint64
	// sns holds the projects' alert topics.
	sns *awsxtest.SNSFake
}

func newWorld(t *testing.T, domain string, extra ...string) *world {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	w := &world{processor: "flytrap_processor_" + hex.EncodeToString(b)}
	w.free.Store(1 << 40)
	t.Cleanup(func() { // after pgtest dropped the database that held its grants
		if w.dsn != "" {
			dropRole(t, w.dsn, w.processor)
		}
	})
	w.dsn = pgtest.URL(t)
	u, err := url.Parse(w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	host, port := u.Hostname(), u.Port()
	if h := u.Query().Get("host"); h != "" {
		host = h
	}
	if p := u.Query().Get("port"); p != "" {
		port = p
	}
	if port == "" {
		port = "5432"
	}

	s3URL := awsxtest.NewS3(t)
	w.s3 = awsxtest.S3Client(s3URL)
	ctx := context.Background()
	if _, err := w.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	secrets := awsxtest.NewSecretsManager(t)
	secretARN := secrets.Put("rds!db-test", `{"username":"`+u.User.Username()+`","password":"trusted-anyway"}`)
	conf := map[string]string{
		"name":                    "flytrap-test",
		"region":                  awsxtest.Region,
		"domain":                  domain,
		"admin_email":             admin,
		"bucket":                  bucket,
		"keyset_key":              keySetKey,
		"sourcemaps_prefix":       "sourcemaps/",
		"queue_url":               "https://sqs.us-east-1.amazonaws.com/000000000000/flytrap-test-events",
		"alerts_topic_arn":        "arn:aws:sns:us-east-1:000000000000:flytrap-test-alerts",
		"db_host":                 host,
		"db_port":                 port,
		"db_name":                 strings.TrimPrefix(u.Path, "/"),
		"db_master_username":      u.User.Username(),
		"db_master_secret_arn":    secretARN,
		"db_processor_user":       w.processor,
		"dashboard_binary_key":    "deploy/dashboard/flytrap-dashboard",
		"dashboard_binary_sha256": strings.Repeat("0", 64),
		"retention_days":          "1",
		"retention_per_issue":     "10000",
	}
	// extra holds more settings, as key, value, key, value...
	for i := 0; i+1 < len(extra); i += 2 {
		conf[extra[i]] = extra[i+1]
	}
	cfg, _ := json.Marshal(conf)
	if _, err := w.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(configKey), Body: strings.NewReader(string(cfg))}); err != nil {
		t.Fatal(err)
	}
	md := awsxtest.NewIMDS(t, map[string]string{
		"placement/region":               awsxtest.Region,
		"tags/instance/FlytrapBucket":    bucket,
		"tags/instance/FlytrapBinaryKey": "deploy/dashboard/flytrap-dashboard",
		"tags/instance/FlytrapConfigKey": configKey,
	})
	for _, kv := range awsxtest.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "false")
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", md.URL())
	t.Setenv("AWS_ENDPOINT_URL_S3", s3URL)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", secrets.URL())
	w.sns = awsxtest.NewSNS(t)
	t.Setenv("AWS_ENDPOINT_URL_SNS", w.sns.URL())
	return w
}

func dropRole(t *testing.T, dsn, role string) {
	u, _ := url.Parse(dsn)
	u.Path = "/postgres"
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		t.Error(err)
		return
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if _, err := db.Exec("DROP ROLE IF EXISTS " + role); err != nil {
		t.Errorf("drop role %s: %v", role, err)
	}
}

type started struct {
	http, https string // addresses
	stateDir    string
	stop        func() error
}

// start runs the dashboard until the test stops it.
func (w *world) start(t *testing.T) started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	opts := options{
		httpAddr: "127.0.0.1:0", httpsAddr: "127.0.0.1:0", stateDir: filepath.Join(t.TempDir(), "state"), dbSSLMode: "disable",
		publishEvery: cmp.Or(w.publishEvery, 50*time.Millisecond), shutdownGrace: 5 * time.Second,
		retentionEvery: 50 * time.Millisecond, sessionPruneEvery: 50 * time.Millisecond,
		minFreeBytes: 100 << 20, freeSpace: func(string) (uint64, error) { return w.free.Load(), nil },
		ready: func(h, s net.Addr) { addrs <- [2]net.Addr{h, s} },
	}
	go func() { done <- run(ctx, opts, slog.New(slog.DiscardHandler)) }()
	s := started{stateDir: opts.stateDir}
	select {
	case a := <-addrs:
		s.http = a[0].String()
		if a[1] != nil {
			s.https = a[1].String()
		}
	case err := <-done:
		cancel()
		t.Fatalf("run ended before serving: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the dashboard did not start within 30s")
	}
	stopped := false
	s.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return errors.New("run did not return within 15s of cancellation")
		}
	}
	t.Cleanup(func() { s.stop() })
	return s
}

func get(t *testing.T, c *http.Client, u, host string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func (w *world) keySet(t *testing.T) awsx.KeySet {
	t.Helper()
	out, err := w.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(keySetKey)})
	if err != nil {
		t.Fatalf("key set: %v", err)
	}
	defer out.Body.Close()
	b, _ := io.ReadAll(out.Body)
	ks, err := awsx.ParseKeySet(b)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// TestDashboardFirstStartAndRestart: the whole start-up against the fakes,
// then a restart of the same installation.
func TestDashboardFirstStartAndRestart(t *testing.T) {
	w := newWorld(t, "")
	ctx := context.Background()
	s := w.start(t)

	// Every answer forbids MIME sniffing; /metrics asks strangers for a
	// token.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 401, "/api/v1/projects": 401, "/": 200, "/login": 200} {
		code, hdr, body := get(t, http.DefaultClient, "http://"+s.http+path, "")
		if code != want {
			t.Errorf("GET %s = %d %s, want %d", path, code, body, want)
		}
		if got := hdr.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", path, got)
		}
		// Without a domain the sign-in page is plain HTTP on a public
		// address, and says so where the password is typed.
		if path == "/login" && !strings.Contains(body, "This connection is not encrypted.") {
			t.Errorf("GET /login without a domain lacks the plain-HTTP banner:\n%s", body)
		}
	}

	// The state directory, missing before the start, is the service's own.
	if fi, err := os.Stat(s.stateDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, %v; want mode 700", fi, err)
	}

	// The first admin's password waits in S3 for `flytrap deploy`.
	a, ok, err := awsx.TakeInitialAdmin(ctx, w.s3, bucket)
	if err != nil || !ok || a.Email != admin || len(a.Password) < 16 {
		t.Fatalf("initial admin = %+v, %v, %v", a, ok, err)
	}
	db, err := store.Open(ctx, w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByEmail(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.VerifyPassword(a.Password, u.PasswordHash); !ok || err != nil {
		t.Errorf("the password in S3 does not log the admin in: %v, %v", ok, err)
	}

	// The key set holds the default project's key and the database's salt.
	keys, err := db.ActiveKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("active keys %v, %v; want the default project's", keys, err)
	}
	salt, err := db.EnsureSetting(ctx, "ip_hash_salt", "unused")
	if err != nil {
		t.Fatal(err)
	}
	ks := w.keySet(t)
	for k, ak := range keys {
		if ks.Keys[k] != ak.ProjectID || ks.IPSalt != salt || len(ks.Keys) != 1 {
			t.Errorf("published %+v, want key %s → %d and the database's salt", ks, k, ak.ProjectID)
		}
	}

	// A new key reaches S3 within a few check intervals.
	var pid int64
	for _, p := range keys {
		pid = p.ProjectID
	}
	nk, err := db.CreateProjectKey(ctx, pid)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.keySet(t).Keys[nk.PublicKey] != pid {
		if time.Now().After(deadline) {
			t.Fatal("the new key was not published")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// So does a project's rate limit.
	if err := db.SetProjectRateLimit(ctx, store.System, pid, 90); err != nil {
		t.Fatal(err)
	}
	for w.keySet(t).RateLimits[pid] != 90 {
		if time.Now().After(deadline) {
			t.Fatal("the project's rate limit was not published")
		}
		time.Sleep(50 * time.Millisecond)
	}
	adminToken, _, err := db.CreateAPIToken(ctx, u.ID, "prometheus")
	if err != nil {
		t.Fatal(err)
	}
	member, err := db.CreateUser(ctx, "member@example.com", "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	memberToken, _, err := db.CreateAPIToken(ctx, member.ID, "t")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		token string
		code  int
	}{{"flyt_unknown", 401}, {memberToken, 403}, {adminToken, 200}} {
		code, _, body := get(t, http.DefaultClient, "http://"+s.http+"/metrics", "", "Authorization", "Bearer "+tt.token)
		if code != tt.code || (code == 200) != strings.Contains(body, "flytrap_keyset_keys 2") {
			t.Errorf("GET /metrics with token %.10s… = %d\n%s\nwant %d", tt.token, code, body, tt.code)
		}
	}

	// A (nearly) full disk makes the instance not ready, and says no more.
	w.free.Store(10 << 20)
	if code, _, body := get(t, http.DefaultClient, "http://"+s.http+"/readyz", ""); code != 503 || body != `{"status":"not ready"}`+"\n" {
		t.Errorf("readyz on a full disk = %d %q, want 503 not ready", code, body)
	}
	w.free.Store(1 << 40)

	// The processor can log in with its role.
	var isLogin bool
	if err := db.SQL().QueryRowContext(ctx, `SELECT rolcanlogin FROM pg_roles WHERE rolname = $1`, w.processor).Scan(&isLogin); err != nil || !isLogin {
		t.Errorf("processor role: login %v, %v", isLogin, err)
	}

	if err := s.stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	// A restart keeps the admin (no new password object) and the salt.
	s = w.start(t)
	if code, _, _ := get(t, http.DefaultClient, "http://"+s.http+"/readyz", ""); code != 200 {
		t.Errorf("readyz after restart = %d", code)
	}
	if _, ok, err := awsx.TakeInitialAdmin(ctx, w.s3, bucket); ok || err != nil {
		t.Errorf("a restart left another initial password: %v, %v", ok, err)
	}
	if n, _ := db.CountUsers(ctx); n != 2 {
		t.Errorf("%d users after a restart, want the admin and the test's member", n)
	}
	if got := w.keySet(t); got.IPSalt != salt || len(got.Keys) != 2 {
		t.Errorf("key set after restart %+v", got)
	}
}

// TestRotatedKeyPublishedAtOnce: a key rotated through the API reaches
// S3 right away, not at the next check, so ingest (which reloads the set on
// a miss) accepts the new key on its first request.
func TestRotatedKeyPublishedAtOnce(t *testing.T) {
	w := newWorld(t, "")
	w.publishEvery = time.Hour
	ctx := context.Background()
	s := w.start(t)
	db, err := store.Open(ctx, w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByEmail(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := db.CreateAPIToken(ctx, u.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	var pid int64
	for _, p := range w.keySet(t).Keys {
		pid = p
	}
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/api/v1/projects/%d/keys/rotate", s.http, pid), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		PublicKey string `json:"public_key"`
	}
	err = json.NewDecoder(resp.Body).Decode(&key)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || err != nil || key.PublicKey == "" {
		t.Fatalf("rotate: status %d, %v, key %q", resp.StatusCode, err, key.PublicKey)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		ks := w.keySet(t)
		if ks.Keys[key.PublicKey] == pid && len(ks.Keys) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 s after the rotation S3 holds %v, want only the new key %s; the next check is an hour away", ks.Keys, key.PublicKey)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDashboardWithDomain: with a domain, port 80 redirects to HTTPS (and
// would answer ACME challenges) and 443 speaks TLS. Certificates cannot be
// issued offline, so the handshake itself is not tested.
func TestDashboardWithDomain(t *testing.T) {
	w := newWorld(t, "errors.example.com")
	s := w.start(t)
	if s.https == "" {
		t.Fatal("no HTTPS listener with a domain configured")
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	code, hdr, _ := get(t, noRedirect, "http://"+s.http+"/api/v1/projects?x=1", "errors.example.com")
	if code != http.StatusFound || hdr.Get("Location") != "https://errors.example.com/api/v1/projects?x=1" || hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET http:// = %d Location %q X-Content-Type-Options %q, want a redirect to HTTPS with nosniff",
			code, hdr.Get("Location"), hdr.Get("X-Content-Type-Options"))
	}
	// An ACME HTTP-01 challenge path is handled by autocert (404 for a
	// token it did not issue), not redirected.
	code, _, _ = get(t, noRedirect, "http://"+s.http+"/.well-known/acme-challenge/unknown-token", "errors.example.com")
	if code != http.StatusNotFound {
		t.Errorf("ACME challenge path = %d, want autocert's 404", code)
	}
	conn, err := net.DialTimeout("tcp", s.https, 5*time.Second)
	if err != nil {
		t.Fatalf("HTTPS listener: %v", err)
	}
	conn.Close()
}

// TestAppConfigPlainHTTP: with plain_http the dashboard has no
// certificate, so every page shows the plain-HTTP banner and cookies are
// not Secure; with a domain autocert serves HTTPS, and behind CloudFront
// CloudFront does, so neither applies there; behind CloudFront the client
// address comes from X-Forwarded-For, since CloudFront is the only peer.
func TestAppConfigPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		domain, publicURL              string
		wantPlain, wantSecure, wantXFF bool
		wantPublicURL                  string
	}{
		{"", "", true, false, false, ""},
		{"errors.example.com", "", false, true, false, "https://errors.example.com"},
		{"", "https://d111111abcdef8.cloudfront.net", false, true, true, "https://d111111abcdef8.cloudfront.net"},
	} {
		c := appConfig(awsx.RuntimeConfig{Domain: tc.domain, PublicURL: tc.publicURL}, options{}, nil)
		if c.PlainHTTP != tc.wantPlain || c.SecureCookies != tc.wantSecure || c.PublicURL != tc.wantPublicURL || c.TrustForwardedFor != tc.wantXFF {
			t.Errorf("domain %q, public URL %q: PlainHTTP %v, SecureCookies %v, PublicURL %q, TrustForwardedFor %v; want %v, %v, %q, %v",
				tc.domain, tc.publicURL, c.PlainHTTP, c.SecureCookies, c.PublicURL, c.TrustForwardedFor, tc.wantPlain, tc.wantSecure, tc.wantPublicURL, tc.wantXFF)
		}
	}
}

// TestDashboardBehindCloudFront: without a domain the instance answers
// only requests carrying the distribution's origin secret (403 and the
// public URL otherwise), serves the sign-in page without the plain-HTTP
// banner, with Secure __Host- cookies and HSTS, and lets the live
// stream's WebSocket upgrade through (issue 14, finding 3).
func TestDashboardBehindCloudFront(t *testing.T) {
	const public = "https://d111111abcdef8.cloudfront.net"
	secret := strings.Repeat("s3cr3t-", 6)
	w := newWorld(t, "", "public_url", public, "origin_secret", secret)
	s := w.start(t)
	base := "http://" + s.http

	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"no secret", "", http.StatusForbidden},
		{"wrong secret", strings.Repeat("x", len(secret)), http.StatusForbidden},
		{"secret prefix", secret[:len(secret)-1], http.StatusForbidden},
		{"through CloudFront", secret, http.StatusOK},
	} {
		var hdr []string
		if tc.header != "" {
			hdr = []string{OriginSecretHeader, tc.header}
		}
		code, h, body := get(t, http.DefaultClient, base+"/login", "d111111abcdef8.cloudfront.net", hdr...)
		if code != tc.want {
			t.Errorf("%s: GET /login = %d, want %d:\n%s", tc.name, code, tc.want, body)
			continue
		}
		if code == http.StatusForbidden {
			if !strings.Contains(body, public) || strings.Contains(body, "<form") {
				t.Errorf("%s: refusal %q should name %s and show no page", tc.name, body, public)
			}
			continue
		}
		if strings.Contains(body, "This connection is not encrypted.") {
			t.Error("the sign-in page behind CloudFront shows the plain-HTTP banner")
		}
		if !strings.Contains(h.Get("Strict-Transport-Security"), "max-age=") {
			t.Errorf("no HSTS behind CloudFront: %v", h)
		}
		var secure bool
		for _, c := range (&http.Response{Header: h}).Cookies() {
			secure = secure || (c.Secure && strings.HasPrefix(c.Name, "__Host-"))
		}
		if !secure {
			t.Errorf("sign-in page cookies %v, want Secure __Host- ones", h.Values("Set-Cookie"))
		}
	}

	// The live stream: the upgrade passes the check (and is refused
	// without it) and reaches the stream's own authentication.
	for _, tc := range []struct {
		name   string
		header http.Header
		want   int
	}{
		{"no secret", http.Header{"Origin": {public}}, http.StatusForbidden},
		{"through CloudFront", http.Header{"Origin": {public}, OriginSecretHeader: {secret}}, http.StatusUnauthorized},
	} {
		_, resp, err := websocket.Dial(context.Background(), "ws://"+s.http+"/api/v1/stream", &websocket.DialOptions{HTTPHeader: tc.header, Host: "d111111abcdef8.cloudfront.net"})
		if err == nil || resp == nil || resp.StatusCode != tc.want {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.Errorf("%s: WebSocket dial = %d, %v; want %d", tc.name, code, err, tc.want)
		}
	}
}

func TestMasterDSN(t *testing.T) {
	rc := awsx.RuntimeConfig{DBHost: "flytrap-db.abc.eu-west-1.rds.amazonaws.com", DBPort: 5432, DBName: "flytrap"}
	dsn := masterDSN(rc, "flytrap", "require")
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != rc.DBHost || cfg.Port != 5432 || cfg.Database != "flytrap" || cfg.User != "flytrap" || cfg.TLSConfig == nil {
		t.Errorf("parsed %s:%d/%s as %s, TLS %v", cfg.Host, cfg.Port, cfg.Database, cfg.User, cfg.TLSConfig != nil)
	}
	if strings.Contains(dsn, "password") {
		t.Error("the DSN carries a password")
	}
}

func TestOptionsFromEnv(t *testing.T) {
	tests := []struct {
		env      map[string]string
		minFree  uint64 // 0: the environment is refused
		memLimit int64
	}{
		{map[string]string{"STATE_DIRECTORY": "/var/lib/flytrap", "FLYTRAP_HTTP_ADDR": ":8080"}, 100 << 20, 1024},
		{map[string]string{"STATE_DIRECTORY": "/var/lib/flytrap", "FLYTRAP_HTTP_ADDR": ":8080", "FLYTRAP_MIN_FREE_MB": "2048"}, 2048 << 20, 1024},
		{map[string]string{"STATE_DIRECTORY": "/var/lib/flytrap", "FLYTRAP_HTTP_ADDR": ":8080", "FLYTRAP_MEMORY_LIMIT_MB": "0"}, 100 << 20, 0},
		{map[string]string{"FLYTRAP_MIN_FREE_MB": "lots"}, 0, 0},
		{map[string]string{"FLYTRAP_MEMORY_LIMIT_MB": "-1"}, 0, 0},
	}
	for _, tt := range tests {
		o, err := optionsFromEnv(func(k string) string { return tt.env[k] })
		if tt.minFree == 0 {
			if err == nil {
				t.Errorf("%v: accepted, want an error", tt.env)
			}
			continue
		}
		if err != nil || o.httpAddr != ":8080" || o.httpsAddr != ":443" || o.stateDir != "/var/lib/flytrap" || o.dbSSLMode != "require" ||
			o.publishEvery != 30*time.Second || o.minFreeBytes != tt.minFree || o.memoryLimitMB != tt.memLimit {
			t.Errorf("%v: options %+v, %v", tt.env, o, err)
		}
	}
}

// TestOptionsAllowPrivate: FLYTRAP_ALERTS_ALLOW_PRIVATE is a boolean, and
// a value that is none refuses the start instead of leaving private
// addresses refused.
func TestOptionsAllowPrivate(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
		ok    bool
	}{{"", false, true}, {"1", true, true}, {"true", true, true}, {"yes", true, true}, {"0", false, true}, {"no", false, true}, {"enable", false, false}} {
		o, err := optionsFromEnv(func(k string) string { return map[string]string{notify.EnvAllowPrivate: tc.value}[k] })
		if (err == nil) != tc.ok || o.allowPrivate != tc.want {
			t.Errorf("%s=%q: allowPrivate %v, %v; want %v, ok %v", notify.EnvAllowPrivate, tc.value, o.allowPrivate, err, tc.want, tc.ok)
		}
	}
}

// TestMigrateOnly: `flytrap-dashboard migrate`, which `flytrap deploy`
// runs through SSM before updating the functions, brings a fresh database
// to the binary's schema, creates the processor's login, and serves
// nothing.
func TestMigrateOnly(t *testing.T) {
	w := newWorld(t, "")
	var out bytes.Buffer
	opts := options{dbSSLMode: "disable", stateDir: filepath.Join(t.TempDir(), "never-created")}
	if err := migrate(context.Background(), opts, &out); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), w.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int64
	if err := db.SQL().QueryRow(`SELECT MAX(version) FROM schema_migrations`).Scan(&version); err != nil || version == 0 {
		t.Fatalf("schema version %d, %v", version, err)
	}
	if want := fmt.Sprintf("store schema version %d\n", version); !strings.HasSuffix(out.String(), want) {
		t.Errorf("output %q, want it to end with %q", out.String(), want)
	}
	if _, err := os.Stat(opts.stateDir); err == nil {
		t.Error("migrate created the state directory: it must only migrate")
	}
}

// TestAppConfigLiveStreams: the live-stream limits are config.json's
// (flytrap.yaml's max_live_streams and max_live_streams_per_user); a
// config.json from before leaves them 0, live's defaults.
func TestAppConfigLiveStreams(t *testing.T) {
	for _, want := range []live.Limits{{Total: 40, PerUser: 3}, {}} {
		rc := awsx.RuntimeConfig{MaxLiveStreams: want.Total, MaxLiveStreamsPerUser: want.PerUser}
		if got := appConfig(rc, options{}, nil).LiveStreams; got != want {
			t.Errorf("config.json %d, %d: LiveStreams %+v", rc.MaxLiveStreams, rc.MaxLiveStreamsPerUser, got)
		}
	}
}

// TestAppConfigUploadRate: the rate a source map upload must keep up is
// config.json's (flytrap.yaml's min_upload_rate); a config.json from
// before leaves it 0, bodydeadline's default.
func TestAppConfigUploadRate(t *testing.T) {
	for _, rate := range []int{64 << 10, 0} {
		if got := appConfig(awsx.RuntimeConfig{MinUploadRate: rate}, options{}, nil).UploadRate; got != int64(rate) {
			t.Errorf("min_upload_rate %d: UploadRate %d", rate, got)
		}
	}
}

// TestAppConfigConnsPerClient: the connections one address may hold are
// config.json's (flytrap.yaml's max_conns_per_client), counted only where
// the dashboard serves clients itself; a config.json from before leaves
// the count 0, connlimit's default.
func TestAppConfigConnsPerClient(t *testing.T) {
	for _, n := range []int{32, 0} {
		if got := appConfig(awsx.RuntimeConfig{MaxConnsPerClient: n}, options{}, nil).MaxConnsPerClient; got != n {
			t.Errorf("max_conns_per_client %d: MaxConnsPerClient %d", n, got)
		}
	}
}

// TestAppConfigServerRateLimit: the dashboard names the limit config.json
// gives it, the ingest function's RATE_LIMIT from the same Terraform
// variable, and none it does not know (a config.json from before).
func TestAppConfigServerRateLimit(t *testing.T) {
	for _, limit := range []int{6000, 250, -1, 0} {
		if got := appConfig(awsx.RuntimeConfig{IngestRateLimit: limit}, options{}, nil).ServerRateLimit; got != limit {
			t.Errorf("ingest_rate_limit %d: ServerRateLimit %d", limit, got)
		}
	}
}

// TestDashboardBoundsConnsAndHeaders: serving clients itself (plain_http
// here), the dashboard answers headers over 64 KiB with 431 and, as
// flytrap dev does, serves a connection beyond config.json's
// max_conns_per_client from one address in place of an idle one and
// closes it when the address's connections are all busy.
func TestDashboardBoundsConnsAndHeaders(t *testing.T) {
	w := newWorld(t, "", "max_conns_per_client", "2")
	s := w.start(t)
	dialFrom := func(local net.IP) net.Conn {
		t.Helper()
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: local}}
		c, err := d.Dial("tcp", s.http)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	dial := func() net.Conn { t.Helper(); return dialFrom(nil) }
	status := func(c net.Conn) (string, error) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(line), err
	}
	big := dial()
	fmt.Fprintf(big, "GET /healthz HTTP/1.1\r\nHost: x\r\nCookie: %s\r\n\r\n", strings.Repeat("a", 70<<10))
	if line, err := status(big); !strings.HasPrefix(line, "HTTP/1.1 431") {
		t.Fatalf("70 KiB of headers: %q, %v; want 431", line, err)
	}
	big.Close()
	// The 431's connection gives its place back once the server has
	// closed it too; then two idle ones fill the address's places.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, b := dial(), dial()
		fmt.Fprint(a, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		fmt.Fprint(b, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		la, _ := status(a)
		lb, _ := status(b)
		if la == "HTTP/1.1 200 OK" && lb == "HTTP/1.1 200 OK" {
			break
		}
		a.Close()
		b.Close()
		if time.Now().After(deadline) {
			t.Fatalf("two connections: %q, %q; want both served", la, lb)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A connection is marked idle just after its response is sent, so
	// the third may come before either is.
	deadline = time.Now().Add(5 * time.Second)
	for {
		third := dial()
		fmt.Fprint(third, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		line, err := status(third)
		if line == "HTTP/1.1 200 OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a third connection from an address whose two are idle: %q, %v; want it served", line, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// From another address (Linux routes all of 127/8 to loopback), two
	// connections busy reading their first request's headers.
	other := net.IPv4(127, 0, 0, 2)
	for range 2 {
		fmt.Fprint(dialFrom(other), "GET /healthz HTTP/1.1\r\nHost: x\r\n")
	}
	over := dialFrom(other)
	fmt.Fprint(over, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if line, err := status(over); err == nil {
		t.Fatalf("a third connection from an address whose two are busy: %q; want it closed unanswered", line)
	}
}
