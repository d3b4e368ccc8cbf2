package process

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// overlapSaver records how many SaveBatch calls run at once; each takes a
// few milliseconds, so goroutines that claim side by side overlap.
type overlapSaver struct {
	fixedSaver // its SaveFeedback
	now, peak  atomic.Int64
}

func (s *overlapSaver) SaveBatch(_ context.Context, reqs []store.SaveRequest, _ ...store.TxHook) ([]store.SaveResult, error) {
	n := s.now.Add(1)
	for {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	time.Sleep(3 * time.Millisecond)
	s.now.Add(-1)
	return make([]store.SaveResult, len(reqs)), nil
}

// queued returns a source holding n valid events.
func queued(t *testing.T, n int) *fakeSource {
	src := &fakeSource{}
	for i := range n {
		ev := event.Event{EventID: fmt.Sprintf("%032x", i+1), ProjectID: 1, Message: "m"}
		src.msgs = append(src.msgs, Message{ID: int64(i + 1), Body: body(t, ev)})
	}
	return src
}

// runUntilSettled runs w until src has settled n messages, or fails the
// test after a few seconds.
func runUntilSettled(t *testing.T, w *Workers, src *fakeSource, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for src.settled() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if got := src.settled(); got != n {
		t.Fatalf("settled %d of %d messages in 5 s", got, n)
	}
}

func TestWorkersHelpOnlyWhenBehind(t *testing.T) {
	tests := []struct {
		name    string
		backlog int64 // with Batch 1, more than 2 is falling behind
		// wantSide is whether saves ran side by side.
		wantSide bool
	}{
		{"keeping up: only the first goroutine claims", 2, false},
		{"behind: the others join", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := queued(t, 40)
			saver := &overlapSaver{}
			w := &Workers{Processor: New(Config{Saver: saver}), Source: src, Count: 3, Batch: 1, Idle: time.Millisecond,
				Backlog: func() int64 { return tt.backlog }}
			runUntilSettled(t, w, src, 40)
			if side := saver.peak.Load() > 1; side != tt.wantSide {
				t.Errorf("at most %d saves at once with a backlog of %d; want side by side: %v", saver.peak.Load(), tt.backlog, tt.wantSide)
			}
		})
	}
}

func TestWorkersWithoutBacklogAllClaim(t *testing.T) {
	src := queued(t, 40)
	saver := &overlapSaver{}
	w := &Workers{Processor: New(Config{Saver: saver}), Source: src, Count: 3, Batch: 1, Idle: time.Millisecond}
	runUntilSettled(t, w, src, 40)
	if saver.peak.Load() < 2 {
		t.Errorf("at most %d save at once; without Backlog every goroutine claims", saver.peak.Load())
	}
}

// A claim cut short by the source (the local queue's byte budget) is not
// a sign that the queue is empty: the worker claims again at once rather
// than waiting for a wake-up that a finished load never sends.
func TestWorkersDrainShortClaims(t *testing.T) {
	src := queued(t, 30)
	src.per = 2
	w := &Workers{Processor: New(Config{Saver: &fakeSaver{}}), Source: src, Count: 1, Batch: 100, Idle: time.Hour}
	runUntilSettled(t, w, src, 30)
}

// failingSource fails every Receive with err; with no err, it waits for
// the worker to stop and then fails as database/sql does when a shutdown
// cancels a claim's transaction halfway. entered is closed by the first
// Receive.
type failingSource struct {
	fakeSource
	err     error
	entered chan struct{}
	once    sync.Once
}

func (f *failingSource) Receive(ctx context.Context, _ int) ([]Message, error) {
	f.once.Do(func() { close(f.entered) })
	if f.err != nil {
		return nil, f.err
	}
	<-ctx.Done()
	return nil, fmt.Errorf("queue: receive: %w", sql.ErrTxDone)
}

