package queue

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// BenchmarkEnqueueParallel measures acknowledged enqueues from many
// concurrent producers, as ingest makes them under load. Run it with
// -cpu 1,2 -benchtime 2s; commits/op is how many transactions each message
// cost.
func BenchmarkEnqueueParallel(b *testing.B) {
	for _, bb := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "q.db") }},
		{"postgres", func(b *testing.B) string { return pgtest.URL(b) }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			db, err := store.Open(context.Background(), bb.dsn(b))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := Migrate(context.Background(), db); err != nil {
				b.Fatal(err)
			}
			q := NewLocal(db, Options{})
			defer q.Close()
			body := make([]byte, 2048)
			for i := range body {
				body[i] = 'a' + byte(i%26)
			}
			// 32 producers per CPU, the connections of the load client
			// the figures in docs/benchmarks.md come from.
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := q.Enqueue(context.Background(), body); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(q.commits.Load())/float64(b.N), "commits/op")
		})
	}
}
