/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assist_db.c -- every SQL statement of assisted enrolment, registered once
 * and prepared on each connection.
 *
 * Changes are conditional UPDATEs on the row's current state: a code is
 * spent by the one UPDATE that finds it unused, unexpired and its
 * enrolment still open; a session ends once, by whichever of the
 * applicant, the advisor or the clock gets there first.  The view
 * statements select named columns only (the allow-list of
 * assist_view.c): none of them reads a PIN hash, a seed, a challenge
 * secret, a document key or the MRZ.
 */
#include "enrol/assist_int.h"

#define TS ENROL_ASSIST_TS

/* The states an enrolment can still be helped in. */
#define OPEN_STATES \
  "('identity', 'identity_review', 'device', 'device_review', 'pin_otp'," \
  " 'credential')"

/* One joined session with what decides whether it still runs; $2 is
   assist_idle_s.  The last activity is the later of the session's own
   (join, hint) and the enrolment's last change. */
#define SESSION_COLUMNS \
  "SELECT a.id, a.enrolment_id, a.advisor, array_to_string(a.scopes, ',')," \
  " coalesce(a.end_reason, ''), e.state, e.expires_at < now()," \
  " greatest(a.last_activity_at, e.updated_at)" \
  "   < now() - make_interval(secs => $2::int)," \
  " " TS ("a.joined_at") "," \
  " " TS ("greatest(a.last_activity_at, e.updated_at)" \
          " + make_interval(secs => $2::int)") \
  " FROM assists a JOIN enrolments e ON e.id = a.enrolment_id"

