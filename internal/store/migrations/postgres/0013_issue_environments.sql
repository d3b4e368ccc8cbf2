-- An issue's figures in each environment it has events in, which the
-- environment filter shows in place of the issue's own: events, affected
-- users, first and last seen (issue_environments), the users themselves
-- (issue_environment_users) and the hourly buckets of its chart
-- (issue_environment_counts). The environment is the event's environment
-- tag, the one the filter matches; events without one have no row.
CREATE TABLE issue_environments (
	issue_id    BIGINT  NOT NULL REFERENCES issues (id),
	environment TEXT    NOT NULL,
	project_id  BIGINT  NOT NULL,
	count       BIGINT  NOT NULL,
	user_count  BIGINT  NOT NULL,
	first_seen  BIGINT  NOT NULL,
	last_seen   BIGINT  NOT NULL,
	PRIMARY KEY (issue_id, environment)
);
-- The filtered issue list reads it in order by last seen, the default
-- sort, and finds a project's issues of an environment by it for the others.
CREATE INDEX issue_environments_last_seen ON issue_environments (project_id, environment, last_seen, issue_id);

CREATE TABLE issue_environment_users (
	issue_id    BIGINT  NOT NULL REFERENCES issues (id),
	environment TEXT    NOT NULL,
	user_key    TEXT    NOT NULL,
	PRIMARY KEY (issue_id, environment, user_key)
);

CREATE TABLE issue_environment_counts (
	issue_id    BIGINT  NOT NULL REFERENCES issues (id),
	environment TEXT    NOT NULL,
	hour        BIGINT  NOT NULL,
	count       BIGINT  NOT NULL,
	PRIMARY KEY (issue_id, environment, hour)
);

-- Backfill. The environment tag's count is exact, whatever retention
-- deleted. An issue all of whose events carry one environment (the tag's
-- count is the issue's) has the issue's own figures there: times, users
-- and hourly buckets are copied. For the others, the times and buckets
-- come from the events retention kept (the issue's times when it kept
-- none there); which user was affected in which environment was never
-- recorded, so their environments' users count from this version on.
INSERT INTO issue_environments (issue_id, environment, project_id, count, user_count, first_seen, last_seen)
SELECT i.id, t.value, i.project_id, t.count,
	CASE WHEN t.count = i.count THEN i.user_count ELSE 0 END,
	CASE WHEN t.count = i.count THEN i.first_seen ELSE COALESCE((SELECT MIN(e.occurred_at) FROM events e
		WHERE e.issue_id = i.id AND e.environment = t.value), i.first_seen) END,
	CASE WHEN t.count = i.count THEN i.last_seen ELSE COALESCE((SELECT MAX(e.occurred_at) FROM events e
		WHERE e.issue_id = i.id AND e.environment = t.value), i.last_seen) END
FROM issue_tags t JOIN issues i ON i.id = t.issue_id
WHERE t.key = 'environment';

INSERT INTO issue_environment_users (issue_id, environment, user_key)
SELECT u.issue_id, t.value, u.user_key
FROM issue_users u JOIN issues i ON i.id = u.issue_id
	JOIN issue_tags t ON t.issue_id = u.issue_id AND t.key = 'environment' AND t.count = i.count;

INSERT INTO issue_environment_counts (issue_id, environment, hour, count)
SELECT c.issue_id, t.value, c.hour, c.count
FROM issue_counts c JOIN issues i ON i.id = c.issue_id
	JOIN issue_tags t ON t.issue_id = c.issue_id AND t.key = 'environment' AND t.count = i.count;

INSERT INTO issue_environment_counts (issue_id, environment, hour, count)
SELECT e.issue_id, e.environment, e.occurred_at - e.occurred_at % 3600000, COUNT(*)
FROM events e JOIN issues i ON i.id = e.issue_id
	JOIN issue_tags t ON t.issue_id = e.issue_id AND t.key = 'environment' AND t.value = e.environment AND t.count <> i.count
GROUP BY e.issue_id, e.environment, e.occurred_at - e.occurred_at % 3600000;
