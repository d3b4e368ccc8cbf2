-- The release an issue resolved in the next release was resolved after: the
-- project's latest release then. An event of a release first seen after it
-- reopens the issue; '' for an issue not resolved so.
ALTER TABLE issues ADD COLUMN resolved_after_release TEXT NOT NULL DEFAULT '';
