-- Each project's inbound filters (internal/inbound), Sentry's defaults
-- for every project: browser extensions and web crawlers on, localhost
-- off, no message or release patterns (JSON lists of globs).
ALTER TABLE projects ADD COLUMN filter_browser_extensions BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE projects ADD COLUMN filter_localhost          BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE projects ADD COLUMN filter_web_crawlers       BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE projects ADD COLUMN filter_error_messages     TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN filter_releases           TEXT    NOT NULL DEFAULT '[]';
-- Events the filters dropped, per project, reason and hour (unix
-- milliseconds of its start); retention prunes it with the other hourly
-- counts.
CREATE TABLE filtered_counts (
	project_id BIGINT NOT NULL REFERENCES projects (id),
	reason     TEXT   NOT NULL,
	hour       BIGINT NOT NULL,
	count      BIGINT NOT NULL,
	PRIMARY KEY (project_id, reason, hour)
);
