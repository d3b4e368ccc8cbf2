-- flytrap:outside-transaction
-- A project's events of one release: the retention job deletes a release
-- only once no event of it is left, and must find that out without
-- reading every event.
--
-- Built CONCURRENTLY, outside the migrations' transaction, so that an
-- upgrade over a large events table does not block the processor's
-- writes for the whole build.
CREATE INDEX CONCURRENTLY IF NOT EXISTS events_release ON events (project_id, release_name);
