-- Release health: the sessions SDKs report (session and sessions envelope
-- items), counted per project, release, environment and hour the session
-- started in (unix milliseconds of the hour). started counts sessions,
-- errored those that had an error (crashed and abnormal ones included),
-- crashed and abnormal those that ended so (see store.SaveSessions).
CREATE TABLE release_sessions (
	project_id  INTEGER NOT NULL REFERENCES projects (id),
	release     TEXT    NOT NULL,
	environment TEXT    NOT NULL,
	hour        INTEGER NOT NULL,
	started     INTEGER NOT NULL,
	errored     INTEGER NOT NULL,
	crashed     INTEGER NOT NULL,
	abnormal    INTEGER NOT NULL,
	PRIMARY KEY (project_id, release, environment, hour)
) WITHOUT ROWID;
-- Retention.
CREATE INDEX release_sessions_hour ON release_sessions (hour);

-- The distinct IDs behind the counts that must not count one thing twice,
-- per bucket of release_sessions: kind 'e' the sessions (sid) that had an
-- error, 'u' the users (a salted hash of did) and 'c' the users whose
-- session crashed. At most store.MaxSessionIDsPerHour of each kind per
-- bucket.
CREATE TABLE release_session_ids (
	project_id  INTEGER NOT NULL REFERENCES projects (id),
	release     TEXT    NOT NULL,
	environment TEXT    NOT NULL,
	hour        INTEGER NOT NULL,
	kind        TEXT    NOT NULL,
	id          TEXT    NOT NULL,
	PRIMARY KEY (project_id, release, environment, hour, kind, id)
) WITHOUT ROWID;
CREATE INDEX release_session_ids_hour ON release_session_ids (hour);

-- The queue messages of sessions already counted, so that a redelivery
-- counts nothing twice; kept as long as the hourly counts.
CREATE TABLE session_messages (
	project_id  INTEGER NOT NULL REFERENCES projects (id),
	event_id    TEXT    NOT NULL,
	received_at INTEGER NOT NULL,
	PRIMARY KEY (project_id, event_id)
) WITHOUT ROWID;
CREATE INDEX session_messages_received ON session_messages (received_at);
