-- How many new-issue alerts a channel got lately (store.NewIssueBurst):
-- counted on every new issue, so it must not scan the outbox.
CREATE INDEX alert_notifications_channel ON alert_notifications (channel_id, reason, created_at);
