-- The queue's tables, created until now by the store's 0001_init (which
-- still creates them on a fresh database, as history). IF NOT EXISTS keeps
-- the messages of databases that already have them. Times are INTEGER unix
-- milliseconds, as in the store.

CREATE TABLE IF NOT EXISTS queue_messages (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	body        BLOB    NOT NULL,
	attempts    INTEGER NOT NULL,
	visible_at  INTEGER NOT NULL,
	enqueued_at INTEGER NOT NULL,
	last_error  TEXT    NOT NULL
);
-- Receive reads the head of the queue in this order.
CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (visible_at, id);

-- id is the message's id, kept so a dead letter can be traced in logs.
CREATE TABLE IF NOT EXISTS queue_dead (
	id          INTEGER PRIMARY KEY,
	body        BLOB    NOT NULL,
	attempts    INTEGER NOT NULL,
	reason      TEXT    NOT NULL,
	enqueued_at INTEGER NOT NULL,
	died_at     INTEGER NOT NULL
);
