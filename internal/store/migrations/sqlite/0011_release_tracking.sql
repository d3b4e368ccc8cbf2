-- What sentry-cli records about a release besides its artifacts: when it
-- was finalized (releases finalize, releases new --finalize; 0 while
-- unreleased), its deploys, its commits (set-commits) and the
-- repositories set-commits --commit may name.
ALTER TABLE releases ADD COLUMN date_released INTEGER NOT NULL DEFAULT 0;

-- A deploy of a release to an environment (sentry-cli deploys new). The
-- times are 0 when not given. At most store.MaxDeploysPerRelease rows per
-- release: the oldest go first.
CREATE TABLE release_deploys (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id    INTEGER NOT NULL REFERENCES projects (id),
	version       TEXT    NOT NULL,
	environment   TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	url           TEXT    NOT NULL,
	date_started  INTEGER NOT NULL,
	date_finished INTEGER NOT NULL,
	created_at    INTEGER NOT NULL
);
CREATE INDEX release_deploys_release ON release_deploys (project_id, version, date_finished, id);

-- The commits of a release, in the order sentry-cli sent them (newest
-- first); set-commits replaces them all. committed_at is 0 when not known
-- (set-commits --commit names a head commit only).
CREATE TABLE release_commits (
	project_id   INTEGER NOT NULL REFERENCES projects (id),
	version      TEXT    NOT NULL,
	seq          INTEGER NOT NULL,
	commit_id    TEXT    NOT NULL,
	repository   TEXT    NOT NULL,
	message      TEXT    NOT NULL,
	author_name  TEXT    NOT NULL,
	author_email TEXT    NOT NULL,
	committed_at INTEGER NOT NULL,
	PRIMARY KEY (project_id, version, seq)
) WITHOUT ROWID;

-- The repositories of a project that set-commits --commit REPO@SHA may
-- name: sentry-cli refuses a REPO the organization's repository list
-- (GET /api/0/organizations/{org}/repos/) lacks.
CREATE TABLE repositories (
	project_id INTEGER NOT NULL REFERENCES projects (id),
	name       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (project_id, name)
) WITHOUT ROWID;

-- Release lists show a project's newest releases first, at most
-- store.MaxReleasesListed of them: an index, so that a project with
-- hundreds of thousands of releases (an SDK may send any name) does not
-- sort them all for each list.
CREATE INDEX releases_first_seen ON releases (project_id, first_seen);
