package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// MaxSessionIDsPerHour bounds the distinct IDs release health keeps of one
// kind (errored, crashed and abnormal sessions, users, crashed users) per
// project, release, environment and hour, so that a flood of made-up
// session or user IDs (a public DSN is enough to send one) cannot grow
// release_session_ids without end. Beyond it the errored sessions and
// users stop growing for that hour; the session counts and the crash-free
// sessions rate stay exact (a resent crash update then counts again), and
// crashed users are counted among the users kept, so crash-free users is
// the rate of those users.
const MaxSessionIDsPerHour = 10000

// MaxNewReleasesPerHour bounds the releases events and sessions may add to
// a project: a release Flytrap does not know is recorded only while the
// project has had fewer releases first seen in the past hour (from events,
// sentry-cli or sessions). Past it an event is stored with its release tag
// but records no release, and sessions are not counted. Without it a
// public DSN could add releases as fast as the rate limit lets events in,
// and push the real ones out of the releases list and of "latest".
const MaxNewReleasesPerHour = 100

// MaxSessionCount is the most a release_sessions counter holds, and the
// most a figure of ReleaseHealth adds up to: a bucket's count stops there
// rather than overflow a BIGINT (PostgreSQL fails the statement, SQLite
// turns the column into a float) and fail every later message of the
// bucket. Ingest bounds what one message adds far below it, so only a
// flood that lasts reaches it.
const MaxSessionCount = 1_000_000_000_000_000

// addCount is a + b held to 0..MaxSessionCount, the store not trusting its
// callers' counts to be in range.
func addCount(a, b int64) int64 {
	a, b = min(max(a, 0), MaxSessionCount), min(max(b, 0), MaxSessionCount)
	return min(a, MaxSessionCount-b) + b
}

// Kinds of release_session_ids.
const (
	idErroredSession  = "e"
	idUser            = "u"
	idCrashedUser     = "c"
	idCrashedSession  = "x"
	idAbnormalSession = "a"
)

// SessionsRequest is one queue message's sessions to count: the event that
// carries them (event.Event.Sessions set), by whose ID a redelivery is
// known.
type SessionsRequest struct {
	Event *event.Event
}

// SessionsResult is what counting one message's sessions did.
type SessionsResult struct {
	// Duplicate is true when the message was counted before: a
	// redelivery, which changes nothing.
	Duplicate bool
	// Orphan is true when the project no longer exists; nothing was
	// counted.
	Orphan bool
}

// healthKey is one bucket of release_sessions.
type healthKey struct {
	projectID            int64
	release, environment string
	hour                 int64
}

// healthCounts are what a batch adds to one bucket, and the IDs it offers
// each kind of release_session_ids.
type healthCounts struct {
	started, errored, crashed, abnormal int64
	ids                                 map[string][]string
}

func (c *healthCounts) id(kind, id string) {
	if id == "" {
		return
	}
	if c.ids == nil {
		c.ids = map[string][]string{}
	}
	if !slices.Contains(c.ids[kind], id) {
		c.ids[kind] = append(c.ids[kind], id)
	}
}

