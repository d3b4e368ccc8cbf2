// Command processor is the processor Lambda function (provided.al2023,
// arm64, built as "bootstrap" with -tags 'lambda.norpc nosqlite'): it
// receives batches from the SQS event source, processes each batch with
// internal/process, stores it in RDS PostgreSQL in one transaction and
// announces its events, from inside that transaction, on the live-stream
// NOTIFY channel the dashboard listens to.
//
// Failures are reported per record (ReportBatchItemFailures), so SQS
// redelivers only those. That includes malformed messages
// (process.ErrMalformed): retrying them cannot succeed, but reporting them
// is what moves them, after the queue's maxReceiveCount, to the
// dead-letter queue, whose alarm tells an operator there is something to
// inspect; dropping them would lose the evidence of a bug or a foreign
// producer. Processing is idempotent per event_id, so a redelivered event
// is stored once.
//
// Environment (set by terraform/modules/processor):
//
//	DB_HOST, DB_PORT, DB_NAME  the database
//	DB_USER                    its login (flytrap_processor)
//	DB_REGION                  region for IAM authentication tokens
//	DB_AUTH                    iam (RDS IAM token per connection) or
//	                           password (DB_PASSWORD; tests, non-RDS)
//	DB_SSLMODE                 libpq sslmode (require on RDS)
//	SOURCEMAPS_BUCKET          the private bucket of uploaded source maps;
//	                           unset leaves JavaScript frames as sent
//	SOURCEMAPS_PREFIX          their key prefix ("sourcemaps/")
//	LOG_LEVEL                  debug, info (default), warn or error
//
// and from Lambda AWS_LAMBDA_FUNCTION_MEMORY_SIZE, which sizes Go's memory
// limit and the symbolicator's caches (see memoryBudget).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/lambdax"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/symbolicate"
)

func main() {
	log := lambdax.NewLogger(os.Stdout, os.Getenv("LOG_LEVEL"))
	e, err := readEnv(os.Getenv)
	if err != nil {
		log.Error("processor: bad environment", "err", err)
		os.Exit(1)
	}
	var (
		creds aws.CredentialsProvider
		blobs artifact.Blobs
	)
	if e.auth == "iam" || e.mapsBucket != "" {
		cfg, err := awsbase.AWSConfig(e.region, os.Getenv)
		if err != nil {
			log.Error("processor: AWS configuration", "err", err)
			os.Exit(1)
		}
		creds = cfg.Credentials
		if e.mapsBucket != "" {
			blobs = artifact.S3{Client: awsbase.NewS3Client(cfg), Bucket: e.mapsBucket, Prefix: e.mapsPrefix}
		}
	}
	budget := newMemoryBudget(lambdax.FunctionMemoryMB(os.Getenv))
	ops.SetMemoryLimit(budget.limitMB, os.Getenv)
	f := &function{
		connect: func(ctx context.Context) (*store.DB, error) {
			return store.OpenPostgres(ctx, e.dsn(), e.passwordSource(creds))
		},
		maps:   blobs,
		budget: budget,
		log:    log,
	}
	lambda.Start(f.handle)
}

// env is the function's database configuration.
type env struct {
	host     string
	port     int
	name     string
	user     string
	region   string
	auth     string // "iam" or "password"
	password string
	sslmode  string
	// mapsBucket and mapsPrefix locate uploaded source maps; an empty
	// bucket turns symbolication off.
	mapsBucket string
	mapsPrefix string
}

