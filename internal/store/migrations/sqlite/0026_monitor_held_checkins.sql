-- Check-ins without a monitor_config for a slug the project has no monitor
-- of yet, held until a check-in with a config creates it (then applied in
-- the order they were received) or for an hour (then dropped by
-- the monitors job): an SDK's in_progress with the config and its ok
-- without it may arrive in either order. store.MaxHeldCheckInsPerProject
-- bounds them. status is in_progress, ok or error; duration_ms is -1 when
-- unknown; received_at is unix ms.
CREATE TABLE monitor_held_checkins (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id   INTEGER NOT NULL REFERENCES projects (id),
	slug         TEXT    NOT NULL,
	check_in_id  TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	duration_ms  INTEGER NOT NULL,
	environment  TEXT    NOT NULL,
	release      TEXT    NOT NULL,
	received_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX monitor_held_checkins_id ON monitor_held_checkins (project_id, slug, check_in_id);
-- A project's bound, oldest first.
CREATE INDEX monitor_held_checkins_project ON monitor_held_checkins (project_id, id);
-- Expiry by the monitors job.
CREATE INDEX monitor_held_checkins_received ON monitor_held_checkins (received_at);
