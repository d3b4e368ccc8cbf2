-- Counting a search's issues (the API's X-Hits) reads every issue of the
-- project the search may match, up to the count's cap. Read through an
-- index of the sort (or of the status), their rows come in the order of
-- that figure, a page of the table apart each time; this index holds each
-- project's issues in table order (after project_id, SQLite orders an
-- index by rowid), so a count reads the project's pages one after the
-- other. Nothing but an issue's creation or deletion writes it: no save
-- changes an issue's project.
CREATE INDEX issues_project ON issues (project_id);