func readEnv(getenv func(string) string) (env, error) {
	e := env{
		host:     getenv("DB_HOST"),
		name:     getenv("DB_NAME"),
		user:     getenv("DB_USER"),
		region:   getenv("DB_REGION"),
		auth:     getenv("DB_AUTH"),
		password: getenv("DB_PASSWORD"),
		sslmode:  getenv("DB_SSLMODE"),

		mapsBucket: getenv("SOURCEMAPS_BUCKET"),
		mapsPrefix: getenv("SOURCEMAPS_PREFIX"),
	}
	if e.mapsBucket != "" && e.mapsPrefix == "" {
		e.mapsPrefix = "sourcemaps/"
	}
	var errs []error
	for _, v := range []struct{ name, value string }{{"DB_HOST", e.host}, {"DB_NAME", e.name}, {"DB_USER", e.user}} {
		if v.value == "" {
			errs = append(errs, errors.New(v.name+" is not set"))
		}
	}
	port := getenv("DB_PORT")
	if port == "" {
		port = "5432"
	}
	var err error
	if e.port, err = strconv.Atoi(port); err != nil || e.port < 1 || e.port > 65535 {
		errs = append(errs, fmt.Errorf("DB_PORT %q is not a port", port))
	}
	switch e.auth {
	case "iam":
		if e.region == "" {
			errs = append(errs, errors.New("DB_REGION is needed for DB_AUTH=iam"))
		}
		if e.sslmode == "" {
			// RDS accepts IAM tokens over TLS only.
			e.sslmode = "require"
		}
	case "password":
		if e.sslmode == "" {
			e.sslmode = "prefer"
		}
	default:
		errs = append(errs, fmt.Errorf("DB_AUTH %q: want iam or password", e.auth))
	}
	return e, errors.Join(errs...)
}

// dsn is a keyword/value connection string, which, unlike a URL, can also
// hold a Unix socket directory as host.
func (e env) dsn() string {
	q := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return strings.Join([]string{
		"host=" + q(e.host), "port=" + strconv.Itoa(e.port), "dbname=" + q(e.name), "user=" + q(e.user),
		"sslmode=" + q(e.sslmode), "connect_timeout=10", "application_name=flytrap-processor",
	}, " ")
}

// passwordSource returns the per-connection password: a fresh IAM token
// signed locally with the function's role credentials (no network call,
// which matters in a VPC without NAT), or the fixed DB_PASSWORD.
func (e env) passwordSource(creds aws.CredentialsProvider) func(context.Context) (string, error) {
	if e.auth != "iam" {
		return func(context.Context) (string, error) { return e.password, nil }
	}
	endpoint := net.JoinHostPort(e.host, strconv.Itoa(e.port))
	return func(ctx context.Context) (string, error) {
		return auth.BuildAuthToken(ctx, endpoint, e.region, e.user, creds)
	}
}

// memoryBudget shares the function's memory out. Lambda ends an
// environment that outgrows its memory, which fails the whole batch and,
// after five receives, moves it to the dead-letter queue. The
// symbolicator's default caches (192 MB of parsed maps, 48 MB of minified
// sources, and one map of up to 96 MB being parsed) are sized for 512 MB,
// and without a limit Go's collector lets the heap grow to twice what is
// live before it runs: a processor whose caches filled could outgrow even
// 512 MB, and any smaller custom size sooner. So on Lambda Go gets a soft
// limit (lambdax.MemoryLimitMB), and the caches a share of the memory,
// equal to the defaults at 512 MB; a map over its share is not parsed
// (the event is stored with a note saying so) rather than ending the
// environment. Zero values, off Lambda, mean the defaults and no limit.
type memoryBudget struct {
	// limitMB is Go's soft memory limit (ops.SetMemoryLimit).
	limitMB int64
	// maps, sources and maxMap are symbolicate.Config's CacheBytes,
	// SourceCacheBytes and MaxMapSize.
	maps, sources, maxMap int64
}

func newMemoryBudget(memoryMB int64) memoryBudget {
	if memoryMB <= 0 {
		return memoryBudget{}
	}
	b := memoryMB << 20
	return memoryBudget{
		limitMB: lambdax.MemoryLimitMB(memoryMB),
		maps:    b * 3 / 8,
		sources: b * 3 / 32,
		maxMap:  min(b*3/16, symbolicate.DefaultMaxMapSize),
	}
}

