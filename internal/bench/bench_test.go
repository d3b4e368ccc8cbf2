package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/connlimit"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

func TestPercentiles(t *testing.T) {
	msd := func(v ...int) []time.Duration {
		d := make([]time.Duration, len(v))
		for i, x := range v {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // reversed: percentiles must sort
	}
	tests := []struct {
		name string
		in   []time.Duration
		want Latency
	}{
		{"none", nil, Latency{}},
		{"one", msd(7), Latency{7, 7, 7, 7}},
		{"two", msd(9, 1), Latency{1, 9, 9, 9}},
		{"hundred", msd(hundred...), Latency{50, 90, 99, 100}},
	}
	for _, tt := range tests {
		if got := percentiles(tt.in); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestParseDSN(t *testing.T) {
	tests := []struct {
		in      string
		want    dsn
		wantErr string
	}{
		{"http://abc@127.0.0.1:8080/1", dsn{"http://127.0.0.1:8080", "abc", 1}, ""},
		{"https://abc@errors.example.com/sentry/42/", dsn{"https://errors.example.com/sentry", "abc", 42}, ""},
		{"http://127.0.0.1:8080/1", dsn{}, "no key"},
		{"http://abc@127.0.0.1:8080/", dsn{}, "project ID"},
		{"http://abc@127.0.0.1:8080/x", dsn{}, "project ID"},
		{"127.0.0.1:8080", dsn{}, "not a URL"},
		{"ftp://abc@host/1", dsn{}, "not a URL"},
	}
	for _, tt := range tests {
		got, err := parseDSN(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseDSN(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseDSN(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	m := parseMetrics("# HELP x X.\n# TYPE x gauge\nx 12\nprocess_resident_memory_bytes 3.5e+07\nlabelled{a=\"b\"} 3\n\nbad\n")
	if len(m) != 2 || m["x"] != 12 || m["process_resident_memory_bytes"] != 35e6 {
		t.Errorf("parseMetrics = %v", m)
	}
}

// fakeFlytrap is an ingest endpoint that stores every event it accepts,
// answers every fifth request 429 and every seventh 503, and reports
// what it stored through /metrics and the REST API, whose issue counts
// are those in the environment asked for, as Flytrap's are. The issue
// list without an environment is the page probe's: it counts those reads
// and their clients' addresses, and once events have come it answers
// them no sooner than pageDelay.
type fakeFlytrap struct {
	token     string
	pageDelay time.Duration
	mu        sync.Mutex
	ids       map[string]bool
	groups    map[string]map[string]int64 // stored events by environment, then exception type and value
	requests  atomic.Int64
	dupes     atomic.Int64
	pages     atomic.Int64
	// The client addresses of envelopes and of page reads.
	envelopeAddrs, pageAddrs map[string]bool
}

func newFake(token string) *fakeFlytrap {
	return &fakeFlytrap{token: token, ids: map[string]bool{}, groups: map[string]map[string]int64{},
		envelopeAddrs: map[string]bool{}, pageAddrs: map[string]bool{}}
}

func (f *fakeFlytrap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/api/1/envelope/":
		n := f.requests.Add(1)
		f.mu.Lock()
		f.envelopeAddrs[r.RemoteAddr] = true
		f.mu.Unlock()
		if !strings.Contains(r.Header.Get("X-Sentry-Auth"), "sentry_key=k3y") {
			http.Error(w, "bad key", http.StatusUnauthorized)
			return
		}
		switch {
		case n%5 == 0:
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case n%7 == 0:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lines := bytes.SplitN(raw, []byte("\n"), 3)
		var ev struct {
			EventID     string `json:"event_id"`
			Environment string `json:"environment"`
			Exception   struct {
				Values []struct{ Type, Value string }
			}
		}
		if len(lines) != 3 || json.Unmarshal(lines[2], &ev) != nil || len(ev.Exception.Values) != 1 {
			http.Error(w, "bad envelope", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		if f.ids[ev.EventID] {
			f.dupes.Add(1)
		}
		f.ids[ev.EventID] = true
		if f.groups[ev.Environment] == nil {
			f.groups[ev.Environment] = map[string]int64{}
		}
		f.groups[ev.Environment][ev.Exception.Values[0].Type+": "+ev.Exception.Values[0].Value]++
		f.mu.Unlock()
		fmt.Fprintf(w, `{"id":%q}`, ev.EventID)
	case r.Header.Get("Authorization") != "Bearer "+f.token:
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	case r.URL.Path == "/metrics":
		fmt.Fprintf(w, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %d\n", 30<<20+f.requests.Load())
		fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.6f\n", 1.5+float64(f.requests.Load())/1000)
	case r.URL.Path == "/api/v1/projects/1/issues" && r.URL.RawQuery == "":
		f.pages.Add(1)
		f.mu.Lock()
		f.pageAddrs[r.RemoteAddr] = true
		f.mu.Unlock()
		if f.requests.Load() > 0 {
			time.Sleep(f.pageDelay)
		}
		fmt.Fprint(w, `{"data":[],"next_cursor":""}`)
	case r.URL.Path == "/api/v1/projects/1/issues":
		env := r.URL.Query().Get("environment")
		if !strings.HasPrefix(env, Environment) {
			http.Error(w, "want a bench environment", http.StatusBadRequest)
			return
		}
		// One issue a page, to exercise the cursor.
		f.mu.Lock()
		var counts []int64
		for _, k := range slices.Sorted(maps.Keys(f.groups[env])) {
			counts = append(counts, f.groups[env][k])
		}
		f.mu.Unlock()
		var i int
		fmt.Sscan(r.URL.Query().Get("cursor"), &i)
		page := map[string]any{"data": []any{}, "next_cursor": ""}
		if i < len(counts) {
			page["data"] = []any{map[string]any{"count": counts[i]}}
			if i+1 < len(counts) {
				page["next_cursor"] = fmt.Sprint(i + 1)
			}
		}
		json.NewEncoder(w).Encode(page)
	default:
		http.NotFound(w, r)
	}
}

func TestRunCountsWhatTheServerSaw(t *testing.T) {
	fake := newFake("t0ken")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var phases sync.Map
	rep, err := Run(context.Background(), Config{
		DSN:           strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1",
		Token:         "t0ken",
		Duration:      time.Second,
		Connections:   4,
		Size:          Size2K,
		Distinct:      3,
		Baseline:      true,
		DrainTimeout:  5 * time.Second,
		ProgressEvery: 50 * time.Millisecond,
		Progress: func(p Progress) {
			if p.Done {
				phases.Store(p.Phase, p)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Server
	fake.mu.Lock()
	stored, groups := int64(len(fake.ids)), 0
	for _, g := range fake.groups {
		groups += len(g)
	}
	fake.mu.Unlock()
	switch {
	case s.Accepted == 0 || s.TooMany == 0 || s.Unavailable == 0:
		t.Errorf("server phase %+v: want 2xx, 429 and 503 all counted", s)
	case s.Requests != s.Accepted+s.TooMany+s.Unavailable+s.Other+s.Errors:
		t.Errorf("server phase %+v: the statuses do not add up to the requests", s)
	case s.Other != 0 || s.Errors != 0:
		t.Errorf("server phase %+v: the fake answers only 200, 429 and 503", s)
	case s.Requests != fake.requests.Load():
		t.Errorf("counted %d requests, the server saw %d", s.Requests, fake.requests.Load())
	case s.TooMany < s.Requests/5-4 || s.TooMany > s.Requests/5+4:
		t.Errorf("%d 429s of %d requests, want a fifth", s.TooMany, s.Requests)
	case fake.dupes.Load() != 0:
		t.Errorf("%d event IDs sent twice", fake.dupes.Load())
	case groups != 3:
		t.Errorf("events fell into %d groups, want 3", groups)
	}
	if s.Latency.P50 <= 0 || s.Latency.P50 > s.Latency.P90 || s.Latency.P90 > s.Latency.P99 || s.Latency.P99 > s.Latency.Max {
		t.Errorf("latency %+v is not ordered", s.Latency)
	}
	if b := rep.Baseline; b == nil || b.Accepted == 0 || b.Accepted != b.Requests || rep.ShareOfBaseline <= 0 {
		t.Errorf("baseline %+v, share %v: want every request accepted", b, rep.ShareOfBaseline)
	}
	if p := rep.Processed; p == nil || p.Source != SourceREST || !p.Complete || p.Stored != stored || p.Stored != s.Accepted {
		t.Errorf("processed %+v; the server stored %d, the client saw %d accepted", p, stored, s.Accepted)
	}
	if m := rep.RSS; m == nil || m.BeforeBytes != 30<<20 || m.AfterBytes < m.BeforeBytes || m.PeakBytes < m.AfterBytes {
		t.Errorf("RSS %+v", m)
	}
	// The fake's CPU counter grows by a millisecond a request.
	if c := rep.CPU; c == nil || c.Seconds < float64(s.Requests)/1000-1e-6 || c.PerStoredEventMS != 1000*c.Seconds/float64(stored) {
		t.Errorf("CPU %+v for %d requests, %d stored", c, s.Requests, stored)
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "answers were 429") {
		t.Errorf("notes %q, want one on the 429s", rep.Notes)
	}
	for _, ph := range []string{PhaseBaseline, PhaseLoad, PhaseDrain} {
		if _, ok := phases.Load(ph); !ok {
			t.Errorf("no final progress report of the %s phase", ph)
		}
	}
	if p, _ := phases.Load(PhaseLoad); p.(Progress).Requests != s.Requests {
		t.Errorf("the load's last progress says %d requests, the result %d", p.(Progress).Requests, s.Requests)
	}
}

// TestConcurrentRunsCountTheirOwnEvents: two runs at once against one
// project (as against several servers on one database) each count the
// events they sent, not the other's too, so neither ends its drain early
// on the other's events nor reports more stored than accepted.
func TestConcurrentRunsCountTheirOwnEvents(t *testing.T) {
	fake := newFake("t0ken")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	var reps [2]*Report
	var errs [2]error
	var wg sync.WaitGroup
	for i := range reps {
		wg.Go(func() {
			reps[i], errs[i] = Run(context.Background(), Config{
				DSN: strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1", Token: "t0ken",
				Duration: 500 * time.Millisecond, Connections: 2, Size: Size2K, Distinct: 2, DrainTimeout: 5 * time.Second,
			})
		})
	}
	wg.Wait()
	var accepted int64
	for i, rep := range reps {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		p := rep.Processed
		if p == nil || !p.Complete || p.Stored != rep.Server.Accepted {
			t.Errorf("run %d: processed %+v, want complete with its %d accepted events", i, p, rep.Server.Accepted)
		}
		accepted += rep.Server.Accepted
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if int64(len(fake.ids)) != accepted || len(fake.groups) != 2 {
		t.Errorf("the server stored %d events in %d environments; the runs had %d accepted, in one environment each", len(fake.ids), len(fake.groups), accepted)
	}
}

func TestRunWithoutTokenNotesWhatItMissed(t *testing.T) {
	srv := httptest.NewServer(newFake("secret"))
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		DSN: strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1", Duration: 200 * time.Millisecond,
		Connections: 2, Size: Size2K, Distinct: 1, DrainTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	var missed []string
	for _, n := range rep.Notes {
		if strings.Contains(n, "not measured") {
			missed = append(missed, n)
		}
	}
	if rep.Processed != nil || rep.RSS != nil || rep.CPU != nil || rep.Baseline != nil || len(missed) != 3 {
		t.Fatalf("report %+v: want no processed, RSS, CPU or baseline, and three notes on them", rep)
	}
	for _, n := range missed {
		if !strings.Contains(n, "--token") {
			t.Errorf("note %q does not say to pass --token", n)
		}
	}
}

func TestRunNotesAWrongKey(t *testing.T) {
	srv := httptest.NewServer(newFake("t0ken"))
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		DSN: strings.Replace(srv.URL, "http://", "http://wrong@", 1) + "/1", Token: "t0ken", Duration: 200 * time.Millisecond,
		Connections: 2, Size: Size2K, Distinct: 1, DrainTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Server.Accepted != 0 || rep.Server.Other == 0 || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "key or project is wrong") {
		t.Errorf("server %+v, notes %q", rep.Server, rep.Notes)
	}
}

func TestValidateKeepsKeyAndTokenOnTheDSNsServer(t *testing.T) {
	tests := []struct {
		name, dsn, url string
		other          bool
		want           string // in the error; "" for none
	}{
		{"same server", "http://k@127.0.0.1:8080/1", "http://127.0.0.1:8080/", false, ""},
		{"default port spelt out", "https://k@Errors.example.com/1", "https://errors.example.com:443", false, ""},
		{"another port", "http://k@127.0.0.1:8080/1", "http://127.0.0.1:18171", false, "the URL http://127.0.0.1:18171 is not the DSN's server http://127.0.0.1:8080"},
		{"another scheme", "https://k@errors.example.com/1", "http://errors.example.com", false, "not the DSN's server https://errors.example.com:443"},
		{"another host", "https://k@errors.example.com/1", "http://10.0.0.5:8080", false, "http://10.0.0.5:8080 is not the DSN's server"},
		{"another host, allowed", "https://k@errors.example.com/1", "http://10.0.0.5:8080", true, ""},
	}
	for _, tt := range tests {
		cfg := Config{DSN: tt.dsn, URL: tt.url, OtherServer: tt.other, Size: Size2K, Duration: time.Second, Connections: 1, Distinct: 1, DrainTimeout: time.Second}
		err := cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

// TestRunFollowsNoRedirectToAnotherServer: a server that redirects every
// request to another port of its host gets the DSN's key and the token;
// the other port gets nothing.
func TestRunFollowsNoRedirectToAnotherServer(t *testing.T) {
	var leaked atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.Header.Get("X-Sentry-Auth") != "" {
			leaked.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer elsewhere.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		DSN: strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1", Token: "t0ken", Duration: 200 * time.Millisecond,
		Connections: 1, Size: Size2K, Distinct: 1, Rate: 20, DrainTimeout: time.Second,
	})
	if err == nil || leaked.Load() != 0 {
		t.Fatalf("Run = %+v, %v; %d requests took the key or token to the other server", rep, err, leaked.Load())
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "another server than") {
		t.Errorf("notes %q do not say why the redirects were not followed", rep.Notes)
	}
}

func TestRunFailsWhenNothingAnswers(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := Run(context.Background(), Config{
		DSN: strings.Replace(url, "http://", "http://k3y@", 1) + "/1", Duration: 200 * time.Millisecond,
		Connections: 1, Size: Size2K, Distinct: 1, DrainTimeout: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "is the server running") {
		t.Fatalf("Run against a closed port = %v", err)
	}
}

// TestProbeReadsThePageIdleAndUnderLoad: the page probe reads the issue
// list before the load and while it runs, on a connection of its own and
// outside the load's figures, and a page slow under the load shows in
// its p95 there and not in the idle one.
func TestProbeReadsThePageIdleAndUnderLoad(t *testing.T) {
	const delay = 80 * time.Millisecond
	fake := newFake("t0ken")
	fake.pageDelay = delay
	srv := httptest.NewServer(fake)
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		DSN: strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1", Token: "t0ken",
		Duration: 700 * time.Millisecond, Connections: 2, Size: Size2K, Distinct: 2, DrainTimeout: 5 * time.Second,
		Probe: true, ProbeEvery: 20 * time.Millisecond, ProbeIdle: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := rep.Probe
	if p == nil {
		t.Fatalf("no probe in %+v", rep)
	}
	if p.Path != "/api/v1/projects/1/issues" || p.IntervalMS != 20 {
		t.Errorf("probe of %q every %v ms", p.Path, p.IntervalMS)
	}
	// 300 ms every 20 ms: 15 reads, fewer on a busy machine; 700 ms of
	// reads taking 80 ms each, one at a time: about 8.
	if i := p.Idle; i.Requests < 5 || i.Requests > 16 || i.OK != i.Requests || i.Non2xx != 0 || i.Errors != 0 {
		t.Errorf("idle %+v: want 5 to 16 reads, all 2xx", i)
	}
	if l := p.Load; l.Requests < 3 || l.Requests > 10 || l.OK != l.Requests {
		t.Errorf("under load %+v: want 3 to 10 reads, all 2xx", l)
	}
	if got := p.Idle.Requests + p.Load.Requests; got != fake.pages.Load() {
		t.Errorf("the probe counted %d reads, the server answered %d", got, fake.pages.Load())
	}
	if rep.Server.Requests != fake.requests.Load() {
		t.Errorf("the load counted %d requests, the server saw %d events: the probe's reads are not the load's", rep.Server.Requests, fake.requests.Load())
	}
	ms := float64(delay.Milliseconds())
	if i := p.Idle.Latency; i.P50 <= 0 || i.P95 < i.P50 || i.Max < i.P95 || i.P95 >= ms {
		t.Errorf("idle latency %+v, want ordered and under %v ms", i, ms)
	}
	if l := p.Load.Latency; l.P50 < ms || l.P95 < ms || l.Max < l.P95 {
		t.Errorf("latency under load %+v, want ordered and at least the page's %v ms", l, ms)
	}
	fake.mu.Lock()
	for a := range fake.pageAddrs {
		if fake.envelopeAddrs[a] {
			t.Errorf("page reads and events shared the connection from %s", a)
		}
	}
	if len(fake.pageAddrs) != 1 || len(fake.envelopeAddrs) > 2 {
		t.Errorf("page reads from %d connections, events from %d: want one, and no more than --connections", len(fake.pageAddrs), len(fake.envelopeAddrs))
	}
	fake.mu.Unlock()

	var js bytes.Buffer
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Probe *Probe `json:"probe"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil || doc.Probe == nil || *doc.Probe != *p {
		t.Errorf("JSON probe %+v, %v; want %+v", doc.Probe, err, p)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, rep); err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile(fmt.Sprintf(`\n +page p95 +%.1f ms +%.1f ms\n`, p.Idle.Latency.P95, p.Load.Latency.P95))
	if !strings.Contains(table.String(), "page probe: GET /api/v1/projects/1/issues, one at a time every 20 ms") || !row.MatchString(table.String()) {
		t.Errorf("table lacks the probe, or its p95 row (%v idle, %v under load):\n%s", p.Idle.Latency.P95, p.Load.Latency.P95, table.String())
	}
}

// TestProbeLeftOut: without a token the probe is not run and a note says
// so; --no-probe runs none and says nothing; a token the page refuses
// gets a note naming the status.
func TestProbeLeftOut(t *testing.T) {
	tests := []struct {
		name  string
		token string
		probe bool
		ran   bool
		note  []string // in a note on the probe, nil for none
	}{
		{"no token", "", true, false, []string{"page probe: not measured", "GET /api/v1/projects/1/issues", "--token"}},
		{"no probe", "t0ken", false, false, nil},
		{"refused", "wrong", true, true, []string{"page probe: of ", "401 Unauthorized", "pass a token that may read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake("t0ken")
			srv := httptest.NewServer(fake)
			defer srv.Close()
			rep, err := Run(context.Background(), Config{
				DSN: strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1", Token: tt.token,
				Duration: 200 * time.Millisecond, Connections: 2, Size: Size2K, Distinct: 1, DrainTimeout: time.Second,
				Probe: tt.probe, ProbeEvery: 20 * time.Millisecond, ProbeIdle: 100 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			var note string
			for _, n := range rep.Notes {
				if strings.HasPrefix(n, "page probe") {
					note = n
				}
			}
			switch {
			case tt.ran != (rep.Probe != nil):
				t.Errorf("probe %+v, want one: %v", rep.Probe, tt.ran)
			case !tt.ran && fake.pages.Load() != 0:
				t.Errorf("%d page reads, want none", fake.pages.Load())
			case tt.ran && (rep.Probe.Idle.Requests == 0 || rep.Probe.Load.Requests == 0 ||
				rep.Probe.Idle.Non2xx+rep.Probe.Load.Non2xx != rep.Probe.Idle.Requests+rep.Probe.Load.Requests):
				t.Errorf("probe %+v: want reads idle and under the load, all counted non-2xx", rep.Probe)
			case tt.note == nil && note != "":
				t.Errorf("note %q, want none on the probe", note)
			}
			for _, w := range tt.note {
				if !strings.Contains(note, w) {
					t.Errorf("note %q lacks %q", note, w)
				}
			}
			var table bytes.Buffer
			if err := WriteTable(&table, rep); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(table.String(), "page p95"); got != tt.ran {
				t.Errorf("table shows the probe: %v, want %v:\n%s", got, tt.ran, table.String())
			}
		})
	}
}

func TestPaceHoldsTheRate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	n := 0
	for range pace(ctx, 100) {
		n++
	}
	// 50 in 500 ms; generous bounds for a shared machine.
	if n < 25 || n > 55 {
		t.Errorf("%d tokens in 500ms at 100/s", n)
	}
}

var digits = regexp.MustCompile(`[0-9][0-9,]*`)

// normalise zeroes the figures that vary from run to run, so the golden
// file checks the report's shape and its settings.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch k {
			case "url":
				x[k] = "URL"
			case "notes":
				for i, n := range e.([]any) {
					e.([]any)[i] = digits.ReplaceAllString(n.(string), "N")
				}
			case "event_bytes", "connections", "distinct", "rate", "duration_seconds", "source", "complete", "size", "interval_ms":
			default:
				x[k] = normalise(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = normalise(x[i])
		}
	case float64:
		return 0
	}
	return v
}

func TestJSONGolden(t *testing.T) {
	fake := newFake("t0ken")
	srv := httptest.NewServer(fake)
	defer srv.Close()
	rep, err := Run(context.Background(), Config{
		DSN: strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1", Token: "t0ken",
		Duration: 300 * time.Millisecond, Connections: 2, Size: Size2K, Distinct: 4, Baseline: true, DrainTimeout: 2 * time.Second,
		Probe: true, ProbeEvery: 50 * time.Millisecond, ProbeIdle: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(normalise(doc), "", "  ")
	golden.Check(t, "report.golden.json", append(got, '\n'))
}

func TestTableGolden(t *testing.T) {
	lat := Latency{P50: 0.4, P90: 0.9, P99: 2.5, Max: 11}
	rep := &Report{
		URL: "http://127.0.0.1:8080", Size: Size2K, EventBytes: 2061, BodyBytes: 1012, Connections: 32, Seconds: 10, Distinct: 20,
		Baseline: &LoadResult{Requests: 405020, Accepted: 405020, Seconds: 10, AcceptedPerSec: 40502, Latency: lat},
		Server: LoadResult{Requests: 16000, Accepted: 14260, TooMany: 1200, Unavailable: 500, Other: 30, Errors: 10, Seconds: 10,
			AcceptedPerSec: 1426, Latency: Latency{P50: 20.1, P90: 60.7, P99: 97.3, Max: 412}},
		ShareOfBaseline: 1426.0 / 40502,
		Processed:       &Processed{Source: SourceREST, Stored: 14000, DrainSeconds: 30, PerSec: 350},
		RSS:             &Memory{BeforeBytes: 38 << 20, PeakBytes: 148 << 20, AfterBytes: 120 << 20},
		CPU:             &CPU{Seconds: 10.36, PerStoredEventMS: 0.74},
		Probe: &Probe{Path: "/api/v1/projects/1/issues", IntervalMS: 100,
			Idle: ProbeResult{Requests: 30, OK: 30, Seconds: 3, Latency: ProbeLatency{P50: 2.1, P95: 3.4, Max: 5}},
			Load: ProbeResult{Requests: 96, OK: 94, Non2xx: 1, Errors: 1, Seconds: 10, Latency: ProbeLatency{P50: 6.2, P95: 41.7, Max: 180.3}}},
		Notes: []string{"processed: 14,000 of 14,260 accepted events stored after 30s"},
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, rep); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "table.golden.txt", buf.Bytes())
}

func TestThousands(t *testing.T) {
	for in, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 40502: "40,502", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := Thousands(in); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestRunNotesConnectionsPastTheLimit: requests left unanswered from more
// connections than a Flytrap server lets one address hold are explained
// by that limit; from fewer, they are not put down to it.
func TestRunNotesConnectionsPastTheLimit(t *testing.T) {
	for _, tc := range []struct {
		connections int
		want        bool
	}{
		{connlimit.DefaultPerClient + 2, true},
		{4, false},
	} {
		t.Run(strconv.Itoa(tc.connections), func(t *testing.T) {
			fake := newFake("t0ken")
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Every third event request is closed unanswered, as
				// connlimit closes a connection past its limit.
				if r.URL.Path == "/api/1/envelope/" && n.Add(1)%3 == 0 {
					if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
						c.Close()
						return
					}
				}
				fake.ServeHTTP(w, r)
			}))
			defer srv.Close()
			rep, err := Run(context.Background(), Config{
				DSN: strings.Replace(srv.URL, "http://", "http://k3y@", 1) + "/1", Token: "t0ken", Duration: 300 * time.Millisecond,
				Connections: tc.connections, Size: Size2K, Distinct: 1, DrainTimeout: time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Server.Errors == 0 {
				t.Fatalf("server %+v: no request went unanswered", rep.Server)
			}
			notes := strings.Join(rep.Notes, "\n")
			if got := strings.Contains(notes, "--max-conns-per-client (128 by default)"); got != tc.want {
				t.Errorf("notes %q: naming the connection limit %v, want %v", rep.Notes, got, tc.want)
			}
			if tc.want && !strings.Contains(notes, "use --connections 120 or fewer") {
				t.Errorf("notes %q do not say how many connections to use", rep.Notes)
			}
		})
	}
}
