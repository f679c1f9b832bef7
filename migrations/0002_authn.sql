-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0002_authn.sql -- the authenticator core: customers with their PIN hash
-- and lockout counter, their OTP credentials with the replay state, and the
-- audit trail of every verify and resync attempt.
--
-- Replay and guessing are stopped here: an OTP is accepted by one
-- conditional UPDATE of credentials.counter, and a failure is counted by one
-- UPDATE of customers.failed_attempts (see authn/authn_db.c).  No column
-- holds a PIN, an OTP or a seed in clear: PINs are Argon2id hashes, seeds
-- are AES-256-GCM envelopes bound to their row.

CREATE TABLE customers (
  id              text PRIMARY KEY,
  ref             text UNIQUE,
  pin_hash        text NOT NULL,
  failed_attempts integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  locked_at       timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE customers IS
  'Bank customers who authenticate with PIN + OTP; one row per customer.';
COMMENT ON COLUMN customers.id IS
  'Our identifier, "cus_" followed by 22 base64url characters (128 random bits).';
COMMENT ON COLUMN customers.ref IS
  'The bank''s own reference for the customer (unique when given), or NULL.';
COMMENT ON COLUMN customers.pin_hash IS
  'Argon2id encoded hash of the PIN ($argon2id$v=19$m=..,t=..,p=..$salt$hash); carries its own cost parameters.';
COMMENT ON COLUMN customers.failed_attempts IS
  'Consecutive failed verify/resync attempts (wrong PIN or OTP); reset by a successful verify or an unlock.';
COMMENT ON COLUMN customers.locked_at IS
  'When failed_attempts reached the lockout limit; NULL while not locked.  Only an unlock clears it.';
COMMENT ON COLUMN customers.created_at IS
  'When the customer was created.';

CREATE TABLE credentials (
  id            text PRIMARY KEY,
  customer_id   text NOT NULL REFERENCES customers (id),
  kind          text NOT NULL CHECK (kind IN ('otpauth', 'device', 'hardware')),
  otp_type      text NOT NULL CHECK (otp_type IN ('totp', 'hotp')),
  algorithm     text NOT NULL CHECK (algorithm IN ('SHA1', 'SHA256', 'SHA512')),
  digits        integer NOT NULL CHECK (digits IN (6, 8)),
  period        integer CHECK (period BETWEEN 1 AND 3600),
  seed_sealed   bytea NOT NULL,
  counter       bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
  drift         integer NOT NULL DEFAULT 0,
  state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  CHECK (otp_type = 'hotp' OR period IS NOT NULL)
);

CREATE INDEX credentials_customer_idx ON credentials (customer_id);

COMMENT ON TABLE credentials IS
  'OTP credentials of customers: an authenticator app (otpauth), an activated phone (device) or a hardware token.';
COMMENT ON COLUMN credentials.id IS
  'Our identifier, "crd_" followed by 22 base64url characters.';
COMMENT ON COLUMN credentials.customer_id IS
  'The customer who holds this credential.';
COMMENT ON COLUMN credentials.kind IS
  'otpauth: a standard authenticator app fed by an otpauth:// URI; device: a phone activated by QR (seed derived by ECDH); hardware: an imported token.';
COMMENT ON COLUMN credentials.otp_type IS
  'totp (RFC 6238) or hotp (RFC 4226).';
COMMENT ON COLUMN credentials.algorithm IS
  'HMAC hash of the OTP: SHA1, SHA256 or SHA512.';
COMMENT ON COLUMN credentials.digits IS
  'Digits per code: 6 or 8.';
COMMENT ON COLUMN credentials.period IS
  'TOTP time step in seconds (T0 = unix epoch); NULL allowed for HOTP only.';
COMMENT ON COLUMN credentials.seed_sealed IS
  'The OTP seed sealed by core_seal (AES-256-GCM envelope: version, key id, IV, ciphertext, tag) with associated data "credential:<id>", so it cannot be moved to another row.';
COMMENT ON COLUMN credentials.counter IS
  'Replay state.  HOTP: the next counter expected (codes below it are spent).  TOTP: the last accepted time step (0 = none yet); only codes of later steps are accepted.  Advanced only by one conditional UPDATE (WHERE counter <= last step not yet spent).';
COMMENT ON COLUMN credentials.drift IS
  'TOTP only: the offset in time steps between the device clock and ours seen at the last accepted code (matched step - current step); the window is searched around now and around now + drift.';
COMMENT ON COLUMN credentials.state IS
  'active credentials are tried by verify; revoked ones never again.';
COMMENT ON COLUMN credentials.created_at IS
  'When the credential was issued.';
COMMENT ON COLUMN credentials.last_used_at IS
  'When a code of this credential was last accepted (verify or resync); NULL if never.';

CREATE TABLE authn_audit (
  id                 bigserial PRIMARY KEY,
  at                 timestamptz NOT NULL DEFAULT now(),
  customer_id        text,
  credential_id      text,
  relying_party      text,
  client_addr        text,
  action             text NOT NULL CHECK (action IN ('verify', 'resync')),
  outcome            text NOT NULL CHECK (outcome IN ('accepted', 'otp_invalid',
                       'otp_replayed', 'pin_invalid', 'unknown_customer',
                       'locked', 'no_credential')),
  attempts_remaining integer
);

CREATE INDEX authn_audit_customer_at_idx ON authn_audit (customer_id, at);

COMMENT ON TABLE authn_audit IS
  'One row per verify or resync attempt, whatever its outcome.  Never holds a PIN, an OTP or a seed.';
COMMENT ON COLUMN authn_audit.id IS
  'Sequence number of the attempt.';
COMMENT ON COLUMN authn_audit.at IS
  'When the attempt was recorded.';
COMMENT ON COLUMN authn_audit.customer_id IS
  'The customer id as submitted (no foreign key: unknown ids are audited too).';
COMMENT ON COLUMN authn_audit.credential_id IS
  'The credential whose code matched (accepted, pin_invalid, otp_replayed), else NULL.';
COMMENT ON COLUMN authn_audit.relying_party IS
  'Name of the API key of the relying party that asked.';
COMMENT ON COLUMN authn_audit.client_addr IS
  'Address of the HTTP client that asked.';
COMMENT ON COLUMN authn_audit.action IS
  'verify (PIN + OTP) or resync (two consecutive HOTP codes).';
COMMENT ON COLUMN authn_audit.outcome IS
  'accepted, otp_invalid (no code matched), otp_replayed (code already spent), pin_invalid, unknown_customer, locked, no_credential.';
COMMENT ON COLUMN authn_audit.attempts_remaining IS
  'Failures left before the lock after this attempt (0 = locked).  Replays of a spent code are audited with the count unchanged; NULL for unknown customers and accepted attempts.';
