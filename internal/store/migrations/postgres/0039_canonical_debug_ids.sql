-- Debug IDs canonical (internal/debugid): uploads stored a file's debug
-- ID only lower-cased, as the tool wrote it (without dashes, in braces,
-- after urn:uuid:), where an event's is dashed lower case, so such an
-- upload was never found by an event's debug ID. Uploads now store it
-- canonical; this rewrites the ones stored before as debugid.Canonical
-- would, and blanks what is no debug ID (no event carries one, and a
-- file without one is looked up by release and name). Rows are never
-- removed: two files whose IDs become one (the same build uploaded twice,
-- spelled two ways) are both kept, and lookups, newest first (highest
-- id), use the newest, as for any ID uploaded twice. Only the rows not
-- canonical yet are written; text with a non-ASCII character (which no
-- UUID has, and whose length in characters is not its length in bytes,
-- which uuid.Parse counts) is none.
UPDATE artifact_files SET debug_id = CASE
	WHEN length(debug_id) <> octet_length(debug_id) THEN ''
	-- xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in any case
	WHEN length(debug_id) = 36 THEN lower(debug_id)
	-- {...}: the two outer characters are not checked, as uuid.Parse does not
	WHEN length(debug_id) = 38 THEN lower(substr(debug_id, 2, 36))
	WHEN length(debug_id) = 45 AND lower(substr(debug_id, 1, 9)) = 'urn:uuid:' THEN lower(substr(debug_id, 10, 36))
	WHEN length(debug_id) = 32 THEN lower(substr(debug_id, 1, 8) || '-' || substr(debug_id, 9, 4) || '-' || substr(debug_id, 13, 4) || '-' || substr(debug_id, 17, 4) || '-' || substr(debug_id, 21, 12))
	ELSE ''
	END
WHERE debug_id <> '' AND debug_id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
-- What is still not a dashed UUID (a misplaced dash, a letter past f), and
-- the nil UUID, are no debug ID.
UPDATE artifact_files SET debug_id = ''
WHERE debug_id <> '' AND (debug_id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' OR debug_id = '00000000-0000-0000-0000-000000000000');
