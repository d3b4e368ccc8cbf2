package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// TokenUseResolution is how stale an API token's LastUsedAt may be: a
// token used again within it is not written to, so reads through the API
// do not each cost a write.
const TokenUseResolution = time.Minute

func validScope(s string) bool { return s == ScopeFull || s == ScopeReadOnly }

// ScopePermits reports whether a token of scope may make a request with
// the HTTP method: a read-only token may only read (GET and HEAD). Every
// endpoint that takes tokens asks this, so the rule has one home.
func ScopePermits(scope, method string) bool {
	return scope != ScopeReadOnly || method == "GET" || method == "HEAD"
}

// CreateAPIToken issues a full, never-expiring bearer token for the user;
// see IssueAPIToken.
func (d *DB) CreateAPIToken(ctx context.Context, userID int64, name string) (string, APIToken, error) {
	return d.IssueAPIToken(ctx, userID, NewAPIToken{Name: name})
}

// IssueAPIToken issues a bearer token for the user. The token is returned
// only here: the store keeps its SHA-256, which is enough to look it up
// because the token is 256 random bits and needs no slow hash. An empty
// scope is ScopeFull.
func (d *DB) IssueAPIToken(ctx context.Context, userID int64, nt NewAPIToken) (string, APIToken, error) {
	if nt.Scope == "" {
		nt.Scope = ScopeFull
	}
	if !validScope(nt.Scope) {
		return "", APIToken{}, fmt.Errorf("store: create API token: %w: scope must be %q or %q", ErrInvalid, ScopeFull, ScopeReadOnly)
	}
	if nt.Origin == "" {
		nt.Origin = TokenCreated
	}
	if nt.Origin != TokenCreated && nt.Origin != TokenSignIn {
		return "", APIToken{}, fmt.Errorf("store: create API token: %w: origin must be %q or %q", ErrInvalid, TokenCreated, TokenSignIn)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := APITokenPrefix + hex.EncodeToString(secret)
	t := APIToken{UserID: userID, Name: nt.Name, Scope: nt.Scope, CreatedAt: nowUTC(), Origin: nt.Origin}
	var expires sql.NullInt64
	if nt.ExpiresAt != nil {
		e := fromMillis(millis(*nt.ExpiresAt))
		t.ExpiresAt = &e
		expires = sql.NullInt64{Int64: millis(e), Valid: true}
	}
	err := d.db.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, token_hash, created_at, scope, expires_at, origin)
		SELECT u.id, CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS TEXT), CAST($6 AS BIGINT), CAST($7 AS TEXT) FROM users u WHERE u.id = $1
		RETURNING id`, userID, nt.Name, hashToken(token), millis(t.CreatedAt), nt.Scope, expires, nt.Origin).Scan(&t.ID)
	if err != nil {
		return "", APIToken{}, fmt.Errorf("store: create API token for user %d: %w", userID, notFound(err))
	}
	return token, t, nil
}

const tokenCols = `t.id, t.user_id, t.name, t.scope, t.expires_at, t.last_used_at, t.created_at, t.origin`

// scanToken reads tokenCols, then dest.
func scanToken(scan func(...any) error, dest ...any) (APIToken, error) {
	var (
		t                 APIToken
		expires, lastUsed sql.NullInt64
		created           int64
	)
	if err := scan(append([]any{&t.ID, &t.UserID, &t.Name, &t.Scope, &expires, &lastUsed, &created, &t.Origin}, dest...)...); err != nil {
		return APIToken{}, err
	}
	t.CreatedAt = fromMillis(created)
	if expires.Valid {
		e := fromMillis(expires.Int64)
		t.ExpiresAt = &e
	}
	if lastUsed.Valid {
		l := fromMillis(lastUsed.Int64)
		t.LastUsedAt = &l
	}
	return t, nil
}

// TokenOwner returns the owner of token and the token, and records its
// use. An unknown or expired token is ErrNotFound: callers answer both
// alike, so a probe learns nothing. Recording the use is bookkeeping: when
// it fails (a full disk) the token still authenticates, its LastUsedAt
// stays as it was, and the error goes to the OnUsageNotRecorded hooks, so
// reads keep working while writes cannot.
func (d *DB) TokenOwner(ctx context.Context, token string) (User, APIToken, error) {
	if !strings.HasPrefix(token, APITokenPrefix) {
		return User{}, APIToken{}, ErrNotFound
	}
	now := nowUTC()
	var (
		u       User
		created int64
	)
	row := d.db.QueryRowContext(ctx, `SELECT `+tokenCols+`, `+userCols+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND (t.expires_at IS NULL OR t.expires_at > $2)`, hashToken(token), millis(now))
	t, err := scanToken(row.Scan, &u.ID, &u.Email, &u.Role, &u.PasswordHash, &created)
	if err != nil {
		return User{}, APIToken{}, notFound(err)
	}
	u.CreatedAt = fromMillis(created)
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= TokenUseResolution {
		if _, err := d.db.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, millis(now), t.ID); err != nil {
			d.usageNotRecorded(fmt.Errorf("store: record API token use: %w", err))
		} else {
			t.LastUsedAt = &now
		}
	}
	return u, t, nil
}

// UserByAPIToken returns the owner of token; an unknown or expired token
// is ErrNotFound.
func (d *DB) UserByAPIToken(ctx context.Context, token string) (User, error) {
	u, _, err := d.TokenOwner(ctx, token)
	return u, err
}

// ListAPITokens returns the user's API tokens (without secrets), expired
// ones included, oldest first.
func (d *DB) ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens t WHERE t.user_id = $1 ORDER BY t.id`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: list API tokens: %w", err)
	}
	defer rows.Close()
	tokens := []APIToken{}
	for rows.Next() {
		t, err := scanToken(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("store: list API tokens: %w", err)
		}
		tokens = append(tokens, t)
	}
	return tokens, rows.Err()
}

// DeleteAPIToken revokes one of the user's own tokens; another user's
// token is ErrNotFound, like a missing one.
func (d *DB) DeleteAPIToken(ctx context.Context, userID, tokenID int64) error {
	res, err := d.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, tokenID, userID)
	if err != nil {
		return fmt.Errorf("store: delete API token %d: %w", tokenID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete API token %d: %w", tokenID, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete API token %d: %w", tokenID, ErrNotFound)
	}
	d.accessChanged()
	return nil
}

// DeleteSignInTokens revokes the user's tokens of origin TokenSignIn, the
// ones minted by signing in with the password, and returns how many there
// were: a password change ends them as it ends browser sessions. Tokens
// the user created by name are kept.
func (d *DB) DeleteSignInTokens(ctx context.Context, userID int64) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM api_tokens WHERE user_id = $1 AND origin = $2`, userID, TokenSignIn)
	if err != nil {
		return 0, fmt.Errorf("store: revoke sign-in tokens of user %d: %w", userID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: revoke sign-in tokens of user %d: %w", userID, err)
	}
	if n > 0 {
		d.accessChanged()
	}
	return n, nil
}
