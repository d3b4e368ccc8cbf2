-- The issue list of one environment sorted by first seen, events or
-- affected users: read in order like its sort by last seen, instead of
-- reading all of the project's issues in the environment and sorting them
-- for every page.
CREATE INDEX issue_environments_first_seen ON issue_environments (project_id, environment, first_seen, issue_id);
CREATE INDEX issue_environments_count ON issue_environments (project_id, environment, count, issue_id);
CREATE INDEX issue_environments_user_count ON issue_environments (project_id, environment, user_count, issue_id);
