package server

import (
	"context"
	"fmt"
	"io"
	"sort"
	"sync/atomic"
	"time"

	"github.com/getflytrap/flytrap/internal/ops"
	"github.com/getflytrap/flytrap/internal/store"
)

// metrics counts what the processor did; ingest keeps its own counters.
type metrics struct {
	processed   atomic.Int64
	duplicates  atomic.Int64
	newIssues   atomic.Int64
	regressions atomic.Int64
	failures    atomic.Int64
}

// countingSaver counts outcomes on their way from the processor to the
// store, so the processor stays free of metrics plumbing.
type countingSaver struct {
	db *store.DB
	m  *metrics
}

func (c *countingSaver) SaveBatch(ctx context.Context, reqs []store.SaveRequest, hooks ...store.TxHook) ([]store.SaveResult, error) {
	results, err := c.db.SaveBatch(ctx, reqs, hooks...)
	if err != nil {
		// The processor saves the events of a failed batch again one by
		// one, so only a batch of one is an event's own failure.
		if len(reqs) == 1 {
			c.m.failures.Add(1)
		}
		return nil, err
	}
	for _, res := range results {
		switch {
		case res.Duplicate:
			c.m.duplicates.Add(1)
		default:
			c.m.processed.Add(1)
			if res.NewIssue {
				c.m.newIssues.Add(1)
			}
			if res.Regression {
				c.m.regressions.Add(1)
			}
		}
	}
	return results, nil
}

// SaveFeedback stores feedback; the event counters leave it out.
func (c *countingSaver) SaveFeedback(ctx context.Context, reqs []store.FeedbackRequest) ([]store.FeedbackResult, error) {
	return c.db.SaveFeedback(ctx, reqs)
}

// SaveSessions counts sessions; the event counters leave them out.
func (c *countingSaver) SaveSessions(ctx context.Context, reqs []store.SessionsRequest) ([]store.SessionsResult, error) {
	return c.db.SaveSessions(ctx, reqs)
}

// SaveCheckIns stores check-ins; the event counters leave them out.
func (c *countingSaver) SaveCheckIns(ctx context.Context, reqs []store.CheckInRequest) ([]store.CheckInResult, error) {
	return c.db.SaveCheckIns(ctx, reqs)
}

// writeMetrics writes the samples only the local pipeline has (ingest, the
// processor, the local queue) in the Prometheus text format; app writes the
// shared ones.
func (s *Server) writeMetrics(ctx context.Context, w io.Writer) {
	st := s.ingest.Stats()
	counter(w, "flytrap_ingest_accepted_total", "Events accepted and queued by ingest.", int64(st.Accepted))
	counter(w, "flytrap_ingest_dropped_items_total", "Envelope items accepted but not kept (transactions, attachments, invalid sessions...).", int64(st.DroppedItems))
	fmt.Fprintln(w, "# HELP flytrap_ingest_rejected_total Requests rejected by ingest, by reason.")
	fmt.Fprintln(w, "# TYPE flytrap_ingest_rejected_total counter")
	reasons := make([]string, 0, len(st.Rejected))
	for k := range st.Rejected {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	for _, k := range reasons {
		fmt.Fprintf(w, "flytrap_ingest_rejected_total{reason=%q} %d\n", k, st.Rejected[k])
	}
	counter(w, "flytrap_events_processed_total", "Events stored by the processor.", s.metrics.processed.Load())
	counter(w, "flytrap_events_duplicate_total", "Redelivered events the processor had already stored.", s.metrics.duplicates.Load())
	counter(w, "flytrap_issues_created_total", "Issues created.", s.metrics.newIssues.Load())
	counter(w, "flytrap_issues_regressed_total", "Resolved issues reopened by a new event.", s.metrics.regressions.Load())
	counter(w, "flytrap_process_failures_total", "Events whose processing failed and was retried.", s.metrics.failures.Load())
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if ready, dead, err := s.queue.Depth(ctx); err == nil {
		gauge(w, "flytrap_queue_ready", "Messages waiting in the local queue.", ready)
		gauge(w, "flytrap_queue_dead", "Messages in the dead-letter table.", dead)
	}
}

func counter(w io.Writer, name, help string, v int64) {
	ops.Metric(w, name, "counter", help, v)
}

func gauge(w io.Writer, name, help string, v int64) {
	ops.Metric(w, name, "gauge", help, v)
}
