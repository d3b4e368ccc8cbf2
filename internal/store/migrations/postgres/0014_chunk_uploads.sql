-- Who uploaded each chunk of an artifact bundle. Chunk bytes are stored
-- once, under their SHA-1, whoever sends them; a chunk counts as present
-- for a user's assemble only if that user uploaded it, so nobody learns
-- from the missing chunks (or can assemble into their own project) what
-- another user uploaded. Rows older than an hour are deleted with the
-- chunks by the artifact retention job.
CREATE TABLE artifact_chunk_uploads (
	checksum    TEXT    NOT NULL,
	user_id     BIGINT  NOT NULL REFERENCES users (id),
	uploaded_at BIGINT  NOT NULL,
	PRIMARY KEY (checksum, user_id)
);
CREATE INDEX artifact_chunk_uploads_time ON artifact_chunk_uploads (uploaded_at);
