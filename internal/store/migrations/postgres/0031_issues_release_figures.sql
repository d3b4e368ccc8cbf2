-- A release's new issues and last event (the releases page, a release's
-- page, GET /api/v1/projects/{id}/releases[/{version}]): one release's
-- issues are a range of these, and every release's figures are counted
-- from the project's entries in release order, without reading or
-- sorting the issues themselves.
CREATE INDEX issues_first_release ON issues (project_id, first_release, first_seen);
CREATE INDEX issues_last_release ON issues (project_id, last_release, last_seen);
