// Package bench implements `flytrap bench`: load a running Flytrap server
// with realistic Sentry envelopes and report what it accepted, stored and
// used, beside a bare net/http server measured in the same run.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/bench"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// Options are the inputs of `flytrap bench`.
type Options struct {
	IO     *cmdutil.IOStreams
	Getenv func(string) string

	// DSN, URL and Token are the flags' values, empty when not given:
	// Run falls back to the environment and dev.json, and tells which
	// were given, since a token goes only to the server it was given for.
	DSN     string
	URL     string
	Token   string
	DataDir string
	Size    string
	JSON    bool
	// NoBaseline skips the bare net/http server's phase.
	NoBaseline bool
	// NoProbe leaves out the page probe.
	NoProbe bool
	Config  bench.Config
}

// NewCmd returns the bench command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO, Getenv: f.Getenv}
	env := f.Env
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Load a running Flytrap server with Sentry events and measure it",
		Long: `Send gzip-compressed Sentry envelopes (one event each, a unique event ID
per request, spread over --distinct errors) to a running Flytrap server for
--duration, then wait until the server has stored them all. Reports
accepted events a second, latency percentiles, 429s and 503s, how long
storing took after the load stopped, and the server's resident memory.

First, the same load goes to a bare net/http server that this command
starts on 127.0.0.1 and that only answers 200, so the figures can be read
as a share of what any HTTP server on this machine accepts (--no-baseline
skips it).

While the load runs, a probe reads the project's issue list through the
REST API (GET /api/v1/projects/ID/issues, the store queries of the
dashboard's issues page) every --probe-interval, one read at a time on a
connection of its own, and for ` + fmt.Sprint(bench.DefaultProbeIdle.Seconds()) + `s before the load as the idle
reference: p50, p95 and max of the page's time, idle and under the load,
show whether the server stays responsive to its users. The probe needs
the API token; its reads are not in the load's figures and take no
--connections. From the same machine it shares the client's CPU, as the
load does (--no-probe leaves it out).

Load goes only to the server the DSN (or --url) names. Without --dsn or
FLYTRAP_DSN the DSN and API token come from <data-dir>/dev.json, as a
running ` + "`flytrap dev`" + ` wrote them, and FLYTRAP_URL and FLYTRAP_TOKEN
(the CLI's server) are not used; FLYTRAP_TOKEN is used only when
FLYTRAP_URL is set and names the DSN's server. Counting stored events needs an API
token (--token); without one, flytrap dev's /metrics is read instead. A
deployed dashboard's /metrics needs an admin's token.

The DSN's key and the token go only to the DSN's server: a --url (or
FLYTRAP_URL) naming another scheme, host or port is refused unless
--url, --dsn and --token are all given on the command line.`,
		Example: `  flytrap dev --rate-limit -1 &     # in another terminal
  flytrap bench
  flytrap bench --size 50k --connections 8 --json
  flytrap bench --dsn https://KEY@errors.example.com/1 --token $TOKEN --rate 500 --no-baseline`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.DSN, "dsn", "", "the project's DSN, http://KEY@HOST:PORT/PROJECT_ID (default: from <data-dir>/dev.json) [$FLYTRAP_DSN]")
	fl.StringVar(&opts.URL, "url", "", "the server's base URL, when the DSN names it another way (default: the DSN's server) [$FLYTRAP_URL, with --dsn or $FLYTRAP_DSN only]")
	fl.StringVar(&opts.Token, "token", "", "API token to count stored events and read /metrics (default: from <data-dir>/dev.json) [$FLYTRAP_TOKEN, with --dsn or $FLYTRAP_DSN of $FLYTRAP_URL's server only]")
	fl.StringVar(&opts.DataDir, "data-dir", env("FLYTRAP_DATA_DIR", ".flytrap"), "flytrap dev's data directory, whose dev.json supplies --dsn and --token [$FLYTRAP_DATA_DIR]")
	cmdutil.MarkPaths(fl, "data-dir")
	for flag, variable := range map[string]string{"dsn": "FLYTRAP_DSN", "url": "FLYTRAP_URL", "token": "FLYTRAP_TOKEN"} {
		cmdutil.EnvDefault(fl, flag, variable)
	}
	// The CLI's server and token go only with a DSN the user named (see
	// Run); with dev.json's, they are not read.
	for _, flag := range []string{"url", "token"} {
		cmdutil.EnvOnlyWith(fl, flag, "dsn", "$FLYTRAP_DSN")
	}
	fl.DurationVar(&opts.Config.Duration, "duration", 10*time.Second, "how long to send, to each server")
	fl.IntVar(&opts.Config.Connections, "connections", 32, "requests in flight at once")
	fl.StringVar(&opts.Size, "size", string(bench.Size2K), "event size: 2k or 50k (JSON before compression)")
	fl.IntVar(&opts.Config.Distinct, "distinct", 20, "distinct errors (issues) the events spread over")
	fl.Float64Var(&opts.Config.Rate, "rate", 0, "requests a second in all (0: as fast as the server answers)")
	fl.DurationVar(&opts.Config.DrainTimeout, "drain-timeout", time.Minute, "how long to wait for the server to store the accepted events")
	fl.BoolVar(&opts.NoBaseline, "no-baseline", false, "skip the bare net/http server's run")
	fl.BoolVar(&opts.NoProbe, "no-probe", false, "skip the page probe (the issue list's time, idle and under the load)")
	fl.DurationVar(&opts.Config.ProbeEvery, "probe-interval", 100*time.Millisecond, "how often the page probe starts a read, one at a time")
	fl.BoolVar(&opts.JSON, "json", false, "print the report as JSON")
	return cmd
}

