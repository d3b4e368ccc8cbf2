-- Alerts: rules and channels per project, the outbox the processor writes
-- in the save transaction, the attempts of its delivery, per-issue
-- cooldown and mute, per-user opt-out of email, SNS subscriptions.
-- Alert tables carry no foreign keys to issues: an issue's notifications
-- are history that outlives it, and IDs are never reused.

-- Events per issue per minute of arrival, for "more than N events in M
-- minutes" rules (the hourly buckets are too coarse); the alerts job
-- deletes rows older than the longest window allowed.
CREATE TABLE issue_minute_counts (
	issue_id INTEGER NOT NULL,
	minute   INTEGER NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (issue_id, minute)
) WITHOUT ROWID;
CREATE INDEX issue_minute_counts_minute ON issue_minute_counts (minute);

-- Where alerts go: kind is email (the project's members), slack or
-- webhook (url; webhooks sign with secret).
CREATE TABLE alert_channels (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id INTEGER NOT NULL REFERENCES projects (id),
	kind       TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	url        TEXT    NOT NULL,
	secret     TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX alert_channels_project ON alert_channels (project_id);

-- When to alert: rule_type is new_issue, regression or frequency (more than
-- threshold events in window_minutes); min_level and environment filter
-- the events ('' matches any).
CREATE TABLE alert_rules (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id     INTEGER NOT NULL REFERENCES projects (id),
	channel_id     INTEGER NOT NULL REFERENCES alert_channels (id),
	rule_type      TEXT    NOT NULL,
	threshold      INTEGER NOT NULL,
	window_minutes INTEGER NOT NULL,
	min_level      TEXT    NOT NULL,
	environment    TEXT    NOT NULL,
	enabled        INTEGER NOT NULL,
	created_at     INTEGER NOT NULL
);
CREATE INDEX alert_rules_project ON alert_rules (project_id);

-- Minutes after an alert during which an issue's further events are
-- summed into one digest instead of alerting again.
ALTER TABLE projects ADD COLUMN alert_cooldown_minutes INTEGER NOT NULL DEFAULT 60;

-- Per issue: muted, the end of its cooldown window, the events since its
-- last message, and the channels (JSON array of IDs) its digest goes to.
CREATE TABLE alert_issue_state (
	issue_id   INTEGER NOT NULL PRIMARY KEY,
	project_id INTEGER NOT NULL,
	muted      INTEGER NOT NULL,
	window_end INTEGER NOT NULL,
	pending    INTEGER NOT NULL,
	channels   TEXT    NOT NULL
) WITHOUT ROWID;
-- The alerts job finds due digests without a scan.
CREATE INDEX alert_issue_state_due ON alert_issue_state (window_end) WHERE pending > 0;

-- The outbox: one row per notification and channel. status is pending,
-- sending (claimed until lease_until), sent or dead.
CREATE TABLE alert_notifications (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id      INTEGER NOT NULL,
	issue_id        INTEGER NOT NULL,
	rule_id         INTEGER NOT NULL,
	channel_id      INTEGER NOT NULL,
	reason          TEXT    NOT NULL,
	idempotency_key TEXT    NOT NULL UNIQUE,
	payload         TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	attempts        INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	lease_until     INTEGER NOT NULL,
	last_error      TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER NOT NULL
);
CREATE INDEX alert_notifications_due ON alert_notifications (status, next_attempt_at, id);
CREATE INDEX alert_notifications_project ON alert_notifications (project_id, id);

-- Each delivery attempt; outcome is sending until it is known, and stays
-- so when the process died during the attempt.
CREATE TABLE alert_attempts (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	notification_id INTEGER NOT NULL,
	attempt         INTEGER NOT NULL,
	started_at      INTEGER NOT NULL,
	finished_at     INTEGER NOT NULL,
	outcome         TEXT    NOT NULL,
	error           TEXT    NOT NULL
);
CREATE INDEX alert_attempts_notification ON alert_attempts (notification_id, attempt);

-- Users who asked for no alert email.
CREATE TABLE alert_email_optouts (
	user_id    INTEGER NOT NULL PRIMARY KEY,
	created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- SNS email subscriptions of each project's topic (AWS), as last synced:
-- status is pending (confirmation link not yet clicked) or confirmed.
CREATE TABLE alert_sns_subscriptions (
	project_id       INTEGER NOT NULL,
	email            TEXT    NOT NULL,
	subscription_arn TEXT    NOT NULL,
	status           TEXT    NOT NULL,
	updated_at       INTEGER NOT NULL,
	PRIMARY KEY (project_id, email)
) WITHOUT ROWID;

-- Every project starts by emailing its members on new issues and
-- regressions; projects created later get the same from CreateProject.
INSERT INTO alert_channels (project_id, kind, name, url, secret, created_at)
	SELECT id, 'email', 'Members by email', '', '', created_at FROM projects;
INSERT INTO alert_rules (project_id, channel_id, rule_type, threshold, window_minutes, min_level, environment, enabled, created_at)
	SELECT c.project_id, c.id, t.rule_type, 0, 0, '', '', 1, c.created_at
	FROM alert_channels c, (SELECT 'new_issue' AS rule_type UNION ALL SELECT 'regression') t;
