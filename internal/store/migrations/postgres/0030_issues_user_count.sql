-- The issue list sorted by affected users (sort=user_count, Sentry's
-- user): read in order like the other sorts, instead of reading all of a
-- project's issues and sorting them for every page.
CREATE INDEX issues_user_count ON issues (project_id, user_count, id);
