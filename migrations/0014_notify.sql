-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0014_notify.sql -- Guichet speaks: delivery state of the e-mail outbox,
-- how a customer is reached and recognises the bank (their assurance code),
-- the relying parties' webhook endpoints and the events queued for them.
--
-- notify/ owns these tables.  Domain modules queue rows inside their own
-- transactions (notify/queue.c); the sender threads of guichetd claim due
-- rows with FOR UPDATE SKIP LOCKED, so several instances share the work and
-- no row is sent by two of them at once.  A row is marked sent only after
-- the relay or the receiver accepted it: delivery is at least once, and a
-- message sent twice keeps its Message-ID (an event its id).
--
-- Nothing here holds an assurance code in clear: it is sealed (AES-256-GCM
-- envelope of core/crypto.c) with associated data naming its owner.  A
-- bearer secret in a message (a resume link's token) has one place, the
-- secret column of migration 0011: the message says {{secret}} where the
-- sender puts it at send time, and the statement that marks the row sent
-- or failed clears it -- a CHECK refuses a row that is not pending and
-- still holds one.

-- ------------------------------------------------------------ outbox

ALTER TABLE outbox
  ADD COLUMN state text NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'sent', 'failed')),
  ADD COLUMN attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN last_attempt_at timestamptz,
  ADD COLUMN last_error text,
  ADD COLUMN failed_at timestamptz,
  ADD COLUMN message_id uuid NOT NULL DEFAULT gen_random_uuid(),
  ADD COLUMN lang text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr')),
  ADD COLUMN params jsonb,
  ADD COLUMN customer_id text,
  -- 0011 added it (a new resume link deletes the unsent message of the
  -- one it replaces); notify/ uses it too, for messages to applicants
  ADD COLUMN IF NOT EXISTS enrolment_id text REFERENCES enrolments (id);
UPDATE outbox SET state = 'sent' WHERE sent_at IS NOT NULL;
-- A row's secret lives only while it is pending: sent (0011 already
-- refused a sent_at with a secret) or failed, it holds none.
ALTER TABLE outbox DROP CONSTRAINT outbox_secret_until_sent;
ALTER TABLE outbox ADD CONSTRAINT outbox_secret_until_sent
  CHECK (secret IS NULL OR (state = 'pending' AND sent_at IS NULL));

COMMENT ON TABLE outbox IS
  'E-mail to send, written in the transaction that decides to send it; notify/ delivers it (at least once) and records the outcome.';
COMMENT ON COLUMN outbox.kind IS 'The message, e.g. resume_link, welcome, account_locked: with params set, also the name of the template notify/ renders it from.';
COMMENT ON COLUMN outbox.subject IS 'Subject line of a row written as text; empty for a templated row (params set), rendered when sent.';
COMMENT ON COLUMN outbox.body IS 'Text body of a row written as text; empty for a templated row.  Never holds a secret: where the message carries one, it says {{secret}} and the sender puts the secret column there when it sends.';
COMMENT ON COLUMN outbox.sent_at IS 'When the relay accepted the message (set with state = sent and secret = NULL).';
COMMENT ON COLUMN outbox.state IS 'pending (to send, at next_attempt_at), sent (accepted by the relay), failed (given up after notify_max_attempts or a permanent refusal).';
COMMENT ON COLUMN outbox.attempts IS 'Delivery attempts made so far.';
COMMENT ON COLUMN outbox.next_attempt_at IS 'Not sent before then: now() when queued, then exponential back-off with jitter after each failed attempt.';
COMMENT ON COLUMN outbox.last_attempt_at IS 'When the last attempt ended.';
COMMENT ON COLUMN outbox.last_error IS 'Why the last attempt failed (the relay''s answer or the transport error); never holds message content.';
COMMENT ON COLUMN outbox.failed_at IS 'When the row was given up (state failed).';
COMMENT ON COLUMN outbox.message_id IS 'Left part of the Message-ID header (<uuid@mail domain>), the same on every attempt so a duplicate is recognisably the same message.';
COMMENT ON COLUMN outbox.lang IS 'Language of the message: the enrolment''s page language, or the customer''s.';
COMMENT ON COLUMN outbox.params IS 'Template parameters (JSON object) of a templated row; NULL for a row written as text.  Never hold a secret: a link that carries one says {{secret}} in its place (e.g. params->>''link'' = ''https://…/#resume=<id>.{{secret}}'').';
COMMENT ON COLUMN outbox.secret IS 'The bearer part of the message (a resume link''s token), put where the rendered message says {{secret}} when it is sent.  Cleared by the statement that marks the row sent or failed: a row that is not pending never keeps it (CHECK outbox_secret_until_sent).';
COMMENT ON COLUMN outbox.customer_id IS 'For a message to a customer: who; the body then ends with their assurance code, read sealed from customer_contacts when sending.';
COMMENT ON COLUMN outbox.enrolment_id IS 'For a message to an applicant: the enrolment it is about.  A new resume link deletes the pending messages of the enrolment that still hold a secret (the links it replaces).';
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_failed ON outbox (failed_at DESC) WHERE state = 'failed';
CREATE INDEX outbox_customer ON outbox (customer_id, id) WHERE customer_id IS NOT NULL;
-- (Retention deletes sent rows by sent_at -- index outbox_sent of 0010 --
-- and failed ones by failed_at, outbox_failed.)
DROP INDEX outbox_enrolment_unsent;
CREATE INDEX outbox_enrolment_pending ON outbox (enrolment_id)
  WHERE state = 'pending' AND enrolment_id IS NOT NULL;

