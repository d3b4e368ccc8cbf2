// Package bench drives a running Flytrap server with realistic Sentry
// envelopes and measures it: accepted events a second against a bare
// net/http server on the same machine in the same run, latency, refusals,
// how long the stored count takes to catch up, and the server's memory.
// It is the engine of `flytrap bench`; it never needs a terminal.
package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/connlimit"
)

// Config says what to measure and how hard to push.
type Config struct {
	// DSN is the project's Sentry DSN (http://KEY@HOST/PROJECT_ID): the
	// ingest key, the project and, unless URL is set, the server.
	DSN string
	// URL, when set, is the server's base URL, overriding the DSN's host
	// (a DSN that names a public host while the server is reached locally).
	// The DSN's key and Token are sent to it, so unless OtherServer is set
	// it must name the DSN's own server: its scheme, host and port.
	URL string
	// OtherServer lets URL name a server other than the DSN's. Set it only
	// when the DSN and Token were both given for that server, never when
	// either came from a file or the environment meant for another one.
	OtherServer bool
	// Token is an API token: it counts stored events through the REST
	// API and reads /metrics where that needs an admin (the EC2 dashboard).
	Token string
	// Duration is how long each phase sends.
	Duration time.Duration
	// Connections is how many requests are in flight at once.
	Connections int
	// Size is the events' size class.
	Size Size
	// Distinct is how many distinct errors (issues) the events spread over.
	Distinct int
	// Rate caps requests a second in all; 0 sends as fast as the server answers.
	Rate float64
	// Baseline runs the same load against a bare net/http server first.
	Baseline bool
	// DrainTimeout bounds the wait for the stored count to catch up.
	DrainTimeout time.Duration
	// Probe reads the project's issue list through the REST API, as a
	// user of the dashboard waits for a page, every ProbeEvery, one read
	// at a time on a connection of its own: for ProbeIdle before the load
	// (DefaultProbeIdle when 0), then while the load sends to the server.
	// It needs Token; without one it is left out with a note.
	Probe      bool
	ProbeEvery time.Duration
	ProbeIdle  time.Duration
	// Progress, if set, is called every ProgressEvery and at the end of
	// each phase, from one goroutine at a time.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Phases of a run, as Progress reports them.
const (
	PhaseBaseline = "baseline"
	// PhaseIdle is the page probe's reads before the load; Requests and
	// Accepted count them and their 2xx answers.
	PhaseIdle  = "idle"
	PhaseLoad  = "load"
	PhaseDrain = "drain"
)

// Progress is a run's state while it goes.
type Progress struct {
	Phase    string
	Elapsed  time.Duration
	Duration time.Duration // of the phase; DrainTimeout while draining
	// Load phases.
	Requests, Accepted, TooMany, Unavailable, Errors int64
	// The drain phase: stored so far of Want.
	Stored, Want int64
	// Done is set on a phase's last report.
	Done bool
}

// Report is a run's result.
type Report struct {
	URL         string  `json:"url"`
	Size        Size    `json:"size"`
	EventBytes  int     `json:"event_bytes"`
	BodyBytes   int     `json:"body_bytes"`
	Connections int     `json:"connections"`
	Seconds     float64 `json:"duration_seconds"`
	Distinct    int     `json:"distinct"`
	Rate        float64 `json:"rate"`
	// Baseline is the bare net/http server's phase, without --no-baseline.
	Baseline *LoadResult `json:"baseline,omitempty"`
	Server   LoadResult  `json:"server"`
	// ShareOfBaseline is the server's accepted/s over the baseline's.
	ShareOfBaseline float64    `json:"share_of_baseline,omitempty"`
	Processed       *Processed `json:"processed,omitempty"`
	RSS             *Memory    `json:"rss,omitempty"`
	CPU             *CPU       `json:"cpu,omitempty"`
	// Probe is the page probe's reads, idle and under the load, when
	// Config.Probe was set and there was a token.
	Probe *Probe `json:"probe,omitempty"`
	// Notes say which figures could not be taken, and why.
	Notes []string `json:"notes,omitempty"`
}

// Processed is how the stored count caught up with the accepted events.
type Processed struct {
	// Source is SourceREST or SourceMetrics.
	Source string `json:"source"`
	// Stored is how many of the run's events the server stored.
	Stored int64 `json:"stored"`
	// Complete is whether Stored reached the accepted count in time.
	Complete bool `json:"complete"`
	// DrainSeconds is from the end of the load until Stored reached the
	// accepted count, or the timeout.
	DrainSeconds float64 `json:"drain_seconds"`
	// PerSec is Stored over the load's time plus DrainSeconds: the rate
	// events went from the client into the store, end to end.
	PerSec float64 `json:"per_sec"`
}

// Memory is the server's resident set, from its /metrics.
type Memory struct {
	BeforeBytes int64 `json:"before_bytes"`
	PeakBytes   int64 `json:"peak_bytes"` // the largest sample during the load
	AfterBytes  int64 `json:"after_bytes"`
}

// CPU is the CPU time the server used from just before the load until
// its events were stored (or the drain timed out), from its /metrics. On
// a machine shared with other work it is steadier than the rates, which
// depend on the CPU the server gets; it includes whatever else the server
// did meanwhile.
type CPU struct {
	Seconds float64 `json:"seconds"`
	// PerStoredEventMS is Seconds in milliseconds over the events stored,
	// when some were counted.
	PerStoredEventMS float64 `json:"ms_per_stored_event,omitempty"`
}

// dsn is what bench needs from a DSN.
type dsn struct {
	base    string
	key     string
	project int64
}

// SameServer reports whether two URLs name one server: scheme, host and
// port, the default port when none is given. An unparsable URL names none.
func SameServer(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	return errA == nil && errB == nil && ua.Host != "" && client.Origin(ua) == client.Origin(ub)
}

// stayOnServer is an http.Client's CheckRedirect that follows redirects only
// within the first request's server: Go's client would carry the DSN's key
// (X-Sentry-Auth) anywhere, and the API token to another port of the host.
func stayOnServer(req *http.Request, via []*http.Request) error {
	if o := client.Origin(req.URL); o != client.Origin(via[0].URL) {
		return fmt.Errorf("redirected to %s, another server than %s: not followed, so the key and token go nowhere else", o, client.Origin(via[0].URL))
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// parseDSN reads a Sentry DSN: scheme://KEY@HOST[:PORT][/PREFIX]/PROJECT_ID.
func parseDSN(s string) (dsn, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return dsn{}, fmt.Errorf("DSN %q is not a URL like http://KEY@127.0.0.1:8080/1 (flytrap dev prints it, and dev.json holds it)", s)
	}
	if u.User == nil || u.User.Username() == "" {
		return dsn{}, fmt.Errorf("DSN %q has no key before the @", s)
	}
	path := strings.TrimSuffix(u.Path, "/")
	i := strings.LastIndex(path, "/")
	project, err := strconv.ParseInt(path[i+1:], 10, 64)
	if i < 0 || err != nil || project < 1 {
		return dsn{}, fmt.Errorf("DSN %q does not end in a project ID", s)
	}
	return dsn{base: u.Scheme + "://" + u.Host + path[:i], key: u.User.Username(), project: project}, nil
}

// Validate checks cfg before any request is sent.
func (cfg *Config) Validate() error {
	if _, err := parseDSN(cfg.DSN); err != nil {
		return err
	}
	if cfg.URL != "" {
		u, err := url.Parse(cfg.URL)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("URL %q is not an http:// or https:// URL", cfg.URL)
		}
		// parseDSN has checked it.
		d, _ := url.Parse(cfg.DSN)
		if o := client.Origin(u); o != client.Origin(d) && !cfg.OtherServer {
			return &OtherServerError{URL: o, DSN: client.Origin(d)}
		}
	}
	switch {
	case cfg.Size.Bytes() == 0:
		return fmt.Errorf("size %q is not 2k or 50k", cfg.Size)
	case cfg.Duration <= 0:
		return errors.New("the duration must be positive")
	case cfg.Connections < 1:
		return errors.New("connections must be at least 1")
	case cfg.Distinct < 1:
		return errors.New("distinct errors must be at least 1")
	case cfg.Rate < 0:
		return errors.New("the rate cannot be negative (0: as fast as possible)")
	case cfg.DrainTimeout <= 0:
		return errors.New("the drain timeout must be positive")
	case cfg.Probe && cfg.ProbeEvery <= 0:
		return errors.New("the probe interval must be positive (--no-probe leaves the probe out)")
	case cfg.ProbeIdle < 0:
		return errors.New("the probe's idle time cannot be negative")
	}
	return nil
}

// OtherServerError is Validate's refusal of a URL that names a server other
// than the DSN's without Config.OtherServer.
type OtherServerError struct {
	URL, DSN string // their origins
}

func (e *OtherServerError) Error() string {
	return fmt.Sprintf("the URL %s is not the DSN's server %s: the DSN's key and the API token go only to the server they belong to", e.URL, e.DSN)
}

// Run measures the server cfg names; it sends load there and, with
// cfg.Baseline, to a server of its own on 127.0.0.1, nowhere else.
// Figures it cannot take (memory without /metrics, the stored count
// without a token where /metrics lacks it, the page probe without a token)
// are left out with a note; only a run that could send nothing fails.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, _ := parseDSN(cfg.DSN)
	if cfg.URL != "" {
		d.base = strings.TrimSuffix(cfg.URL, "/")
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 250 * time.Millisecond
	}
	run := randomRun()
	p, err := newPayloads(cfg.Size, cfg.Distinct, runEnvironment(run), time.Now(), 1)
	if err != nil {
		return nil, err
	}
	rep := &Report{
		URL: d.base, Size: cfg.Size, EventBytes: p.eventSize, BodyBytes: p.bodySize,
		Connections: cfg.Connections, Seconds: cfg.Duration.Seconds(), Distinct: cfg.Distinct, Rate: cfg.Rate,
	}
	var seq atomic.Uint64
	header := http.Header{
		"Content-Type":     {"application/x-sentry-envelope"},
		"Content-Encoding": {"gzip"},
		"User-Agent":       {"flytrap-bench/1"},
		"X-Sentry-Auth":    {"Sentry sentry_version=7, sentry_client=flytrap-bench/1, sentry_key=" + d.key},
	}
	phase := func(name, to string, sample func()) LoadResult {
		l := &load{url: to, header: header, conns: cfg.Connections, d: cfg.Duration, rate: cfg.Rate,
			payloads: p, run: run, seq: &seq, c: &counters{}}
		stop := cfg.watch(name, cfg.Duration, l.c, sample)
		r := l.do(ctx)
		stop()
		return r
	}

	if cfg.Baseline {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("start the baseline server: %w", err)
		}
		srv := baselineServer()
		go srv.Serve(ln)
		b := phase(PhaseBaseline, "http://"+ln.Addr().String()+"/api/1/envelope/", nil)
		srv.Close()
		rep.Baseline = &b
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}

	t := &target{base: d.base, project: d.project, env: runEnvironment(run), token: cfg.Token, client: &http.Client{Timeout: 10 * time.Second, CheckRedirect: stayOnServer}}
	// The idle reads come before the figures the load is measured
	// from, so that the server's CPU time leaves them out.
	var probe *prober
	if cfg.Probe {
		path := fmt.Sprintf("/api/v1/projects/%d/issues", d.project)
		if cfg.Token == "" {
			rep.Notes = append(rep.Notes, "page probe: not measured: it reads GET "+path+" (the dashboard's issue list, through the REST API) with an API token: pass --token")
		} else {
			probe = newProber(d.base, path, cfg.Token, cfg.ProbeEvery)
			idle := cmp.Or(cfg.ProbeIdle, DefaultProbeIdle)
			rep.Probe = &Probe{Path: path, IntervalMS: ms(cfg.ProbeEvery)}
			until, stop := context.WithTimeout(ctx, idle)
			c := &counters{}
			watching := cfg.watch(PhaseIdle, idle, c, nil)
			rep.Probe.Idle = probe.run(ctx, until, c)
			stop()
			watching()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
	}
	before, source, storedErr := t.stored(ctx)
	if storedErr != nil {
		rep.Notes = append(rep.Notes, "processed: not measured: "+storedErr.Error())
	}
	mem := &Memory{}
	rssBefore, rssErr := t.rss(ctx)
	if rssErr != nil {
		rep.Notes = append(rep.Notes, "server RSS: not measured: "+rssErr.Error())
	}
	cpuBefore, cpuErr := t.cpu(ctx)
	if cpuErr != nil {
		rep.Notes = append(rep.Notes, "server CPU: not measured: "+cpuErr.Error())
	}
	var sample func()
	if rssErr == nil {
		mem.BeforeBytes, mem.PeakBytes = rssBefore, rssBefore
		var mu sync.Mutex
		sample = func() {
			if v, err := t.rss(ctx); err == nil {
				mu.Lock()
				mem.PeakBytes = max(mem.PeakBytes, v)
				mu.Unlock()
			}
		}
	}
	var probed chan ProbeResult
	stopProbe := func() {}
	if probe != nil {
		probed = make(chan ProbeResult, 1)
		var until context.Context
		until, stopProbe = context.WithCancel(ctx)
		go func() { probed <- probe.run(ctx, until, &counters{}) }()
	}
	rep.Server = phase(PhaseLoad, fmt.Sprintf("%s/api/%d/envelope/", d.base, d.project), sample)
	stopProbe()
	if probe != nil {
		rep.Probe.Load = <-probed
		if n := probe.note(rep.Probe); n != "" {
			rep.Notes = append(rep.Notes, n)
		}
	}
	if rep.Baseline != nil && rep.Baseline.AcceptedPerSec > 0 {
		rep.ShareOfBaseline = rep.Server.AcceptedPerSec / rep.Baseline.AcceptedPerSec
	}
	if n := rep.Server.TooMany; n > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s answers were 429: the project's rate limit (flytrap dev --rate-limit -1 lifts it)", Thousands(n)))
	}
	if rep.Server.Accepted == 0 && rep.Server.Other > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("no event was accepted and %s answers had another status: 401 or 403 means the DSN's key or project is wrong", Thousands(rep.Server.Other)))
	}
	if n := rep.Server.Errors; n > 0 && rep.Connections > connlimit.DefaultPerClient {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%s requests got no answer from %d connections: a Flytrap server closes, unanswered, the connections one client address opens past its --max-conns-per-client (%d by default), "+
			"so a flood from one machine measures that limit; use --connections %d or fewer, or raise the server's --max-conns-per-client",
			Thousands(n), rep.Connections, connlimit.DefaultPerClient, connlimit.DefaultPerClient-8))
	}
	if rep.Server.Requests == 0 || rep.Server.Errors == rep.Server.Requests {
		return rep, fmt.Errorf("no request to %s was answered: is the server running, and is the DSN's host the one it listens on (else pass --url)?", d.base)
	}

	if storedErr == nil {
		pr, err := cfg.drain(ctx, t, before, rep.Server)
		if err != nil {
			rep.Notes = append(rep.Notes, "processed: "+err.Error())
		}
		pr.Source = source
		rep.Processed = &pr
	}
	if rssErr == nil {
		if v, err := t.rss(ctx); err == nil {
			mem.AfterBytes = v
			mem.PeakBytes = max(mem.PeakBytes, v)
		}
		rep.RSS = mem
	}
	if cpuErr == nil {
		if after, err := t.cpu(ctx); err == nil {
			if used, err := cpuUsed(cpuBefore, after); err != nil {
				rep.Notes = append(rep.Notes, "server CPU: not measured: "+err.Error())
			} else {
				rep.CPU = &CPU{Seconds: used}
				if p := rep.Processed; p != nil && p.Stored > 0 {
					rep.CPU.PerStoredEventMS = 1000 * rep.CPU.Seconds / float64(p.Stored)
				}
			}
		}
	}
	return rep, ctx.Err()
}

