package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"slices"
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

// Clean makes text storable and searchable in both dialects: PostgreSQL
// rejects NUL bytes and invalid UTF-8 in TEXT (one bad event must not
// poison the queue, nor one request's parameter fail its statement), and
// SQLite compares bytes, so a request's \xff must read as U+FFFD to find
// what an SDK's \xff was stored as. A NUL is also the Wildcard of an
// IssueFilter, which stored text never holds.
func Clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// truncate cleans s and keeps at most n runes.
func truncate(s string, n int) string {
	s = Clean(s)
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// The implicit tags of an event's user (eventTags).
const (
	TagUserID    = "user.id"
	TagUserEmail = "user.email"
	TagUserName  = "user.username"
)

// key cleans s and replaces it by its SHA-256 when too long to index.
func key(s string) string {
	s = Clean(s)
	if len(s) <= maxKeyBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// eventTags returns the distinct tag pairs an event adds to its issue: its
// own tags plus environment, release and level, the user's id, email
// and username as user.id, user.email and user.username, the keys Sentry
// searches them by ("which issues did this customer hit?"), and the tags
// Sentry derives from the event's fields (builtinTags). Those replace
// tags of the same name, so an event is counted once per key. An email is
// kept in lower case, as addresses are matched in practice and as
// issuefilter searches them.
func eventTags(ev *event.Event, level, release, env string) []event.Tag {
	implicit := []event.Tag{{Key: "environment", Value: env}, {Key: "release", Value: release}, {Key: "level", Value: level}}
	if u := ev.User; u != nil {
		implicit = append(implicit, event.Tag{Key: TagUserID, Value: u.ID},
			event.Tag{Key: TagUserEmail, Value: strings.ToLower(u.Email)}, event.Tag{Key: TagUserName, Value: u.Username})
	}
	builtin := builtinTags(ev, release)
	override := make(map[string]bool)
	for _, t := range append(implicit, builtin...) {
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
	// A derived value that breaks the rules of SDK tags is no tag, and
	// still replaces the SDK's tag of its key, as Sentry's set_tag does
	// before its tag store refuses the value.
	for _, t := range builtin {
		if t.Value != "" && event.TagValueProblem(t.Value) == "" {
			addTag(t)
		}
	}
	return tags
}

// builtinTags are the tags Sentry derives from an event's own fields
// besides level, environment and release: transaction and logger (its
// event manager's set_tag), server_name and site (Relay's
// normalize_event_tags), url (the HTTP interface: the request URL without
// query and fragment), mechanism and handled (the exception interface: the
// outermost exception's mechanism type, and yes or no), and dist, which
// Sentry records only beside a release. Values are "" where the event
// has none.
func builtinTags(ev *event.Event, release string) []event.Tag {
	var mechanism, handled, url string
	if n := len(ev.Exceptions); n > 0 {
		if m := ev.Exceptions[n-1].Mechanism; m != nil {
			mechanism = m.Type
			if m.Handled != nil {
				handled = map[bool]string{true: "yes", false: "no"}[*m.Handled]
			}
		}
	}
	if ev.Request != nil {
		url, _, _ = strings.Cut(ev.Request.URL, "#")
		url, _, _ = strings.Cut(url, "?")
	}
	var dist string
	if release != "" {
		dist = ev.Dist
	}
	tags := []event.Tag{
		{Key: "transaction", Value: ev.Transaction}, {Key: "logger", Value: ev.Logger},
		{Key: "server_name", Value: ev.ServerName}, {Key: "site", Value: ev.Site},
		{Key: "url", Value: url}, {Key: "mechanism", Value: mechanism}, {Key: "handled", Value: handled},
		{Key: "dist", Value: dist},
	}
	for i := range tags {
		tags[i].Value = strings.TrimSpace(tags[i].Value)
	}
	return tags
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
// request in order, carry each issue's state as its event left it
// (worked out under the issue's row lock), so nothing needs to read the
// issue again after the commit. Any error, from a save or a hook, rolls the whole batch back and
// names the event it came from; a caller that wants one bad event not to
// hold up the others saves them again one at a time.
//
// Saving is idempotent per (project, event_id): an event the project
// already has, or one earlier in the same batch, changes nothing and is
// reported Duplicate with the stored event's issue, which makes the
// processor safe under at-least-once delivery. When a concurrent
// transaction stores one of the batch's events first, the batch is rolled
// back and run again, and that event is then a duplicate. On PostgreSQL a
// batch chosen as a deadlock's victim is run again too, a few times (InTx):
// batches write shared rows in sorted order (see saveAll), so only rows
// outside that order, the same new event in two batches, can still
// deadlock. Hooks therefore run once per
// attempt, and must do nothing but run statements in tx: only the attempt
// that commits keeps them.
//
// The event's time is its Timestamp, else Received, else now; Received
// (else now) is when its release counts as first seen. An empty Title or
// Culprit in a request is derived from the event. The issue's title,
// culprit, level and latest event follow the newest event by time.
//
// A resolved issue reopens (Regression), which its activity records,
// unless it was resolved in a release and the event comes from an older
// one, meaning a release first seen before it. Ignored issues stay ignored. Events of a missing project are
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
	dupRuns, mergingRuns := 0, 0
	for {
		var (
			results []SaveResult
			failed  *saving
		)
		err := d.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if results, failed, err = d.saveAll(ctx, tx, batch); err != nil {
				return err
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
		case errors.Is(err, errMerging) && mergingRuns < maxDeadlockRuns:
			mergingRuns++
			continue
		case failed != nil:
			return nil, fmt.Errorf("store: save event %s: %w", failed.eventID, err)
		}
		return nil, fmt.Errorf("store: save batch of %d events: %w", len(batch), err)
	}
}

// maxDeadlockRuns is how many times InTx reruns a transaction PostgreSQL
// chose as a deadlock's victim, and SaveBatch a batch whose issue was
// merged away while it looked, before it gives up and returns the error.
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
	raw, err := event.Marshal(&stored)
	if err != nil {
		return saving{}, fmt.Errorf("store: save event %s: %w", ev.EventID, err)
	}
	payload := compress(raw)
	s := saving{
		eventID:     Clean(ev.EventID),
		projectID:   ev.ProjectID,
		fingerprint: key(req.Fingerprint),
		grouping:    truncate(req.GroupingVersion, MaxTagLength),
		today:       truncate(req.GroupingVersion, MaxTagLength),
		title:       truncate(title, MaxTitleLength),
		culprit:     truncate(culprit, MaxTitleLength),
		level:       level,
		release:     truncate(ev.Release, MaxTagLength),
		env:         truncate(ev.Environment, MaxTagLength),
		userKey:     key(req.UserKey),
		at:          millis(at),
		received:    millis(received),
		payload:     payload,
		previous:    req.Previous,
	}
	if req.FromOlderIngest {
		s.grouping = truncate(olderIngestVersion(req.GroupingVersion), MaxTagLength)
	}
	s.tags = eventTags(ev, s.level, s.release, s.env)
	for _, t := range s.tags {
		if t.Key == "environment" {
			s.envTag = t.Value
		}
	}
	return s, nil
}

// olderIngestVersion is the grouping version an issue gets from an event
// that an older release's ingest queued (SaveRequest.FromOlderIngest),
// grouped by the rules of version: its hash may not be the one today's
// ingest gives the same error, whose events then still take the issue
// over as one of an earlier version (adoptIssue), or confirm its hash
// (confirmIssue).
func olderIngestVersion(version string) string { return version + "+older-ingest" }

// saving is a SaveRequest cleaned and ready for SQL.
type saving struct {
	eventID, fingerprint string
	// grouping is the grouping version the event's issue gets: today's,
	// or olderIngestVersion(today) for an event of an older ingest.
	grouping, today       string
	title, culprit, level string
	release, env, userKey string
	// envTag is the environment tag's value, which the environment filter
	// matches: env, or an SDK's environment tag on an event without one.
	envTag                  string
	projectID, at, received int64
	payload                 []byte
	tags                    []event.Tag
	previous                func() []string
}

// eventKey identifies an event: event IDs are unique per project.
type eventKey struct {
	projectID int64
	eventID   string
}

// issueKey identifies an issue before its ID is known.
type issueKey struct {
	projectID   int64
	fingerprint string
}

// releaseKey identifies a release.
type releaseKey struct {
	projectID int64
	version   string
}

// saveAll stores a batch in tx with a statement per kind of row rather
// than per event: the events of one issue update its row once, its hourly
// buckets and tags once per bucket and pair with their summed counts, and
// new events go in with multi-row INSERTs. The results are those of saving
// the events one by one in batch order, which is what the issue rows are
// replayed from while locked.
//
// On PostgreSQL every statement writes its shared rows (issue keys,
// releases, buckets, tags, users, issue rows) in sorted order, so two
// batches lock what they share in the same order and do not deadlock; the
// issue rows, which every event of an issue updates, are locked after the
// rest, so a hot issue is held only from its update to the commit, and
// only the project's hourly counts, which every batch of the project
// updates, come after them. On failure it
// returns the event that caused it, when one did.
func (d *DB) saveAll(ctx context.Context, tx *sql.Tx, batch []saving) ([]SaveResult, *saving, error) {
	results := make([]SaveResult, len(batch))
	stored, err := d.storedEvents(ctx, tx, batch)
	if err != nil {
		return nil, nil, err
	}
	// fresh are the events to store, in batch order; first maps each
	// event to its first occurrence in the batch.
	var fresh []int
	first := make(map[eventKey]int)
	for i := range batch {
		k := eventKey{batch[i].projectID, batch[i].eventID}
		if issueID, ok := stored[k]; ok {
			results[i] = SaveResult{IssueID: issueID, Duplicate: true}
			continue
		}
		if _, ok := first[k]; ok {
			results[i].Duplicate = true
			continue
		}
		first[k] = i
		fresh = append(fresh, i)
	}
	if len(fresh) == 0 {
		return results, nil, nil
	}
	if i, err := d.missingProject(ctx, tx, batch, fresh); err != nil {
		if i >= 0 {
			return nil, &batch[i], err
		}
		return nil, nil, err
	}
	issues, err := d.ensureIssues(ctx, tx, batch, fresh, results)
	if err != nil {
		return nil, nil, err
	}
	if err := d.insertEvents(ctx, tx, batch, fresh, issues); err != nil {
		return nil, nil, err
	}
	for i := range batch {
		if results[i].Duplicate && results[i].IssueID == 0 {
			results[i].IssueID = issues[first[eventKey{batch[i].projectID, batch[i].eventID}]]
		} else if !results[i].Duplicate {
			results[i].IssueID = issues[i]
		}
	}
	newReleases, err := d.insertReleases(ctx, tx, batch, fresh)
	if err != nil {
		return nil, nil, err
	}
	if err := d.upsertCounts(ctx, tx, batch, fresh, issues); err != nil {
		return nil, nil, err
	}
	if err := d.upsertMinuteCounts(ctx, tx, batch, fresh, issues); err != nil {
		return nil, nil, err
	}
	if err := d.upsertTags(ctx, tx, batch, fresh, issues); err != nil {
		return nil, nil, err
	}
	newUser, err := d.insertUsers(ctx, tx, batch, fresh, issues)
	if err != nil {
		return nil, nil, err
	}
	newEnvs, err := d.saveEnvironments(ctx, tx, batch, fresh, issues)
	if err != nil {
		return nil, nil, err
	}
	for _, i := range fresh {
		if k := (issueEnv{issues[i], batch[i].envTag}); newEnvs[k] {
			results[i].NewInEnvironment = true
			delete(newEnvs, k)
		}
	}
	if err := d.updateIssues(ctx, tx, batch, fresh, issues, newUser, newReleases, results); err != nil {
		return nil, nil, err
	}
	if err := d.upsertProjectCounts(ctx, tx, batch, fresh); err != nil {
		return nil, nil, err
	}
	return results, nil, nil
}

// rowsPerStatement bounds the rows of one multi-row statement, far below
// both dialects' parameter limits (SQLite's 32,766, PostgreSQL's 65,535)
// even at ten columns a row.
const rowsPerStatement = 200

// maxSQLiteChunk is the most rows of one multi-row statement on SQLite,
// where eachChunk makes chunks of a power of two rows. A power of two: so
// that a statement kind comes in eight texts at most (1 to 128 rows),
// which the stmtCache keeps prepared, where a text for every row count
// would be parsed and compiled anew in most batches. n rows then take at
// most log2(n)+1 statements, and a statement run costs a few thousand
// instructions where compiling one of 27 rows cost over 100,000
// (docs/benchmarks.md).
const maxSQLiteChunk = 128

// eachChunk calls fn with the bounds of successive chunks of n rows: of
// rowsPerStatement rows on PostgreSQL, of a power of two rows, the
// largest that fits, on SQLite.
func (d *DB) eachChunk(n int, fn func(from, to int) error) error {
	for from := 0; from < n; {
		size := min(n-from, rowsPerStatement)
		if d.dialect == DialectSQLite {
			size = 1 << (bits.Len(uint(min(n-from, maxSQLiteChunk))) - 1)
		}
		if err := fn(from, from+size); err != nil {
			return err
		}
		from += size
	}
	return nil
}

// storedEvents returns the issue of each event of batch the store already
// has.
func (d *DB) storedEvents(ctx context.Context, tx *sql.Tx, batch []saving) (map[eventKey]int64, error) {
	byProject := make(map[int64][]string)
	var projects []int64
	for _, s := range batch {
		if _, ok := byProject[s.projectID]; !ok {
			projects = append(projects, s.projectID)
		}
		byProject[s.projectID] = append(byProject[s.projectID], s.eventID)
	}
	stored := make(map[eventKey]int64)
	for _, p := range projects {
		ids := byProject[p]
		err := d.eachChunk(len(ids), func(from, to int) error {
			q := d.query()
			q.add(`SELECT event_id, issue_id FROM events WHERE project_id = `, q.arg(p), ` AND event_id IN (`)
			for i, id := range ids[from:to] {
				if i > 0 {
					q.add(", ")
				}
				q.add(q.arg(id))
			}
			q.add(")")
			rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					id    string
					issue int64
				)
				if err := rows.Scan(&id, &issue); err != nil {
					return err
				}
				stored[eventKey{p, id}] = issue
			}
			return rows.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	return stored, nil
}

// missingProject returns ErrNotFound and the first event of fresh whose
// project does not exist, or -1 and nil.
func (d *DB) missingProject(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int) (int, error) {
	q := d.query()
	q.add(`SELECT id FROM projects WHERE id IN (`)
	seen := make(map[int64]bool)
	for _, i := range fresh {
		p := batch[i].projectID
		if seen[p] {
			continue
		}
		if len(seen) > 0 {
			q.add(", ")
		}
		seen[p] = true
		q.add(q.arg(p))
	}
	q.add(")")
	rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
	if err != nil {
		return -1, err
	}
	defer rows.Close()
	exists := make(map[int64]bool)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return -1, err
		}
		exists[id] = true
	}
	if err := rows.Err(); err != nil {
		return -1, err
	}
	for _, i := range fresh {
		if !exists[batch[i].projectID] {
			return i, ErrNotFound
		}
	}
	return -1, nil
}

// ensureIssues finds or creates the issue of each fresh event and returns
// them by batch index. An issue is created from the first of its events in
// the batch, whose result is then NewIssue.
func (d *DB) ensureIssues(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, results []SaveResult) (map[int]int64, error) {
	firstOf := make(map[issueKey]int)
	var keys []issueKey
	for _, i := range fresh {
		k := issueKey{batch[i].projectID, batch[i].fingerprint}
		if _, ok := firstOf[k]; !ok {
			firstOf[k] = i
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b issueKey) int {
		return cmp.Or(cmp.Compare(a.projectID, b.projectID), strings.Compare(a.fingerprint, b.fingerprint))
	})
	// One lookup per issue, prepared once: SQLite then parses it once a
	// batch instead of once an issue.
	find, err := d.prepareTx(ctx, tx, `SELECT id, grouping_version FROM issues WHERE project_id = $1 AND fingerprint = $2`+d.forKeyShare())
	if err != nil {
		return nil, err
	}
	defer find.Close()
	ids := make(map[issueKey]int64, len(keys))
	for _, k := range keys {
		s := &batch[firstOf[k]]
		// Two processes may create the same issue at once: the loser's
		// insert does nothing (PostgreSQL first waits for the winner to
		// commit) and it then reads and locks the winner's row, as
		// findIssue does, or a DeleteIssue could take it away before the
		// events' foreign keys lock it. One deleted before the lock runs
		// the batch again.
		id, version, err := d.findIssue(ctx, tx, find, k, s.grouping != s.today)
		if err == nil && version != s.grouping && version == olderIngestVersion(s.today) {
			err = confirmIssue(ctx, tx, id, s.today)
		}
		if errors.Is(err, sql.ErrNoRows) && s.previous != nil {
			id, err = d.adoptIssue(ctx, tx, k, s)
		}
		if errors.Is(err, sql.ErrNoRows) {
			err = tx.QueryRowContext(ctx, `INSERT INTO issues (project_id, fingerprint, grouping_version, title, culprit, level,
					status, resolved_in_release, count, user_count, first_seen, last_seen, first_release, last_release, latest_event_id)
				VALUES ($1, $2, $3, $4, $5, $6, $7, '', 0, 0, $8, $8, '', '', '')
				ON CONFLICT (project_id, fingerprint) DO NOTHING RETURNING id`,
				k.projectID, k.fingerprint, s.grouping, s.title, s.culprit, s.level, StatusUnresolved, s.at).Scan(&id)
			if err == nil {
				results[firstOf[k]].NewIssue = true
			} else if errors.Is(err, sql.ErrNoRows) {
				err = tx.QueryRowContext(ctx, `SELECT id FROM issues WHERE project_id = $1 AND fingerprint = $2`+d.forKeyShare(),
					k.projectID, k.fingerprint).Scan(&id)
				if errors.Is(err, sql.ErrNoRows) {
					err = fmt.Errorf("issue of fingerprint %q was deleted meanwhile: %w", k.fingerprint, errMerging)
				}
			}
		}
		if err != nil {
			return nil, err
		}
		ids[k] = id
	}
	issues := make(map[int]int64, len(fresh))
	for _, i := range fresh {
		issues[i] = ids[issueKey{batch[i].projectID, batch[i].fingerprint}]
	}
	return issues, nil
}

// confirmIssue gives issue id, made by an event of an older ingest whose
// hash an event of today's ingest has too, today's grouping version: its
// hash is today's, and no event whose previous hash it is may take it over.
func confirmIssue(ctx context.Context, tx *sql.Tx, id int64, today string) error {
	_, err := tx.ExecContext(ctx, `UPDATE issues SET grouping_version = $2 WHERE id = $1`, id, today)
	return err
}

// findIssue returns the ID and grouping version of k's issue, found by find
// (ensureIssues' lookup by project and fingerprint), or of the
// issue its fingerprint was merged into when no issue has it, or
// sql.ErrNoRows. The hash an issue had before a grouping change moved it
// (an alias, see adoptIssue) leads there only the events of an older
// ingest (olderIngest). On PostgreSQL it
// locks the issue row as the events' foreign key would (FOR KEY SHARE, so
// taking it earlier costs nothing), which makes a concurrent MergeIssues
// or DeleteIssue wait for this batch, or this batch wait for it and then
// find the issue gone: the lookup then runs again and finds where the
// merge put the fingerprint. Merges are read only on a miss, which only
// the first event of an issue has.
func (d *DB) findIssue(ctx context.Context, tx *sql.Tx, find *sql.Stmt, k issueKey, olderIngest bool) (int64, string, error) {
	var (
		id      int64
		version string
	)
	err := find.QueryRowContext(ctx, k.projectID, k.fingerprint).Scan(&id, &version)
	// Each turn follows a merge that committed since the one before, and
	// merges are rare: a few turns are more than enough.
	for turn := 0; errors.Is(err, sql.ErrNoRows) && turn < 3; turn++ {
		var target int64
		err = tx.QueryRowContext(ctx, `SELECT issue_id FROM issue_merges WHERE project_id = $1 AND fingerprint = $2`+notAlias(olderIngest),
			k.projectID, k.fingerprint).Scan(&target)
		if err != nil {
			return 0, "", err
		}
		err = tx.QueryRowContext(ctx, `SELECT id, grouping_version FROM issues WHERE id = $1`+d.forKeyShare(), target).Scan(&id, &version)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", fmt.Errorf("issue of fingerprint %q is being merged: %w", k.fingerprint, errMerging)
	}
	return id, version, err
}

// notAlias is the condition on issue_merges that leaves out aliases, the
// hashes issues had before a grouping change moved them (merged_id 0, see
// adoptIssue), unless olderIngest: to today's events such a hash is
// another group's when the change split the issue, which then goes on
// with the first group to arrive only. An event an older ingest queued
// grouped as the old release grouped it, so the alias is its issue.
func notAlias(olderIngest bool) string {
	if olderIngest {
		return ""
	}
	return " AND merged_id <> 0"
}

// errMerging makes SaveBatch run a batch again when the issue one of its
// events was to join was merged away too often while it looked, or was
// deleted just after another batch created it.
var errMerging = errors.New("issue merged meanwhile")

// forKeyShare locks, on PostgreSQL, an issue row that saving inserts
// events, buckets and tags of: the lock their foreign keys take anyway.
func (d *DB) forKeyShare() string {
	if d.dialect == DialectPostgres {
		return " FOR KEY SHARE"
	}
	return ""
}

// adoptIssue moves the issue of k's project that has one of s's previous
// grouping hashes, and was made under another grouping version than s's
// (today's, or an older ingest's under today's rules), to k's hash and
// returns its ID, or sql.ErrNoRows when none has. An issue
// of s's own version with such a hash is no old issue but another group
// of today's rules (a native crash without frames is one, whose hash is
// what a crash with frames had before frames took part): taking it would
// merge the two. A previous hash of an issue that was merged into another
// leads to that one (followMerge). The first previous hash found wins:
// they are newest first. A concurrent transaction that created k's issue
// meanwhile makes the update fail on the unique key, and the batch is
// saved again, finding it. The hash the issue leaves is kept as an alias
// of it in issue_merges (merged_id 0, with the version it was made
// under), for the events an older ingest queued before an upgrade, which
// may be saved after today's first (see notAlias).
func (d *DB) adoptIssue(ctx context.Context, tx *sql.Tx, k issueKey, s *saving) (int64, error) {
	for _, h := range s.previous() {
		var (
			id  int64
			was string
		)
		err := tx.QueryRowContext(ctx, `SELECT id, grouping_version FROM issues
			WHERE project_id = $1 AND fingerprint = $2 AND grouping_version <> $3 AND grouping_version <> $4`+d.forUpdate(),
			k.projectID, key(h), s.grouping, s.today).Scan(&id, &was)
		if err == nil {
			err = moveIssue(ctx, tx, k, id, key(h), was, s.grouping)
		}
		if errors.Is(err, sql.ErrNoRows) {
			id, err = d.followMerge(ctx, tx, k, key(h), s)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return id, err
		}
	}
	return 0, sql.ErrNoRows
}

// moveIssue gives issue id, found by its old hash h made under grouping
// version was, k's hash and grouping, and keeps h as its alias.
func moveIssue(ctx context.Context, tx *sql.Tx, k issueKey, id int64, h, was, grouping string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE issues SET fingerprint = $2, grouping_version = $3 WHERE id = $1`, id, k.fingerprint, grouping); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO issue_merges (project_id, fingerprint, merged_id, issue_id, merged_at, grouping_version)
		VALUES ($1, $2, 0, $3, $4, $5) ON CONFLICT (project_id, fingerprint) DO NOTHING`, k.projectID, h, id, millis(nowUTC()), was)
	return err
}

