-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0010_abuse.sql -- abuse controls that must hold across instances, so
-- they live here and not in any process: rate limits (one row per limited
-- thing, one upsert per request), temporary lockouts that double each
-- time (customers, and back-office usernames whether or not the account
-- exists), and the indexes the retention purge walks.
--
-- Rate limits are a generic cell rate algorithm (GCRA): a key's whole
-- state is one timestamp, the "theoretical arrival time" (tat) of its next
-- request.  A limit of N per P seconds lets each request move tat P/N
-- ahead, and admits a request while tat is at most P - P/N ahead of now,
-- so N requests may come at once and then one every P/N.  A refused
-- request changes nothing and, when the key is well over its limit, costs
-- one indexed read: a flood against a limit writes nothing.

-- ------------------------------------------------------------------
-- Rate limits

CREATE TABLE rate_limits (
  scope  text NOT NULL CHECK (scope ~ '^[a-z][a-z_]*$'),
  key    text NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
  tat    timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
) WITH (fillfactor = 50);
CREATE INDEX rate_limits_tat ON rate_limits (tat);

COMMENT ON TABLE rate_limits IS
  'One row per rate-limited key (a client address, an enrolment, a challenge, a customer, an API key, a back-office username): the GCRA state of its limit.  A row whose tat is past holds nothing (the key is as fresh as one never seen) and is purged.';
COMMENT ON COLUMN rate_limits.scope IS
  'What is limited, e.g. enrolment_address, resume_link_enrolment, activation_challenge, admin_login_username, authn_api_key, pin_enrolment (docs/security-abuse.md lists them).';
COMMENT ON COLUMN rate_limits.key IS
  'Who or what within the scope: a client address (IPv6 as its /64), an id, a username.  Never a secret.';
COMMENT ON COLUMN rate_limits.tat IS
  'Theoretical arrival time: when the key''s bucket is empty again.  Each admitted request moves it period/count ahead of max(tat, now()); a request is admitted while tat - now() <= period - period/count.';

CREATE FUNCTION rate_limit_take (p_scope text, p_key text, p_count integer,
                                 p_period_s integer)
RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  step interval;     -- one request's share of the period
  ahead interval;    -- how far tat may run ahead of now when admitting
  cur timestamptz;
BEGIN
  IF p_count IS NULL OR p_count <= 0 OR p_period_s IS NULL OR p_period_s <= 0 THEN
    RETURN 0;                                    -- the limit is off
  END IF;
  step := make_interval(secs => p_period_s::double precision / p_count);
  ahead := make_interval(secs => p_period_s) - step;
  -- Well over the limit: answer from a plain read, take no lock, write
  -- nothing.
  SELECT r.tat INTO cur FROM rate_limits r
   WHERE r.scope = p_scope AND r.key = p_key;
  IF FOUND AND cur - now() > ahead THEN
    RETURN greatest(1, ceil(extract(epoch FROM cur - ahead - now())))::integer;
  END IF;
  INSERT INTO rate_limits AS r (scope, key, tat)
  VALUES (p_scope, p_key, now() + step)
  ON CONFLICT (scope, key) DO UPDATE
     SET tat = greatest(r.tat, now()) + step
   WHERE r.tat - now() <= ahead
  RETURNING r.tat INTO cur;
  IF FOUND THEN
    RETURN 0;
  END IF;
  -- Lost a race to requests that filled the bucket meanwhile.
  SELECT r.tat INTO cur FROM rate_limits r
   WHERE r.scope = p_scope AND r.key = p_key;
  RETURN greatest(1, ceil(extract(epoch FROM cur - ahead - now())))::integer;
END
$$;
COMMENT ON FUNCTION rate_limit_take (text, text, integer, integer) IS
  'Take one request from the limit "p_count per p_period_s seconds" of (p_scope, p_key).  Returns 0 when admitted (counted in the caller''s transaction), else the whole seconds until a request would be admitted (>= 1; nothing counted).  A count or period of 0 is "no limit" and returns 0 without touching the table.';

-- ------------------------------------------------------------------
-- Lockouts: temporary, doubling, capped (or permanent by configuration)

CREATE FUNCTION lockout_until (p_lockouts integer, p_base_s integer,
                               p_max_s integer)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_base_s <= 0 THEN 'infinity'::timestamptz
              ELSE now() + make_interval(secs => least(
                     p_base_s::double precision
                       * power(2::double precision, least(greatest(p_lockouts, 0), 30)),
                     greatest(p_max_s, p_base_s)::double precision))
         END
$$;
COMMENT ON FUNCTION lockout_until (integer, integer, integer) IS
  'When a lock that begins now ends, for a subject locked p_lockouts times before without a success in between: p_base_s x 2^p_lockouts seconds, at most p_max_s; p_base_s <= 0 means a permanent lock (infinity), which only an unlock ends.';

