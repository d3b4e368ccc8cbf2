package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// Alert rule types.
const (
	RuleNewIssue   = "new_issue"
	RuleRegression = "regression"
	// RuleFrequency fires when an issue receives more than Threshold
	// events in WindowMinutes.
	RuleFrequency = "frequency"
)

// Alert channel kinds.
const (
	// ChannelEmail mails the project's members who have not opted out
	// (SMTP locally, the project's SNS topic on AWS).
	ChannelEmail   = "email"
	ChannelSlack   = "slack"
	ChannelWebhook = "webhook"
)

// Reasons of notifications besides the rule types.
const (
	// ReasonDigest sums an issue's events during its cooldown window.
	ReasonDigest = "digest"
	// ReasonTest is a test message an admin asked for.
	ReasonTest = "test"
	// ReasonNewIssuesHeld sums the new issues a channel was not alerted
	// of because NewIssueBurst alerts had gone to it within
	// NewIssueBurstWindow; it names the latest of them.
	ReasonNewIssuesHeld = "new_issues_held"
	// ReasonMonitorsHeld sums the cron monitor alerts (failing and
	// recovered) a channel was not sent because NewIssueBurst of them had
	// gone to it within NewIssueBurstWindow; it names the latest.
	ReasonMonitorsHeld = "monitors_held"
)

// A channel gets at most NewIssueBurst new-issue alerts in any
// NewIssueBurstWindow. The new issues beyond are counted into one
// ReasonNewIssuesHeld notification per channel and window-long bucket of
// time, sent when the bucket ends: a deploy that opens a thousand issues
// sends twenty alerts and a summary, not a thousand emails. Cron monitor
// alerts are bounded the same way, counted apart, into ReasonMonitorsHeld.
const (
	NewIssueBurst       = 20
	NewIssueBurstWindow = 10 * time.Minute
)

// Notification statuses.
const (
	NotificationPending = "pending"
	NotificationSending = "sending"
	NotificationSent    = "sent"
	NotificationDead    = "dead"
	// NotificationLogged is an email the server wrote to its log instead
	// of sending, having no way to send email (flytrap dev without
	// --smtp-url): settled, like sent, but nobody got it.
	NotificationLogged = "logged"
)

// MaxAlertWindow bounds a frequency rule's window; minute counts older
// than it are pruned.
const MaxAlertWindow = 24 * time.Hour

// DefaultAlertCooldown is a new project's per-issue cooldown.
const DefaultAlertCooldown = time.Hour

// AlertChannel is where a project's alerts go. Secret signs webhooks; it
// is returned once, when the channel is created.
type AlertChannel struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	URL       string    `json:"url,omitempty"`
	Secret    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// AlertRule says which events of a project alert which channel.
type AlertRule struct {
	ID            int64  `json:"id"`
	ProjectID     int64  `json:"project_id"`
	ChannelID     int64  `json:"channel_id"`
	Type          string `json:"type"`
	Threshold     int64  `json:"threshold"`
	WindowMinutes int64  `json:"window_minutes"`
	// MinLevel keeps events at least this severe ("" any).
	MinLevel string `json:"min_level"`
	// Environment keeps events of this environment only ("" any).
	Environment string    `json:"environment"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
}

// AlertPayload is what a notification says, fixed when it is written.
// Title, Culprit, Level, Environment and Release are those of the event
// EventID, the one the message quotes and shows the stack of: the event
// that fired the rule, or for a digest the issue's latest. IssueTitle is
// the issue's title, which is its newest event's by the SDK's timestamp
// and so may be another event's.
type AlertPayload struct {
	ProjectID   int64  `json:"project_id"`
	IssueID     int64  `json:"issue_id"`
	Title       string `json:"title"`
	IssueTitle  string `json:"issue_title,omitempty"`
	Culprit     string `json:"culprit"`
	Level       string `json:"level"`
	Status      string `json:"status"`
	Count       int64  `json:"count"`
	UserCount   int64  `json:"user_count"`
	Environment string `json:"environment,omitempty"`
	Release     string `json:"release,omitempty"`
	EventID     string `json:"event_id,omitempty"`
	// Events is, for a digest, how many events arrived since the last
	// message about the issue.
	Events int64 `json:"events,omitempty"`
	// Held is, for ReasonNewIssuesHeld, how many new issues were not
	// alerted; the payload's issue is the latest of them. For
	// ReasonMonitorsHeld it is how many monitor alerts were not sent,
	// and Monitor the latest.
	Held int64 `json:"held,omitempty"`
	// WindowEvents is, for a frequency alert, how many events the issue
	// received in the rule's last WindowMinutes: the figure that crossed
	// its threshold, where Count is the issue's total.
	WindowEvents  int64 `json:"window_events,omitempty"`
	WindowMinutes int64 `json:"window_minutes,omitempty"`
	// At is when the notification was written, in UTC, to the
	// millisecond.
	At time.Time `json:"at"`
	// Monitor is set on a cron monitor's alert (ReasonMonitorFailing,
	// ReasonMonitorRecovered), which is about no issue.
	Monitor *AlertMonitor `json:"monitor,omitempty"`
}

// encode is the payload as the outbox stores it, which the history shows
// and webhooks send: its times are cut to the millisecond, as every time
// the store keeps is, so that `at` has one precision in every kind of
// notification (digests, tests and monitor alerts had the clock's
// nanoseconds, rules' alerts milliseconds).
func (p AlertPayload) encode() ([]byte, error) {
	p.At = fromMillis(millis(p.At))
	if p.Monitor != nil {
		m := *p.Monitor
		m.CheckIn.Time = fromMillis(millis(m.CheckIn.Time))
		p.Monitor = &m
	}
	return json.Marshal(p)
}

// AlertMonitor and AlertCheckIn are the API's, as the payload is shown
// as stored.
type (
	AlertMonitor = apitypes.AlertMonitor
	AlertCheckIn = apitypes.AlertCheckIn
)

// Notification is one outbox row: one message for one channel.
type Notification struct {
	ID             int64        `json:"id"`
	ProjectID      int64        `json:"project_id"`
	IssueID        int64        `json:"issue_id"`
	RuleID         int64        `json:"rule_id"`
	ChannelID      int64        `json:"channel_id"`
	ChannelName    string       `json:"channel_name"`
	Reason         string       `json:"reason"`
	IdempotencyKey string       `json:"idempotency_key"`
	Status         string       `json:"status"`
	Attempts       int          `json:"attempts"`
	LastError      string       `json:"last_error"`
	NextAttemptAt  time.Time    `json:"next_attempt_at"`
	CreatedAt      time.Time    `json:"created_at"`
	SentAt         *time.Time   `json:"sent_at,omitempty"`
	Payload        AlertPayload `json:"payload"`
	// IssueDeleted is set by ListNotifications when the notification was
	// about an issue that has been deleted since: its title is kept, but
	// there is no issue page to link to.
	IssueDeleted bool `json:"issue_deleted,omitempty"`
}

// ClaimedNotification is a notification a worker holds until its lease
// ends, with what sending it needs.
type ClaimedNotification struct {
	Notification
	// Channel is the zero value when the channel was deleted since.
	Channel     AlertChannel
	ProjectName string
	// AttemptID is the attempt row StartNotification opened.
	AttemptID int64
	// Resend is true when an earlier claim started a send and its lease
	// ran out without an outcome: that attempt may have sent the message.
	Resend bool
	// Settled lists, for an email notification, the members earlier
	// attempts delivered it to or had it refused for good for.
	Settled []RecipientOutcome
}

// RecipientOutcome is what became of an email notification for one
// member.
type RecipientOutcome struct {
	Address string
	// Error is the mail server's permanent refusal; empty when delivered.
	Error string
}

// PartialError wraps the error of a send that reached some recipients and
// was refused for good for the others: FinishNotification records the
// notification as sent, with the error as its last error.
type PartialError struct{ Err error }

func (p PartialError) Error() string { return p.Err.Error() }
func (p PartialError) Unwrap() error { return p.Err }

// ErrNotSent is the outcome of a send the server did not make because it
// has nowhere to send to: FinishNotification records the notification as
// NotificationLogged, with the error, which says what to configure, as its
// last error, and never tries it again.
var ErrNotSent = errors.New("not sent")

// SNSSubscription is a member's email subscription to a project's topic.
type SNSSubscription struct {
	Email string `json:"email"`
	// ARN is empty while the subscription waits for confirmation.
	ARN       string    `json:"subscription_arn,omitempty"`
	Status    string    `json:"status"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SNS subscription statuses.
const (
	SubscriptionPending   = "pending"
	SubscriptionConfirmed = "confirmed"
)

// severity ranks levels: higher is more severe; unknown levels rank as
// error, which is what processing makes of them.
func severity(level string) int {
	switch level {
	case "fatal":
		return 5
	case "warning":
		return 3
	case "info":
		return 2
	case "debug":
		return 1
	}
	return 4
}

// ValidRuleType reports whether t is a rule type.
func ValidRuleType(t string) bool {
	return t == RuleNewIssue || t == RuleRegression || t == RuleFrequency
}

// ValidChannelKind reports whether k is a channel kind.
func ValidChannelKind(k string) bool {
	return k == ChannelEmail || k == ChannelSlack || k == ChannelWebhook
}

// createDefaultAlerts gives a new project an email channel to its members
// and rules for new issues and regressions.
func createDefaultAlerts(ctx context.Context, db dbtx, projectID int64, at int64) error {
	var channel int64
	if err := db.QueryRowContext(ctx, `INSERT INTO alert_channels (project_id, kind, name, url, secret, created_at)
		VALUES ($1, $2, 'Members by email', '', '', $3) RETURNING id`, projectID, ChannelEmail, at).Scan(&channel); err != nil {
		return err
	}
	for _, t := range []string{RuleNewIssue, RuleRegression} {
		if _, err := db.ExecContext(ctx, `INSERT INTO alert_rules (project_id, channel_id, rule_type, threshold, window_minutes,
			min_level, environment, enabled, created_at) VALUES ($1, $2, $3, 0, 0, '', '', $4, $5)`,
			projectID, channel, t, true, at); err != nil {
			return err
		}
	}
	return nil
}

// deleteProjectAlerts removes a project's alert rows, in a transaction
// that deletes the project.
func deleteProjectAlerts(ctx context.Context, tx *sql.Tx, projectID int64) error {
	for _, table := range []string{"alert_attempts", "alert_recipients"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE notification_id IN
			(SELECT id FROM alert_notifications WHERE project_id = $1)`, projectID); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_digest_owed WHERE issue_id IN
		(SELECT issue_id FROM alert_issue_state WHERE project_id = $1)`, projectID); err != nil {
		return err
	}
	for _, table := range []string{"alert_rules", "alert_channels", "alert_channel_optouts", "alert_notifications", "alert_issue_state", "alert_sns_subscriptions"} {
		if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE project_id = $1`, projectID); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM issue_minute_counts WHERE issue_id IN (SELECT id FROM issues WHERE project_id = $1)`, projectID)
	return err
}

const channelCols = `id, project_id, kind, name, url, secret, created_at`

func scanChannel(row scanner) (AlertChannel, error) {
	var (
		c  AlertChannel
		at int64
	)
	err := row.Scan(&c.ID, &c.ProjectID, &c.Kind, &c.Name, &c.URL, &c.Secret, &at)
	c.CreatedAt = fromMillis(at)
	return c, err
}

// ListAlertChannels returns a project's channels, oldest first, without
// their secrets.
func (d *DB) ListAlertChannels(ctx context.Context, v Viewer, projectID int64) ([]AlertChannel, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: alert channels of project %d: %w", projectID, err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+channelCols+` FROM alert_channels WHERE project_id = $1 ORDER BY id`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: alert channels of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []AlertChannel{}
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, err
		}
		c.Secret = ""
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetAlertChannel returns a channel v may see, without its secret.
func (d *DB) GetAlertChannel(ctx context.Context, v Viewer, id int64) (AlertChannel, error) {
	var q query
	q.add(`SELECT `+channelCols+` FROM alert_channels c WHERE c.id = `, q.arg(id), ` AND `, q.visible(v, "c.project_id"))
	c, err := scanChannel(d.db.QueryRowContext(ctx, q.sql(), q.args...))
	if err != nil {
		return AlertChannel{}, fmt.Errorf("store: alert channel %d: %w", id, notFound(err))
	}
	c.Secret = ""
	return c, nil
}

// CreateAlertChannel adds a channel to c.ProjectID; the project's admins only. A name
// another channel of the project has, in any case, is ErrConflict. A webhook
// gets a new signing secret, returned in the result's Secret: the only
// time it is shown.
func (d *DB) CreateAlertChannel(ctx context.Context, v Viewer, c AlertChannel) (AlertChannel, error) {
	if !ValidChannelKind(c.Kind) {
		return AlertChannel{}, fmt.Errorf("store: create alert channel: %w: kind %q", ErrInvalid, c.Kind)
	}
	c.Secret = ""
	if c.Kind == ChannelWebhook {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return AlertChannel{}, err
		}
		c.Secret = "whsec_" + hex.EncodeToString(b)
	}
	c.CreatedAt = nowUTC()
	c.Name = truncate(c.Name, MaxTagLength)
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		// Locks the project's row (PostgreSQL), so two concurrent
		// creations cannot both find the name free.
		if err := d.projectAdmin(ctx, tx, v, c.ProjectID, true); err != nil {
			return err
		}
		if err := channelAllowed(ctx, tx, c.ProjectID, c.Name); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO alert_channels (project_id, kind, name, url, secret, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			c.ProjectID, c.Kind, c.Name, Clean(c.URL), c.Secret, millis(c.CreatedAt)).Scan(&c.ID)
	})
	if err != nil {
		return AlertChannel{}, fmt.Errorf("store: create alert channel: %w", err)
	}
	return c, nil
}

