// Package queue is the durable buffer between ingest and the processor when
// Flytrap runs on one machine (flytrap dev). Messages live in the store's
// database (table queue_messages, dead letters in queue_dead), so an
// enqueued event survives a crash exactly as well as stored data does. The
// queue owns those tables: Migrate creates and upgrades them. It
// follows SQS semantics, the queue used on AWS: at-least-once delivery, a
// visibility timeout, and a dead-letter queue after MaxAttempts deliveries.
package queue

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/store"
)

// Defaults for Options.
const (
	DefaultVisibility  = 30 * time.Second
	DefaultMaxAttempts = 5
	// DefaultMaxBatch is the most messages one commit holds unless a
	// single EnqueueBatch brings more.
	DefaultMaxBatch = 256
)

// maxBatchBytes stops a batch from growing once its bodies take this much,
// so one INSERT statement stays a few MiB.
const maxBatchBytes = 4 << 20

// commitTimeout bounds one group commit; SQLite's busy_timeout (10 s) is
// the usual wait in it.
const commitTimeout = 30 * time.Second

// ErrClosed is returned by Enqueue and EnqueueBatch after Close.
var ErrClosed = errors.New("queue: closed; the server is shutting down, retry later")

// Retry backoff: the first retry waits minBackoff, each further one twice as
// long, up to maxBackoff.
const (
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
)

// maxReason bounds the stored failure reason (an error message).
const maxReason = 2000

// Message is one delivery of an enqueued body. Attempts counts deliveries,
// this one included.
type Message struct {
	ID       int64
	Body     []byte
	Attempts int
}

// Options configure a Local queue. Zero values take the defaults.
type Options struct {
	// Visibility is how long a received message stays hidden from other
	// receivers; one neither acked nor retried by then is delivered again.
	Visibility time.Duration
	// MaxAttempts is how many times a message is delivered before it
	// moves to the dead-letter table.
	MaxAttempts int
	// MaxBatch is the most messages a commit collects; 0 means
	// DefaultMaxBatch.
	MaxBatch int
	// MaxReceiveBytes, when positive, is the most body bytes one Receive
	// returns, though never fewer than one message.
	MaxReceiveBytes int64
	// Now is the clock (tests inject one).
	Now func() time.Time
	// Recount is how often the committer sets Pending from the table
	// again; 0 means DefaultRecount.
	Recount time.Duration
	// Consumer, when set, is the pool (store.DB.Pool of the same database)
	// that Receive, Ack, AckBatch, Retry and Depth use, so processing
	// never waits for a connection behind ingest. Enqueues keep their own
	// connection either way, and the pending count stays one counter.
	Consumer *store.DB
}

// Local is a queue in the store's database, safe for concurrent use by
// many consumers, in one process or several. Enqueues go through one
// committer goroutine per Local, which writes all the messages that
// arrived while it committed the previous batch in one transaction: one
// fsync for many events. It never waits for more to arrive: a lone
// message is committed at once, and under load batches fill during the
// commit before them (waiting 2 ms for company made the benchmark up to
// 2.8 times slower; see docs/benchmarks.md). Close stops it.
type Local struct {
	db        *sql.DB
	store     *store.DB
	opts      Options
	skipLocks string

	// wdb is the committer's own connection, so enqueues never wait for
	// one behind processing and dashboard queries in the store's pool.
	wdb  *sql.DB
	reqs chan *enqueueReq
	done chan struct{} // closed when the committer has exited

	mu     sync.RWMutex // held for reading while sending on reqs
	closed bool

	// pending counts queue_messages rows: set from COUNT(*) when the
	// committer starts and every Options.Recount, moved by every commit,
	// ack and burial in between, so Pending costs no query. It is exact
	// when one process uses the queue, as flytrap dev does; with several
	// (two dashboards on one PostgreSQL database), each moves only by its
	// own commits and acks, and the recount corrects the drift.
	pending atomic.Int64
	counted bool // owned by the committer
	// commits counts group commits, for tests and benchmarks.
	commits atomic.Int64
}

