// Package dev implements `flytrap dev`: the whole pipeline on one machine
// with an embedded database.
package dev

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/app"
	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/bodydeadline"
	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/connlimit"
	"github.com/getflytrap/flytrap/internal/dashboard"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/queue"
	"github.com/getflytrap/flytrap/internal/server"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/templates"
)

// DefaultAddr is the address `flytrap dev` listens on without --addr; the
// docs' examples use its port.
const DefaultAddr = "127.0.0.1:8080"

// Options are the inputs of `flytrap dev`.
type Options struct {
	IO     *cmdutil.IOStreams
	Getenv func(string) string

	Addr string
	// PublicURL is the scheme and host other machines reach the server at;
	// every URL handed out (banner, dev.json, dashboard, alerts) uses it.
	// Empty: http:// and the listen address.
	PublicURL         string
	DataDir           string
	DatabaseURL       string
	Workers           int
	MaxEventBytes     int64
	MaxBodyBytes      int64
	MaxEnvelopeBytes  int64
	MaxInflightBytes  int64
	MaxProjectBytes   int64
	MaxDecodes        int
	MaxClientDecodes  int
	BodyTimeout       time.Duration
	MinBodyRate       int64
	MinUploadRate     int64
	RatePerMinute     int
	MaxBacklog        int64
	PaceBacklog       int64
	DropIPs           bool
	RetentionDays     int
	RetentionPerIssue int
	MinFreeMB         uint64
	MemoryLimitMB     int64
	BusyGCPercent     int
	PprofAddr         string
	Render            dashboard.RenderLimits
	LiveStreams       live.Limits
	MaxConnsPerClient int
	Verbose           bool
	// SMTPURL and SMTPFrom send alert email; without a URL it is logged.
	SMTPURL  string
	SMTPFrom string
	// AlertsAllowPrivate lets Slack and webhook alerts reach loopback and
	// private addresses (notify.EnvAllowPrivate).
	AlertsAllowPrivate bool
	AlertsEvery        time.Duration
}