// SaveSessions counts the sessions of reqs in one transaction and returns
// one result per request. It is idempotent per (project, event ID): the
// queue delivers at least once. Each session counts in the hour it
// started:
//
//   - an update with init true is a session (started);
//   - an update with status crashed or abnormal counts as crashed or
//     abnormal once, by its sid, however many updates say so: an SDK
//     resends an update it had no answer for, and sends the session's
//     end after a crash update; past MaxSessionIDsPerHour such sids in
//     the hour each update counts, so that the crash-free rate stays
//     exact but for resends;
//   - a session that has had an error (errors > 0, or a status of errored,
//     crashed or abnormal) counts as errored once, by its sid, however many
//     updates say so;
//   - a user (did) counts once per hour, and as a crashed user when a
//     session of theirs crashed;
//   - an aggregate adds exited + errored + crashed + abnormal sessions, of
//     which errored + crashed + abnormal errored, and its did as a user.
//
// The healthy sessions are the started ones that had no error. Each count
// stops at MaxSessionCount. A release
// first known by its sessions is recorded, as one first known by an event
// is, within MaxNewReleasesPerHour; the sessions of one beyond it are not
// counted.
func (d *DB) SaveSessions(ctx context.Context, reqs []SessionsRequest) ([]SessionsResult, error) {
	for _, r := range reqs {
		if r.Event == nil || r.Event.Sessions == nil || r.Event.EventID == "" || r.Event.ProjectID <= 0 {
			return nil, fmt.Errorf("store: save sessions: %w: an event ID, a project and the sessions are required", ErrInvalid)
		}
	}
	results := make([]SessionsResult, len(reqs))
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		buckets := map[healthKey]*healthCounts{}
		// A release known by its sessions alone (one without errors)
		// is listed too, first seen when its first sessions arrived.
		releases := map[healthKey]int64{}
		at := func(ev *event.Event, release, env string, started time.Time) *healthCounts {
			k := healthKey{ev.ProjectID, Clean(release), Clean(env), millis(started.UTC().Truncate(time.Hour))}
			if buckets[k] == nil {
				buckets[k] = &healthCounts{}
			}
			rk, received := healthKey{projectID: k.projectID, release: k.release}, millis(ev.Received)
			if first, ok := releases[rk]; !ok || received < first {
				releases[rk] = received
			}
			return buckets[k]
		}
		for i, r := range reqs {
			ev := r.Event
			dup, orphan, err := d.claimSessions(ctx, tx, ev)
			if err != nil {
				return err
			}
			results[i] = SessionsResult{Duplicate: dup, Orphan: orphan}
			if dup || orphan {
				continue
			}
			for _, u := range ev.Sessions.Updates {
				c := at(ev, u.Release, u.Environment, u.Started)
				if u.Init {
					c.started = addCount(c.started, 1)
				}
				switch u.Status {
				case event.SessionCrashed:
					c.id(idCrashedSession, u.SID)
					c.id(idCrashedUser, u.DID)
				case event.SessionAbnormal:
					c.id(idAbnormalSession, u.SID)
				}
				if u.Errored {
					c.id(idErroredSession, u.SID)
				}
				c.id(idUser, u.DID)
			}
			for _, a := range ev.Sessions.Aggregates {
				c := at(ev, a.Release, a.Environment, a.Started)
				bad := addCount(addCount(a.Errored, a.Crashed), a.Abnormal)
				c.started = addCount(c.started, addCount(a.Exited, bad))
				c.errored = addCount(c.errored, bad)
				c.crashed = addCount(c.crashed, a.Crashed)
				c.abnormal = addCount(c.abnormal, a.Abnormal)
				c.id(idUser, a.DID)
				if a.Crashed > 0 {
					c.id(idCrashedUser, a.DID)
				}
			}
		}
		firstSeen := make(map[releaseKey]int64, len(releases))
		for rk, at := range releases {
			firstSeen[releaseKey{rk.projectID, rk.release}] = at
		}
		_, refused, err := d.addReleases(ctx, tx, firstSeen)
		if err != nil {
			return err
		}
		for k := range buckets {
			if refused[releaseKey{k.projectID, k.release}] {
				delete(buckets, k)
			}
		}
		keys := slices.SortedFunc(maps.Keys(buckets), func(a, b healthKey) int {
			return cmp.Or(cmp.Compare(a.projectID, b.projectID), cmp.Compare(a.release, b.release),
				cmp.Compare(a.environment, b.environment), cmp.Compare(a.hour, b.hour))
		})
		for _, k := range keys {
			c := buckets[k]
			if len(c.ids) == 0 {
				continue
			}
			if err := lockBucket(ctx, tx, k); err != nil {
				return err
			}
			n, _, err := d.addSessionIDs(ctx, tx, k, idErroredSession, c.ids[idErroredSession])
			if err != nil {
				return err
			}
			c.errored = addCount(c.errored, n)
			// A crash past the bound counts unchecked: undercounting
			// crashes would overstate the crash-free rate.
			n, over, err := d.addSessionIDs(ctx, tx, k, idCrashedSession, c.ids[idCrashedSession])
			if err != nil {
				return err
			}
			c.crashed = addCount(c.crashed, n+over)
			n, over, err = d.addSessionIDs(ctx, tx, k, idAbnormalSession, c.ids[idAbnormalSession])
			if err != nil {
				return err
			}
			c.abnormal = addCount(c.abnormal, n+over)
			if _, _, err := d.addSessionIDs(ctx, tx, k, idUser, c.ids[idUser]); err != nil {
				return err
			}
			if err := d.addCrashedUsers(ctx, tx, k, c.ids[idCrashedUser]); err != nil {
				return err
			}
		}
		return d.eachChunk(len(keys), func(from, to int) error {
			q := d.query()
			q.add(`INSERT INTO release_sessions (project_id, release, environment, hour, started, errored, crashed, abnormal) VALUES `)
			for j, k := range keys[from:to] {
				c := buckets[k]
				if j > 0 {
					q.add(", ")
				}
				q.add("(", q.arg(k.projectID), ", ", q.arg(k.release), ", ", q.arg(k.environment), ", ", q.arg(k.hour), ", ",
					q.arg(c.started), ", ", q.arg(c.errored), ", ", q.arg(c.crashed), ", ", q.arg(c.abnormal), ")")
			}
			// Each count saturates at MaxSessionCount. The sum is taken
			// only when it stays below, so that a row over it (set before
			// the bound) cannot overflow the addition either.
			q.add(` ON CONFLICT (project_id, release, environment, hour) DO UPDATE SET `)
			for j, col := range []string{"started", "errored", "crashed", "abnormal"} {
				if j > 0 {
					q.add(", ")
				}
				q.add(fmt.Sprintf(`%[1]s = CASE WHEN release_sessions.%[1]s > %[2]d - excluded.%[1]s THEN %[2]d
					ELSE release_sessions.%[1]s + excluded.%[1]s END`, col, MaxSessionCount))
			}
			_, err := tx.ExecContext(ctx, q.sql(), q.args...)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: save sessions: %w", err)
	}
	return results, nil
}

// claimSessions records that ev's sessions are counted: it reports a
// message counted before as a duplicate, and one of a deleted project as
// an orphan.
func (d *DB) claimSessions(ctx context.Context, tx *sql.Tx, ev *event.Event) (dup, orphan bool, err error) {
	q := d.query()
	q.add(`INSERT INTO session_messages (project_id, event_id, received_at) SELECT `,
		q.arg(ev.ProjectID), `, `, q.arg(ev.EventID), `, `, q.arg(millis(ev.Received)),
		` WHERE EXISTS (SELECT 1 FROM projects WHERE id = `, q.arg(ev.ProjectID), `)
		ON CONFLICT (project_id, event_id) DO NOTHING`)
	res, err := tx.ExecContext(ctx, q.sql(), q.args...)
	if err != nil {
		return false, false, err
	}
	n, err := res.RowsAffected()
	if err != nil || n == 1 {
		return false, false, err
	}
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM projects WHERE id = $1`, ev.ProjectID).Scan(&one)
	switch {
	case err == sql.ErrNoRows:
		return false, true, nil
	case err != nil:
		return false, false, err
	}
	return true, false, nil
}

// lockBucket takes bucket k's release_sessions row (made with no counts if
// it is new) until tx ends, so that on PostgreSQL, where the processor's
// workers save side by side, the savers of one bucket's IDs take turns:
// addSessionIDs counts the room left and then inserts, and two savers that
// both counted first would both fill it. Buckets are locked in key order,
// so two savers wait for each other without a deadlock.
func lockBucket(ctx context.Context, tx *sql.Tx, k healthKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO release_sessions (project_id, release, environment, hour, started, errored, crashed, abnormal)
		VALUES ($1, $2, $3, $4, 0, 0, 0, 0)
		ON CONFLICT (project_id, release, environment, hour) DO UPDATE SET started = release_sessions.started`,
		k.projectID, k.release, k.environment, k.hour)
	return err
}

