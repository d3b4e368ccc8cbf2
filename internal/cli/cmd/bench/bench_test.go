package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/bench"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// fakeServer accepts every envelope and counts it; /metrics reports the
// count as stored when the token is right.
func fakeServer(t *testing.T, token string) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/7/envelope/":
			_, _ = io.Copy(io.Discard, r.Body)
			n.Add(1)
			fmt.Fprint(w, `{}`)
		case r.URL.Path == "/metrics" && r.Header.Get("Authorization") == "Bearer "+token:
			fmt.Fprintf(w, "flytrap_events_processed_total %d\nprocess_resident_memory_bytes 1048576\n", n.Load())
		case r.URL.Path == "/api/v1/projects/7/issues" && r.Header.Get("Authorization") == "Bearer "+token:
			fmt.Fprintf(w, `{"data":[{"count":%d}],"next_cursor":""}`, n.Load())
		default:
			http.Error(w, "no", http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newOpts(env map[string]string) (*Options, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &Options{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string { return env[k] },
		Size:   "2k",
		Config: bench.Config{Duration: 300 * time.Millisecond, Connections: 2, Distinct: 3, DrainTimeout: 5 * time.Second,
			ProbeEvery: 50 * time.Millisecond, ProbeIdle: 100 * time.Millisecond},
	}, &out, &errOut
}

func TestRunReadsDevJSON(t *testing.T) {
	srv, n := fakeServer(t, "tok")
	opts, out, errOut := newOpts(nil)
	opts.DataDir, opts.JSON, opts.NoBaseline = writeDevJSON(t, srv, "tok"), true, true
	if err := Run(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Server.Accepted == 0 || rep.Server.Accepted != n.Load() || rep.Processed == nil || rep.Processed.Stored != n.Load() || rep.RSS == nil || rep.Baseline != nil {
		t.Errorf("report %+v; the server took %d", rep, n.Load())
	}
	// Not a terminal: plain lines, no escapes.
	if !strings.Contains(errOut.String(), "flytrap ") || strings.ContainsAny(errOut.String(), "\r\x1b") {
		t.Errorf("progress on a pipe:\n%q", errOut)
	}
}

// TestRunProbe: the page probe runs with dev.json's token and shows in
// the JSON and the progress; --no-probe leaves it out.
func TestRunProbe(t *testing.T) {
	for _, noProbe := range []bool{false, true} {
		srv, _ := fakeServer(t, "tok")
		opts, out, errOut := newOpts(nil)
		opts.DataDir, opts.JSON, opts.NoBaseline, opts.NoProbe = writeDevJSON(t, srv, "tok"), true, true, noProbe
		if err := Run(context.Background(), opts); err != nil {
			t.Fatalf("--no-probe %v: %v\n%s", noProbe, err, errOut)
		}
		var rep bench.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		probed := rep.Probe != nil && rep.Probe.Idle.OK > 0 && rep.Probe.Load.OK > 0 && rep.Probe.Path == "/api/v1/projects/7/issues"
		if probed == noProbe || strings.Contains(out.String(), `"probe"`) == noProbe {
			t.Errorf("--no-probe %v: probe %+v", noProbe, rep.Probe)
		}
		if strings.Contains(errOut.String(), "idle probe") == noProbe {
			t.Errorf("--no-probe %v: progress\n%s", noProbe, errOut)
		}
	}
}

// writeDevJSON writes a dev.json naming srv's project 7 with token tok,
// and returns its directory.
func writeDevJSON(t *testing.T, srv *httptest.Server, tok string) string {
	dir := t.TempDir()
	info := fmt.Sprintf(`{"dsn": %q, "api_token": %q}`, strings.Replace(srv.URL, "http://", "http://key@", 1)+"/7", tok)
	if err := os.WriteFile(filepath.Join(dir, "dev.json"), []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunDevJSONIgnoresTheCLIsServer: FLYTRAP_URL and FLYTRAP_TOKEN name
// the CLI's server, often production; with dev.json's DSN and token the
// load and the token go to dev.json's server alone.
func TestRunDevJSONIgnoresTheCLIsServer(t *testing.T) {
	srv, n := fakeServer(t, "tok")
	var elsewhere atomic.Int64
	prod := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer prod.Close()
	opts, out, errOut := newOpts(map[string]string{"FLYTRAP_URL": prod.URL, "FLYTRAP_TOKEN": "prod-token"})
	opts.DataDir, opts.JSON, opts.NoBaseline = writeDevJSON(t, srv, "tok"), true, true
	if err := Run(context.Background(), opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var rep bench.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if elsewhere.Load() != 0 || rep.URL != srv.URL || n.Load() == 0 {
		t.Errorf("FLYTRAP_URL's server got %d requests, dev.json's %d; the report names %s", elsewhere.Load(), n.Load(), rep.URL)
	}
	if rep.Processed == nil || rep.Processed.Source != bench.SourceREST {
		t.Errorf("processed %+v, notes %q: want dev.json's token, not FLYTRAP_TOKEN, counting through the API", rep.Processed, rep.Notes)
	}
}

// TestRunURLOfAnotherServer: a URL naming another server than the DSN's
// is refused unless --url, --dsn and --token were all given.
func TestRunURLOfAnotherServer(t *testing.T) {
	srv, n := fakeServer(t, "tok")
	dsn := strings.Replace(srv.URL, "http://", "http://key@", 1) + "/7"
	publicDSN := "https://key@errors.example.com/7"
	tests := []struct {
		name string
		env  map[string]string
		set  func(*Options)
		want string // in the usage error and its hint; "" for a run
	}{
		{"dev.json, --url", nil, func(o *Options) { o.DataDir, o.URL = writeDevJSON(t, srv, "tok"), "http://127.0.0.1:1" }, "leave out --url"},
		{"dev.json, --url, --token", nil, func(o *Options) { o.DataDir, o.URL, o.Token = writeDevJSON(t, srv, "tok"), "http://127.0.0.1:1", "tok" }, "not the DSN's server " + srv.URL},
		{"--dsn, FLYTRAP_URL", map[string]string{"FLYTRAP_URL": "http://127.0.0.1:1"}, func(o *Options) { o.DSN = dsn }, "unset FLYTRAP_URL"},
		{"--dsn, FLYTRAP_TOKEN, --url", map[string]string{"FLYTRAP_TOKEN": "tok"}, func(o *Options) { o.DSN, o.URL = publicDSN, srv.URL }, "pass --url, --dsn and --token all for " + srv.URL},
		{"FLYTRAP_DSN, --token, --url", map[string]string{"FLYTRAP_DSN": publicDSN}, func(o *Options) { o.URL, o.Token = srv.URL, "tok" }, "is not the DSN's server https://errors.example.com:443"},
		{"--dsn, --token, FLYTRAP_URL", map[string]string{"FLYTRAP_URL": srv.URL}, func(o *Options) { o.DSN, o.Token = publicDSN, "tok" }, "unset FLYTRAP_URL"},
		{"--dsn, --token, --url", nil, func(o *Options) { o.DSN, o.URL, o.Token = publicDSN, srv.URL, "tok" }, ""},
	}
	for _, tt := range tests {
		before := n.Load()
		opts, _, _ := newOpts(tt.env)
		opts.NoBaseline = true
		tt.set(opts)
		err := Run(context.Background(), opts)
		if tt.want == "" {
			if err != nil || n.Load() == before {
				t.Errorf("%s: %v, and %d requests", tt.name, err, n.Load()-before)
			}
			continue
		}
		var ce *cmdutil.Error
		if !errors.As(err, &ce) || ce.Code != cmdutil.ExitUsage || !strings.Contains(ce.Msg+" "+ce.Hint, tt.want) || n.Load() != before {
			t.Errorf("%s: %v (%+v), %d requests; want a usage error with %q and none", tt.name, err, ce, n.Load()-before, tt.want)
		}
	}
}

func TestRunTable(t *testing.T) {
	srv, _ := fakeServer(t, "tok")
	opts, out, _ := newOpts(nil)
	opts.DSN, opts.Token = strings.Replace(srv.URL, "http://", "http://key@", 1)+"/7", "tok"
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"bare net/http", "accepted/s", "% of bare", "latency p99", "processed   all", "server RSS  1.0 MiB before"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Options)
		want string
	}{
		{"no dsn, no dev.json", func(o *Options) { o.DataDir = t.TempDir() }, "no --dsn"},
		{"bad dsn", func(o *Options) { o.DSN = "localhost:8080" }, "not a URL"},
		{"bad size", func(o *Options) { o.DSN, o.Size = "http://k@127.0.0.1:1/1", "5k" }, "not 2k or 50k"},
		{"no connections", func(o *Options) { o.DSN, o.Config.Connections = "http://k@127.0.0.1:1/1", 0 }, "connections"},
		{"negative rate", func(o *Options) { o.DSN, o.Config.Rate = "http://k@127.0.0.1:1/1", -1 }, "rate"},
		{"no probe interval", func(o *Options) { o.DSN, o.Config.ProbeEvery = "http://k@127.0.0.1:1/1", 0 }, "--no-probe"},
	}
	for _, tt := range tests {
		opts, _, _ := newOpts(nil)
		tt.set(opts)
		err := Run(context.Background(), opts)
		var ce *cmdutil.Error
		if !errors.As(err, &ce) || ce.Code != cmdutil.ExitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want a usage error with %q", tt.name, err, tt.want)
		}
	}
}

func TestProgressView(t *testing.T) {
	load := bench.Progress{Phase: bench.PhaseLoad, Elapsed: 2 * time.Second, Duration: 10 * time.Second, Requests: 3000, Accepted: 2900, TooMany: 100}
	tests := []struct {
		name          string
		tty, noColor  bool
		want, notWant []string
	}{
		{"terminal", true, false, []string{"\r\x1b[K", "\x1b[36m", "2,900 accepted (1,450/s)", "429: 100"}, []string{"\n"}},
		{"terminal, NO_COLOR", true, true, []string{"\r\x1b[K", "2,900 accepted"}, []string{"\x1b[36m", "\n"}},
		{"pipe", false, false, []string{"flytrap", "2.0s/10s", "3,000 sent", "\n"}, []string{"\r", "\x1b"}},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		pv := newProgressView(&buf, tt.tty, tt.noColor)
		pv.show(load)
		for _, w := range tt.want {
			if !strings.Contains(buf.String(), w) {
				t.Errorf("%s: %q lacks %q", tt.name, buf.String(), w)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(buf.String(), w) {
				t.Errorf("%s: %q has %q", tt.name, buf.String(), w)
			}
		}
	}
}

func TestProgressViewIdleProbe(t *testing.T) {
	var buf bytes.Buffer
	newProgressView(&buf, false, false).show(bench.Progress{Phase: bench.PhaseIdle, Elapsed: time.Second, Duration: 3 * time.Second, Requests: 10, Accepted: 9, Done: true})
	if want := "idle probe      1.0s/3s  10 page reads  9 2xx\n"; buf.String() != want {
		t.Errorf("%q, want %q", buf.String(), want)
	}
}

func TestProgressViewThrottles(t *testing.T) {
	var buf bytes.Buffer
	pv := newProgressView(&buf, false, false)
	now := time.Unix(0, 0)
	pv.now = func() time.Time { return now }
	drain := bench.Progress{Phase: bench.PhaseDrain, Stored: 5, Want: 10}
	for range 5 { // five polls 200 ms apart: one line
		pv.show(drain)
		now = now.Add(200 * time.Millisecond)
	}
	drain.Done = true
	pv.show(drain) // the last report always shows
	if got := strings.Count(buf.String(), "\n"); got != 2 {
		t.Errorf("%d lines, want 2:\n%s", got, buf.String())
	}
}

// FLYTRAP_TOKEN belongs to FLYTRAP_URL's server (the CLI's): a DSN of
// another server, or none named, never gets it.
func TestRunEnvTokenOnlyForTheCLIsServer(t *testing.T) {
	var seen atomic.Value
	seen.Store("")
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); a != "" {
			seen.Store(a)
		}
		switch r.URL.Path {
		case "/api/7/envelope/":
			_, _ = io.Copy(io.Discard, r.Body)
			n.Add(1)
			fmt.Fprint(w, `{}`)
		case "/metrics":
			fmt.Fprintf(w, "flytrap_events_processed_total %d\nprocess_resident_memory_bytes 1048576\n", n.Load())
		default:
			http.Error(w, "no", http.StatusUnauthorized)
		}
	}))
	t.Cleanup(srv.Close)
	dsn := strings.Replace(srv.URL, "http://", "http://key@", 1) + "/7"
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no FLYTRAP_URL", map[string]string{"FLYTRAP_TOKEN": "flyt_cli"}, ""},
		{"FLYTRAP_URL of another server", map[string]string{"FLYTRAP_TOKEN": "flyt_cli", "FLYTRAP_URL": "https://errors.example.com"}, "unset FLYTRAP_URL"},
		{"FLYTRAP_URL of the DSN's server", map[string]string{"FLYTRAP_TOKEN": "flyt_cli", "FLYTRAP_URL": srv.URL}, "Bearer flyt_cli"},
	} {
		seen.Store("")
		opts, _, _ := newOpts(tt.env)
		opts.NoBaseline, opts.DSN = true, dsn
		err := Run(context.Background(), opts)
		if strings.HasPrefix(tt.want, "unset") {
			var ce *cmdutil.Error
			if !errors.As(err, &ce) || !strings.Contains(ce.Hint, tt.want) {
				t.Errorf("%s: %v, want a refusal hinting %q", tt.name, err, tt.want)
			}
			if got := seen.Load().(string); got != "" {
				t.Errorf("%s: the server got %q", tt.name, got)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := seen.Load().(string); got != tt.want {
			t.Errorf("%s: the server got Authorization %q, want %q", tt.name, got, tt.want)
		}
	}
}
