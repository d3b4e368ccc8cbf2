// Command dashboard is the Flytrap server on the dashboard EC2 instance,
// run by systemd (flytrap-dashboard.service, installed by the cloud-init
// in templates/cloudinit). It starts in this order, and exits non-zero on
// any failure so systemd restarts it:
//
//  1. the region and the Flytrap* instance tags from IMDSv2;
//  2. config.json from S3 (awsx.RuntimeConfig, written by Terraform);
//  3. the RDS-managed master secret from Secrets Manager, re-read when
//     the pool opens a connection more than a minute later (RDS rotates
//     it);
//  4. the database: migrations, then the processor's IAM login;
//  5. on an empty database the first admin, whose generated password is
//     left in s3://<bucket>/deploy/initial-admin-password for `flytrap
//     deploy` to print once and delete (it is never logged);
//  6. the ingest key set, published to S3 now and whenever the active keys
//     change (checked every 30 s);
//  7. the background jobs every Flytrap server runs (internal/app): event
//     retention as config.json's retention_days and retention_per_issue
//     say (from flytrap.yaml), expired session pruning, and alert
//     delivery: email through SMTP when FLYTRAP_SMTP_URL or the secret
//     "<prefix>-alerts-smtp" holds a URL, else through an SNS topic per
//     project whose member subscriptions the alert-subscriptions job
//     syncs every minute; set-password links (invitations, password
//     resets) are emailed through that SMTP server too, and only shown
//     to the admin without one;
//  8. HTTP: with a domain, HTTPS on :443 with Let's Encrypt certificates
//     (autocert, cached in the state directory) and :80 answering ACME
//     challenges and redirecting to HTTPS; behind CloudFront (no domain,
//     config.json's public_url set), HTTP on :80 for CloudFront only: a
//     request without the distribution's X-Flytrap-Origin-Secret gets 403;
//     with plain_http, plain HTTP on :80.
//
// SIGTERM (systemctl stop/restart) drains requests and stops cleanly.
//
// Environment, all optional (the unit sets none but STATE_DIRECTORY):
//
//	STATE_DIRECTORY     systemd's StateDirectory, for the certificate cache
//	                    (default /var/lib/flytrap)
//	FLYTRAP_HTTP_ADDR   default :80
//	FLYTRAP_HTTPS_ADDR  default :443
//	FLYTRAP_DB_SSLMODE  default require (RDS enforces TLS)
//	FLYTRAP_MIN_FREE_MB free space (MiB) the state directory needs for
//	                    /readyz to answer ready (default 100)
//	FLYTRAP_MEMORY_LIMIT_MB soft limit on the Go memory (default 1024, half
//	                    the 2 GB instance; 0: none; GOMEMLIMIT wins)
//	LOG_LEVEL           debug, info (default), warn or error
//	FLYTRAP_SMTP_URL    smtp://user:pass@host:587 for alert email instead of
//	FLYTRAP_SMTP_FROM   SNS (default: the secret <prefix>-alerts-smtp)
//	FLYTRAP_ALERTS_ALLOW_PRIVATE  1 lets Slack and webhook alerts reach
//	                    private and link-local addresses (default: public
//	                    addresses only)
//
// The SDK's own variables (AWS_EC2_METADATA_SERVICE_ENDPOINT,
// AWS_ENDPOINT_URL_<SERVICE>) point it elsewhere in tests.
package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/crypto/acme/autocert"

	"github.com/getflytrap/flytrap/internal/app"
	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/lambdax"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/store"
)

func main() {
	log := lambdax.NewLogger(os.Stdout, os.Getenv("LOG_LEVEL"))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts, err := optionsFromEnv(os.Getenv)
	if err != nil {
		log.Error("dashboard: bad environment", "err", err)
		os.Exit(1)
	}
	ops.SetMemoryLimit(opts.memoryLimitMB, os.Getenv)
	if len(os.Args) == 2 && os.Args[1] == "migrate" {
		// `flytrap deploy` runs this through SSM before it updates the
		// functions (internal/deploy MigrateCommand).
		if err := migrate(ctx, opts, os.Stdout); err != nil {
			log.Error("migration failed", "err", err)
			os.Exit(1)
		}
		return
	}
	if err := run(ctx, opts, log); err != nil {
		log.Error("dashboard stopped", "err", err)
		os.Exit(1)
	}
	log.Info("dashboard stopped cleanly")
}

