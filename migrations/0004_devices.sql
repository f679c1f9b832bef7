-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0004: QR device challenges, activation attempts and bound devices.

CREATE TABLE device_challenges (
  id             text PRIMARY KEY,
  enrolment_id   text NOT NULL REFERENCES enrolments (id),
  secret_sealed  bytea NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL,
  replaced_at    timestamptz,
  used_at        timestamptz,
  browser_addr   text
);
COMMENT ON TABLE device_challenges IS
  'QR challenges shown in the browser; a phone proves it scanned one by an HMAC under its activation secret.';
COMMENT ON COLUMN device_challenges.id IS 'Challenge id (ch_ + 128 random bits), in the QR payload.';
COMMENT ON COLUMN device_challenges.enrolment_id IS 'The enrolment (and so the session) the challenge belongs to.';
COMMENT ON COLUMN device_challenges.secret_sealed IS 'The 16-byte activation secret sealed with the master key (AEAD, aad "challenge:<id>"). It cannot be a hash: the server needs it as the HMAC key of the proof and the HKDF salt of the seed.';
COMMENT ON COLUMN device_challenges.created_at IS 'When the QR was made.';
COMMENT ON COLUMN device_challenges.expires_at IS 'After this, activation answers 410.';
COMMENT ON COLUMN device_challenges.replaced_at IS 'Set when the browser asked for a new challenge; a replaced challenge never activates.';
COMMENT ON COLUMN device_challenges.used_at IS 'Set by the one activation that consumed it.';
COMMENT ON COLUMN device_challenges.browser_addr IS 'Client address of the browser that asked for it (risk: browser vs phone country).';
CREATE INDEX device_challenges_enrolment ON device_challenges (enrolment_id);

CREATE TABLE devices (
  id              text PRIMARY KEY,
  enrolment_id    text NOT NULL REFERENCES enrolments (id),
  challenge_id    text NOT NULL REFERENCES device_challenges (id),
  customer_id     text,
  status          text NOT NULL CHECK (status IN ('active', 'pending_review', 'denied', 'revoked')),
  public_key      bytea NOT NULL CHECK (length(public_key) = 65),
  install_id      text,
  platform        text,
  signals         jsonb NOT NULL,
  client_addr     text,
  seed_sealed     bytea,
  otp_algorithm   text NOT NULL DEFAULT 'SHA256',
  otp_digits      integer NOT NULL DEFAULT 6,
  otp_period      integer NOT NULL DEFAULT 30,
  otp_counter     bigint NOT NULL DEFAULT 0,
  risk            jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz
);
COMMENT ON TABLE devices IS 'Phones bound by QR activation, with the signals they reported.';
COMMENT ON COLUMN devices.id IS 'Device id (dev_ + 128 random bits), in the HKDF info of the seed.';
COMMENT ON COLUMN devices.enrolment_id IS 'The enrolment that bound it.';
COMMENT ON COLUMN devices.challenge_id IS 'The QR challenge it consumed.';
COMMENT ON COLUMN devices.customer_id IS 'Set when the enrolment completes.';
COMMENT ON COLUMN devices.status IS 'active, pending_review (risk said review), denied (risk or a reviewer said no), revoked.';
COMMENT ON COLUMN devices.public_key IS 'ECDSA P-256 signing key, uncompressed SEC1 (65 bytes): verifies signed device requests and transaction approvals.';
COMMENT ON COLUMN devices.install_id IS 'The app installation id the phone reported.';
COMMENT ON COLUMN devices.platform IS 'android, ios, ...';
COMMENT ON COLUMN devices.signals IS 'The device object of the activation request, as sent.';
COMMENT ON COLUMN devices.client_addr IS 'Address the activation came from.';
COMMENT ON COLUMN devices.seed_sealed IS 'The OTP seed both sides derived by ECDH + HKDF, sealed (aad "device:<id>"); NULL for a denied device.';
COMMENT ON COLUMN devices.otp_algorithm IS 'TOTP HMAC algorithm announced to the phone.';
COMMENT ON COLUMN devices.otp_digits IS 'TOTP digits.';
COMMENT ON COLUMN devices.otp_period IS 'TOTP period in seconds.';
COMMENT ON COLUMN devices.otp_counter IS 'Last accepted TOTP time step before the credential exists (first-OTP confirmation); an older or equal step is a replay.';
COMMENT ON COLUMN devices.risk IS 'The risk decision at activation: score, decision, reasons, rule-set version, input hash.';
COMMENT ON COLUMN devices.created_at IS 'Activation time.';
COMMENT ON COLUMN devices.decided_at IS 'When a reviewer decided a pending device.';
CREATE INDEX devices_install_id ON devices (install_id);
CREATE INDEX devices_public_key ON devices (public_key);
CREATE INDEX devices_client_addr_time ON devices (client_addr, created_at);

CREATE TABLE activation_attempts (
  id             bigserial PRIMARY KEY,
  at             timestamptz NOT NULL DEFAULT now(),
  challenge_id   text NOT NULL,
  enrolment_id   text,
  public_key     bytea,
  install_id     text,
  client_addr    text,
  outcome        text NOT NULL
);
COMMENT ON TABLE activation_attempts IS 'Every POST /v1/devices/activate, accepted or not: a QR tried by two phones shows here.';
COMMENT ON COLUMN activation_attempts.id IS 'Order of arrival.';
COMMENT ON COLUMN activation_attempts.at IS 'When.';
COMMENT ON COLUMN activation_attempts.challenge_id IS 'The challenge id the phone sent (may be unknown).';
COMMENT ON COLUMN activation_attempts.enrolment_id IS 'Its enrolment, when the challenge exists.';
COMMENT ON COLUMN activation_attempts.public_key IS 'The signing key the phone sent.';
COMMENT ON COLUMN activation_attempts.install_id IS 'The install id the phone sent.';
COMMENT ON COLUMN activation_attempts.client_addr IS 'Where it came from.';
COMMENT ON COLUMN activation_attempts.outcome IS 'activated, pending_review, denied, expired, reused, replaced, proof_invalid, signature_invalid, unknown.';
CREATE INDEX activation_attempts_challenge ON activation_attempts (challenge_id);

CREATE TABLE device_request_nonces (
  device_id   text NOT NULL,
  signature_hash bytea NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, signature_hash)
);
COMMENT ON TABLE device_request_nonces IS 'Signatures of signed device requests seen in the last few minutes: a replay of the same signature is refused.';
COMMENT ON COLUMN device_request_nonces.device_id IS 'The signing device.';
COMMENT ON COLUMN device_request_nonces.signature_hash IS 'SHA-256 of the Guichet-Signature value.';
COMMENT ON COLUMN device_request_nonces.at IS 'When it was seen; rows older than the clock-skew window can be deleted.';

ALTER TABLE enrolments
  ADD COLUMN pin_hash text,
  ADD COLUMN otp_failures integer NOT NULL DEFAULT 0,
  ADD COLUMN device_id text REFERENCES devices (id);
COMMENT ON COLUMN enrolments.pin_hash IS 'Argon2id hash of the PIN the applicant chose; moves to the customer at completion.';
COMMENT ON COLUMN enrolments.otp_failures IS 'Wrong first-OTP confirmations; the lockout limit applies as for customers.';
COMMENT ON COLUMN enrolments.device_id IS 'The phone bound in this enrolment.';