// devInfo is the part of flytrap dev's dev.json that bench reads.
type devInfo struct {
	DSN      string `json:"dsn"`
	APIToken string `json:"api_token"`
}

// Run measures the server and prints the report: a table, or JSON with
// --json. Progress goes to ErrOut, updating one line on a terminal.
func Run(ctx context.Context, opts *Options) error {
	cfg := opts.Config
	cfg.DSN, cfg.URL, cfg.Token, cfg.Size = opts.DSN, opts.URL, opts.Token, bench.Size(opts.Size)
	cfg.Baseline, cfg.Probe = !opts.NoBaseline, !opts.NoProbe
	// Flags only: a DSN, token or URL from the environment may each be
	// meant for a different server.
	cfg.OtherServer = opts.DSN != "" && opts.Token != "" && opts.URL != ""
	dropURL := "leave out --url"
	if cfg.DSN == "" {
		cfg.DSN = opts.Getenv("FLYTRAP_DSN")
	}
	if cfg.DSN != "" {
		// FLYTRAP_URL and FLYTRAP_TOKEN are the CLI's server and its token:
		// they go with a DSN the user named, never with dev.json's.
		if cfg.URL == "" {
			cfg.URL, dropURL = opts.Getenv("FLYTRAP_URL"), "unset FLYTRAP_URL (the CLI's server)"
		}
		// FLYTRAP_TOKEN is the CLI's token for FLYTRAP_URL's server: it
		// goes only to a DSN of that server.
		if envURL := opts.Getenv("FLYTRAP_URL"); cfg.Token == "" && envURL != "" && bench.SameServer(envURL, cfg.DSN) {
			cfg.Token = opts.Getenv("FLYTRAP_TOKEN")
		}
	} else {
		path := filepath.Join(opts.DataDir, "dev.json")
		b, err := os.ReadFile(path)
		if err != nil {
			return cmdutil.UsageError("no --dsn, and no "+path+" to read it from", "pass --dsn http://KEY@HOST:PORT/PROJECT_ID, or --data-dir of a running `flytrap dev`")
		}
		var info devInfo
		if err := json.Unmarshal(b, &info); err != nil || info.DSN == "" {
			return cmdutil.UsageError(path+" holds no DSN", "pass --dsn, or restart `flytrap dev` to rewrite it")
		}
		cfg.DSN = info.DSN
		if cfg.Token == "" {
			cfg.Token = info.APIToken
		}
	}
	if err := cfg.Validate(); err != nil {
		var other *bench.OtherServerError
		if errors.As(err, &other) {
			return cmdutil.UsageError(err.Error(), dropURL+" to send to "+other.DSN+", or pass --url, --dsn and --token all for "+other.URL)
		}
		return cmdutil.UsageError(err.Error(), "see `flytrap bench --help`")
	}
	pv := newProgressView(opts.IO.ErrOut, cmdutil.IsTerminal(opts.IO.ErrOut), cmdutil.NoColor(opts.Getenv))
	cfg.Progress, cfg.ProgressEvery = pv.show, pv.every
	rep, err := bench.Run(ctx, cfg)
	if errors.Is(err, context.Canceled) {
		return err
	}
	if err != nil {
		return &cmdutil.Error{Msg: "benchmark failed", Err: err}
	}
	if opts.JSON {
		return bench.WriteJSON(opts.IO.Out, rep)
	}
	return bench.WriteTable(opts.IO.Out, rep)
}

