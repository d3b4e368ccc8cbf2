package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"
)

// Purposes of a password link: what the set-password page says, and which
// email was sent. Both set the password the same way.
const (
	// LinkInvite is an invitation: the user was created without a
	// usable password and chooses one through the link.
	LinkInvite = "invite"
	// LinkReset replaces a forgotten password, issued by an admin.
	LinkReset = "reset"
	// LinkForgot is a reset the user asked for ("Forgot password?"),
	// which anyone may ask for an address: it never replaces a live
	// invitation or reset an admin issued (ErrConflict).
	LinkForgot = "forgot"
)

// PasswordLink is a one-time set-password link, without its token.
type PasswordLink struct {
	ID        int64
	UserID    int64
	Purpose   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// IssuePasswordLink makes a one-time link that sets the user's password
// until ttl from now and returns its token (32 random bytes as 64 hex
// characters), which only the link carries: the store keeps its SHA-256,
// as for sessions. It replaces the user's earlier link, so only the newest
// one works, except that a LinkForgot link replaces only an expired link
// or an earlier LinkForgot one, and is ErrConflict while an admin's is
// live. A missing user is ErrNotFound.
func (d *DB) IssuePasswordLink(ctx context.Context, userID int64, purpose string, ttl time.Duration) (string, PasswordLink, error) {
	if (purpose != LinkInvite && purpose != LinkReset && purpose != LinkForgot) || ttl <= 0 {
		return "", PasswordLink{}, fmt.Errorf("store: issue password link: %w: purpose %q, %q or %q and a positive ttl", ErrInvalid, LinkInvite, LinkReset, LinkForgot)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	token := hex.EncodeToString(secret)
	l := PasswordLink{UserID: userID, Purpose: purpose, CreatedAt: nowUTC()}
	l.ExpiresAt = fromMillis(millis(l.CreatedAt.Add(ttl)))
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if purpose == LinkForgot {
			// Only an expired link or the user's own earlier request
			// gives way: an outsider asking for the address must not
			// cancel the invitation an admin sent.
			if _, err := tx.ExecContext(ctx, `DELETE FROM password_links WHERE user_id = $1 AND (purpose = $2 OR expires_at <= $3)`,
				userID, LinkForgot, millis(l.CreatedAt)); err != nil {
				return err
			}
			var live int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM password_links WHERE user_id = $1`, userID).Scan(&live); err != nil {
				return err
			}
			if live > 0 {
				return fmt.Errorf("%w: the user has a link an admin issued", ErrConflict)
			}
		} else if _, err := tx.ExecContext(ctx, `DELETE FROM password_links WHERE user_id = $1`, userID); err != nil {
			return err
		}
		return notFound(tx.QueryRowContext(ctx, `INSERT INTO password_links (user_id, token_hash, purpose, created_at, expires_at)
			SELECT u.id, CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS BIGINT), CAST($5 AS BIGINT) FROM users u WHERE u.id = $1
			RETURNING id`, userID, hashToken(token), purpose, millis(l.CreatedAt), millis(l.ExpiresAt)).Scan(&l.ID))
	})
	if err != nil {
		return "", PasswordLink{}, fmt.Errorf("store: issue password link for user %d: %w", userID, err)
	}
	return token, l, nil
}

const linkCols = `l.id, l.user_id, l.purpose, l.created_at, l.expires_at`

func scanLink(scan func(...any) error, dest ...any) (PasswordLink, error) {
	var (
		l                PasswordLink
		created, expires int64
	)
	if err := scan(append([]any{&l.ID, &l.UserID, &l.Purpose, &created, &expires}, dest...)...); err != nil {
		return PasswordLink{}, err
	}
	l.CreatedAt, l.ExpiresAt = fromMillis(created), fromMillis(expires)
	return l, nil
}

// PasswordLinkUser returns the user whose password token's link sets, and
// the link, without using it up. An unknown, used, replaced or expired
// token (expired at now) is ErrNotFound.
func (d *DB) PasswordLinkUser(ctx context.Context, token string, now time.Time) (User, PasswordLink, error) {
	var (
		u       User
		created int64
	)
	row := d.db.QueryRowContext(ctx, `SELECT `+linkCols+`, `+userCols+`
		FROM password_links l JOIN users u ON u.id = l.user_id
		WHERE l.token_hash = $1 AND l.expires_at > $2`, hashToken(token), millis(now))
	l, err := scanLink(row.Scan, &u.ID, &u.Email, &u.Role, &u.PasswordHash, &created)
	if err != nil {
		return User{}, PasswordLink{}, notFound(err)
	}
	u.CreatedAt = fromMillis(created)
	return u, l, nil
}

// UsePasswordLink sets the password hash of the user whose link token is
// and deletes the link, in one transaction: of two uses of one link, one
// sets the password and the other gets ErrNotFound, as do an unknown,
// replaced or expired (at now) token. It returns the user as changed and
// the link used.
func (d *DB) UsePasswordLink(ctx context.Context, token, hash string, now time.Time) (User, PasswordLink, error) {
	if hash == "" {
		return User{}, PasswordLink{}, fmt.Errorf("store: use password link: %w: empty hash", ErrInvalid)
	}
	var (
		u User
		l PasswordLink
	)
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		l, err = scanLink(tx.QueryRowContext(ctx, `DELETE FROM password_links WHERE token_hash = $1 AND expires_at > $2
			RETURNING id, user_id, purpose, created_at, expires_at`, hashToken(token), millis(now)).Scan)
		if err != nil {
			return notFound(err)
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1
			RETURNING id, email, role, password_hash, created_at`, l.UserID, hash))
		return err
	})
	if err != nil {
		return User{}, PasswordLink{}, fmt.Errorf("store: use password link: %w", err)
	}
	return u, l, nil
}

// PrunePasswordLinks deletes the links expired at now and returns how
// many. PasswordLinkUser and UsePasswordLink already refuse them; pruning
// only reclaims the rows.
func (d *DB) PrunePasswordLinks(ctx context.Context, now time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM password_links WHERE expires_at <= $1`, millis(now))
	if err != nil {
		return 0, fmt.Errorf("store: prune password links: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: prune password links: %w", err)
	}
	return n, nil
}