-- ------------------------------------------------------------ customers

ALTER TABLE enrolments
  ADD COLUMN lang text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr')),
  ADD COLUMN assurance_sealed bytea;
COMMENT ON COLUMN enrolments.lang IS 'The page language the applicant started in (en or fr): the language of the messages to them.';
COMMENT ON COLUMN enrolments.assurance_sealed IS 'The assurance code the applicant chose, sealed (aad "assurance:enrolment:<id>"); moved to customer_contacts and cleared at completion.';

CREATE TABLE customer_contacts (
  customer_id       text PRIMARY KEY REFERENCES customers (id),
  email             text,
  lang              text NOT NULL DEFAULT 'en' CHECK (lang IN ('en', 'fr')),
  assurance_sealed  bytea,
  assurance_set_at  timestamptz,
  assurance_set_by  text CHECK (assurance_set_by IN ('applicant', 'drawn',
                      'device', 'staff')),
  created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE customer_contacts IS
  'How Guichet reaches a customer, and the assurance code with which they recognise a genuine message.';
COMMENT ON COLUMN customer_contacts.customer_id IS 'The customer.';
COMMENT ON COLUMN customer_contacts.email IS 'Where messages to the customer go: the address of the enrolment that created them (a later re-enrolment does not change it), or NULL.';
COMMENT ON COLUMN customer_contacts.lang IS 'Language of messages to the customer (en or fr).';
COMMENT ON COLUMN customer_contacts.assurance_sealed IS 'The assurance code (6 characters of ABCDEFGHJKLMNPQRSTUVWXYZ23456789), sealed with aad "assurance:customer:<id>".  Ends every message to the customer and comes with every pending transaction.';
COMMENT ON COLUMN customer_contacts.assurance_set_at IS 'When the code was last set.';
COMMENT ON COLUMN customer_contacts.assurance_set_by IS 'Who set it last: applicant (chosen at enrolment), drawn (at completion), device (the customer''s phone), staff (support, audited).';
COMMENT ON COLUMN customer_contacts.created_at IS 'When the customer was first reachable.';
-- Customers who completed an enrolment before this migration are reached
-- at the address of their latest one (where trust-identity's re-enrolment
-- message went).  They have no code yet: the sender draws one
-- (assurance_set_by 'drawn') before their first message, which then ends
-- with it.
INSERT INTO customer_contacts (customer_id, email, lang)
SELECT DISTINCT ON (e.customer_id) e.customer_id, e.email, 'en'
  FROM enrolments e JOIN customers c ON c.id = e.customer_id
 WHERE e.state = 'completed'
 ORDER BY e.customer_id, e.completed_at DESC NULLS LAST;

-- ------------------------------------------------------------ webhooks

CREATE TABLE webhook_endpoints (
  api_key_id     bigint PRIMARY KEY REFERENCES api_keys (id),
  url            text NOT NULL CHECK (length(url) BETWEEN 8 AND 2048),
  secret_sealed  bytea NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE webhook_endpoints IS
  'Where a relying party (an API key) receives events; set by guichetd apikey create --webhook or apikey webhook.';
COMMENT ON COLUMN webhook_endpoints.api_key_id IS 'The API key (relying party) the endpoint belongs to; locked by the sender while it delivers, so events of one key go out one at a time and in order.';
COMMENT ON COLUMN webhook_endpoints.url IS 'https URL (http only on a loopback address); redirects are never followed.';
COMMENT ON COLUMN webhook_endpoints.secret_sealed IS 'The signing secret (whsec_...), sealed with aad "webhook:<api_key_id>"; shown once when made.';
COMMENT ON COLUMN webhook_endpoints.created_at IS 'When the endpoint was first set.';
COMMENT ON COLUMN webhook_endpoints.updated_at IS 'When the URL or the secret last changed.';

CREATE TABLE webhook_events (
  seq              bigserial PRIMARY KEY,
  id               text NOT NULL CHECK (id ~ '^evt_[A-Za-z0-9_-]{22}$'),
  api_key_id       bigint NOT NULL REFERENCES api_keys (id),
  type             text NOT NULL CHECK (type ~ '^[a-z_]+\.[a-z_]+$'),
  created_at       timestamptz NOT NULL DEFAULT now(),
  data             jsonb NOT NULL,
  state            text NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_attempt_at  timestamptz,
  last_status      integer,
  last_error       text,
  delivered_at     timestamptz,
  failed_at        timestamptz,
  UNIQUE (api_key_id, id)
);
COMMENT ON TABLE webhook_events IS
  'Events for relying parties, one row per receiving API key, delivered in seq order per key, at least once, with the same id on every attempt.';
COMMENT ON COLUMN webhook_events.seq IS 'Order of queueing: a key''s events are delivered in this order.';
COMMENT ON COLUMN webhook_events.id IS 'The event id (evt_ + 128 random bits), the same for every key that receives the event and on every attempt.';
COMMENT ON COLUMN webhook_events.api_key_id IS 'The relying party that receives it.';
COMMENT ON COLUMN webhook_events.type IS 'transaction.approved, transaction.declined, transaction.expired, transaction.failed, customer.locked, credential.revoked, ...';
COMMENT ON COLUMN webhook_events.created_at IS 'When it happened; the created_at of the body.';
COMMENT ON COLUMN webhook_events.data IS 'The data object of the body; never a PIN, an OTP, a seed, a document number or an assurance code.';
COMMENT ON COLUMN webhook_events.state IS 'pending, delivered (the receiver answered 2xx), failed (given up after notify_max_attempts).';
COMMENT ON COLUMN webhook_events.attempts IS 'Delivery attempts made so far.';
COMMENT ON COLUMN webhook_events.next_attempt_at IS 'Not sent before then (back-off with jitter after a failure); later events of the key wait behind it.';
COMMENT ON COLUMN webhook_events.last_attempt_at IS 'When the last attempt ended.';
COMMENT ON COLUMN webhook_events.last_status IS 'HTTP status of the last answer, NULL if there was none.';
COMMENT ON COLUMN webhook_events.last_error IS 'Why the last attempt failed.';
COMMENT ON COLUMN webhook_events.delivered_at IS 'When the receiver accepted it.';
COMMENT ON COLUMN webhook_events.failed_at IS 'When it was given up.';
CREATE INDEX webhook_events_head ON webhook_events (api_key_id, seq)
  WHERE state = 'pending';
CREATE INDEX webhook_events_failed ON webhook_events (failed_at DESC)
  WHERE state = 'failed';
CREATE INDEX webhook_events_delivered ON webhook_events (delivered_at)
  WHERE state = 'delivered';

-- ------------------------------------------------------------ queueing

-- The two ways anything is queued, used by notify/queue.c's statements and
-- by the lockout trigger below, so both fan out and address alike.

CREATE FUNCTION notify_queue_customer_mail (p_customer text, p_kind text,
                                            p_params jsonb)
RETURNS bigint LANGUAGE sql VOLATILE AS $$
  INSERT INTO outbox (kind, recipient, subject, body, params, lang,
                      customer_id)
  SELECT p_kind, c.email, '', '', p_params, c.lang, c.customer_id
    FROM customer_contacts c
   WHERE c.customer_id = p_customer AND c.email IS NOT NULL
  RETURNING id
$$;
COMMENT ON FUNCTION notify_queue_customer_mail (text, text, jsonb) IS
  'Queue templated message p_kind to customer p_customer in their language; nothing when they have no address.  Returns the outbox id or NULL.';

CREATE FUNCTION notify_queue_event (p_type text, p_api_key bigint,
                                    p_data jsonb)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_id text := 'evt_' || rtrim(translate(encode(uuid_send(gen_random_uuid()),
                 'base64'), '+/', '-_'), '=');
  v_n integer;
BEGIN
  INSERT INTO webhook_events (id, api_key_id, type, data)
  SELECT v_id, w.api_key_id, p_type, p_data
    FROM webhook_endpoints w JOIN api_keys k ON k.id = w.api_key_id
   WHERE k.revoked_at IS NULL
     AND (p_api_key IS NULL OR w.api_key_id = p_api_key);
  GET DIAGNOSTICS v_n = ROW_COUNT;
  RETURN v_n;
END
$$;
COMMENT ON FUNCTION notify_queue_event (text, bigint, jsonb) IS
  'Queue event p_type with data p_data for API key p_api_key (NULL: every key with a webhook endpoint), one row per key under one new event id.  Returns the number of rows queued.';

-- What a decided payment transaction says.  authn/'s deciding statements
-- (approve, decline, the wrong code that fails it, and expiry, by a
-- decision that finds it past its time or by the retention pass's sweep)
-- call it for the row their conditional UPDATE won, in the same statement:
-- each outcome is queued once, with the change that made it, and authn/
-- links nothing of notify/.
CREATE FUNCTION notify_queue_transaction (p_id text, p_api_key bigint,
  p_customer text, p_status text, p_amount text, p_currency text,
  p_payee_name text, p_decided_at timestamptz, p_expires_at timestamptz,
  p_method text)
RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_decided text := to_char(p_decided_at AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS"Z"');
  v_n integer;
BEGIN
  IF p_status NOT IN ('approved', 'declined', 'expired', 'failed') THEN
    RAISE EXCEPTION 'transaction %: no event for status %', p_id, p_status;
  END IF;
  v_n := notify_queue_event('transaction.' || p_status, p_api_key,
    jsonb_build_object('transaction_id', p_id, 'customer_id', p_customer,
      'status', p_status, 'amount', p_amount, 'currency', p_currency,
      'payee_name', p_payee_name, 'decided_at', v_decided,
      'expires_at', to_char(p_expires_at AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
      'method', p_method));
  IF p_status IN ('approved', 'declined') THEN
    PERFORM notify_queue_customer_mail(p_customer, 'transaction_' || p_status,
      jsonb_build_object('amount', p_amount, 'currency', p_currency,
                         'payee_name', p_payee_name, 'at', v_decided));
  END IF;
  RETURN v_n;
END
$$;
COMMENT ON FUNCTION notify_queue_transaction (text, bigint, text, text, text, text, text, timestamptz, timestamptz, text) IS
  'What a decided payment transaction says: the event transaction.<p_status> (approved, declined, expired, failed) for API key p_api_key, the relying party that created it, and for approved and declined the customer''s e-mail with the amount and the payee.  Returns the number of events queued (0 when the key has no webhook).';

-- ------------------------------------------------------------ lockout

-- A customer is locked by a single conditional UPDATE on the hot path of
-- verify (authn/authn_db.c: authn_fail and authn_spend, which the passkey
-- and offline transaction codes share).  It sets locked_at to now() and
-- locked_until to when the lock ends: lockout_until() of migration 0010,
-- doubling with each lock, or infinity when locks are permanent.  A lock
-- that ended leaves locked_at as it was, so "becomes locked" is read on
-- locked_until: not locked before (NULL, or past), locked after.  The
-- message and the event are queued here, in the transaction of whichever
-- statement locked, so none is lost and no statement on the hot path
-- grows.  unlocks_at is NULL for a permanent lock.

CREATE FUNCTION notify_customer_locked () RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_at text := to_char(coalesce(NEW.locked_at, now()) AT TIME ZONE 'UTC',
                       'YYYY-MM-DD"T"HH24:MI:SS"Z"');
  v_until text := CASE WHEN isfinite(NEW.locked_until)
                  THEN to_char(NEW.locked_until AT TIME ZONE 'UTC',
                               'YYYY-MM-DD"T"HH24:MI:SS"Z"') END;
BEGIN
  PERFORM notify_queue_customer_mail(NEW.id, 'account_locked',
            jsonb_build_object('locked_at', v_at, 'unlocks_at', v_until));
  PERFORM notify_queue_event('customer.locked', NULL,
            jsonb_build_object('customer_id', NEW.id, 'locked_at', v_at,
                               'unlocks_at', v_until));
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION notify_customer_locked () IS
  'Trigger function: when a customer becomes locked, queue the account_locked message and the customer.locked event, both saying when the lock ends (unlocks_at, NULL when permanent).';
CREATE TRIGGER customers_locked_notify
  AFTER UPDATE OF locked_until ON customers
  FOR EACH ROW
  WHEN (NEW.locked_until > now()
        AND NOT coalesce(OLD.locked_until > now(), false))
  EXECUTE FUNCTION notify_customer_locked ();
