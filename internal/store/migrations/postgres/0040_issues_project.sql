-- SQLite's 0039 indexes issues by project alone, for counting a search's
-- issues in table order. PostgreSQL needs no such index: its bitmap scans
-- read a table in its order through any index led by project_id, and every
-- update of an issue (never HOT: its indexed figures change) would write
-- one more index entry for nothing. This file keeps the two dialects'
-- migrations numbered alike.
SELECT 1;
