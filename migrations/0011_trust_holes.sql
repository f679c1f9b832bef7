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

-- Resume links: one live link per enrolment.  A new link ends the ones
-- before it (ended_at); the partial unique index makes "at most one link
-- neither used nor ended" a fact of the schema, not only of the code.
ALTER TABLE resume_tokens ADD COLUMN ended_at timestamptz;
COMMENT ON COLUMN resume_tokens.ended_at IS 'Set when a newer link for the same enrolment replaced this one; an ended link never works.';
UPDATE resume_tokens t SET ended_at = now()
 WHERE t.used_at IS NULL
   AND EXISTS (SELECT 1 FROM resume_tokens n
                WHERE n.enrolment_id = t.enrolment_id AND n.used_at IS NULL
                  AND (n.created_at, n.token_hash) > (t.created_at, t.token_hash));
CREATE UNIQUE INDEX resume_tokens_one_live ON resume_tokens (enrolment_id)
  WHERE used_at IS NULL AND ended_at IS NULL;

-- The outbox holds a bearer secret (a resume link's token) only until the
-- message is sent: the body carries the placeholder {{secret}}, the secret
-- its own column, and a row may not be marked sent while it still holds
-- one.  The sender's contract is in docs/operations.md ("The outbox").
ALTER TABLE outbox
  ADD COLUMN secret text,
  ADD COLUMN enrolment_id text REFERENCES enrolments (id);
COMMENT ON COLUMN outbox.body IS 'Text body.  Never holds a secret: where the message carries one, the body says {{secret}} and the sender substitutes the secret column when it sends.';
COMMENT ON COLUMN outbox.secret IS 'The bearer part of the message (a resume link''s token), substituted for {{secret}} in the body at send time.  Must be cleared (NULL) in the statement that sets sent_at: a sent row never keeps it.';
COMMENT ON COLUMN outbox.enrolment_id IS 'The enrolment the message is about, when there is one: a new resume link deletes the unsent message of the link it replaces.';
COMMENT ON COLUMN outbox.sent_at IS 'Set by the sender, together with secret = NULL, once the message is handed over.';
-- Rows written before: move the token out of the body (unsent rows keep it
-- in secret until sent; sent rows lose it).
UPDATE outbox o SET
  secret = CASE WHEN o.sent_at IS NULL
                THEN substring(o.body from '#resume=[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)') END,
  enrolment_id = (SELECT e.id FROM enrolments e
                   WHERE e.id = substring(o.body from '#resume=([A-Za-z0-9_-]+)\.')),
  body = regexp_replace(o.body, '(#resume=[A-Za-z0-9_-]+\.)[A-Za-z0-9_-]+',
                        '\1{{secret}}', 'g')
 WHERE o.kind = 'resume_link';
ALTER TABLE outbox ADD CONSTRAINT outbox_secret_until_sent
  CHECK (sent_at IS NULL OR secret IS NULL);
CREATE INDEX outbox_enrolment_unsent ON outbox (enrolment_id)
  WHERE sent_at IS NULL AND enrolment_id IS NOT NULL;

-- Back-office sessions also end admin_session_max_s after login.
COMMENT ON COLUMN admin_sessions.created_at IS 'Login time; the session ends admin_session_max_s (default 8 hours) after it, however busy.';