// enqueueReq is one Enqueue or EnqueueBatch waiting for its commit.
type enqueueReq struct {
	ctx    context.Context
	bodies [][]byte
	size   int
	done   chan error // buffered: the committer never blocks on a waiter
}

// NewLocal returns the queue kept in db, whose queue tables Migrate has
// brought up to date, and starts its committer. Close it before closing
// db.
func NewLocal(db *store.DB, opts Options) *Local {
	if opts.Visibility <= 0 {
		opts.Visibility = DefaultVisibility
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	consumer := cmp.Or(opts.Consumer, db)
	q := &Local{db: consumer.SQL(), store: consumer, opts: opts, wdb: db.NewPool(1),
		reqs: make(chan *enqueueReq, opts.MaxBatch), done: make(chan struct{})}
	// SQLite needs no row locks: its immediate transactions take the
	// database's write lock, so claims are serialized. PostgreSQL
	// consumers skip rows another consumer is claiming rather than wait
	// for them.
	if db.Dialect() == store.DialectPostgres {
		q.skipLocks = " FOR UPDATE SKIP LOCKED"
	}
	go q.commitLoop()
	return q
}

func (q *Local) now() int64 { return q.opts.Now().UnixMilli() }

// Enqueue adds a message. It returns after the commit that holds it, so a
// message it accepted is durable. An error means the message was not
// committed, except for ctx's own error: a message whose caller gave up
// while its batch was committing may still be delivered.
func (q *Local) Enqueue(ctx context.Context, body []byte) error {
	return q.EnqueueBatch(ctx, [][]byte{body})
}

// EnqueueBatch adds messages in one transaction: all are committed or
// none. Like Enqueue, it returns after the commit.
func (q *Local) EnqueueBatch(ctx context.Context, bodies [][]byte) error {
	if len(bodies) == 0 {
		return nil
	}
	r := &enqueueReq{ctx: ctx, bodies: bodies, done: make(chan error, 1)}
	for _, b := range bodies {
		r.size += len(b)
	}
	q.mu.RLock()
	if q.closed {
		q.mu.RUnlock()
		return ErrClosed
	}
	select {
	case q.reqs <- r:
		q.mu.RUnlock()
	case <-ctx.Done():
		q.mu.RUnlock()
		return fmt.Errorf("queue: enqueue: %w", ctx.Err())
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("queue: enqueue: %w", ctx.Err())
	}
}

// Close commits the messages already handed to the committer, answers
// their callers, stops the committer and closes its connection. Later
// enqueues fail with ErrClosed; receiving and acknowledging still work.
func (q *Local) Close() error {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.reqs)
	}
	q.mu.Unlock()
	<-q.done
	return q.wdb.Close()
}

// Oldest returns when the oldest message still in the queue (waiting, held
// by a consumer or waiting for a retry) was enqueued, and false when the
// queue is empty: what was received before it has been processed. The
// head of the queue is read by its primary key, whatever the backlog.
func (q *Local) Oldest(ctx context.Context) (time.Time, bool, error) {
	var at int64
	err := q.db.QueryRowContext(ctx, `SELECT enqueued_at FROM queue_messages ORDER BY id LIMIT 1`).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("queue: oldest message: %w", err)
	}
	return time.UnixMilli(at).UTC(), true, nil
}

// Pending returns how many messages wait to be processed (visible or held
// by a consumer), from a counter rather than a query, so ingest can check
// it on every request.
func (q *Local) Pending() int64 { return max(0, q.pending.Load()) }