static const struct core_db_stmt stmts[] = {
  /* ------------------------------------------------ the applicant */
  { "assist_enrolment_lock",
    "SELECT state, expires_at < now() FROM enrolments WHERE id = $1"
    " FOR UPDATE" },
  /* Requests of enrolment $1 in the last hour, and when the oldest of
     them leaves that hour. */
  { "assist_offer_count",
    "SELECT count(*), coalesce(ceil(extract(epoch FROM min(created_at)"
    " + interval '1 hour' - now())), 0)::bigint FROM assists"
    " WHERE enrolment_id = $1 AND created_at > now() - interval '1 hour'" },
  /* End enrolment $1's open request; $2 the reason, $3 who.  A code that
     expired unused ended at its expiry, by nobody. */
  { "assist_end_open",
    "UPDATE assists SET code_hash = NULL,"
    " end_reason = CASE WHEN advisor IS NULL AND code_expires_at <= now()"
    "   THEN 'code_expired' ELSE $2 END,"
    " ended_by = CASE WHEN advisor IS NULL AND code_expires_at <= now()"
    "   THEN 'system' ELSE $3 END,"
    " ended_at = CASE WHEN advisor IS NULL AND code_expires_at <= now()"
    "   THEN code_expires_at ELSE now() END"
    " WHERE enrolment_id = $1 AND ended_at IS NULL"
    " RETURNING id, coalesce(advisor, ''), end_reason" },
  /* A code value is unique among live codes: an expired one with the same
     value gives its hash up first. */
  { "assist_code_release",
    "UPDATE assists SET code_hash = NULL, ended_at = code_expires_at,"
    " end_reason = 'code_expired', ended_by = 'system'"
    " WHERE code_hash = $1::bytea AND code_expires_at <= now()" },
  { "assist_insert",
    "INSERT INTO assists (id, enrolment_id, code_hash, scopes,"
    " code_expires_at) VALUES ($1, $2, $3::bytea, string_to_array($4, ','),"
    " now() + make_interval(secs => $5::int))"
    " ON CONFLICT DO NOTHING RETURNING " TS ("code_expires_at") },
  /* ------------------------------------------------ joining */
  /* Serialises one advisor's attempts (the count, then the code), so 16
     parallel guesses cannot all pass the count.  Two-key advisory locks
     do not meet the audit log's one-key lock. */
  { "assist_failures_lock",
    "SELECT pg_advisory_xact_lock(15, hashtext($1))" },
  /* $1 advisor, $2 window seconds: failures in the window, and when the
     oldest of them leaves it. */
  { "assist_failures_count",
    "SELECT count(*), coalesce(ceil(extract(epoch FROM min(at)"
    " + make_interval(secs => $2::int) - now())), 0)::bigint"
    " FROM assist_code_failures WHERE username = $1"
    " AND at > now() - make_interval(secs => $2::int)" },
  { "assist_failures_prune",
    "DELETE FROM assist_code_failures WHERE username = $1"
    " AND at <= now() - make_interval(secs => $2::int)" },
  { "assist_failure_insert",
    "INSERT INTO assist_code_failures (username) VALUES ($1)" },
  /* Spend code hash $1 for advisor $2 (from $3): one statement, so a code
     joins one advisor once. */
  { "assist_join",
    "UPDATE assists a SET advisor = $2, advisor_addr = $3, joined_at = now(),"
    " last_activity_at = now(), code_hash = NULL FROM enrolments e"
    " WHERE a.code_hash = $1::bytea AND a.advisor IS NULL"
    " AND a.ended_at IS NULL AND a.code_expires_at > now()"
    " AND e.id = a.enrolment_id AND e.state IN " OPEN_STATES
    " AND e.expires_at > now()"
    " RETURNING a.id, a.enrolment_id, array_to_string(a.scopes, ',')" },
  /* ------------------------------------------------ sessions */
  { "assist_load", SESSION_COLUMNS
    " WHERE a.id = $1 AND a.advisor IS NOT NULL" },
  { "assist_load_lock", SESSION_COLUMNS
    " WHERE a.id = $1 AND a.advisor IS NOT NULL FOR UPDATE OF a" },
  { "assist_load_open", SESSION_COLUMNS
    " WHERE a.enrolment_id = $1 AND a.advisor IS NOT NULL"
    " AND a.ended_at IS NULL" },
  /* $1 assist, $2 reason, $3 who */
  { "assist_end",
    "UPDATE assists SET ended_at = now(), end_reason = $2, ended_by = $3"
    " WHERE id = $1 AND ended_at IS NULL RETURNING enrolment_id" },
  { "assist_hint_count",
    "SELECT count(*) FROM assist_hints WHERE assist_id = $1" },
  { "assist_hint_insert",
    "INSERT INTO assist_hints (assist_id, step, text)"
    " SELECT $1, e.state, $2 FROM assists a"
    " JOIN enrolments e ON e.id = a.enrolment_id"
    " WHERE a.id = $1 AND a.ended_at IS NULL"
    " RETURNING " TS ("at") ", step" },
  { "assist_touch",
    "UPDATE assists SET last_activity_at = now() WHERE id = $1"
    " AND ended_at IS NULL" },
  { "assist_hints",
    "SELECT " TS ("at") ", text, step FROM assist_hints WHERE assist_id = $1"
    " ORDER BY id" },
  /* ------------------------------------------------ the advisor's view */
  /* Progress: the state, the QR step without the QR (is one shown, until
     when), whether a PIN was chosen (not the PIN), wrong first codes. */
  { "assist_view_progress",
    "SELECT e.state, " TS ("e.expires_at") ", " TS ("e.updated_at") ","
    " e.pin_hash IS NOT NULL, e.otp_failures, c.live, " TS ("c.expires_at")
    " FROM enrolments e LEFT JOIN LATERAL (SELECT expires_at,"
    "  expires_at > now() AND used_at IS NULL AS live FROM device_challenges"
    "  WHERE enrolment_id = e.id AND replaced_at IS NULL"
    "  ORDER BY created_at DESC LIMIT 1) c ON true WHERE e.id = $1" },
  /* Identity: the declared fields by name (the document number and the
     MRZ are not among them), the decision and its reason codes. */
  { "assist_view_identity",
    "SELECT applicant->>'given_names', applicant->>'surname',"
    " applicant->>'birth_date', applicant->>'nationality',"
    " applicant->>'residence_country', applicant->>'email',"
    " applicant->>'phone', identity_decision,"
    " coalesce(identity_result->'reasons', '[]')::text"
    " FROM enrolments WHERE id = $1" },
  /* Device: the bound phone's status, what it is, its risk decision and
     reason codes (not its key, install id, address or seed). */
  { "assist_view_device",
    "SELECT d.status, coalesce(d.platform, ''),"
    " coalesce(d.signals->>'model', ''), coalesce(d.risk->>'decision', ''),"
    " coalesce(d.risk->'reasons', '[]')::text"
    " FROM enrolments e JOIN devices d ON d.id = e.device_id"
    " WHERE e.id = $1" },
  { NULL, NULL }
};

void
enrol_assist_register_statements (void)
{
  core_db_register (stmts);
}
