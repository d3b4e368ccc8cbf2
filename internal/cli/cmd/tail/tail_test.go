package tail

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/client"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/testutil/syncbuf"
)

var at = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func msg(id string, issue int64) livemsg.Message {
	return livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1, IssueID: issue, Title: "Error " + id, Level: "error",
		Count: 1, EventID: id, Culprit: "app.js in " + id, At: at}
}

// factory talks to the API at url, a minute before the events' time.
func factory(t *testing.T, url string, out, errOut *syncbuf.Buffer) *cmdutil.Factory {
	env := map[string]string{"FLYTRAP_URL": url, "FLYTRAP_TOKEN": "flyt_x", "FLYTRAP_CONFIG_DIR": t.TempDir()}
	return &cmdutil.Factory{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: errOut},
		Getenv: func(k string) string { return env[k] },
		Now:    func() time.Time { return at.Add(-time.Minute) },
	}
}

// tailUntil runs a JSON tail until it has printed the event last, stops
// it, and returns the lines it printed.
func tailUntil(t *testing.T, opts *Options, out, errOut *syncbuf.Buffer, last string) []Line {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"event_id":"`+last+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never printed; stdout:\n%s\nstderr:\n%s", last, out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	var lines []Line
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var l Line
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		lines = append(lines, l)
	}
	return lines
}

// TestReconnectBackfills: the first stream delivers z0 (received before
// the tail started, so left out) and a1, and is cut off for
// falling behind; the backfill after reconnecting returns a1 again and
// b1, which arrived meanwhile; the second stream delivers c1. Each is
// printed once, in order, and the reason for the reconnect is said.
func TestReconnectBackfills(t *testing.T) {
	var streams, feeds atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/projects":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{{ID: 1, Name: "web"}}})
		case "/api/v1/events":
			var data []apitypes.FeedEvent
			if feeds.Add(1) == 2 {
				for i, id := range []string{"a1", "b1"} {
					data = append(data, apitypes.FeedEvent{Event: apitypes.Event{EventID: id, ProjectID: 1, IssueID: int64(i + 1),
						Title: "Error " + id, Level: "error", Received: at}, Culprit: "app.js in " + id, Count: 1})
				}
			}
			json.NewEncoder(w).Encode(apitypes.List[apitypes.FeedEvent]{Data: data})
		case "/api/v1/stream":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			send := func(m livemsg.Message) {
				b, _ := json.Marshal(m)
				c.Write(r.Context(), websocket.MessageText, b)
			}
			if streams.Add(1) == 1 {
				// Received before the tail started, stored after it
				// subscribed: not printed.
				old := msg("z0", 9)
				old.At = at.Add(-2 * time.Minute)
				send(old)
				send(msg("a1", 1))
				c.Close(client.StatusFellBehind, "fell behind")
				return
			}
			send(msg("c1", 3))
			<-r.Context().Done()
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()

	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	var ids []string
	for _, l := range tailUntil(t, &Options{F: factory(t, srv.URL, out, errOut), JSON: true, Sleep: func(context.Context, time.Duration) error { return nil }}, out, errOut, "c1") {
		if l.Project != "web" || l.URL == "" || !strings.HasPrefix(l.Culprit, "app.js in ") {
			t.Errorf("line %+v", l)
		}
		ids = append(ids, l.EventID)
	}
	if strings.Join(ids, " ") != "a1 b1 c1" {
		t.Errorf("printed %v, want a1 b1 c1 once each", ids)
	}
	for _, want := range []string{"following all your projects", "fell behind the live stream; reconnecting", "reconnected"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

// TestLineFormat: one line per event, the level colored only when asked,
// control characters from the SDK made harmless.
func TestLineFormat(t *testing.T) {
	l := Line{Time: at, Level: "warning", Project: "web", Title: "Bad\x1b[2J\ntitle", Culprit: "a.js in f", Count: 7, URL: "http://x/issues/3"}
	plain := (&tailer{}).format(l)
	if strings.ContainsAny(plain, "\x1b\n") || !strings.Contains(plain, "WARNING  web  Bad [2J title  a.js in f  ×7  http://x/issues/3") {
		t.Errorf("plain line %q", plain)
	}
	if colored := (&tailer{color: true}).format(l); !strings.Contains(colored, "\x1b[33mWARNING") {
		t.Errorf("colored line %q", colored)
	}
}

// TestLevelFlag: --level is checked as `issues list` checks it, before any
// request, with the usage exit code; and it is lowered, so the backfill's
// ?level= (compared exactly by the API) and the live filter agree.
func TestLevelFlag(t *testing.T) {
	var (
		mu       sync.Mutex
		requests []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		switch r.URL.Path {
		case "/api/v1/projects":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{{ID: 1, Name: "web"}}})
		case "/api/v1/events":
			var data []apitypes.FeedEvent
			if r.URL.Query().Get("level") == "error" {
				data = append(data, apitypes.FeedEvent{Event: apitypes.Event{EventID: "b1", ProjectID: 1, IssueID: 1,
					Title: "Error b1", Level: "error", Received: at}, Count: 1})
			}
			json.NewEncoder(w).Encode(apitypes.List[apitypes.FeedEvent]{Data: data})
		case "/api/v1/stream":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			warn := msg("w1", 2)
			warn.Level = "warning"
			for _, m := range []livemsg.Message{warn, msg("l1", 3)} {
				b, _ := json.Marshal(m)
				c.Write(r.Context(), websocket.MessageText, b)
			}
			<-r.Context().Done()
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	newOpts := func(level string, out, errOut *syncbuf.Buffer) *Options {
		return &Options{F: factory(t, srv.URL, out, errOut), Level: level, JSON: true, Since: "1h", Sleep: func(context.Context, time.Duration) error { return nil }}
	}

	t.Run("err", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := Run(ctx, newOpts("err", &syncbuf.Buffer{}, &syncbuf.Buffer{}))
		if code, _ := cmdutil.ExitCode(err); code != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--level must be one of error, fatal, warning, info, debug") {
			t.Errorf("--level err: exit %d, %v", code, err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(requests) != 0 {
			t.Errorf("--level err still tailed: %q", requests)
		}
	})

	t.Run("ERROR", func(t *testing.T) {
		out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
		var ids []string
		for _, l := range tailUntil(t, newOpts("ERROR", out, errOut), out, errOut, "l1") {
			ids = append(ids, l.EventID)
		}
		if strings.Join(ids, " ") != "b1 l1" {
			t.Errorf("printed %v, want the backfilled b1 and the live l1, not the warning w1", ids)
		}
	})
}

// TestRefusedStreamWaits: a stream refused for too many open streams (429
// with Retry-After) is retried after the server's wait, not the backoff's
// quarter second, and the server's message says why.
func TestRefusedStreamWaits(t *testing.T) {
	var streams atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/projects":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{{ID: 1, Name: "web"}}})
		case "/api/v1/events":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.FeedEvent]{})
		case "/api/v1/stream":
			if streams.Add(1) == 1 {
				w.Header().Set("Retry-After", "30")
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusTooManyRequests)
				w.Write([]byte(`{"error":{"code":"too_many_streams","message":"you have 16 live streams open, the most one user may"}}`))
				return
			}
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			b, _ := json.Marshal(msg("a1", 1))
			c.Write(r.Context(), websocket.MessageText, b)
			<-r.Context().Done()
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()

	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}
	tailUntil(t, &Options{F: factory(t, srv.URL, out, errOut), JSON: true, Sleep: sleep}, out, errOut, "a1")
	if len(slept) != 1 || slept[0] != 30*time.Second {
		t.Errorf("slept %v, want [30s]", slept)
	}
	want := "flytrap tail: the server refused the stream: you have 16 live streams open, the most one user may; reconnecting in 30s"
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, errOut)
	}
}

