-- An issue's activity: who changed its status or assignee or merged other
-- issues into it, when it regressed, and its comments. It is written in
-- the transaction of the change it records and lives as long as the
-- issue: deleting the issue deletes it, merging moves it to the kept
-- issue. user_id is NULL for Flytrap itself (a regression); it has no
-- foreign key, so that deleting a user keeps what they did, shown as a
-- deleted user's, and does not take it for Flytrap's. data is a JSON
-- object of the kind's details (a comment's text, a release, an assignee,
-- the merged issues).
CREATE TABLE issue_activity (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	issue_id   INTEGER NOT NULL REFERENCES issues (id),
	kind       TEXT    NOT NULL,
	user_id    INTEGER NULL,
	data       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	edited_at  INTEGER NULL
);
-- An issue's timeline, newest first.
CREATE INDEX issue_activity_issue ON issue_activity (issue_id, created_at, id);
