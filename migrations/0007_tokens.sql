-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0007_tokens.sql -- the hardware token inventory: tokens imported from
-- vendors' PSKC files (RFC 6030), each import batch, and what revocation
-- records on a credential.
--
-- A token's secret is never in clear here: it is sealed by core_seal with
-- the associated data "token:<id>", and re-sealed as "credential:<id>" in
-- the credentials row its activation creates.  A token is claimed by one
-- conditional UPDATE (WHERE state = 'in_stock'), so one token can never
-- become two customers' credential (authn/tokens_claim.c).

CREATE TABLE hw_token_imports (
  id            text PRIMARY KEY,
  imported_at   timestamptz NOT NULL DEFAULT now(),
  imported_by   text NOT NULL,
  file_sha256   text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
  encryption    text NOT NULL CHECK (encryption IN ('none', 'key', 'password')),
  partial       boolean NOT NULL,
  key_packages  integer NOT NULL CHECK (key_packages >= 0),
  imported      integer NOT NULL CHECK (imported >= 0),
  duplicates    integer NOT NULL CHECK (duplicates >= 0),
  rejected      jsonb NOT NULL
);

COMMENT ON TABLE hw_token_imports IS
  'One row per PSKC file imported into the token inventory (written in the import''s transaction; a refused file leaves none).';
COMMENT ON COLUMN hw_token_imports.id IS
  'Our identifier, "imp_" followed by 22 base64url characters.';
COMMENT ON COLUMN hw_token_imports.imported_at IS
  'When the import committed.';
COMMENT ON COLUMN hw_token_imports.imported_by IS
  'The admin user name (HTTP) or "cli" (guichetd tokens import).';
COMMENT ON COLUMN hw_token_imports.file_sha256 IS
  'SHA-256 of the PSKC file as received, lowercase hex, to match a batch with the vendor''s file.';
COMMENT ON COLUMN hw_token_imports.encryption IS
  'How the file''s secrets were protected: none (plain values), key (pre-shared AES key) or password (PBKDF2).';
COMMENT ON COLUMN hw_token_imports.partial IS
  'Whether ?partial=1 (or --partial) was given: good keys imported although others were rejected.';
COMMENT ON COLUMN hw_token_imports.key_packages IS
  'KeyPackage elements in the file.';
COMMENT ON COLUMN hw_token_imports.imported IS
  'Tokens inserted by this import.';
COMMENT ON COLUMN hw_token_imports.duplicates IS
  'Key packages skipped because the inventory already had that serial and manufacturer.';
COMMENT ON COLUMN hw_token_imports.rejected IS
  'The refused key packages: [{"serial", "reason", "key_package"}] (never a secret).';

CREATE TABLE hw_tokens (
  id              text PRIMARY KEY,
  serial          text NOT NULL CHECK (serial ~ '^[ -~]{1,64}$'),
  manufacturer    text NOT NULL DEFAULT '' CHECK (length(manufacturer) <= 128),
  otp_type        text NOT NULL CHECK (otp_type IN ('hotp', 'totp')),
  algorithm       text NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
  digits          integer NOT NULL CHECK (digits IN (6, 8)),
  period          integer CHECK (period BETWEEN 1 AND 3600),
  counter         bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  drift           integer NOT NULL DEFAULT 0,
  seed_sealed     bytea NOT NULL,
  state           text NOT NULL DEFAULT 'in_stock'
                  CHECK (state IN ('in_stock', 'assigned', 'active', 'lost', 'revoked')),
  valid_from      timestamptz,
  valid_until     timestamptz,
  imported_at     timestamptz NOT NULL DEFAULT now(),
  import_batch    text NOT NULL REFERENCES hw_token_imports (id),
  customer_id     text REFERENCES customers (id),
  credential_id   text UNIQUE REFERENCES credentials (id),
  state_changed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (serial, manufacturer),
  CHECK (otp_type = 'hotp' OR period IS NOT NULL),
  CHECK (state NOT IN ('assigned', 'active') OR customer_id IS NOT NULL),
  CHECK (state <> 'active' OR credential_id IS NOT NULL)
);

CREATE INDEX hw_tokens_state_idx ON hw_tokens (state, serial);
CREATE INDEX hw_tokens_customer_idx ON hw_tokens (customer_id)
  WHERE customer_id IS NOT NULL;

COMMENT ON TABLE hw_tokens IS
  'The hardware OTP token inventory: one row per token imported from a vendor''s PSKC file, whatever became of it.';
COMMENT ON COLUMN hw_tokens.id IS
  'Our identifier, "tok_" followed by 22 base64url characters.';
COMMENT ON COLUMN hw_tokens.serial IS
  'The serial number printed on the token (PSKC DeviceInfo/SerialNo): what the customer types to activate it.';
COMMENT ON COLUMN hw_tokens.manufacturer IS
  'PSKC DeviceInfo/Manufacturer ("" when the file gives none); a serial is unique per manufacturer.';
COMMENT ON COLUMN hw_tokens.otp_type IS
  'hotp (RFC 4226, event) or totp (RFC 6238, time), from the key''s Algorithm URI.';
COMMENT ON COLUMN hw_tokens.algorithm IS
  'HMAC hash: SHA1 unless the key''s AlgorithmParameters/Suite says SHA256 or SHA512.';
COMMENT ON COLUMN hw_tokens.digits IS
  'Digits per code (ResponseFormat Length): 6 or 8.';
COMMENT ON COLUMN hw_tokens.period IS
  'TOTP time step in seconds (Data/TimeInterval, default 30); NULL for HOTP.';
COMMENT ON COLUMN hw_tokens.counter IS
  'HOTP counter as shipped (Data/Counter).  Once activated, the credential row holds the live counter; this one is not advanced.';
COMMENT ON COLUMN hw_tokens.drift IS
  'TOTP clock drift in time steps as shipped (Data/TimeDrift).';
COMMENT ON COLUMN hw_tokens.seed_sealed IS
  'The token secret sealed by core_seal (AES-256-GCM envelope) with associated data "token:<id>".';
COMMENT ON COLUMN hw_tokens.state IS
  'in_stock (importable, unclaimed), assigned (reserved for a customer, not yet activated), active (a customer''s credential), lost or revoked (never usable again).';
COMMENT ON COLUMN hw_tokens.valid_from IS
  'Latest StartDate of the key''s policy or device; the token cannot be activated before it.  NULL: none given.';
COMMENT ON COLUMN hw_tokens.valid_until IS
  'Earliest ExpiryDate of the key''s policy or device; expired keys are refused at import and at activation.  NULL: none given.';
COMMENT ON COLUMN hw_tokens.imported_at IS
  'When the token was imported.';
COMMENT ON COLUMN hw_tokens.import_batch IS
  'The import that brought it in.';
COMMENT ON COLUMN hw_tokens.customer_id IS
  'The customer holding it (assigned, active, and after a revocation); NULL in stock.';
COMMENT ON COLUMN hw_tokens.credential_id IS
  'The credential its activation created; NULL until then.';
COMMENT ON COLUMN hw_tokens.state_changed_at IS
  'When state last changed.';

ALTER TABLE credentials
  ADD COLUMN revoked_at timestamptz,
  ADD COLUMN revoke_reason text CHECK (length(revoke_reason) <= 200),
  ADD COLUMN revoked_by text;

COMMENT ON COLUMN credentials.revoked_at IS
  'When an admin revoked the credential; NULL while active.';
COMMENT ON COLUMN credentials.revoke_reason IS
  'The reason the admin gave ("lost" also marks a hardware token lost).';
COMMENT ON COLUMN credentials.revoked_by IS
  'The admin who revoked it.';