// MaxAlertChannels and MaxAlertRules bound a project's alert channels and
// rules: an event that alerts is sent to every channel a rule names, so
// without a bound one event, from anyone holding the project's public DSN,
// would make as many outgoing requests as its admins had added channels.
const (
	MaxAlertChannels = 25
	MaxAlertRules    = 100
)

// channelAllowed refuses, with ErrConflict, a name another channel of
// the project has, in any case: rules and the history name channels, and
// two alike could not be told apart. It is checked here rather than by a
// unique index, which installations holding such duplicates from before
// could not build; those keep working and can be deleted. A project that
// has MaxAlertChannels already is ErrInvalid.
func channelAllowed(ctx context.Context, tx *sql.Tx, projectID int64, name string) error {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM alert_channels WHERE project_id = $1`, projectID)
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var other string
		if err := rows.Scan(&other); err != nil {
			return err
		}
		if strings.EqualFold(other, name) {
			return fmt.Errorf("channel name %q: %w", name, ErrConflict)
		}
		n++
	}
	if n >= MaxAlertChannels {
		return fmt.Errorf("%w: a project has at most %d alert channels; remove one first", ErrInvalid, MaxAlertChannels)
	}
	return rows.Err()
}

// DeleteAlertChannel removes a channel and the rules that use it; the project's
// admins only. Its notifications stay as history; unsent ones die.
func (d *DB) DeleteAlertChannel(ctx context.Context, v Viewer, id int64) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var project int64
		if err := tx.QueryRowContext(ctx, `SELECT project_id FROM alert_channels WHERE id = $1`, id).Scan(&project); err != nil {
			return notFound(err)
		}
		if err := d.projectAdmin(ctx, tx, v, project, true); err != nil {
			return err
		}
		for _, table := range []string{"alert_rules", "alert_channel_optouts"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE channel_id = $1`, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_channels WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete alert channel %d: %w", id, err)
	}
	return nil
}

const ruleCols = `id, project_id, channel_id, rule_type, threshold, window_minutes, min_level, environment, enabled, created_at`

func scanRule(row scanner) (AlertRule, error) {
	var (
		r  AlertRule
		at int64
	)
	err := row.Scan(&r.ID, &r.ProjectID, &r.ChannelID, &r.Type, &r.Threshold, &r.WindowMinutes, &r.MinLevel, &r.Environment, &r.Enabled, &at)
	r.CreatedAt = fromMillis(at)
	return r, err
}

// ListAlertRules returns a project's rules, oldest first.
func (d *DB) ListAlertRules(ctx context.Context, v Viewer, projectID int64) ([]AlertRule, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: alert rules of project %d: %w", projectID, err)
	}
	return queryRules(ctx, d.db, `SELECT `+ruleCols+` FROM alert_rules WHERE project_id = $1 ORDER BY id`, projectID)
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryRules(ctx context.Context, db queryer, q string, args ...any) ([]AlertRule, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alert rules: %w", err)
	}
	defer rows.Close()
	out := []AlertRule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetAlertRule returns a rule v may see.
func (d *DB) GetAlertRule(ctx context.Context, v Viewer, id int64) (AlertRule, error) {
	var q query
	q.add(`SELECT `+ruleCols+` FROM alert_rules r WHERE r.id = `, q.arg(id), ` AND `, q.visible(v, "r.project_id"))
	r, err := scanRule(d.db.QueryRowContext(ctx, q.sql(), q.args...))
	if err != nil {
		return AlertRule{}, fmt.Errorf("store: alert rule %d: %w", id, notFound(err))
	}
	return r, nil
}

