-- Counting a search's issues in an environment (the API's X-Hits) reads
-- every issue of the project there the search may match, up to the
-- count's cap. Through an index of the sort, the environment's rows come
-- in the order of a figure, each issue a page of the table away from the
-- last; this index holds them in issue order, so that each of the
-- issues' pages is read once (countOrder). Nothing but an issue's first
-- event in the environment and the issue's deletion writes it: no save
-- changes its columns.
CREATE INDEX issue_environments_issue ON issue_environments (project_id, environment, issue_id);
