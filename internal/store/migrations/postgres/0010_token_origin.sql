-- Where an API token came from: 'created' by its user under a name
-- (dashboard, POST /api/v1/tokens, flytrap tokens create) or 'password',
-- minted by signing in with the password (POST /api/v1/auth/token, what
-- flytrap login uses). A password-minted token is a session in all but
-- name, so changing the password revokes those and keeps the others.
-- Tokens made before cannot be told apart and count as 'created': they
-- keep working until their user revokes them.
ALTER TABLE api_tokens ADD COLUMN origin TEXT NOT NULL DEFAULT 'created';
