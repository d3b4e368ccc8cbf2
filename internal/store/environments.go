package store

import (
	"cmp"
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"
	"time"
)

// issueEnv is one environment of one issue.
type issueEnv struct {
	issueID int64
	env     string
}

func compareIssueEnv(a, b issueEnv) int {
	return cmp.Or(cmp.Compare(a.issueID, b.issueID), strings.Compare(a.env, b.env))
}

// envFigures are what a batch adds to an issue's row of an environment.
type envFigures struct {
	projectID, count, users, first, last int64
}

// envHour is one hour of one issue in one environment.
type envHour struct {
	issueEnv
	hour int64
}

// envUser is one user of one issue in one environment.
type envUser struct {
	issueEnv
	key string
}

// saveEnvironments adds the fresh events that carry an environment to
// their issues' figures in it, as saveAll adds them to the issues': a
// statement for the hourly buckets, one for the users new to the issue
// there, and one for the rows of the issues' environments, each row
// written once per batch with the batch's sums, in sorted order. It
// returns the issues' environments the batch saw first, whose first
// event a new-issue rule of that environment alerts on.
func (d *DB) saveEnvironments(ctx context.Context, tx *sql.Tx, batch []saving, fresh []int, issues map[int]int64) (map[issueEnv]bool, error) {
	rows := make(map[issueEnv]*envFigures)
	hours := make(map[envHour]int64)
	users := make(map[envUser]bool)
	for _, i := range fresh {
		s := &batch[i]
		if s.envTag == "" {
			continue
		}
		k := issueEnv{issues[i], s.envTag}
		f := rows[k]
		if f == nil {
			f = &envFigures{projectID: s.projectID, first: s.at, last: s.at}
			rows[k] = f
		}
		f.count++
		f.first, f.last = min(f.first, s.at), max(f.last, s.at)
		hours[envHour{k, millis(fromMillis(s.at).Truncate(time.Hour))}]++
		if s.userKey != "" {
			users[envUser{k, s.userKey}] = true
		}
	}
	if len(rows) == 0 {
		return nil, nil
	}
	if err := d.upsertEnvHours(ctx, tx, hours); err != nil {
		return nil, err
	}
	if err := d.insertEnvUsers(ctx, tx, users, rows); err != nil {
		return nil, err
	}
	keys := slices.SortedFunc(maps.Keys(rows), compareIssueEnv)
	created := make(map[issueEnv]bool)
	return created, d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO issue_environments (issue_id, environment, project_id, count, user_count, first_seen, last_seen) VALUES `)
		for j, k := range keys[from:to] {
			f := rows[k]
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.issueID), ", ", q.arg(k.env), ", ", q.arg(f.projectID), ", ", q.arg(f.count), ", ",
				q.arg(f.users), ", ", q.arg(f.first), ", ", q.arg(f.last), ")")
		}
		// CASE rather than min and max, which PostgreSQL spells LEAST
		// and GREATEST.
		q.add(` ON CONFLICT (issue_id, environment) DO UPDATE SET
			count = issue_environments.count + excluded.count,
			user_count = issue_environments.user_count + excluded.user_count,
			first_seen = CASE WHEN excluded.first_seen < issue_environments.first_seen
				THEN excluded.first_seen ELSE issue_environments.first_seen END,
			last_seen = CASE WHEN excluded.last_seen > issue_environments.last_seen
				THEN excluded.last_seen ELSE issue_environments.last_seen END
			RETURNING issue_id, environment, count`)
		res, err := d.queryTx(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			var (
				k     issueEnv
				count int64
			)
			if err := res.Scan(&k.issueID, &k.env, &count); err != nil {
				return err
			}
			// A row counts at least one event, so one holding only the
			// batch's was inserted by it. A concurrent transaction's
			// insert makes this one wait and then add to its row.
			if f := rows[k]; f != nil && count == f.count {
				created[k] = true
			}
		}
		return res.Err()
	})
}

// upsertEnvHours adds counts to the issues' hourly buckets of their
// environments.
func (d *DB) upsertEnvHours(ctx context.Context, tx *sql.Tx, counts map[envHour]int64) error {
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b envHour) int {
		return cmp.Or(compareIssueEnv(a.issueEnv, b.issueEnv), cmp.Compare(a.hour, b.hour))
	})
	return d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO issue_environment_counts (issue_id, environment, hour, count) VALUES `)
		for j, k := range keys[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.issueID), ", ", q.arg(k.env), ", ", q.arg(k.hour), ", ", q.arg(counts[k]), ")")
		}
		q.add(` ON CONFLICT (issue_id, environment, hour) DO UPDATE SET count = issue_environment_counts.count + excluded.count`)
		_, err := d.exec(ctx, tx, q.sql(), q.args...)
		return err
	})
}

// insertEnvUsers records the users of the issues' environments and counts
// the ones new there in rows.
func (d *DB) insertEnvUsers(ctx context.Context, tx *sql.Tx, users map[envUser]bool, rows map[issueEnv]*envFigures) error {
	keys := slices.SortedFunc(maps.Keys(users), func(a, b envUser) int {
		return cmp.Or(compareIssueEnv(a.issueEnv, b.issueEnv), strings.Compare(a.key, b.key))
	})
	return d.eachChunk(len(keys), func(from, to int) error {
		q := d.query()
		q.add(`INSERT INTO issue_environment_users (issue_id, environment, user_key) VALUES `)
		for j, k := range keys[from:to] {
			if j > 0 {
				q.add(", ")
			}
			q.add("(", q.arg(k.issueID), ", ", q.arg(k.env), ", ", q.arg(k.key), ")")
		}
		q.add(` ON CONFLICT (issue_id, environment, user_key) DO NOTHING RETURNING issue_id, environment`)
		res, err := d.queryTx(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		defer res.Close()
		for res.Next() {
			var k issueEnv
			if err := res.Scan(&k.issueID, &k.env); err != nil {
				return err
			}
			rows[k].users++
		}
		return res.Err()
	})
}
