-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0013_passkeys.sql -- passkeys (WebAuthn): the customer's laptops and
-- phones registered as FIDO2 credentials whose key only the user's
-- biometric or device PIN unlocks, and the single-use challenges of their
-- ceremonies.  authn/passkey*.c owns every statement on these tables.
--
-- A passkey holds no secret here: the private key never leaves the
-- authenticator; we keep its public key, the signature counter that
-- betrays a cloned authenticator, and what the authenticator said about
-- itself (AAGUID, flags, transports).  Sign-in attempts are audited in
-- authn_audit (action 'passkey') and count toward the customer's lockout
-- like PIN+OTP attempts; registrations, revocations and flags are in the
-- hash-chained audit_log.

CREATE TABLE passkeys (
  id                 text PRIMARY KEY,
  customer_id        text REFERENCES customers (id),
  enrolment_id       text REFERENCES enrolments (id),
  credential_id      bytea NOT NULL UNIQUE
                       CHECK (length(credential_id) BETWEEN 1 AND 1023),
  user_handle        bytea NOT NULL CHECK (length(user_handle) BETWEEN 1 AND 64),
  public_key_cose    bytea NOT NULL CHECK (length(public_key_cose) <= 1024),
  public_key         bytea NOT NULL CHECK (length(public_key) <= 1024),
  algorithm          integer NOT NULL CHECK (algorithm IN (-7, -8, -257)),
  sign_count         bigint NOT NULL DEFAULT 0
                       CHECK (sign_count BETWEEN 0 AND 4294967295),
  aaguid             uuid NOT NULL,
  attestation_format text NOT NULL CHECK (attestation_format IN ('none', 'packed')),
  attestation_type   text NOT NULL CHECK (attestation_type IN ('none', 'self', 'basic')),
  user_verified      boolean NOT NULL,
  backup_eligible    boolean NOT NULL,
  backed_up          boolean NOT NULL,
  transports         text[] NOT NULL DEFAULT '{}',
  status             text NOT NULL
                       CHECK (status IN ('pending', 'active', 'flagged', 'revoked')),
  registered_by      text NOT NULL CHECK (registered_by <> ''),
  created_at         timestamptz NOT NULL DEFAULT now(),
  last_used_at       timestamptz,
  flagged_at         timestamptz,
  flag_reason        text,
  revoked_at         timestamptz,
  revoked_by         text,
  revoke_reason      text,
  CHECK ((status = 'pending') = (customer_id IS NULL)),
  CHECK (status <> 'pending' OR enrolment_id IS NOT NULL),
  CHECK (customer_id IS NULL OR user_handle = convert_to(customer_id, 'UTF8')),
  CHECK ((status = 'flagged') = (flagged_at IS NOT NULL) OR status = 'revoked'),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

CREATE INDEX passkeys_customer_idx ON passkeys (customer_id);
CREATE INDEX passkeys_pending_idx ON passkeys (enrolment_id) WHERE status = 'pending';

COMMENT ON TABLE passkeys IS
  'WebAuthn credentials (passkeys) of customers: one row per authenticator key pair registered, with what verifying its assertions needs.';
COMMENT ON COLUMN passkeys.id IS
  'Our identifier, "pk_" followed by 22 base64url characters; the credential_id of an accepted passkey sign-in.';
COMMENT ON COLUMN passkeys.customer_id IS
  'The customer who signs in with it; NULL while pending (registered during an enrolment that has not completed yet: set at completion).';
COMMENT ON COLUMN passkeys.enrolment_id IS
  'The enrolment during which it was registered, or NULL when a relying party registered it for an existing customer.';
COMMENT ON COLUMN passkeys.credential_id IS
  'The authenticator''s credential ID (rawId), unique: an assertion is matched to its passkey by it.';
COMMENT ON COLUMN passkeys.user_handle IS
  'The user.id given to the authenticator at registration: the UTF-8 bytes of the customer id.  A discoverable sign-in returns it as userHandle.';
COMMENT ON COLUMN passkeys.public_key_cose IS
  'The credential public key as the authenticator sent it (COSE_Key, CBOR), kept as the record of what was registered.';
COMMENT ON COLUMN passkeys.public_key IS
  'The same key in the form libfido2 verifies with: ES256 x||y (64 bytes), EdDSA the Ed25519 point (32 bytes), RS256 n||e (259 bytes).';
COMMENT ON COLUMN passkeys.algorithm IS
  'COSE algorithm of the key: -7 ES256 (ECDSA P-256 SHA-256), -8 EdDSA (Ed25519), -257 RS256 (RSASSA-PKCS1-v1_5 SHA-256).';
COMMENT ON COLUMN passkeys.sign_count IS
  'The last signature counter accepted.  An assertion must carry a larger one (or 0 when both are 0: authenticators without a counter); a smaller or equal one is refused and flags the passkey (a cloned authenticator).';
COMMENT ON COLUMN passkeys.aaguid IS
  'The authenticator model''s AAGUID from the attested credential data (all zero when the authenticator or the browser does not tell); checked against the risk rules'' passkey.aaguid_allow / passkey.aaguid_deny at registration.';
COMMENT ON COLUMN passkeys.attestation_format IS
  'Attestation statement format at registration: none or packed.';
COMMENT ON COLUMN passkeys.attestation_type IS
  'none (no statement), self (packed, signed by the credential key itself) or basic (packed, signed by an attestation certificate; the chain is not checked against a trust store).';
COMMENT ON COLUMN passkeys.user_verified IS
  'UV flag of the last accepted ceremony (always true: user verification is required).';
COMMENT ON COLUMN passkeys.backup_eligible IS
  'BE flag at registration: the key may be synchronised to other devices (a multi-device passkey).  It must not change afterwards.';
COMMENT ON COLUMN passkeys.backed_up IS
  'BS flag of the last accepted ceremony: the key is currently backed up (synchronised).';
COMMENT ON COLUMN passkeys.transports IS
  'Transports the browser reported at registration (usb, nfc, ble, internal, hybrid, smart-card), passed back in allowCredentials.';
COMMENT ON COLUMN passkeys.status IS
  'pending (enrolment not completed), active (signs in), flagged (refused until reviewed: e.g. its counter went backwards), revoked (never again).';
COMMENT ON COLUMN passkeys.registered_by IS
  'Who asked for the registration: "enrolment" (the applicant''s session) or the name of the relying party''s API key.';
COMMENT ON COLUMN passkeys.created_at IS 'When it was registered.';
COMMENT ON COLUMN passkeys.last_used_at IS 'When it last signed in successfully; NULL if never.';
COMMENT ON COLUMN passkeys.flagged_at IS 'When it was flagged for review; NULL unless flagged.';
COMMENT ON COLUMN passkeys.flag_reason IS 'Why it was flagged: counter_regressed.';
COMMENT ON COLUMN passkeys.revoked_at IS 'When the back-office revoked it.';
COMMENT ON COLUMN passkeys.revoked_by IS 'The staff member who revoked it.';
COMMENT ON COLUMN passkeys.revoke_reason IS 'The reason given for the revocation.';

CREATE TABLE passkey_challenges (
  id             text PRIMARY KEY,
  purpose        text NOT NULL CHECK (purpose IN ('register', 'authenticate')),
  challenge      bytea NOT NULL CHECK (length(challenge) = 32),
  customer_id    text,
  enrolment_id   text REFERENCES enrolments (id) ON DELETE CASCADE,
  relying_party  text NOT NULL CHECK (relying_party <> ''),
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  used_at        timestamptz,
  CHECK (purpose = 'authenticate' OR customer_id IS NOT NULL),
  CHECK (enrolment_id IS NULL OR purpose = 'register')
);

CREATE INDEX passkey_challenges_expires_idx ON passkey_challenges (expires_at);

COMMENT ON TABLE passkey_challenges IS
  'Challenges of passkey ceremonies: 32 random bytes the authenticator signs, single use, 5 minutes.  Rows are deleted a while after they expire, a few at each new challenge.';
COMMENT ON COLUMN passkey_challenges.id IS
  'Our identifier, "pkc_" followed by 22 base64url characters (the challenge_id of the API).';
COMMENT ON COLUMN passkey_challenges.purpose IS
  'register (navigator.credentials.create) or authenticate (navigator.credentials.get); a challenge serves only its purpose.';
COMMENT ON COLUMN passkey_challenges.challenge IS
  'The challenge bytes; clientDataJSON.challenge must be exactly their base64url.';
COMMENT ON COLUMN passkey_challenges.customer_id IS
  'register: the customer (or the customer id an enrolment reserved) the passkey will belong to, also its user handle.  authenticate: the customer named in the options, or NULL for a discoverable credential.  No foreign key: an unknown customer gets a challenge like a known one.';
COMMENT ON COLUMN passkey_challenges.enrolment_id IS
  'register during an enrolment: the enrolment whose session asked; only that session may use it.';
COMMENT ON COLUMN passkey_challenges.relying_party IS
  'Who asked: an API key''s name, "enrolment" or "signin-demo"; the answer must come through the same.';
COMMENT ON COLUMN passkey_challenges.created_at IS 'When it was made.';
COMMENT ON COLUMN passkey_challenges.expires_at IS 'It is refused (410) from then on.';
COMMENT ON COLUMN passkey_challenges.used_at IS
  'Set by the one conditional UPDATE that spends it (whatever the outcome of the ceremony); a used challenge is refused (409).';

-- Sign-in attempts are audited with PIN+OTP attempts.  The lists below are
-- 0002's plus the passkey values.
ALTER TABLE authn_audit DROP CONSTRAINT authn_audit_action_check;
ALTER TABLE authn_audit ADD CONSTRAINT authn_audit_action_check
  CHECK (action IN ('verify', 'resync', 'tx_response', 'passkey'));
ALTER TABLE authn_audit DROP CONSTRAINT authn_audit_outcome_check;
ALTER TABLE authn_audit ADD CONSTRAINT authn_audit_outcome_check
  CHECK (outcome IN ('accepted', 'otp_invalid', 'otp_replayed', 'pin_invalid',
    'unknown_customer', 'locked', 'no_credential', 'response_invalid',
    'unknown_passkey', 'passkey_inactive', 'type_mismatch',
    'challenge_mismatch', 'origin_mismatch', 'cross_origin', 'rp_id_mismatch',
    'up_missing', 'uv_missing', 'backup_state_invalid', 'signature_invalid',
    'counter_regressed', 'user_handle_mismatch', 'challenge_used',
    'challenge_expired'));
COMMENT ON COLUMN authn_audit.action IS
  'verify (PIN + OTP), resync (two consecutive HOTP codes) or passkey (a passkey sign-in).';
COMMENT ON COLUMN authn_audit.outcome IS
  'accepted, otp_invalid (no code matched), otp_replayed (code already spent), pin_invalid, unknown_customer, locked, no_credential; for passkeys: unknown_passkey (not the customer''s, or unknown), passkey_inactive (flagged or revoked), the failed ceremony check (type_mismatch, challenge_mismatch, origin_mismatch, cross_origin, rp_id_mismatch, up_missing, uv_missing, backup_state_invalid, signature_invalid, counter_regressed, user_handle_mismatch), or a challenge refused before any check (challenge_used, challenge_expired).';
COMMENT ON COLUMN authn_audit.credential_id IS
  'The credential whose code matched (accepted, pin_invalid, otp_replayed), or the passkey the assertion named (passkey attempts), else NULL.';
