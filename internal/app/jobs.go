package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Job is named work that runs periodically in the process that serves the
// web face: once when the jobs start (or Delay after), so a restart never
// postpones it by a whole interval, then every Every.
type Job struct {
	// Name identifies the job in logs and in the job="..." label of its
	// metrics; it is unique within a registry.
	Name string
	// Every is the time between the end of one run and the start of the
	// next, so a slow run is never overlapped by another.
	Every time.Duration
	// Delay is how long after the jobs start the first run waits (0: it
	// runs at once). Heavy jobs wait, so that after a restart under load
	// they do not compete with the workers catching up on the queue.
	Delay time.Duration
	// Run does the work as of now. An error is logged and counted; the job
	// runs again at its next turn.
	Run func(ctx context.Context, now time.Time) error
}

// Jobs is the registry and runner of background jobs. Both assemblies get
// the same jobs from New (event retention, session pruning); work that
// belongs to every server rather than to one request, such as outbox
// delivery or artifact cleanup, is registered here too, with WithJob,
// instead of in a goroutine of its own.
type Jobs struct {
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	jobs    []*jobState
	started bool
}

// jobState is a job and its counters.
type jobState struct {
	Job
	runs, failures atomic.Int64
	lastSuccess    atomic.Int64 // unix seconds, 0 before the first
}

func newJobs(log *slog.Logger, now func() time.Time) *Jobs {
	return &Jobs{log: log, now: now}
}

// Add registers j. Like http.ServeMux.Handle it panics on a programming
// error: an empty or duplicate name, no Run, an interval that is not
// positive, a negative delay, or a registry that is already running.
func (js *Jobs) Add(j Job) {
	js.mu.Lock()
	defer js.mu.Unlock()
	switch {
	case js.started:
		panic(fmt.Sprintf("app: job %q added after the jobs started; register it with WithJob", j.Name))
	case j.Name == "" || j.Run == nil || j.Every <= 0 || j.Delay < 0:
		panic(fmt.Sprintf("app: job %q needs a name, a Run func, a positive interval and a delay not negative (got %v, %v)", j.Name, j.Every, j.Delay))
	}
	for _, s := range js.jobs {
		if s.Name == j.Name {
			panic(fmt.Sprintf("app: job %q registered twice", j.Name))
		}
	}
	js.jobs = append(js.jobs, &jobState{Job: j})
}

// Names lists the registered jobs in registration order.
func (js *Jobs) Names() []string {
	js.mu.Lock()
	defer js.mu.Unlock()
	names := make([]string, len(js.jobs))
	for i, s := range js.jobs {
		names[i] = s.Name
	}
	return names
}

// Run runs every job until ctx ends and returns once all have stopped; a
// run in progress sees ctx cancelled and is not waited for beyond that.
func (js *Jobs) Run(ctx context.Context) {
	js.mu.Lock()
	js.started = true
	jobs := append([]*jobState(nil), js.jobs...)
	js.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			js.loop(ctx, s)
		}()
	}
	wg.Wait()
}

func (js *Jobs) loop(ctx context.Context, s *jobState) {
	t := time.NewTimer(s.Delay)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		js.runOnce(ctx, s)
		t.Reset(s.Every)
	}
}

func (js *Jobs) runOnce(ctx context.Context, s *jobState) {
	start := time.Now()
	err := s.Run(ctx, js.now())
	if ctx.Err() != nil {
		return // shutting down: an interrupted run is neither a run nor a failure
	}
	s.runs.Add(1)
	if err != nil {
		s.failures.Add(1)
		js.log.Error("background job failed; it runs again at its next turn", "job", s.Name, "every", s.Every, "err", err)
		return
	}
	s.lastSuccess.Store(js.now().Unix())
	js.log.Debug("background job done", "job", s.Name, "took", time.Since(start))
}

// WriteMetrics writes each job's runs, failures and last success in the
// Prometheus text format, one series per job (label job), registered jobs
// that have not run yet included.
func (js *Jobs) WriteMetrics(w io.Writer) {
	js.mu.Lock()
	jobs := append([]*jobState(nil), js.jobs...)
	js.mu.Unlock()
	for _, m := range []struct {
		name, typ, help string
		value           func(*jobState) int64
	}{
		{"flytrap_job_runs_total", "counter", "Completed runs of a background job, failed ones included.", func(s *jobState) int64 { return s.runs.Load() }},
		{"flytrap_job_failures_total", "counter", "Runs of a background job that failed.", func(s *jobState) int64 { return s.failures.Load() }},
		{"flytrap_job_last_success_timestamp_seconds", "gauge", "When a background job last succeeded (0: never).", func(s *jobState) int64 { return s.lastSuccess.Load() }},
	} {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, s := range jobs {
			fmt.Fprintf(w, "%s{job=%q} %d\n", m.name, s.Name, m.value(s))
		}
	}
}