// drain polls the stored count until it has grown by the accepted count,
// or DrainTimeout passes.
func (cfg *Config) drain(ctx context.Context, t *target, before int64, load LoadResult) (Processed, error) {
	start := time.Now()
	var pr Processed
	report := func(done bool) {
		if cfg.Progress != nil {
			cfg.Progress(Progress{Phase: PhaseDrain, Elapsed: time.Since(start), Duration: cfg.DrainTimeout,
				Stored: pr.Stored, Want: load.Accepted, Done: done})
		}
	}
	var lastErr error
	for {
		n, _, err := t.stored(ctx)
		if err == nil {
			pr.Stored, lastErr = n-before, nil
		} else {
			lastErr = err
		}
		pr.DrainSeconds = time.Since(start).Seconds()
		pr.Complete = pr.Stored >= load.Accepted
		if pr.Complete || time.Since(start) >= cfg.DrainTimeout || ctx.Err() != nil {
			break
		}
		report(false)
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	report(true)
	pr.PerSec = float64(pr.Stored) / (load.Seconds + pr.DrainSeconds)
	if !pr.Complete && lastErr == nil {
		lastErr = fmt.Errorf("%s of %s accepted events stored after %s: raise --drain-timeout, or look for failures in the server's log", Thousands(pr.Stored), Thousands(load.Accepted), cfg.DrainTimeout)
	}
	return pr, lastErr
}

// watch reports a phase's progress, of d, every ProgressEvery, and calls
// sample (if any) once a second, until the returned stop is called.
func (cfg *Config) watch(phase string, d time.Duration, c *counters, sample func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	start := time.Now()
	report := func(last bool) {
		if cfg.Progress != nil {
			cfg.Progress(Progress{Phase: phase, Elapsed: time.Since(start), Duration: d,
				Requests: c.requests.Load(), Accepted: c.accepted.Load(), TooMany: c.tooMany.Load(),
				Unavailable: c.unavailable.Load(), Errors: c.errors.Load(), Done: last})
		}
	}
	wg.Go(func() {
		tick := time.NewTicker(cfg.ProgressEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				report(false)
			case <-done:
				report(true)
				return
			}
		}
	})
	if sample != nil {
		wg.Go(func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					sample()
				case <-done:
					return
				}
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}