// addSessionIDs adds ids of kind to bucket k, as many as
// MaxSessionIDsPerHour leaves room for, and returns how many were new and
// how many found no room (not known to be new or not).
func (d *DB) addSessionIDs(ctx context.Context, tx *sql.Tx, k healthKey, kind string, ids []string) (added, over int64, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	var have int64
	err = tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM release_session_ids
		WHERE project_id = $1 AND release = $2 AND environment = $3 AND hour = $4 AND kind = $5`,
		k.projectID, k.release, k.environment, k.hour, kind).Scan(&have)
	if err != nil {
		return 0, 0, err
	}
	kept := min(int64(len(ids)), max(0, MaxSessionIDsPerHour-have))
	over = int64(len(ids)) - kept
	ids = ids[:kept]
	err = d.eachChunk(len(ids), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO release_session_ids (project_id, release, environment, hour, kind, id) VALUES `)
		for j, id := range ids[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.projectID), ", ", q.arg(k.release), ", ", q.arg(k.environment), ", ", q.arg(k.hour), ", ",
				q.arg(kind), ", ", q.arg(Clean(id)), ")")
		}
		q.add(` ON CONFLICT (project_id, release, environment, hour, kind, id) DO NOTHING`)
		res, err := tx.ExecContext(ctx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		added += n
		return err
	})
	return added, over, err
}