// NewCmd returns the dev command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO, Getenv: f.Getenv}
	env := f.Env
	allowPrivate, allowPrivateErr := notify.ParseAllowPrivate(env(notify.EnvAllowPrivate, ""))
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run Flytrap locally: ingest, queue, processor, store and API in one process",
		Long: `Run the whole Flytrap pipeline on this machine with an embedded SQLite
database (or PostgreSQL with --database-url).

On first start it creates an admin user (FLYTRAP_ADMIN_EMAIL and
FLYTRAP_ADMIN_PASSWORD, else a generated password printed once), a default
project with an ingest key, and an admin API token, and writes them to
<data-dir>/dev.json. Later starts reuse the data, and the project and key
dev.json names.

For other machines, listen beyond loopback and name this machine as they
reach it, so that the DSN, the dashboard's snippets and alert links work
there too:

  flytrap dev --addr 0.0.0.0:8080 --public-url http://devbox.local:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if allowPrivateErr != nil {
				return cmdutil.UsageError(allowPrivateErr.Error(), "or pass --alerts-allow-private")
			}
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Addr, "addr", env("FLYTRAP_ADDR", DefaultAddr), "address to listen on, host:port; the port is a number (0 picks a free port) or a service name such as http [$FLYTRAP_ADDR]")
	fl.StringVar(&opts.PublicURL, "public-url", env("FLYTRAP_PUBLIC_URL", ""), "URL browsers and SDKs reach this server at, e.g. http://devbox.local:8080, for the DSN, dashboard and alert links; https:// (a TLS proxy in front) also makes cookies Secure and sends HSTS (default: http:// and --addr, 127.0.0.1 for 0.0.0.0 or [::]) [$FLYTRAP_PUBLIC_URL]")
	fl.StringVar(&opts.DataDir, "data-dir", env("FLYTRAP_DATA_DIR", ".flytrap"), "directory for the database and dev.json [$FLYTRAP_DATA_DIR]")
	cmdutil.MarkPaths(fl, "data-dir")
	fl.StringVar(&opts.DatabaseURL, "database-url", env("FLYTRAP_DATABASE_URL", ""), "postgres://... to use PostgreSQL instead of SQLite in the data dir [$FLYTRAP_DATABASE_URL]")
	fl.IntVar(&opts.Workers, "workers", 2, "processor goroutines; on SQLite all but one wait until more than 200 events are queued")
	fl.Int64Var(&opts.MaxEventBytes, "max-event-size", 1<<20, "largest event accepted, in bytes after decompression")
	fl.Int64Var(&opts.MaxBodyBytes, "max-body-size", 20<<20, "largest store or Flytrap request body accepted, in bytes as sent; also the most an envelope's events may take together")
	fl.Int64Var(&opts.MaxEnvelopeBytes, "max-envelope-size", ingest.DefaultMaxEnvelopeBytes, "largest envelope accepted, in bytes as sent and decompressed; attachments and other items Flytrap does not store are skipped as they arrive, not held in memory")
	fl.Int64Var(&opts.MaxInflightBytes, "max-inflight-bytes", ingest.DefaultMaxInflightBytes, "request body bytes all ingest requests may hold in memory at once before ingest answers 503 (at least --max-body-size)")
	fl.Int64Var(&opts.MaxProjectBytes, "max-inflight-bytes-per-project", 0, "of --max-inflight-bytes, what one project's requests may hold before ingest answers that project 503 (0: a quarter, at least --max-body-size)")
	fl.IntVar(&opts.MaxDecodes, "max-decodes", ingest.DefaultMaxConcurrentDecodes, "compressed ingest bodies decoded at once before ingest answers 503")
	fl.IntVar(&opts.MaxClientDecodes, "max-decodes-per-client", 0, "of --max-decodes, the compressed bodies of one client address (IPv6: /64) decoded at once; its others wait their turn (0: a quarter, at least 1)")
	fl.DurationVar(&opts.BodyTimeout, "body-timeout", ingest.DefaultBodyTimeout, "time an ingest request body may take, plus 1s per --min-body-rate bytes received (408 after)")
	fl.Int64Var(&opts.MinBodyRate, "min-body-rate", ingest.DefaultMinBodyRate, "slowest ingest upload, in bytes per second, that --body-timeout allows for")
	fl.Int64Var(&opts.MinUploadRate, "min-upload-rate", bodydeadline.DefaultUploadRate, "slowest source map upload under /api/0/ (sentry-cli, with an API token), in bytes per second of each request, after 10s (408 below it)")
	fl.IntVar(&opts.RatePerMinute, "rate-limit", 6000, "events per minute of each project without a limit of its own (projects update --rate-limit) before ingest answers 429 (-1: unlimited)")
	fl.Int64Var(&opts.MaxBacklog, "max-backlog", ingest.DefaultMaxBacklog, "events waiting to be processed before ingest answers 429 with Retry-After, before reading the body (0: no limit)")
	fl.Int64Var(&opts.PaceBacklog, "pace-backlog", ingest.DefaultPaceBacklog, "events waiting to be processed past which ingest holds a request, before reading its body, until processing catches up (at most 1s), so senders slow to its pace (0: never hold)")
	fl.BoolVar(&opts.DropIPs, "drop-ips", false, "drop client IP addresses instead of storing a salted hash")
	fl.IntVar(&opts.RetentionDays, "retention-days", 90, "delete events older than this many days (0: keep)")
	fl.IntVar(&opts.RetentionPerIssue, "retention-per-issue", 10000, "keep at most this many events per issue, applied by the hourly retention job (0: all)")
	fl.Uint64Var(&opts.MinFreeMB, "min-free-disk", ops.DefaultMinFreeBytes>>20, "MiB the data dir's disk must have free for /readyz to report ready")
	fl.Int64Var(&opts.MemoryLimitMB, "memory-limit", DefaultMemoryLimitMB, "soft limit in MiB on the server's Go memory; the garbage collector works harder near it (0: none; GOMEMLIMIT wins)")
	fl.IntVar(&opts.BusyGCPercent, "busy-gogc", DefaultBusyGCPercent, "the most GOGC the collector runs at while 100 or more events a second arrive, as far as a 64 MiB heap goal allows, held by a lower memory limit meanwhile: memory for CPU; back to the default after 10s of quiet (0: leave it; GOGC in the environment wins)")
	fl.IntVar(&opts.Render.MaxPage, "render-max-page", dashboard.DefaultMaxPage, "bytes of HTML the issue page shows of one event, in all")
	fl.IntVar(&opts.Render.MaxJSON, "render-max-json", dashboard.DefaultMaxJSON, "bytes of HTML the issue page shows of one JSON block (contexts, extra, ...)")
	fl.IntVar(&opts.Render.MaxString, "render-max-string", dashboard.DefaultMaxString, "bytes of HTML the issue page shows of one string")
	fl.IntVar(&opts.Render.MaxItems, "render-max-items", dashboard.DefaultMaxItems, "entries the issue page shows of one list or JSON object or array")
	fl.IntVar(&opts.Render.MaxDepth, "render-max-depth", dashboard.DefaultMaxDepth, "nesting the issue page shows of client JSON")
	fl.IntVar(&opts.LiveStreams.Total, "max-live-streams", live.DefaultMaxStreams, "live-update streams (dashboard tabs, flytrap tail) open at once before more are refused with 503")
	fl.IntVar(&opts.LiveStreams.PerUser, "max-live-streams-per-user", live.DefaultMaxStreamsPerUser, "of --max-live-streams, those one user may hold before more of theirs are refused with 429")
	fl.IntVar(&opts.MaxConnsPerClient, "max-conns-per-client", connlimit.DefaultPerClient, "connections one client address (an IPv6 /64) may hold open at once; over it the address's longest-idle connection is closed to make room, or the new one, unanswered, when none is idle")
	fl.StringVar(&opts.PprofAddr, "pprof-addr", "", "serve Go's profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (default: off)")
	fl.BoolVarP(&opts.Verbose, "verbose", "v", false, "log every stored event")
	// Not defaulted from the environment here: --help would print the
	// password. Run reads FLYTRAP_SMTP_URL when the flag is empty.
	fl.StringVar(&opts.SMTPURL, "smtp-url", "", "send alert email and set-password links (invitations, password resets) through smtp://user:pass@host:port (STARTTLS when offered) or smtps://... (TLS); empty: alert email is only logged [$FLYTRAP_SMTP_URL]")
	fl.StringVar(&opts.SMTPFrom, "smtp-from", env("FLYTRAP_SMTP_FROM", ""), "sender address of alert email (default flytrap@ the SMTP host) [$FLYTRAP_SMTP_FROM]")
	for flag, variable := range map[string]string{
		"addr": "FLYTRAP_ADDR", "public-url": "FLYTRAP_PUBLIC_URL", "database-url": "FLYTRAP_DATABASE_URL",
		"smtp-url": "FLYTRAP_SMTP_URL", "smtp-from": "FLYTRAP_SMTP_FROM",
	} {
		cmdutil.EnvDefault(fl, flag, variable)
	}
	// The first start's admin user, given any flags.
	cmdutil.ReadsEnv(cmd, "FLYTRAP_ADMIN_EMAIL", "FLYTRAP_ADMIN_PASSWORD")
	fl.BoolVar(&opts.AlertsAllowPrivate, "alerts-allow-private", allowPrivate, "let Slack and webhook alerts reach loopback and private addresses, such as a receiver on this machine (default: public addresses only) [$"+notify.EnvAllowPrivate+"=1, true or yes]")
	fl.DurationVar(&opts.AlertsEvery, "alerts-every", notify.DefaultEvery, "how often alerts that are due are delivered (and digests written)")
	return cmd
}

// DefaultMemoryLimitMB is the default --memory-limit: enough for the
// ingest budget (64 MiB), two Argon2 hashes (128 MiB) and the rest of a
// small server, so that floods leave RSS under 300 MB (docs/limits.md).
const DefaultMemoryLimitMB = 200

// DefaultBusyGCPercent is the default --busy-gogc: under a 2 KB and a
// 50 KB load it cut the server's CPU per event by 10 to 20% against GOGC
// 100 (docs/benchmarks.md, "The collector under load").
const DefaultBusyGCPercent = 400

// Info is what dev.json holds: everything a script needs to send events and
// call the API.
type Info struct {
	DashboardURL string `json:"dashboard_url"`
	ProjectID    int64  `json:"project_id"`
	DSN          string `json:"dsn"`
	APIKey       string `json:"api_key"`
	APIToken     string `json:"api_token"`
	AdminEmail   string `json:"admin_email"`
}

// Run starts the local server and blocks until ctx is cancelled.
func Run(ctx context.Context, opts *Options) error {
	if err := validate(opts); err != nil {
		return err
	}
	level := slog.LevelInfo
	if opts.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(opts.IO.ErrOut, &slog.HandlerOptions{Level: level}))
	ops.SetMemoryLimit(opts.MemoryLimitMB, opts.Getenv)

	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return &cmdutil.Error{Msg: "cannot create the data directory", Hint: "pass a writable directory with --data-dir", Err: err}
	}
	// First of all, so that a second dev on this directory touches nothing.
	release, err := lockDataDir(opts.DataDir, func(err error) {
		log.Warn("cannot lock the data directory; another flytrap dev on it would not be stopped", "err", err)
	})
	if err != nil {
		return err
	}
	defer release()

	if opts.PprofAddr != "" {
		// Before the database opens, so start-up can be profiled too.
		pln, err := net.Listen("tcp", opts.PprofAddr)
		if err != nil {
			return &cmdutil.Error{Msg: "cannot listen on --pprof-addr " + opts.PprofAddr, Hint: "pick a free port, e.g. --pprof-addr 127.0.0.1:6061", Err: err}
		}
		go servePprof(ctx, pln)
		log.Info("serving Go profiles", "url", "http://"+pln.Addr().String()+"/debug/pprof/")
	}

	// Before the database opens, so that a taken port leaves no freshly
	// created flytrap.db behind. Connections that arrive while start-up
	// goes on wait in the listen backlog.
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		hint := "check that the host of --addr is one of this machine's addresses, or use 127.0.0.1 (0.0.0.0 for other machines)"
		if errors.Is(err, syscall.EADDRINUSE) {
			hint = "is another flytrap dev running? pick a free port with --addr 127.0.0.1:8081"
		}
		return &cmdutil.Error{Msg: "cannot listen on " + opts.Addr, Hint: hint, Err: err}
	}
	// srv.Run closes ln when it stops; this closes it on the way out before.
	defer ln.Close()

	dsn := opts.DatabaseURL
	if dsn == "" {
		dsn = filepath.Join(opts.DataDir, "flytrap.db")
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		return openError(dsn, err, ops.FreeBytes)
	}
	defer db.Close()
	// A database from a version without incremental auto-vacuum is
	// converted, and its free space given back, once most of it is free
	// (docs/limits.md, "Disk space (SQLite)").
	starting := func(size, free int64) {
		log.Info("compacting the database: most of it is free space, which this start gives back; it may take a while and needs free disk space of up to 2.5 times the data kept",
			"bytes", size, "free_bytes", free)
	}
	if before, after, ran, err := db.CompactAtStart(ctx, starting); err != nil {
		log.Warn("cannot compact the database; it keeps its free pages", "err", err)
	} else if ran {
		log.Info("compacted the database", "bytes_before", before, "bytes_after", after)
	}
	if err := queue.Migrate(ctx, db); err != nil {
		return &cmdutil.Error{Msg: "cannot create the local queue's tables in " + redact(dsn), Hint: "the database role needs CREATE on its schema; check --database-url", Err: err}
	}

	salt, err := db.EnsureSetting(ctx, "ip_hash_salt", randomHex(32))
	if err != nil {
		return err
	}
	infoPath := filepath.Join(opts.DataDir, "dev.json")
	prev := readInfo(infoPath)
	boot, err := bootstrap.Ensure(ctx, db, bootstrap.Input{
		AdminEmail:    firstNonEmpty(opts.Getenv("FLYTRAP_ADMIN_EMAIL"), prev.AdminEmail),
		AdminPassword: opts.Getenv("FLYTRAP_ADMIN_PASSWORD"),
		APIToken:      prev.APIToken,
		ProjectID:     prev.ProjectID,
		APIKey:        prev.APIKey,
	})
	if err != nil {
		return &cmdutil.Error{Msg: "cannot set up the admin user and default project", Err: err}
	}
	if boot.LostProjectID != 0 {
		log.Warn("the project dev.json named is gone; DSNs and keys handed out for it no longer work",
			"lost_project_id", boot.LostProjectID, "project_id", boot.Project.ID, "project", boot.Project.Name)
	}
	alerts, smtp, err := alertsConfig(opts, db, log)
	if err != nil {
		return err
	}
	// Set-password links go through the alerts' SMTP server; without one
	// they are only shown to the admin who issues them.
	var mailer service.LinkMailer
	if smtp != nil {
		mailer = notify.LinkMailer{SMTP: smtp}
	}
	alerts.AllowPrivate = opts.AlertsAllowPrivate

	// dev never serves TLS, so beyond loopback every page says that
	// passwords cross the network in clear.
	exposed := beyondLoopback(ln.Addr())
	if exposed {
		// /metrics and /readyz take no credentials here; on EC2 the
		// dashboard asks for an admin's token instead.
		log.Warn("listening beyond this machine: /metrics is served to anyone who reaches "+ln.Addr().String(), "hint", "use --addr 127.0.0.1:PORT unless other machines must reach it")
	}
	base, hint := baseURL(ln.Addr()), loopbackHint(ln.Addr())
	if opts.PublicURL != "" {
		base, hint = publicBase(opts.PublicURL), ""
	}
	info := Info{
		DashboardURL: base + "/",
		ProjectID:    boot.Project.ID,
		DSN:          dsnFor(base, boot.Key.PublicKey, boot.Project.ID),
		APIKey:       boot.Key.PublicKey,
		APIToken:     boot.APIToken,
		AdminEmail:   boot.AdminEmail,
	}
	if err := writeInfo(infoPath, info); err != nil {
		return writeInfoError(infoPath, err)
	}
	if err := printBanner(opts.IO, info, boot, adminLogin(info.AdminEmail, boot, opts.Getenv("FLYTRAP_ADMIN_PASSWORD") != ""), base, infoPath, hint); err != nil {
		return err
	}

	// The workers get connections of their own, one each and one for
	// claiming, so a flood of ingest requests cannot starve processing.
	pdb, err := db.Pool(opts.Workers + 1)
	if err != nil {
		return &cmdutil.Error{Msg: "cannot open the processing connections", Err: err}
	}
	defer pdb.Close()

	srv := server.New(db, server.Config{
		Ingest: ingest.Config{
			MaxEventBytes:              opts.MaxEventBytes,
			MaxBodyBytes:               opts.MaxBodyBytes,
			MaxEnvelopeBytes:           opts.MaxEnvelopeBytes,
			MaxInflightBytes:           opts.MaxInflightBytes,
			MaxInflightBytesPerProject: opts.MaxProjectBytes,
			MaxConcurrentDecodes:       opts.MaxDecodes,
			MaxDecodesPerClient:        opts.MaxClientDecodes,
			BodyTimeout:                opts.BodyTimeout,
			MinBodyRate:                opts.MinBodyRate,
			RatePerMinute:              opts.RatePerMinute,
			MaxBacklog:                 backlogLimit(opts.MaxBacklog),
			PaceBacklog:                backlogLimit(opts.PaceBacklog),
			IPSalt:                     []byte(salt),
			DropIPs:                    opts.DropIPs,
		},
		Workers:       opts.Workers,
		Processing:    pdb,
		BusyGCPercent: busyGC(opts),
		PublicURL:     base,
		// An https public URL means browsers reach dev through a TLS
		// proxy: cookies not marked Secure would also go to that host
		// over plain HTTP, where a network attacker who downgrades the
		// connection reads them, and HSTS stops the downgrade (the AWS
		// dashboard does the same under HTTPS).
		SecureCookies: strings.HasPrefix(base, "https://"),
		PlainHTTP:     exposed,
		Retention: app.Retention{
			MaxAge:   time.Duration(opts.RetentionDays) * 24 * time.Hour,
			PerIssue: opts.RetentionPerIssue,
		},
		DataDir:      opts.DataDir,
		MinFreeBytes: opts.MinFreeMB << 20,
		Render:       opts.Render,
		LiveStreams:  opts.LiveStreams,
		UploadRate:   opts.MinUploadRate,
		Artifacts:    artifact.Dir{Root: filepath.Join(opts.DataDir, "artifacts")},
		Alerts:       alerts,
		AlertsEvery:  opts.AlertsEvery,
		Mailer:       mailer,

		MaxConnsPerClient: opts.MaxConnsPerClient,
	}, log)
	runErr := srv.Run(ctx, ln)
	// Before the last word: closing is what leaves an SQLite database all
	// in flytrap.db, and it can fail.
	closeErr := closeDatabases(dsn, pdb, db)
	switch {
	case runErr != nil:
		return &cmdutil.Error{Msg: "server stopped", Err: errors.Join(runErr, closeErr)}
	case closeErr != nil:
		return closeErr
	}
	log.Info("stopped cleanly")
	return nil
}

// writeInfoError is the error of writing dev.json at path, with the
// full-disk hint the database's errors get when that is why.
func writeInfoError(path string, err error) error {
	e := &cmdutil.Error{Msg: "cannot write " + path, Err: err}
	if store.DiskFull(err) {
		dir := filepath.Dir(path)
		e.Hint = fmt.Sprintf("the disk is full: free disk space on %s (df -h %s), then start again", dir, cmdutil.ShellArg(dir))
	}
	return e
}

// closeDatabases closes the processing pool, then the database at dsn,
// whose close folds SQLite's write-ahead log into flytrap.db; a log left
// beside it is an error that says to keep it with the database.
func closeDatabases(dsn string, pdb, db *store.DB) error {
	err := errors.Join(pdb.Close(), db.Close())
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrWALKept) {
		return &cmdutil.Error{Msg: "cannot close the database " + redact(dsn), Err: err}
	}
	path := sqlitePath(dsn)
	name, dir := filepath.Base(path), filepath.Dir(path)
	msg := "the database's write-ahead log could not be folded into " + path
	then := "stop any other program that has it open (sqlite3?), then start and stop flytrap dev again to fold them in"
	if db.DiskFull(err) {
		msg += " (the disk is full)"
		then = fmt.Sprintf("free disk space on %s (df -h %s), then start and stop flytrap dev again to fold them in", dir, cmdutil.ShellArg(dir))
	}
	return &cmdutil.Error{
		Msg:  msg,
		Hint: fmt.Sprintf("%[1]s alone is not the whole database: keep %[1]s-wal and %[1]s-shm with it (copy all three together); %[2]s", name, then),
		Err:  err,
	}
}

// alertsConfig sends alert email through --smtp-url (or
// FLYTRAP_SMTP_URL), or logs it when neither is set; it returns the SMTP
// sender too, nil without one.
func alertsConfig(opts *Options, db *store.DB, log *slog.Logger) (notify.Config, *notify.SMTP, error) {
	raw := cmp.Or(opts.SMTPURL, opts.Getenv("FLYTRAP_SMTP_URL"))
	if raw == "" {
		log.Info("alert email is logged, not sent, and set-password links are not emailed: pass --smtp-url smtp://user:pass@host:port to send them")
		return notify.Config{}, nil, nil
	}
	from := cmp.Or(opts.SMTPFrom, defaultSender(raw))
	smtp, err := notify.NewSMTP(raw, from, notify.SMTPOptions{})
	if err != nil {
		return notify.Config{}, nil, cmdutil.UsageError("--smtp-url or --smtp-from: "+err.Error(), "smtp://user:pass@host:587 or smtps://user:pass@host:465, and --smtp-from alerts@example.com")
	}
	log.Info("alert email and set-password links go through SMTP", "server", redact(raw), "from", from)
	return notify.Config{Mailer: notify.SMTPMailer{SMTP: smtp, Recipients: db.ChannelRecipients}}, smtp, nil
}

// defaultSender is flytrap@ the SMTP server's host name. A server given
// by IP address (smtp://[::1]:2525) names no mail domain, and
// flytrap@::1 is no address at all, so it sends as flytrap@localhost.
func defaultSender(smtpURL string) string {
	host := "localhost"
	if u, err := url.Parse(smtpURL); err == nil && u.Hostname() != "" && net.ParseIP(u.Hostname()) == nil {
		host = u.Hostname()
	}
	return "flytrap@" + host
}

// backlogLimit maps --max-backlog or --pace-backlog, where 0 means none,
// to ingest.Config's MaxBacklog or PaceBacklog, where 0 means the default.
func backlogLimit(flag int64) int64 {
	if flag == 0 {
		return -1
	}
	return flag
}

// checkAddr checks that addr is a host (possibly empty: every address)
// and a port as net.Listen takes it: a number from 0 to 65535 or a service
// name such as http. The port is looked up as net.Listen looks it up, so
// that no address it would take is refused.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not a host and port", addr)
	}
	if _, err := net.DefaultResolver.LookupPort(context.Background(), "tcp", port); err != nil {
		return fmt.Errorf("%q has the port %q; a port is a number from 0 to 65535 or a service name such as http", addr, port)
	}
	return nil
}

func validate(o *Options) error {
	switch {
	case checkAddr(o.Addr) != nil:
		// Before the data directory is created or locked: a typo
		// leaves nothing behind.
		return cmdutil.UsageError("--addr "+checkAddr(o.Addr).Error(), "give a host and port: --addr 127.0.0.1:8080, 0.0.0.0:8080 for other machines, or port 0 for a free one")
	case o.Workers < 1:
		return cmdutil.UsageError("--workers must be at least 1", "")
	case o.MaxEventBytes < 1024:
		return cmdutil.UsageError("--max-event-size must be at least 1024 bytes", "")
	case o.MaxBodyBytes < o.MaxEventBytes/8:
		return cmdutil.UsageError("--max-body-size is too small for --max-event-size", "a compressed body must be able to hold one event")
	case o.MaxEnvelopeBytes < o.MaxBodyBytes:
		return cmdutil.UsageError("--max-envelope-size must be at least --max-body-size", "an envelope must be able to hold as much as its events may take")
	case o.MaxInflightBytes <= o.MaxBodyBytes:
		return cmdutil.UsageError("--max-inflight-bytes must be larger than --max-body-size", "the budget must hold at least one body of the largest size accepted")
	case o.MaxProjectBytes != 0 && (o.MaxProjectBytes <= o.MaxBodyBytes || o.MaxProjectBytes > o.MaxInflightBytes):
		return cmdutil.UsageError("--max-inflight-bytes-per-project must be larger than --max-body-size and at most --max-inflight-bytes", "a project must be able to send one body of the largest size accepted; 0 takes a quarter of --max-inflight-bytes")
	case o.MaxDecodes < 1:
		return cmdutil.UsageError("--max-decodes must be at least 1", "")
	case o.MaxClientDecodes < 0 || o.MaxClientDecodes > o.MaxDecodes:
		return cmdutil.UsageError("--max-decodes-per-client must be between 0 and --max-decodes", "0 takes a quarter of --max-decodes")
	case o.BodyTimeout < time.Second:
		return cmdutil.UsageError("--body-timeout must be at least 1s", "SDKs on slow links need a few seconds to send an event")
	case o.MaxBacklog < 0:
		return cmdutil.UsageError("--max-backlog cannot be negative", "use 0 for no limit")
	case o.PaceBacklog < 0:
		return cmdutil.UsageError("--pace-backlog cannot be negative", "use 0 never to hold requests")
	case o.MemoryLimitMB < 0:
		return cmdutil.UsageError("--memory-limit cannot be negative", "use 0 for no limit")
	case o.BusyGCPercent < 0:
		return cmdutil.UsageError("--busy-gogc cannot be negative", "use 0 to leave the collector at its default")
	case o.PprofAddr != "" && checkPprofAddr(o.PprofAddr) != nil:
		return cmdutil.UsageError("--pprof-addr must be a loopback address: "+checkPprofAddr(o.PprofAddr).Error(), "use 127.0.0.1:6060; profiles are not for other machines")
	case o.LiveStreams.Total < 1 || o.LiveStreams.PerUser < 1:
		return cmdutil.UsageError("--max-live-streams and --max-live-streams-per-user must be at least 1", "")
	case o.MaxConnsPerClient < 1:
		return cmdutil.UsageError("--max-conns-per-client must be at least 1", "a browser opens up to six connections, and one more per live dashboard tab")
	case o.MinBodyRate < 1024:
		return cmdutil.UsageError("--min-body-rate must be at least 1024 bytes per second", "")
	case o.MinUploadRate < 1:
		return cmdutil.UsageError("--min-upload-rate must be at least 1 byte per second", "a stalled upload is cut off after 10s whatever the rate")
	case o.Render.MaxPage < 1 || o.Render.MaxJSON < 1 || o.Render.MaxString < 1 || o.Render.MaxItems < 1 || o.Render.MaxDepth < 1:
		return cmdutil.UsageError("--render-max-* limits must be at least 1", "see docs/limits.md for what each bounds and its default")
	case o.RetentionDays < 0 || o.RetentionPerIssue < 0:
		return cmdutil.UsageError("retention settings cannot be negative", "use 0 to turn a rule off")
	case o.PublicURL != "" && checkPublicURL(o.PublicURL) != nil:
		return cmdutil.UsageError("--public-url "+checkPublicURL(o.PublicURL).Error(), "give the scheme, host and port other machines use, e.g. --public-url http://devbox.local:8080")
	case o.DatabaseURL != "" && !store.IsPostgresDSN(o.DatabaseURL):
		return cmdutil.UsageError("--database-url must start with postgres:// or postgresql://", "leave it empty to use SQLite in --data-dir")
	}
	return nil
}

// adminLogin is the banner's Login line: where the admin's password comes
// from. envPassword says FLYTRAP_ADMIN_PASSWORD is set, which only the
// start that creates the admin applies.
func adminLogin(email string, boot bootstrap.Result, envPassword bool) string {
	switch {
	case boot.AdminPassword != "":
		return email + " / " + boot.AdminPassword + "   (shown once: note it now)"
	case boot.Created:
		return email + " (password from FLYTRAP_ADMIN_PASSWORD)"
	case boot.CreatedElsewhere:
		return email + " (created at the same moment by another process on this database: password from its FLYTRAP_ADMIN_PASSWORD, or shown once in its banner)"
	case envPassword:
		return email + " (created before this start, by an earlier one or another process on this database: FLYTRAP_ADMIN_PASSWORD applies only when the admin is created)"
	}
	return email + " (password set on first start)"
}

// printBanner prints what a user needs to start; login is the Login line
// (adminLogin) and hint, when not empty, a note on the URLs, from
// loopbackHint.
func printBanner(io *cmdutil.IOStreams, info Info, boot bootstrap.Result, login, base, infoPath, hint string) error {
	tmpl, err := template.New("first-error.sh.tmpl").Funcs(templates.SnippetFuncs).ParseFS(templates.FS, "snippets/first-error.sh.tmpl")
	if err != nil {
		return err
	}
	var curl strings.Builder
	err = tmpl.Execute(&curl, map[string]any{
		"BaseURL":   base,
		"APIKey":    info.APIKey,
		"ProjectID": info.ProjectID,
	})
	if err != nil {
		return err
	}
	var notes strings.Builder
	if hint != "" {
		fmt.Fprintf(&notes, "\n  Note:       %s\n", hint)
	}
	if boot.LostProjectID != 0 {
		fmt.Fprintf(&notes, "\n  Note:       project %d, which %s named, no longer exists: the DSN and key\n"+
			"              handed out for it stopped working. The ones above are project %d's.\n",
			boot.LostProjectID, infoPath, info.ProjectID)
	}
	_, err = fmt.Fprintf(io.Out, `Flytrap is running.

  Dashboard:  %s
  Login:      %s
  Project:    %s (id %d)
  DSN:        %s
  x-api-key:  %s   (original Flytrap SDKs, project_id "%d")
  API token:  %s
  Saved to:   %s
