package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Environment begins the environment of every event bench sends, so its
// issues can be told apart from real ones.
const Environment = "flytrap-bench"

// runEnvironment is the environment of one run's events, Environment and
// the run's ID: the issues' counts in it are that run's events alone,
// whatever other runs send to the same project at the same time (several
// servers on one database) or left behind.
func runEnvironment(run string) string { return Environment + "-" + run }

// target reads a Flytrap server's figures: its memory from /metrics and
// how many of the run's events it has stored.
type target struct {
	base    string // scheme://host[:port], no trailing slash
	project int64
	env     string // the run's, runEnvironment
	token   string
	client  *http.Client
}

// get fetches base+path with the API token, if any, and fails on any
// status but 200 with what to do about it.
func (t *target) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.base+path, nil)
	if err != nil {
		return nil, err
	}
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		return b, nil
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("GET %s: %s: pass an admin's API token with --token or FLYTRAP_TOKEN", path, resp.Status)
	}
	return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
}

// metrics returns /metrics's unlabelled samples by name.
func (t *target) metrics(ctx context.Context) (map[string]float64, error) {
	b, err := t.get(ctx, "/metrics")
	if err != nil {
		return nil, err
	}
	return parseMetrics(string(b)), nil
}

// parseMetrics reads the samples without labels of a Prometheus text
// exposition; bench needs no others.
func parseMetrics(s string) map[string]float64 {
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(strings.Fields(val)[0], 64); err == nil {
			m[name] = v
		}
	}
	return m
}

// rss returns the server's resident memory, from /metrics.
func (t *target) rss(ctx context.Context) (int64, error) {
	v, err := t.metric(ctx, "process_resident_memory_bytes", "not Linux")
	return int64(v), err
}

// cpuReading is the CPU time a server has used and when it started, both
// in seconds; started is 0 from a server that does not say.
type cpuReading struct{ seconds, started float64 }

// cpu returns the CPU time the server has used and its start time, from
// /metrics.
func (t *target) cpu(ctx context.Context) (cpuReading, error) {
	m, err := t.metrics(ctx)
	if err != nil {
		return cpuReading{}, err
	}
	v, ok := m["process_cpu_seconds_total"]
	if !ok {
		return cpuReading{}, errors.New("the server's /metrics has no process_cpu_seconds_total (an older Flytrap, or not Unix)")
	}
	return cpuReading{seconds: v, started: m["process_start_time_seconds"]}, nil
}

// cpuUsed is the CPU time the server used from before to after, or an
// error when it restarted in between: its counter started again from
// zero, so the difference says nothing.
func cpuUsed(before, after cpuReading) (float64, error) {
	switch {
	case before.started != 0 && after.started != 0 && before.started != after.started:
		return 0, errors.New("the server restarted during the run (its start time changed)")
	case after.seconds < before.seconds:
		return 0, errors.New("the server restarted during the run (its CPU counter went back)")
	}
	return after.seconds - before.seconds, nil
}

// metric returns one unlabelled sample of the server's /metrics; where
// says on which systems a Flytrap server leaves it out.
func (t *target) metric(ctx context.Context, name, where string) (float64, error) {
	m, err := t.metrics(ctx)
	if err != nil {
		return 0, err
	}
	v, ok := m[name]
	if !ok {
		return 0, fmt.Errorf("the server's /metrics has no %s (an older Flytrap, or %s)", name, where)
	}
	return v, nil
}

// Sources of the stored count.
const (
	// SourceREST sums the event counts of the project's issues in the
	// run's environment through /api/v1: the run's events stored and
	// queryable.
	SourceREST = "rest"
	// SourceMetrics reads flytrap_events_processed_total, for a server
	// run without an API token at hand (flytrap dev's open /metrics).
	SourceMetrics = "metrics"
)

// stored returns how many events the server has stored: the run's,
// counted through the REST API, when there is a token, else all it has
// processed, through /metrics.
func (t *target) stored(ctx context.Context) (int64, string, error) {
	if t.token == "" {
		m, err := t.metrics(ctx)
		if err != nil {
			return 0, SourceMetrics, err
		}
		v, ok := m["flytrap_events_processed_total"]
		if !ok {
			return 0, SourceMetrics, errors.New("the server's /metrics has no flytrap_events_processed_total (its processor runs elsewhere): pass --token to count through the REST API")
		}
		return int64(v), SourceMetrics, nil
	}
	var total int64
	q := url.Values{"environment": {t.env}, "limit": {"100"}}
	for {
		b, err := t.get(ctx, fmt.Sprintf("/api/v1/projects/%d/issues?%s", t.project, q.Encode()))
		if err != nil {
			return 0, SourceREST, err
		}
		var page struct {
			Data []struct {
				Count int64 `json:"count"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return 0, SourceREST, fmt.Errorf("issues of project %d: %w", t.project, err)
		}
		for _, is := range page.Data {
			total += is.Count
		}
		if page.NextCursor == "" {
			return total, SourceREST, nil
		}
		q.Set("cursor", page.NextCursor)
	}
}
