-- The events an inbound filter dropped and counted, so that a queue
-- message redelivered after its count (the processor stopped, or its
-- batch failed, before the message was acknowledged) is not counted
-- again; kept as long as the hourly counts.
CREATE TABLE filtered_events (
	project_id  BIGINT  NOT NULL REFERENCES projects (id),
	event_id    TEXT    NOT NULL,
	received_at BIGINT  NOT NULL,
	PRIMARY KEY (project_id, event_id)
);
CREATE INDEX filtered_events_received ON filtered_events (received_at);
