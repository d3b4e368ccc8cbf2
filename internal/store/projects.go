package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/getflytrap/flytrap/internal/projectref"
)

// CreateProject adds a project. A name already in use is ErrConflict.
// It adds no member and no key; CreateProjectWithKey is what users'
// requests go through.
func (d *DB) CreateProject(ctx context.Context, name string) (Project, error) {
	var p Project
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = d.createProject(ctx, tx, name)
		return err
	})
	return p, err
}

// CreateProjectWithKey adds a project with its creator as an admin member
// and an active ingest key, in one transaction: a project nobody belongs
// to, or one no SDK can send to, is never left behind by a failure half
// way. A name already in use is ErrConflict; a missing creator is
// ErrNotFound.
func (d *DB) CreateProjectWithKey(ctx context.Context, name string, creatorID int64) (Project, ProjectKey, error) {
	var (
		p Project
		k ProjectKey
	)
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = d.createProject(ctx, tx, name); err != nil {
			return err
		}
		if err := addMember(ctx, tx, p.ID, creatorID, RoleAdmin); err != nil {
			return err
		}
		k, err = createProjectKey(ctx, tx, p.ID)
		return err
	})
	if err != nil {
		return Project{}, ProjectKey{}, err
	}
	return p, k, nil
}

func (d *DB) createProject(ctx context.Context, tx *sql.Tx, name string) (Project, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Project{}, fmt.Errorf("store: create project: %w: empty name", ErrInvalid)
	}
	if err := d.checkNameFree(ctx, tx, name, 0); err != nil {
		return Project{}, fmt.Errorf("store: create project: %w", err)
	}
	p := Project{Name: name, CreatedAt: nowUTC()}
	err := tx.QueryRowContext(ctx, `INSERT INTO projects (name, created_at) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING RETURNING id`, name, millis(p.CreatedAt)).Scan(&p.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return Project{}, fmt.Errorf("store: project %q: %w", name, ErrConflict)
	}
	if err != nil {
		return Project{}, fmt.Errorf("store: create project: %w", err)
	}
	if err := createDefaultAlerts(ctx, tx, p.ID, millis(p.CreatedAt)); err != nil {
		return Project{}, fmt.Errorf("store: create project: default alerts: %w", err)
	}
	return p, nil
}

// ListProjects returns the projects v may see, by name.
func (d *DB) ListProjects(ctx context.Context, v Viewer) ([]Project, error) {
	var q query
	q.add(`SELECT p.id, p.name, p.created_at FROM projects p WHERE `, q.visible(v, "p.id"), ` ORDER BY p.name, p.id`)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
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
	if err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&p.ID, &p.Name, &created); err != nil {
		return Project{}, notFound(err)
	}
	p.CreatedAt = fromMillis(created)
	return p, nil
}

// AddMember gives a user a role in a project; adding an existing member
// again sets the role. A missing project or user is ErrNotFound.
func (d *DB) AddMember(ctx context.Context, projectID, userID int64, role string) error {
	return addMember(ctx, d.db, projectID, userID, role)
}

