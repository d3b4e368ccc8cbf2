-- Cron monitors (Sentry Crons): one per project and slug, made and
-- configured by the monitor_config of SDKs' check-ins (store.SaveCheckIns).
-- The schedule is crontab (crontab in timezone) or interval (interval_n
-- interval_unit); margin and max runtime are minutes. status is new (no
-- check-in judged yet), ok or failing; failures and oks count the latest
-- run of each, so that thresholds are met. next_expected is when the next
-- check-in is due (unix ms, 0 for none), last_checkin the latest one's time.
CREATE TABLE monitors (
	id                 INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id         INTEGER NOT NULL REFERENCES projects (id),
	slug               TEXT    NOT NULL,
	schedule_type      TEXT    NOT NULL,
	crontab            TEXT    NOT NULL,
	interval_n         INTEGER NOT NULL,
	interval_unit      TEXT    NOT NULL,
	timezone           TEXT    NOT NULL,
	margin_minutes     INTEGER NOT NULL,
	max_runtime_minutes INTEGER NOT NULL,
	failure_threshold  INTEGER NOT NULL,
	recovery_threshold INTEGER NOT NULL,
	status             TEXT    NOT NULL,
	failures           INTEGER NOT NULL,
	oks                INTEGER NOT NULL,
	last_checkin       INTEGER NOT NULL,
	last_status        TEXT    NOT NULL,
	next_expected      INTEGER NOT NULL,
	created_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX monitors_slug ON monitors (project_id, slug);
-- The missed check-ins job.
CREATE INDEX monitors_next_expected ON monitors (next_expected);

-- A monitor's check-ins, with its project's ID for deleting a project's.
-- check_in_id is the SDK's (32 hex digits), or one
-- Flytrap made for a missed run. status is in_progress, ok, error, missed
-- or timeout; duration_ms is -1 when unknown.
CREATE TABLE monitor_checkins (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	monitor_id   INTEGER NOT NULL REFERENCES monitors (id),
	project_id   INTEGER NOT NULL REFERENCES projects (id),
	check_in_id  TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	duration_ms  INTEGER NOT NULL,
	environment  TEXT    NOT NULL,
	release      TEXT    NOT NULL,
	received_at  INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX monitor_checkins_id ON monitor_checkins (monitor_id, check_in_id);
-- A monitor's recent check-ins, newest first, and its bound.
CREATE INDEX monitor_checkins_monitor ON monitor_checkins (monitor_id, id);
-- The timeout job: runs still in progress.
CREATE INDEX monitor_checkins_in_progress ON monitor_checkins (received_at) WHERE status = 'in_progress';
