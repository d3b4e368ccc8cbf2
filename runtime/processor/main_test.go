package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/lambdax/lambdaxtest"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

var quiet = slog.New(slog.DiscardHandler)

// Records of testdata/sqs-event.json that must fail: a message that is no
// Flytrap event. The event of a project that does not exist
// (3c0d6f6e-...) is not among them: its project was deleted after ingest
// accepted it, so it is dropped, and deleted from the queue, rather than
// retried into the dead-letter queue.
var wantFailed = []string{"2e1424d4-f796-459a-8184-9c92662be6da"}

// database is a migrated test database with one project (ID 1, as the
// fixture's events expect) and a processor login, set up the way the
// dashboard does it on RDS.
type database struct {
	dsn    string
	master *store.DB
	env    map[string]string // the processor's DB_* variables
}

func newDatabase(t *testing.T) *database {
	t.Helper()
	b := make([]byte, 6)
	rand.Read(b)
	role := "flytrap_processor_" + hex.EncodeToString(b)
	var dsn string
	t.Cleanup(func() { // after pgtest drops the database, which held the role's grants
		if dsn != "" {
			dropRole(t, dsn, role)
		}
	})
	dsn = pgtest.URL(t)
	ctx := context.Background()
	master, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	if p, err := master.CreateProject(ctx, "web"); err != nil || p.ID != 1 {
		t.Fatalf("CreateProject = %+v, %v; want ID 1", p, err)
	}
	if err := master.EnsureProcessorRole(ctx, role); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	host, port := u.Hostname(), u.Port()
	if h := u.Query().Get("host"); h != "" { // a throwaway cluster's socket directory
		host = h
	}
	if p := u.Query().Get("port"); p != "" {
		port = p
	}
	return &database{dsn: dsn, master: master, env: map[string]string{
		"DB_HOST": host, "DB_PORT": port, "DB_NAME": strings.TrimPrefix(u.Path, "/"), "DB_USER": role,
		"DB_REGION": "eu-west-1", "DB_AUTH": "iam", "DB_SSLMODE": "disable",
	}}
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

func (d *database) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := d.master.SQL().QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func loadBatch(t *testing.T) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile("testdata/sqs-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func failedIDs(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// TestProcessorBatch runs the handler on a real SQS event as the processor
// login, signing an IAM token per connection (the test server trusts the
// login, so the token is sent but not checked).
func TestProcessorBatch(t *testing.T) {
	db := newDatabase(t)
	e, err := readEnv(func(k string) string { return db.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		tokens []string
	)
	sign := e.passwordSource(credentials.NewStaticCredentialsProvider("AKIDPROCESSOR", "secret", ""))
	f := &function{log: quiet, connect: func(ctx context.Context) (*store.DB, error) {
		return store.OpenPostgres(ctx, e.dsn(), func(ctx context.Context) (string, error) {
			tok, err := sign(ctx)
			mu.Lock()
			tokens = append(tokens, tok)
			mu.Unlock()
			return tok, err
		})
	}}

	// The dashboard's live stream listens like this.
	listener, err := pgx.Connect(context.Background(), db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(context.Background())
	if _, err := listener.Exec(context.Background(), "LISTEN "+livemsg.Channel); err != nil {
		t.Fatal(err)
	}

	batch := loadBatch(t)
	for round := 1; round <= 2; round++ { // the second is SQS redelivering the batch
		resp, err := f.handle(context.Background(), batch)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got := failedIDs(resp); !slices.Equal(got, wantFailed) {
			t.Errorf("round %d: failures %v, want %v", round, got, wantFailed)
		}
		// Two events (one delivered twice in the batch), two issues,
		// nothing for the malformed message or the missing project.
		if n := db.count(t, `SELECT COUNT(*) FROM events`); n != 2 {
			t.Errorf("round %d: %d events stored, want 2", round, n)
		}
		if n := db.count(t, `SELECT COUNT(*) FROM issues WHERE project_id = 1`); n != 2 {
			t.Errorf("round %d: %d issues, want 2", round, n)
		}
		if n := db.count(t, `SELECT COUNT(*) FROM events WHERE event_id IN ('9ec79c33ec9942ab8353589fcb2e04dc', '7b0f1c4e2d3a4b5c8d9e0f1a2b3c4d5e')`); n != 2 {
			t.Errorf("round %d: the fixture's events are not both stored", round)
		}
		// The user feedback beside them is stored once, as feedback.
		if n := db.count(t, `SELECT COUNT(*) FROM feedback WHERE event_id = 'b2a1c3d4e5f60718293a4b5c6d7e8f90' AND associated_event_id = '9ec79c33ec9942ab8353589fcb2e04dc'`); n != 1 {
			t.Errorf("round %d: %d feedback rows, want 1", round, n)
		}
	}
	// One notification per stored event; redelivered duplicates announce
	// nothing.
	var notified []string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		n, err := listener.WaitForNotification(ctx)
		cancel()
		if err != nil {
			break
		}
		notified = append(notified, n.Payload)
	}
	if len(notified) != 2 {
		t.Errorf("%d live notifications, want 2: %q", len(notified), notified)
	}

	if len(tokens) == 0 || !strings.Contains(tokens[0], "Action=connect") || !strings.Contains(tokens[0], "DBUser="+db.env["DB_USER"]) || !strings.Contains(tokens[0], "X-Amz-Signature=") {
		t.Errorf("passwords sent: %q, want signed IAM tokens", tokens)
	}
}

func TestProcessorConnectFailureRetriesBatch(t *testing.T) {
	calls := 0
	f := &function{log: quiet, connect: func(context.Context) (*store.DB, error) {
		calls++
		return nil, errors.New("dial tcp 10.0.1.5:5432: i/o timeout")
	}}
	ev := loadBatch(t)
	for range 2 {
		if _, err := f.handle(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "i/o timeout") {
			t.Fatalf("err = %v, want the connect error (the whole batch is retried)", err)
		}
	}
	if calls != 2 {
		t.Errorf("%d connect attempts, want one per invocation until one succeeds", calls)
	}
}

func TestReadEnv(t *testing.T) {
	base := map[string]string{"DB_HOST": "db.internal", "DB_PORT": "5432", "DB_NAME": "flytrap", "DB_USER": "flytrap_processor",
		"DB_REGION": "eu-west-1", "DB_AUTH": "iam", "DB_SSLMODE": ""}
	tests := []struct {
		name        string
		set         map[string]string
		wantErr     string
		wantSSLMode string
		wantDSN     string
	}{
		{name: "terraform's iam", set: map[string]string{"DB_SSLMODE": "require"}, wantSSLMode: "require",
			wantDSN: "host='db.internal' port=5432 dbname='flytrap' user='flytrap_processor' sslmode='require' connect_timeout=10 application_name=flytrap-processor"},
		{name: "iam defaults to TLS", wantSSLMode: "require"},
		{name: "password", set: map[string]string{"DB_AUTH": "password", "DB_PASSWORD": "pw"}, wantSSLMode: "prefer"},
		{name: "default port", set: map[string]string{"DB_PORT": ""}, wantSSLMode: "require"},
		{name: "quoting", set: map[string]string{"DB_NAME": `it's\`}, wantSSLMode: "require",
			wantDSN: `host='db.internal' port=5432 dbname='it\'s\\' user='flytrap_processor' sslmode='require' connect_timeout=10 application_name=flytrap-processor`},
		{name: "unknown auth", set: map[string]string{"DB_AUTH": "kerberos"}, wantErr: "DB_AUTH"},
		{name: "iam without region", set: map[string]string{"DB_REGION": ""}, wantErr: "DB_REGION"},
		{name: "bad port", set: map[string]string{"DB_PORT": "54x"}, wantErr: "DB_PORT"},
		{name: "no host", set: map[string]string{"DB_HOST": ""}, wantErr: "DB_HOST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tt.set {
				m[k] = v
			}
			e, err := readEnv(func(k string) string { return m[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if e.sslmode != tt.wantSSLMode {
				t.Errorf("sslmode %q, want %q", e.sslmode, tt.wantSSLMode)
			}
			if tt.wantDSN != "" && e.dsn() != tt.wantDSN {
				t.Errorf("dsn\n%s\nwant\n%s", e.dsn(), tt.wantDSN)
			}
			if _, err := pgx.ParseConfig(e.dsn()); err != nil {
				t.Errorf("pgx cannot parse the DSN: %v", err)
			}
		})
	}
}

// TestBootstrap runs the built function against a fake Lambda Runtime API
// with a real SQS event, signing IAM tokens from environment credentials
// as on Lambda.
func TestBootstrap(t *testing.T) {
	db := newDatabase(t)
	bin := lambdaxtest.Build(t, ".", runtime.GOOS, runtime.GOARCH)
	api := lambdaxtest.NewRuntimeAPI(t)
	env := awsxtest.Env()
	for k, v := range db.env {
		env = append(env, k+"="+v)
	}
	lambdaxtest.Start(t, bin, api, env...)

	payload, err := os.ReadFile("testdata/sqs-event.json")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := api.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error {
		t.Fatalf("function error %s: %s", res.ErrorType, res.Body)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(res.Body, &resp); err != nil {
		t.Fatalf("response %s: %v", res.Body, err)
	}
	if got := failedIDs(resp); !slices.Equal(got, wantFailed) {
		t.Errorf("failures %v, want %v", got, wantFailed)
	}
	if n := db.count(t, `SELECT COUNT(*) FROM events`); n != 2 {
		t.Errorf("%d events stored, want 2", n)
	}
}

// TestNoWebSocket checks that the function links the live-message types,
// not the dashboard's WebSocket server (internal/live and its library),
// built as it is deployed and as tests build it.
func TestNoWebSocket(t *testing.T) {
	for _, tags := range []string{lambdaxtest.BuildTags, ""} {
		out, err := exec.Command("go", "list", "-deps", "-tags", tags, ".").Output()
		if err != nil {
			t.Fatalf("go list -deps -tags %q: %v", tags, err)
		}
		deps := strings.Fields(string(out))
		if !slices.Contains(deps, "github.com/getflytrap/flytrap/internal/process") {
			t.Fatalf("go list -deps -tags %q lacks internal/process; is this the processor? %q", tags, deps)
		}
		for _, pkg := range deps {
			if strings.HasPrefix(pkg, "github.com/coder/websocket") || pkg == "github.com/getflytrap/flytrap/internal/live" {
				t.Errorf("the processor (tags %q) depends on %s; share types through internal/livemsg instead", tags, pkg)
			}
		}
	}
}

// TestProcessorRefusesOtherSchema: facing a schema newer or older than
// its own, or one that lacks a migration below its latest (a deploy that
// has not migrated yet, or a rollback), the
// processor refuses the whole batch with a message saying so, stores
// nothing, and the batch stays in the queue for SQS to redeliver. Run
// against real PostgreSQL with the store's own migration table.
func TestProcessorRefusesOtherSchema(t *testing.T) {
	for _, c := range []struct {
		name  string
		sql   string
		wants []string
	}{
		{"newer", `INSERT INTO schema_migrations (version, name, applied_at) SELECT MAX(version) + 1, 'from_a_newer_flytrap.sql', 0 FROM schema_migrations`,
			[]string{"newer than this binary's", "the events stay in the queue"}},
		{"older", `DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`,
			[]string{"permission denied", "flytrap deploy migrates", "the events stay in the queue"}},
		{"gap", `DELETE FROM schema_migrations WHERE version = 35`,
			[]string{"permission denied", "lacks migration 0035_", "flytrap deploy migrates", "the events stay in the queue"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := newDatabase(t)
			if _, err := db.master.SQL().Exec(c.sql); err != nil {
				t.Fatal(err)
			}
			e, err := readEnv(func(k string) string { return db.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			sign := e.passwordSource(credentials.NewStaticCredentialsProvider("AKIDPROCESSOR", "secret", ""))
			f := &function{log: quiet, connect: func(ctx context.Context) (*store.DB, error) {
				return store.OpenPostgres(ctx, e.dsn(), sign)
			}}
			resp, err := f.handle(context.Background(), loadBatch(t))
			if err == nil {
				t.Fatalf("the batch was processed against a %s schema: %+v", c.name, resp)
			}
			for _, want := range c.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if n := db.count(t, "SELECT COUNT(*) FROM events"); n != 0 {
				t.Errorf("%d events stored", n)
			}
		})
	}
}

// TestProcessorDropsConnectionsAfterPause: a batch after a pause of
// idleReset or more starts on fresh connections, so a connection the VPC
// dropped while the environment was frozen is never used; a batch soon
// after the last reuses the pool.
func TestProcessorDropsConnectionsAfterPause(t *testing.T) {
	db := newDatabase(t)
	e, err := readEnv(func(k string) string { return db.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	sign := e.passwordSource(credentials.NewStaticCredentialsProvider("AKIDPROCESSOR", "secret", ""))
	clock := time.Date(2026, 12, 3, 14, 0, 0, 0, time.UTC)
	f := &function{log: quiet, now: func() time.Time { return clock }, connect: func(ctx context.Context) (*store.DB, error) {
		return store.OpenPostgres(ctx, e.dsn(), sign)
	}}
	batch := loadBatch(t)
	run := func() {
		t.Helper()
		if _, err := f.handle(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	run()
	closed := func() int64 { return f.db.SQL().Stats().MaxIdleClosed }
	clock = clock.Add(time.Minute)
	run()
	if n := closed(); n != 0 {
		t.Errorf("%d connections closed after a one-minute pause, want the pool reused", n)
	}
	clock = clock.Add(idleReset)
	run()
	if n := closed(); n == 0 {
		t.Error("no idle connection was closed after a pause of idleReset")
	}
}

// TestProcessorSymbolicatesFromS3 uploads a minified build's map to an
// S3-compatible fake the way the dashboard stores it, then processes an
// SQS record whose frames point into the minified file: the stored issue
// names the original function and file.
// symbolicationSetup uploads build-a's bundle (release shop@1, project 1)
// to an S3 fake through the dashboard's path, as the processor finds it.
func symbolicationSetup(t *testing.T) (*database, artifact.S3) {
	t.Helper()
	db := newDatabase(t)
	ctx := context.Background()
	s3c := awsxtest.S3Client(awsxtest.NewS3(t))
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("maps")}); err != nil {
		t.Fatal(err)
	}
	blobs := artifact.S3{Client: s3c, Bucket: "maps", Prefix: "sourcemaps/"}
	js, err := os.ReadFile("../../internal/symbolicate/testdata/build-a/app.min.js")
	if err != nil {
		t.Fatal(err)
	}
	sm, err := os.ReadFile("../../internal/symbolicate/testdata/build-a/app.min.js.map")
	if err != nil {
		t.Fatal(err)
	}
	var bundle bytes.Buffer
	if err := artifact.WriteBundle(&bundle, map[string]string{"release": "shop@1"}, []artifact.BundleFile{
		{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", Data: js},
		{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", Data: sm},
	}); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(bundle.Bytes())
	checksum := hex.EncodeToString(sum[:])
	uploads := artifact.New(db.master, blobs, artifact.DefaultLimits)
	ci, err := db.master.CreateUser(ctx, "ci@example.com", "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := uploads.SaveChunk(ctx, ci.ID, checksum, bundle.Bytes()); err != nil {
		t.Fatal(err)
	}
	if res, err := uploads.Assemble(ctx, artifact.AssembleRequest{UserID: ci.ID, ProjectIDs: []int64{1}, Checksum: checksum, Chunks: []string{checksum}}); err != nil || res.State != "ok" {
		t.Fatalf("Assemble = %+v, %v", res, err)
	}
	return db, blobs
}

// buildAEvent has the frames of build-a/stack.txt, innermost last as Sentry
// sends them.
const buildAEvent = `{"event_id":"5a0c3e1f2b4d4c6e8f0a1b2c3d4e5f60","project_id":1,"source":"sentry","timestamp":"2026-11-21T10:00:00Z",` +
	`"received":"2026-11-21T10:00:01Z","platform":"javascript","level":"error","release":"shop@1",` +
	`"exceptions":[{"type":"RangeError","value":"negative quantity for pear","frames":[` +
	`{"filename":"https://shop.example.com/static/js/app.min.js","function":"n","lineno":1,"colno":156,"in_app":true},` +
	`{"filename":"https://shop.example.com/static/js/app.min.js","function":"u","lineno":1,"colno":43,"in_app":true}]}]}`

// symbolicatedCulprit processes buildAEvent with budget and returns its
// issue's culprit.
func symbolicatedCulprit(t *testing.T, budget memoryBudget) string {
	t.Helper()
	ctx := context.Background()
	db, blobs := symbolicationSetup(t)
	e, err := readEnv(func(k string) string { return db.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	f := &function{log: quiet, maps: blobs, budget: budget, connect: func(ctx context.Context) (*store.DB, error) {
		return store.OpenPostgres(ctx, e.dsn(), e.passwordSource(credentials.NewStaticCredentialsProvider("AKIDPROCESSOR", "secret", "")))
	}}
	resp, err := f.handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: buildAEvent}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handle = %+v, %v", resp, err)
	}
	var culprit string
	if err := db.master.SQL().QueryRowContext(ctx, `SELECT culprit FROM issues WHERE project_id = 1`).Scan(&culprit); err != nil {
		t.Fatal(err)
	}
	return culprit
}

func TestProcessorSymbolicatesFromS3(t *testing.T) {
	if culprit := symbolicatedCulprit(t, memoryBudget{}); !strings.Contains(culprit, "cart.js") || !strings.Contains(culprit, "lineTotal") {
		t.Errorf("culprit %q, want the original cart.js in lineTotal", culprit)
	}
}

// TestProcessorMapLimitFromBudget: the budget's largest map reaches the
// symbolicator, so a map over a small function's share is not parsed and
// the event keeps its minified frames (stored, not failed).
func TestProcessorMapLimitFromBudget(t *testing.T) {
	if culprit := symbolicatedCulprit(t, memoryBudget{maxMap: 1 << 10}); strings.Contains(culprit, "cart.js") {
		t.Errorf("culprit %q: the map was parsed despite a 1 KB limit", culprit)
	}
}