func addMember(ctx context.Context, db dbtx, projectID, userID int64, role string) error {
	if !validRole(role) {
		return fmt.Errorf("store: add member: %w: role %q", ErrInvalid, role)
	}
	// INSERT ... SELECT makes a missing project or user insert nothing
	// rather than fail a foreign key in a dialect-specific way.
	res, err := db.ExecContext(ctx, `INSERT INTO project_members (project_id, user_id, role, created_at)
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
	return createProjectKey(ctx, d.db, projectID)
}

func createProjectKey(ctx context.Context, db dbtx, projectID int64) (ProjectKey, error) {
	b := make([]byte, 16)
	rand.Read(b)
	k := ProjectKey{ProjectID: projectID, PublicKey: hex.EncodeToString(b), Active: true, CreatedAt: nowUTC()}
	err := db.QueryRowContext(ctx, `INSERT INTO project_keys (project_id, public_key, active, created_at)
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

// projectAdmin checks that v may administer a project: v is an admin
// user, or an admin of the project (its role there). It answers
// ErrNotFound when v cannot see the project (or it does not exist) and
// ErrForbidden when v is only a member of it. With lock, inside a
// transaction, it also locks the project row for the change that follows;
// on PostgreSQL an event being saved for the project holds a key-share
// lock on it, so the two wait for each other instead of interleaving.
func (d *DB) projectAdmin(ctx context.Context, db dbtx, v Viewer, projectID int64, lock bool) error {
	var (
		q       query
		manages int
	)
	role := "1"
	if !v.Admin {
		role = "(SELECT COUNT(*) FROM project_members m WHERE m.project_id = p.id AND m.user_id = " +
			q.arg(v.UserID) + " AND m.role = '" + RoleAdmin + "')"
	}
	q.add(`SELECT `, role, ` FROM projects p WHERE p.id = `, q.arg(projectID), ` AND `, q.visible(v, "p.id"))
	if lock {
		q.add(d.forUpdate())
	}
	if err := db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&manages); err != nil {
		return notFound(err)
	}
	if manages == 0 {
		return ErrForbidden
	}
	return nil
}

// ManagesProject reports, with nil, that v may change project id's
// settings, keys, members and alerts: v is an admin user or an admin of
// the project. It answers ErrNotFound when v cannot see the project and
// ErrForbidden when v is only a member of it.
func (d *DB) ManagesProject(ctx context.Context, v Viewer, id int64) error {
	return d.projectAdmin(ctx, d.db, v, id, false)
}

// RenameProject renames a project; the project's admins only. A name another project
// has is ErrConflict.
func (d *DB) RenameProject(ctx context.Context, v Viewer, id int64, name string) (Project, error) {
	name = strings.TrimSpace(name)
	var (
		p       Project
		created int64
	)
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, id, true); err != nil {
			return err
		}
		if name == "" {
			return fmt.Errorf("%w: empty name", ErrInvalid)
		}
		if err := d.checkNameFree(ctx, tx, name, id); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `UPDATE projects SET name = $2 WHERE id = $1 RETURNING id, name, created_at`,
			id, name).Scan(&p.ID, &p.Name, &created)
		if pgUniqueViolation(err) {
			// A concurrent transaction took the name after the check.
			return fmt.Errorf("name %q: %w", name, ErrConflict)
		}
		return err
	})
	if err != nil {
		return Project{}, fmt.Errorf("store: rename project %d: %w", id, err)
	}
	p.CreatedAt = fromMillis(created)
	return p, nil
}