// TestJQ: --jq filters each event's JSON object as --json prints it,
// strings raw; an expression that does not parse is a usage error before
// anything is asked of the server.
func TestJQ(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch r.URL.Path {
		case "/api/v1/projects":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{{ID: 1, Name: "web"}}})
		case "/api/v1/events":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.FeedEvent]{})
		case "/api/v1/stream":
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			defer c.CloseNow()
			warn := msg("w1", 2)
			warn.Level = "warning"
			for _, m := range []livemsg.Message{warn, msg("a1", 1), msg("z9", 3)} {
				b, _ := json.Marshal(m)
				c.Write(r.Context(), websocket.MessageText, b)
			}
			<-r.Context().Done()
		default:
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()

	out, errOut := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	bad := &Options{F: factory(t, srv.URL, out, errOut), JQ: "select(", Sleep: client.Sleep}
	// A tail that took it would run until the timeout.
	badCtx, badCancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer badCancel()
	if code, _ := cmdutil.ExitCode(Run(badCtx, bad)); code != cmdutil.ExitUsage || requests.Load() != 0 {
		t.Errorf("--jq 'select(': exit %d after %d requests, want a usage error before any", code, requests.Load())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := &Options{F: factory(t, srv.URL, out, errOut), JQ: `select(.level == "error") | .event_id + " " + .url`, Sleep: client.Sleep}
	go func() { done <- Run(ctx, opts) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "z9") {
		if time.Now().After(deadline) {
			t.Fatalf("z9 never printed; stdout:\n%s\nstderr:\n%s", out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Run: %v", err)
	}
	if want := "a1 " + srv.URL + "/issues/1\nz9 " + srv.URL + "/issues/3\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
}