// PutAlertRule creates r (ID 0) or replaces the rule with r's ID; the project's
// admins only. Its channel must belong to its project.
func (d *DB) PutAlertRule(ctx context.Context, v Viewer, r AlertRule) (AlertRule, error) {
	if !ValidRuleType(r.Type) {
		return AlertRule{}, fmt.Errorf("store: alert rule: %w: type %q", ErrInvalid, r.Type)
	}
	r.Environment = truncate(r.Environment, MaxTagLength)
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if r.ID != 0 {
			var project int64
			if err := tx.QueryRowContext(ctx, `SELECT project_id FROM alert_rules WHERE id = $1`, r.ID).Scan(&project); err != nil {
				return notFound(err)
			}
			if r.ProjectID != 0 && r.ProjectID != project {
				return ErrNotFound
			}
			r.ProjectID = project
		}
		if err := d.projectAdmin(ctx, tx, v, r.ProjectID, true); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_channels WHERE id = $1 AND project_id = $2`,
			r.ChannelID, r.ProjectID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: channel %d is not one of the project's", ErrInvalid, r.ChannelID)
		}
		if r.ID == 0 {
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_rules WHERE project_id = $1`, r.ProjectID).Scan(&n); err != nil {
				return err
			}
			if n >= MaxAlertRules {
				return fmt.Errorf("%w: a project has at most %d alert rules; remove one first", ErrInvalid, MaxAlertRules)
			}
			r.CreatedAt = nowUTC()
			return tx.QueryRowContext(ctx, `INSERT INTO alert_rules (project_id, channel_id, rule_type, threshold, window_minutes,
				min_level, environment, enabled, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
				r.ProjectID, r.ChannelID, r.Type, r.Threshold, r.WindowMinutes, r.MinLevel, r.Environment, r.Enabled,
				millis(r.CreatedAt)).Scan(&r.ID)
		}
		var at int64
		err := tx.QueryRowContext(ctx, `UPDATE alert_rules SET channel_id = $2, rule_type = $3, threshold = $4, window_minutes = $5,
			min_level = $6, environment = $7, enabled = $8 WHERE id = $1 RETURNING created_at`,
			r.ID, r.ChannelID, r.Type, r.Threshold, r.WindowMinutes, r.MinLevel, r.Environment, r.Enabled).Scan(&at)
		r.CreatedAt = fromMillis(at)
		return err
	})
	if err != nil {
		return AlertRule{}, fmt.Errorf("store: put alert rule: %w", err)
	}
	return r, nil
}

// DeleteAlertRule removes a rule; the project's admins only.
func (d *DB) DeleteAlertRule(ctx context.Context, v Viewer, id int64) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var project int64
		if err := tx.QueryRowContext(ctx, `SELECT project_id FROM alert_rules WHERE id = $1`, id).Scan(&project); err != nil {
			return notFound(err)
		}
		if err := d.projectAdmin(ctx, tx, v, project, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: delete alert rule %d: %w", id, err)
	}
	return nil
}

// AlertCooldown returns a project's per-issue cooldown.
func (d *DB) AlertCooldown(ctx context.Context, v Viewer, projectID int64) (time.Duration, error) {
	var (
		q       query
		minutes int64
	)
	q.add(`SELECT alert_cooldown_minutes FROM projects p WHERE p.id = `, q.arg(projectID), ` AND `, q.visibleProject(v, projectID))
	if err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&minutes); err != nil {
		return 0, fmt.Errorf("store: alert cooldown of project %d: %w", projectID, notFound(err))
	}
	return time.Duration(minutes) * time.Minute, nil
}

// SetAlertCooldown sets a project's per-issue cooldown, in whole minutes
// of at least one; the project's admins only.
func (d *DB) SetAlertCooldown(ctx context.Context, v Viewer, projectID int64, cooldown time.Duration) error {
	minutes := int64(cooldown / time.Minute)
	if minutes < 1 {
		return fmt.Errorf("store: alert cooldown: %w: at least a minute", ErrInvalid)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := d.projectAdmin(ctx, tx, v, projectID, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE projects SET alert_cooldown_minutes = $2 WHERE id = $1`, projectID, minutes)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: alert cooldown of project %d: %w", projectID, err)
	}
	return nil
}

// SetIssueMuted mutes or unmutes an issue's alerts; the project's admins only. A muted
// issue alerts no rule and sends no digest.
func (d *DB) SetIssueMuted(ctx context.Context, v Viewer, issueID int64, muted bool) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var project int64
		if err := tx.QueryRowContext(ctx, `SELECT project_id FROM issues WHERE id = $1`, issueID).Scan(&project); err != nil {
			return notFound(err)
		}
		if err := d.projectAdmin(ctx, tx, v, project, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO alert_issue_state (issue_id, project_id, muted, window_end, pending, channels)
			VALUES ($1, $2, $3, 0, 0, '[]') ON CONFLICT (issue_id) DO UPDATE SET muted = excluded.muted`, issueID, project, muted)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: mute issue %d: %w", issueID, err)
	}
	return nil
}

// IssueMuted reports whether an issue v may see is muted.
func (d *DB) IssueMuted(ctx context.Context, v Viewer, issueID int64) (bool, error) {
	if err := d.checkIssue(ctx, v, issueID); err != nil {
		return false, err
	}
	var muted bool
	err := d.db.QueryRowContext(ctx, `SELECT muted FROM alert_issue_state WHERE issue_id = $1`, issueID).Scan(&muted)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return muted, err
}

// SetEmailOptOut records whether a user wants no alert email.
func (d *DB) SetEmailOptOut(ctx context.Context, userID int64, optOut bool) error {
	var err error
	if optOut {
		_, err = d.db.ExecContext(ctx, `INSERT INTO alert_email_optouts (user_id, created_at) VALUES ($1, $2)
			ON CONFLICT (user_id) DO NOTHING`, userID, millis(nowUTC()))
	} else {
		// Turning alert email on turns on the channels the user
		// unsubscribed from by an email's link too: the account page is
		// where they can undo that.
		err = d.InTx(ctx, func(tx *sql.Tx) error {
			for _, table := range []string{"alert_email_optouts", "alert_channel_optouts"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, userID); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("store: email opt-out of user %d: %w", userID, err)
	}
	return nil
}

// EmailOptOut reports whether a user opted out of alert email.
func (d *DB) EmailOptOut(ctx context.Context, userID int64) (bool, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_email_optouts WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: email opt-out of user %d: %w", userID, err)
	}
	return n > 0, nil
}

// EmailRecipients returns the addresses of a project's members who did
// not opt out of alert email, sorted. It is for the delivery worker,
// which acts for no user. Members invited who have not set a password
// yet are left out: the address may be mistyped, and its owner could
// not sign in to opt out, so alerts would leak issue details to a
// stranger.
func (d *DB) EmailRecipients(ctx context.Context, projectID int64) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT u.email FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1 AND u.password_hash <> ''
			AND NOT EXISTS (SELECT 1 FROM alert_email_optouts o WHERE o.user_id = u.id)
		ORDER BY u.email_key`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: email recipients of project %d: %w", projectID, err)
	}
	return scanEmails(rows)
}

