-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0008: the credential step of an enrolment.

ALTER TABLE enrolments
  ADD COLUMN otpauth_seed_sealed bytea,
  ADD COLUMN credential_kind text CHECK (credential_kind IN ('device', 'otpauth', 'hardware')),
  ADD COLUMN completed_at timestamptz;
COMMENT ON COLUMN enrolments.otpauth_seed_sealed IS 'A standard-app seed shown once and not yet confirmed by a code (sealed, aad "enrolment-otpauth:<id>"); asking again replaces it; cleared at completion.';
COMMENT ON COLUMN enrolments.credential_kind IS 'The credential the applicant chose at completion.';
COMMENT ON COLUMN enrolments.completed_at IS 'When the customer was created.';
