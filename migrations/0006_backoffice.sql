-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0006_backoffice.sql -- the back-office: staff accounts (password +
-- TOTP), their sessions, the review queue of flagged identities and
-- devices, and the hash-chained audit log.
--
-- No column holds a password, a TOTP seed or a session token in clear:
-- passwords are Argon2id hashes, seeds AES-256-GCM envelopes bound to
-- their row, session and CSRF tokens SHA-256 hashes.  The audit log is
-- append-only for the role that runs this file (normally the one guichetd
-- uses): REVOKE takes UPDATE, DELETE and TRUNCATE away, and a trigger
-- refuses them for everyone short of a superuser who disables it.

CREATE TABLE admins (
  username         text PRIMARY KEY
                   CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  role             text NOT NULL CHECK (role IN ('reviewer', 'admin')),
  password_hash    text NOT NULL,
  totp_sealed      bytea NOT NULL,
  totp_last_step   bigint NOT NULL DEFAULT 0,
  failed_attempts  integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  locked_at        timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  password_set_at  timestamptz NOT NULL DEFAULT now(),
  last_login_at    timestamptz
);
COMMENT ON TABLE admins IS
  'Back-office staff: reviewers work the review queue, admins may do everything.';
COMMENT ON COLUMN admins.username IS
  'Login name: lowercase letters, digits, dot, underscore, hyphen (1-63).';
COMMENT ON COLUMN admins.role IS
  'reviewer (review queue) or admin (also tokens, customers, credentials, staff).';
COMMENT ON COLUMN admins.password_hash IS
  'Argon2id encoded hash of the password; the password is shown once by guichetd admin create/passwd.';
COMMENT ON COLUMN admins.totp_sealed IS
  'The 20-byte TOTP seed (SHA1, 6 digits, 30 s) sealed with the master key, aad "admin:<username>".';
COMMENT ON COLUMN admins.totp_last_step IS
  'Last TOTP time step accepted; a code of this step or older is a replay.  Advanced by one conditional UPDATE.';
COMMENT ON COLUMN admins.failed_attempts IS
  'Consecutive failed logins (any factor); reset by a successful login or guichetd admin passwd/unlock.';
COMMENT ON COLUMN admins.locked_at IS
  'When failed_attempts reached the lockout limit; NULL while not locked.';
COMMENT ON COLUMN admins.created_at IS 'When the account was made.';
COMMENT ON COLUMN admins.password_set_at IS 'When the password was last set.';
COMMENT ON COLUMN admins.last_login_at IS 'Last successful login.';

CREATE TABLE admin_sessions (
  token_hash    bytea PRIMARY KEY CHECK (length(token_hash) = 32),
  username      text NOT NULL REFERENCES admins (username),
  csrf_hash     bytea NOT NULL CHECK (length(csrf_hash) = 32),
  client_addr   text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz NOT NULL DEFAULT now(),
  ended_at      timestamptz
);
COMMENT ON TABLE admin_sessions IS
  'Back-office browser sessions; the guichet_admin cookie holds the token, this table its SHA-256.';
COMMENT ON COLUMN admin_sessions.token_hash IS 'SHA-256 of the session cookie value (256 random bits).';
COMMENT ON COLUMN admin_sessions.username IS 'Who logged in.';
COMMENT ON COLUMN admin_sessions.csrf_hash IS 'SHA-256 of the CSRF token every POST must carry in X-CSRF-Token.';
COMMENT ON COLUMN admin_sessions.client_addr IS 'Address the login came from.';
COMMENT ON COLUMN admin_sessions.created_at IS 'Login time.';
COMMENT ON COLUMN admin_sessions.last_seen_at IS 'Last use; idle for 15 minutes means expired.';
COMMENT ON COLUMN admin_sessions.ended_at IS 'Set by logout or a password change; an ended session never works again.';
CREATE INDEX admin_sessions_username ON admin_sessions (username);

CREATE TABLE reviews (
  id              text PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('identity', 'device')),
  enrolment_id    text NOT NULL REFERENCES enrolments (id),
  device_id       text REFERENCES devices (id),
  state           text NOT NULL DEFAULT 'open'
                  CHECK (state IN ('open', 'awaiting_second_approval',
                                   'approved', 'rejected')),
  score           integer CHECK (score BETWEEN 0 AND 100),
  reasons         jsonb NOT NULL,
  four_eyes       boolean NOT NULL,
  first_approver  text REFERENCES admins (username),
  decided_by      text REFERENCES admins (username),
  comments        jsonb NOT NULL DEFAULT '[]',
  created_at      timestamptz NOT NULL DEFAULT now(),
  decided_at      timestamptz,
  CHECK ((kind = 'device') = (device_id IS NOT NULL))
);
COMMENT ON TABLE reviews IS
  'The back-office queue: an identity check or a device risk scoring that said review, opened in the same transaction as that decision.';
