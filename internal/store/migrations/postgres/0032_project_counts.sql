-- Each project's events per hour, the sum of its issues' issue_counts:
-- the project cards' 14-day charts read a project's hours from here
-- instead of summing every hour of every issue seen in those days
-- (219,289 rows for a project of 20,000 issues). Saving adds to it with
-- issue_counts, deleting an issue takes its counts off, and retention
-- prunes it with issue_counts; merging moves counts within a project.
CREATE TABLE project_counts (
	project_id BIGINT  NOT NULL REFERENCES projects (id),
	hour       BIGINT  NOT NULL,
	count      BIGINT  NOT NULL,
	PRIMARY KEY (project_id, hour)
);
INSERT INTO project_counts (project_id, hour, count)
	SELECT i.project_id, c.hour, SUM(c.count) FROM issue_counts c JOIN issues i ON i.id = c.issue_id
	GROUP BY i.project_id, c.hour;
