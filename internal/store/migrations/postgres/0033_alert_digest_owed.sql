-- Per issue and channel of its cooldown window: the events since the
-- channel's last message about the issue that one of the channel's rules
-- would have matched (level and environment), which its digest sums. A
-- production-only channel's digest no longer counts staging events, and a
-- channel owed nothing gets no digest. alert_issue_state.pending still
-- counts all of the window's events, which keep the window open.
-- event_id is the latest of the events owed, which the channel's digest
-- quotes: a production channel's digest is not about a staging event.
CREATE TABLE alert_digest_owed (
	issue_id   BIGINT  NOT NULL,
	channel_id BIGINT  NOT NULL,
	owed       BIGINT  NOT NULL,
	event_id   TEXT    NOT NULL,
	PRIMARY KEY (issue_id, channel_id)
);
-- Windows open at the upgrade owe every channel all their events, as
-- before.
INSERT INTO alert_digest_owed (issue_id, channel_id, owed, event_id)
	SELECT s.issue_id, j.value::BIGINT, s.pending, '' FROM alert_issue_state s, jsonb_array_elements_text(
		CASE WHEN s.channels LIKE '[%' THEN s.channels ELSE '[]' END::jsonb) j
	WHERE s.pending > 0;
