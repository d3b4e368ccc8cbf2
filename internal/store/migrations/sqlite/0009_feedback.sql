-- What users wrote about problems (Sentry's feedback and user_report
-- items). event_id is the feedback's own ID; an SDK's retry or the
-- queue's redelivery of it stores nothing new. associated_event_id links
-- it to an event, and through the event to an issue, when it is read: the
-- feedback may arrive before its event is processed, and must not hold a
-- foreign key to an event that retention deletes.
CREATE TABLE feedback (
	id                  INTEGER PRIMARY KEY AUTOINCREMENT,
	project_id          INTEGER NOT NULL REFERENCES projects (id),
	event_id            TEXT    NOT NULL,
	associated_event_id TEXT    NOT NULL,
	name                TEXT    NOT NULL,
	email               TEXT    NOT NULL,
	message             TEXT    NOT NULL,
	url                 TEXT    NOT NULL,
	source              TEXT    NOT NULL,
	created_at          INTEGER NOT NULL,
	received_at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX feedback_event_id ON feedback (project_id, event_id);
-- A project's list, newest first.
CREATE INDEX feedback_project_time ON feedback (project_id, created_at, id);
-- An issue's feedback, through its events' IDs.
CREATE INDEX feedback_associated ON feedback (project_id, associated_event_id);
-- Retention.
CREATE INDEX feedback_received ON feedback (received_at);
