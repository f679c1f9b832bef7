-- authn_audit's action and outcome were checked by table CHECK constraints
-- with long IN lists, which PostgreSQL reads back from their stored form
-- (stringToNode) for every INSERT statement: on the cheapest path there is
-- -- the audit row of an attempt refused because the customer is locked or
-- unknown -- that reading was a large part of the statement's cost.  The
-- same lists as domains: a domain's constraint is read once per database
-- connection (PostgreSQL's type cache) and enforced on every row alike.
-- A later migration that adds a value alters the domain:
--   ALTER DOMAIN authn_outcome DROP CONSTRAINT authn_outcome_check;
--   ALTER DOMAIN authn_outcome ADD CONSTRAINT authn_outcome_check CHECK (…);
CREATE DOMAIN authn_action AS text
  CONSTRAINT authn_action_check
  CHECK (VALUE IN ('verify', 'resync', 'tx_response', 'passkey'));
CREATE DOMAIN authn_outcome AS text
  CONSTRAINT authn_outcome_check
  CHECK (VALUE IN ('accepted', 'otp_invalid', 'otp_replayed', 'pin_invalid',
    'unknown_customer', 'locked', 'no_credential', 'response_invalid',
    'unknown_passkey', 'passkey_inactive', 'type_mismatch',
    'challenge_mismatch', 'origin_mismatch', 'cross_origin', 'rp_id_mismatch',
    'up_missing', 'uv_missing', 'backup_state_invalid', 'signature_invalid',
    'counter_regressed', 'user_handle_mismatch', 'challenge_used',
    'challenge_expired'));
ALTER TABLE authn_audit DROP CONSTRAINT authn_audit_action_check;
ALTER TABLE authn_audit DROP CONSTRAINT authn_audit_outcome_check;
ALTER TABLE authn_audit
  ALTER COLUMN action TYPE authn_action,
  ALTER COLUMN outcome TYPE authn_outcome;
COMMENT ON DOMAIN authn_action IS
  'What an authn_audit row records: verify, resync, tx_response (an offline response code) or passkey.';
COMMENT ON DOMAIN authn_outcome IS
  'How an audited attempt ended (docs/api.md lists the values).';
