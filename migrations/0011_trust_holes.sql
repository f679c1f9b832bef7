-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0011: smaller holes (issue 12).

-- Signed device requests: the replay store is keyed on what was signed,
-- not on the signature text (ECDSA signatures are malleable: (r, n - s) and
-- any new random k sign the same message).  Rows keyed on signature hashes
-- cannot be turned into message hashes; they only mattered for 120 s (the
-- clock-skew window), so the table starts empty: a request signed in the
-- two minutes before this migration could be replayed once after it.
-- Apply it with the devices quiet, or accept that window.
DROP TABLE device_request_nonces;
CREATE TABLE device_request_nonces (
  device_id  text NOT NULL,
  ts         bigint NOT NULL,
  msg_hash   bytea NOT NULL CHECK (length(msg_hash) = 32),
  at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, ts, msg_hash)
);
COMMENT ON TABLE device_request_nonces IS 'Signed device requests seen in the last few minutes, keyed on what was signed: the same message again, under any signature, is a replay.';
COMMENT ON COLUMN device_request_nonces.device_id IS 'The signing device.';
COMMENT ON COLUMN device_request_nonces.ts IS 'Guichet-Timestamp of the request (unix seconds); rows more than 120 s old can be deleted.';
COMMENT ON COLUMN device_request_nonces.msg_hash IS 'SHA-256 of the signed string "METHOD\nPATH\nTIMESTAMP\nhex(SHA-256(body))".';
COMMENT ON COLUMN device_request_nonces.at IS 'When it was seen.';

-- Activation attempts: whether the attempt held the QR's secret (its HMAC
-- proof matched).  Only those count in the genuine phone's risk
-- (qr_multiple_devices): a wrong proof is anyone's to send.  Old rows
-- recorded a wrong signature as proof_invalid too, so they stay false.
ALTER TABLE activation_attempts
  ADD COLUMN proof_ok boolean NOT NULL DEFAULT false;
UPDATE activation_attempts SET proof_ok = true
 WHERE outcome IN ('activated', 'pending_review', 'denied', 'expired',
                   'reused', 'replaced');
COMMENT ON COLUMN activation_attempts.proof_ok IS 'The HMAC proof matched: the sender held the QR''s activation secret. Only such attempts count as another device on the QR in risk scoring.';
COMMENT ON COLUMN activation_attempts.outcome IS 'activated, pending_review, denied, expired, reused, replaced (proof matched); signature_invalid (proof matched, signature did not); proof_invalid, bad_key, unknown (proof not matched or not checked).';

-- Idempotency-Key replays of enrolment creation hand out no session.
COMMENT ON COLUMN idempotency_keys.enrolment_id IS 'Enrolment the first answer created or advanced. A replay never starts a session for it: a client that lost the first answer resumes by the e-mailed link.';
