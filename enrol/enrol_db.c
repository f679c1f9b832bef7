/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * enrol_db.c -- every SQL statement of enrol/, registered once and prepared
 * on each connection, and the purge jobs of its tables.  State changes are
 * conditional UPDATEs on the current state, so two requests racing on one
 * enrolment cannot both win.
 */
#include <stddef.h>

#include "core/config.h"
#include "core/retention.h"
#include "enrol/enrol_db.h"

/* "DELETE at most $1 rows of TABLE WHERE COND", COND using $2, the job's
   retention in seconds, as AGO: the purge statements of
   core/retention.c, which never wait for a row a request holds.  Rows
   are picked by ctid (a TID scan), whatever the table's key. */
#define AGO "make_interval(secs => $2::integer)"
#define PURGE(table, cond) \
  "DELETE FROM " table " WHERE ctid = ANY (ARRAY (SELECT ctid FROM " table \
  " WHERE " cond " LIMIT $1::integer FOR UPDATE SKIP LOCKED))"

static const struct core_db_stmt stmts[] = {
  { "enrol_insert",
    "INSERT INTO enrolments (id, state, expires_at, applicant, email, doc_key,"
    " identity_key, identity_decision, identity_result, doc_key_id,"
    " identity_key_id, lang)"
    " VALUES ($1, $2, now() + make_interval(secs => $3::int), $4::jsonb, $5,"
    " $6, $7, $8, $9::jsonb, $10, $11, coalesce($12, 'en'))" },
  /* $1 the document's tokens under every token key (text[] or NULL), $2
     the identity's.  For the back-office: which live enrolments share the
     document or the identity, and whether by the document. */
  { "enrol_duplicates",
    "SELECT id, coalesce(doc_key = ANY ($1::text[]), false) FROM enrolments"
    " WHERE state NOT IN ('rejected', 'expired')"
    " AND (doc_key = ANY ($1::text[]) OR identity_key = ANY ($2::text[]))"
    " ORDER BY created_at DESC LIMIT 5" },
  /* The customers who completed an enrolment with this document: exactly
     one is a candidate to attach to (review.c decides, with four eyes). */
  { "enrol_attach_candidate",
    "SELECT customer_id FROM enrolments WHERE state = 'completed'"
    " AND customer_id IS NOT NULL AND doc_key = ANY ($1::text[])"
    " GROUP BY customer_id LIMIT 2" },
  { "enrol_get",
    "SELECT id, state, to_char(expires_at AT TIME ZONE 'UTC',"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), identity_result::text,"
    " expires_at < now(), email, customer_id, credential_kind,"
    " (SELECT reference FROM customers c WHERE c.id = enrolments.customer_id)"
    " FROM enrolments WHERE id = $1" },
  { "enrol_customer_reference",
    "SELECT reference FROM customers WHERE id = $1" },
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
  /* Resume links: the enrolment row is locked first, so two requests for
     one enrolment take turns and the second ends the first's link. */
  { "enrol_resume_lock",
    "SELECT id FROM enrolments WHERE id = $1"
    " AND state NOT IN ('completed', 'rejected', 'expired') FOR UPDATE" },
  /* A live link made less than $2 seconds ago (resume_link_min_age_s). */
  { "enrol_resume_young",
    "SELECT 1 FROM resume_tokens WHERE enrolment_id = $1"
    " AND used_at IS NULL AND ended_at IS NULL AND expires_at > now()"
    " AND created_at > now() - make_interval(secs => $2::integer)"
    " LIMIT 1" },
  { "enrol_resume_tokens_end",
    "UPDATE resume_tokens SET ended_at = now() WHERE enrolment_id = $1"
    " AND used_at IS NULL AND ended_at IS NULL" },
  /* The messages of the links that end: still to send, holding their
     secret (a resume link or a review's link to continue).  A row a
     sender holds is waited for: once sent, it is no longer deleted. */
  { "enrol_resume_outbox_drop",
    "DELETE FROM outbox WHERE enrolment_id = $1 AND state = 'pending'"
    " AND secret IS NOT NULL" },
  { "enrol_resume_token_insert",
    "INSERT INTO resume_tokens (token_hash, enrolment_id, expires_at)"
    " SELECT $1::bytea, id, least(expires_at, now() + interval '1 hour')"
    " FROM enrolments WHERE id = $2"
    " RETURNING enrolment_id" },
  /* A templated message to the applicant, in the enrolment's language
     (notify/ renders it when it sends): $1 kind, $2 enrolment, $3 params,
     $4 the bearer secret the message carries, or NULL.  A secret is never
     in params: they say {{secret}} where the sender puts it, and the
     sender clears the column when the row is sent or failed (the CHECK
     outbox_secret_until_sent of migration 0014). */
  { "enrol_outbox_insert",
    "INSERT INTO outbox (kind, recipient, subject, body, params, lang,"
    " enrolment_id, secret)"
    " SELECT $1, email, '', '', $3::jsonb, lang, id, $4"
    " FROM enrolments WHERE id = $2 RETURNING id" },
  { "enrol_resume_token_use",
    "UPDATE resume_tokens SET used_at = now() WHERE token_hash = $1::bytea"
    " AND enrolment_id = $2 AND used_at IS NULL AND ended_at IS NULL"
    " AND expires_at > now() RETURNING enrolment_id" },
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
  /* The PIN step's lock: a submission that finds another one hashing
     gets no row rather than a wait (then enrol_exists tells busy from
     unknown). */
  { "enrol_lock_skip",
    "SELECT state, expires_at < now(), pin_hash IS NOT NULL, device_id,"
    " applicant->>'birth_date', otp_failures"
    " FROM enrolments WHERE id = $1 FOR UPDATE SKIP LOCKED" },
  { "enrol_exists",
    "SELECT 1 FROM enrolments WHERE id = $1" },
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
    " install_id, client_addr, outcome, proof_ok)"
    " VALUES ($1, $2, $3::bytea, $4, $5, $6, $7::boolean)" },
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
  /* A wake-up, not a record: no flush of its own (as authn_tx_notify). */
  { "enrol_notify",
    "SELECT pg_notify('guichet_enrolment', $1)"
    "  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS d" },
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
  /* Committed without waiting for its WAL flush (see device_auth.c,
     "Durability"). */
  { "enrol_device_nonce",
    "INSERT INTO device_request_nonces (device_id, ts, msg_hash)"
    " SELECT $1, $2::bigint, $3::bytea"
    "   FROM (SELECT set_config('synchronous_commit', 'off', true)) AS d"
    " ON CONFLICT DO NOTHING RETURNING device_id" },
  { "enrol_device_view",
    "SELECT id, status, customer_id, enrolment_id FROM devices WHERE id = $1" },
  { "enrol_issue_lock",
    "SELECT state, expires_at < now(), pin_hash, coalesce(device_id, ''),"
    " coalesce(customer_id, ''), encode(otpauth_seed_sealed, 'hex'),"
    " otp_failures, coalesce(reenrols_customer_id, ''), email, lang,"
    " encode(assurance_sealed, 'hex')"
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
  /* Rekey (tokens.c): $1 current token key id, $2 the last id done. */
  { "enrol_rekey_batch",
    "SELECT id, coalesce(applicant->>'surname', ''),"
    " coalesce(applicant->>'given_names', ''),"
    " coalesce(applicant->>'birth_date', ''), doc_key,"
    " coalesce(doc_key_id, ''), coalesce(identity_key_id, '')"
    " FROM enrolments WHERE id > $2 AND (identity_key_id IS DISTINCT FROM $1"
    "  OR (doc_key IS NOT NULL AND doc_key_id IS NULL))"
    " ORDER BY id LIMIT 500" },
  /* $1 id, $2 identity token, $3 its key id, $4 the wrapped legacy document
     token or NULL, $5 / $6 identity_key_id / doc_key_id as read ('' for
     NULL).  A legacy document value is wrapped only while doc_key_id is
     still NULL: never twice. */
  { "enrol_rekey_row",
    "UPDATE enrolments SET identity_key = $2, identity_key_id = $3,"
    " doc_key = CASE WHEN doc_key_id IS NULL THEN $4::text ELSE doc_key END,"
    " doc_key_id = CASE WHEN doc_key_id IS NULL AND $4::text IS NOT NULL"
    "  THEN $3 ELSE doc_key_id END"
    " WHERE id = $1 AND identity_key_id IS NOT DISTINCT FROM nullif($5, '')"
    " AND doc_key_id IS NOT DISTINCT FROM nullif($6, '') RETURNING id" },
  /* ---- retention (the jobs below) */
  /* Challenges that bound no device and expired long ago (their sealed
     activation secret goes with them). */
  { "enrol_purge_challenges",
    PURGE ("device_challenges",
           "expires_at < now() - " AGO " AND NOT EXISTS (SELECT 1 FROM"
           " devices d WHERE d.challenge_id = device_challenges.id)") },
  /* Attempts on challenges that bound no device (kept with a device: a
     reviewer sees them). */
  { "enrol_purge_attempts",
    PURGE ("activation_attempts",
           "at < now() - " AGO " AND NOT EXISTS (SELECT 1 FROM devices d"
           " WHERE d.challenge_id = activation_attempts.challenge_id)") },
  /* $2 is session_idle_s + retention_s: dead that long. */
  { "enrol_purge_sessions",
    PURGE ("applicant_sessions", "last_seen_at < now() - " AGO) },
  { "enrol_purge_resume_tokens",
    PURGE ("resume_tokens", "expires_at < now() - " AGO) },
  { "enrol_purge_nonces",
    PURGE ("device_request_nonces", "at < now() - " AGO) },
  /* An Idempotency-Key is replayed for 24 hours (enrol_idem_get). */
  { "enrol_purge_idempotency",
    PURGE ("idempotency_keys",
           "created_at < now() - interval '24 hours' - " AGO) },
  /* the applicant's assurance code, sealed, before completion */
  { "enrol_assurance_store",
    "UPDATE enrolments SET assurance_sealed = $2::bytea, updated_at = now()"
    " WHERE id = $1 AND state NOT IN ('completed', 'rejected', 'expired')"
    " AND expires_at > now() RETURNING id" },
  /* the customer of a phone that may still speak for them: a phone whose
     credential was revoked (lost, stolen) sets no code */
  { "enrol_device_customer",
    "SELECT d.customer_id FROM devices d WHERE d.id = $1"
    " AND d.status = 'active' AND d.customer_id IS NOT NULL"
    " AND NOT EXISTS (SELECT 1 FROM credentials k WHERE k.device_id = d.id"
    "                 AND k.state = 'revoked')" },
  { NULL, NULL }
};

#define CFG(field) offsetof (struct core_config, field)

static const struct core_purge_job jobs[] = {
  { .name = "device_challenges", .stmt = "enrol_purge_challenges",
    .retention = CFG (retention_challenges_s) },
  { .name = "activation_attempts", .stmt = "enrol_purge_attempts",
    .retention = CFG (retention_challenges_s) },
  { .name = "applicant_sessions", .stmt = "enrol_purge_sessions",
    .retention = CFG (retention_s), .plus = CFG (session_idle_s) },
  { .name = "resume_tokens", .stmt = "enrol_purge_resume_tokens",
    .retention = CFG (retention_s) },
  { .name = "device_request_nonces", .stmt = "enrol_purge_nonces",
    .retention = CFG (retention_nonces_s) },
  { .name = "idempotency_keys", .stmt = "enrol_purge_idempotency",
    .retention = CFG (retention_s) },
  { .name = NULL }
};

void
enrol_register_statements (void)
{
  core_db_register (stmts);
  core_retention_register (jobs);
}
