-- The user an issue is assigned to, NULL for nobody. The store keeps it a
-- member of the issue's project or an admin user: removing the membership,
-- demoting the admin or deleting the user unassigns their issues (the
-- deletion through the foreign key's SET NULL).
ALTER TABLE issues ADD COLUMN assigned_user_id BIGINT NULL REFERENCES users (id) ON DELETE SET NULL;
-- assigned:me and assigned:EMAIL read a user's issues of the project in
-- the list's default order, and unassigning a user finds their issues,
-- without reading the unassigned ones, which are most; assigned:none and
-- is:unassigned read the project's issues by last seen as before.
CREATE INDEX issues_assignee ON issues (assigned_user_id, project_id, last_seen, id) WHERE assigned_user_id IS NOT NULL;