// ProjectEmailUnsubscribed returns the addresses of a project's members
// unsubscribed from every one of its email channels (UnsubscribeChannel,
// UnsubscribeProjectEmail), sorted: none of its alert email mails them
// until they turn alert email on or an email channel is added. A project
// without an email channel has none.
func (d *DB) ProjectEmailUnsubscribed(ctx context.Context, projectID int64) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT u.email FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1
			AND EXISTS (SELECT 1 FROM alert_channels c WHERE c.project_id = $1 AND c.kind = $2)
			AND NOT EXISTS (SELECT 1 FROM alert_channels c WHERE c.project_id = $1 AND c.kind = $2
				AND NOT EXISTS (SELECT 1 FROM alert_channel_optouts o WHERE o.channel_id = c.id AND o.user_id = u.id))
		ORDER BY u.email_key`, projectID, ChannelEmail)
	if err != nil {
		return nil, fmt.Errorf("store: members of project %d unsubscribed from its email: %w", projectID, err)
	}
	return scanEmails(rows)
}

func scanEmails(rows *sql.Rows) ([]string, error) {
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var e string
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Recipient is a member an email channel mails.
type Recipient struct {
	UserID int64
	Email  string
}

// ChannelRecipients returns the members an email channel mails, by
// address: EmailRecipients' but those who unsubscribed from the channel
// (UnsubscribeChannel). A deleted channel has none.
func (d *DB) ChannelRecipients(ctx context.Context, channelID int64) ([]Recipient, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT u.id, u.email FROM alert_channels c
		JOIN project_members m ON m.project_id = c.project_id JOIN users u ON u.id = m.user_id
		WHERE c.id = $1 AND u.password_hash <> ''
			AND NOT EXISTS (SELECT 1 FROM alert_email_optouts o WHERE o.user_id = u.id)
			AND NOT EXISTS (SELECT 1 FROM alert_channel_optouts o WHERE o.channel_id = c.id AND o.user_id = u.id)
		ORDER BY u.email_key`, channelID)
	if err != nil {
		return nil, fmt.Errorf("store: email recipients of channel %d: %w", channelID, err)
	}
	defer rows.Close()
	out := []Recipient{}
	for rows.Next() {
		var r Recipient
		if err := rows.Scan(&r.UserID, &r.Email); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Unsubscription is what an unsubscribe link names: a member and one of
// their projects' email channels.
type Unsubscription struct {
	ChannelID   int64
	ChannelName string
	ProjectName string
	UserID      int64
	Email       string
	// Done is true when the member is unsubscribed from the channel.
	Done bool
}

// ChannelSubscription returns what an unsubscribe link of channelID and
// userID names; ErrNotFound when the channel is not an email channel any
// more, or the user not a member of its project. It is for the link's
// page, which acts for no signed-in user: the link's signature is the
// authority.
func (d *DB) ChannelSubscription(ctx context.Context, channelID, userID int64) (Unsubscription, error) {
	u := Unsubscription{ChannelID: channelID, UserID: userID}
	err := d.db.QueryRowContext(ctx, `SELECT c.name, p.name, u.email,
		EXISTS (SELECT 1 FROM alert_channel_optouts o WHERE o.channel_id = c.id AND o.user_id = u.id)
		FROM alert_channels c JOIN projects p ON p.id = c.project_id
		JOIN project_members m ON m.project_id = c.project_id JOIN users u ON u.id = m.user_id
		WHERE c.id = $1 AND c.kind = $2 AND u.id = $3`, channelID, ChannelEmail, userID).Scan(&u.ChannelName, &u.ProjectName, &u.Email, &u.Done)
	if err != nil {
		return Unsubscription{}, fmt.Errorf("store: subscription of user %d to channel %d: %w", userID, channelID, notFound(err))
	}
	return u, nil
}

// UnsubscribeChannel stops an email channel mailing a member, as
// ChannelSubscription finds them; doing it again changes nothing.
func (d *DB) UnsubscribeChannel(ctx context.Context, channelID, userID int64) (Unsubscription, error) {
	u, err := d.ChannelSubscription(ctx, channelID, userID)
	if err != nil {
		return Unsubscription{}, err
	}
	if _, err := d.db.ExecContext(ctx, `INSERT INTO alert_channel_optouts (channel_id, user_id, project_id, created_at)
		SELECT id, $2, project_id, $3 FROM alert_channels WHERE id = $1
		ON CONFLICT (channel_id, user_id) DO NOTHING`, channelID, userID, millis(nowUTC())); err != nil {
		return Unsubscription{}, fmt.Errorf("store: unsubscribe user %d from channel %d: %w", userID, channelID, err)
	}
	u.Done = true
	return u, nil
}

// UnsubscribeProjectEmail stops every email channel of a project mailing
// the member with address email, as UnsubscribeChannel does for one: it
// records that they unsubscribed from the project's alert email some
// other way, by the unsubscribe link of SNS's email (notify.SNSSync). It
// returns how many channels it unsubscribed them from, 0 when the project
// has no email channel they were still on or email is no member's of it.
// Turning alert email on on the account page undoes it (SetEmailOptOut);
// ProjectEmailUnsubscribed lists them meanwhile.
func (d *DB) UnsubscribeProjectEmail(ctx context.Context, projectID int64, email string) (int, error) {
	res, err := d.db.ExecContext(ctx, `INSERT INTO alert_channel_optouts (channel_id, user_id, project_id, created_at)
		SELECT c.id, u.id, c.project_id, $4 FROM alert_channels c
			JOIN project_members m ON m.project_id = c.project_id JOIN users u ON u.id = m.user_id
			WHERE c.project_id = $1 AND c.kind = $2 AND u.email_key = $3
		ON CONFLICT (channel_id, user_id) DO NOTHING`, projectID, ChannelEmail, emailKey(email), millis(nowUTC()))
	if err != nil {
		return 0, fmt.Errorf("store: unsubscribe %s from the email of project %d: %w", email, projectID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: unsubscribe %s from the email of project %d: %w", email, projectID, err)
	}
	return int(n), nil
}

// OptOut is a member of a project whom some of its email alerts do not
// reach.
type OptOut struct {
	Email string
	// ChannelID is the email channel the member unsubscribed from by an
	// email's link, or 0 when they turned alert email off on their
	// account, which stops every channel.
	ChannelID int64
	// NoPassword says the member was invited and has not set a password
	// yet, which no email channel mails (EmailRecipients); Since is when
	// they were added to the project.
	NoPassword bool
	Since      time.Time
}

// EmailOptOuts returns the members of project projectID, which v must
// see, who turned alert email off, unsubscribed from one of its email
// channels, or have not set a password yet, by email and then channel (0
// first), so that the project's admins can tell why an alert did not
// reach someone.
func (d *DB) EmailOptOuts(ctx context.Context, v Viewer, projectID int64) ([]OptOut, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: email opt-outs of project %d: %w", projectID, err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT u.email_key, u.email, 0, 0, o.created_at FROM project_members m
			JOIN users u ON u.id = m.user_id JOIN alert_email_optouts o ON o.user_id = u.id
			WHERE m.project_id = $1
		UNION ALL
		SELECT u.email_key, u.email, o.channel_id, 0, o.created_at FROM alert_channel_optouts o
			JOIN project_members m ON m.project_id = o.project_id AND m.user_id = o.user_id
			JOIN users u ON u.id = o.user_id
			WHERE o.project_id = $1
		UNION ALL
		SELECT u.email_key, u.email, 0, 1, m.created_at FROM project_members m
			JOIN users u ON u.id = m.user_id
			WHERE m.project_id = $1 AND u.password_hash = ''
		ORDER BY 1, 3, 4`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: email opt-outs of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []OptOut{}
	for rows.Next() {
		var (
			o       OptOut
			key     string
			pending int
			at      int64
		)
		if err := rows.Scan(&key, &o.Email, &o.ChannelID, &pending, &at); err != nil {
			return nil, err
		}
		o.NoPassword, o.Since = pending == 1, fromMillis(at)
		out = append(out, o)
	}
	return out, rows.Err()
}

// AlertHook returns the TxHook that writes a batch's notifications into
// the outbox, in the save transaction: they commit with the events that
// cause them or not at all. now is the clock (nil: time.Now).
//
// Per issue, a muted or ignored issue writes nothing, nor counts its
// events towards a digest: they are not summed into one sent when it is
// unmuted or unignored. Neither does a resolved issue whose events leave
// it resolved (an older release's). Otherwise each enabled rule of
// the project whose level and environment filters keep one of the
// issue's events fires at most once per batch: new_issue on the event
// that created the issue (with an environment, on the issue's first
// event there), regression on the one that reopened it,
// frequency when the issue's events of the last WindowMinutes (by
// arrival) number more than Threshold. A new issue or a regression
// alerts at once; a frequency rule does not while the issue is in its
// cooldown window, unless its channel is not among those the window's
// alerts reached. An alert opens the window (the project's cooldown);
// events of the issue during the window, or before a due digest went
// out, are summed into the issue's next digest (QueueDigests).
func (d *DB) AlertHook(now func() time.Time) TxHook {
	if now == nil {
		now = time.Now
	}
	return func(ctx context.Context, tx *sql.Tx, results []SaveResult) error {
		return d.writeAlerts(ctx, tx, results, now())
	}
}

// issueAlertState is an alert_issue_state row.
type issueAlertState struct {
	muted     bool
	windowEnd int64
	pending   int64
	// channels are those the window's alerts reached, which its digest
	// goes to.
	channels []int64
}

// firing is a rule that fired on one result of a batch; window is, for a
// frequency rule, the events of its window.
type firing struct {
	rule   AlertRule
	res    int
	window int64
}

func (d *DB) writeAlerts(ctx context.Context, tx *sql.Tx, results []SaveResult, now time.Time) error {
	byIssue := make(map[int64][]int)
	projectOf := make(map[int64]int64)
	for i, r := range results {
		if r.Duplicate || r.IssueID == 0 {
			continue
		}
		byIssue[r.IssueID] = append(byIssue[r.IssueID], i)
		projectOf[r.IssueID] = r.ProjectID
	}
	if len(byIssue) == 0 {
		return nil
	}
	issues := slices.Sorted(maps.Keys(byIssue))
	projects := slices.Sorted(maps.Keys(invert(projectOf)))
	rules, cooldown, err := d.alertConfig(ctx, tx, projects)
	if err != nil {
		return err
	}
	states, err := d.alertStates(ctx, tx, issues)
	if err != nil {
		return err
	}
	// Every channel a new issue may alert is locked up front, in ID
	// order: holdBurst locks it, and a batch locking its channels as its
	// issues came could deadlock with one that met them in another order.
	if err := d.lockChannels(ctx, tx, newIssueChannels(rules, results)); err != nil {
		return err
	}
	nowMs := millis(now)
	// Most issues of a busy batch only add to the pending count of their
	// window: that statement is prepared once, on first use, so SQLite
	// parses it once a batch instead of once an issue.
	var addPending *sql.Stmt
	defer func() {
		if addPending != nil {
			addPending.Close()
		}
	}()
	var owe owedWriter
	defer owe.close()
	for _, issue := range issues {
		idx := byIssue[issue]
		project := projectOf[issue]
		st, hasState := states[issue]
		// An ignored issue stays ignored when seen again, so its last
		// result says so; a new issue or a regression never is. Nor do
		// a resolved issue's events that leave it resolved (an older
		// release's) alert, as Sentry applies rules to unresolved
		// issues only: the fix is out, old clients are still sending.
		if last := results[idx[len(idx)-1]].Status; st.muted || last == StatusIgnored || last == StatusResolved {
			continue
		}
		fires, err := fire(ctx, tx, rules[project], results, idx, issue, now)
		if err != nil {
			return err
		}
		// A window whose digest is due but not yet written (the alerts
		// job runs every few seconds) is still open: an alert that
		// started a new one here would take the digest's events and
		// channels with it, and a busy issue fires its frequency rules
		// right at that moment.
		inWindow := hasState && (nowMs < st.windowEnd || st.pending > 0)
		if inWindow {
			// The window holds back frequency rules only on the channels
			// its alerts reached, whose digest will tell them: a spike
			// rule on Slack must not stay silent because a new-issue
			// email opened the window.
			fires = slices.DeleteFunc(fires, func(f firing) bool {
				return f.rule.Type == RuleFrequency && slices.Contains(st.channels, f.rule.ChannelID)
			})
		}
		urgent := false
		last := -1
		for _, f := range fires {
			urgent = urgent || f.rule.Type != RuleFrequency
			last = max(last, slices.Index(idx, f.res))
		}
		if len(fires) > 0 {
			reached, err := d.insertAlertNotifications(ctx, tx, results, fires, nowMs)
			if err != nil {
				return err
			}
			var channels []int64
			if inWindow {
				// The channels already in the window keep their digest.
				channels = slices.Clone(st.channels)
			}
			for _, c := range reached {
				if !slices.Contains(channels, c) {
					channels = append(channels, c)
				}
			}
			list, err := json.Marshal(channels)
			if err != nil {
				return err
			}
			// A channel an alert just reached is owed the events after
			// the one it quoted; one the window had already, and did not
			// reach now, keeps its count and is owed this batch too.
			owed := owedTo(rules[project], reached, results, idx[last+1:])
			var kept []int64
			if inWindow {
				kept = slices.DeleteFunc(slices.Clone(st.channels), func(c int64) bool { return slices.Contains(reached, c) })
				maps.Copy(owed, owedTo(rules[project], kept, results, idx))
			}
			if !urgent && inWindow {
				// Frequency alerts to channels new to the window: the
				// window runs on, and its digest sums these events too,
				// for the channels it already had.
				if _, err := tx.ExecContext(ctx, `UPDATE alert_issue_state SET pending = pending + $2, channels = $3 WHERE issue_id = $1`,
					issue, len(idx), string(list)); err != nil {
					return err
				}
				if err := owe.add(ctx, tx, issue, owed); err != nil {
					return err
				}
				continue
			}
			// pending only says whether the window has had events since
			// it opened; what each channel is owed is alert_digest_owed's.
			pending := int64(len(idx) - last - 1)
			if len(kept) > 0 {
				pending = st.pending + int64(len(idx))
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_issue_state (issue_id, project_id, muted, window_end, pending, channels)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (issue_id) DO UPDATE SET
				window_end = excluded.window_end, pending = excluded.pending, channels = excluded.channels`,
				issue, project, false, nowMs+cooldown[project].Milliseconds(), pending, string(list)); err != nil {
				return err
			}
			if err := owe.reset(ctx, tx, issue, kept); err != nil {
				return err
			}
			if err := owe.add(ctx, tx, issue, owed); err != nil {
				return err
			}
			continue
		}
		if hasState && (inWindow || st.pending > 0) {
			if addPending == nil {
				if addPending, err = d.prepareTx(ctx, tx, `UPDATE alert_issue_state SET pending = pending + $2 WHERE issue_id = $1`); err != nil {
					return err
				}
			}
			if _, err := addPending.ExecContext(ctx, issue, len(idx)); err != nil {
				return err
			}
			if err := owe.add(ctx, tx, issue, owedTo(rules[project], st.channels, results, idx)); err != nil {
				return err
			}
		}
	}
	return nil
}

