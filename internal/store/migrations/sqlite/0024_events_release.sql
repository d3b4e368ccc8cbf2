-- A project's events of one release: the retention job deletes a release
-- only once no event of it is left, and must find that out without
-- reading every event.
CREATE INDEX events_release ON events (project_id, release_name);
