-- How many distinct values each tag key of an issue has kept, so saving
-- can bound them (MaxIssueTagValues, MaxIssueTagKeys) without counting
-- issue_tags rows. Rows are written only when a key gains a value.
CREATE TABLE issue_tag_keys (
	issue_id    BIGINT  NOT NULL REFERENCES issues (id),
	key         TEXT    NOT NULL,
	value_count BIGINT  NOT NULL,
	PRIMARY KEY (issue_id, key)
);

INSERT INTO issue_tag_keys (issue_id, key, value_count)
	SELECT issue_id, key, COUNT(*) FROM issue_tags GROUP BY issue_id, key;
