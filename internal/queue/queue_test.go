package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openStore opens dsn as flytrap does at start-up: the store, then the
// queue's tables.
func openStore(t *testing.T, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestSQLite(t *testing.T) {
	runQueueTests(t, func(t *testing.T) *store.DB { return openStore(t, filepath.Join(t.TempDir(), "q.db")) })
}

func TestPostgres(t *testing.T) {
	runQueueTests(t, func(t *testing.T) *store.DB { return openStore(t, pgtest.URL(t)) })
}

// runQueueTests runs the behaviour both backends share; open returns an
// empty store for each subtest.
func runQueueTests(t *testing.T, open func(t *testing.T) *store.DB) {
	tests := []struct {
		name string
		fn   func(t *testing.T, db *store.DB)
	}{
		{"Order", testOrder},
		{"VisibilityTimeout", testVisibilityTimeout},
		{"RetryBackoff", testRetryBackoff},
		{"DeadLetterOnRetry", testDeadLetterOnRetry},
		{"DeadLetterOnTimeout", testDeadLetterOnTimeout},
		{"ConcurrentConsumers", testConcurrentConsumers},
		{"GroupCommit", testGroupCommit},
		{"EnqueueBatch", testEnqueueBatch},
		{"FailedCommitFailsAllWaiters", testFailedCommit},
		{"CancelledWaiter", testCancelledWaiter},
		{"CloseFlushes", testCloseFlushes},
		{"PendingCountedAtStart", testPendingCountedAtStart},
		{"PendingRecountedWithTwoProcesses", testPendingRecountedWithTwoProcesses},
		{"AckBatch", testAckBatch},
		{"ReceiveByteBudget", testReceiveByteBudget},
		{"Oldest", testOldest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// newLocal returns db's queue, closed when the test ends (before db, whose
// Cleanup was registered first).
func newLocal(t testing.TB, db *store.DB, opts Options) *Local {
	q := NewLocal(db, opts)
	t.Cleanup(func() {
		if err := q.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return q
}

func newQueue(t testing.TB, db *store.DB, c *clock, maxAttempts int) *Local {
	return newLocal(t, db, Options{Visibility: time.Minute, MaxAttempts: maxAttempts, Now: c.Now})
}

func enqueue(t *testing.T, q *Local, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if err := q.Enqueue(ctx, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
}

func receive(t *testing.T, q *Local, max int) []Message {
	t.Helper()
	msgs, err := q.Receive(ctx, max)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

func bodies(msgs []Message) []string {
	var bs []string
	for _, m := range msgs {
		bs = append(bs, string(m.Body))
	}
	return bs
}

func wantDepth(t *testing.T, q *Local, ready, dead int64) {
	t.Helper()
	r, d, err := q.Depth(ctx)
	if err != nil || r != ready || d != dead {
		t.Errorf("Depth = %d, %d, %v; want %d, %d", r, d, err, ready, dead)
	}
	if p := q.Pending(); p != ready {
		t.Errorf("Pending = %d, want %d, the rows in the table", p, ready)
	}
}

func testOrder(t *testing.T, db *store.DB) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	q := newQueue(t, db, c, 5)
	for i := range 5 {
		enqueue(t, q, fmt.Sprint(i))
		c.Advance(time.Millisecond)
	}
	if err := q.Enqueue(ctx, nil); err != nil {
		t.Fatalf("Enqueue(nil): %v", err)
	}
	wantDepth(t, q, 6, 0)
	if got := bodies(receive(t, q, 2)); !slices.Equal(got, []string{"0", "1"}) {
		t.Errorf("first Receive = %q, want 0 and 1", got)
	}
	rest := receive(t, q, 10)
	if got := bodies(rest); !slices.Equal(got, []string{"2", "3", "4", ""}) {
		t.Errorf("second Receive = %q, want 2, 3, 4 and the empty body", got)
	}
	if got := receive(t, q, 10); len(got) != 0 {
		t.Errorf("Receive while all are hidden = %q", bodies(got))
	}
	for _, m := range rest {
		if m.Attempts != 1 {
			t.Errorf("message %d: Attempts = %d, want 1", m.ID, m.Attempts)
		}
		if err := q.Ack(ctx, m.ID); err != nil {
			t.Fatal(err)
		}
	}
	wantDepth(t, q, 2, 0)
	if err := q.Ack(ctx, rest[0].ID); err != nil {
		t.Errorf("second Ack: %v", err)
	}
	if err := q.Retry(ctx, rest[0].ID, "gone"); err != nil {
		t.Errorf("Retry of an acked message: %v", err)
	}
	if _, err := q.Receive(ctx, 0); err == nil {
		t.Error("Receive(0) succeeded")
	}
}

// testAckBatch acknowledges a claimed batch, with an ID already acked, in
// one call, and leaves the messages it was not given.
func testAckBatch(t *testing.T, db *store.DB) {
	q := newQueue(t, db, &clock{t: time.Unix(1000, 0)}, 5)
	enqueue(t, q, "1", "2", "3", "4")
	msgs := receive(t, q, 3)
	if err := q.Ack(ctx, msgs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := q.AckBatch(ctx, []int64{msgs[0].ID, msgs[1].ID, msgs[2].ID}); err != nil {
		t.Fatalf("AckBatch: %v", err)
	}
	wantDepth(t, q, 1, 0)
	if got := bodies(receive(t, q, 10)); !slices.Equal(got, []string{"4"}) {
		t.Errorf("Receive after AckBatch = %q, want the unacknowledged 4", got)
	}
	if err := q.AckBatch(ctx, nil); err != nil {
		t.Errorf("AckBatch of nothing: %v", err)
	}
}

func testVisibilityTimeout(t *testing.T, db *store.DB) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	q := newQueue(t, db, c, 5)
	enqueue(t, q, "a")
	first := receive(t, q, 1)
	c.Advance(time.Minute - time.Millisecond)
	if got := receive(t, q, 1); len(got) != 0 {
		t.Fatalf("redelivered before the visibility timeout: %+v", got)
	}
	c.Advance(time.Millisecond)
	again := receive(t, q, 1)
	if len(again) != 1 || again[0].ID != first[0].ID || again[0].Attempts != 2 || string(again[0].Body) != "a" {
		t.Fatalf("after the timeout got %+v, want message %d on attempt 2", again, first[0].ID)
	}
	// The first consumer's late Ack removes the message for good.
	if err := q.Ack(ctx, first[0].ID); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if got := receive(t, q, 1); len(got) != 0 {
		t.Errorf("acked message delivered again: %+v", got)
	}
	wantDepth(t, q, 0, 0)
}

func testRetryBackoff(t *testing.T, db *store.DB) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	q := newQueue(t, db, c, 10)
	enqueue(t, q, "a")
	for attempt, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
		msgs := receive(t, q, 1)
		if len(msgs) != 1 || msgs[0].Attempts != attempt+1 {
			t.Fatalf("attempt %d: got %+v", attempt+1, msgs)
		}
		if err := q.Retry(ctx, msgs[0].ID, "boom"); err != nil {
			t.Fatal(err)
		}
		c.Advance(wait - time.Millisecond)
		if got := receive(t, q, 1); len(got) != 0 {
			t.Fatalf("attempt %d: visible before the %v backoff", attempt+1, wait)
		}
		c.Advance(time.Millisecond)
	}
	if got := receive(t, q, 1); len(got) != 1 {
		t.Fatal("not visible after the backoff")
	}
	for attempts, want := range map[int]time.Duration{0: time.Second, 9: 256 * time.Second, 10: maxBackoff, 1000: maxBackoff} {
		if got := backoff(attempts); got != want {
			t.Errorf("backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}

func deadReasons(t *testing.T, db *store.DB) []string {
	t.Helper()
	rows, err := db.SQL().QueryContext(ctx, `SELECT reason FROM queue_dead ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var rs []string
	for rows.Next() {
		var r string
		rows.Scan(&r)
		rs = append(rs, r)
	}
	return rs
}

func testDeadLetterOnRetry(t *testing.T, db *store.DB) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	q := newQueue(t, db, c, 3)
	enqueue(t, q, "poison", "fine")
	for attempt := 1; attempt <= 3; attempt++ {
		msgs := receive(t, q, 10)
		if len(msgs) == 0 || string(msgs[0].Body) != "poison" || msgs[0].Attempts != attempt {
			t.Fatalf("attempt %d: got %+v", attempt, msgs)
		}
		if attempt == 1 {
			q.Ack(ctx, msgs[1].ID)
		}
		reason := fmt.Sprintf("bad input \x00\xff #%d ", attempt) + strings.Repeat("x", 3000)
		if err := q.Retry(ctx, msgs[0].ID, reason); err != nil {
			t.Fatal(err)
		}
		c.Advance(time.Hour)
	}
	if got := receive(t, q, 10); len(got) != 0 {
		t.Errorf("dead message delivered: %+v", got)
	}
	wantDepth(t, q, 0, 1)
	reasons := deadReasons(t, db)
	if len(reasons) != 1 || !strings.HasPrefix(reasons[0], "bad input \uFFFD #3 xxx") || len(reasons[0]) > maxReason {
		t.Errorf("dead-letter reasons %.40q, want the last retry's, cleaned and at most %d bytes", reasons, maxReason)
	}
	var body []byte
	var attempts int
	if err := db.SQL().QueryRowContext(ctx, `SELECT body, attempts FROM queue_dead`).Scan(&body, &attempts); err != nil || string(body) != "poison" || attempts != 3 {
		t.Errorf("dead letter = %q after %d attempts, %v", body, attempts, err)
	}
}

func testDeadLetterOnTimeout(t *testing.T, db *store.DB) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	q := newQueue(t, db, c, 2)
	enqueue(t, q, "crasher")
	for attempt := 1; attempt <= 2; attempt++ {
		msgs := receive(t, q, 1)
		if len(msgs) != 1 || msgs[0].Attempts != attempt {
			t.Fatalf("attempt %d: got %+v", attempt, msgs)
		}
		if attempt == 1 {
			// A retried message's error is kept as the dead letter's
			// reason even when its last holder just vanished.
			q.Retry(ctx, msgs[0].ID, "db down")
		}
		c.Advance(2 * time.Minute)
	}
	enqueue(t, q, "fresh")
	if got := bodies(receive(t, q, 10)); !slices.Equal(got, []string{"fresh"}) {
		t.Fatalf("Receive = %q, want only the fresh message, not a third delivery", got)
	}
	wantDepth(t, q, 1, 1)
	want := []string{"not acknowledged within the visibility timeout; last error: db down"}
	if got := deadReasons(t, db); !slices.Equal(got, want) {
		t.Errorf("reasons = %q, want %q", got, want)
	}
}

func testConcurrentConsumers(t *testing.T, db *store.DB) {
	q := newLocal(t, db, Options{})
	const n, consumers = 200, 8
	for i := range n {
		enqueue(t, q, fmt.Sprint(i))
	}
	var (
		mu       sync.Mutex
		held     = map[int64]bool{}
		received = map[int64]int{}
		wg       sync.WaitGroup
	)
	for range consumers {
		wg.Go(func() {
			for {
				msgs, err := q.Receive(ctx, 5)
				if err != nil {
					t.Error(err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					if held[m.ID] {
						t.Errorf("message %d held by two consumers", m.ID)
					}
					held[m.ID] = true
					received[m.ID]++
				}
				mu.Unlock()
				time.Sleep(time.Millisecond) // "process"
				for _, m := range msgs {
					mu.Lock()
					delete(held, m.ID)
					mu.Unlock()
					if err := q.Ack(ctx, m.ID); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(received) != n {
		t.Errorf("%d distinct messages received, want %d", len(received), n)
	}
	for id, times := range received {
		if times != 1 {
			t.Errorf("message %d received %d times", id, times)
		}
	}
	wantDepth(t, q, 0, 0)
}

func TestSQLiteDurableAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	q := newLocal(t, db, Options{})
	enqueue(t, q, "done", "pending")
	msgs := receive(t, q, 1)
	q.Ack(ctx, msgs[0].ID)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openStore(t, "sqlite:"+path)
	q = newLocal(t, db, Options{})
	if got := bodies(receive(t, q, 10)); !slices.Equal(got, []string{"pending"}) {
		t.Errorf("after reopening got %q, want the unacked message", got)
	}
}

// killHelperEnv makes the test binary enqueue until it is killed, printing
// the body of each message Enqueue acknowledged.
const killHelperEnv = "QUEUE_KILL_HELPER_DB"

func TestSQLiteEnqueueSurvivesKill(t *testing.T) {
	if path := os.Getenv(killHelperEnv); path != "" {
		db, err := store.Open(ctx, path)
		if err != nil {
			os.Exit(2)
		}
		q := NewLocal(db, Options{})
		for i := 0; ; i++ {
			if err := q.Enqueue(ctx, []byte(strconv.Itoa(i))); err != nil {
				os.Exit(3)
			}
			fmt.Println(i)
		}
	}
	path := filepath.Join(t.TempDir(), "q.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteEnqueueSurvivesKill$")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	for sc := bufio.NewScanner(out); acked < 200 && sc.Scan(); {
		acked, err = strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("helper printed %q", sc.Text())
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if acked < 200 {
		t.Fatalf("helper acknowledged only %d messages", acked+1)
	}

	q := newLocal(t, openStore(t, path), Options{})
	msgs := receive(t, q, MaxReceive)
	if len(msgs) < acked+1 {
		t.Fatalf("%d messages survived, but %d were acknowledged", len(msgs), acked+1)
	}
	for i, m := range msgs[:acked+1] {
		if string(m.Body) != strconv.Itoa(i) {
			t.Fatalf("message %d has body %q", i, m.Body)
		}
	}
}

// testReceiveByteBudget: a claim stops before the message that would take
// its bodies over Options.MaxReceiveBytes, but always takes one.
func testReceiveByteBudget(t *testing.T, db *store.DB) {
	tests := []struct {
		budget int64
		sizes  []int
		want   []int // messages per Receive, until the queue is empty
	}{
		{1000, []int{400, 400, 400, 1500, 10}, []int{2, 1, 1, 1}},
		{1000, []int{500, 500, 1}, []int{2, 1}},
		{0, []int{200 << 10, 200 << 10, 200 << 10}, []int{3}}, // no bound
	}
	for _, tt := range tests {
		q := newLocal(t, db, Options{MaxReceiveBytes: tt.budget})
		for i, n := range tt.sizes {
			enqueue(t, q, strings.Repeat(string(rune('a'+i)), n))
		}
		var got []int
		next := 0
		for msgs := receive(t, q, 10); len(msgs) > 0; msgs = receive(t, q, 10) {
			got = append(got, len(msgs))
			for _, m := range msgs {
				if len(m.Body) != tt.sizes[next] || m.Body[0] != byte('a'+next) {
					t.Fatalf("budget %d: message %d has %d bytes of %q, want %d of %q", tt.budget, next, len(m.Body), m.Body[0], tt.sizes[next], string(rune('a'+next)))
				}
				next++
			}
			ids := make([]int64, len(msgs))
			for i, m := range msgs {
				ids[i] = m.ID
			}
			if err := q.AckBatch(ctx, ids); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("budget %d, bodies %v: claims of %v messages, want %v", tt.budget, tt.sizes, got, tt.want)
		}
	}
}

// testOldest: Oldest is when the first message still in the queue was
// enqueued, whether waiting or received and not yet acknowledged, and
// false once every message is acknowledged.
func testOldest(t *testing.T, db *store.DB) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	q := newQueue(t, db, c, 5)
	want := func(at time.Time, ok bool) {
		t.Helper()
		got, gotOK, err := q.Oldest(ctx)
		if err != nil || gotOK != ok || !got.Equal(at) {
			t.Errorf("Oldest = %v, %v, %v; want %v, %v", got, gotOK, err, at, ok)
		}
	}
	want(time.Time{}, false)
	first := c.Now()
	enqueue(t, q, "a")
	c.Advance(time.Minute)
	enqueue(t, q, "b")
	want(first, true)
	msgs := receive(t, q, 1)
	want(first, true)
	if err := q.Ack(ctx, msgs[0].ID); err != nil {
		t.Fatal(err)
	}
	want(first.Add(time.Minute), true)
	if err := q.Ack(ctx, receive(t, q, 1)[0].ID); err != nil {
		t.Fatal(err)
	}
	want(time.Time{}, false)
}
