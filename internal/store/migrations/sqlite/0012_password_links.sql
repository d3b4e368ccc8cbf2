-- One-time set-password links: invitations (a user created without a
-- usable password) and password resets. Only the SHA-256 of the link's
-- token is stored, as for sessions and API tokens, so a leaked database
-- sets no one's password. A user has at most one live link (user_id is
-- unique): issuing a new one replaces the old, and setting the password
-- by any means deletes it.
CREATE TABLE password_links (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id    INTEGER NOT NULL UNIQUE REFERENCES users (id),
	token_hash TEXT    NOT NULL UNIQUE,
	purpose    TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
-- PrunePasswordLinks deletes by expiry.
CREATE INDEX password_links_expires ON password_links (expires_at);
