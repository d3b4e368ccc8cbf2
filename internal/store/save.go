package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// Limits on SDK-supplied text stored in indexed or listed columns. The full
// values stay in the event payload.
const (
	// MaxTagLength is the most runes kept of a tag key or value, a release
	// or an environment.
	MaxTagLength = 200
	// MaxTitleLength is the most runes kept of an issue or event title and
	// culprit.
	MaxTitleLength = 1024
)

// maxKeyBytes bounds fingerprints and user keys, which must stay distinct:
// longer ones are replaced by their SHA-256 instead of being truncated.
const maxKeyBytes = 200

// errDuplicate makes SaveBatch roll back when another transaction stored
// one of its events first.
var errDuplicate = errors.New("duplicate event")

// clean makes SDK text storable in both dialects: PostgreSQL rejects NUL
// bytes and invalid UTF-8 in TEXT, and one bad event must not poison the
// queue.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// truncate cleans s and keeps at most n runes.
func truncate(s string, n int) string {
	s = clean(s)
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// key cleans s and replaces it by its SHA-256 when too long to index.
func key(s string) string {
	s = clean(s)
	if len(s) <= maxKeyBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// eventTags returns the distinct tag pairs an event adds to its issue: its
// own tags plus environment, release and level. Those three replace tags of
// the same name, so an event is counted once per key.
func eventTags(ev *event.Event, level, release, env string) []event.Tag {
	implicit := []event.Tag{{Key: "environment", Value: env}, {Key: "release", Value: release}, {Key: "level", Value: level}}
	override := make(map[string]bool)
	for _, t := range implicit {
		if t.Value != "" {
			override[t.Key] = true
		}
	}
	seen := make(map[event.Tag]bool)
	var tags []event.Tag
	addTag := func(t event.Tag) {
		t = event.Tag{Key: truncate(t.Key, MaxTagLength), Value: truncate(t.Value, MaxTagLength)}
		if t.Key == "" || seen[t] {
			return
		}
		seen[t] = true
		tags = append(tags, t)
	}
	for _, t := range ev.Tags {
		if !override[truncate(t.Key, MaxTagLength)] {
			addTag(t)
		}
	}
	for _, t := range implicit {
		if t.Value != "" {
			addTag(t)
		}
	}
	return tags
}

// issueState is the part of an issue save reads under its row lock.
type issueState struct {
	status, resolvedIn        string
	userCount                 int64
	firstSeen, lastSeen       int64
	firstRelease, lastRelease string
}

// TxHook adds statements to SaveBatch's transaction: outbox rows, or a
// NOTIFY that PostgreSQL delivers when, and only if, the batch commits.
// It runs after every event of the batch is saved and sees their results,
// index for index with the requests; an error rolls the whole batch back.
// Statements use $N placeholders, as everywhere in the store.
type TxHook func(ctx context.Context, tx *sql.Tx, results []SaveResult) error

// SaveEvent stores one event: SaveBatch with a batch of one.
func (d *DB) SaveEvent(ctx context.Context, req SaveRequest) (SaveResult, error) {
	res, err := d.SaveBatch(ctx, []SaveRequest{req})
	if err != nil {
		return SaveResult{}, err
	}
	return res[0], nil
}

// SaveBatch stores processed events and updates their issues in one
// transaction, then runs hooks in it, and commits. The results, one per
// request in order, carry each issue's state as the transaction left it
// (from RETURNING), so nothing needs to read the issue again after the
// commit. Any error, from a save or a hook, rolls the whole batch back and
// names the event it came from; a caller that wants one bad event not to
// hold up the others saves them again one at a time.
//
// Saving is idempotent per (project, event_id): an event the project
// already has, or one earlier in the same batch, changes nothing and is
// reported Duplicate with the stored event's issue, which makes the
// processor safe under at-least-once delivery. When a concurrent
// transaction stores one of the batch's events first, the batch is rolled
// back and run again, and that event is then a duplicate. On PostgreSQL a
// batch that deadlocks with another (they lock issue rows in their own
// event order) is run again too, a few times. Hooks therefore run once per
// attempt, and must do nothing but run statements in tx: only the attempt
// that commits keeps them.
//
// The event's time is its Timestamp, else Received, else now; Received
// (else now) is when its release counts as first seen. An empty Title or
// Culprit in a request is derived from the event. The issue's title,
// culprit, level and latest event follow the newest event by time.
//
// A resolved issue reopens (Regression) unless it was resolved in a release
// and the event comes from an older one, meaning a release first seen
// before it. Ignored issues stay ignored. Events of a missing project are
// ErrNotFound.
func (d *DB) SaveBatch(ctx context.Context, reqs []SaveRequest, hooks ...TxHook) ([]SaveResult, error) {
	batch := make([]saving, len(reqs))
	for i, req := range reqs {
		s, err := prepare(req)
		if err != nil {
			return nil, err
		}
		batch[i] = s
	}
	// Each rerun for a duplicate finds at least one more event already
	// stored, so there are at most as many as events.
	dupRuns, deadlockRuns := 0, 0
	for {
		results := make([]SaveResult, len(batch))
		var failed *saving
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			for i := range batch {
				var err error
				if results[i], err = d.save(ctx, tx, &batch[i]); err != nil {
					failed = &batch[i]
					return err
				}
			}
			for _, h := range hooks {
				if err := h(ctx, tx, results); err != nil {
					return fmt.Errorf("hook: %w", err)
				}
			}
			return nil
		})
		switch {
		case err == nil:
			return results, nil
		case errors.Is(err, errDuplicate) && dupRuns < len(batch):
			dupRuns++
			continue
		case pgDeadlock(err) && deadlockRuns < maxDeadlockRuns:
			deadlockRuns++
			continue
		case failed != nil:
			return nil, fmt.Errorf("store: save event %s: %w", failed.eventID, err)
		}
		return nil, fmt.Errorf("store: save batch of %d events: %w", len(batch), err)
	}
}

