-- Where the fingerprints of merged issues group now. Saving reads it only
-- when no issue has an event's fingerprint (the first event of an issue,
-- rare), so an event of a merged issue's fingerprint joins the issue it
-- was merged into instead of starting a new one; merged_id leads a merged
-- issue's old ID (a link, an API call) to that issue. Merging into an
-- issue that was itself merged points its rows at the new one, so a
-- lookup takes one step.
CREATE TABLE issue_merges (
	project_id  INTEGER NOT NULL REFERENCES projects (id),
	fingerprint TEXT    NOT NULL,
	merged_id   INTEGER NOT NULL,
	issue_id    INTEGER NOT NULL REFERENCES issues (id),
	merged_at   INTEGER NOT NULL,
	PRIMARY KEY (project_id, fingerprint)
) WITHOUT ROWID;
CREATE INDEX issue_merges_merged ON issue_merges (merged_id);
CREATE INDEX issue_merges_issue ON issue_merges (issue_id);
