package store

import (
	"context"
	"fmt"
	"time"
)

// Hourly project counts are read from project_counts, which saving keeps
// as the sum of the project's issue_counts: a project's hours are a range
// of its primary key, a row per hour whatever the number of issues.

// projectHourlySQL reads one project's counts: project, first hour.
const projectHourlySQL = `SELECT hour, count FROM project_counts WHERE project_id = $1 AND hour >= $2 ORDER BY hour`

// statsHourlyQuery reads the counts of every project v may see, by project
// and hour.
func statsHourlyQuery(v Viewer, since time.Time) *query {
	q := &query{}
	q.add(`SELECT p.id, project_counts.hour, project_counts.count FROM projects p CROSS JOIN project_counts
	WHERE `, q.visible(v, "p.id"), ` AND project_counts.project_id = p.id AND project_counts.hour >= `,
		q.arg(millis(since.Truncate(time.Hour))), `
	ORDER BY p.id, project_counts.hour`)
	return q
}

// statsProjectsQuery lists the projects v may see with their unresolved
// issue counts, which the (project_id, status, ...) index counts.
func statsProjectsQuery(v Viewer) *query {
	q := &query{}
	q.add(`SELECT p.id, p.name, p.created_at,
		(SELECT COUNT(*) FROM issues i WHERE i.project_id = p.id AND i.status = `, q.arg(StatusUnresolved), `)
	FROM projects p WHERE `, q.visible(v, "p.id"), ` ORDER BY p.name, p.id`)
	return q
}

// ProjectStats returns every project v may see, by name, with its number of
// unresolved issues and its event counts per hour from the hour containing
// since on (hours without events left out). It runs two queries however
// many projects there are.
func (d *DB) ProjectStats(ctx context.Context, v Viewer, since time.Time) ([]ProjectStat, error) {
	stats, err := d.statsProjects(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("store: project stats: %w", err)
	}
	byID := make(map[int64]*ProjectStat, len(stats))
	for i := range stats {
		byID[stats[i].ID] = &stats[i]
	}
	if err := d.statsHourly(ctx, v, since, byID); err != nil {
		return nil, fmt.Errorf("store: project stats: %w", err)
	}
	return stats, nil
}

func (d *DB) statsProjects(ctx context.Context, v Viewer) ([]ProjectStat, error) {
	q := statsProjectsQuery(v)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	stats := []ProjectStat{}
	for rows.Next() {
		var (
			s       ProjectStat
			created int64
		)
		if err := rows.Scan(&s.ID, &s.Name, &created, &s.Unresolved); err != nil {
			return nil, err
		}
		s.CreatedAt = fromMillis(created)
		s.Hourly = []Bucket{}
		stats = append(stats, s)
	}
	return stats, rows.Err()
}

// statsHourly adds the hourly counts to the projects in byID.
func (d *DB) statsHourly(ctx context.Context, v Viewer, since time.Time, byID map[int64]*ProjectStat) error {
	q := statsHourlyQuery(v, since)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, hour int64
			b        Bucket
		)
		if err := rows.Scan(&id, &hour, &b.Count); err != nil {
			return err
		}
		// A project created between the two queries has no card yet.
		if s := byID[id]; s != nil {
			b.Hour = fromMillis(hour)
			s.Hourly = append(s.Hourly, b)
		}
	}
	return rows.Err()
}

// ProjectHourlyCounts returns a project's event counts per hour, the sums
// of its issues', from the hour containing since on, oldest first; hours
// without events are left out. A project v may not see is ErrNotFound.
func (d *DB) ProjectHourlyCounts(ctx context.Context, v Viewer, projectID int64, since time.Time) ([]Bucket, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: hourly counts of project %d: %w", projectID, err)
	}
	rows, err := d.db.QueryContext(ctx, projectHourlySQL, projectID, millis(since.Truncate(time.Hour)))
	if err != nil {
		return nil, fmt.Errorf("store: hourly counts of project %d: %w", projectID, err)
	}
	defer rows.Close()
	buckets := []Bucket{}
	for rows.Next() {
		var (
			b    Bucket
			hour int64
		)
		if err := rows.Scan(&hour, &b.Count); err != nil {
			return nil, fmt.Errorf("store: hourly counts of project %d: %w", projectID, err)
		}
		b.Hour = fromMillis(hour)
		buckets = append(buckets, b)
	}
	return buckets, rows.Err()
}
