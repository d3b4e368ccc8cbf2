-- API tokens get a scope ('full', or 'read' for a token that may only
-- read), an optional expiry and the time they were last used (updated at
-- most once a minute), all in Unix milliseconds like every other time.
-- Tokens made before have the scope they had: full, never expiring.
ALTER TABLE api_tokens ADD COLUMN scope        TEXT   NOT NULL DEFAULT 'full';
ALTER TABLE api_tokens ADD COLUMN expires_at   BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