// addCrashedUsers adds ids to bucket k's crashed users, those of them the
// bucket counts as users: once MaxSessionIDsPerHour users fill it, a
// crashed user beyond them would count in the crashed users and not in the
// users, and crash-free users would fall with every crash past the bound.
// The users kept are then a sample of the hour's, with their crashes.
func (d *DB) addCrashedUsers(ctx context.Context, tx *sql.Tx, k healthKey, ids []string) error {
	return d.eachChunk(len(ids), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO release_session_ids (project_id, release, environment, hour, kind, id)
			SELECT project_id, release, environment, hour, `, q.arg(idCrashedUser), `, id FROM release_session_ids
			WHERE project_id = `, q.arg(k.projectID), ` AND release = `, q.arg(k.release),
			` AND environment = `, q.arg(k.environment), ` AND hour = `, q.arg(k.hour),
			` AND kind = `, q.arg(idUser), ` AND id IN (`)
		for j, id := range ids[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add(q.arg(Clean(id)))
		}
		q.add(`) ON CONFLICT (project_id, release, environment, hour, kind, id) DO NOTHING`)
		_, err := tx.ExecContext(ctx, q.sql(), q.args...)
		return err
	})
}

// HealthFilter selects the sessions ReleaseHealth adds up.
type HealthFilter struct {
	// Release is one release; empty for all.
	Release string
	// Environment is one environment; empty for all, summed.
	Environment string
	// ByEnvironment returns a figure per release and environment rather
	// than per release.
	ByEnvironment bool
	// Since and Until bound the hours the sessions started in: an hour
	// counts when it starts at or after Since's hour and before Until.
	// Zero is no bound.
	Since, Until time.Time
}

// ReleaseHealth is what a release's sessions add up to over a time range,
// in one environment or in all of them.
type ReleaseHealth struct {
	Release string `json:"release"`
	// Environment is empty in a figure of all environments.
	Environment string `json:"environment"`
	// Sessions started; Healthy of them had no error, Errored had one
	// and ended neither crashed nor abnormal, Crashed and Abnormal
	// ended so.
	Sessions int64 `json:"sessions"`
	Healthy  int64 `json:"healthy"`
	Errored  int64 `json:"errored"`
	Crashed  int64 `json:"crashed"`
	Abnormal int64 `json:"abnormal"`
	// Users counts the distinct users (the SDK's did) of the sessions,
	// CrashedUsers those of them with a crashed session.
	Users        int64 `json:"users"`
	CrashedUsers int64 `json:"crashed_users"`
	// CrashFreeSessions is the share of sessions that did not crash, in
	// percent; nil without sessions. CrashFreeUsers likewise of users.
	CrashFreeSessions *float64 `json:"crash_free_sessions"`
	CrashFreeUsers    *float64 `json:"crash_free_users"`
}

// cappedSum is the SQL of the sum of col, at most MaxSessionCount: many
// buckets at or near it must not overflow a BIGINT. PostgreSQL sums a
// BIGINT as NUMERIC; SQLite's SUM fails on overflow and TOTAL, a float, is
// exact for integers as far as 2^53, beyond MaxSessionCount.
func (d *DB) cappedSum(col string) string {
	if d.dialect == DialectPostgres {
		return fmt.Sprintf("CAST(LEAST(SUM(%s), %d) AS BIGINT)", col, MaxSessionCount)
	}
	return fmt.Sprintf("CAST(MIN(TOTAL(%s), %d) AS INTEGER)", col, MaxSessionCount)
}

// crashFree is 100 × (1 - bad/all), nil when all is 0.
func crashFree(bad, all int64) *float64 {
	if all <= 0 {
		return nil
	}
	f := 100 * (1 - float64(min(bad, all))/float64(all))
	return &f
}

// ReleaseHealth returns the session figures of a project v may see, per
// release (and environment with f.ByEnvironment), in ascending order of
// release and environment. Releases without sessions have no figure.
func (d *DB) ReleaseHealth(ctx context.Context, v Viewer, projectID int64, f HealthFilter) ([]ReleaseHealth, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: release health of project %d: %w", projectID, err)
	}
	env, group := "CAST('' AS TEXT)", "release"
	if f.ByEnvironment {
		env, group = "environment", "release, environment"
	}
	where := func(q *query) {
		q.add(` WHERE project_id = `, q.arg(projectID))
		if f.Release != "" {
			q.add(` AND release = `, q.arg(f.Release))
		}
		if f.Environment != "" {
			q.add(` AND environment = `, q.arg(f.Environment))
		}
		if !f.Since.IsZero() {
			q.add(` AND hour >= `, q.arg(millis(f.Since.UTC().Truncate(time.Hour))))
		}
		if !f.Until.IsZero() {
			q.add(` AND hour < `, q.arg(millis(f.Until)))
		}
		q.add(` GROUP BY `, group)
	}
	type key struct{ release, env string }
	figs := map[key]*ReleaseHealth{}
	q := d.query()
	q.add(`SELECT release, `, env)
	for _, col := range []string{"started", "errored", "crashed", "abnormal"} {
		q.add(`, `, d.cappedSum(col))
	}
	q.add(` FROM release_sessions`)
	where(&q)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: release health: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		h := &ReleaseHealth{}
		var errored int64
		if err := rows.Scan(&h.Release, &h.Environment, &h.Sessions, &errored, &h.Crashed, &h.Abnormal); err != nil {
			return nil, fmt.Errorf("store: release health: %w", err)
		}
		// Errored counts every session with an error, crashed and
		// abnormal ones included; the figures split them.
		h.Errored = max(0, errored-h.Crashed-h.Abnormal)
		h.Healthy = max(0, h.Sessions-max(errored, h.Crashed+h.Abnormal))
		figs[key{h.Release, h.Environment}] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: release health: %w", err)
	}
	q = d.query()
	q.add(`SELECT release, `, env, `, kind, COUNT(DISTINCT id) FROM release_session_ids`)
	where(&q)
	q.add(`, kind`)
	ids, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: release health: %w", err)
	}
	defer ids.Close()
	for ids.Next() {
		var (
			k    key
			kind string
			n    int64
		)
		if err := ids.Scan(&k.release, &k.env, &kind, &n); err != nil {
			return nil, fmt.Errorf("store: release health: %w", err)
		}
		h := figs[k]
		if h == nil {
			continue
		}
		switch kind {
		case idUser:
			h.Users = n
		case idCrashedUser:
			h.CrashedUsers = n
		}
	}
	if err := ids.Err(); err != nil {
		return nil, fmt.Errorf("store: release health: %w", err)
	}
	out := make([]ReleaseHealth, 0, len(figs))
	for _, h := range figs {
		h.CrashFreeSessions = crashFree(h.Crashed, h.Sessions)
		h.CrashFreeUsers = crashFree(h.CrashedUsers, h.Users)
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b ReleaseHealth) int {
		return cmp.Or(cmp.Compare(a.Release, b.Release), cmp.Compare(a.Environment, b.Environment))
	})
	return out, nil
}
