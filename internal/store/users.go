package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// APITokenPrefix starts every API token, so a leaked one is recognizable
// (secret scanners, logs) and a wrong kind of credential fails fast.
const APITokenPrefix = "flyt_"

// emailKey is the form emails are unique in: case-insensitive, since mail
// systems treat addresses that way in practice.
func emailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func validRole(role string) bool { return role == RoleAdmin || role == RoleMember }

// CreateUser adds a user. role is RoleAdmin or RoleMember. An email already
// taken, ignoring case, is ErrConflict.
func (d *DB) CreateUser(ctx context.Context, email, passwordHash, role string) (User, error) {
	email = strings.TrimSpace(email)
	if email == "" || !validRole(role) {
		return User{}, fmt.Errorf("store: create user: %w: email must be set and role %q or %q", ErrInvalid, RoleAdmin, RoleMember)
	}
	u := User{Email: email, Role: role, PasswordHash: passwordHash, CreatedAt: nowUTC()}
	err := d.db.QueryRowContext(ctx, `INSERT INTO users (email, email_key, password_hash, role, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (email_key) DO NOTHING RETURNING id`,
		email, emailKey(email), passwordHash, role, millis(u.CreatedAt)).Scan(&u.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("store: user %s: %w", email, ErrConflict)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	return u, nil
}

const userCols = `u.id, u.email, u.role, u.password_hash, u.created_at`

func scanUser(row *sql.Row) (User, error) {
	var (
		u       User
		created int64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.Role, &u.PasswordHash, &created); err != nil {
		return User{}, notFound(err)
	}
	u.CreatedAt = fromMillis(created)
	return u, nil
}

// UserByEmail finds a user by email, ignoring case.
func (d *DB) UserByEmail(ctx context.Context, email string) (User, error) {
	if !storable(email) {
		return User{}, ErrNotFound
	}
	return scanUser(d.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.email_key = $1`, emailKey(email)))
}

// UserByID finds a user by ID.
func (d *DB) UserByID(ctx context.Context, id int64) (User, error) {
	return scanUser(d.db.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, id))
}

// CountUsers returns the number of users (zero means the first sign-up
// bootstraps an admin).
func (d *DB) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// EnsureSetting stores value under key unless the key already has a value,
// and returns the stored value. Processes racing to create a secret (the IP
// hash salt) thus all end up using the same one.
func (d *DB) EnsureSetting(ctx context.Context, key, value string) (string, error) {
	if _, err := d.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return "", fmt.Errorf("store: setting %s: %w", key, err)
	}
	var stored string
	if err := d.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&stored); err != nil {
		return "", fmt.Errorf("store: setting %s: %w", key, err)
	}
	return stored, nil
}

// ListUsers returns every user, by email. User administration is for
// admins only, as a whole: a non-admin viewer gets ErrAdminsOnly.
func (d *DB) ListUsers(ctx context.Context, v Viewer) ([]User, error) {
	if !v.Admin {
		return nil, fmt.Errorf("store: list users: %w", ErrAdminsOnly)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+userCols+` FROM users u ORDER BY u.email_key, u.id`)
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		var (
			u       User
			created int64
		)
		if err := rows.Scan(&u.ID, &u.Email, &u.Role, &u.PasswordHash, &created); err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		u.CreatedAt = fromMillis(created)
		users = append(users, u)
	}
	return users, rows.Err()
}

// lockAdmins locks the rows of every admin, in ID order, and returns their
// IDs. Changes that could remove the last admin take these locks first, so
// two admins demoting or deleting each other at once queue up (on
// PostgreSQL; SQLite transactions are serial anyway) and the second one sees
// the first one's result; the fixed order keeps them from deadlocking.
func (d *DB) lockAdmins(ctx context.Context, tx *sql.Tx) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM users WHERE role = $1 ORDER BY id`+d.forUpdate(), RoleAdmin)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// lastAdmin reports whether userID is the only admin, after lockAdmins.
func (d *DB) lastAdmin(ctx context.Context, tx *sql.Tx, userID int64) (bool, error) {
	admins, err := d.lockAdmins(ctx, tx)
	if err != nil {
		return false, err
	}
	return len(admins) == 1 && admins[0] == userID, nil
}

// SetUserRole changes a user's role (RoleAdmin or RoleMember); admins only
// (ErrAdminsOnly). A user made a member is unassigned from the issues of
// projects they are not a member of. Demoting the last admin is refused with ErrInvalid, since
// nobody could then administer the installation.
func (d *DB) SetUserRole(ctx context.Context, v Viewer, userID int64, role string) (User, error) {
	switch {
	case !v.Admin:
		return User{}, fmt.Errorf("store: set role of user %d: %w", userID, ErrAdminsOnly)
	case !validRole(role):
		return User{}, fmt.Errorf("store: set role of user %d: %w: role %q", userID, ErrInvalid, role)
	}
	var u User
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		last, err := d.lastAdmin(ctx, tx, userID)
		if err != nil {
			return err
		}
		if last && role != RoleAdmin {
			return fmt.Errorf("%w: user %d is the last admin; make another user admin first", ErrInvalid, userID)
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET role = $2 WHERE id = $1
			RETURNING id, email, role, password_hash, created_at`, userID, role))
		if err != nil || role == RoleAdmin {
			return err
		}
		return d.unassignOutsideProjects(ctx, tx, v.UserID, userID)
	})
	if err != nil {
		return User{}, fmt.Errorf("store: set role of user %d: %w", userID, err)
	}
	d.accessChanged()
	return u, nil
}

// SetPassword replaces a user's password hash and deletes the user's
// set-password link: a link sent before the change must not undo it. It
// takes no viewer: the caller (the dashboard's change-password form, the
// CLI) has checked who may do it. A missing user is ErrNotFound.
func (d *DB) SetPassword(ctx context.Context, userID int64, hash string) error {
	if hash == "" {
		return fmt.Errorf("store: set password of user %d: %w: empty hash", userID, ErrInvalid)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, userID, hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM password_links WHERE user_id = $1`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: set password of user %d: %w", userID, err)
	}
	return nil
}

// DeleteUser removes a user with their memberships, API tokens, sessions,
// set-password link and the record of their chunk uploads, and unassigns
// their issues, which their activity records; admins only
// (ErrForbidden). Removing the last admin, or oneself, is refused with
// ErrInvalid: an admin who wants to leave makes someone else admin and is
// removed by them.
func (d *DB) DeleteUser(ctx context.Context, v Viewer, userID int64) error {
	switch {
	case !v.Admin:
		return fmt.Errorf("store: delete user %d: %w", userID, ErrForbidden)
	case v.UserID == userID:
		return fmt.Errorf("store: delete user %d: %w: admins cannot delete themselves", userID, ErrInvalid)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		last, err := d.lastAdmin(ctx, tx, userID)
		if err != nil {
			return err
		}
		if last {
			return fmt.Errorf("%w: user %d is the last admin", ErrInvalid, userID)
		}
		// Unassigned here rather than by the foreign key's SET NULL, so
		// that their issues' activity records it.
		if err := d.lockAssigned(ctx, tx, userID); err != nil {
			return err
		}
		q := d.query()
		q.add(`UPDATE issues SET assigned_user_id = NULL WHERE assigned_user_id = `, q.arg(userID), ` RETURNING id`)
		if err := d.unassigned(ctx, tx, q, v.UserID); err != nil {
			return err
		}
		for _, table := range []string{"project_members", "api_tokens", "sessions", "password_links", "artifact_chunk_uploads"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete user %d: %w", userID, err)
	}
	d.accessChanged()
	return nil
}