// options are the knobs of run; production uses optionsFromEnv.
type options struct {
	httpAddr, httpsAddr string
	stateDir            string
	dbSSLMode           string
	publishEvery        time.Duration
	shutdownGrace       time.Duration
	// retentionEvery and sessionPruneEvery are the jobs' intervals (0:
	// internal/app's defaults); tests shorten them.
	retentionEvery, sessionPruneEvery time.Duration
	// memoryLimitMB is the soft Go memory limit main sets (0: none).
	memoryLimitMB int64
	// minFreeBytes is the free space the state directory needs for
	// /readyz; freeSpace measures it (nil: ops.FreeBytes).
	minFreeBytes uint64
	freeSpace    ops.FreeSpace
	// allowPrivate lets Slack and webhook alerts reach private addresses
	// (notify.EnvAllowPrivate).
	allowPrivate bool
	// ready, when set, is called once the listeners are open (https is
	// nil without a domain).
	ready func(http, https net.Addr)
}

func optionsFromEnv(getenv func(string) string) (options, error) {
	or := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	minFreeMB, err := strconv.ParseUint(or("FLYTRAP_MIN_FREE_MB", "100"), 10, 32)
	if err != nil {
		return options{}, fmt.Errorf("FLYTRAP_MIN_FREE_MB must be a whole number of MiB: %w", err)
	}
	// Floods leave garbage the collector's default pacing lets pile up to
	// twice the live heap; half the instance keeps RSS well inside it.
	memMB, err := strconv.ParseUint(or("FLYTRAP_MEMORY_LIMIT_MB", "1024"), 10, 32)
	if err != nil {
		return options{}, fmt.Errorf("FLYTRAP_MEMORY_LIMIT_MB must be a whole number of MiB: %w", err)
	}
	allowPrivate, err := notify.ParseAllowPrivate(getenv(notify.EnvAllowPrivate))
	if err != nil {
		return options{}, err
	}
	return options{
		allowPrivate:  allowPrivate,
		httpAddr:      or("FLYTRAP_HTTP_ADDR", ":80"),
		httpsAddr:     or("FLYTRAP_HTTPS_ADDR", ":443"),
		stateDir:      or("STATE_DIRECTORY", "/var/lib/flytrap"),
		dbSSLMode:     or("FLYTRAP_DB_SSLMODE", "require"),
		publishEvery:  30 * time.Second,
		shutdownGrace: 15 * time.Second,
		minFreeBytes:  minFreeMB << 20,
		memoryLimitMB: int64(memMB),
	}, nil
}

// secretMaxAge is how long a master password read from Secrets Manager is
// used for new connections before it is read again.
const secretMaxAge = time.Minute

// opened is what openStore gives run: the database, the instance's
// configuration and the AWS clients built for it.
type opened struct {
	db  *store.DB
	rc  awsx.RuntimeConfig
	cfg aws.Config
	s3  *s3.Client
	sm  awsx.SecretsCalls
}

// openStore reads the instance's configuration and opens the database as
// its owner, which migrates the schema, and makes sure the processor's
// login exists with its grants.
func openStore(ctx context.Context, opts options) (opened, error) {
	inst, err := awsx.ReadInstance(ctx, imds.New(imds.Options{}))
	if err != nil {
		return opened{}, err
	}
	cfg, err := awsbase.AWSConfig(inst.Region, os.Getenv)
	if err != nil {
		return opened{}, err
	}
	o := opened{cfg: cfg, s3: awsbase.NewS3Client(cfg), sm: awsx.NewSecretsCalls(awsx.NewSecretsManagerClient(cfg))}
	if o.rc, err = awsx.LoadRuntimeConfig(ctx, o.s3, inst.Bucket, inst.ConfigKey); err != nil {
		return opened{}, err
	}
	rc := o.rc
	cred, err := awsx.GetDBCredentials(ctx, o.sm, rc.DBMasterSecretARN)
	if err != nil {
		return opened{}, err
	}
	o.db, err = store.OpenPostgres(ctx, masterDSN(rc, cred.Username, opts.dbSSLMode), awsx.SecretPassword(o.sm, rc.DBMasterSecretARN, secretMaxAge))
	if err != nil {
		return opened{}, fmt.Errorf("database %s:%d/%s: %w", rc.DBHost, rc.DBPort, rc.DBName, err)
	}
	if err := o.db.EnsureProcessorRole(ctx, rc.DBProcessorUser); err != nil {
		o.db.Close()
		return opened{}, err
	}
	return o, nil
}

// migrate brings the schema to this binary's version and exits: the
// one-shot migration `flytrap deploy` runs before the functions move to a
// version that needs the new schema.
func migrate(ctx context.Context, opts options, out io.Writer) error {
	o, err := openStore(ctx, opts)
	if err != nil {
		return err
	}
	db, rc := o.db, o.rc
	defer db.Close()
	var v int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return err
	}
	fmt.Fprintf(out, "database %s of %q migrated: store schema version %d\n", rc.DBName, rc.Name, v)
	return nil
}