// followMerge returns the issue that the issue of k's project with the old
// hash h, made under another grouping version than s's (as adoptIssue
// tells them), was merged into, or sql.ErrNoRows. The merged issue is gone, so its hash cannot
// move to k's as adoptIssue moves an issue's: k's hash is recorded as
// merged into that issue too, which findIssue then finds for the events
// that follow without asking for previous hashes again. Its old hash
// stays recorded for events still grouped the old way.
func (d *DB) followMerge(ctx context.Context, tx *sql.Tx, k issueKey, h string, s *saving) (int64, error) {
	var mergedID, target int64
	err := tx.QueryRowContext(ctx, `SELECT merged_id, issue_id FROM issue_merges
		WHERE project_id = $1 AND fingerprint = $2 AND grouping_version <> $3 AND grouping_version <> $4`+notAlias(s.grouping != s.today),
		k.projectID, h, s.grouping, s.today).Scan(&mergedID, &target)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM issues WHERE id = $1`+d.forKeyShare(), target).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Merged again or deleted since the row was read.
		return 0, fmt.Errorf("issue of previous fingerprint %q is being merged: %w", h, errMerging)
	}
	if err != nil {
		return 0, err
	}
	// A concurrent batch that recorded k's hash first recorded the same.
	_, err = tx.ExecContext(ctx, `INSERT INTO issue_merges (project_id, fingerprint, merged_id, issue_id, merged_at, grouping_version)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (project_id, fingerprint) DO NOTHING`,
		k.projectID, k.fingerprint, mergedID, id, millis(nowUTC()), s.grouping)
	return id, err
}

// insertEvents inserts the fresh events in batch order, and fails with
// errDuplicate when a concurrent transaction stored one of them first.
func (d *DB) insertEvents(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, issues map[int]int64) error {
	return d.eachChunk(len(fresh), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO events (project_id, issue_id, event_id, occurred_at, received_at, title, level, release_name, environment, payload) VALUES `)
		for j, i := range fresh[from:to] {
			s := &batch[i]
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(s.projectID), ", ", q.arg(issues[i]), ", ", q.arg(s.eventID), ", ", q.arg(s.at), ", ",
				q.arg(s.received), ", ", q.arg(s.title), ", ", q.arg(s.level), ", ", q.arg(s.release), ", ",
				q.arg(s.env), ", ", q.arg(s.payload), ")")
		}
		q.add(` ON CONFLICT (event_id, project_id) DO NOTHING`)
		r, err := d.exec(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		if n != int64(to-from) {
			return errDuplicate
		}
		return nil
	})
}

