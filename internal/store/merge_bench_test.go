package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// BenchmarkMergeLock merges an issue of n events into one of a single
// event on SQLite, while another goroutine saves an event every 10 ms as
// ingest would: it reports how long the merge took (the write lock is
// held for all of it) and the longest a save waited meanwhile.
// go test -run '^$' -bench MergeLock -benchtime 1x ./internal/store/
func BenchmarkMergeLock(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			db, p := benchDB(b, DialectSQLite)
			var ev event.Event
			if err := json.Unmarshal(benchPayload(b), &ev); err != nil {
				b.Fatal(err)
			}
			ev.ProjectID = p
			var seq atomic.Int64
			save := func(fp string, count int) int64 {
				var id int64
				for done := 0; done < count; done += 500 {
					reqs := make([]SaveRequest, min(500, count-done))
					for j := range reqs {
						e := ev
						e.EventID = fmt.Sprintf("%032x", seq.Add(1))
						reqs[j] = SaveRequest{Event: &e, Fingerprint: fp, GroupingVersion: "bench",
							Title: "TypeError", Culprit: "checkout.js in submit", UserKey: fmt.Sprintf("id:%d", j%200)}
					}
					res, err := db.SaveBatch(context.Background(), reqs)
					if err != nil {
						b.Fatal(err)
					}
					id = res[0].IssueID
				}
				return id
			}
			var into int64
			for range b.N {
				b.StopTimer()
				into = save(fmt.Sprintf("kept-%d", seq.Load()), 1)
				other := save(fmt.Sprintf("big-%d", seq.Load()), n)
				stop := make(chan struct{})
				var (
					wg      sync.WaitGroup
					longest time.Duration
				)
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						case <-time.After(10 * time.Millisecond):
						}
						start := time.Now()
						save(fmt.Sprintf("ingest-%d", seq.Load()), 1)
						longest = max(longest, time.Since(start))
					}
				})
				b.StartTimer()
				start := time.Now()
				if _, err := db.MergeIssues(context.Background(), System, p, []int64{other}, into); err != nil {
					b.Fatal(err)
				}
				took := time.Since(start)
				b.StopTimer()
				close(stop)
				wg.Wait()
				b.ReportMetric(float64(took.Milliseconds()), "merge-ms")
				b.ReportMetric(float64(longest.Milliseconds()), "max-save-wait-ms")
			}
		})
	}
}
