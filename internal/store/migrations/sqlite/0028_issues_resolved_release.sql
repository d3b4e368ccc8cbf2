-- The issues resolved in or after a release: retention keeps a release an
-- issue is resolved by, and must find that out without reading all of the
-- project's issues. Partial, as most issues are resolved by no release.
CREATE INDEX issues_resolved_in_release ON issues (project_id, resolved_in_release) WHERE resolved_in_release <> '';
CREATE INDEX issues_resolved_after_release ON issues (project_id, resolved_after_release) WHERE resolved_after_release <> '';
