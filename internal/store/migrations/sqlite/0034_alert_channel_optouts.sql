-- Members who unsubscribed from one email channel through the one-click
-- link of its email's List-Unsubscribe header: that channel mails them no
-- more; the project's other email channels still do. Turning alert email
-- back on in the account page clears them.
CREATE TABLE alert_channel_optouts (
	channel_id INTEGER NOT NULL,
	user_id    INTEGER NOT NULL,
	project_id INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (channel_id, user_id)
) WITHOUT ROWID;
