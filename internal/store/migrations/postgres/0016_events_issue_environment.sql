-- An issue's events in one environment, newest first: the issue page and
-- GET /api/v1/issues/{id}/events filtered by an environment show, list
-- and step through only the issue's events there, and must find them
-- without reading its (up to --retention-per-issue) events elsewhere.
CREATE INDEX events_issue_environment ON events (issue_id, environment, occurred_at, id);
