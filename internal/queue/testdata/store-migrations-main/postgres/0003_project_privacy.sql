-- Per-project data privacy settings, read by the processor before it
-- stores an event. The defaults are the behaviour before the settings
-- existed plus scrubbing: secrets filtered, IP addresses kept as hashes.
-- Field lists are JSON arrays of key names.
ALTER TABLE projects ADD COLUMN scrubbing        BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE projects ADD COLUMN sensitive_fields TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN safe_fields      TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE projects ADD COLUMN drop_ip          BOOLEAN NOT NULL DEFAULT FALSE;
