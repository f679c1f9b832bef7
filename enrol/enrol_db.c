/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * enrol_db.c -- every SQL statement of enrol/, registered once and prepared
 * on each connection.  State changes are conditional UPDATEs on the current
 * state, so two requests racing on one enrolment cannot both win.
 */
#include "enrol/enrol_db.h"

static const struct core_db_stmt stmts[] = {
  { "enrol_insert",
    "INSERT INTO enrolments (id, state, expires_at, applicant, email, doc_key,"
    " identity_key, identity_decision, identity_result, lang)"
    " VALUES ($1, $2, now() + make_interval(secs => $3::int), $4::jsonb, $5,"
    " $6, $7, $8, $9::jsonb, coalesce($10, 'en'))" },
  { "enrol_duplicates",
    "SELECT id FROM enrolments WHERE state NOT IN ('rejected', 'expired')"
    " AND ((doc_key IS NOT NULL AND doc_key = $1) OR identity_key = $2)"
    " LIMIT 5" },
  { "enrol_prior_customer",
    "SELECT customer_id FROM enrolments WHERE state = 'completed'"
    " AND customer_id IS NOT NULL"
    " AND ((doc_key IS NOT NULL AND doc_key = $1) OR identity_key = $2)"
    " ORDER BY completed_at DESC LIMIT 1" },
  { "enrol_set_customer",
    "UPDATE enrolments SET customer_id = $2 WHERE id = $1 RETURNING id" },
  { "enrol_get",
    "SELECT id, state, to_char(expires_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), identity_result::text,"
    " expires_at < now(), email, customer_id, credential_kind"
    " FROM enrolments WHERE id = $1" },
  { "enrol_expire",
    "UPDATE enrolments SET state = 'expired', updated_at = now()"
    " WHERE id = $1 AND expires_at < now()"
    " AND state NOT IN ('completed', 'rejected', 'expired') RETURNING id" },
  { "enrol_session_insert",
    "INSERT INTO applicant_sessions (token_hash, enrolment_id)"
    " VALUES ($1::bytea, $2)" },
  { "enrol_session_touch",
    "UPDATE applicant_sessions SET last_seen_at = now()"
    " WHERE token_hash = $1::bytea AND enrolment_id = $2"
    " AND last_seen_at > now() - make_interval(secs => $3::int)"
    " RETURNING enrolment_id" },
  { "enrol_session_exists",
    "SELECT 1 FROM applicant_sessions WHERE token_hash = $1::bytea"
    " AND enrolment_id = $2" },
  { "enrol_resume_token_insert",
    "INSERT INTO resume_tokens (token_hash, enrolment_id, expires_at)"
    " SELECT $1::bytea, id, least(expires_at, now() + interval '1 hour')"
    " FROM enrolments WHERE id = $2"
    " AND state NOT IN ('completed', 'rejected', 'expired')"
    " RETURNING enrolment_id" },
  /* A templated message to the applicant (notify/ renders it when it
     sends): $1 kind, $2 enrolment, $3 params, $4 carries a secret */
  { "enrol_outbox_insert",
    "INSERT INTO outbox (kind, recipient, subject, body, params, lang,"
    " enrolment_id, carries_secret)"
    " SELECT $1, email, '', '', $3::jsonb, lang, id, $4::boolean"
    " FROM enrolments WHERE id = $2" },
  { "enrol_resume_token_use",
    "UPDATE resume_tokens SET used_at = now() WHERE token_hash = $1::bytea"
    " AND enrolment_id = $2 AND used_at IS NULL AND expires_at > now()"
    " RETURNING enrolment_id" },
  { "enrol_idem_get",
    "SELECT encode(request_hash, 'hex'), status, response, enrolment_id"
    " FROM idempotency_keys WHERE scope = $1 AND key = $2"
    " AND created_at > now() - interval '24 hours'" },
  { "enrol_idem_put",
    "INSERT INTO idempotency_keys (scope, key, request_hash, status, response,"
    " enrolment_id) VALUES ($1, $2, decode($3, 'hex'), $4::int, $5, $6)"
    " ON CONFLICT (scope, key) DO NOTHING RETURNING key" },
  { "enrol_lock",
    "SELECT state, expires_at < now(), pin_hash IS NOT NULL, device_id,"
    " applicant->>'birth_date', otp_failures"
    " FROM enrolments WHERE id = $1 FOR UPDATE" },
  { "enrol_challenge_replace",
    "UPDATE device_challenges SET replaced_at = now() WHERE enrolment_id = $1"
    " AND replaced_at IS NULL AND used_at IS NULL" },
  { "enrol_challenge_insert",
    "INSERT INTO device_challenges (id, enrolment_id, secret_sealed,"
    " expires_at, browser_addr) VALUES ($1, $2, $3::bytea,"
    " now() + make_interval(secs => $4::int), $5)"
    " RETURNING to_char(expires_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" },
  { "enrol_challenge_current",
    "SELECT id, encode(secret_sealed, 'hex'), expires_at < now(),"
    " used_at IS NOT NULL FROM device_challenges WHERE enrolment_id = $1"
    " AND replaced_at IS NULL ORDER BY created_at DESC LIMIT 1" },
  { "enrol_device_status",
    "SELECT e.state, coalesce(c.expires_at > now() AND c.used_at IS NULL,"
    " false), e.expires_at < now(), d.status FROM enrolments e"
    " LEFT JOIN LATERAL (SELECT expires_at, used_at FROM device_challenges"
    "  WHERE enrolment_id = e.id AND replaced_at IS NULL"
    "  ORDER BY created_at DESC LIMIT 1) c ON true"
    " LEFT JOIN devices d ON d.id = e.device_id WHERE e.id = $1" },
  { "enrol_activation_load",
    "SELECT c.enrolment_id, encode(c.secret_sealed, 'hex'),"
    " c.expires_at < now(), c.used_at IS NOT NULL, c.replaced_at IS NOT NULL,"
    " c.browser_addr, e.applicant->>'residence_country', e.state"
    " FROM device_challenges c JOIN enrolments e ON e.id = c.enrolment_id"
    " WHERE c.id = $1" },
  { "enrol_attempt_insert",
    "INSERT INTO activation_attempts (challenge_id, enrolment_id, public_key,"
    " install_id, client_addr, outcome)"
    " VALUES ($1, $2, $3::bytea, $4, $5, $6)" },
  { "enrol_challenge_consume",
    "UPDATE device_challenges SET used_at = now() WHERE id = $1"
    " AND used_at IS NULL AND replaced_at IS NULL AND expires_at > now()"
    " RETURNING enrolment_id" },
  { "enrol_device_insert",
    "INSERT INTO devices (id, enrolment_id, challenge_id, status, public_key,"
    " install_id, platform, signals, client_addr, seed_sealed, risk)"
    " VALUES ($1, $2, $3, $4, $5::bytea, $6, $7, $8::jsonb, $9, $10::bytea,"
    " $11::jsonb)" },
  { "enrol_advance_device",
    "UPDATE enrolments SET state = $2, device_id = $3, updated_at = now()"
    " WHERE id = $1 AND state = 'device' RETURNING id" },
  { "enrol_notify",
    "SELECT pg_notify('guichet_enrolment', $1)" },
  { "enrol_set_pin",
    "UPDATE enrolments SET pin_hash = $2, updated_at = now()"
    " WHERE id = $1 AND state = 'pin_otp' RETURNING id" },
  { "enrol_device_seed",
    "SELECT id, encode(seed_sealed, 'hex'), otp_counter FROM devices"
    " WHERE id = $1 AND status = 'active' AND seed_sealed IS NOT NULL" },
  { "enrol_otp_fail",
    "UPDATE enrolments SET otp_failures = otp_failures + 1 WHERE id = $1"
    " RETURNING otp_failures" },
  /* One statement: the step advances only past the last accepted one, and
     the enrolment moves on only from pin_otp. */
  { "enrol_otp_accept",
    "WITH d AS (UPDATE devices SET otp_counter = $2::bigint WHERE id = $1"
    "  AND otp_counter < $2::bigint RETURNING id)"
    " UPDATE enrolments SET state = 'credential', otp_failures = 0,"
    " updated_at = now() WHERE id = $3 AND state = 'pin_otp'"
    " AND EXISTS (SELECT 1 FROM d) RETURNING id" },
  { "enrol_device_key",
    "SELECT encode(public_key, 'hex') FROM devices WHERE id = $1"
    " AND status = 'active'" },
  { "enrol_device_nonce",
    "INSERT INTO device_request_nonces (device_id, signature_hash)"
    " VALUES ($1, $2::bytea) ON CONFLICT DO NOTHING RETURNING device_id" },
  { "enrol_device_view",
    "SELECT id, status, customer_id, enrolment_id FROM devices WHERE id = $1" },
  { "enrol_issue_lock",
    "SELECT state, expires_at < now(), pin_hash, coalesce(device_id, ''),"
    " coalesce(customer_id, ''), encode(otpauth_seed_sealed, 'hex'),"
    " otp_failures, email, lang, encode(assurance_sealed, 'hex')"
    " FROM enrolments WHERE id = $1 FOR UPDATE" },
  { "enrol_complete",
    "UPDATE enrolments SET state = 'completed', customer_id = $2,"
    " credential_kind = $3, otpauth_seed_sealed = NULL,"
    " assurance_sealed = NULL, completed_at = now(),"
    " updated_at = now() WHERE id = $1 AND state = 'credential' RETURNING id" },
  { "enrol_device_owner",
    "UPDATE devices SET customer_id = $2 WHERE id = $1 RETURNING id" },
  { "enrol_otpauth_store",
    "UPDATE enrolments SET otpauth_seed_sealed = $2::bytea, customer_id = $3,"
    " updated_at = now() WHERE id = $1 AND state = 'credential' RETURNING id" },
  /* the applicant's assurance code, sealed, before completion */
  { "enrol_assurance_store",
    "UPDATE enrolments SET assurance_sealed = $2::bytea, updated_at = now()"
    " WHERE id = $1 AND state NOT IN ('completed', 'rejected', 'expired')"
    " AND expires_at > now() RETURNING id" },
  { "enrol_device_customer",
    "SELECT customer_id FROM devices WHERE id = $1 AND status = 'active'"
    " AND customer_id IS NOT NULL" },
  { NULL, NULL }
};

void
enrol_register_statements (void)
{
  core_db_register (stmts);
}