// insertReleases records the releases of the fresh events, each first seen
// when the first of its events was received, and returns the ones this
// batch created with the batch index of the event that did.
func (d *DB) insertReleases(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int) (map[releaseKey]int, error) {
	firstOf := make(map[releaseKey]int)
	firstSeen := make(map[releaseKey]int64)
	for _, i := range fresh {
		k := releaseKey{batch[i].projectID, batch[i].release}
		if _, ok := firstOf[k]; !ok && k.version != "" {
			firstOf[k] = i
			firstSeen[k] = batch[i].received
		}
	}
	added, _, err := d.addReleases(ctx, tx, firstSeen)
	if err != nil {
		return nil, err
	}
	created := make(map[releaseKey]int, len(added))
	for k := range added {
		created[k] = firstOf[k]
	}
	return created, nil
}

// addReleases records the releases of firstSeen that are not known yet,
// each first and last seen at the time (unix milliseconds) given, marks
// the known ones seen then (seeReleases), and returns those it created
// and those it refused: a project gets a new release only
// while it has had fewer than MaxNewReleasesPerHour releases first seen in
// the hour before, since any SDK holding its DSN may name as many made-up
// releases as it likes. On PostgreSQL, where workers save side by side,
// the count and the inserts are made under a lock per project
// (releaseLockKey), taken only when a release is unknown, so that two
// savers cannot both fill the room they counted.
func (d *DB) addReleases(ctx context.Context, tx *sql.Tx, firstSeen map[releaseKey]int64) (created, refused map[releaseKey]bool, err error) {
	created, refused = map[releaseKey]bool{}, map[releaseKey]bool{}
	// Projects in ID order, so that savers take their locks in one order;
	// the earliest releases first, so they are the ones kept.
	keys := slices.SortedFunc(maps.Keys(firstSeen), func(a, b releaseKey) int {
		return cmp.Or(cmp.Compare(a.projectID, b.projectID), cmp.Compare(firstSeen[a], firstSeen[b]), strings.Compare(a.version, b.version))
	})
	for len(keys) > 0 {
		n := 1
		for n < len(keys) && keys[n].projectID == keys[0].projectID {
			n++
		}
		project := keys[:n]
		keys = keys[n:]
		unknown, err := d.seeReleases(ctx, tx, project, firstSeen)
		if err != nil {
			return nil, nil, err
		}
		if len(unknown) == 0 {
			continue
		}
		if d.dialect == DialectPostgres {
			if err := lockPair(ctx, tx, releaseLockKey, project[0].projectID); err != nil {
				return nil, nil, err
			}
			// Again under the lock: another saver may have added some.
			if unknown, err = d.unknownReleases(ctx, tx, unknown); err != nil {
				return nil, nil, err
			}
			if len(unknown) == 0 {
				continue
			}
		}
		var recent int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM releases WHERE project_id = $1 AND first_seen > $2`,
			unknown[0].projectID, firstSeen[unknown[0]]-time.Hour.Milliseconds()).Scan(&recent); err != nil {
			return nil, nil, err
		}
		room := MaxNewReleasesPerHour - recent
		for _, k := range unknown {
			if room <= 0 {
				refused[k] = true
				continue
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO releases (project_id, version, first_seen, last_seen) VALUES ($1, $2, $3, $3)
				ON CONFLICT (project_id, version) DO NOTHING`, k.projectID, k.version, firstSeen[k])
			if err != nil {
				return nil, nil, err
			}
			if n, err := res.RowsAffected(); err != nil {
				return nil, nil, err
			} else if n == 1 {
				created[k] = true
				room--
			}
		}
	}
	return created, refused, nil
}

