package bench

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/ops"
)

// LoadResult is what one phase of load (the baseline or the server) saw.
type LoadResult struct {
	// Requests counts requests sent, answered or not.
	Requests int64 `json:"requests"`
	// Accepted counts 2xx answers: events the server took.
	Accepted int64 `json:"accepted"`
	// TooMany counts 429s (the server's rate limit).
	TooMany int64 `json:"status_429"`
	// Unavailable counts 503s (ingest pushing back).
	Unavailable int64 `json:"status_503"`
	// Other counts every other status.
	Other int64 `json:"status_other"`
	// Errors counts requests that got no answer (refused, reset, timed out).
	Errors int64 `json:"errors"`
	// Seconds is how long the phase sent for.
	Seconds float64 `json:"seconds"`
	// AcceptedPerSec is Accepted over Seconds.
	AcceptedPerSec float64 `json:"accepted_per_sec"`
	// Latency is over accepted requests only: a fast refusal is not a
	// fast ingest.
	Latency Latency `json:"latency_ms"`
}

// Latency holds percentiles of request time, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// percentiles returns the nearest-rank percentiles of d, which it sorts.
func percentiles(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	return Latency{P50: rank(d, 0.50), P90: rank(d, 0.90), P99: rank(d, 0.99), Max: ms(d[len(d)-1])}
}

// rank returns the nearest-rank p-th percentile of sorted, which is not
// empty, in milliseconds.
func rank(sorted []time.Duration, p float64) float64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return ms(sorted[max(i, 0)])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// counters are a phase's running totals, read by the progress view while
// the workers add to them.
type counters struct {
	requests, accepted, tooMany, unavailable, other, errors atomic.Int64
}

// load is one phase: conns workers posting to url for d, at most rate
// requests a second in all (0: as fast as they can).
type load struct {
	url      string
	header   http.Header
	conns    int
	d        time.Duration
	rate     float64
	payloads *payloads
	run      string
	seq      *atomic.Uint64
	c        *counters
}

// requestTimeout bounds one request; a server that takes longer is
// counted as an error rather than stalling the run.
const requestTimeout = 30 * time.Second

// do runs the phase and returns its result.
func (l *load) do(ctx context.Context) LoadResult {
	tr := &http.Transport{
		Proxy:               nil, // load goes only where the user pointed it
		MaxIdleConnsPerHost: l.conns,
		MaxConnsPerHost:     l.conns,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: requestTimeout, CheckRedirect: stayOnServer}
	// The end of the phase stops new requests but lets those in flight
	// finish and be counted: the server stores what it accepted then,
	// and the stored count must match the accepted one.
	sending, stop := context.WithTimeout(ctx, l.d)
	defer stop()

	var tokens <-chan struct{}
	if l.rate > 0 {
		tokens = pace(sending, l.rate)
	}
	lat := make([][]time.Duration, l.conns)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range l.conns {
		wg.Go(func() {
			for sending.Err() == nil {
				if tokens != nil {
					if _, ok := <-tokens; !ok {
						return
					}
				}
				if d, ok := l.send(ctx, client); ok {
					lat[i] = append(lat[i], d)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, s := range lat {
		all = append(all, s...)
	}
	r := LoadResult{
		Requests:    l.c.requests.Load(),
		Accepted:    l.c.accepted.Load(),
		TooMany:     l.c.tooMany.Load(),
		Unavailable: l.c.unavailable.Load(),
		Other:       l.c.other.Load(),
		Errors:      l.c.errors.Load(),
		Seconds:     elapsed.Seconds(),
		Latency:     percentiles(all),
	}
	r.AcceptedPerSec = float64(r.Accepted) / r.Seconds
	return r
}

// send posts one event and counts its answer; it reports the request's
// time and whether it was accepted. A request cut short by the run's
// cancellation (Ctrl-C) is not counted at all.
func (l *load) send(ctx context.Context, client *http.Client) (time.Duration, bool) {
	seq := l.seq.Add(1)
	body := l.payloads.body(int(seq%uint64(len(l.payloads.groups))), eventID(l.run, seq))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(body))
	if err != nil {
		l.c.requests.Add(1)
		l.c.errors.Add(1)
		return 0, false
	}
	req.Header = l.header.Clone()
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.c.requests.Add(1)
			l.c.errors.Add(1)
		}
		return 0, false
	}
	// Reading the answer lets the connection serve the next request.
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	l.c.requests.Add(1)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		l.c.accepted.Add(1)
		return d, true
	case resp.StatusCode == http.StatusTooManyRequests:
		l.c.tooMany.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable:
		l.c.unavailable.Add(1)
	default:
		l.c.other.Add(1)
	}
	return d, false
}

// pace returns a channel that yields rate tokens a second until ctx ends,
// then closes. Tokens are handed out on a fixed schedule, so a slow
// server does not make the client send in bursts to catch up.
func pace(ctx context.Context, rate float64) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		interval := time.Duration(float64(time.Second) / rate)
		next := time.Now()
		for {
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
			next = next.Add(interval)
			if wait := time.Until(next); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return
				}
			} else if wait < -time.Second {
				// Behind by more than a second: skip, don't burst.
				next = time.Now()
			}
		}
	}()
	return ch
}

// baselineServer serves bareServer with the main server's header bounds,
// so that the baseline reads requests as the measured server does and a
// request stalled on it holds no more.
func baselineServer() *http.Server {
	return &http.Server{Handler: bareServer(), ReadHeaderTimeout: ops.ReadHeaderTimeout, MaxHeaderBytes: ops.MaxHeaderBytes}
}

// bareServer answers every request with 200 after reading its body: the
// fastest any HTTP server on this machine can accept, measured with the
// same client in the same run.
func bareServer() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	})
}
