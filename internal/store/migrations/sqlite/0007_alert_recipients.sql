-- The members an email notification is settled for: delivered (error '')
-- or refused for good by the mail server (error: its answer). Each member
-- gets a message of their own, so one bad address stops nobody else, and
-- a retry mails only the members not settled yet.
CREATE TABLE alert_recipients (
	notification_id INTEGER NOT NULL,
	address         TEXT    NOT NULL,
	error           TEXT    NOT NULL,
	settled_at      INTEGER NOT NULL,
	PRIMARY KEY (notification_id, address)
) WITHOUT ROWID;