// releaseSeenEvery is how far behind its events a release's last seen may
// fall before one of them moves it: a write an hour per release rather
// than one per event, and far inside retention's window of days, so the
// events that leave it unwritten never find it pruned.
const releaseSeenEvery = time.Hour

// seeRelease records a release of project first and last seen at (unix
// milliseconds), or moves the last seen of a known one there when it is
// releaseSeenEvery behind: what an upload or API call naming a release
// does, one at a time, where addReleases does it for a batch of events.
func seeRelease(ctx context.Context, db dbtx, project int64, version string, at int64) error {
	_, err := db.ExecContext(ctx, `INSERT INTO releases (project_id, version, first_seen, last_seen) VALUES ($1, $2, $3, $3)
		ON CONFLICT (project_id, version) DO UPDATE SET last_seen = excluded.last_seen
		WHERE releases.last_seen < excluded.last_seen - $4`, project, version, at, releaseSeenEvery.Milliseconds())
	return err
}

// seeReleases returns those of keys, releases of one project, that it does
// not have, in keys' order, and moves the last seen of the others to their
// time in firstSeen when it is releaseSeenEvery behind. On PostgreSQL the
// update locks the row, so a PruneReleases under way either waits and then
// finds the release seen, or has deleted it first: then it is unknown
// here, like one that fails to move for any reason, and is looked up again
// under the lock.
func (d *DB) seeReleases(ctx context.Context, tx *sql.Tx, keys []releaseKey, firstSeen map[releaseKey]int64) ([]releaseKey, error) {
	lastSeen, err := d.releasesLastSeen(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	var unknown, stale []releaseKey
	for _, k := range keys {
		last, ok := lastSeen[k.version]
		switch {
		case !ok:
			unknown = append(unknown, k)
		case last < firstSeen[k]-releaseSeenEvery.Milliseconds():
			stale = append(stale, k)
		}
	}
	// In version order, like the other shared rows savers write.
	slices.SortFunc(stale, func(a, b releaseKey) int { return strings.Compare(a.version, b.version) })
	for _, k := range stale {
		res, err := tx.ExecContext(ctx, `UPDATE releases SET last_seen = $1 WHERE project_id = $2 AND version = $3 AND last_seen < $1`,
			firstSeen[k], k.projectID, k.version)
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, err
		} else if n == 0 {
			unknown = append(unknown, k)
		}
	}
	if len(stale) > 0 {
		slices.SortFunc(unknown, func(a, b releaseKey) int {
			return cmp.Or(cmp.Compare(firstSeen[a], firstSeen[b]), strings.Compare(a.version, b.version))
		})
	}
	return unknown, nil
}

