-- SPDX-License-Identifier: AGPL-3.0-or-later
-- 0003: enrolments, applicant sessions, idempotency, resume links, outbox.

CREATE TABLE enrolments (
  id                text PRIMARY KEY,
  state             text NOT NULL CHECK (state IN ('identity', 'identity_review',
                      'device', 'device_review', 'pin_otp', 'credential',
                      'completed', 'rejected', 'expired')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL,
  applicant         jsonb NOT NULL,
  email             text NOT NULL,
  doc_key           text,
  identity_key      text NOT NULL,
  identity_decision text CHECK (identity_decision IN ('pass', 'review', 'reject')),
  identity_result   jsonb,
  customer_id       text
);
COMMENT ON TABLE enrolments IS
  'One onboarding attempt; each step is a conditional state transition of its row.';
COMMENT ON COLUMN enrolments.id IS 'Public identifier (enr_ + 128 random bits).';
COMMENT ON COLUMN enrolments.state IS 'identity -> (identity_review) -> device -> (device_review) -> pin_otp -> credential -> completed; terminal rejected, expired.';
COMMENT ON COLUMN enrolments.created_at IS 'When the applicant started.';
COMMENT ON COLUMN enrolments.updated_at IS 'Last state change.';
COMMENT ON COLUMN enrolments.expires_at IS 'After this the enrolment answers 410 enrolment_expired.';
COMMENT ON COLUMN enrolments.applicant IS 'Declared data as submitted (names, birth date, nationality, residence, e-mail, phone).';
COMMENT ON COLUMN enrolments.email IS 'Where resume links are sent.';
COMMENT ON COLUMN enrolments.doc_key IS 'SHA-256 of issuing state and document number, for duplicate detection without keeping the number in clear.';
COMMENT ON COLUMN enrolments.identity_key IS 'SHA-256 of normalised surname, given names and birth date, for duplicate detection.';
COMMENT ON COLUMN enrolments.identity_decision IS 'Outcome of the identity check.';
COMMENT ON COLUMN enrolments.identity_result IS 'Reasons and per-check results, with the sanctions list version and entry, so the decision can be explained later.';
COMMENT ON COLUMN enrolments.customer_id IS 'The customer created at completion.';
CREATE INDEX enrolments_doc_key ON enrolments (doc_key) WHERE doc_key IS NOT NULL;
CREATE INDEX enrolments_identity_key ON enrolments (identity_key);

CREATE TABLE applicant_sessions (
  token_hash    bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  enrolment_id  text NOT NULL REFERENCES enrolments (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE applicant_sessions IS
  'Browser sessions of applicants; the cookie holds the token, the table its SHA-256.';
COMMENT ON COLUMN applicant_sessions.token_hash IS 'SHA-256 of the session cookie value.';
COMMENT ON COLUMN applicant_sessions.enrolment_id IS 'The one enrolment this session may read and advance.';
COMMENT ON COLUMN applicant_sessions.created_at IS 'When the session started.';
COMMENT ON COLUMN applicant_sessions.last_seen_at IS 'Last use; idle longer than session_idle_s means expired.';
CREATE INDEX applicant_sessions_enrolment ON applicant_sessions (enrolment_id);

CREATE TABLE resume_tokens (
  token_hash    bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  enrolment_id  text NOT NULL REFERENCES enrolments (id),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz
);
COMMENT ON TABLE resume_tokens IS 'One-time tokens of the resume links e-mailed to applicants.';
COMMENT ON COLUMN resume_tokens.token_hash IS 'SHA-256 of the token in the link.';
COMMENT ON COLUMN resume_tokens.enrolment_id IS 'The enrolment the link resumes.';
COMMENT ON COLUMN resume_tokens.created_at IS 'When the link was made.';
COMMENT ON COLUMN resume_tokens.expires_at IS 'The link works until then.';
COMMENT ON COLUMN resume_tokens.used_at IS 'Set when the link started a session; a used link never works again.';

CREATE TABLE outbox (
  id          bigserial PRIMARY KEY,
  created_at  timestamptz NOT NULL DEFAULT now(),
  kind        text NOT NULL,
  recipient   text NOT NULL,
  subject     text NOT NULL,
  body        text NOT NULL,
  sent_at     timestamptz
);
COMMENT ON TABLE outbox IS 'Messages to send (a mailer drains it); written in the transaction that decides to send.';
COMMENT ON COLUMN outbox.id IS 'Order of writing.';
COMMENT ON COLUMN outbox.created_at IS 'When the message was queued.';
COMMENT ON COLUMN outbox.kind IS 'What the message is, e.g. resume_link.';
COMMENT ON COLUMN outbox.recipient IS 'E-mail address.';
COMMENT ON COLUMN outbox.subject IS 'Subject line.';
COMMENT ON COLUMN outbox.body IS 'Text body (a resume link is a bearer secret: delete rows once sent).';
COMMENT ON COLUMN outbox.sent_at IS 'Set by the mailer.';

CREATE TABLE idempotency_keys (
  scope         text NOT NULL,
  key           text NOT NULL,
  request_hash  bytea NOT NULL,
  status        integer NOT NULL,
  response      text NOT NULL,
  enrolment_id  text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, key)
);
COMMENT ON TABLE idempotency_keys IS 'First answers to POSTs sent with an Idempotency-Key, replayed for the same key and body.';
COMMENT ON COLUMN idempotency_keys.scope IS 'Route name, plus the enrolment for routes under one.';
COMMENT ON COLUMN idempotency_keys.key IS 'The client''s Idempotency-Key header.';
COMMENT ON COLUMN idempotency_keys.request_hash IS 'SHA-256 of the body; the same key with another body is refused.';
COMMENT ON COLUMN idempotency_keys.status IS 'HTTP status of the first answer.';
COMMENT ON COLUMN idempotency_keys.response IS 'JSON body of the first answer (never holds a secret).';
COMMENT ON COLUMN idempotency_keys.enrolment_id IS 'Enrolment the first answer created or advanced, to re-issue a session on replay.';
COMMENT ON COLUMN idempotency_keys.created_at IS 'Kept 24 hours.';
