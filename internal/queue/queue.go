// Package queue is the durable buffer between ingest and the processor when
// Flytrap runs on one machine (flytrap dev). Messages live in the store's
// database (table queue_messages, dead letters in queue_dead), so an
// enqueued event survives a crash exactly as well as stored data does. The
// queue owns those tables: Migrate creates and upgrades them. It
// follows SQS semantics, the queue used on AWS: at-least-once delivery, a
// visibility timeout, and a dead-letter queue after MaxAttempts deliveries.
package queue

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/store"
)

// Defaults for Options.
const (
	DefaultVisibility  = 30 * time.Second
	DefaultMaxAttempts = 5
)

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
	// Now is the clock (tests inject one).
	Now func() time.Time
}

// Local is a queue in the store's database, safe for concurrent use by
// many consumers, in one process or several.
type Local struct {
	db        *sql.DB
	store     *store.DB
	opts      Options
	skipLocks string
}

// NewLocal returns the queue kept in db, whose queue tables Migrate has
// brought up to date.
func NewLocal(db *store.DB, opts Options) *Local {
	if opts.Visibility <= 0 {
		opts.Visibility = DefaultVisibility
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	q := &Local{db: db.SQL(), store: db, opts: opts}
	// SQLite needs no row locks: its immediate transactions take the
	// database's write lock, so claims are serialized. PostgreSQL
	// consumers skip rows another consumer is claiming rather than wait
	// for them.
	if db.Dialect() == store.DialectPostgres {
		q.skipLocks = " FOR UPDATE SKIP LOCKED"
	}
	return q
}

func (q *Local) now() int64 { return q.opts.Now().UnixMilli() }

// Enqueue adds a message. It returns after the commit, so a message it
// accepted is durable.
func (q *Local) Enqueue(ctx context.Context, body []byte) error {
	if body == nil {
		body = []byte{} // NULL is not an empty body
	}
	now := q.now()
	if _, err := q.db.ExecContext(ctx, `INSERT INTO queue_messages (body, attempts, visible_at, enqueued_at, last_error)
		VALUES ($1, 0, $2, $2, '')`, body, now); err != nil {
		return fmt.Errorf("queue: enqueue: %w", err)
	}
	return nil
}

// MaxReceive is the most messages one Receive returns.
const MaxReceive = 1000

// Receive claims up to max (at most MaxReceive) visible messages, oldest
// first, and hides them for the visibility timeout. A message whose last
// allowed delivery timed out goes to the dead-letter table instead of being
// delivered again, so Receive may return fewer messages than are visible.
func (q *Local) Receive(ctx context.Context, max int) ([]Message, error) {
	if max <= 0 {
		return nil, fmt.Errorf("queue: receive: max must be positive, not %d", max)
	}
	max = min(max, MaxReceive)
	now := q.now()
	var msgs []Message
	err := q.store.InTx(ctx, func(tx *sql.Tx) error {
		// Only the head of the queue is read, through the visible_at
		// index, however long the backlog.
		rows, err := tx.QueryContext(ctx, `SELECT id, attempts FROM queue_messages WHERE visible_at <= $1
			ORDER BY visible_at, id LIMIT $2`+q.skipLocks, now, max)
		if err != nil {
			return err
		}
		var claim, expired []any
		for rows.Next() {
			var (
				id       int64
				attempts int
			)
			if err := rows.Scan(&id, &attempts); err != nil {
				rows.Close()
				return err
			}
			if attempts >= q.opts.MaxAttempts {
				expired = append(expired, id)
			} else {
				claim = append(claim, id)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(expired) > 0 {
			rows, err := tx.QueryContext(ctx, `DELETE FROM queue_messages WHERE id IN (`+placeholders(1, len(expired))+`)
				RETURNING id, body, attempts, enqueued_at, last_error`, expired...)
			if err != nil {
				return err
			}
			err = q.bury(ctx, tx, rows, now, func(lastError string) string {
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
		rows, err = tx.QueryContext(ctx, `UPDATE queue_messages SET visible_at = $1, attempts = attempts + 1
			WHERE id IN (`+placeholders(2, len(claim))+`) RETURNING id, body, attempts`, args...)
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
// error.
func (q *Local) bury(ctx context.Context, tx *sql.Tx, rows *sql.Rows, now int64, reason func(lastError string) string) error {
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
			return err
		}
		d.reason = cleanReason(reason(d.reason))
		ds = append(ds, d)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO queue_dead (id, body, attempts, reason, enqueued_at, died_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, d.id, d.body, d.attempts, d.reason, d.enqueued, now); err != nil {
			return err
		}
	}
	return nil
}

// Ack deletes a processed message. A message already gone (acked by a
// consumer that received it again after a timeout) is not an error.
func (q *Local) Ack(ctx context.Context, id int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM queue_messages WHERE id = $1`, id); err != nil {
		return fmt.Errorf("queue: ack %d: %w", id, err)
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
		if _, err := q.db.ExecContext(ctx, `DELETE FROM queue_messages WHERE id IN (`+placeholders(1, n)+`)`, args...); err != nil {
			return fmt.Errorf("queue: ack %d messages: %w", n, err)
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
	err := q.store.InTx(ctx, func(tx *sql.Tx) error {
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
		return q.bury(ctx, tx, rows, now, func(string) string { return reason })
	})
	if err != nil {
		return fmt.Errorf("queue: retry %d: %w", id, err)
	}
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