// unknownReleases returns those of keys, releases of one project, that it
// does not have, in keys' order.
func (d *DB) unknownReleases(ctx context.Context, tx *sql.Tx, keys []releaseKey) ([]releaseKey, error) {
	lastSeen, err := d.releasesLastSeen(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	var unknown []releaseKey
	for _, k := range keys {
		if _, ok := lastSeen[k.version]; !ok {
			unknown = append(unknown, k)
		}
	}
	return unknown, nil
}

// releasesLastSeen returns the last seen of those of keys, releases of one
// project, that it has, by version.
func (d *DB) releasesLastSeen(ctx context.Context, tx *sql.Tx, keys []releaseKey) (map[string]int64, error) {
	lastSeen := map[string]int64{}
	err := d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`SELECT version, last_seen FROM releases WHERE project_id = `, q.arg(keys[0].projectID), ` AND version IN (`)
		for j, k := range keys[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add(q.arg(k.version))
		}
		q.add(`)`)
		rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v string
			var at int64
			if err := rows.Scan(&v, &at); err != nil {
				return err
			}
			lastSeen[v] = at
		}
		return rows.Err()
	})
	return lastSeen, err
}

// bucket is one hour (or minute) of one issue, or of one project.
type bucket struct{ id, hour int64 }

// upsertCounts adds the fresh events to their issues' hourly buckets, one
// row per bucket.
func (d *DB) upsertCounts(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, issues map[int]int64) error {
	counts := make(map[bucket]int64)
	for _, i := range fresh {
		counts[bucket{issues[i], millis(fromMillis(batch[i].at).Truncate(time.Hour))}]++
	}
	return d.upsertBuckets(ctx, tx, "issue_counts", "issue_id", "hour", counts)
}