// commitLoop is the committer: it collects requests into batches and
// commits each batch in one transaction, until Close.
func (q *Local) commitLoop() {
	defer close(q.done)
	q.count()
	every := q.opts.Recount
	if every <= 0 {
		every = DefaultRecount
	}
	recount := time.NewTicker(every)
	defer recount.Stop()
	for {
		select {
		case first, ok := <-q.reqs:
			if !ok {
				return
			}
			q.commit(q.collect(first))
		case <-recount.C:
			// Without it, a process whose messages another one acks
			// would count them pending for good, and refuse every event
			// once past the backlog limit.
			q.count()
		}
	}
}

// count sets pending from the table. The committer runs it between
// batches, so no enqueue of this Local races it; an ack racing it skews
// the count by that ack's messages until the next recount. On failure the
// next batch tries again.
func (q *Local) count() {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	var n int64
	if err := q.wdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM queue_messages`).Scan(&n); err == nil {
		q.pending.Store(n)
		q.counted = true
	}
}

// collect gathers the requests already waiting to commit with first, up
// to MaxBatch messages or maxBatchBytes.
func (q *Local) collect(first *enqueueReq) []*enqueueReq {
	batch := []*enqueueReq{first}
	n, size := len(first.bodies), first.size
	for n < q.opts.MaxBatch && size < maxBatchBytes {
		select {
		case r, ok := <-q.reqs:
			if !ok {
				return batch
			}
			batch = append(batch, r)
			n += len(r.bodies)
			size += r.size
		default:
			return batch
		}
	}
	return batch
}

// commit writes batch in one transaction and answers every request in it.
// A request whose caller already gave up is left out; a failed commit
// fails all the others.
func (q *Local) commit(batch []*enqueueReq) {
	var (
		live   []*enqueueReq
		bodies []any
	)
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- fmt.Errorf("queue: enqueue: %w", err)
			continue
		}
		live = append(live, r)
		for _, b := range r.bodies {
			if b == nil {
				b = []byte{} // NULL is not an empty body
			}
			bodies = append(bodies, b)
		}
	}
	if len(live) == 0 {
		return
	}
	err := q.insert(q.now(), bodies)
	if err != nil {
		err = fmt.Errorf("queue: enqueue: committing %d messages: %w", len(bodies), err)
	} else {
		q.pending.Add(int64(len(bodies)))
	}
	for _, r := range live {
		r.done <- err
	}
}

// DefaultRecount is how often Pending is set from the table again: often
// enough that a count left wrong by another process sharing the queue
// clears within seconds, rarely enough that COUNT(*) over a large backlog
// costs nothing that matters.
const DefaultRecount = 5 * time.Second

// maxRowsPerInsert keeps one INSERT's placeholders well under both
// dialects' limits (SQLite 32766, PostgreSQL 65535) when one EnqueueBatch
// brings thousands of messages.
const maxRowsPerInsert = 1000

// insert writes bodies, enqueued at the Unix millisecond at, in one
// transaction of multi-row INSERTs.
func (q *Local) insert(at int64, bodies []any) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if !q.counted {
		q.count()
	}
	done, err := q.store.WriteTurn(ctx)
	if err != nil {
		return err
	}
	defer done()
	tx, err := q.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// The enqueue time, a number, is written into the statement, so its
	// only placeholders are the bodies, in order (store.DB.Positional).
	ms := strconv.FormatInt(at, 10)
	for len(bodies) > 0 {
		n := min(len(bodies), maxRowsPerInsert)
		var sb strings.Builder
		sb.WriteString(`INSERT INTO queue_messages (body, attempts, visible_at, enqueued_at, last_error) VALUES `)
		for i := range n {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("($" + strconv.Itoa(i+1) + ", 0, " + ms + ", " + ms + ", '')")
		}
		if _, err := tx.ExecContext(ctx, q.store.Positional(sb.String(), n), bodies[:n]...); err != nil {
			tx.Rollback()
			return err
		}
		bodies = bodies[n:]
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	q.commits.Add(1)
	return nil
}

// MaxReceive is the most messages one Receive returns.
const MaxReceive = 1000

// Receive claims up to max (at most MaxReceive) visible messages, oldest
// first, whose bodies take at most Options.MaxReceiveBytes if set (the
// first one whatever its size), and hides them for the visibility
// timeout. A message whose last allowed delivery timed out goes to the
// dead-letter table instead of being delivered again, so Receive may
// return fewer messages than are visible.
func (q *Local) Receive(ctx context.Context, max int) ([]Message, error) {
	if max <= 0 {
		return nil, fmt.Errorf("queue: receive: max must be positive, not %d", max)
	}
	max = min(max, MaxReceive)
	now := q.now()
	var (
		msgs   []Message
		buried int
	)
	err := q.store.InTx(ctx, func(tx *sql.Tx) error {
		msgs, buried = nil, 0 // InTx may run it again
		// Only the head of the queue is read, through the visible_at
		// index, however long the backlog. length() reads a body's size
		// from its header, not the body.
		rows, err := tx.QueryContext(ctx, `SELECT id, attempts, length(body) FROM queue_messages WHERE visible_at <= $1
			ORDER BY visible_at, id LIMIT $2`+q.skipLocks, now, max)
		if err != nil {
			return err
		}
		var (
			claim, expired []any
			bytes          int64
		)
		for rows.Next() {
			var (
				id       int64
				attempts int
				size     int64
			)
			if err := rows.Scan(&id, &attempts, &size); err != nil {
				rows.Close()
				return err
			}
			if attempts >= q.opts.MaxAttempts {
				expired = append(expired, id)
				continue
			}
			if q.opts.MaxReceiveBytes > 0 && len(claim) > 0 && bytes+size > q.opts.MaxReceiveBytes {
				break
			}
			claim = append(claim, id)
			bytes += size
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(expired) > 0 {
			rows, err := tx.QueryContext(ctx, q.store.Positional(`DELETE FROM queue_messages WHERE id IN (`+placeholders(1, len(expired))+`)
				RETURNING id, body, attempts, enqueued_at, last_error`, len(expired)), expired...)
			if err != nil {
				return err
			}
			buried, err = q.bury(ctx, tx, rows, now, func(lastError string) string {
				const how = "not acknowledged within the visibility timeout"
				if lastError == "" {
					return how
				}
				return how + "; last error: " + lastError
			})
			if err != nil {
				return err
			}
		}
		if len(claim) == 0 {
			return nil
		}
		args := append([]any{now + q.opts.Visibility.Milliseconds()}, claim...)
		rows, err = tx.QueryContext(ctx, q.store.Positional(`UPDATE queue_messages SET visible_at = $1, attempts = attempts + 1
			WHERE id IN (`+placeholders(2, len(claim))+`) RETURNING id, body, attempts`, len(args)), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m Message
			if err := rows.Scan(&m.ID, &m.Body, &m.Attempts); err != nil {
				return err
			}
			msgs = append(msgs, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("queue: receive: %w", err)
	}
	q.pending.Add(-int64(buried))
	// RETURNING has no defined order.
	slices.SortFunc(msgs, func(a, b Message) int { return int(a.ID - b.ID) })
	return msgs, nil
}

// placeholders returns n placeholders numbered from first: "$2, $3, $4".
func placeholders(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ps, ", ")
}

// bury moves the deleted messages in rows (id, body, attempts, enqueued_at,
// last_error) to the dead-letter table, with the reason made from the last
// error, and returns how many it moved.
func (q *Local) bury(ctx context.Context, tx *sql.Tx, rows *sql.Rows, now int64, reason func(lastError string) string) (int, error) {
	type dead struct {
		id, enqueued int64
		body         []byte
		attempts     int
		reason       string
	}
	var ds []dead
	for rows.Next() {
		var d dead
		if err := rows.Scan(&d.id, &d.body, &d.attempts, &d.enqueued, &d.reason); err != nil {
			rows.Close()
			return 0, err
		}
		d.reason = cleanReason(reason(d.reason))
		ds = append(ds, d)
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO queue_dead (id, body, attempts, reason, enqueued_at, died_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.id, d.body, d.attempts, d.reason, d.enqueued, now); err != nil {
			return 0, err
		}
	}
	return len(ds), nil
}

// Ack deletes a processed message. A message already gone (acked by a
// consumer that received it again after a timeout) is not an error.
func (q *Local) Ack(ctx context.Context, id int64) error {
	done, err := q.store.WriteTurn(ctx)
	if err != nil {
		return fmt.Errorf("queue: ack %d: %w", id, err)
	}
	res, err := q.db.ExecContext(ctx, `DELETE FROM queue_messages WHERE id = $1`, id)
	done()
	if err != nil {
		return fmt.Errorf("queue: ack %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err == nil {
		q.pending.Add(-n)
	}
	return nil
}

// AckBatch deletes processed messages with one statement per MaxReceive
// of them, as a consumer acknowledges the batch it processed. Messages
// already gone are not an error.
func (q *Local) AckBatch(ctx context.Context, ids []int64) error {
	for len(ids) > 0 {
		n := min(len(ids), MaxReceive)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		done, err := q.store.WriteTurn(ctx)
		if err != nil {
			return fmt.Errorf("queue: ack %d messages: %w", n, err)
		}
		res, err := q.db.ExecContext(ctx, q.store.Positional(`DELETE FROM queue_messages WHERE id IN (`+placeholders(1, n)+`)`, n), args...)
		done()
		if err != nil {
			return fmt.Errorf("queue: ack %d messages: %w", n, err)
		}
		if k, err := res.RowsAffected(); err == nil {
			q.pending.Add(-k)
		}
		ids = ids[n:]
	}
	return nil
}

// Retry makes a message whose processing failed visible again after a
// backoff that doubles with each attempt, or moves it to the dead-letter
// table once it has been delivered MaxAttempts times. reason is kept with
// the message. A message already gone is not an error.
func (q *Local) Retry(ctx context.Context, id int64, reason string) error {
	reason = cleanReason(reason)
	now := q.now()
	buried := 0
	err := q.store.InTx(ctx, func(tx *sql.Tx) error {
		buried = 0 // InTx may run it again
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT attempts FROM queue_messages WHERE id = $1`+q.lock(), id).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if attempts < q.opts.MaxAttempts {
			_, err := tx.ExecContext(ctx, `UPDATE queue_messages SET visible_at = $2, last_error = $3 WHERE id = $1`,
				id, now+backoff(attempts).Milliseconds(), reason)
			return err
		}
		rows, err := tx.QueryContext(ctx, `DELETE FROM queue_messages WHERE id = $1
			RETURNING id, body, attempts, enqueued_at, last_error`, id)
		if err != nil {
			return err
		}
		buried, err = q.bury(ctx, tx, rows, now, func(string) string { return reason })
		return err
	})
	if err != nil {
		return fmt.Errorf("queue: retry %d: %w", id, err)
	}
	q.pending.Add(-int64(buried))
	return nil
}

// lock is the row lock for a message Retry is about to change.
func (q *Local) lock() string {
	if q.skipLocks != "" {
		return " FOR UPDATE"
	}
	return ""
}

// backoff is the wait before the next delivery of a message delivered
// attempts times.
func backoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	d := minBackoff << min(attempts-1, 20)
	return min(d, maxBackoff)
}

// Depth returns how many messages wait to be processed (visible or held by
// a consumer) and how many are dead.
func (q *Local) Depth(ctx context.Context) (ready, dead int64, err error) {
	err = q.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM queue_messages), (SELECT COUNT(*) FROM queue_dead)`).Scan(&ready, &dead)
	if err != nil {
		return 0, 0, fmt.Errorf("queue: depth: %w", err)
	}
	return ready, dead, nil
}

// cleanReason makes an error message storable in both dialects (PostgreSQL
// rejects NUL and invalid UTF-8) and bounds its length.
func cleanReason(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
