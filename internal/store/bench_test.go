package store

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// benchPayload is a typical JavaScript error event: 20 frames with context,
// 30 breadcrumbs, tags and a request, about 12 KB of JSON.
func benchPayload(b *testing.B) []byte {
	b.Helper()
	ev := event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 1, Level: "error", Platform: "javascript",
		Release: "web@1.2.3", Environment: "production", Message: "checkout failed",
		Tags:    []event.Tag{{Key: "browser", Value: "Chrome 130"}, {Key: "os", Value: "Windows 11"}, {Key: "url", Value: "https://shop.example.com/checkout?step=2"}},
		Request: &event.Request{Method: "POST", URL: "https://shop.example.com/api/orders", Headers: [][2]string{{"User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"}}},
	}
	ex := event.Exception{Type: "TypeError", Value: "Cannot read properties of undefined (reading 'total')"}
	for i := range 20 {
		ex.Frames = append(ex.Frames, event.Frame{
			Filename: fmt.Sprintf("/static/js/chunk-%d.js", i%5), AbsPath: fmt.Sprintf("https://shop.example.com/static/js/chunk-%d.js", i%5),
			Function: fmt.Sprintf("handler%d", i), Lineno: 100 + i, Colno: 12,
			ContextLine: "  return order.summary.total;", PreContext: []string{"function submit(order) {", "  validate(order);"}, PostContext: []string{"}", ""},
		})
	}
	ev.Exceptions = []event.Exception{ex}
	for i := range 30 {
		ev.Breadcrumbs = append(ev.Breadcrumbs, event.Breadcrumb{Category: "xhr", Level: "info", Message: fmt.Sprintf("GET /api/cart/%d", i)})
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// BenchmarkPayload compares the stored zstd payload with the raw DEFLATE
// that earlier versions wrote (and decompress still reads): ns/op for each
// direction and the compressed size.
func BenchmarkPayload(b *testing.B) {
	raw := benchPayload(b)
	fw, err := flate.NewWriter(nil, flate.DefaultCompression)
	if err != nil {
		b.Fatal(err)
	}
	deflateRaw := func() []byte {
		var buf bytes.Buffer
		buf.Grow(len(raw)/4 + 64) // as the store's DEFLATE writer did
		fw.Reset(&buf)
		fw.Write(raw)
		fw.Close()
		return buf.Bytes()
	}
	deflated, zstded := deflateRaw(), compress(raw)
	b.Run("deflate/compress", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			deflateRaw()
		}
		b.ReportMetric(float64(len(deflated)), "stored-bytes")
	})
	b.Run("zstd/compress", func(b *testing.B) {
		b.SetBytes(int64(len(raw)))
		for b.Loop() {
			compress(raw)
		}
		b.ReportMetric(float64(len(zstded)), "stored-bytes")
	})
	for _, c := range []struct {
		name   string
		stored []byte
	}{{"deflate/decompress", deflated}, {"zstd/decompress", zstded}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				out, err := decompress(c.stored)
				if err != nil || !bytes.Equal(out, raw) {
					b.Fatal("round trip failed", err)
				}
			}
		})
	}
}

// BenchmarkSaveEvent stores events of 50 issues in a SQLite file with the
// durability settings of `flytrap dev` (WAL, synchronous=FULL): the
// processor's cost per event.
func BenchmarkSaveEvent(b *testing.B) {
	dir, err := os.MkdirTemp("", "flytrap-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(dir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	p, err := db.CreateProject(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var ev event.Event
	if err := json.Unmarshal(benchPayload(b), &ev); err != nil {
		b.Fatal(err)
	}
	ev.ProjectID = p.ID
	i := 0
	for b.Loop() {
		e := ev
		e.EventID = fmt.Sprintf("%032x", i+1)
		req := SaveRequest{Event: &e, Fingerprint: fmt.Sprintf("fp-%d", i%50), GroupingVersion: "bench",
			Title: "TypeError", Culprit: "checkout.js in submit", UserKey: fmt.Sprintf("id:%d", i%200)}
		if _, err := db.SaveEvent(ctx, req); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchDB opens an empty store of dialect with one project, SQLite in a
// file with the settings of flytrap dev.
func benchDB(b *testing.B, dialect string) (*DB, int64) {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), "bench.db")
	if dialect == DialectPostgres {
		dsn = pgtest.URL(b)
	}
	db, err := Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	p, err := db.CreateProject(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return db, p.ID
}

// benchBatches saves batches of size events of the benchPayload event,
// from workers goroutines at once, each event's fingerprint chosen by
// fingerprint from its sequence number; it reports events/s.
func benchBatches(b *testing.B, db *DB, projectID int64, workers, size int, fingerprint func(i int64) string) {
	var ev event.Event
	if err := json.Unmarshal(benchPayload(b), &ev); err != nil {
		b.Fatal(err)
	}
	ev.ProjectID = projectID
	var seq atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	per := (b.N + workers - 1) / workers
	for range workers {
		wg.Go(func() {
			for done := 0; done < per; done += size {
				reqs := make([]SaveRequest, size)
				for j := range reqs {
					i := seq.Add(1)
					e := ev
					e.EventID = fmt.Sprintf("%032x", i)
					reqs[j] = SaveRequest{Event: &e, Fingerprint: fingerprint(i), GroupingVersion: "bench",
						Title: "TypeError", Culprit: "checkout.js in submit", UserKey: fmt.Sprintf("id:%d", i%200)}
				}
				if _, err := db.SaveBatch(context.Background(), reqs); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(seq.Load())/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSaveBatch stores the events of BenchmarkSaveEvent ten to a
// transaction, as the processor saves the messages a worker claims or an
// SQS batch, spread over 50 issues, on both dialects.
func BenchmarkSaveBatch(b *testing.B) {
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		b.Run(dialect, func(b *testing.B) {
			db, p := benchDB(b, dialect)
			benchBatches(b, db, p, 1, 10, func(i int64) string { return fmt.Sprintf("fp-%d", i%50) })
		})
	}
}

// BenchmarkHotIssue saves batches of ten from four concurrent savers, as
// four workers or Lambdas do, either all of one issue (one fingerprint
// receiving the whole load) or each saver its own issues: the cost of the
// issue row that every save of an issue updates.
func BenchmarkHotIssue(b *testing.B) {
	tests := []struct {
		name        string
		fingerprint func(i int64) string
	}{
		{"one", func(int64) string { return "hot" }},
		{"distinct", func(i int64) string { return fmt.Sprintf("fp-%d", i/10) }},
	}
	for _, dialect := range []string{DialectSQLite, DialectPostgres} {
		for _, tt := range tests {
			b.Run(dialect+"/"+tt.name, func(b *testing.B) {
				db, p := benchDB(b, dialect)
				benchBatches(b, db, p, 4, 10, tt.fingerprint)
			})
		}
	}
}
