-- Browser sessions of the dashboard. Only the SHA-256 of the cookie's token
-- is stored, as for API tokens: a leaked database does not sign anyone in.
CREATE TABLE sessions (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    INTEGER NOT NULL REFERENCES users (id),
	token_hash TEXT    NOT NULL UNIQUE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
-- Signing a user out everywhere (password change, user removal).
CREATE INDEX sessions_user ON sessions (user_id);
-- PruneSessions deletes by expiry without reading live sessions.
CREATE INDEX sessions_expires ON sessions (expires_at);