%s
Send a first error:

%s

Then list its issues:

  curl -sS -H 'Authorization: Bearer %s' %s/api/v1/projects/%d/issues

or follow them from another terminal (docs/cli.md):

  flytrap login %s --token %s
  flytrap tail

`, info.DashboardURL, login, cmdutil.Clean(boot.Project.Name), info.ProjectID, info.DSN, info.APIKey, info.ProjectID, info.APIToken, infoPath,
		notes.String(), strings.TrimSpace(curl.String()), info.APIToken, base, info.ProjectID, base, info.APIToken)
	return err
}

// beyondLoopback reports whether other machines can reach a listener on a:
// a TCP address that is not loopback, the unspecified 0.0.0.0 and :: too.
func beyondLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && !tcp.IP.IsLoopback()
}

// baseURL is the URL clients use without --public-url; an unspecified
// listen address is shown as loopback because that is where a local SDK
// can reach it.
func baseURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// loopbackHint is the banner's note when the server listens on every
// interface but hands out 127.0.0.1 URLs, which on another machine reach
// that machine: without it a teammate's SDK would quietly send nowhere.
func loopbackHint(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return ""
	}
	return "these URLs say 127.0.0.1, which is this machine only. For other machines, restart\n" +
		"              with --public-url http://<this machine's name or address>:" + strconv.Itoa(tcp.Port)
}

// checkPublicURL accepts an absolute http or https URL naming a host, with
// nothing after it but a slash: DSNs put the key in the user part and the
// project in the path, and the dashboard is served from the root.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("is not a URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return errors.New("must start with http:// or https://")
	case u.Hostname() == "":
		return errors.New("has no host")
	case u.User != nil:
		return errors.New("cannot hold a user name: a DSN puts the ingest key there")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("cannot have a query")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("cannot have a fragment")
	case strings.Trim(u.Path, "/") != "":
		return errors.New("cannot have a path: Flytrap is served from the root of its host")
	case strings.HasSuffix(u.Host, ":"):
		// Go's parser takes "host:" and SDKs refuse its DSN.
		return errors.New("has a colon but no port")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("has port %s; a port is 1 to 65535", p)
		}
	}
	return nil
}

// publicBase is a URL checkPublicURL accepted as the base the server's
// URLs are built on: scheme and host, without a trailing slash.
func publicBase(raw string) string {
	u, _ := url.Parse(raw)
	return u.Scheme + "://" + strings.ToLower(u.Host)
}

func dsnFor(base, key string, projectID int64) string {
	u, _ := url.Parse(base)
	u.User = url.User(key)
	u.Path = "/" + strconv.FormatInt(projectID, 10)
	return u.String()
}

func readInfo(path string) Info {
	var info Info
	if b, err := os.ReadFile(path); err == nil {
		// A damaged file only costs a fresh API token.
		_ = json.Unmarshal(b, &info)
	}
	return info
}

// writeInfo replaces dev.json atomically with mode 0600: it holds secrets.
func writeInfo(path string, info Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dev.json-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed: " + err.Error()))
	}
	return hex.EncodeToString(b)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// busyGC is the server's BusyGCPercent: --busy-gogc unless GOGC is set.
func busyGC(opts *Options) int {
	if opts.Getenv("GOGC") != "" {
		return 0
	}
	return opts.BusyGCPercent
}