// upsertProjectCounts adds the fresh events to their projects' hourly
// counts, the sums of issue_counts by project that the project cards
// chart, one row per project and hour. It comes after the issue rows:
// every save transaction of a project adds to its current hour, so on
// PostgreSQL that row is locked from here to the commit, and a batch
// waiting for it already holds all its issue rows and waits for nothing
// else, while DeleteIssue too locks its issue before its project's hours.
func (d *DB) upsertProjectCounts(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int) error {
	counts := make(map[bucket]int64)
	for _, i := range fresh {
		counts[bucket{batch[i].projectID, millis(fromMillis(batch[i].at).Truncate(time.Hour))}]++
	}
	return d.upsertBuckets(ctx, tx, "project_counts", "project_id", "hour", counts)
}

// upsertMinuteCounts adds the fresh events to their issues' per-minute
// buckets of arrival, which frequency alert rules sum over their window.
// Arrival, not the event's own time: an alert is about what is coming in
// now, whatever clock the SDK's machine has.
func (d *DB) upsertMinuteCounts(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, issues map[int]int64) error {
	counts := make(map[bucket]int64)
	for _, i := range fresh {
		counts[bucket{issues[i], millis(fromMillis(batch[i].received).Truncate(time.Minute))}]++
	}
	return d.upsertBuckets(ctx, tx, "issue_minute_counts", "issue_id", "minute", counts)
}

// upsertBuckets adds counts to table's rows keyed by the columns id (an
// issue's or a project's) and col, one row per bucket, in sorted order.
func (d *DB) upsertBuckets(ctx context.Context, tx *sql.Tx, table, id, col string, counts map[bucket]int64) error {
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b bucket) int {
		return cmp.Or(cmp.Compare(a.id, b.id), cmp.Compare(a.hour, b.hour))
	})
	return d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO `, table, ` (`, id, `, `, col, `, count) VALUES `)
		for j, k := range keys[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.id), ", ", q.arg(k.hour), ", ", q.arg(counts[k]), ")")
		}
		q.add(` ON CONFLICT (`, id, `, `, col, `) DO UPDATE SET count = `, table, `.count + excluded.count`)
		_, err := d.exec(ctx, tx, q.sql(), q.args...)
		return err
	})
}

// issueTag is one tag pair of one issue.
type issueTag struct {
	issueID    int64
	key, value string
}

// tagKey is one tag key of one issue.
type tagKey struct {
	issueID int64
	key     string
}

// Bounds on the tags an issue keeps, so a flood of events with unique tag
// values or keys (a public DSN is enough to send one) cannot grow
// issue_tags, and with it the issue page's tag summary, without end. See
// docs/limits.md.
const (
	// MaxIssueTagValues is the most distinct values an issue keeps of one
	// tag key. Once a key has them, only their counts go on growing.
	MaxIssueTagValues = 1000
	// MaxIssueTagKeys is the most distinct tag keys an issue keeps, besides
	// the unboundedTagKeys.
	MaxIssueTagKeys = 200
)

// unboundedTagKeys are never refused by the bounds: the issue list's
// environment, release and level filters read them from issue_tags. Their
// values are bounded elsewhere: a level is one of five, and every
// environment or release of an issue is one of its project's.
var unboundedTagKeys = map[string]bool{"environment": true, "release": true, "level": true}

// tagBounds returns the most values per key and keys per issue that
// upsertTags keeps; tests lower them through d.tagLimits.
func (d *DB) tagBounds() (values, keys int64) {
	return cmp.Or(d.tagLimits.values, MaxIssueTagValues), cmp.Or(d.tagLimits.keys, MaxIssueTagKeys)
}

// upsertTags counts the fresh events in their issues' tag pairs, one row
// per pair, within MaxIssueTagValues and MaxIssueTagKeys: a key the issue
// cannot take is not kept, and values a full key has not seen are not
// counted. Every pair is upserted, and the pairs that were new are checked
// against issue_tag_keys, which keeps each key's value count and is read
// and written only when the batch brought new pairs: most batches of a
// steady application bring none. A new pair over the bounds is deleted
// again.
func (d *DB) upsertTags(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, issues map[int]int64) error {
	counts := make(map[issueTag]int64)
	for _, i := range fresh {
		for _, t := range batch[i].tags {
			counts[issueTag{issues[i], t.Key, t.Value}]++
		}
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b issueTag) int {
		return cmp.Or(cmp.Compare(a.issueID, b.issueID), strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	})
	added, err := d.upsertTagRows(ctx, tx, keys, counts)
	if err != nil || len(added) == 0 {
		return err
	}
	kept, err := d.keptTagKeys(ctx, tx, added)
	if err != nil {
		return err
	}
	refused, gained := d.boundTags(kept, added)
	if err := d.deleteTagRows(ctx, tx, refused); err != nil {
		return err
	}
	return d.addTagKeys(ctx, tx, gained)
}

// boundTags takes the pairs added, sorted, that their issues did not
// have, whose kept keys have the value counts kept, in order while there
// is room within the bounds, and returns those refused and the values
// each key gained. Taking them in sorted order makes which ones are kept
// independent of the order they came in.
func (d *DB) boundTags(kept map[tagKey]int64, added []issueTag) (refused []issueTag, gained map[tagKey]int64) {
	maxValues, maxKeys := d.tagBounds()
	keyCount := make(map[int64]int64)
	for k := range kept {
		if !unboundedTagKeys[k.key] {
			keyCount[k.issueID]++
		}
	}
	room := make(map[tagKey]int64) // values a key may still gain; -1: any
	gained = make(map[tagKey]int64)
	for _, k := range added {
		tk := tagKey{k.issueID, k.key}
		r, ok := room[tk]
		if !ok {
			n, known := kept[tk]
			switch {
			case unboundedTagKeys[k.key]:
				r = -1
			case known:
				r = max(0, maxValues-n)
			case keyCount[k.issueID] < maxKeys:
				keyCount[k.issueID]++
				r = maxValues
			}
			room[tk] = r
		}
		if r >= 0 && gained[tk] >= r {
			refused = append(refused, k)
			continue
		}
		gained[tk]++
	}
	return refused, gained
}

// keptTagKeys returns the value count of every key the issues of pairs
// keep.
func (d *DB) keptTagKeys(ctx context.Context, tx *sql.Tx, pairs []issueTag) (map[tagKey]int64, error) {
	seen := make(map[int64]bool)
	for _, k := range pairs {
		seen[k.issueID] = true
	}
	ids := slices.Sorted(maps.Keys(seen))
	kept := make(map[tagKey]int64)
	err := d.eachChunk(len(ids), func(from, to int) error {
		q := d.query()
		q.add(`SELECT issue_id, key, value_count FROM issue_tag_keys WHERE issue_id IN (`, q.list(ids[from:to]), `)`)
		rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				k tagKey
				n int64
			)
			if err := rows.Scan(&k.issueID, &k.key, &n); err != nil {
				return err
			}
			kept[k] = n
		}
		return rows.Err()
	})
	return kept, err
}

// upsertTagRows adds counts to the rows of keys, in their sorted order, and
// returns the pairs that had no row before, sorted. A row whose count after
// the upsert is the count added was just inserted: a kept row's count is
// at least one. A row whose count is more than any count added cannot be
// one, and comes back without its key and value: most rows of a steady
// application's batch are such, and reading their text back cost two
// strings a row for nothing.
func (d *DB) upsertTagRows(ctx context.Context, tx *sql.Tx, keys []issueTag, counts map[issueTag]int64) ([]issueTag, error) {
	var added []issueTag
	err := d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO issue_tags (issue_id, key, value, count) VALUES `)
		var most int64
		for j, k := range keys[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.issueID), ", ", q.arg(k.key), ", ", q.arg(k.value), ", ", q.arg(counts[k]), ")")
			most = max(most, counts[k])
		}
		// Arguments, not literals, so that the statement's text depends
		// on its row count alone and the stmtCache keeps it prepared; one
		// each, in order, which SQLite binds fastest (query.sql).
		q.add(` ON CONFLICT (issue_id, key, value) DO UPDATE SET count = issue_tags.count + excluded.count`,
			` RETURNING issue_id, CASE WHEN count <= `, q.arg(most), ` THEN key END, CASE WHEN count <= `, q.arg(most), ` THEN value END, count`)
		rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id         int64
				key, value sql.NullString
				n          int64
			)
			if err := rows.Scan(&id, &key, &value, &n); err != nil {
				return err
			}
			if !key.Valid {
				continue
			}
			if k := (issueTag{id, key.String, value.String}); n == counts[k] {
				added = append(added, k)
			}
		}
		return rows.Err()
	})
	slices.SortFunc(added, func(a, b issueTag) int {
		return cmp.Or(cmp.Compare(a.issueID, b.issueID), strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	})
	return added, err
}

