-- When an event, session, upload or API call last named the release (unix
-- milliseconds), updated at most once per store.releaseSeenEvery: retention
-- keeps a release seen within its window (store.PruneReleases), and an
-- event saved while it runs locks the row it updates, so the two do not
-- race. Releases recorded before this count as last seen when first seen.
ALTER TABLE releases ADD COLUMN last_seen BIGINT NOT NULL DEFAULT 0;
UPDATE releases SET last_seen = first_seen;