// passes reports whether r passes rule's level and environment filters.
func passes(rule AlertRule, r *SaveResult) bool {
	if rule.MinLevel != "" && severity(r.EventLevel) < severity(rule.MinLevel) {
		return false
	}
	return rule.Environment == "" || rule.Environment == r.Environment
}

// owing is what an issue owes a channel's digest: n events, the latest
// of them event, which the digest quotes.
type owing struct {
	n     int64
	event string
}

// owedTo returns, for each of channels, how many of the results idx one
// of the channel's rules keeps by its level and environment filters, and
// the last of them: the events the channel's digest tells of. A
// production-only channel is not sent "still happening" about staging's
// events, and a channel whose rules were all deleted or turned off since
// is owed none.
func owedTo(rules []AlertRule, channels []int64, results []SaveResult, idx []int) map[int64]owing {
	out := make(map[int64]owing, len(channels))
	for _, c := range channels {
		for _, i := range idx {
			for _, rule := range rules {
				if rule.ChannelID == c && passes(rule, &results[i]) {
					out[c] = owing{n: out[c].n + 1, event: results[i].EventID}
					break
				}
			}
		}
	}
	return out
}

// owedWriter adds to alert_digest_owed with a statement prepared once a
// batch. Its rows are written after the issue's alert_issue_state row,
// whose lock (PostgreSQL) orders them against QueueDigests and merges.
type owedWriter struct{ stmt *sql.Stmt }

// add adds owed's counts to the issue's channels.
func (w *owedWriter) add(ctx context.Context, tx *sql.Tx, issue int64, owed map[int64]owing) error {
	for _, c := range slices.Sorted(maps.Keys(owed)) {
		if owed[c].n == 0 {
			continue
		}
		if w.stmt == nil {
			var err error
			if w.stmt, err = tx.PrepareContext(ctx, `INSERT INTO alert_digest_owed (issue_id, channel_id, owed, event_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT (issue_id, channel_id) DO UPDATE SET owed = alert_digest_owed.owed + excluded.owed, event_id = excluded.event_id`); err != nil {
				return err
			}
		}
		if _, err := w.stmt.ExecContext(ctx, issue, c, owed[c].n, owed[c].event); err != nil {
			return err
		}
	}
	return nil
}

// reset clears what the issue owes every channel but those of keep.
func (w *owedWriter) reset(ctx context.Context, tx *sql.Tx, issue int64, keep []int64) error {
	var q query
	q.add(`DELETE FROM alert_digest_owed WHERE issue_id = `, q.arg(issue))
	if len(keep) > 0 {
		q.add(` AND channel_id NOT IN (`, q.list(keep), `)`)
	}
	_, err := tx.ExecContext(ctx, q.sql(), q.args...)
	return err
}

func (w *owedWriter) close() {
	if w.stmt != nil {
		w.stmt.Close()
	}
}

// newIssueChannels returns, sorted, the channels of the new-issue rules
// of the projects that results made a new issue in, or saw an issue in an
// environment for the first time.
func newIssueChannels(rules map[int64][]AlertRule, results []SaveResult) []int64 {
	var out []int64
	for _, r := range results {
		if !r.NewIssue && !r.NewInEnvironment {
			continue
		}
		for _, rule := range rules[r.ProjectID] {
			if rule.Type == RuleNewIssue && !slices.Contains(out, rule.ChannelID) {
				out = append(out, rule.ChannelID)
			}
		}
	}
	slices.Sort(out)
	return out
}

func invert(m map[int64]int64) map[int64]bool {
	out := make(map[int64]bool, len(m))
	for _, v := range m {
		out[v] = true
	}
	return out
}

// alertConfig reads the enabled rules and the cooldown of projects.
func (d *DB) alertConfig(ctx context.Context, tx *sql.Tx, projects []int64) (map[int64][]AlertRule, map[int64]time.Duration, error) {
	q := d.query()
	q.add(`SELECT `+ruleCols+` FROM alert_rules WHERE enabled = `, q.arg(true), ` AND project_id IN (`, q.list(projects), `) ORDER BY id`)
	list, err := queryRules(ctx, cachedTx{d, tx}, q.sql(), q.args...)
	if err != nil {
		return nil, nil, err
	}
	rules := make(map[int64][]AlertRule)
	for _, r := range list {
		rules[r.ProjectID] = append(rules[r.ProjectID], r)
	}
	q = d.query()
	q.add(`SELECT id, alert_cooldown_minutes FROM projects WHERE id IN (`, q.list(projects), `)`)
	rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	cooldown := make(map[int64]time.Duration)
	for rows.Next() {
		var id, minutes int64
		if err := rows.Scan(&id, &minutes); err != nil {
			return nil, nil, err
		}
		cooldown[id] = time.Duration(minutes) * time.Minute
	}
	return rules, cooldown, rows.Err()
}

// alertStates reads the alert state of issues that have one.
func (d *DB) alertStates(ctx context.Context, tx *sql.Tx, issues []int64) (map[int64]issueAlertState, error) {
	states := make(map[int64]issueAlertState)
	err := d.eachChunk(len(issues), func(from, to int) error {
		q := d.query()
		q.add(`SELECT issue_id, muted, window_end, pending, channels FROM alert_issue_state WHERE issue_id IN (`, q.list(issues[from:to]), `)`)
		rows, err := d.queryTx(ctx, tx, q.sql(), q.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				id       int64
				st       issueAlertState
				channels string
			)
			if err := rows.Scan(&id, &st.muted, &st.windowEnd, &st.pending, &channels); err != nil {
				return err
			}
			if channels != "" {
				if err := json.Unmarshal([]byte(channels), &st.channels); err != nil {
					return fmt.Errorf("issue %d: channels %q: %w", id, channels, err)
				}
			}
			states[id] = st
		}
		return rows.Err()
	})
	return states, err
}