// deleteTagRows deletes the rows of pairs.
func (d *DB) deleteTagRows(ctx context.Context, tx *sql.Tx, pairs []issueTag) error {
	return d.eachChunk(len(pairs), func(from, to int) error {
		q := d.query()
		q.add(`DELETE FROM issue_tags WHERE `)
		for j, k := range pairs[from:to] {
			if j > 0 {
				q.add(" OR ")
			}
			q.add("(issue_id = ", q.arg(k.issueID), " AND key = ", q.arg(k.key), " AND value = ", q.arg(k.value), ")")
		}
		_, err := d.exec(ctx, tx, q.sql(), q.args...)
		return err
	})
}

// addTagKeys adds the values each key gained to its issue_tag_keys row.
func (d *DB) addTagKeys(ctx context.Context, tx *sql.Tx, gained map[tagKey]int64) error {
	keys := slices.SortedFunc(maps.Keys(gained), func(a, b tagKey) int {
		return cmp.Or(cmp.Compare(a.issueID, b.issueID), strings.Compare(a.key, b.key))
	})
	return d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO issue_tag_keys (issue_id, key, value_count) VALUES `)
		for j, k := range keys[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.issueID), ", ", q.arg(k.key), ", ", q.arg(gained[k]), ")")
		}
		q.add(` ON CONFLICT (issue_id, key) DO UPDATE SET value_count = issue_tag_keys.value_count + excluded.value_count`)
		_, err := d.exec(ctx, tx, q.sql(), q.args...)
		return err
	})
}

// issueUser is one user of one issue.
type issueUser struct {
	issueID int64
	key     string
}

// insertUsers records the users of the fresh events and returns the batch
// indexes of the events that brought an issue a user it did not have.
func (d *DB) insertUsers(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, issues map[int]int64) (map[int]bool, error) {
	firstOf := make(map[issueUser]int)
	for _, i := range fresh {
		k := issueUser{issues[i], batch[i].userKey}
		if _, ok := firstOf[k]; !ok && k.key != "" {
			firstOf[k] = i
		}
	}
	keys := slices.SortedFunc(maps.Keys(firstOf), func(a, b issueUser) int {
		return cmp.Or(cmp.Compare(a.issueID, b.issueID), strings.Compare(a.key, b.key))
	})
	newUser := make(map[int]bool)
	err := d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO issue_users (issue_id, user_key) VALUES `)
		for j, k := range keys[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.issueID), ", ", q.arg(k.key), ")")
		}
		q.add(` ON CONFLICT (issue_id, user_key) DO NOTHING RETURNING issue_id, user_key`)
		rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k issueUser
			if err := rows.Scan(&k.issueID, &k.key); err != nil {
				return err
			}
			newUser[firstOf[k]] = true
		}
		return rows.Err()
	})
	return newUser, err
}

// forNoKeyUpdate locks, on PostgreSQL, an issue row that saving goes on
// to update. FOR UPDATE would also wait for the key-share locks that the
// foreign keys of events, buckets and tags take on the issue row, so two
// batches of the issue, each having inserted such rows, would wait for
// each other.
func (d *DB) forNoKeyUpdate() string {
	if d.dialect == DialectPostgres {
		return " FOR NO KEY UPDATE"
	}
	return ""
}

