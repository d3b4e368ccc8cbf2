package queue

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
)

// enqueueConcurrently runs Enqueue(body i) for i in [0, n) from n
// goroutines at once and returns each call's error.
func enqueueConcurrently(q *Local, n int, ctxFor func(i int) context.Context) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = q.Enqueue(ctxFor(i), []byte(strconv.Itoa(i)))
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// seq returns 0, 1, ..., n-1.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func background(int) context.Context { return ctx }

// sortedBodies receives every message and returns the bodies as sorted
// numbers.
func sortedBodies(t *testing.T, q *Local) []int {
	t.Helper()
	var got []int
	for _, b := range bodies(receive(t, q, MaxReceive)) {
		n, err := strconv.Atoi(b)
		if err != nil {
			t.Fatalf("body %q", b)
		}
		got = append(got, n)
	}
	slices.Sort(got)
	return got
}

func testGroupCommit(t *testing.T, db *store.DB) {
	q := newLocal(t, db, Options{})
	const n = 200
	for i, err := range enqueueConcurrently(q, n, background) {
		if err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
	}
	if c := q.commits.Load(); c >= n {
		t.Errorf("%d concurrent enqueues took %d commits; group commit should share them", n, c)
	}
	wantDepth(t, q, n, 0)
	if got := sortedBodies(t, q); !slices.Equal(got, seq(n)) {
		t.Errorf("received %v, want 0..%d", got, n-1)
	}
}

func testEnqueueBatch(t *testing.T, db *store.DB) {
	q := newLocal(t, db, Options{MaxBatch: 2})
	// More messages than MaxBatch: one request is never split.
	if err := q.EnqueueBatch(ctx, [][]byte{[]byte("a"), nil, []byte("c")}); err != nil {
		t.Fatal(err)
	}
	if err := q.EnqueueBatch(ctx, nil); err != nil {
		t.Fatalf("EnqueueBatch of nothing: %v", err)
	}
	if c := q.commits.Load(); c != 1 {
		t.Errorf("one EnqueueBatch took %d commits, want 1", c)
	}
	wantDepth(t, q, 3, 0)
	if got := bodies(receive(t, q, 10)); !slices.Equal(got, []string{"a", "", "c"}) {
		t.Errorf("received %q, want the batch in order", got)
	}
}

func testFailedCommit(t *testing.T, db *store.DB) {
	q := newLocal(t, db, Options{})
	if _, err := db.SQL().ExecContext(ctx, `DROP TABLE queue_messages`); err != nil {
		t.Fatal(err)
	}
	for i, err := range enqueueConcurrently(q, 50, background) {
		if err == nil || !strings.Contains(err.Error(), "committing") {
			t.Fatalf("Enqueue %d into a missing table: %v, want the commit's error", i, err)
		}
	}
	if p := q.Pending(); p != 0 {
		t.Errorf("Pending = %d after failed commits, want 0", p)
	}
}

func testCancelledWaiter(t *testing.T, db *store.DB) {
	q := newLocal(t, db, Options{})
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	const n = 100
	errs := enqueueConcurrently(q, n, func(i int) context.Context {
		if i%2 == 1 {
			return cancelled
		}
		return ctx
	})
	var want []int
	for i, err := range errs {
		switch {
		case i%2 == 0 && err != nil:
			t.Errorf("Enqueue %d: %v; a neighbour's cancelled context failed it", i, err)
		case i%2 == 1 && !errors.Is(err, context.Canceled):
			t.Errorf("Enqueue %d with a cancelled context: %v, want context.Canceled", i, err)
		}
		if i%2 == 0 {
			want = append(want, i)
		}
	}
	if got := sortedBodies(t, q); !slices.Equal(got, want) {
		t.Errorf("received %v, want only the even messages %v", got, want)
	}
}

func testCloseFlushes(t *testing.T, db *store.DB) {
	q := NewLocal(db, Options{})
	const n = 200
	var errs []error
	done := make(chan struct{})
	go func() {
		errs = enqueueConcurrently(q, n, background)
		close(done)
	}()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	<-done
	var acked []int
	for i, err := range errs {
		switch {
		case err == nil:
			acked = append(acked, i)
		case !errors.Is(err, ErrClosed):
			t.Errorf("Enqueue %d during Close: %v, want nil or ErrClosed", i, err)
		}
	}
	if err := q.Enqueue(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Enqueue after Close: %v, want ErrClosed", err)
	}
	if got := sortedBodies(t, newLocal(t, db, Options{})); !slices.Equal(got, acked) {
		t.Errorf("stored %v, want exactly the %d acknowledged", got, len(acked))
	}
}

func testPendingCountedAtStart(t *testing.T, db *store.DB) {
	q := newLocal(t, db, Options{})
	enqueue(t, q, "1", "2", "3")
	// Another Local over the same table, as after a restart, counts what
	// is there before its first enqueue.
	q2 := newLocal(t, db, Options{})
	enqueue(t, q2, "4")
	wantDepth(t, q2, 4, 0)
}

// testPendingRecountedWithTwoProcesses has one Local enqueue and another,
// as a second process on the same database would, receive and ack: the
// first counts the messages until its recount, then none, and the second,
// whose own count went below zero, is back at the truth too.
func testPendingRecountedWithTwoProcesses(t *testing.T, db *store.DB) {
	a := newLocal(t, db, Options{Recount: 20 * time.Millisecond})
	b := newLocal(t, db, Options{Recount: 20 * time.Millisecond, Visibility: time.Minute, MaxAttempts: 3})
	enqueue(t, a, "1", "2", "3")
	enqueue(t, b, "4")
	msgs := receive(t, b, 10)
	if len(msgs) != 4 {
		t.Fatalf("received %d messages, want 4", len(msgs))
	}
	for _, m := range msgs {
		if err := b.Ack(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for a.Pending() != 0 || b.pending.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after the recount: a counts %d pending, b %d; want 0 and 0", a.Pending(), b.pending.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSQLiteGroupCommitSurvivesReopen checks that every message a group
// commit acknowledged is in the file after the database is closed and
// opened again.
func TestSQLiteGroupCommitSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	q := NewLocal(db, Options{})
	const n = 300
	for i, err := range enqueueConcurrently(q, n, background) {
		if err != nil {
			t.Fatalf("Enqueue %d: %v", i, err)
		}
	}
	commits := q.commits.Load()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d enqueues in %d commits", n, commits)
	if commits >= n {
		t.Errorf("%d concurrent enqueues took %d commits", n, commits)
	}
	if got := sortedBodies(t, newLocal(t, openStore(t, path), Options{})); !slices.Equal(got, seq(n)) {
		t.Errorf("after reopening: %v, want each of 0..%d once", got, n-1)
	}
}
