-- Times are INTEGER unix milliseconds (UTC) so both dialects compare and
-- index them the same way. Tables keyed only by their primary key are
-- WITHOUT ROWID, which stores them once instead of as rowid table + index.
-- AUTOINCREMENT keeps IDs from being reused after deletes, so a stale link or
-- cursor never lands on a different row.

CREATE TABLE users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	email         TEXT    NOT NULL,
	email_key     TEXT    NOT NULL UNIQUE,
	password_hash TEXT    NOT NULL,
	role          TEXT    NOT NULL,
	created_at    INTEGER NOT NULL
);

CREATE TABLE projects (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	name       TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

CREATE TABLE project_members (
	project_id INTEGER NOT NULL REFERENCES projects (id),
	user_id    INTEGER NOT NULL REFERENCES users (id),
	role       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (project_id, user_id)
) WITHOUT ROWID;
CREATE INDEX project_members_user ON project_members (user_id);

CREATE TABLE project_keys (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id INTEGER NOT NULL REFERENCES projects (id),
	public_key TEXT    NOT NULL UNIQUE,
	active     INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX project_keys_project ON project_keys (project_id);

CREATE TABLE api_tokens (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	name       TEXT    NOT NULL,
	token_hash TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE settings (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE issues (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id          INTEGER NOT NULL REFERENCES projects (id),
	fingerprint         TEXT    NOT NULL,
	grouping_version    TEXT    NOT NULL,
	title               TEXT    NOT NULL,
	culprit             TEXT    NOT NULL,
	level               TEXT    NOT NULL,
	status              TEXT    NOT NULL,
	resolved_in_release TEXT    NOT NULL,
	count               INTEGER NOT NULL,
	user_count          INTEGER NOT NULL,
	first_seen          INTEGER NOT NULL,
	last_seen           INTEGER NOT NULL,
	first_release       TEXT    NOT NULL,
	last_release        TEXT    NOT NULL,
	latest_event_id     TEXT    NOT NULL
);
CREATE UNIQUE INDEX issues_fingerprint ON issues (project_id, fingerprint);
-- One index per ListIssues sort order, plus the dashboard's default view
-- (unresolved, newest activity first), so listing walks an index in order.
CREATE INDEX issues_last_seen ON issues (project_id, last_seen, id);
CREATE INDEX issues_first_seen ON issues (project_id, first_seen, id);
CREATE INDEX issues_count ON issues (project_id, count, id);
CREATE INDEX issues_status_last_seen ON issues (project_id, status, last_seen, id);

CREATE TABLE events (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id   INTEGER NOT NULL REFERENCES projects (id),
	issue_id     INTEGER NOT NULL REFERENCES issues (id),
	event_id     TEXT    NOT NULL,
	occurred_at  INTEGER NOT NULL,
	received_at  INTEGER NOT NULL,
	title        TEXT    NOT NULL,
	level        TEXT    NOT NULL,
	release_name TEXT    NOT NULL,
	environment  TEXT    NOT NULL,
	payload      BLOB    NOT NULL
);
-- event_id first: GetEvent looks events up by event_id alone.
CREATE UNIQUE INDEX events_event_id ON events (event_id, project_id);
CREATE INDEX events_issue_time ON events (issue_id, occurred_at, id);
CREATE INDEX events_received ON events (received_at);

CREATE TABLE issue_counts (
	issue_id INTEGER NOT NULL REFERENCES issues (id),
	hour     INTEGER NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (issue_id, hour)
) WITHOUT ROWID;

CREATE TABLE issue_tags (
	issue_id INTEGER NOT NULL REFERENCES issues (id),
	key      TEXT    NOT NULL,
	value    TEXT    NOT NULL,
	count    INTEGER NOT NULL,
	PRIMARY KEY (issue_id, key, value)
) WITHOUT ROWID;
-- Tag search: finds the issues carrying a tag without visiting each issue.
CREATE INDEX issue_tags_value ON issue_tags (key, value, issue_id);

CREATE TABLE issue_users (
	issue_id INTEGER NOT NULL REFERENCES issues (id),
	user_key TEXT    NOT NULL,
	PRIMARY KEY (issue_id, user_key)
) WITHOUT ROWID;

CREATE TABLE releases (
	project_id INTEGER NOT NULL REFERENCES projects (id),
	version    TEXT    NOT NULL,
	first_seen INTEGER NOT NULL,
	PRIMARY KEY (project_id, version)
) WITHOUT ROWID;

CREATE TABLE queue_messages (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	body        BLOB    NOT NULL,
	attempts    INTEGER NOT NULL,
	visible_at  INTEGER NOT NULL,
	enqueued_at INTEGER NOT NULL,
	last_error  TEXT    NOT NULL
);
CREATE INDEX queue_messages_visible ON queue_messages (visible_at, id);

CREATE TABLE queue_dead (
	id          INTEGER PRIMARY KEY,
	body        BLOB    NOT NULL,
	attempts    INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	enqueued_at INTEGER NOT NULL,
	died_at     INTEGER NOT NULL
);