// issueState is an issue row as saving reads it under its lock.
type issueState struct {
	status, resolvedIn          string
	resolvedAfter               string
	count, userCount            int64
	firstSeen, lastSeen         int64
	firstRelease, lastRelease   string
	title, culprit, level, last string
}

// updateIssues locks each issue of the fresh events, in ID order, replays
// its events on it in batch order, fills in their results and writes the
// issue back with one UPDATE. newReleases are the releases this batch
// created, with the event that did: a release is not yet known to the
// events before it, as when saving one by one.
func (d *DB) updateIssues(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, issues map[int]int64,
	newUser map[int]bool, newReleases map[releaseKey]int, results []SaveResult) error {
	events := make(map[int64][]int)
	for _, i := range fresh {
		events[issues[i]] = append(events[issues[i]], i)
	}
	// A batch updates many issues with the same two statements: prepared
	// once, SQLite parses them once per batch instead of once per issue.
	read, err := d.prepareTx(ctx, tx, `SELECT status, resolved_in_release, count, user_count, first_seen, last_seen,
			first_release, last_release, title, culprit, level, latest_event_id, resolved_after_release
		FROM issues WHERE id = $1`+d.forNoKeyUpdate())
	if err != nil {
		return err
	}
	defer read.Close()
	write, err := d.prepareTx(ctx, tx, `UPDATE issues SET
			count = $2, user_count = $3, first_seen = $4, last_seen = $5,
			first_release = $6, last_release = $7, status = $8, resolved_in_release = $9,
			title = $10, culprit = $11, level = $12, latest_event_id = $13, resolved_after_release = $14
		WHERE id = $1`)
	if err != nil {
		return err
	}
	defer write.Close()
	for _, id := range slices.Sorted(maps.Keys(events)) {
		var st issueState
		err := read.QueryRowContext(ctx, id).Scan(
			&st.status, &st.resolvedIn, &st.count, &st.userCount, &st.firstSeen, &st.lastSeen,
			&st.firstRelease, &st.lastRelease, &st.title, &st.culprit, &st.level, &st.last, &st.resolvedAfter)
		if err != nil {
			return err
		}
		for _, i := range events[id] {
			s, res := &batch[i], &results[i]
			if st.status == StatusResolved {
				known := func(version string) bool {
					at, ok := newReleases[releaseKey{s.projectID, version}]
					return !ok || at <= i
				}
				// Resolved in a release, the issue reopens for an event of
				// that release or a newer one, not an older. An event of no
				// release counts as older, as in Sentry
				// (GroupResolution.has_resolution): a process that sets no
				// release is taken for one from before releases were set.
				reopen := st.resolvedIn == "" || s.release != ""
				if st.resolvedIn != "" && s.release != "" && s.release != st.resolvedIn {
					switch c, ok := compareReleases(s.release, st.resolvedIn); {
					case ok:
						reopen = c >= 0
					case !known(st.resolvedIn):
						// Created by a later event of this batch: not yet
						// seen when this one arrived.
						reopen = false
					default:
						if reopen, err = newerByDate(ctx, tx, s.projectID, st.resolvedIn, s.release); err != nil {
							return err
						}
					}
				}
				if st.resolvedAfter != "" {
					// Resolved in the next release: only a release first
					// seen after the latest one then can have the fix, so
					// only its events reopen the issue; this batch's new
					// releases are such.
					_, created := newReleases[releaseKey{s.projectID, s.release}]
					reopen = s.release != "" && created
					if s.release != "" && !created {
						if reopen, err = seenAfter(ctx, tx, s.projectID, s.release, st.resolvedAfter); err != nil {
							return err
						}
					}
				}
				if reopen {
					st.status, st.resolvedIn, st.resolvedAfter = StatusUnresolved, "", ""
					res.Regression = true
					// Rare, so its one statement costs ordinary events
					// nothing.
					if _, err := addActivity(ctx, tx, id, ActivityRegression, 0, activityData{Release: s.release}); err != nil {
						return err
					}
				}
			}
			if newUser[i] {
				st.userCount++
			}
			// A new issue's placeholder times equal its first event's, so
			// that event counts as the newest and fills in everything below.
			newest := s.at >= st.lastSeen
			if s.release != "" && (st.firstRelease == "" || s.at < st.firstSeen) {
				st.firstRelease = s.release
			}
			if s.release != "" && (st.lastRelease == "" || newest) {
				st.lastRelease = s.release
			}
			st.count++
			st.firstSeen, st.lastSeen = min(st.firstSeen, s.at), max(st.lastSeen, s.at)
			if newest {
				st.title, st.culprit, st.level, st.last = s.title, s.culprit, s.level, s.eventID
			}
			res.Count, res.UserCount, res.Status, res.Title, res.Level = st.count, st.userCount, st.status, st.title, st.level
			res.Culprit, res.ProjectID, res.EventID = st.culprit, s.projectID, s.eventID
			res.EventTitle, res.EventCulprit = s.title, s.culprit
			res.EventLevel, res.Environment, res.Release = s.level, s.env, s.release
		}
		if _, err := write.ExecContext(ctx, id, st.count, st.userCount, st.firstSeen, st.lastSeen, st.firstRelease, st.lastRelease,
			st.status, st.resolvedIn, st.title, st.culprit, st.level, st.last, st.resolvedAfter); err != nil {
			return err
		}
	}
	return nil
}

// seenAfter reports whether release was first seen after release
// before, the release an issue was resolved after (see
// IssueChange.InNextRelease); not when before is gone, there being no
// date to order by.
func seenAfter(ctx context.Context, tx *sql.Tx, projectID int64, release, before string) (bool, error) {
	var after bool
	err := tx.QueryRowContext(ctx, `SELECT e.first_seen > r.first_seen FROM releases e, releases r
		WHERE e.project_id = $1 AND e.version = $2 AND r.project_id = $1 AND r.version = $3`,
		projectID, release, before).Scan(&after)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return after, err
}

// newerByDate reports whether release was first seen no earlier than
// resolvedIn, for releases that do not both parse as versions (see
// compareReleases). Resolving in a release records it (UpdateIssueStatus),
// so both rows exist but for an issue resolved in a release Flytrap had not
// seen before it did that: such an issue stays resolved, there being no
// date to order by.
func newerByDate(ctx context.Context, tx *sql.Tx, projectID int64, resolvedIn, release string) (bool, error) {
	var newer bool
	err := tx.QueryRowContext(ctx, `SELECT e.first_seen >= r.first_seen FROM releases e, releases r
		WHERE e.project_id = $1 AND e.version = $2 AND r.project_id = $1 AND r.version = $3`,
		projectID, release, resolvedIn).Scan(&newer)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return newer, err
}
