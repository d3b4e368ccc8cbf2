-- Each project's legacy browsers filter (internal/inbound): a JSON list of
-- its choices. New projects get Sentry's default, every browser; projects
-- made before keep what they had, the filter off, so that an upgrade
-- drops none of the events they stored until now.
ALTER TABLE projects ADD COLUMN filter_legacy_browsers TEXT NOT NULL
	DEFAULT '["chrome","edge","firefox","safari","opera","opera_mini","android","ie"]';
UPDATE projects SET filter_legacy_browsers = '[]';
