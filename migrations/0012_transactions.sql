-- SPDX-License-Identifier: AGPL-3.0-or-later
--
-- 0012_transactions.sql -- payment approval with dynamic linking (PSD2 RTS
-- 2018/389 Art. 5): the transactions a relying party asks a customer to
-- approve, what approved them (the signed data T, the DER signature and
-- the phone's public key), the trail of every decision, the origins a
-- relying party may send its payers back to, and the link between a phone
-- credential and the phone that holds its seed.
--
-- A decision is one conditional UPDATE (WHERE status = 'pending' AND
-- expires_at > now()), so of parallel approvals exactly one wins; a
-- trigger refuses any change to the data a phone signs and any change to a
-- decided transaction (see authn/tx_db.c).

-- ---------------------------------------------------------------- origins

ALTER TABLE api_keys ADD COLUMN origins text[] NOT NULL DEFAULT '{}';
COMMENT ON COLUMN api_keys.origins IS
  'Origins (scheme://host[:port], lower case, default port left out) the relying party registered with guichetd apikey create --origin; a transaction''s return_url must be on one of them.';

-- ------------------------------------------------- which phone holds a seed

ALTER TABLE credentials ADD COLUMN device_id text REFERENCES devices (id);
COMMENT ON COLUMN credentials.device_id IS
  'For kind device: the phone whose seed this credential holds.  Only a phone with an active credential may list and approve transactions, so revoking the credential of a lost phone also stops it signing payments.';
-- Credentials issued before this column: the enrolment that completed
-- with the phone as credential wrote both rows in one transaction, so
-- their timestamps (now(), the transaction's start) are equal.
UPDATE credentials k SET device_id = e.device_id
  FROM enrolments e
 WHERE k.kind = 'device' AND k.device_id IS NULL
   AND e.customer_id = k.customer_id AND e.credential_kind = 'device'
   AND e.state = 'completed' AND e.device_id IS NOT NULL
   AND e.completed_at = k.created_at;
CREATE INDEX credentials_device_idx ON credentials (device_id)
  WHERE device_id IS NOT NULL;

-- ------------------------------------------- wrong response codes, counted

-- Wrong offline response codes count toward the customer's lockout
-- through authn_fail, which audits them in authn_audit.
ALTER TABLE authn_audit DROP CONSTRAINT authn_audit_action_check;
ALTER TABLE authn_audit ADD CONSTRAINT authn_audit_action_check
  CHECK (action IN ('verify', 'resync', 'tx_response'));
ALTER TABLE authn_audit DROP CONSTRAINT authn_audit_outcome_check;
ALTER TABLE authn_audit ADD CONSTRAINT authn_audit_outcome_check
  CHECK (outcome IN ('accepted', 'otp_invalid', 'otp_replayed', 'pin_invalid',
                     'unknown_customer', 'locked', 'no_credential',
                     'response_invalid'));
COMMENT ON COLUMN authn_audit.action IS
  'verify (PIN + OTP), resync (two consecutive HOTP codes) or tx_response (an offline transaction response code).';
COMMENT ON COLUMN authn_audit.outcome IS
  'accepted, otp_invalid (no code matched), otp_replayed (code already spent), pin_invalid, unknown_customer, locked, no_credential, response_invalid (wrong transaction response code).';

-- ------------------------------------------------------------ transactions

CREATE TABLE transactions (
  id                 text PRIMARY KEY CHECK (id ~ '^tx_[A-Za-z0-9_-]{22}$'),
  api_key_id         bigint NOT NULL REFERENCES api_keys (id),
  customer_id        text NOT NULL REFERENCES customers (id),
  amount             text NOT NULL
                     CHECK (amount ~ '^(0|[1-9][0-9]*)(\.[0-9]+)?$'
                            AND length(amount) <= 16),
  currency           text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  payee_name         text NOT NULL
                     CHECK (char_length(payee_name) BETWEEN 1 AND 70
                            AND payee_name !~ '[[:cntrl:]]'),
  payee_iban         text NOT NULL
                     CHECK (payee_iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
  nonce              text NOT NULL CHECK (nonce ~ '^[A-Za-z0-9_-]{22}$'),
  return_url         text CHECK (length(return_url) <= 2048),
  link_hash          bytea NOT NULL UNIQUE CHECK (length(link_hash) = 32),
  link_sealed        bytea NOT NULL,
  idempotency_key    text CHECK (length(idempotency_key) BETWEEN 8 AND 128),
  request_hash       bytea CHECK (length(request_hash) = 32),
  status             text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'approved', 'declined',
                                       'expired', 'failed')),
  response_failures  integer NOT NULL DEFAULT 0 CHECK (response_failures >= 0),
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  decided_at         timestamptz,
  method             text CHECK (method IN ('signature', 'response_code')),
  device_id          text REFERENCES devices (id),
  approved_t         text,
  signature          bytea,
  device_public_key  bytea CHECK (length(device_public_key) = 65),
  client_addr        text,
  UNIQUE (api_key_id, idempotency_key),
  CHECK ((idempotency_key IS NULL) = (request_hash IS NULL)),
  CHECK ((status = 'approved') = (method IS NOT NULL)),
  CHECK (status <> 'approved'
         OR (device_id IS NOT NULL AND approved_t IS NOT NULL
             AND decided_at IS NOT NULL)),
  CHECK (method IS DISTINCT FROM 'signature'
         OR (signature IS NOT NULL AND device_public_key IS NOT NULL)),
  CHECK (method IS DISTINCT FROM 'response_code'
         OR (signature IS NULL AND device_public_key IS NULL))
);
COMMENT ON TABLE transactions IS
  'Payments a relying party asked a customer to approve on their phone (API.md, "Transaction authorisation with dynamic linking").  The phone signs T = "guichet-tx-v1\n" id \n amount \n currency \n payee_name \n payee_iban \n nonce, built from these columns.';
COMMENT ON COLUMN transactions.id IS 'tx_ + 128 random bits (base64url); the first line of T after its label.';
COMMENT ON COLUMN transactions.api_key_id IS 'The relying party''s key that created it; no other key may read, verify or see its evidence.';
COMMENT ON COLUMN transactions.customer_id IS 'The payer: only a phone of this customer may answer.';
COMMENT ON COLUMN transactions.amount IS 'Exactly as signed: a positive decimal with the currency''s ISO 4217 minor units, at most 15 digits, no sign, no leading zero.';
COMMENT ON COLUMN transactions.currency IS 'ISO 4217 alphabetic code from the compiled-in table (authn/tx_check.c).';
COMMENT ON COLUMN transactions.payee_name IS 'Who is paid, as the phone shows it: 1-70 characters, no control, bidi-override, zero-width or other invisible character.';
COMMENT ON COLUMN transactions.payee_iban IS 'Where the money goes: an ISO 13616 IBAN in capitals without spaces, checked by mod 97 and the country''s length.';
COMMENT ON COLUMN transactions.nonce IS '16 random bytes (base64url) made by the server: two transactions with the same data still have different T.';
COMMENT ON COLUMN transactions.return_url IS 'Where the approval page sends the payer once decided (with ?transaction=<id>); on an origin registered for the key, or NULL.';
COMMENT ON COLUMN transactions.link_hash IS 'SHA-256 of the approval link''s secret (the part after # of approval_url): the approval page reaches the transaction only through it.';
COMMENT ON COLUMN transactions.link_sealed IS 'The approval link''s secret sealed with the master key (aad "transaction-link:<id>"), so an Idempotency-Key replay can give the same approval_url again.';
COMMENT ON COLUMN transactions.idempotency_key IS 'The relying party''s Idempotency-Key header, unique per key; the same key with the same body answers the first answer again.';
COMMENT ON COLUMN transactions.request_hash IS 'SHA-256 of the request body sent with the Idempotency-Key; another body with the same key is refused (409).';
COMMENT ON COLUMN transactions.status IS 'pending -> approved | declined | failed (5 wrong response codes) | expired.  A pending row past expires_at reads as expired and is marked so by the first decision that finds it.';
COMMENT ON COLUMN transactions.response_failures IS 'Wrong offline response codes for this transaction; at lockout_attempts the transaction fails.';
COMMENT ON COLUMN transactions.created_at IS 'When the relying party created it.';
COMMENT ON COLUMN transactions.expires_at IS 'created_at + tx_ttl_s; a decision after it answers 410.';
COMMENT ON COLUMN transactions.decided_at IS 'When it was approved, declined or failed; NULL while pending and for expired ones.';
COMMENT ON COLUMN transactions.method IS 'How it was approved: signature (ECDSA over T, online) or response_code (8-digit offline code); NULL unless approved.';
COMMENT ON COLUMN transactions.device_id IS 'The phone that approved or declined it (for a response code, the one whose seed gave the code).';
COMMENT ON COLUMN transactions.approved_t IS 'Evidence: T exactly as verified when it was approved.';
COMMENT ON COLUMN transactions.signature IS 'Evidence: the DER ECDSA-P256-SHA256 signature of T by the phone (method signature).';
COMMENT ON COLUMN transactions.device_public_key IS 'Evidence: the phone''s signing key at approval (65-byte uncompressed SEC1 point), kept here so the evidence stands on its own.';
COMMENT ON COLUMN transactions.client_addr IS 'Address of the relying party''s call that created it.';
CREATE INDEX transactions_pending ON transactions (customer_id, created_at)
  WHERE status = 'pending';
CREATE INDEX transactions_customer ON transactions (customer_id, created_at DESC);
CREATE INDEX transactions_api_key ON transactions (api_key_id, created_at);

CREATE FUNCTION transactions_guard () RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.status <> 'pending' THEN
    RAISE EXCEPTION 'transaction % is % already', OLD.id, OLD.status
      USING ERRCODE = 'check_violation';
  END IF;
  IF (NEW.id, NEW.api_key_id, NEW.customer_id, NEW.amount, NEW.currency,
      NEW.payee_name, NEW.payee_iban, NEW.nonce, NEW.return_url,
      NEW.link_hash, NEW.created_at, NEW.expires_at)
     IS DISTINCT FROM
     (OLD.id, OLD.api_key_id, OLD.customer_id, OLD.amount, OLD.currency,
      OLD.payee_name, OLD.payee_iban, OLD.nonce, OLD.return_url,
      OLD.link_hash, OLD.created_at, OLD.expires_at) THEN
    RAISE EXCEPTION 'the signed data of transaction % cannot change', OLD.id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION transactions_guard () IS
  'Trigger function: a decided transaction never changes, and neither does the data its phone signs.';
CREATE TRIGGER transactions_guard BEFORE UPDATE ON transactions
  FOR EACH ROW EXECUTE FUNCTION transactions_guard ();

-- ------------------------------------------------------------ their trail

CREATE TABLE transaction_events (
  id                 bigserial PRIMARY KEY,
  at                 timestamptz NOT NULL DEFAULT now(),
  transaction_id     text NOT NULL REFERENCES transactions (id),
  event              text NOT NULL
                     CHECK (event IN ('created', 'approved', 'declined',
                                      'expired', 'failed', 'signature_invalid',
                                      'response_invalid', 'locked')),
  method             text CHECK (method IN ('signature', 'response_code')),
  device_id          text,
  actor              text NOT NULL CHECK (actor <> ''),
  client_addr        text,
  attempts_remaining integer
);
COMMENT ON TABLE transaction_events IS
  'Every decision on a transaction and every refused attempt to make one, written in the statement that made it (so a decision and its row cannot part).  Never holds a response code or a link secret.';
COMMENT ON COLUMN transaction_events.id IS 'Order of writing.';
COMMENT ON COLUMN transaction_events.at IS 'When.';
COMMENT ON COLUMN transaction_events.transaction_id IS 'The transaction.';
COMMENT ON COLUMN transaction_events.event IS 'created, approved, declined, expired, failed (decisions); signature_invalid, response_invalid (refused attempts: a signature that is not of T, a wrong code); locked (a code not tried: the customer is locked).';
COMMENT ON COLUMN transaction_events.method IS 'signature or response_code, for approvals and attempts.';
COMMENT ON COLUMN transaction_events.device_id IS 'The phone that answered (signed requests) or whose seed gave the code.';
COMMENT ON COLUMN transaction_events.actor IS 'Who asked: "rp:<API key name>" (the relying party), "device" (the phone), "payer" (the hosted approval page) or "system".';
COMMENT ON COLUMN transaction_events.client_addr IS 'Address of the HTTP client.';
COMMENT ON COLUMN transaction_events.attempts_remaining IS 'After a wrong response code: codes left before the transaction fails; else NULL.';
CREATE INDEX transaction_events_transaction ON transaction_events (transaction_id, id);
