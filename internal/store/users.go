package store

import (
	"context"
	"crypto/rand"
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

// CreateAPIToken issues a bearer token for the user. The token is returned
// only here: the store keeps its SHA-256, which is enough to look it up
// because the token is 256 random bits and needs no slow hash.
func (d *DB) CreateAPIToken(ctx context.Context, userID int64, name string) (string, APIToken, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	token := APITokenPrefix + hex.EncodeToString(secret)
	t := APIToken{UserID: userID, Name: name, CreatedAt: nowUTC()}
	err := d.db.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, created_at)
		SELECT u.id, CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT) FROM users u WHERE u.id = $1
		RETURNING id`, userID, name, hashToken(token), millis(t.CreatedAt)).Scan(&t.ID)
	if err != nil {
		return "", APIToken{}, fmt.Errorf("store: create API token for user %d: %w", userID, notFound(err))
	}
	return token, t, nil
}

// UserByAPIToken returns the owner of token; an unknown token is ErrNotFound.
func (d *DB) UserByAPIToken(ctx context.Context, token string) (User, error) {
	if !strings.HasPrefix(token, APITokenPrefix) {
		return User{}, ErrNotFound
	}
	return scanUser(d.db.QueryRowContext(ctx, `SELECT `+userCols+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, hashToken(token)))
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