// progressView shows a run's progress: one line rewritten in place on a
// terminal, a plain line a second otherwise.
type progressView struct {
	w     io.Writer
	tty   bool
	color bool
	every time.Duration
	last  time.Time // of the last line shown, to keep to one a period
	now   func() time.Time
}

func newProgressView(w io.Writer, tty, noColor bool) *progressView {
	pv := &progressView{w: w, tty: tty, color: tty && !noColor, every: time.Second, now: time.Now}
	if tty {
		pv.every = 200 * time.Millisecond
	}
	return pv
}

// phaseNames are the labels of the phases, padded alike.
var phaseNames = map[string]string{
	bench.PhaseBaseline: "bare net/http",
	bench.PhaseIdle:     "idle probe   ",
	bench.PhaseLoad:     "flytrap      ",
	bench.PhaseDrain:    "storing      ",
}

func (pv *progressView) show(p bench.Progress) {
	// The drain phase reports each poll of the stored count, more
	// often than a person reads.
	if !p.Done && pv.now().Sub(pv.last) < pv.every*9/10 {
		return
	}
	pv.last = pv.now()
	label := phaseNames[p.Phase]
	if pv.color {
		label = "\x1b[36m" + label + "\x1b[0m"
	}
	var line string
	secs := p.Elapsed.Seconds()
	switch p.Phase {
	case bench.PhaseDrain:
		line = fmt.Sprintf("%s %5.1fs  stored %s of %s accepted", label, secs, bench.Thousands(p.Stored), bench.Thousands(p.Want))
	case bench.PhaseIdle:
		line = fmt.Sprintf("%s %5.1fs/%gs  %s page reads  %s 2xx", label, secs, p.Duration.Seconds(), bench.Thousands(p.Requests), bench.Thousands(p.Accepted))
	default:
		perSec := 0.0
		if secs > 0 {
			perSec = float64(p.Accepted) / secs
		}
		line = fmt.Sprintf("%s %5.1fs/%gs  %s sent  %s accepted (%s/s)  429: %s  503: %s  no answer: %s",
			label, secs, p.Duration.Seconds(), bench.Thousands(p.Requests), bench.Thousands(p.Accepted),
			bench.Thousands(int64(perSec+0.5)), bench.Thousands(p.TooMany), bench.Thousands(p.Unavailable), bench.Thousands(p.Errors))
	}
	switch {
	case pv.tty && p.Done:
		fmt.Fprint(pv.w, "\r\x1b[K"+line+"\n")
	case pv.tty:
		fmt.Fprint(pv.w, "\r\x1b[K"+line)
	default:
		fmt.Fprintln(pv.w, strings.TrimRight(line, " "))
	}
}
