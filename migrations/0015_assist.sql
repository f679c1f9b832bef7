-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0015_assist.sql -- assisted enrolment: an advisor follows an applicant's
-- enrolment, only with the applicant's one-time code and consent, and only
-- while the applicant lets it (enrol/assist.c, docs/assist.md).
--
-- One row of `assists` is one request for help: a code the applicant was
-- shown (stored as a keyed HMAC, and only while it can still be used),
-- then at most one advisor's session, then its end.  At most one request
-- per enrolment is open at a time.  Wrong codes are counted per advisor in
-- `assist_code_failures`, so the limit holds across guichetd instances.
-- Nothing here holds a secret of the enrolment: the advisor's view is
-- built from an allow-list of columns by enrol/assist_view.c.

ALTER TABLE admins DROP CONSTRAINT admins_role_check;
ALTER TABLE admins ADD CONSTRAINT admins_role_check
  CHECK (role IN ('reviewer', 'advisor', 'admin'));
COMMENT ON COLUMN admins.role IS
  'reviewer (review queue), advisor (follows applicants who ask for help: assisted enrolment) or admin (everything, assisting included).';

CREATE TABLE assists (
  id                text PRIMARY KEY,
  enrolment_id      text NOT NULL REFERENCES enrolments (id),
  code_hash         bytea CHECK (length(code_hash) = 32),
  scopes            text[] NOT NULL
                    CHECK (scopes <@ ARRAY['progress', 'identity', 'device']
                           AND 'progress' = ANY (scopes)),
  created_at        timestamptz NOT NULL DEFAULT now(),
  code_expires_at   timestamptz NOT NULL,
  advisor           text REFERENCES admins (username),
  advisor_addr      text,
  joined_at         timestamptz,
  last_activity_at  timestamptz,
  ended_at          timestamptz,
  ended_by          text,
  end_reason        text CHECK (end_reason IN ('applicant', 'advisor', 'replaced',
                                               'completed', 'rejected', 'expired',
                                               'idle', 'code_expired')),
  CHECK ((advisor IS NULL) = (joined_at IS NULL)),
  CHECK ((ended_at IS NULL) = (end_reason IS NULL)),
  CHECK (code_hash IS NULL OR (advisor IS NULL AND ended_at IS NULL))
);
COMMENT ON TABLE assists IS
  'Requests for help from an advisor: the one-time code an applicant was shown, the advisor who joined with it, and how it ended.  At most one open per enrolment.';
COMMENT ON COLUMN assists.id IS
  'ast_ + 128 random bits; the advisor''s handle on the session (useless to anyone else: bound to the advisor who joined).';
COMMENT ON COLUMN assists.enrolment_id IS 'The enrolment the applicant asked help for.';
COMMENT ON COLUMN assists.code_hash IS
  'HMAC-SHA256 of the 6-digit code under a key derived from the master key (never the code itself); set to NULL as soon as the code is used, replaced or revoked.';
COMMENT ON COLUMN assists.scopes IS
  'What the applicant agreed the advisor may see: progress (always), identity (declared data, identity reasons), device (device risk reasons).';
COMMENT ON COLUMN assists.created_at IS 'When the applicant asked for help (the code was drawn).';
COMMENT ON COLUMN assists.code_expires_at IS 'The code joins no session after this (assist_code_ttl_s, 10 minutes by default).';
COMMENT ON COLUMN assists.advisor IS 'The back-office user who joined with the code; NULL until then.  Only this user may read the session.';
COMMENT ON COLUMN assists.advisor_addr IS 'The address the advisor joined from.';
COMMENT ON COLUMN assists.joined_at IS 'When the advisor joined (the code was spent).';
COMMENT ON COLUMN assists.last_activity_at IS
  'The last join or hint; with the enrolment''s updated_at it dates the last activity, and a session idle for assist_idle_s (15 minutes) ends.';
COMMENT ON COLUMN assists.ended_at IS 'When the request or session ended; an ended session never works again.';
COMMENT ON COLUMN assists.ended_by IS 'Who ended it: "applicant", the advisor''s user name, or "system".';
COMMENT ON COLUMN assists.end_reason IS
  'applicant (Stop), advisor (ended from the back-office), replaced (the applicant asked for a new code), completed / rejected / expired (the enrolment ended), idle, code_expired (never joined).';
CREATE UNIQUE INDEX assists_live_code ON assists (code_hash)
  WHERE code_hash IS NOT NULL;
CREATE UNIQUE INDEX assists_open_per_enrolment ON assists (enrolment_id)
  WHERE ended_at IS NULL;
CREATE INDEX assists_enrolment ON assists (enrolment_id, created_at);

CREATE TABLE assist_hints (
  id         bigserial PRIMARY KEY,
  assist_id  text NOT NULL REFERENCES assists (id),
  at         timestamptz NOT NULL DEFAULT now(),
  step       text NOT NULL,
  text       text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 280)
);
COMMENT ON TABLE assist_hints IS
  'Short texts an advisor sent to the applicant''s page during a session (also in the audit log).';
COMMENT ON COLUMN assist_hints.id IS 'Order of sending.';
COMMENT ON COLUMN assist_hints.assist_id IS 'The session it was sent in.';
COMMENT ON COLUMN assist_hints.at IS 'When it was sent.';
COMMENT ON COLUMN assist_hints.step IS 'The enrolment state when it was sent: the page shows it beside that step.';
COMMENT ON COLUMN assist_hints.text IS '1-280 characters of plain text, without control, bidi-override or zero-width characters; shown as text, never as markup.';
CREATE INDEX assist_hints_assist ON assist_hints (assist_id, id);

CREATE TABLE assist_code_failures (
  id        bigserial PRIMARY KEY,
  username  text NOT NULL REFERENCES admins (username),
  at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE assist_code_failures IS
  'One row per wrong, used or expired code an advisor entered; assist_code_attempts of them within assist_code_window_s answer 429 (sliding window, counted under a per-advisor lock).  Rows older than the window are deleted by the next attempt of the same advisor.';
COMMENT ON COLUMN assist_code_failures.id IS 'Row id.';
COMMENT ON COLUMN assist_code_failures.username IS 'The advisor who entered the code.';
COMMENT ON COLUMN assist_code_failures.at IS 'When.';
CREATE INDEX assist_code_failures_user ON assist_code_failures (username, at);

-- The advisor's view is live: its long poll waits on NOTIFY
-- guichet_enrolment '<enrolment id>' (server/longpoll.c).  Steps made by
-- other modules (a PIN set, a first code, a QR shown) do not all notify,
-- so these triggers do, for an enrolment that an advisor follows.  A
-- notification is only a wake-up: the view is read again from the tables.
CREATE FUNCTION assist_notify () RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  eid text := to_jsonb (NEW) ->> TG_ARGV[0];
BEGIN
  IF EXISTS (SELECT 1 FROM assists WHERE enrolment_id = eid
             AND ended_at IS NULL AND advisor IS NOT NULL) THEN
    PERFORM pg_notify ('guichet_enrolment', eid);
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION assist_notify () IS
  'Trigger function: NOTIFY guichet_enrolment with the enrolment id (from the column named by the trigger argument) when an advisor follows that enrolment.';
CREATE TRIGGER enrolments_assist_notify AFTER UPDATE ON enrolments
  FOR EACH ROW EXECUTE FUNCTION assist_notify ('id');
CREATE TRIGGER device_challenges_assist_notify AFTER INSERT ON device_challenges
  FOR EACH ROW EXECUTE FUNCTION assist_notify ('enrolment_id');
