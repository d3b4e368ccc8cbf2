package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/bench"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/store"
)

// The batch sizes of flytrap bench's 2 KB load against flytrap dev on
// SQLite: events per group commit of ingest, and per claim of a worker
// (docs/benchmarks.md, "Where the 2 KB pipeline waits").
const (
	pipelineCommit = 14
	pipelineClaim  = 27
)

// pipelineEvents is how many envelopes BenchmarkPipeline2KB builds,
// whatever b.N: building them is the load tool's work, and a fixed count
// leaves it out of the difference between two -benchtime counts.
const pipelineEvents = 2000

var pipelineBodies = sync.OnceValues(func() ([][]byte, error) {
	return bench.Bodies(bench.Size2K, 20, pipelineEvents)
})

// BenchmarkPipeline2KB pushes b.N (at most pipelineEvents) of flytrap
// bench's 2 KB envelopes along an accepted event's path on SQLite, in one
// goroutine and in the batch sizes seen under load: ingest's handler
// decodes each request into a queue body, the queue commits them
// pipelineCommit at a time, and the processor of a server wired as flytrap
// dev wires it processes and saves them pipelineClaim at a time, each claim
// acknowledged after its save. Being one goroutine, it runs the same
// instructions on a loaded machine as on a quiet one: run under
// `valgrind --tool=callgrind` with two -benchtime counts, the difference
// of their instruction counts is the cost of the events between them
// (docs/benchmarks.md, "Issue 10: instructions per 2 KB event").
func BenchmarkPipeline2KB(b *testing.B) {
	bodies, err := pipelineBodies()
	if err != nil {
		b.Fatal(err)
	}
	if b.N > len(bodies) {
		b.Fatalf("-benchtime %dx: at most %d events", b.N, len(bodies))
	}
	ctx := context.Background()
	db := openPipelineDB(b, store.DialectSQLite)
	p, err := db.CreateProject(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	pdb, err := db.Pool(3)
	if err != nil {
		b.Fatal(err)
	}
	defer pdb.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := ingest.Config{RatePerMinute: -1, IPSalt: []byte("salt")}
	s := New(db, Config{Ingest: cfg, Workers: 2, Processing: pdb,
		Artifacts: artifact.Dir{Root: filepath.Join(b.TempDir(), "artifacts")}}, log)
	// The server's own handler enqueues each request in a commit of its
	// own here, one request at a time; this one hands its bodies to the
	// loop below, which commits them as a loaded server groups them.
	cfg.Backlog = s.queue
	captured := &capturingQueue{}
	h := ingest.New(cfg, pipelineKeys{project: p.ID}, captured, log)
	path := "/api/" + itoa(p.ID) + "/envelope/"

	b.ReportAllocs()
	b.ResetTimer()
	for served := 0; served < b.N; {
		claim := min(pipelineClaim, b.N-served)
		for i := range claim {
			req := httptest.NewRequest("POST", path, bytes.NewReader(bodies[served+i]))
			req.Header.Set("Content-Type", "application/x-sentry-envelope")
			req.Header.Set("Content-Encoding", "gzip")
			req.Header.Set("X-Sentry-Auth", "Sentry sentry_version=7, sentry_client=flytrap-bench/1, sentry_key=bench")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("event %d: status %d: %s", served+i, rec.Code, rec.Body)
			}
		}
		served += claim
		for len(captured.bodies) > 0 {
			n := min(pipelineCommit, len(captured.bodies))
			if err := s.queue.EnqueueBatch(ctx, captured.bodies[:n]); err != nil {
				b.Fatal(err)
			}
			captured.bodies = captured.bodies[n:]
		}
		captured.bodies = nil
		msgs, err := s.queue.Receive(ctx, pipelineClaim)
		if err != nil || len(msgs) != claim {
			b.Fatalf("claimed %d messages, %v; want %d", len(msgs), err, claim)
		}
		batch := make([][]byte, len(msgs))
		ids := make([]int64, len(msgs))
		for i, m := range msgs {
			batch[i], ids[i] = m.Body, m.ID
		}
		for i, out := range s.workers.Processor.ProcessBatch(ctx, batch) {
			if out.Err != nil || out.Result.Duplicate {
				b.Fatalf("event %d: %+v", i, out)
			}
		}
		if err := s.queue.AckBatch(ctx, ids); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var stored int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&stored); err != nil || stored != int64(b.N) {
		b.Fatalf("stored %d events, %v; want %d", stored, err, b.N)
	}
}

// capturingQueue keeps what ingest enqueues, for the caller to commit.
type capturingQueue struct{ bodies [][]byte }

func (q *capturingQueue) Enqueue(_ context.Context, body []byte) error {
	q.bodies = append(q.bodies, body)
	return nil
}

func (q *capturingQueue) EnqueueBatch(_ context.Context, bodies [][]byte) error {
	q.bodies = append(q.bodies, bodies...)
	return nil
}

// pipelineKeys resolves every public key to one project without a rate of
// its own, as a key set that holds it in memory does.
type pipelineKeys struct{ project int64 }

func (k pipelineKeys) ProjectForKey(context.Context, string) (ingest.Key, bool, error) {
	return ingest.Key{ProjectID: k.project}, true, nil
}
