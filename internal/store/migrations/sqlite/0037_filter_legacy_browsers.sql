-- Each project's legacy browsers filter (internal/inbound): a JSON list of
-- its choices, none until an admin chooses (see docs/filters.md for why
-- not Sentry's default, every browser).
ALTER TABLE projects ADD COLUMN filter_legacy_browsers TEXT NOT NULL DEFAULT '[]';
