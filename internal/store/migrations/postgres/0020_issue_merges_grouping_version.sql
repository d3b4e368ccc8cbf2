-- The grouping version a merged issue's fingerprint was made under, so an
-- event whose previous grouping hashes name a merged fingerprint follows it
-- to the issue it was merged into only when that fingerprint is an old
-- version's, as adopting an issue by a previous hash requires (see
-- adoptIssue). The merged issues of earlier merges are gone: their rows
-- take the version of the issue they were merged into, which the merged
-- issues of a project almost always shared.
ALTER TABLE issue_merges ADD COLUMN grouping_version TEXT NOT NULL DEFAULT '';
UPDATE issue_merges SET grouping_version = (SELECT i.grouping_version FROM issues i WHERE i.id = issue_merges.issue_id);