// run starts the dashboard and serves until ctx ends.
func run(ctx context.Context, opts options, log *slog.Logger) error {
	// systemd creates it; started any other way, /readyz's disk check
	// would fail on a state directory that autocert has not created yet.
	if err := os.MkdirAll(opts.stateDir, 0o700); err != nil {
		return fmt.Errorf("state directory %s: %w (set STATE_DIRECTORY to a writable directory)", opts.stateDir, err)
	}
	o, err := openStore(ctx, opts)
	if err != nil {
		return err
	}
	db, rc, s3c := o.db, o.rc, o.s3
	defer db.Close()
	log.Info("configuration loaded", "deployment", rc.Name, "region", rc.Region, "domain", rc.Domain, "bucket", rc.Bucket)
	salt, err := db.EnsureSetting(ctx, "ip_hash_salt", randomHex(32))
	if err != nil {
		return err
	}
	if err := firstStart(ctx, db, s3c, rc, log); err != nil {
		return err
	}

	pub := &publisher{db: db, s3: s3c, bucket: rc.Bucket, key: rc.KeySetKey, salt: salt, log: log, nudged: make(chan struct{}, 1)}
	pub.publishIfChanged(ctx) // at once, so ingest works as soon as possible
	var wg sync.WaitGroup
	defer wg.Wait()
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	wg.Add(1)
	go func() {
		defer wg.Done()
		pub.loop(bg, opts.publishEvery)
	}()

	// The instance role may write below the source-map prefix; the
	// processor only reads it.
	blobs := artifact.S3{Client: s3c, Bucket: rc.Bucket, Prefix: cmp.Or(rc.SourceMapsPrefix, "sourcemaps/")}
	alerts, extra := alertsSetup(ctx, o.sm, awsx.NewSNSTopics(awsx.NewSNSCalls(awsx.NewSNSClient(o.cfg))), rc, db, os.Getenv, opts.allowPrivate, log)
	a := newApp(db, pub, blobs, rc, opts, alerts, extra, log)
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The live listener in it feeds messages the processor Lambda
		// publishes through NOTIFY to this instance's streams.
		a.Run(bg)
	}()
	return serve(ctx, opts, rc, a, nudgeAfterWrites(a.Handler(), pub.nudge), log)
}

// appConfig points DSNs and snippets at API Gateway, where SDKs send
// events. With a domain, or behind CloudFront, the dashboard is HTTPS to
// its users: cookies are Secure, and behind CloudFront the client address
// is the one CloudFront appends to X-Forwarded-For (the instance answers
// nobody else). With plain_http the dashboard's own URL is the one each
// request came to (the Elastic IP), cookies cannot be Secure, and every
// page says that it is served over plain HTTP to the internet. Retention
// is the deployment's (flytrap.yaml, through config.json); /readyz checks
// the state directory, where certificates are cached and renewed. The
// live-stream limits and the source map upload rate are the deployment's
// too.
func appConfig(rc awsx.RuntimeConfig, opts options, log *slog.Logger) app.Config {
	c := app.Config{
		IngestURL: rc.IngestURL,
		// The ingest function's limit, from the same variable as its
		// RATE_LIMIT; 0 (a config.json from before) says it is unknown.
		ServerRateLimit: rc.IngestRateLimit,
		// 0 (a config.json from before) is live's default.
		LiveStreams: live.Limits{Total: rc.MaxLiveStreams, PerUser: rc.MaxLiveStreamsPerUser},
		UploadRate:  int64(rc.MinUploadRate),
		// 0 (a config.json from before) is connlimit's default; behind
		// CloudFront, which is every connection, nothing is counted.
		MaxConnsPerClient: rc.MaxConnsPerClient,
		Retention: app.Retention{
			MaxAge:   time.Duration(rc.RetentionDays) * 24 * time.Hour,
			PerIssue: rc.RetentionPerIssue,
			Every:    opts.retentionEvery,
		},
		SessionPruneEvery: opts.sessionPruneEvery,
		DataDir:           opts.stateDir,
		MinFreeBytes:      opts.minFreeBytes,
		FreeSpace:         opts.freeSpace,
		Log:               log,
	}
	switch {
	case rc.Domain != "":
		c.PublicURL = "https://" + rc.Domain
		c.SecureCookies = true
	case behindCloudFront(rc):
		c.PublicURL = rc.PublicURL
		c.SecureCookies = true
		c.TrustForwardedFor = true
	default:
		c.PlainHTTP = true
	}
	return c
}

// behindCloudFront says whether config.json puts the dashboard behind
// CloudFront.
func behindCloudFront(rc awsx.RuntimeConfig) bool {
	return rc.Domain == "" && rc.PublicURL != ""
}

// OriginSecretHeader carries the per-deployment secret CloudFront adds to
// every request it forwards to the dashboard (terraform/cloudfront.tf).
const OriginSecretHeader = "X-Flytrap-Origin-Secret"

