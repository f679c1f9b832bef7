/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * notify_db.c -- every SQL statement of notify/, registered once and
 * prepared on each connection.
 *
 * Claiming is FOR UPDATE SKIP LOCKED: a row (an e-mail) or an endpoint (a
 * relying party's webhook, so its events go one at a time, in order) that
 * another sender holds is skipped, never waited for and never sent twice
 * at once.  The claim stays locked while the message is delivered and is
 * released by the UPDATE that records the outcome and the COMMIT; a sender
 * that dies mid-delivery releases it with its connection, and another
 * delivers the row again -- at least once, with the same Message-ID.
 *
 * The purge jobs of the outbox and the webhook events (sent, delivered or
 * failed, past retention_outbox_s) are here too: notify/ owns their
 * delivery state.
 */
#include <stddef.h>

#include "core/config.h"
#include "core/retention.h"
#include "notify/notify_int.h"

/* "DELETE at most $1 rows of TABLE WHERE COND", COND using $2 (seconds of
   retention) as AGO: the purge statements of core/retention.c. */
#define AGO "make_interval(secs => $2::integer)"
#define PURGE(table, cond) \
  "DELETE FROM " table " WHERE ctid = ANY (ARRAY (SELECT ctid FROM " table \
  " WHERE " cond " LIMIT $1::integer FOR UPDATE SKIP LOCKED))"

#define TS(x) \
  "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

static const struct core_db_stmt stmts[] = {
  /* ---------------------------------------------------- queueing */
  { "notify_mail_customer",
    "SELECT notify_queue_customer_mail($1, $2, $3::jsonb)" },
  /* $1 type, $2 api key name or NULL (every endpoint), $3 data */
  { "notify_event",
    "SELECT notify_queue_event($1, CASE WHEN $2::text IS NULL THEN NULL"
    " ELSE coalesce((SELECT id FROM api_keys WHERE name = $2), -1) END,"
    " $3::jsonb)" },
  /* ---------------------------------------------------- contacts */
  { "notify_contact_insert",
    "INSERT INTO customer_contacts (customer_id, email, lang)"
    " VALUES ($1, $2, $3) ON CONFLICT (customer_id) DO NOTHING"
    " RETURNING customer_id" },
  /* $1 customer, $2 sealed code, $3 set by */
  { "notify_code_set",
    "UPDATE customer_contacts SET assurance_sealed = $2::bytea,"
    " assurance_set_at = now(), assurance_set_by = $3"
    " WHERE customer_id = $1 RETURNING customer_id" },
  { "notify_code_set_if_none",
    "UPDATE customer_contacts SET assurance_sealed = $2::bytea,"
    " assurance_set_at = now(), assurance_set_by = 'drawn'"
    " WHERE customer_id = $1 AND assurance_sealed IS NULL"
    " RETURNING customer_id" },
  /* A customer made by the CLI has no contact row yet: staff or their
     phone may still give them a code. */
  { "notify_contact_ensure",
    "INSERT INTO customer_contacts (customer_id)"
    " SELECT id FROM customers WHERE id = $1"
    " ON CONFLICT (customer_id) DO NOTHING" },
  { "notify_code_get",
    "SELECT encode(assurance_sealed, 'hex') FROM customer_contacts"
    " WHERE customer_id = $1 AND assurance_sealed IS NOT NULL" },
  /* ---------------------------------------------------- e-mail sender */
  /* $1 batch size.  The customer's code is read as it is now, so a code
     changed after queueing is the one the message ends with. */
  { "notify_mail_claim",
    "SELECT o.id, o.kind, o.recipient, o.subject, o.body, o.params::text,"
    " o.lang, o.customer_id, o.message_id::text, o.attempts,"
    " encode(c.assurance_sealed, 'hex'),"
    " extract(epoch FROM o.created_at)::bigint, o.secret"
    " FROM outbox o LEFT JOIN customer_contacts c"
    "  ON c.customer_id = o.customer_id"
    " WHERE o.state = 'pending' AND o.next_attempt_at <= now()"
    " ORDER BY o.next_attempt_at, o.id LIMIT $1::integer"
    " FOR UPDATE OF o SKIP LOCKED" },
  /* A bearer secret lives only until the relay has it (the CHECK
     outbox_secret_until_sent refuses a sent row that keeps one). */
  { "notify_mail_sent",
    "UPDATE outbox SET state = 'sent', sent_at = now(),"
    " attempts = attempts + 1, last_attempt_at = now(), last_error = NULL,"
    " secret = NULL"
    " WHERE id = $1::bigint AND state = 'pending' RETURNING id" },
  /* $1 id, $2 error, $3 delay in ms, $4 max attempts, $5 permanent */
  { "notify_mail_retry",
    "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = now(),"
    " last_error = $2,"
    " next_attempt_at = now() + make_interval(secs => $3::double precision"
    "  / 1000),"
    " state = CASE WHEN $5::boolean OR attempts + 1 >= $4::integer"
    "  THEN 'failed' ELSE 'pending' END,"
    " failed_at = CASE WHEN $5::boolean OR attempts + 1 >= $4::integer"
    "  THEN now() END,"
    " secret = CASE WHEN $5::boolean OR attempts + 1 >= $4::integer"
    "  THEN NULL ELSE secret END"
    " WHERE id = $1::bigint AND state = 'pending' RETURNING state" },
  /* ---------------------------------------------------- webhook sender */
  /* One relying party whose oldest pending event is due, locked. */
  { "notify_hook_claim",
    "SELECT w.api_key_id, w.url, encode(w.secret_sealed, 'hex')"
    " FROM webhook_endpoints w"
    " WHERE (SELECT e.next_attempt_at FROM webhook_events e"
    "        WHERE e.api_key_id = w.api_key_id AND e.state = 'pending'"
    "        ORDER BY e.seq LIMIT 1) <= now()"
    " ORDER BY w.api_key_id LIMIT 1 FOR UPDATE OF w SKIP LOCKED" },
  /* $1 api key id, $2 batch size: its pending events in order */
  { "notify_hook_events",
    "SELECT seq, id, type, " TS ("created_at") ", data::text, attempts"
    " FROM webhook_events WHERE api_key_id = $1::bigint"
    " AND state = 'pending' ORDER BY seq LIMIT $2::integer" },
  { "notify_hook_delivered",
    "UPDATE webhook_events SET state = 'delivered', delivered_at = now(),"
    " attempts = attempts + 1, last_attempt_at = now(),"
    " last_status = $2::integer, last_error = NULL"
    " WHERE seq = $1::bigint AND state = 'pending' RETURNING seq" },
  /* $1 seq, $2 status or NULL, $3 error, $4 delay ms, $5 max attempts */
  { "notify_hook_retry",
    "UPDATE webhook_events SET attempts = attempts + 1,"
    " last_attempt_at = now(), last_status = $2::integer, last_error = $3,"
    " next_attempt_at = now() + make_interval(secs => $4::double precision"
    "  / 1000),"
    " state = CASE WHEN attempts + 1 >= $5::integer THEN 'failed'"
    "  ELSE 'pending' END,"
    " failed_at = CASE WHEN attempts + 1 >= $5::integer THEN now() END"
    " WHERE seq = $1::bigint AND state = 'pending' RETURNING state" },
  /* ---------------------------------------------------- endpoints */
  { "notify_hook_key",
    "SELECT id FROM api_keys WHERE name = $1 AND revoked_at IS NULL" },
  /* $1 key id, $2 url, $3 sealed secret */
  { "notify_hook_upsert",
    "INSERT INTO webhook_endpoints (api_key_id, url, secret_sealed)"
    " VALUES ($1::bigint, $2, $3::bytea) ON CONFLICT (api_key_id)"
    " DO UPDATE SET url = EXCLUDED.url,"
    " secret_sealed = EXCLUDED.secret_sealed, updated_at = now()"
    " RETURNING api_key_id" },
  { "notify_hook_delete",
    "DELETE FROM webhook_endpoints WHERE api_key_id ="
    " (SELECT id FROM api_keys WHERE name = $1) RETURNING api_key_id" },
  /* ---------------------------------------------------- metrics */
  /* Each count reads one partial index; sent rows are never scanned. */
  { "notify_gauges",
    "SELECT 'email', (SELECT count(*) FROM outbox WHERE state = 'pending'),"
    " (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)"
    "  ::bigint FROM outbox WHERE state = 'pending'),"
    " (SELECT count(*) FROM outbox WHERE state = 'failed')"
    " UNION ALL"
    " SELECT 'webhook',"
    " (SELECT count(*) FROM webhook_events WHERE state = 'pending'),"
    " (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)"
    "  ::bigint FROM webhook_events WHERE state = 'pending'),"
    " (SELECT count(*) FROM webhook_events WHERE state = 'failed')" },
  /* ---------------------------------------------------- back-office */
  /* $1 state, $2 limit */
  { "notify_admin_messages",
    "SELECT coalesce(json_agg(j ORDER BY i DESC), '[]')::text FROM ("
    " SELECT id AS i, json_build_object('id', 'msg_' || id, 'kind', kind,"
    "  'recipient', recipient, 'lang', lang, 'customer_id', customer_id,"
    "  'enrolment_id', enrolment_id, 'state', state, 'attempts', attempts,"
    "  'created_at', " TS ("created_at") ","
    "  'next_attempt_at', CASE WHEN state = 'pending' THEN "
    TS ("next_attempt_at") " END,"
    "  'last_attempt_at', " TS ("last_attempt_at") ","
    "  'sent_at', " TS ("sent_at") ", 'failed_at', " TS ("failed_at") ","
    "  'last_error', last_error, 'message_id', message_id) AS j"
    " FROM outbox WHERE state = $1 ORDER BY id DESC LIMIT $2::integer) x" },
  { "notify_admin_events",
    "SELECT coalesce(json_agg(j ORDER BY s DESC), '[]')::text FROM ("
    " SELECT e.seq AS s, json_build_object('id', 'evt_seq_' || e.seq,"
    "  'event_id', e.id, 'type', e.type, 'relying_party', k.name,"
    "  'state', e.state, 'attempts', e.attempts,"
    "  'created_at', " TS ("e.created_at") ","
    "  'next_attempt_at', CASE WHEN e.state = 'pending' THEN "
    TS ("e.next_attempt_at") " END,"
    "  'last_attempt_at', " TS ("e.last_attempt_at") ","
    "  'delivered_at', " TS ("e.delivered_at") ","
    "  'failed_at', " TS ("e.failed_at") ", 'last_status', e.last_status,"
    "  'last_error', e.last_error) AS j"
    " FROM webhook_events e JOIN api_keys k ON k.id = e.api_key_id"
    " WHERE e.state = (CASE $1 WHEN 'sent' THEN 'delivered' ELSE $1 END)"
    " ORDER BY e.seq DESC LIMIT $2::integer) x" },
  /* A failed message that carried a secret lost it when it failed (its
     text still says {{secret}}): it cannot be sent again. */
  { "notify_admin_retry_message",
    "UPDATE outbox SET state = 'pending', attempts = 0, failed_at = NULL,"
    " next_attempt_at = now() WHERE id = $1::bigint AND state = 'failed'"
    " AND strpos(body || coalesce(params::text, ''), '{{secret}}') = 0"
    " RETURNING kind, customer_id" },
  { "notify_admin_retry_event",
    "UPDATE webhook_events SET state = 'pending', attempts = 0,"
    " failed_at = NULL, next_attempt_at = now()"
    " WHERE seq = $1::bigint AND state = 'failed' RETURNING type, id" },
  { "notify_admin_message_exists",
    "SELECT 1 FROM outbox WHERE id = $1::bigint" },
  { "notify_admin_event_exists",
    "SELECT 1 FROM webhook_events WHERE seq = $1::bigint" },
  { "notify_admin_customer",
    "SELECT json_build_object('email', c.email, 'lang', c.lang,"
    " 'assurance_code_set', c.assurance_sealed IS NOT NULL,"
    " 'assurance_code_set_at', " TS ("c.assurance_set_at") ","
    " 'assurance_code_set_by', c.assurance_set_by,"
    " 'messages', (SELECT coalesce(json_agg(j ORDER BY i DESC), '[]') FROM"
    "  (SELECT o.id AS i, json_build_object('id', 'msg_' || o.id,"
    "   'kind', o.kind, 'state', o.state, 'attempts', o.attempts,"
    "   'created_at', " TS ("o.created_at") ","
    "   'sent_at', " TS ("o.sent_at") ", 'last_error', o.last_error) AS j"
    "   FROM outbox o WHERE o.customer_id = c.customer_id"
    "   ORDER BY o.id DESC LIMIT 20) x))::text"
    " FROM customer_contacts c WHERE c.customer_id = $1" },
  { "notify_customer_exists",
    "SELECT 1 FROM customers WHERE id = $1" },
  /* ---------------------------------------------------- retention */
  /* Sent or given up more than $2 seconds ago; a pending row waits for
     its sender however old. */
  { "notify_purge_outbox",
    PURGE ("outbox", "(state = 'sent' AND sent_at < now() - " AGO ")"
           " OR (state = 'failed' AND failed_at < now() - " AGO ")") },
  { "notify_purge_events",
    PURGE ("webhook_events",
           "(state = 'delivered' AND delivered_at < now() - " AGO ")"
           " OR (state = 'failed' AND failed_at < now() - " AGO ")") },
  { NULL, NULL }
};

#define CFG(field) offsetof (struct core_config, field)

static const struct core_purge_job jobs[] = {
  { .name = "outbox", .stmt = "notify_purge_outbox",
    .retention = CFG (retention_outbox_s) },
  { .name = "webhook_events", .stmt = "notify_purge_events",
    .retention = CFG (retention_outbox_s) },
  { .name = NULL }
};

void
notify_register_statements (void)
{
  core_db_register (stmts);
  core_retention_register (jobs);
}

enum core_err
notify_db_err (struct core_db *db)
{
  return core_db_err (db);
}