// TestWorkersLogReceiveFailuresNotShutdown: a claim that fails while the
// workers run is an error worth a log line; one that fails because the
// workers are stopping is not, whatever error the queue returns for it.
func TestWorkersLogReceiveFailuresNotShutdown(t *testing.T) {
	for _, tt := range []struct {
		name    string
		err     error
		wantLog bool
	}{
		{"running", errors.New("disk I/O error"), true},
		{"stopping", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			src := &failingSource{err: tt.err, entered: make(chan struct{})}
			w := &Workers{
				Processor: New(Config{Saver: &overlapSaver{}}),
				Source:    src,
				Idle:      time.Millisecond,
				Log:       slog.New(slog.NewTextHandler(&logs, nil)),
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { w.Run(ctx); close(done) }()
			<-src.entered // the shutdown must land inside a claim
			time.Sleep(5 * time.Millisecond)
			cancel()
			<-done
			running := strings.Count(logs.String(), "disk I/O error")
			stopping := strings.Count(logs.String(), "transaction has already been committed")
			if tt.wantLog && running == 0 {
				t.Errorf("a failing claim was not logged:\n%s", logs.String())
			}
			if stopping > 0 {
				t.Errorf("a claim cut short by the shutdown was logged as a failure:\n%s", logs.String())
			}
		})
	}
}

// TestWorkersDropEventsOfDeletedProjects: events ingest accepted for a
// project deleted before they were processed are acknowledged without
// being stored, in the same batch as another project's events, which are
// stored; none of them is retried into the dead-letter table.
func TestWorkersDropEventsOfDeletedProjects(t *testing.T) {
	ctx := context.Background()
	db, kept := openProject(t, sqliteFile(t), "kept")
	gone, err := db.CreateProject(ctx, "gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteProject(ctx, store.System, gone.ID); err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{}
	for i, p := range []int64{kept.ID, gone.ID, kept.ID, gone.ID} {
		ev := event.Event{EventID: fmt.Sprintf("%032x", i+1), ProjectID: p, Exceptions: []event.Exception{{Type: "RangeError", Value: "too deep"}}}
		src.msgs = append(src.msgs, Message{ID: int64(i + 1), Body: body(t, ev)})
	}
	var logs bytes.Buffer
	w := &Workers{Processor: New(Config{Saver: db, Log: slog.New(slog.NewTextHandler(&logs, nil))}), Source: src, Count: 1, Batch: 4, Idle: time.Millisecond}
	runUntilSettled(t, w, src, 4)
	if len(src.acked) != 4 || len(src.retried) != 0 {
		t.Errorf("acked %v, retried %v; want all four acked", src.acked, src.retried)
	}
	issues, _, err := db.ListIssues(ctx, store.System, store.IssueFilter{ProjectID: kept.ID})
	if err != nil || len(issues) != 1 || issues[0].Count != 2 {
		t.Errorf("kept's issues = %+v, %v; want one with both of its events", issues, err)
	}
	if !strings.Contains(logs.String(), "dropped events of deleted projects") {
		t.Errorf("no log line says events were dropped:\n%s", logs.String())
	}
}

// TestUpgradeKeepsIssues: an issue saved under an earlier grouping version
// (here the hash release 2026-12b gave a PHP event, whose files are now
// grouped by base name) takes the same bug's next event after an upgrade,
// instead of a new issue opening and alerting as new.
func TestUpgradeKeepsIssues(t *testing.T) {
	ctx := context.Background()
	db, proj := openProject(t, sqliteFile(t), "shop")
	yes := true
	php := func(id, release string) event.Event {
		frame := func(file, fn string, line int) event.Frame {
			path := "/var/www/app/releases/" + release + "/" + file
			return event.Frame{AbsPath: path, Filename: path, Function: fn, Lineno: line, InApp: &yes}
		}
		return event.Event{EventID: id, ProjectID: proj.ID, Platform: "php", Level: "error",
			Exceptions: []event.Exception{{Type: "TypeError", Value: "bad", Frames: []event.Frame{
				frame("public/index.php", "{main}", 20), frame("src/Controller.php", `App\Controller::show`, 31)}}}}
	}
	// The hash 2026-12b computed for php("…", "41") (internal/grouping/testdata/previous.json).
	first := php(fmt.Sprintf("%032x", 1), "41")
	old, err := db.SaveEvent(ctx, store.SaveRequest{Event: &first, Fingerprint: "040a14d25ab14abc927104560a44ecd0", GroupingVersion: "2026-12b"})
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Saver: db})
	for i, release := range []string{"41", "42"} {
		ev := php(fmt.Sprintf("%032x", i+2), release)
		out := p.ProcessBatch(ctx, [][]byte{body(t, ev)})[0]
		if out.Err != nil || out.Result.IssueID != old.IssueID || out.Result.NewIssue {
			t.Errorf("release %s after the upgrade: %+v; want issue %d, not new", release, out, old.IssueID)
		}
	}
}
