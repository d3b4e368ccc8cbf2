-- SQLite's 0041 indexes an environment's issues in issue order, for
-- counting a search's issues there in table order. PostgreSQL needs no
-- such index: its planner, with statistics, joins the environment's rows
-- and the issues by a hash or in the issues' order, and every update of
-- an issue's figures there (never HOT: its indexed figures change) would
-- write one more index entry for nothing. This file keeps the two
-- dialects' migrations numbered alike.
SELECT 1;
