package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// CreateSession signs a user in for ttl. The token (32 random bytes as 64
// hex characters) goes into the cookie and is returned only here; the store
// keeps its SHA-256, like an API token's. A missing user is ErrNotFound.
func (d *DB) CreateSession(ctx context.Context, userID int64, ttl time.Duration) (string, Session, error) {
	if ttl <= 0 {
		return "", Session{}, fmt.Errorf("store: create session: %w: ttl must be positive", ErrInvalid)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := hex.EncodeToString(secret)
	s := Session{UserID: userID, CreatedAt: nowUTC()}
	s.ExpiresAt = fromMillis(millis(s.CreatedAt.Add(ttl)))
	err := d.db.QueryRowContext(ctx, `INSERT INTO sessions (user_id, token_hash, created_at, expires_at)
		SELECT u.id, CAST($2 AS TEXT), CAST($3 AS BIGINT), CAST($4 AS BIGINT) FROM users u WHERE u.id = $1
		RETURNING id`, userID, hashToken(token), millis(s.CreatedAt), millis(s.ExpiresAt)).Scan(&s.ID)
	if err != nil {
		return "", Session{}, fmt.Errorf("store: create session for user %d: %w", userID, notFound(err))
	}
	return token, s, nil
}

// SessionUser returns the user signed in with token and the session. A
// session is valid while now is before its expiry; an unknown or expired
// token is ErrNotFound.
func (d *DB) SessionUser(ctx context.Context, token string, now time.Time) (User, Session, error) {
	var (
		u                         User
		s                         Session
		userCreated, sCreated, sx int64
	)
	err := d.db.QueryRowContext(ctx, `SELECT `+userCols+`, s.id, s.user_id, s.created_at, s.expires_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2`,
		hashToken(token), millis(now)).Scan(
		&u.ID, &u.Email, &u.Role, &u.PasswordHash, &userCreated, &s.ID, &s.UserID, &sCreated, &sx)
	if err != nil {
		return User{}, Session{}, notFound(err)
	}
	u.CreatedAt, s.CreatedAt, s.ExpiresAt = fromMillis(userCreated), fromMillis(sCreated), fromMillis(sx)
	return u, s, nil
}

// DeleteSession signs a session out. Deleting a session that is already
// gone (expired and pruned, or signed out in another tab) is not an error,
// so signing out always succeeds.
func (d *DB) DeleteSession(ctx context.Context, token string) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hashToken(token)); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	d.accessChanged()
	return nil
}

// DeleteUserSessions signs a user out everywhere except the session of
// exceptToken ("" for none): after a password change, the browser that
// changed it stays signed in and every other one is signed out.
func (d *DB) DeleteUserSessions(ctx context.Context, userID int64, exceptToken string) error {
	var q query
	q.add(`DELETE FROM sessions WHERE user_id = `, q.arg(userID))
	if exceptToken != "" {
		q.add(` AND token_hash <> `, q.arg(hashToken(exceptToken)))
	}
	if _, err := d.db.ExecContext(ctx, q.sql(), q.args...); err != nil {
		return fmt.Errorf("store: delete sessions of user %d: %w", userID, err)
	}
	d.accessChanged()
	return nil
}

// PruneSessions deletes the sessions expired at now and returns how many.
// SessionUser already refuses them; pruning only reclaims the rows.
func (d *DB) PruneSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, millis(now))
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune sessions: %w", err)
	}
	return n, nil
}
