-- Members who unsubscribed from one email channel through the one-click
-- link of its email's List-Unsubscribe header: that channel mails them no
-- more; the project's other email channels still do. Turning alert email
-- back on in the account page clears them.
CREATE TABLE alert_channel_optouts (
	channel_id BIGINT NOT NULL,
	user_id    BIGINT NOT NULL,
	project_id BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (channel_id, user_id)
);
