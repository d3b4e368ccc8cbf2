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
		Config: bench.Config{Duration: 300 * time.Millisecond, Connections: 2, Distinct: 3, DrainTimeout: 5 * time.Second},
	}, &out, &errOut
}

func TestRunReadsDevJSON(t *testing.T) {
	srv, n := fakeServer(t, "tok")
	dir := t.TempDir()
	info := fmt.Sprintf(`{"dsn": %q, "api_token": "tok"}`, strings.Replace(srv.URL, "http://", "http://key@", 1)+"/7")
	if err := os.WriteFile(filepath.Join(dir, "dev.json"), []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, out, errOut := newOpts(nil)
	opts.DataDir, opts.JSON, opts.NoBaseline = dir, true, true
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
