package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultProbeIdle is how long the page probe reads the page before the
// load starts, when Config.ProbeIdle is 0.
const DefaultProbeIdle = 3 * time.Second

// probeTimeout bounds one page read: a page that takes longer is counted
// as unanswered rather than stalling the probe.
const probeTimeout = 10 * time.Second

// Probe is what the page probe saw: the time a user waits for a page of
// the server, idle and under the load.
type Probe struct {
	// Path is the page read, under the server's base URL.
	Path string `json:"path"`
	// IntervalMS is how often a read starts, one at a time.
	IntervalMS float64 `json:"interval_ms"`
	// Idle is before the load starts; Load is while it sends.
	Idle ProbeResult `json:"idle"`
	Load ProbeResult `json:"load"`
}

// ProbeResult is the page probe's reads in one phase.
type ProbeResult struct {
	// Requests counts reads sent, answered or not.
	Requests int64 `json:"requests"`
	// OK counts 2xx answers.
	OK int64 `json:"ok"`
	// Non2xx counts answers with any other status.
	Non2xx int64 `json:"non_2xx"`
	// Errors counts reads that got no answer (refused, reset, timed out).
	Errors int64 `json:"errors"`
	// Seconds is how long the phase probed for.
	Seconds float64 `json:"seconds"`
	// Latency is over 2xx answers only, from sending the request to
	// reading the whole page.
	Latency ProbeLatency `json:"latency_ms"`
}

// ProbeLatency holds percentiles of the page's time, in milliseconds.
type ProbeLatency struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// prober reads one page of the server with the API token, one read at a
// time, on a client and connection of its own: the load's connections,
// all busy, would otherwise queue its reads behind events, which is not
// what a user of the dashboard waits for.
type prober struct {
	url, token string
	every      time.Duration
	client     *http.Client

	mu     sync.Mutex
	status string // the first non-2xx status seen, for the note
}

func newProber(base, path, token string, every time.Duration) *prober {
	tr := &http.Transport{
		Proxy:               nil, // reads go only where the user pointed the load
		MaxConnsPerHost:     1,
		MaxIdleConnsPerHost: 1,
		ForceAttemptHTTP2:   false,
	}
	return &prober{
		url: base + path, token: token, every: every,
		client: &http.Client{Transport: tr, Timeout: probeTimeout, CheckRedirect: stayOnServer},
	}
}

// run reads the page every p.every until until ends, counting the reads
// in c (requests, accepted for 2xx, other and errors), and returns them. A read starts no sooner than p.every after the
// one before started, and not before that one is answered: a slow server
// gets no burst of reads to catch up. The read in flight when until ends
// finishes and is counted; one cut short by ctx (Ctrl-C) is not counted.
func (p *prober) run(ctx, until context.Context, c *counters) ProbeResult {
	var lat []time.Duration
	start := time.Now()
	next := start
	timer := time.NewTimer(0)
	defer timer.Stop()
	for until.Err() == nil {
		if d, ok := p.read(ctx, c); ok {
			lat = append(lat, d)
		}
		next = next.Add(p.every)
		if now := time.Now(); next.Before(now) {
			next = now
		}
		timer.Reset(time.Until(next))
		select {
		case <-timer.C:
		case <-until.Done():
		}
	}
	r := ProbeResult{
		Requests: c.requests.Load(), OK: c.accepted.Load(), Non2xx: c.other.Load(), Errors: c.errors.Load(),
		Seconds: time.Since(start).Seconds(),
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		r.Latency = ProbeLatency{P50: rank(lat, 0.50), P95: rank(lat, 0.95), Max: ms(lat[len(lat)-1])}
	}
	return r
}

// read GETs the page once and counts the answer; it reports the time to
// read the whole page and whether it was a 2xx.
func (p *prober) read(ctx context.Context, c *counters) (time.Duration, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		c.requests.Add(1)
		c.errors.Add(1)
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("User-Agent", "flytrap-bench/1")
	t0 := time.Now()
	resp, err := p.client.Do(req)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if ctx.Err() != nil {
		return 0, false
	}
	d := time.Since(t0)
	c.requests.Add(1)
	switch {
	case err != nil:
		c.errors.Add(1)
		return 0, false
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		c.other.Add(1)
		p.mu.Lock()
		if p.status == "" {
			p.status = resp.Status
		}
		p.mu.Unlock()
		return 0, false
	}
	c.accepted.Add(1)
	return d, true
}

// note says what went wrong with the probe's reads, if anything did: a
// token that may not read the project, or a server that did not answer.
func (p *prober) note(pr *Probe) string {
	non2xx, errs := pr.Idle.Non2xx+pr.Load.Non2xx, pr.Idle.Errors+pr.Load.Errors
	var parts []string
	if non2xx > 0 {
		p.mu.Lock()
		status := p.status
		p.mu.Unlock()
		parts = append(parts, fmt.Sprintf("%s answered other than 2xx, the first %s (401 or 403: pass a token that may read the DSN's project)", Thousands(non2xx), status))
	}
	if errs > 0 {
		parts = append(parts, fmt.Sprintf("%s not answered within %s", Thousands(errs), probeTimeout))
	}
	if parts == nil {
		return ""
	}
	return fmt.Sprintf("page probe: of %s reads of %s, %s; they are left out of its latency", Thousands(pr.Idle.Requests+pr.Load.Requests), pr.Path, strings.Join(parts, "; "))
}