// fire returns the rules that fire on an issue's results idx, each once,
// on the first result that makes it fire.
func fire(ctx context.Context, tx *sql.Tx, rules []AlertRule, results []SaveResult, idx []int, issue int64, now time.Time) ([]firing, error) {
	var fires []firing
	recent := make(map[int64]int64) // window minutes → events
	for _, rule := range rules {
		order := idx
		if rule.Type == RuleFrequency {
			// The window counts the whole batch, so the alert is of
			// the batch's last event, whose issue count includes the
			// events that crossed the threshold.
			order = slices.Clone(idx)
			slices.Reverse(order)
		}
		for _, i := range order {
			r := &results[i]
			if !passes(rule, r) {
				continue
			}
			ok, window := false, int64(0)
			switch rule.Type {
			case RuleNewIssue:
				// Of an environment, as in Sentry: the issue is new
				// there, so an issue first seen in staging still
				// alerts a production rule when it reaches production.
				ok = r.NewIssue || rule.Environment != "" && r.NewInEnvironment
			case RuleRegression:
				ok = r.Regression
			case RuleFrequency:
				n, seen := recent[rule.WindowMinutes]
				if !seen {
					since := now.Add(-time.Duration(rule.WindowMinutes) * time.Minute).Truncate(time.Minute)
					if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(count), 0) FROM issue_minute_counts
						WHERE issue_id = $1 AND minute >= $2`, issue, millis(since)).Scan(&n); err != nil {
						return nil, err
					}
					recent[rule.WindowMinutes] = n
				}
				ok, window = n > rule.Threshold, n
			}
			if ok {
				fires = append(fires, firing{rule: rule, res: i, window: window})
				break
			}
		}
	}
	return fires, nil
}

// insertAlertNotifications writes one notification per firing rule's
// channel and returns the channels it reached, which the issue's digest
// goes to (a new-issue alert held back by a burst reaches none).
func (d *DB) insertAlertNotifications(ctx context.Context, tx *sql.Tx, results []SaveResult, fires []firing, nowMs int64) ([]int64, error) {
	var channels []int64
	for _, f := range fires {
		r := results[f.res]
		p := AlertPayload{ProjectID: r.ProjectID, IssueID: r.IssueID, Title: r.EventTitle, IssueTitle: r.Title,
			Culprit: r.EventCulprit, Level: r.EventLevel, Status: r.Status, Count: r.Count, UserCount: r.UserCount, Environment: r.Environment, Release: r.Release,
			EventID: r.EventID, At: fromMillis(nowMs)}
		if f.rule.Type == RuleFrequency {
			p.WindowEvents, p.WindowMinutes = f.window, f.rule.WindowMinutes
		}
		if f.rule.Type == RuleNewIssue {
			held, err := d.holdNewIssue(ctx, tx, f.rule, p, nowMs)
			if err != nil {
				return nil, err
			}
			if held {
				// Nor does the issue's digest go to the channel: it
				// was never told of the issue.
				continue
			}
		}
		key := f.rule.Type + ":" + strconv.FormatInt(r.IssueID, 10) + ":" + strconv.FormatInt(f.rule.ChannelID, 10) + ":" + r.EventID
		if err := insertNotification(ctx, tx, f.rule.ID, f.rule.ChannelID, f.rule.Type, key, p, nowMs); err != nil {
			return nil, err
		}
		if !slices.Contains(channels, f.rule.ChannelID) {
			channels = append(channels, f.rule.ChannelID)
		}
	}
	return channels, nil
}

// holdNewIssue counts the new issue p into its channel's
// ReasonNewIssuesHeld notification, and reports true, when the channel
// has had NewIssueBurst new-issue alerts within NewIssueBurstWindow.
func (d *DB) holdNewIssue(ctx context.Context, tx *sql.Tx, rule AlertRule, p AlertPayload, nowMs int64) (bool, error) {
	return d.holdBurst(ctx, tx, rule.ID, rule.ChannelID, []string{RuleNewIssue}, ReasonNewIssuesHeld, p, nowMs)
}

// holdBurst counts the alert p into the channel's held notification of
// reason held, and reports true, when the channel has had NewIssueBurst
// notifications of the reasons counted within NewIssueBurstWindow. The
// held notification is one per channel and window-long bucket of the
// clock, due when the bucket ends, and names the latest alert held.
//
// On PostgreSQL it holds the channel's lock (lockChannels) until the
// commit: without it, processors counting the channel's alerts side by
// side each found room for one more (QA: 23 to 25 alerts in a window of
// 20). The held notification is counted into under its row lock, so a
// concurrent count is never lost, nor is its key inserted twice.
func (d *DB) holdBurst(ctx context.Context, tx *sql.Tx, ruleID, channelID int64, counted []string, held string, p AlertPayload, nowMs int64) (bool, error) {
	if err := d.lockChannels(ctx, tx, []int64{channelID}); err != nil {
		return false, err
	}
	window := NewIssueBurstWindow.Milliseconds()
	args := []any{channelID, nowMs - window}
	ph := make([]string, len(counted))
	for i, r := range counted {
		args = append(args, r)
		ph[i] = "$" + strconv.Itoa(len(args))
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_notifications
		WHERE channel_id = $1 AND created_at > $2 AND reason IN (`+strings.Join(ph, ", ")+`)`, args...).Scan(&n); err != nil {
		return false, err
	}
	if n < NewIssueBurst {
		return false, nil
	}
	bucket := nowMs / window * window
	key := held + ":" + strconv.FormatInt(channelID, 10) + ":" + strconv.FormatInt(bucket, 10)
	p.Held = 1
	payload, err := p.encode()
	if err != nil {
		return false, err
	}
	// Due when the bucket ends, with every alert held until then.
	res, err := tx.ExecContext(ctx, `INSERT INTO alert_notifications (project_id, issue_id, rule_id, channel_id, reason,
		idempotency_key, payload, status, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, 0, '', $10, 0) ON CONFLICT (idempotency_key) DO NOTHING`,
		p.ProjectID, p.IssueID, ruleID, channelID, held, key, string(payload), NotificationPending, bucket+window, nowMs)
	if err != nil {
		return false, err
	}
	if inserted, err := res.RowsAffected(); err != nil || inserted == 1 {
		return true, err
	}
	var raw string
	if err := tx.QueryRowContext(ctx, `SELECT payload FROM alert_notifications WHERE idempotency_key = $1`+d.forUpdate(), key).Scan(&raw); err != nil {
		return false, err
	}
	var prev AlertPayload
	if err := json.Unmarshal([]byte(raw), &prev); err != nil {
		return false, fmt.Errorf("held notification %s: %w", key, err)
	}
	p.Held = prev.Held + 1
	if payload, err = p.encode(); err != nil {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE alert_notifications SET payload = $2, issue_id = $3 WHERE idempotency_key = $1`,
		key, string(payload), p.IssueID)
	return true, err
}

// lockChannels takes, on PostgreSQL, the lock of each channel of
// channels, in order, until the commit: holdBurst's, which makes the
// transactions counting a channel's recent alerts do so one at a time. A
// lock the transaction holds already is taken again without waiting.
// SQLite needs none: its transactions run one at a time.
func (d *DB) lockChannels(ctx context.Context, tx *sql.Tx, channels []int64) error {
	if d.dialect != DialectPostgres {
		return nil
	}
	for _, c := range channels {
		if err := lockPair(ctx, tx, burstLockKey, c); err != nil {
			return err
		}
	}
	return nil
}

// insertNotification writes one outbox row; a key already written (the
// same alert written twice) is left alone.
func insertNotification(ctx context.Context, db dbtx, ruleID, channelID int64, reason, key string, p AlertPayload, nowMs int64) error {
	payload, err := p.encode()
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO alert_notifications (project_id, issue_id, rule_id, channel_id, reason, idempotency_key,
		payload, status, attempts, next_attempt_at, lease_until, last_error, created_at, sent_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, 0, '', $9, 0) ON CONFLICT (idempotency_key) DO NOTHING`,
		p.ProjectID, p.IssueID, ruleID, channelID, reason, key, string(payload), NotificationPending, nowMs)
	return err
}

// list records ids and returns their placeholders, comma-separated.
func (q *query) list(ids []int64) string {
	ph := make([]string, len(ids))
	for i, id := range ids {
		ph[i] = q.arg(id)
	}
	return strings.Join(ph, ", ")
}

// skipLocked is the suffix that lets PostgreSQL workers claim rows others
// have not locked; SQLite's single writer needs none.
func (d *DB) skipLocked() string {
	if d.dialect == DialectPostgres {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// QueueDigests writes the digests that are due: for each issue whose
// cooldown window ended with events since its last message, one
// notification per channel of its last alert, summing them; the issue's
// window then starts again. A muted, ignored or resolved issue's due
// events are dropped instead, so unmuting or unignoring it sends no digest of what
// came before. It returns how many issues got a digest. Run
// by several processes at once, each digest is written once.
func (d *DB) QueueDigests(ctx context.Context, now time.Time) (int, error) {
	nowMs := millis(now)
	// Most runs find nothing: look before taking SQLite's write lock.
	if due, err := d.any(ctx, `SELECT 1 FROM alert_issue_state WHERE pending > 0 AND window_end <= $1 LIMIT 1`, nowMs); err != nil || !due {
		return 0, err
	}
	n := 0
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		n = 0 // InTx may run it again
		rows, err := tx.QueryContext(ctx, `SELECT s.issue_id, s.project_id, s.pending, s.channels, s.window_end, s.muted
			FROM alert_issue_state s WHERE s.pending > 0 AND s.window_end <= $1
			ORDER BY s.issue_id LIMIT 100`+d.skipLocked(), nowMs)
		if err != nil {
			return err
		}
		type due struct {
			issue, project, pending, windowEnd int64
			channels                           string
			muted                              bool
		}
		var dues []due
		for rows.Next() {
			var x due
			if err := rows.Scan(&x.issue, &x.project, &x.pending, &x.channels, &x.windowEnd, &x.muted); err != nil {
				rows.Close()
				return err
			}
			dues = append(dues, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, x := range dues {
			var (
				p        = AlertPayload{ProjectID: x.project, IssueID: x.issue, At: now.UTC()}
				cooldown int64
				channels []int64
			)
			// The environment is the latest event's, as a new-issue
			// alert's is its event's; each channel's digest quotes the
			// latest event it is owed for (quoteOwed).
			err := tx.QueryRowContext(ctx, `SELECT i.title, i.culprit, i.level, i.status, i.count, i.user_count, i.last_release,
				i.latest_event_id, p.alert_cooldown_minutes,
				COALESCE((SELECT e.environment FROM events e WHERE e.event_id = i.latest_event_id AND e.project_id = i.project_id), '')
				FROM issues i JOIN projects p ON p.id = i.project_id WHERE i.id = $1`,
				x.issue).Scan(&p.IssueTitle, &p.Culprit, &p.Level, &p.Status, &p.Count, &p.UserCount, &p.Release, &p.EventID, &cooldown, &p.Environment)
			if errors.Is(err, sql.ErrNoRows) {
				// The issue was deleted: nothing to sum up.
				for _, table := range []string{"alert_digest_owed", "alert_issue_state"} {
					if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE issue_id = $1`, x.issue); err != nil {
						return err
					}
				}
				continue
			}
			if err != nil {
				return err
			}
			// The issue's title is its latest event's, the one quoted.
			p.Title = p.IssueTitle
			// Resolved since: whoever resolved it saw it, and its
			// events to come either reopen it, which alerts, or are an
			// older release's.
			owed, err := takeOwed(ctx, tx, x.issue)
			if err != nil {
				return err
			}
			if x.muted || p.Status == StatusIgnored || p.Status == StatusResolved {
				if _, err := tx.ExecContext(ctx, `UPDATE alert_issue_state SET pending = pending - $2 WHERE issue_id = $1`,
					x.issue, x.pending); err != nil {
					return err
				}
				continue
			}
			if err := json.Unmarshal([]byte(x.channels), &channels); err != nil {
				return fmt.Errorf("issue %d: channels %q: %w", x.issue, x.channels, err)
			}
			sent := false
			for _, c := range channels {
				// A channel none of whose rules kept an event of the
				// window is owed no digest.
				if owed[c].n <= 0 {
					continue
				}
				pc, err := quoteOwed(ctx, tx, p, owed[c].event)
				if err != nil {
					return err
				}
				pc.Events = owed[c].n
				key := ReasonDigest + ":" + strconv.FormatInt(x.issue, 10) + ":" + strconv.FormatInt(c, 10) + ":" + strconv.FormatInt(x.windowEnd, 10)
				if err := insertNotification(ctx, tx, 0, c, ReasonDigest, key, pc, nowMs); err != nil {
					return err
				}
				sent = true
			}
			// A window that told nobody anything ends the chain, as one
			// without events does: the next alert opens a window.
			windowEnd := x.windowEnd
			if sent {
				windowEnd = nowMs + cooldown*time.Minute.Milliseconds()
				n++
			}
			if _, err := tx.ExecContext(ctx, `UPDATE alert_issue_state SET pending = pending - $2, window_end = $3 WHERE issue_id = $1`,
				x.issue, x.pending, windowEnd); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: queue digests: %w", err)
	}
	return n, nil
}

// takeOwed returns what an issue's digest owes each channel, taking it
// off alert_digest_owed: the counts read are subtracted, not the rows
// deleted, so events a processor added meanwhile are owed still.
func takeOwed(ctx context.Context, tx *sql.Tx, issue int64) (map[int64]owing, error) {
	rows, err := tx.QueryContext(ctx, `SELECT channel_id, owed, event_id FROM alert_digest_owed WHERE issue_id = $1 ORDER BY channel_id`, issue)
	if err != nil {
		return nil, err
	}
	owed := make(map[int64]owing)
	for rows.Next() {
		var (
			c int64
			o owing
		)
		if err := rows.Scan(&c, &o.n, &o.event); err != nil {
			rows.Close()
			return nil, err
		}
		owed[c] = o
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range slices.Sorted(maps.Keys(owed)) {
		if _, err := tx.ExecContext(ctx, `UPDATE alert_digest_owed SET owed = owed - $3 WHERE issue_id = $1 AND channel_id = $2`,
			issue, c, owed[c].n); err != nil {
			return nil, err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM alert_digest_owed WHERE issue_id = $1 AND owed <= 0`, issue)
	return owed, err
}

// quoteOwed returns p quoting the event a channel's digest is owed for
// when it is not p's (the issue's latest) and is still stored: its title,
// level, environment and release. Else p as it is.
func quoteOwed(ctx context.Context, tx *sql.Tx, p AlertPayload, event string) (AlertPayload, error) {
	if event == "" || event == p.EventID {
		return p, nil
	}
	q := p
	err := tx.QueryRowContext(ctx, `SELECT title, level, environment, release_name FROM events WHERE event_id = $1 AND project_id = $2`,
		event, p.ProjectID).Scan(&q.Title, &q.Level, &q.Environment, &q.Release)
	if errors.Is(err, sql.ErrNoRows) {
		// Pruned since: the issue's latest stands in.
		return p, nil
	}
	q.EventID = event
	return q, err
}

// any reports whether q returns a row.
func (d *DB) any(ctx context.Context, q string, args ...any) (bool, error) {
	var one int
	err := d.db.QueryRowContext(ctx, q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	return true, nil
}

// QueueTestNotification writes a test message for a channel; the project's admins only.
func (d *DB) QueueTestNotification(ctx context.Context, v Viewer, channelID int64, now time.Time) (Notification, error) {
	var n Notification
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var project int64
		if err := tx.QueryRowContext(ctx, `SELECT project_id FROM alert_channels WHERE id = $1`, channelID).Scan(&project); err != nil {
			return notFound(err)
		}
		if err := d.projectAdmin(ctx, tx, v, project, true); err != nil {
			return err
		}
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		key := ReasonTest + ":" + strconv.FormatInt(channelID, 10) + ":" + hex.EncodeToString(b)
		p := AlertPayload{ProjectID: project, Title: "Test alert from Flytrap", Culprit: "This is what an alert looks like",
			Level: "info", Status: StatusUnresolved, At: now.UTC()}
		if err := insertNotification(ctx, tx, 0, channelID, ReasonTest, key, p, millis(now)); err != nil {
			return err
		}
		var err error
		n, err = notificationByKey(ctx, tx, key)
		return err
	})
	if err != nil {
		return Notification{}, fmt.Errorf("store: test notification for channel %d: %w", channelID, err)
	}
	return n, nil
}

const notificationCols = `n.id, n.project_id, n.issue_id, n.rule_id, n.channel_id, COALESCE(c.name, ''), n.reason, n.idempotency_key,
	n.payload, n.status, n.attempts, n.last_error, n.next_attempt_at, n.created_at, n.sent_at`

func scanNotification(row scanner) (Notification, error) { return scanNotificationWith(row) }

func notificationByKey(ctx context.Context, tx *sql.Tx, key string) (Notification, error) {
	return scanNotification(tx.QueryRowContext(ctx, `SELECT `+notificationCols+` FROM alert_notifications n
		LEFT JOIN alert_channels c ON c.id = n.channel_id WHERE n.idempotency_key = $1`, key))
}

// ListNotifications returns a project's latest notifications, newest
// first, at most limit (1 to 200, default 50).
func (d *DB) ListNotifications(ctx context.Context, v Viewer, projectID int64, limit int) ([]Notification, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: notifications of project %d: %w", projectID, err)
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+notificationCols+`,
		n.issue_id <> 0 AND NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = n.issue_id)
		FROM alert_notifications n
		LEFT JOIN alert_channels c ON c.id = n.channel_id WHERE n.project_id = $1 ORDER BY n.id DESC LIMIT $2`, projectID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: notifications of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		var n Notification
		if err := scanNotificationInto(rows, &n, &n.IssueDeleted); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// ClaimNotifications hands out up to limit notifications that are due
// (pending and past their next attempt) or whose claim's lease ran out,
// oldest first, holding them for lease. Several processes claiming at
// once never get the same row: PostgreSQL skips rows another claim has
// locked, and a claimed row is not due again until its lease ends. Each
// claim counts an attempt, but its attempt row is written only when its
// send starts (StartNotification): a claim that ran out before starting
// sent nothing.
func (d *DB) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ClaimedNotification, error) {
	nowMs := millis(now)
	if due, err := d.any(ctx, `SELECT 1 FROM alert_notifications WHERE (status = $1 AND next_attempt_at <= $3)
		OR (status = $2 AND lease_until <= $3) LIMIT 1`, NotificationPending, NotificationSending, nowMs); err != nil || !due {
		return nil, err
	}
	var out []ClaimedNotification
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, status, attempts FROM alert_notifications
			WHERE (status = $1 AND next_attempt_at <= $3) OR (status = $2 AND lease_until <= $3)
			ORDER BY id LIMIT $4`+d.skipLocked(), NotificationPending, NotificationSending, nowMs, limit)
		if err != nil {
			return err
		}
		type claim struct {
			id       int64
			attempts int
			expired  bool
		}
		var claims []claim
		for rows.Next() {
			var (
				c      claim
				status string
			)
			if err := rows.Scan(&c.id, &status, &c.attempts); err != nil {
				rows.Close()
				return err
			}
			c.expired = status == NotificationSending
			claims = append(claims, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range claims {
			cl := ClaimedNotification{}
			if c.expired {
				// Only a claim whose send started may have sent the message.
				var started int
				err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alert_attempts WHERE notification_id = $1 AND attempt = $2`,
					c.id, c.attempts).Scan(&started)
				if err != nil {
					return err
				}
				cl.Resend = started > 0
			}
			if _, err := tx.ExecContext(ctx, `UPDATE alert_notifications SET status = $2, attempts = attempts + 1, lease_until = $3
				WHERE id = $1`, c.id, NotificationSending, nowMs+lease.Milliseconds()); err != nil {
				return err
			}
			var (
				kind, name, url, secret sql.NullString
				project                 sql.NullString
				err                     error
			)
			row := tx.QueryRowContext(ctx, `SELECT `+notificationCols+`, c.kind, c.url, c.secret, c.name, p.name FROM alert_notifications n
				LEFT JOIN alert_channels c ON c.id = n.channel_id LEFT JOIN projects p ON p.id = n.project_id WHERE n.id = $1`, c.id)
			cl.Notification, err = scanNotificationWith(row, &kind, &url, &secret, &name, &project)
			if err != nil {
				return err
			}
			if kind.Valid {
				cl.Channel = AlertChannel{ID: cl.ChannelID, ProjectID: cl.ProjectID, Kind: kind.String, Name: name.String, URL: url.String, Secret: secret.String}
			}
			cl.ProjectName = project.String
			if cl.Channel.Kind == ChannelEmail {
				if cl.Settled, err = settledRecipients(ctx, tx, c.id); err != nil {
					return err
				}
			}
			out = append(out, cl)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: claim notifications: %w", err)
	}
	return out, nil
}

// ReleaseNotification gives back a claim whose send never started (its
// process is stopping): the notification is due again at once, and the
// claim does not count as one of its attempts. A claim already taken over
// is left alone.
func (d *DB) ReleaseNotification(ctx context.Context, c ClaimedNotification) error {
	if _, err := d.db.ExecContext(ctx, `UPDATE alert_notifications SET status = $3, attempts = attempts - 1, lease_until = 0
		WHERE id = $1 AND attempts = $2 AND status = $4`, c.ID, c.Attempts, NotificationPending, NotificationSending); err != nil {
		return fmt.Errorf("store: release notification %d: %w", c.ID, err)
	}
	return nil
}

// ErrClaimLost is StartNotification's answer when a claim's lease ran out
// and another claim took the notification: the other claim sends it.
var ErrClaimLost = errors.New("the claim's lease ran out and another claim took the notification")

// StartNotification is called right before c's send: while c's claim
// still holds the notification, it extends the lease to now+lease, so the
// lease covers the whole send however long the claim waited, and writes
// the attempt row, returning its ID for FinishNotification. A claim that
// was taken over gets ErrClaimLost and must not send.
func (d *DB) StartNotification(ctx context.Context, c ClaimedNotification, now time.Time, lease time.Duration) (int64, error) {
	nowMs := millis(now)
	var id int64
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		// The attempts count identifies the claim: each claim raises it.
		res, err := tx.ExecContext(ctx, `UPDATE alert_notifications SET lease_until = $3
			WHERE id = $1 AND attempts = $2 AND status = $4`, c.ID, c.Attempts, nowMs+lease.Milliseconds(), NotificationSending)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrClaimLost
		}
		return tx.QueryRowContext(ctx, `INSERT INTO alert_attempts (notification_id, attempt, started_at, finished_at, outcome, error)
			VALUES ($1, $2, $3, 0, $4, '') RETURNING id`, c.ID, c.Attempts, nowMs, NotificationSending).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: start notification %d: %w", c.ID, err)
	}
	return id, nil
}

func settledRecipients(ctx context.Context, tx *sql.Tx, notificationID int64) ([]RecipientOutcome, error) {
	rows, err := tx.QueryContext(ctx, `SELECT address, error FROM alert_recipients WHERE notification_id = $1 ORDER BY address`, notificationID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RecipientOutcome
	for rows.Next() {
		var r RecipientOutcome
		if err := rows.Scan(&r.Address, &r.Error); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SettleRecipients records what became of an email notification for each
// of rs. It holds whether or not the claim that sent it still does: those
// members got the message, or never will, either way.
func (d *DB) SettleRecipients(ctx context.Context, notificationID int64, rs []RecipientOutcome, now time.Time) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_recipients (notification_id, address, error, settled_at)
				VALUES ($1, $2, $3, $4) ON CONFLICT (notification_id, address) DO NOTHING`,
				notificationID, r.Address, truncate(r.Error, 500), millis(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: settle recipients of notification %d: %w", notificationID, err)
	}
	return nil
}

// scanNotificationWith scans notificationCols followed by extra columns.
func scanNotificationWith(row scanner, extra ...any) (Notification, error) {
	var n Notification
	err := scanNotificationInto(row, &n, extra...)
	return n, err
}

func scanNotificationInto(row scanner, n *Notification, extra ...any) error {
	var (
		payload             string
		next, created, sent int64
	)
	dest := append([]any{&n.ID, &n.ProjectID, &n.IssueID, &n.RuleID, &n.ChannelID, &n.ChannelName, &n.Reason, &n.IdempotencyKey,
		&payload, &n.Status, &n.Attempts, &n.LastError, &next, &created, &sent}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	n.NextAttemptAt, n.CreatedAt = fromMillis(next), fromMillis(created)
	if sent > 0 {
		t := fromMillis(sent)
		n.SentAt = &t
	}
	if err := json.Unmarshal([]byte(payload), &n.Payload); err != nil {
		return fmt.Errorf("notification %d: payload: %w", n.ID, err)
	}
	return nil
}

// FinishNotification records the outcome of a claim: sent when sendErr
// is nil or a PartialError (kept as the last error), logged when it is
// ErrNotSent; else another attempt at retryAt, or dead when retryAt is
// zero.
// A claim whose lease ran out and was claimed again is not the current
// one any more: its outcome goes on its attempt row only.
func (d *DB) FinishNotification(ctx context.Context, c ClaimedNotification, now time.Time, sendErr error, retryAt time.Time) error {
	nowMs := millis(now)
	status, outcome, msg, next := NotificationSent, NotificationSent, "", int64(0)
	var partial PartialError
	switch {
	case errors.As(sendErr, &partial):
		msg = truncate(sendErr.Error(), 2000)
	case errors.Is(sendErr, ErrNotSent):
		msg = truncate(sendErr.Error(), 2000)
		status, outcome = NotificationLogged, NotificationLogged
	case sendErr != nil:
		msg = truncate(sendErr.Error(), 2000)
		outcome, status, next = "failed", NotificationPending, millis(retryAt)
		if retryAt.IsZero() {
			status, next = NotificationDead, 0
		}
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE alert_attempts SET finished_at = $2, outcome = $3, error = $4 WHERE id = $1 AND outcome = $5`,
			c.AttemptID, nowMs, outcome, msg, NotificationSending); err != nil {
			return err
		}
		sentAt := int64(0)
		if status == NotificationSent {
			sentAt = nowMs
		}
		_, err := tx.ExecContext(ctx, `UPDATE alert_notifications SET status = $3, last_error = $4, next_attempt_at = $5,
			sent_at = $6, lease_until = 0 WHERE id = $1 AND attempts = $2 AND status = $7`,
			c.ID, c.Attempts, status, msg, next, sentAt, NotificationSending)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: finish notification %d: %w", c.ID, err)
	}
	return nil
}

// NotificationAttempt is one delivery attempt of a notification.
type NotificationAttempt struct {
	Attempt    int        `json:"attempt"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Outcome    string     `json:"outcome"`
	Error      string     `json:"error,omitempty"`
}

// NotificationAttempts returns the attempts of a notification v may see,
// in order.
func (d *DB) NotificationAttempts(ctx context.Context, v Viewer, id int64) ([]NotificationAttempt, error) {
	var q query
	q.add(`SELECT a.attempt, a.started_at, a.finished_at, a.outcome, a.error FROM alert_attempts a
		JOIN alert_notifications n ON n.id = a.notification_id WHERE n.id = `, q.arg(id), ` AND `, q.visible(v, "n.project_id"),
		` ORDER BY a.attempt, a.id`)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: attempts of notification %d: %w", id, err)
	}
	defer rows.Close()
	out := []NotificationAttempt{}
	for rows.Next() {
		var (
			a                 NotificationAttempt
			started, finished int64
		)
		if err := rows.Scan(&a.Attempt, &started, &finished, &a.Outcome, &a.Error); err != nil {
			return nil, err
		}
		a.StartedAt = fromMillis(started)
		if finished > 0 {
			t := fromMillis(finished)
			a.FinishedAt = &t
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// PruneMinuteCounts deletes per-minute counts older than any frequency
// rule looks at.
func (d *DB) PruneMinuteCounts(ctx context.Context, now time.Time) error {
	_, err := d.db.ExecContext(ctx, `DELETE FROM issue_minute_counts WHERE minute < $1`, millis(now.Add(-MaxAlertWindow)))
	if err != nil {
		return fmt.Errorf("store: prune minute counts: %w", err)
	}
	return nil
}

// SNSSubscriptions returns the SNS email subscriptions of a project as
// last synced, by email.
func (d *DB) SNSSubscriptions(ctx context.Context, v Viewer, projectID int64) ([]SNSSubscription, error) {
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return nil, fmt.Errorf("store: SNS subscriptions of project %d: %w", projectID, err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT email, subscription_arn, status, updated_at FROM alert_sns_subscriptions
		WHERE project_id = $1 ORDER BY email`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: SNS subscriptions of project %d: %w", projectID, err)
	}
	defer rows.Close()
	out := []SNSSubscription{}
	for rows.Next() {
		var (
			s  SNSSubscription
			at int64
		)
		if err := rows.Scan(&s.Email, &s.ARN, &s.Status, &at); err != nil {
			return nil, err
		}
		s.UpdatedAt = fromMillis(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// ReplaceSNSSubscriptions records a project's subscriptions as synced.
func (d *DB) ReplaceSNSSubscriptions(ctx context.Context, projectID int64, subs []SNSSubscription, now time.Time) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM alert_sns_subscriptions WHERE project_id = $1`, projectID); err != nil {
			return err
		}
		for _, s := range subs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_sns_subscriptions (project_id, email, subscription_arn, status, updated_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, email) DO NOTHING`,
				projectID, strings.ToLower(s.Email), s.ARN, s.Status, millis(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: SNS subscriptions of project %d: %w", projectID, err)
	}
	return nil
}

// ProjectIDs returns every project's ID, for jobs that act for no user.
func (d *DB) ProjectIDs(ctx context.Context) ([]int64, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id FROM projects ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: projects: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
