-- A project's own ingest rate limit, in events per minute, read with its
-- keys by ingest's key set: 0 is the server's --rate-limit (every project
-- before this column existed), -1 no limit.
ALTER TABLE projects ADD COLUMN rate_limit BIGINT NOT NULL DEFAULT 0;
