package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// CreateProject adds a project. A name already in use is ErrConflict.
func (d *DB) CreateProject(ctx context.Context, name string) (Project, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Project{}, fmt.Errorf("store: create project: %w: empty name", ErrInvalid)
	}
	p := Project{Name: name, CreatedAt: nowUTC()}
	err := d.db.QueryRowContext(ctx, `INSERT INTO projects (name, created_at) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING RETURNING id`, name, millis(p.CreatedAt)).Scan(&p.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, fmt.Errorf("store: project %q: %w", name, ErrConflict)
	}
	if err != nil {
		return Project{}, fmt.Errorf("store: create project: %w", err)
	}
	return p, nil
}

// ListProjects returns the projects v may see, by name.
func (d *DB) ListProjects(ctx context.Context, v Viewer) ([]Project, error) {
	var q query
	q.add(`SELECT p.id, p.name, p.created_at FROM projects p WHERE `, q.visible(v, "p.id"), ` ORDER BY p.name, p.id`)
	rows, err := d.db.QueryContext(ctx, q.sb.String(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list projects: %w", err)
	}
	defer rows.Close()
	ps := []Project{}
	for rows.Next() {
		var (
			p       Project
			created int64
		)
		if err := rows.Scan(&p.ID, &p.Name, &created); err != nil {
			return nil, fmt.Errorf("store: list projects: %w", err)
		}
		p.CreatedAt = fromMillis(created)
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// GetProject returns a project v may see.
func (d *DB) GetProject(ctx context.Context, v Viewer, id int64) (Project, error) {
	var (
		q       query
		p       Project
		created int64
	)
	q.add(`SELECT p.id, p.name, p.created_at FROM projects p WHERE p.id = `, q.arg(id), ` AND `, q.visible(v, "p.id"))
	if err := d.db.QueryRowContext(ctx, q.sb.String(), q.args...).Scan(&p.ID, &p.Name, &created); err != nil {
		return Project{}, notFound(err)
	}
	p.CreatedAt = fromMillis(created)
	return p, nil
}

// AddMember gives a user a role in a project; adding an existing member
// again sets the role. A missing project or user is ErrNotFound.
func (d *DB) AddMember(ctx context.Context, projectID, userID int64, role string) error {
	if !validRole(role) {
		return fmt.Errorf("store: add member: %w: role %q", ErrInvalid, role)
	}
	// INSERT ... SELECT makes a missing project or user insert nothing
	// rather than fail a foreign key in a dialect-specific way.
	res, err := d.db.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at)
		SELECT p.id, u.id, CAST($3 AS TEXT), CAST($4 AS BIGINT) FROM projects p, users u WHERE p.id = $1 AND u.id = $2
		ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role`,
		projectID, userID, role, millis(nowUTC()))
	if err != nil {
		return fmt.Errorf("store: add member: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: add member: %w", err)
	} else if n == 0 {
		return fmt.Errorf("store: add user %d to project %d: %w", userID, projectID, ErrNotFound)
	}
	return nil
}

// CreateProjectKey adds an active ingest key to a project. The public key is
// 128 random bits as 32 lowercase hex characters, the Sentry DSN format.
func (d *DB) CreateProjectKey(ctx context.Context, projectID int64) (ProjectKey, error) {
	b := make([]byte, 16)
	rand.Read(b)
	k := ProjectKey{ProjectID: projectID, PublicKey: hex.EncodeToString(b), Active: true, CreatedAt: nowUTC()}
	err := d.db.QueryRowContext(ctx, `INSERT INTO project_keys (project_id, public_key, active, created_at)
		SELECT p.id, CAST($2 AS TEXT), TRUE, CAST($3 AS BIGINT) FROM projects p WHERE p.id = $1
		RETURNING id`, projectID, k.PublicKey, millis(k.CreatedAt)).Scan(&k.ID)
	if err != nil {
		return ProjectKey{}, fmt.Errorf("store: create key for project %d: %w", projectID, notFound(err))
	}
	return k, nil
}

// ProjectKeys returns the keys of a project v may see, oldest first.
func (d *DB) ProjectKeys(ctx context.Context, v Viewer, projectID int64) ([]ProjectKey, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, `SELECT id, project_id, public_key, active, created_at
		FROM project_keys WHERE project_id = $1 ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: project keys: %w", err)
	}
	defer rows.Close()
	ks := []ProjectKey{}
	for rows.Next() {
		var (
			k       ProjectKey
			created int64
		)
		if err := rows.Scan(&k.ID, &k.ProjectID, &k.PublicKey, &k.Active, &created); err != nil {
			return nil, fmt.Errorf("store: project keys: %w", err)
		}
		k.CreatedAt = fromMillis(created)
		ks = append(ks, k)
	}
	return ks, rows.Err()
}

// ActiveKeys maps every active public key to its project ID, for ingest's
// key cache.
func (d *DB) ActiveKeys(ctx context.Context) (map[string]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT public_key, project_id FROM project_keys WHERE active`)
	if err != nil {
		return nil, fmt.Errorf("store: active keys: %w", err)
	}
	defer rows.Close()
	keys := make(map[string]int64)
	for rows.Next() {
		var (
			k  string
			id int64
		)
		if err := rows.Scan(&k, &id); err != nil {
			return nil, fmt.Errorf("store: active keys: %w", err)
		}
		keys[k] = id
	}
	return keys, rows.Err()
}