// function is the Lambda handler. It connects on the first invocation
// that needs the database and keeps the pool for the life of the
// execution environment; a failed connect is retried on the next one.
type function struct {
	connect func(context.Context) (*store.DB, error)
	// maps holds uploaded source maps (the S3 bucket); nil leaves frames
	// as sent.
	maps artifact.Blobs
	// budget sizes the symbolicator's caches.
	budget memoryBudget
	log    *slog.Logger
	// now is the clock (nil: time.Now).
	now func() time.Time

	mu       sync.Mutex
	batch    func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)
	db       *store.DB
	lastUsed time.Time
}

// idleReset is how long the pool may sit unused before its idle
// connections are dropped. Lambda's VPC network interfaces drop a TCP flow
// idle for 350 s without telling either end, and a frozen execution
// environment runs no pool cleaner: the first query on such a connection
// would hang until the invocation timed out, and the batch would wait a
// visibility timeout (395 s) for its redelivery. Below 350 s, a pause
// costs a fresh connection instead.
const idleReset = 300 * time.Second

// handle processes one batch. Without a database no record can succeed, so
// a failed connect fails the invocation, which retries the whole batch.
func (f *function) handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	f.dropStaleConnections()
	batch, err := f.batchHandler(ctx)
	if err != nil {
		f.log.Error("processor: batch not processed", "records", len(ev.Records), "err", err)
		return events.SQSEventResponse{}, err
	}
	return batch(ctx, ev)
}

// dropStaleConnections closes the pool's idle connections after a pause
// of idleReset or more (see idleReset).
func (f *function) dropStaleConnections() {
	now := time.Now()
	if f.now != nil {
		now = f.now()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db != nil && !f.lastUsed.IsZero() && now.Sub(f.lastUsed) >= idleReset {
		sqlDB := f.db.SQL()
		// OpenPostgres keeps as many idle connections as it opens.
		keep := sqlDB.Stats().MaxOpenConnections
		sqlDB.SetMaxIdleConns(0) // closes the idle ones now
		sqlDB.SetMaxIdleConns(keep)
		f.log.Info("processor: dropped idle database connections after a pause", "idle", now.Sub(f.lastUsed).Round(time.Second))
	}
	f.lastUsed = now
}

func (f *function) batchHandler(ctx context.Context) (func(context.Context, events.SQSEvent) (events.SQSEventResponse, error), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.batch != nil {
		return f.batch, nil
	}
	db, err := f.connect(ctx)
	if err != nil {
		// A schema newer or older than this code (an upgrade not yet
		// migrated, a rollback) ends here too: nothing is stored, and
		// the failed invocation leaves the batch queued.
		return nil, fmt.Errorf("connect to the database: %w; the events stay in the queue and SQS redelivers them (after 5 receives they move to the dead-letter queue)", err)
	}
	f.db = db
	// Each batch's stored events are announced with NOTIFY in the batch's
	// transaction, for the dashboard's live stream; the Lambda never calls
	// anything outside the VPC.
	pcfg := process.Config{Saver: db, Outbox: db.AlertHook(nil), Notify: livemsg.Notify, Privacy: db, Filters: db, Log: f.log}
	if f.maps != nil {
		// Parsed maps stay cached for the life of the execution
		// environment, so a warm function resolves frames from memory.
		pcfg.Symbolicator = symbolicate.New(symbolicate.Config{
			Maps:       artifact.New(db, f.maps, artifact.DefaultLimits),
			CacheBytes: f.budget.maps, SourceCacheBytes: f.budget.sources, MaxMapSize: f.budget.maxMap,
		})
	}
	proc := process.New(pcfg)
	f.batch = lambdax.SQSBatchHandler(func(ctx context.Context, msgs []events.SQSMessage) []error {
		bodies := make([][]byte, len(msgs))
		for i, m := range msgs {
			bodies[i] = []byte(m.Body)
		}
		errs := make([]error, len(msgs))
		for i, out := range proc.ProcessBatch(ctx, bodies) {
			errs[i] = out.Err
			if errors.Is(out.Err, process.ErrMalformed) {
				errs[i] = fmt.Errorf("not a Flytrap event; reported so the dead-letter queue keeps it for inspection: %w", out.Err)
			}
		}
		return errs
	}, f.log)
	return f.batch, nil
}