// maxDeadlockRuns is how many times SaveBatch reruns a batch PostgreSQL
// chose as a deadlock's victim before it gives up and returns the error.
const maxDeadlockRuns = 3

// prepare checks a request and cleans it for SQL.
func prepare(req SaveRequest) (saving, error) {
	ev := req.Event
	if ev == nil || ev.EventID == "" || len(ev.EventID) > 64 || ev.ProjectID <= 0 || req.Fingerprint == "" {
		return saving{}, fmt.Errorf("store: save event: %w: event, event ID, project ID and fingerprint are required", ErrInvalid)
	}
	received := ev.Received
	if received.IsZero() {
		received = time.Now()
	}
	at := ev.Timestamp
	if at.IsZero() {
		at = received
	}
	title, culprit := req.Title, req.Culprit
	if title == "" {
		title = ev.Title()
	}
	if culprit == "" {
		culprit = ev.Culprit()
	}
	level := truncate(ev.Level, MaxTagLength)
	if level == "" {
		level = event.Levels[0]
	}
	// The payload carries the defaults chosen here, so it agrees with the
	// row; the caller's event is left alone.
	stored := *ev
	stored.Timestamp, stored.Received = at.UTC(), received.UTC()
	if stored.Level == "" {
		stored.Level = level
	}
	raw, err := json.Marshal(&stored)
	if err != nil {
		return saving{}, fmt.Errorf("store: save event %s: %w", ev.EventID, err)
	}
	payload := compress(raw)
	s := saving{
		eventID:     clean(ev.EventID),
		projectID:   ev.ProjectID,
		fingerprint: key(req.Fingerprint),
		grouping:    truncate(req.GroupingVersion, MaxTagLength),
		title:       truncate(title, MaxTitleLength),
		culprit:     truncate(culprit, MaxTitleLength),
		level:       level,
		release:     truncate(ev.Release, MaxTagLength),
		env:         truncate(ev.Environment, MaxTagLength),
		userKey:     key(req.UserKey),
		at:          millis(at),
		received:    millis(received),
		payload:     payload,
	}
	s.tags = eventTags(ev, s.level, s.release, s.env)
	return s, nil
}

