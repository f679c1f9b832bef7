-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0001: relying parties' API keys.  (schema_migrations is created by the
-- migrator itself, before any file runs.)

CREATE TABLE api_keys (
  id          bigserial PRIMARY KEY,
  name        text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
  key_hash    bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
COMMENT ON TABLE api_keys IS
  'Keys with which relying parties (the bank''s systems) call /v1/authn and /v1/transactions.';
COMMENT ON COLUMN api_keys.id IS 'Surrogate key.';
COMMENT ON COLUMN api_keys.name IS 'Operator-chosen name of the relying party; appears in audit rows.';
COMMENT ON COLUMN api_keys.key_hash IS 'SHA-256 of the key as presented in Authorization: Bearer; the key itself is shown once and never stored.';
COMMENT ON COLUMN api_keys.created_at IS 'When the key was made.';
COMMENT ON COLUMN api_keys.revoked_at IS 'When the key stopped working; NULL while valid.';
