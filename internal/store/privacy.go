package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/scrub"
)

// Limits on the field lists of PrivacySettings, so a settings row stays
// small: the processor reads it for every event (through a cache).
const (
	MaxPrivacyFields   = 100
	MaxPrivacyFieldLen = 100
)

// PrivacySettings are a project's data scrubbing settings, applied by the
// processor before an event is stored (see internal/scrub).
type PrivacySettings struct {
	// Scrubbing filters sensitive keys and masks card numbers and IP
	// addresses in text; on for new projects.
	Scrubbing bool `json:"scrubbing"`
	// SensitiveFields are key names filtered besides the defaults.
	SensitiveFields []string `json:"sensitive_fields"`
	// SafeFields are key names never filtered.
	SafeFields []string `json:"safe_fields"`
	// DropIPAddresses stores no (hashed) IP address of the user.
	DropIPAddresses bool `json:"drop_ip_addresses"`
}

// DefaultPrivacy is what a project has until an admin changes it.
var DefaultPrivacy = PrivacySettings{Scrubbing: true, SensitiveFields: []string{}, SafeFields: []string{}}

// ScrubConfig is the scrubber's configuration for these settings.
func (s PrivacySettings) ScrubConfig() scrub.Config {
	return scrub.Config{Enabled: s.Scrubbing, ExtraFields: s.SensitiveFields, SafeFields: s.SafeFields, DropIP: s.DropIPAddresses}
}

// ProjectPrivacy returns the privacy settings of a project v may see.
func (d *DB) ProjectPrivacy(ctx context.Context, v Viewer, projectID int64) (PrivacySettings, error) {
	var (
		q               query
		s               PrivacySettings
		sensitive, safe string
	)
	q.add(`SELECT p.scrubbing, p.sensitive_fields, p.safe_fields, p.drop_ip FROM projects p WHERE p.id = `,
		q.arg(projectID), ` AND `, q.visible(v, "p.id"))
	err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&s.Scrubbing, &sensitive, &safe, &s.DropIPAddresses)
	if err != nil {
		return PrivacySettings{}, fmt.Errorf("store: privacy settings of project %d: %w", projectID, notFound(err))
	}
	if err := s.readFields(sensitive, safe); err != nil {
		return PrivacySettings{}, fmt.Errorf("store: privacy settings of project %d: %w", projectID, err)
	}
	return s, nil
}

// readFields reads the field lists as the projects table keeps them.
func (s *PrivacySettings) readFields(sensitive, safe string) error {
	if err := json.Unmarshal([]byte(sensitive), &s.SensitiveFields); err != nil {
		return fmt.Errorf("sensitive fields: %w", err)
	}
	if err := json.Unmarshal([]byte(safe), &s.SafeFields); err != nil {
		return fmt.Errorf("safe fields: %w", err)
	}
	return nil
}

// scrubConfigs returns the scrubber's configuration of each project v may
// see, of those of ids only unless ids is empty.
func (d *DB) scrubConfigs(ctx context.Context, v Viewer, ids []int64) (map[int64]scrub.Config, error) {
	var q query
	q.add(`SELECT p.id, p.scrubbing, p.sensitive_fields, p.safe_fields, p.drop_ip FROM projects p WHERE `, q.visible(v, "p.id"))
	if len(ids) > 0 {
		q.add(` AND p.id IN (`, q.list(ids), `)`)
	}
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: privacy settings: %w", err)
	}
	defer rows.Close()
	configs := map[int64]scrub.Config{}
	for rows.Next() {
		var (
			id              int64
			s               PrivacySettings
			sensitive, safe string
		)
		if err := rows.Scan(&id, &s.Scrubbing, &sensitive, &safe, &s.DropIPAddresses); err != nil {
			return nil, fmt.Errorf("store: privacy settings: %w", err)
		}
		if err := s.readFields(sensitive, safe); err != nil {
			return nil, fmt.Errorf("store: privacy settings of project %d: %w", id, err)
		}
		configs[id] = s.ScrubConfig()
	}
	return configs, rows.Err()
}

// SetProjectPrivacy replaces a project's privacy settings; the project's admins only.
// Field names are trimmed, and empty and repeated ones dropped; more than
// MaxPrivacyFields names, or one longer than MaxPrivacyFieldLen, is
// ErrInvalid. It returns the settings as stored.
func (d *DB) SetProjectPrivacy(ctx context.Context, v Viewer, projectID int64, s PrivacySettings) (PrivacySettings, error) {
	var err error
	if s.SensitiveFields, err = cleanFields("sensitive_fields", s.SensitiveFields); err != nil {
		return PrivacySettings{}, fmt.Errorf("store: privacy settings of project %d: %w", projectID, err)
	}
	if s.SafeFields, err = cleanFields("safe_fields", s.SafeFields); err != nil {
		return PrivacySettings{}, fmt.Errorf("store: privacy settings of project %d: %w", projectID, err)
	}
	sensitive, _ := json.Marshal(s.SensitiveFields)
	safe, _ := json.Marshal(s.SafeFields)
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, projectID, false); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE projects SET scrubbing = $2, sensitive_fields = $3, safe_fields = $4, drop_ip = $5
			WHERE id = $1`, projectID, s.Scrubbing, string(sensitive), string(safe), s.DropIPAddresses)
		return err
	})
	if err != nil {
		return PrivacySettings{}, fmt.Errorf("store: privacy settings of project %d: %w", projectID, err)
	}
	return s, nil
}

// cleanFields trims names and drops empty and repeated ones, keeping order.
func cleanFields(what string, fields []string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || seen[strings.ToLower(f)] {
			continue
		}
		if !storable(f) {
			return nil, fmt.Errorf("%w: %s: %q holds a NUL byte or bytes that are not UTF-8", ErrInvalid, what, f)
		}
		if utf8.RuneCountInString(f) > MaxPrivacyFieldLen {
			return nil, fmt.Errorf("%w: %s: %.20q… is longer than %d characters", ErrInvalid, what, f, MaxPrivacyFieldLen)
		}
		seen[strings.ToLower(f)] = true
		out = append(out, f)
	}
	if len(out) > MaxPrivacyFields {
		return nil, fmt.Errorf("%w: %s: %d names, at most %d allowed", ErrInvalid, what, len(out), MaxPrivacyFields)
	}
	return out, nil
}