// saving is a SaveRequest cleaned and ready for SQL.
type saving struct {
	eventID, fingerprint, grouping string
	title, culprit, level          string
	release, env, userKey          string
	projectID, at, received        int64
	payload                        []byte
	tags                           []event.Tag
}

// save stores one event of SaveBatch's transaction. On PostgreSQL it locks the issue row
// before touching anything else the event shares with concurrent saves, so
// saves of one issue queue on that lock and cannot deadlock.
func (d *DB) save(ctx context.Context, tx *sql.Tx, s *saving) (SaveResult, error) {
	var res SaveResult
	// Redelivered events are the common duplicate; skip the work for them.
	err := tx.QueryRowContext(ctx, `SELECT issue_id FROM events WHERE event_id = $1 AND project_id = $2`,
		s.eventID, s.projectID).Scan(&res.IssueID)
	if err == nil {
		res.Duplicate = true
		return res, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return res, err
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = $1`, s.projectID).Scan(&one); err != nil {
		return res, notFound(err)
	}

	// Two processes may create the same issue at once: the loser's insert
	// does nothing (PostgreSQL first waits for the winner to commit) and it
	// then reads and locks the winner's row.
	err = tx.QueryRowContext(ctx, `INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level,
			status, resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, '', 0, 0, $8, $8, '', '', '')
		ON CONFLICT (project_id, fingerprint) DO NOTHING RETURNING id`,
		s.projectID, s.fingerprint, s.grouping, s.title, s.culprit, s.level, StatusUnresolved, s.at).Scan(&res.IssueID)
	switch {
	case err == nil:
		res.NewIssue = true
	case !errors.Is(err, sql.ErrNoRows):
		return res, err
	}
	var st issueState
	err = tx.QueryRowContext(ctx, `SELECT id, status, resolved_in_release, user_count, first_seen, last_seen, first_release, last_release
		FROM issues WHERE project_id = $1 AND fingerprint = $2`+d.forUpdate(), s.projectID, s.fingerprint).Scan(
		&res.IssueID, &st.status, &st.resolvedIn, &st.userCount, &st.firstSeen, &st.lastSeen, &st.firstRelease, &st.lastRelease)
	if err != nil {
		return res, err
	}

	var eventRow int64
	err = tx.QueryRowContext(ctx, `INSERT INTO events (project_id, issue_id, event_id, occurred_at, received_at, title, level, release_name, environment, payload)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (event_id, project_id) DO NOTHING RETURNING id`,
		s.projectID, res.IssueID, s.eventID, s.at, s.received, s.title, s.level, s.release, s.env, s.payload).Scan(&eventRow)
	if errors.Is(err, sql.ErrNoRows) {
		return res, errDuplicate
	}
	if err != nil {
		return res, err
	}

	hour := millis(fromMillis(s.at).Truncate(time.Hour))
	if _, err := tx.ExecContext(ctx, `INSERT INTO issue_counts (issue_id, hour, count) VALUES ($1, $2, 1)
		ON CONFLICT (issue_id, hour) DO UPDATE SET count = issue_counts.count + 1`, res.IssueID, hour); err != nil {
		return res, err
	}
	if err := upsertTags(ctx, tx, res.IssueID, s.tags); err != nil {
		return res, err
	}
	newUser := false
	if s.userKey != "" {
		r, err := tx.ExecContext(ctx, `INSERT INTO issue_users (issue_id, user_key) VALUES ($1, $2)
			ON CONFLICT (issue_id, user_key) DO NOTHING`, res.IssueID, s.userKey)
		if err != nil {
			return res, err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return res, err
		}
		newUser = n == 1
	}
	if s.release != "" {
		if _, err := tx.ExecContext(ctx, `INSERT INTO releases (project_id, version, first_seen) VALUES ($1, $2, $3)
			ON CONFLICT (project_id, version) DO NOTHING`, s.projectID, s.release, s.received); err != nil {
			return res, err
		}
	}

	if st.status == StatusResolved {
		reopen, err := regresses(ctx, tx, s.projectID, st.resolvedIn, s.release)
		if err != nil {
			return res, err
		}
		if reopen {
			st.status, st.resolvedIn = StatusUnresolved, ""
			res.Regression = true
		}
	}
	if newUser {
		st.userCount++
	}
	// A new issue's placeholder times equal s.at, so its first event counts
	// as the newest and fills in everything below.
	newest := s.at >= st.lastSeen
	if s.release != "" && (st.firstRelease == "" || s.at < st.firstSeen) {
		st.firstRelease = s.release
	}
	if s.release != "" && (st.lastRelease == "" || newest) {
		st.lastRelease = s.release
	}
	err = tx.QueryRowContext(ctx, `UPDATE issues SET
			count = count + 1, user_count = $2, first_seen = $3, last_seen = $4,
			first_release = $5, last_release = $6, status = $7, resolved_in_release = $8,
			title = CASE WHEN $9 THEN $10 ELSE title END,
			culprit = CASE WHEN $9 THEN $11 ELSE culprit END,
			level = CASE WHEN $9 THEN $12 ELSE level END,
			latest_event_id = CASE WHEN $9 THEN $13 ELSE latest_event_id END
		WHERE id = $1
		RETURNING count, user_count, status, title, level`,
		res.IssueID, st.userCount, min(st.firstSeen, s.at), max(st.lastSeen, s.at),
		st.firstRelease, st.lastRelease, st.status, st.resolvedIn,
		newest, s.title, s.culprit, s.level, s.eventID).Scan(&res.Count, &res.UserCount, &res.Status, &res.Title, &res.Level)
	return res, err
}

// regresses reports whether an event of release reopens an issue resolved
// in resolvedIn: always, unless both are set and release was first seen
// before resolvedIn. A resolvedIn never seen is a future release, so every
// release seen so far is older.
func regresses(ctx context.Context, tx *sql.Tx, projectID int64, resolvedIn, release string) (bool, error) {
	if resolvedIn == "" || release == "" || release == resolvedIn {
		return true, nil
	}
	var newer bool
	err := tx.QueryRowContext(ctx, `SELECT e.first_seen >= r.first_seen FROM releases e, releases r
		WHERE e.project_id = $1 AND e.version = $2 AND r.project_id = $1 AND r.version = $3`,
		projectID, release, resolvedIn).Scan(&newer)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return newer, err
}

// tagBatch bounds the rows of one multi-row upsert, far below both
// dialects' parameter limits.
const tagBatch = 200

// upsertTags counts one more event for each (distinct) tag pair.
func upsertTags(ctx context.Context, tx *sql.Tx, issueID int64, tags []event.Tag) error {
	for len(tags) > 0 {
		n := min(len(tags), tagBatch)
		var q query
		issue := q.arg(issueID)
		q.add(`INSERT INTO issue_tags (issue_id, key, value, count) VALUES `)
		for i, t := range tags[:n] {
			if i > 0 {
				q.add(", ")
			}
			q.add("(", issue, ", ", q.arg(t.Key), ", ", q.arg(t.Value), ", 1)")
		}
		q.add(` ON CONFLICT (issue_id, key, value) DO UPDATE SET count = issue_tags.count + 1`)
		if _, err := tx.ExecContext(ctx, q.sb.String(), q.args...); err != nil {
			return err
		}
		tags = tags[n:]
	}
	return nil
}
