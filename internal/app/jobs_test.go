package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestJobsRunAtOnceThenEveryInterval: a job runs when the runner starts,
// again after each interval, and its failures are counted, not fatal.
func TestJobsRunAtOnceThenEveryInterval(t *testing.T) {
	fixed := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name        string
		fail        bool
		wantSuccess int64 // last success timestamp
	}{
		{"succeeding", false, fixed.Unix()},
		{"failing", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := newJobs(slog.New(slog.DiscardHandler), func() time.Time { return fixed })
			var calls atomic.Int64
			var sawNow atomic.Bool
			js.Add(Job{Name: "j", Every: 10 * time.Millisecond, Run: func(_ context.Context, now time.Time) error {
				calls.Add(1)
				sawNow.Store(now.Equal(fixed))
				if tt.fail {
					return errors.New("boom")
				}
				return nil
			}})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				js.Run(ctx)
				close(done)
			}()
			deadline := time.Now().Add(5 * time.Second)
			for calls.Load() < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("%d runs in 5 s at a 10 ms interval", calls.Load())
				}
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			<-done
			if !sawNow.Load() {
				t.Error("the job was not given the registry's clock")
			}
			s := js.jobs[0]
			wantFailures := int64(0)
			if tt.fail {
				wantFailures = s.runs.Load()
			}
			if s.runs.Load() < 3 || s.failures.Load() != wantFailures || s.lastSuccess.Load() != tt.wantSuccess {
				t.Errorf("runs %d failures %d last success %d; want ≥3, %d, %d", s.runs.Load(), s.failures.Load(), s.lastSuccess.Load(), wantFailures, tt.wantSuccess)
			}
		})
	}
}

// TestJobsFirstRunIsImmediate: a restart does not postpone a job by its
// (hour-long) interval.
func TestJobsFirstRunIsImmediate(t *testing.T) {
	js := newJobs(slog.New(slog.DiscardHandler), time.Now)
	ran := make(chan struct{}, 1)
	js.Add(Job{Name: "hourly", Every: time.Hour, Run: func(context.Context, time.Time) error {
		ran <- struct{}{}
		return nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go js.Run(ctx)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("an hourly job did not run at start")
	}
}

// TestJobsDelayedFirstRun: a job with a Delay waits that long for its
// first run while the others run at once.
func TestJobsDelayedFirstRun(t *testing.T) {
	const delay = 200 * time.Millisecond
	js := newJobs(slog.New(slog.DiscardHandler), time.Now)
	ran := make(chan string, 2)
	for _, j := range []Job{{Name: "at-once"}, {Name: "delayed", Delay: delay}} {
		j.Every = time.Hour
		j.Run = func(context.Context, time.Time) error {
			ran <- j.Name
			return nil
		}
		js.Add(j)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	go js.Run(ctx)
	for _, want := range []string{"at-once", "delayed"} {
		select {
		case got := <-ran:
			if got != want {
				t.Fatalf("%s ran first, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s did not run within 5 s", want)
		}
	}
	if took := time.Since(start); took < delay {
		t.Errorf("the delayed job ran %v after start, before its %v delay", took, delay)
	}
}

func TestJobsAddRefusesInvalidJobs(t *testing.T) {
	run := func(context.Context, time.Time) error { return nil }
	tests := []struct {
		name string
		job  Job
	}{
		{"no name", Job{Every: time.Second, Run: run}},
		{"no func", Job{Name: "x", Every: time.Second}},
		{"no interval", Job{Name: "x", Run: run}},
		{"negative delay", Job{Name: "x", Every: time.Second, Delay: -time.Second, Run: run}},
		{"duplicate", Job{Name: "taken", Every: time.Second, Run: run}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			js := newJobs(slog.New(slog.DiscardHandler), time.Now)
			js.Add(Job{Name: "taken", Every: time.Second, Run: run})
			defer func() {
				if recover() == nil {
					t.Errorf("Add(%+v) accepted", tt.job)
				}
			}()
			js.Add(tt.job)
		})
	}
}

// TestJobsMetrics: every registered job has a series, before its first
// run too, so a job that never runs shows as 0 instead of missing.
func TestJobsMetrics(t *testing.T) {
	js := newJobs(slog.New(slog.DiscardHandler), time.Now)
	for _, name := range []string{"a", "b"} {
		js.Add(Job{Name: name, Every: time.Hour, Run: func(context.Context, time.Time) error { return nil }})
	}
	js.jobs[1].runs.Store(4)
	js.jobs[1].failures.Store(1)
	var b strings.Builder
	js.WriteMetrics(&b)
	for _, want := range []string{
		"# TYPE flytrap_job_runs_total counter\n",
		`flytrap_job_runs_total{job="a"} 0` + "\n",
		`flytrap_job_runs_total{job="b"} 4` + "\n",
		`flytrap_job_failures_total{job="b"} 1` + "\n",
		`flytrap_job_last_success_timestamp_seconds{job="a"} 0` + "\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
	if got := strings.Join(js.Names(), ","); got != "a,b" {
		t.Errorf("Names() = %s, want a,b", got)
	}
}
