package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// Values of a project's rate limit besides a number of events per minute.
const (
	// RateLimitDefault is the server's limit (flytrap dev --rate-limit),
	// which every project has until an admin sets its own.
	RateLimitDefault = 0
	// RateLimitNone lets the project send at any rate.
	RateLimitNone = apitypes.RateLimitNone
	// MaxRateLimit bounds a project's limit, as the API's does.
	MaxRateLimit = apitypes.MaxRateLimit
)

// ActiveKey is what ingest needs of an active public key.
type ActiveKey struct {
	ProjectID int64
	// RateLimit is the project's limit in events per minute, or
	// RateLimitDefault or RateLimitNone.
	RateLimit int
}

// ActiveKeys maps every active public key to its project and the
// project's rate limit, for ingest's key cache.
func (d *DB) ActiveKeys(ctx context.Context) (map[string]ActiveKey, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT k.public_key, k.project_id, p.rate_limit
		FROM project_keys k JOIN projects p ON p.id = k.project_id WHERE k.active`)
	if err != nil {
		return nil, fmt.Errorf("store: active keys: %w", err)
	}
	defer rows.Close()
	keys := make(map[string]ActiveKey)
	for rows.Next() {
		var (
			k  string
			ak ActiveKey
		)
		if err := rows.Scan(&k, &ak.ProjectID, &ak.RateLimit); err != nil {
			return nil, fmt.Errorf("store: active keys: %w", err)
		}
		keys[k] = ak
	}
	return keys, rows.Err()
}

// ProjectRateLimit returns the rate limit of a project v may see: events
// per minute, RateLimitDefault or RateLimitNone.
func (d *DB) ProjectRateLimit(ctx context.Context, v Viewer, projectID int64) (int, error) {
	var (
		q     query
		limit int
	)
	q.add(`SELECT p.rate_limit FROM projects p WHERE p.id = `, q.arg(projectID), ` AND `, q.visible(v, "p.id"))
	if err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&limit); err != nil {
		return 0, fmt.Errorf("store: rate limit of project %d: %w", projectID, notFound(err))
	}
	return limit, nil
}

// SetProjectRateLimit sets a project's rate limit; admin users only
// (ErrAdminsOnly, ErrNotFound for a project v cannot see): the server's
// limit is the operator's bound on what the SDKs of all projects together
// may queue and store, which a project's own admins could otherwise lift
// for their project. A limit outside 1..MaxRateLimit that is not
// RateLimitDefault or RateLimitNone is ErrInvalid. Ingest learns of it
// through the OnAccessChange hooks, as of a rotated key.
func (d *DB) SetProjectRateLimit(ctx context.Context, v Viewer, projectID int64, limit int) error {
	if limit < RateLimitNone || limit > MaxRateLimit {
		return fmt.Errorf("store: rate limit of project %d: %w: %d events per minute is not a limit; set 1 to %d, or no limit", projectID, ErrInvalid, limit, MaxRateLimit)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, projectID, false); err != nil && !errors.Is(err, ErrForbidden) {
			return err
		}
		if !v.Admin {
			return ErrAdminsOnly
		}
		_, err := tx.ExecContext(ctx, `UPDATE projects SET rate_limit = $2 WHERE id = $1`, projectID, limit)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: rate limit of project %d: %w", projectID, err)
	}
	d.accessChanged()
	return nil
}
