-- Up Migration
-- Per-person tokens for the decision API (`vigil token create --user <id>`). Only the SHA-256 of each
-- token is kept: the token is shown once, at creation, and a leaked table opens no door.
CREATE TABLE api_tokens (
  id           text PRIMARY KEY,
  user_id      text NOT NULL,
  token_sha256 bytea NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);

-- Down Migration
DROP TABLE api_tokens;