// DeleteProject removes a project with everything in it: issues, events,
// hourly counts, tags, affected users, ingest keys, members, releases
// (their deploys and commits), repositories and artifact bundles (their
// blobs go with the artifact retention job); admin users only. It is one transaction, so nobody sees half a project, at
// the price of holding SQLite's write lock while a large project goes.
func (d *DB) DeleteProject(ctx context.Context, v Viewer, id int64) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, id, true); err != nil {
			return err
		}
		// Deleting a project takes everything in it with no undo: that
		// stays with admin users, not with the project's own admins.
		if !v.Admin {
			return ErrAdminsOnly
		}
		if err := deleteProjectAlerts(ctx, tx, id); err != nil {
			return err
		}
		// Events are deleted through their issues, whose index they are
		// reachable by; every event belongs to an issue of its project, and
		// the foreign keys would refuse the final delete otherwise.
		for _, table := range issueTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+
				` WHERE issue_id IN (SELECT id FROM issues WHERE project_id = $1)`, id); err != nil {
				return err
			}
		}
		if err := deleteArtifactBundles(ctx, tx, `project_id = $1`, id); err != nil {
			return err
		}
		if err := deleteProjectMonitors(ctx, tx, id); err != nil {
			return err
		}
		for _, table := range []string{"issue_merges", "issues", "project_keys", "project_members", "releases",
			"release_deploys", "release_commits", "repositories", "feedback", "release_sessions", "release_session_ids", "session_messages",
			"project_counts", "filtered_counts", "filtered_events"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE project_id = $1`, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM projects WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete project %d: %w", id, err)
	}
	d.accessChanged()
	return nil
}

// ListMembers returns the members of a project v may see, by email.
func (d *DB) ListMembers(ctx context.Context, v Viewer, projectID int64) ([]Member, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: members of project %d: %w", projectID, err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT m.project_id, m.user_id, u.email, m.role, m.created_at
		FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1 ORDER BY u.email_key, u.id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: members of project %d: %w", projectID, err)
	}
	defer rows.Close()
	members := []Member{}
	for rows.Next() {
		var (
			m       Member
			created int64
		)
		if err := rows.Scan(&m.ProjectID, &m.UserID, &m.Email, &m.Role, &created); err != nil {
			return nil, fmt.Errorf("store: members of project %d: %w", projectID, err)
		}
		m.CreatedAt = fromMillis(created)
		members = append(members, m)
	}
	return members, rows.Err()
}

// AddProjectMember is AddMember on behalf of v; the project's admins only.
func (d *DB) AddProjectMember(ctx context.Context, v Viewer, projectID, userID int64, role string) error {
	if err := d.projectAdmin(ctx, d.db, v, projectID, false); err != nil {
		return fmt.Errorf("store: add user %d to project %d: %w", userID, projectID, err)
	}
	return addMember(ctx, d.db, projectID, userID, role)
}

// RemoveMember takes a user out of a project and, unless the user is an
// admin user, unassigns their issues of it; the project's admins only. A
// user who is not a member is ErrNotFound.
func (d *DB) RemoveMember(ctx context.Context, v Viewer, projectID, userID int64) error {
	if err := d.projectAdmin(ctx, d.db, v, projectID, false); err != nil {
		return fmt.Errorf("store: remove user %d from project %d: %w", userID, projectID, err)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM project_members WHERE project_id = $1 AND user_id = $2`, projectID, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return d.unassignFromProject(ctx, tx, v.UserID, projectID, userID)
	})
	if err != nil {
		return fmt.Errorf("store: remove user %d from project %d: %w", userID, projectID, err)
	}
	d.accessChanged()
	return nil
}

// RotateProjectKey deactivates every active ingest key of a project and
// creates a new one, in one transaction so the project always has a
// working key; the project's admins only. Ingest stops accepting the old keys when its
// key cache next reloads ActiveKeys.
func (d *DB) RotateProjectKey(ctx context.Context, v Viewer, projectID int64) (ProjectKey, error) {
	var k ProjectKey
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, projectID, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE project_keys SET active = FALSE WHERE project_id = $1 AND active`, projectID); err != nil {
			return err
		}
		var err error
		k, err = createProjectKey(ctx, tx, projectID)
		return err
	})
	if err != nil {
		return ProjectKey{}, fmt.Errorf("store: rotate key of project %d: %w", projectID, err)
	}
	d.accessChanged()
	return k, nil
}

// checkNameFree refuses, with ErrConflict, a name for project id (0 for a
// new one) that another project has or that reads as another's name: the
// same letters in another case, or the same slug (projectref.Slug), which
// is how sentry-cli names projects. Names are resolved all three ways
// (projectref.Resolve), so a project admin who renamed a project to
// another's slug received that project's source-map uploads.
func (d *DB) checkNameFree(ctx context.Context, tx *sql.Tx, name string, id int64) error {
	if d.dialect == DialectPostgres {
		// The check reads every name; concurrent namings must not both
		// pass it. A unique index on the slug would do, but installations
		// may already hold names that collide so.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(projectNameLockKey)); err != nil {
			return err
		}
	}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM projects WHERE id <> $1`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	slug := projectref.Slug(name)
	for rows.Next() {
		var other string
		if err := rows.Scan(&other); err != nil {
			return err
		}
		if strings.EqualFold(other, name) || slug != "" && projectref.Slug(other) == slug {
			return fmt.Errorf("name %q: %w", name, ErrConflict)
		}
	}
	return rows.Err()
}
