package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/queue"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// queuedEvent is the queue body of an event of about size bytes: a
// JavaScript error with a text stack, tags, a user, the page's request
// with the browser's User-Agent (as @sentry/browser sends it, and as the
// load tool's events have one) and the breadcrumbs that make up the size
// (crumbs, from fillerCrumbs). Events spread over issues fingerprints (by
// stack).
func queuedEvent(tb testing.TB, projectID int64, i, issues int, crumbs []event.Breadcrumb) []byte {
	tb.Helper()
	ev := event.Event{EventID: fmt.Sprintf("%032x", i+1), ProjectID: projectID, Source: event.SourceSentry,
		Level: "error", Platform: "javascript", Release: "web@1.2.3", Environment: "production",
		Received: time.Now().UTC(), User: &event.User{ID: fmt.Sprint(i % 100)},
		Tags: []event.Tag{{Key: "browser", Value: "Chrome 130"}, {Key: "os", Value: "Windows 11"}},
		Exceptions: []event.Exception{{Type: "TypeError", Value: "cannot read 'total' of undefined",
			RawStack: fmt.Sprintf("TypeError: x\n    at submit (https://shop.example.com/static/js/app-%d.js:10:5)\n    at onClick (https://shop.example.com/static/js/app.js:20:7)", i%issues)}},
		Request: &event.Request{URL: "https://shop.example.com/checkout",
			Headers: [][2]string{{"User-Agent", benchUserAgent}}},
		Breadcrumbs: crumbs,
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		tb.Fatal(err)
	}
	return raw
}

// benchUserAgent is Chrome's on Windows, the most common browser of a web
// shop's visitors.
const benchUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// fillerCrumbs returns the breadcrumbs that bring queuedEvent to about size
// bytes.
func fillerCrumbs(size int) []event.Breadcrumb {
	const base, crumb = 780, 150 // bytes of queuedEvent without breadcrumbs, of one breadcrumb
	var crumbs []event.Breadcrumb
	for n := base; n < size; n += crumb {
		crumbs = append(crumbs, event.Breadcrumb{Category: "xhr", Level: "info",
			Message: fmt.Sprintf("GET /api/cart/%04d?session=%s", len(crumbs), strings.Repeat("ab12", 10))})
	}
	return crumbs
}

// BenchmarkProcessQueue measures processing end to end as flytrap dev runs
// it: b.N events already queued, drained by the workers (their default
// count and batch size) through every stage into the store, until the
// queue is empty. events/s is the figure to compare.
func BenchmarkProcessQueue(b *testing.B) {
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		for _, size := range []int{2 << 10, 50 << 10} {
			b.Run(fmt.Sprintf("%s/%dKB", dialect, size>>10), func(b *testing.B) {
				benchProcessQueue(b, dialect, size)
			})
		}
	}
}

// openPipelineDB opens a new database of dialect with the store's and the
// queue's schemas, closed when tb ends.
func openPipelineDB(tb testing.TB, dialect string) *store.DB {
	ctx := context.Background()
	dsn := filepath.Join(tb.TempDir(), "pipeline.db")
	if dialect == store.DialectPostgres {
		dsn = pgtest.URL(tb)
	}
	db, err := store.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := queue.Migrate(ctx, db); err != nil {
		tb.Fatal(err)
	}
	return db
}

func benchProcessQueue(b *testing.B, dialect string, size int) {
	ctx := context.Background()
	db := openPipelineDB(b, dialect)
	p, err := db.CreateProject(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	q := queue.NewLocal(db, queue.Options{})
	crumbs := fillerCrumbs(size)
	for i := range b.N {
		if err := q.Enqueue(ctx, queuedEvent(b, p.ID, i, 50, crumbs)); err != nil {
			b.Fatal(err)
		}
	}
	workers := &process.Workers{
		Processor: process.New(process.Config{Saver: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}),
		Source:    queueSource{q},
		Idle:      5 * time.Millisecond,
	}
	b.ResetTimer()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		workers.Run(runCtx)
	}()
	for {
		ready, dead, err := q.Depth(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if dead > 0 {
			b.Fatalf("%d messages went to the dead-letter table", dead)
		}
		if ready == 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	stop()
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	var stored int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM events`).Scan(&stored); err != nil || stored != int64(b.N) {
		b.Fatalf("stored %d events, %v; want %d", stored, err, b.N)
	}
}
