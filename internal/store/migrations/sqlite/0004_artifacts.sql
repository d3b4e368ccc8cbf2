-- Source maps and minified files uploaded as artifact bundles (issue 11).
-- The bytes live in blob storage (the data dir locally, S3 on AWS) under
-- blob, the SHA-256 of the file, so the same file uploaded twice is kept
-- once; these rows say what each file is and how a stack frame finds it.
CREATE TABLE artifact_bundles (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id   INTEGER NOT NULL REFERENCES projects (id),
	-- checksum is the SHA-1 of the uploaded zip, what sentry-cli assembles by.
	checksum     TEXT    NOT NULL,
	bundle_id    TEXT    NOT NULL,
	release_name TEXT    NOT NULL,
	dist         TEXT    NOT NULL,
	file_count   INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE UNIQUE INDEX artifact_bundles_checksum ON artifact_bundles (project_id, checksum);
CREATE INDEX artifact_bundles_release ON artifact_bundles (project_id, release_name);

CREATE TABLE artifact_files (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	bundle_id  INTEGER NOT NULL REFERENCES artifact_bundles (id),
	project_id INTEGER NOT NULL REFERENCES projects (id),
	-- kind is the manifest's type: minified_source, source_map or source.
	kind       TEXT    NOT NULL,
	url        TEXT    NOT NULL,
	-- name is url's last path segment, for the file-name-only lookup.
	name       TEXT    NOT NULL,
	debug_id   TEXT    NOT NULL,
	-- sourcemap is the file's sourcemap header (a URL relative to url).
	sourcemap  TEXT    NOT NULL,
	blob       TEXT    NOT NULL,
	size       INTEGER NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX artifact_files_bundle ON artifact_files (bundle_id);
CREATE INDEX artifact_files_debug_id ON artifact_files (project_id, debug_id);
CREATE INDEX artifact_files_url ON artifact_files (project_id, url);
CREATE INDEX artifact_files_name ON artifact_files (project_id, name);
CREATE INDEX artifact_files_blob ON artifact_files (blob);