// fromCloudFrontOnly answers 403 to a request that lacks the origin
// secret: CloudFront's addresses, which the security group admits, are
// shared by every distribution, so the address alone does not prove the
// request came through this deployment's. The header is removed before
// the handler, so it never reaches logs or event payloads.
func fromCloudFrontOnly(secret, publicURL string, h http.Handler) http.Handler {
	want := []byte(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get(OriginSecretHeader))
		r.Header.Del(OriginSecretHeader)
		if len(want) == 0 || subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "This Flytrap dashboard answers at %s only.\n", publicURL)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// firstStart creates the first admin, a default project and its ingest key
// on an empty database. The generated password reaches S3 before the user
// exists, so no start can leave an admin nobody can log in as. Later starts
// do nothing: users are managed in the dashboard from then on.
func firstStart(ctx context.Context, db *store.DB, s3c awsbase.S3Putter, rc awsx.RuntimeConfig, log *slog.Logger) error {
	n, err := db.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	password, err := auth.RandomPassword(20)
	if err != nil {
		return err
	}
	if err := awsx.PutInitialAdmin(ctx, s3c, rc.Bucket, awsx.InitialAdmin{Email: rc.AdminEmail, Password: password}); err != nil {
		return err
	}
	b, err := bootstrap.Ensure(ctx, db, bootstrap.Input{AdminEmail: rc.AdminEmail, AdminPassword: password})
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	log.Info("first start: admin user, default project and ingest key created; `flytrap deploy` shows the password once",
		"admin", b.AdminEmail, "project_id", b.Project.ID, "password_object", "s3://"+rc.Bucket+"/"+awsx.InitialAdminKey)
	return nil
}

// masterDSN is the keyword/value connection string of the master user.
func masterDSN(rc awsx.RuntimeConfig, user, sslmode string) string {
	q := func(v string) string {
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	}
	return strings.Join([]string{
		"host=" + q(rc.DBHost), "port=" + strconv.Itoa(rc.DBPort), "dbname=" + q(rc.DBName), "user=" + q(user),
		"sslmode=" + q(sslmode), "connect_timeout=10", "application_name=flytrap-dashboard",
	}, " ")
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// serve runs the HTTP servers until ctx ends, then shuts them down.
func serve(ctx context.Context, opts options, rc awsx.RuntimeConfig, a *app.App, h http.Handler, log *slog.Logger) error {
	newServer := a.HTTPServer
	httpLn, err := net.Listen("tcp", opts.httpAddr)
	if err != nil {
		return err
	}
	var (
		servers   []*http.Server
		listeners []net.Listener
		httpsAddr net.Addr
	)
	switch {
	case behindCloudFront(rc):
		// Viewers reach CloudFront over HTTPS only (it redirects HTTP),
		// so HSTS holds for the distribution's host.
		servers = append(servers, newServer(fromCloudFrontOnly(rc.OriginSecret, rc.PublicURL, ops.HSTS(h))))
		listeners = append(listeners, httpLn)
		log.Info("serving HTTP to CloudFront", "addr", httpLn.Addr().String(), "public_url", rc.PublicURL)
	case rc.Domain == "":
		servers = append(servers, newServer(h))
		listeners = append(listeners, httpLn)
		log.Info("serving plain HTTP (plain_http: no domain, no CloudFront)", "addr", httpLn.Addr().String())
	default:
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(rc.Domain),
			Cache:      autocert.DirCache(filepath.Join(opts.stateDir, "autocert")),
			Email:      rc.AdminEmail,
		}
		tlsLn, err := net.Listen("tcp", opts.httpsAddr)
		if err != nil {
			httpLn.Close()
			return err
		}
		httpsAddr = tlsLn.Addr()
		secure := newServer(ops.HSTS(h))
		secure.TLSConfig = m.TLSConfig()
		// :80 answers ACME HTTP-01 challenges and redirects the rest.
		servers = append(servers, newServer(ops.NoSniff(m.HTTPHandler(nil))), secure)
		listeners = append(listeners, httpLn, tlsLn)
		log.Info("serving HTTPS with Let's Encrypt certificates", "domain", rc.Domain, "https", tlsLn.Addr().String(), "http", httpLn.Addr().String())
	}
	if opts.ready != nil {
		opts.ready(httpLn.Addr(), httpsAddr)
	}

	errs := make(chan error, len(servers))
	for i, srv := range servers {
		// Each listener counts its own connections: a client may hold
		// the limit on :80 and on :443.
		ln := a.Listener(srv, listeners[i])
		go func() {
			var err error
			if srv.TLSConfig != nil {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			errs <- err
		}()
	}
	var serveErr error
	select {
	case serveErr = <-errs:
	case <-ctx.Done():
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), opts.shutdownGrace)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(sctx); err != nil && serveErr == nil {
			serveErr = err
		}
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
