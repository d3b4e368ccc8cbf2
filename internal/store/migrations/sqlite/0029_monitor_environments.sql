-- A cron monitor's state per environment, as Sentry keeps a monitor
-- environment: a staging job failing no longer fails production's. A
-- check-in without an environment counts in production (Sentry's
-- default). status, failures, oks, last_checkin, last_status and
-- next_expected are what 0025 kept on the monitor, now per environment;
-- the monitor's status is the worst of its environments'.
CREATE TABLE monitor_environments (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	monitor_id    INTEGER NOT NULL REFERENCES monitors (id),
	project_id    INTEGER NOT NULL REFERENCES projects (id),
	environment   TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	failures      INTEGER NOT NULL,
	oks           INTEGER NOT NULL,
	last_checkin  INTEGER NOT NULL,
	last_status   TEXT    NOT NULL,
	next_expected INTEGER NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX monitor_environments_name ON monitor_environments (monitor_id, environment);
-- A project's monitors' environments, for the list of its monitors.
CREATE INDEX monitor_environments_project ON monitor_environments (project_id);
-- The missed check-ins job.
CREATE INDEX monitor_environments_next_expected ON monitor_environments (next_expected);

UPDATE monitor_checkins SET environment = 'production' WHERE environment = '';
UPDATE monitor_held_checkins SET environment = 'production' WHERE environment = '';

-- The environment of a monitor's latest check-in (production when it has
-- none) takes over the monitor's state.
INSERT INTO monitor_environments (monitor_id, project_id, environment, status, failures, oks, last_checkin, last_status, next_expected, created_at)
SELECT m.id, m.project_id,
	COALESCE((SELECT c.environment FROM monitor_checkins c WHERE c.monitor_id = m.id ORDER BY c.received_at DESC, c.id DESC LIMIT 1), 'production'),
	m.status, m.failures, m.oks, m.last_checkin, m.last_status, m.next_expected, m.created_at
FROM monitors m;

-- Its other environments: their latest check-in, ok when their latest
-- finished run was, new when none finished, else the monitor's status;
-- the next run due when the monitor's was.
INSERT INTO monitor_environments (monitor_id, project_id, environment, status, failures, oks, last_checkin, last_status, next_expected, created_at)
SELECT m.id, m.project_id, e.environment,
	CASE e.finished WHEN 'ok' THEN 'ok' WHEN '' THEN 'new' ELSE m.status END,
	CASE WHEN e.finished IN ('ok', '') THEN 0 ELSE 1 END,
	CASE e.finished WHEN 'ok' THEN 1 ELSE 0 END,
	e.last_checkin,
	(SELECT c.status FROM monitor_checkins c WHERE c.monitor_id = m.id AND c.environment = e.environment ORDER BY c.received_at DESC, c.id DESC LIMIT 1),
	m.next_expected, e.first_checkin
FROM monitors m
JOIN (
	SELECT c.monitor_id, c.environment, MAX(c.received_at) AS last_checkin, MIN(c.received_at) AS first_checkin,
		COALESCE((SELECT f.status FROM monitor_checkins f WHERE f.monitor_id = c.monitor_id AND f.environment = c.environment
			AND f.status <> 'in_progress' ORDER BY f.received_at DESC, f.id DESC LIMIT 1), '') AS finished
	FROM monitor_checkins c GROUP BY c.monitor_id, c.environment
) e ON e.monitor_id = m.id
WHERE NOT EXISTS (SELECT 1 FROM monitor_environments x WHERE x.monitor_id = m.id AND x.environment = e.environment);

DROP INDEX monitors_next_expected;
ALTER TABLE monitors DROP COLUMN status;
ALTER TABLE monitors DROP COLUMN failures;
ALTER TABLE monitors DROP COLUMN oks;
ALTER TABLE monitors DROP COLUMN last_checkin;
ALTER TABLE monitors DROP COLUMN last_status;
ALTER TABLE monitors DROP COLUMN next_expected;