COMMENT ON COLUMN reviews.id IS 'rev_ + 128 random bits.';
COMMENT ON COLUMN reviews.kind IS 'identity (enrolment in identity_review) or device (device pending_review, enrolment in device_review).';
COMMENT ON COLUMN reviews.enrolment_id IS 'The enrolment waiting for the decision.';
COMMENT ON COLUMN reviews.device_id IS 'The phone waiting for the decision (device reviews only).';
COMMENT ON COLUMN reviews.state IS 'open -> (awaiting_second_approval) -> approved, or rejected; each move is a conditional UPDATE.';
COMMENT ON COLUMN reviews.score IS 'The device risk score (0-100); NULL for identity reviews.';
COMMENT ON COLUMN reviews.reasons IS 'JSON array of the reason codes that flagged it (identity or risk reasons).';
COMMENT ON COLUMN reviews.four_eyes IS 'Approval needs two different staff, the second an admin: the score reached threshold.four_eyes of the risk rules, or a sanctions_match.';
COMMENT ON COLUMN reviews.first_approver IS 'Who gave the first of two approvals (four eyes).';
COMMENT ON COLUMN reviews.decided_by IS 'Who closed it (the final approval or the rejection).';
COMMENT ON COLUMN reviews.comments IS 'JSON array of every decision made on it: {"by", "role", "decision", "comment", "at"}.';
COMMENT ON COLUMN reviews.created_at IS 'When it was flagged.';
COMMENT ON COLUMN reviews.decided_at IS 'When it was closed.';
CREATE INDEX reviews_state_created ON reviews (state, created_at DESC);
CREATE INDEX reviews_enrolment ON reviews (enrolment_id);

CREATE TABLE audit_log (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL,
  actor      text NOT NULL CHECK (actor <> ''),
  action     text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  target     text NOT NULL DEFAULT '',
  details    jsonb NOT NULL DEFAULT '{}',
  prev_hash  bytea NOT NULL CHECK (length(prev_hash) = 32),
  hash       bytea NOT NULL CHECK (length(hash) = 32)
);
COMMENT ON TABLE audit_log IS
  'Append-only, hash-chained record of staff logins, review decisions, blocklist and credential changes (see core/audit.c and docs/backoffice.md).';
COMMENT ON COLUMN audit_log.id IS 'Order of appending (appends are serialised by an advisory lock); gaps are rolled-back appends.';
COMMENT ON COLUMN audit_log.at IS 'When, to the microsecond (hashed as UTC text YYYY-MM-DDTHH:MM:SS.ffffffZ).';
COMMENT ON COLUMN audit_log.actor IS 'Who: a staff user name, "system", or a relying party''s key name.';
COMMENT ON COLUMN audit_log.action IS 'What, dotted: admin.login, admin.login_failed, review.approve, review.reject, blocklist.add, credential.revoke, customer.unlock, ...';
COMMENT ON COLUMN audit_log.target IS 'What it was done to (a review, enrolment, device, user name); empty when none.';
COMMENT ON COLUMN audit_log.details IS 'Anything else worth keeping (comments, reasons); never a secret.  Hashed as compact JSON with sorted keys.';
COMMENT ON COLUMN audit_log.prev_hash IS 'hash of the previous row (32 zero bytes for the first row).';
COMMENT ON COLUMN audit_log.hash IS 'SHA-256(prev_hash || netstrings of id, at, actor, action, target, details): guichetd audit verify recomputes it.';
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_target ON audit_log (target, id);

CREATE FUNCTION audit_log_refuse () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
COMMENT ON FUNCTION audit_log_refuse () IS
  'Trigger function: refuses UPDATE, DELETE and TRUNCATE of audit_log.';
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse ();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse ();

-- The role running the migrations owns the table and is normally the one
-- guichetd uses: an owner's own privileges can be revoked too (it could
-- grant them back, and then meets the trigger).  A deployment with a
-- separate owner should GRANT guichetd only SELECT, INSERT on audit_log and
-- USAGE on audit_log_id_seq.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC, CURRENT_USER;