CREATE FUNCTION lockout_failures (p_failed integer, p_locked_until timestamptz)
RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN p_locked_until <= now() THEN 0 ELSE p_failed END
$$;
COMMENT ON FUNCTION lockout_failures (integer, timestamptz) IS
  'The failures that still count: none once a temporary lock has ended (the subject starts afresh, one lock further along the doubling), else the stored count.';

ALTER TABLE customers
  ADD COLUMN locked_until timestamptz,
  ADD COLUMN lockouts integer NOT NULL DEFAULT 0 CHECK (lockouts >= 0);
-- Locks made before this migration were permanent: they stay so.
UPDATE customers SET locked_until = 'infinity' WHERE locked_at IS NOT NULL;

COMMENT ON COLUMN customers.failed_attempts IS
  'Consecutive failed verify/resync attempts (wrong PIN or OTP) since the last success, unlock or ended lock; reset by a successful verify or an unlock.  Once locked_until has passed they no longer count (lockout_failures()).';
COMMENT ON COLUMN customers.locked_at IS
  'When the current or last lock began; NULL when never locked since the last success or unlock.';
COMMENT ON COLUMN customers.locked_until IS
  'When the lock ends: the customer is locked while locked_until > now().  infinity for a permanent lock (lockout_permanent = 1, or a lock made before migration 0010); NULL when not locked.  Only an unlock ends a permanent lock.';
COMMENT ON COLUMN customers.lockouts IS
  'Locks since the last success or unlock: the next lock lasts lockout_base_s x 2^lockouts seconds, at most lockout_max_s.';

-- Back-office login failures are counted per username tried, whether or
-- not the account exists, so a lock (423) never tells a stranger that a
-- username is real.
CREATE TABLE admin_lockouts (
  username         text PRIMARY KEY
                   CHECK (username ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  failed_attempts  integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
  lockouts         integer NOT NULL DEFAULT 0 CHECK (lockouts >= 0),
  locked_at        timestamptz,
  locked_until     timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_lockouts_updated ON admin_lockouts (updated_at);

COMMENT ON TABLE admin_lockouts IS
  'Failed back-office logins per username tried -- an existing account or not, so unknown and known usernames answer alike -- and their temporary, doubling locks.  A success, a new password or guichetd admin unlock deletes the row; rows idle for retention_s with no lock in force are purged.';
COMMENT ON COLUMN admin_lockouts.username IS
  'The username as submitted (well-formed names only); no foreign key on purpose.';
COMMENT ON COLUMN admin_lockouts.failed_attempts IS
  'Consecutive failures (unknown user, wrong or replayed code, wrong password) since the last success, unlock or ended lock.';
COMMENT ON COLUMN admin_lockouts.lockouts IS
  'Locks since the last success or unlock; the next lasts lockout_base_s x 2^lockouts seconds, at most lockout_max_s.';
COMMENT ON COLUMN admin_lockouts.locked_at IS
  'When the current or last lock began; NULL if none yet.';
COMMENT ON COLUMN admin_lockouts.locked_until IS
  'When the lock ends (locked while locked_until > now()); infinity when permanent; NULL when not locked.';
COMMENT ON COLUMN admin_lockouts.updated_at IS
  'Last failure counted; the purge keeps a row retention_s after it unless a lock is in force.';

-- Carry over the back-office counts, then drop them from admins: one
-- place holds a username's failures, whoever it belongs to.
INSERT INTO admin_lockouts (username, failed_attempts, lockouts, locked_at,
                            locked_until)
SELECT username, failed_attempts, CASE WHEN locked_at IS NULL THEN 0 ELSE 1 END,
       locked_at, CASE WHEN locked_at IS NULL THEN NULL ELSE 'infinity'::timestamptz END
  FROM admins WHERE failed_attempts > 0 OR locked_at IS NOT NULL;
ALTER TABLE admins DROP COLUMN failed_attempts, DROP COLUMN locked_at;

-- ------------------------------------------------------------------
-- What the retention purge walks (core/retention.c and the jobs each
-- module registers): every condition is a range on one indexed column.

CREATE INDEX device_challenges_expires ON device_challenges (expires_at);
CREATE INDEX devices_challenge ON devices (challenge_id);
CREATE INDEX activation_attempts_at ON activation_attempts (at);
CREATE INDEX device_request_nonces_at ON device_request_nonces (at);
CREATE INDEX applicant_sessions_last_seen ON applicant_sessions (last_seen_at);
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen_at);
CREATE INDEX resume_tokens_expires ON resume_tokens (expires_at);
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
