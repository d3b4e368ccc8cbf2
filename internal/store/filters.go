package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/getflytrap/flytrap/internal/inbound"
)

// ProjectFilters returns the inbound filters of a project v may see.
func (d *DB) ProjectFilters(ctx context.Context, v Viewer, projectID int64) (inbound.Settings, error) {
	var (
		q              query
		s              inbound.Settings
		messages, rels string
		legacy         string
	)
	q.add(`SELECT p.filter_browser_extensions, p.filter_localhost, p.filter_legacy_browsers, p.filter_web_crawlers,
		p.filter_error_messages, p.filter_releases
		FROM projects p WHERE p.id = `, q.arg(projectID), ` AND `, q.visible(v, "p.id"))
	err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&s.BrowserExtensions, &s.Localhost, &legacy, &s.WebCrawlers, &messages, &rels)
	if err != nil {
		return inbound.Settings{}, fmt.Errorf("store: inbound filters of project %d: %w", projectID, notFound(err))
	}
	if err := json.Unmarshal([]byte(legacy), &s.LegacyBrowsers); err != nil {
		return inbound.Settings{}, fmt.Errorf("store: inbound filters of project %d: legacy browsers: %w", projectID, err)
	}
	if err := json.Unmarshal([]byte(messages), &s.ErrorMessages); err != nil {
		return inbound.Settings{}, fmt.Errorf("store: inbound filters of project %d: error messages: %w", projectID, err)
	}
	if err := json.Unmarshal([]byte(rels), &s.Releases); err != nil {
		return inbound.Settings{}, fmt.Errorf("store: inbound filters of project %d: releases: %w", projectID, err)
	}
	return s, nil
}

// SetProjectFilters replaces a project's inbound filters; the project's
// admins only. Patterns and legacy browsers are cleaned by
// inbound.Settings.Clean; a pattern that is not a glob, too long, holds a
// NUL byte, a list longer than inbound.MaxPatterns, or a legacy browser
// that is not one of inbound.LegacyBrowsers is ErrInvalid with a message
// naming it. It returns the settings as stored.
func (d *DB) SetProjectFilters(ctx context.Context, v Viewer, projectID int64, s inbound.Settings) (inbound.Settings, error) {
	for _, p := range slices.Concat(s.ErrorMessages, s.Releases) {
		if !storable(p) {
			return inbound.Settings{}, fmt.Errorf("store: inbound filters of project %d: %w: %.20q holds a NUL byte or bytes that are not UTF-8", projectID, ErrInvalid, p)
		}
	}
	s, err := s.Clean()
	if err != nil {
		return inbound.Settings{}, fmt.Errorf("store: inbound filters of project %d: %w: %w", projectID, ErrInvalid, err)
	}
	messages, _ := json.Marshal(s.ErrorMessages)
	rels, _ := json.Marshal(s.Releases)
	legacy, _ := json.Marshal(s.LegacyBrowsers)
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, projectID, false); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE projects SET filter_browser_extensions = $2, filter_localhost = $3,
			filter_web_crawlers = $4, filter_error_messages = $5, filter_releases = $6, filter_legacy_browsers = $7 WHERE id = $1`,
			projectID, s.BrowserExtensions, s.Localhost, s.WebCrawlers, string(messages), string(rels), string(legacy))
		return err
	})
	if err != nil {
		return inbound.Settings{}, fmt.Errorf("store: inbound filters of project %d: %w", projectID, err)
	}
	return s, nil
}

// Filtered is one event an inbound filter dropped.
type Filtered struct {
	ProjectID int64
	// EventID identifies the event within its project: it is counted
	// once whatever the times it is given.
	EventID string
	Reason  inbound.Reason
	// At is when the event was received.
	At time.Time
}

// CountFiltered adds dropped events to their projects' hourly counts per
// reason, in one transaction, each event once: an event counted before (a
// queue message redelivered after its count, or given twice) adds
// nothing. Events of projects deleted meanwhile are not counted.
func (d *DB) CountFiltered(ctx context.Context, events []Filtered) error {
	type key struct {
		project int64
		reason  inbound.Reason
		hour    int64
	}
	// In one order, so that two transactions given the same events (a
	// message redelivered while the first processor still counts it)
	// wait for each other on PostgreSQL rather than deadlock.
	events = slices.SortedFunc(slices.Values(events), func(a, b Filtered) int {
		return cmp.Or(cmp.Compare(a.ProjectID, b.ProjectID), cmp.Compare(a.EventID, b.EventID))
	})
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		counts := map[key]int64{}
		for _, f := range events {
			// Recorded as session messages are (claimSessions): the
			// insert that finds the event there, or no project, counts
			// nothing. On PostgreSQL, a second processor counting the
			// same event waits here for the first to commit.
			res, err := tx.ExecContext(ctx, `INSERT INTO filtered_events (project_id, event_id, received_at)
				SELECT id, $2, $3 FROM projects WHERE id = $1
				ON CONFLICT (project_id, event_id) DO NOTHING`, f.ProjectID, f.EventID, millis(f.At))
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			counts[key{f.ProjectID, f.Reason, millis(f.At.UTC().Truncate(time.Hour))}]++
		}
		keys := slices.SortedFunc(maps.Keys(counts), func(a, b key) int {
			return cmp.Or(cmp.Compare(a.project, b.project), cmp.Compare(a.reason, b.reason), cmp.Compare(a.hour, b.hour))
		})
		for _, k := range keys {
			_, err := tx.ExecContext(ctx, `INSERT INTO filtered_counts (project_id, reason, hour, count)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (project_id, reason, hour) DO UPDATE SET count = filtered_counts.count + excluded.count`,
				k.project, string(k.reason), k.hour, counts[k])
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: count filtered events: %w", err)
	}
	return nil
}

// FilteredSince returns how many events each inbound filter dropped of a
// project v may see in the hours that end after since: the count of the
// hour since falls in is whole.
func (d *DB) FilteredSince(ctx context.Context, v Viewer, projectID int64, since time.Time) (map[inbound.Reason]int64, error) {
	var q query
	q.add(`SELECT c.reason, SUM(c.count) FROM projects p JOIN filtered_counts c ON c.project_id = p.id
		WHERE p.id = `, q.arg(projectID), ` AND `, q.visible(v, "p.id"),
		` AND c.hour >= `, q.arg(millis(since.UTC().Truncate(time.Hour))), ` GROUP BY c.reason`)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: filtered events of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := map[inbound.Reason]int64{}
	for rows.Next() {
		var (
			reason string
			n      int64
		)
		if err := rows.Scan(&reason, &n); err != nil {
			return nil, fmt.Errorf("store: filtered events of project %d: %w", projectID, err)
		}
		out[inbound.Reason(reason)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: filtered events of project %d: %w", projectID, err)
	}
	if len(out) == 0 {
		// No counts, or a project v may not see: tell them apart.
		if _, err := d.ProjectFilters(ctx, v, projectID); errors.Is(err, ErrNotFound) {
			return nil, err
		}
	}
	return out, nil
}
