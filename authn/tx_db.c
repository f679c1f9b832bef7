/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_db.c -- the SQL of transactions: one statement table, one function
 * per query (see tx_db.h).
 *
 * A complete transaction costs two synchronous commits: the create
 * statement (the row and its "created" event) and the approval (one
 * conditional UPDATE and its event).  Everything that decides is
 * conditional on status = 'pending' AND expires_at > now(), evaluated by
 * PostgreSQL under the row lock, so of 16 parallel approvals exactly one
 * finds the row pending; the others see no row and are told why by a
 * read afterwards.  The long-poll NOTIFY goes in a statement of its own
 * after the commit: PostgreSQL serialises the commits of notifying
 * transactions, and one that waits for its WAL flush would stop group
 * commit for all of them -- which is also why that statement commits
 * with synchronous_commit off.
 *
 * Statements read api_keys (the relying party's name and origins) and
 * devices/credentials (which phones may approve); they write only
 * transactions and transaction_events.  Parameters are text, never
 * spliced into SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "authn/tx_db.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/retention.h"

#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* The columns of struct tx_row, in order (t: transactions, k: api_keys). */
#define TX_COLS \
  "t.id, t.customer_id, t.amount, t.currency, t.payee_name, t.payee_iban," \
  " t.nonce, t.status, t.status = 'pending' AND t.expires_at <= now()," \
  " t.response_failures, " TS ("t.created_at") ", " TS ("t.expires_at") "," \
  " " TS ("t.decided_at") ", t.method, t.device_id, t.return_url, k.name," \
  " GREATEST(0, ceil(extract(epoch FROM t.expires_at - now())))::integer"
#define TX_NCOLS 18

/* What a decision queues for notify/ (migration 0014's SQL function: the
   relying party's webhook event, and for approved and declined the
   customer's e-mail), for the row of CTE t that the decision's
   conditional UPDATE won -- in the same statement, so an outcome and
   what it says commit together, once.  authn/ links nothing of notify/:
   the function is its interface.  TX_DECIDED_COLS are what t returns. */
#define TX_DECIDED_COLS \
  "id, api_key_id, customer_id, status, amount, currency, payee_name," \
  " decided_at, expires_at, method"
#define TX_QUEUE_DECIDED \
  "notify_queue_transaction(t.id, t.api_key_id, t.customer_id, t.status," \
  " t.amount, t.currency, t.payee_name, t.decided_at, t.expires_at," \
  " t.method)"

/* A phone that may approve: active, with an active credential. */
#define CAPABLE(d) \
  d ".status = 'active' AND " d ".seed_sealed IS NOT NULL AND EXISTS" \
  " (SELECT 1 FROM credentials cr WHERE cr.device_id = " d ".id" \
  "  AND cr.state = 'active')"

static const struct core_db_stmt tx_stmts[] = {
  /* $1 key name, $2 customer, $3 id, $4 amount, $5 currency, $6 payee
     name, $7 IBAN, $8 nonce, $9 return_url, $10 its origin, $11 link hash,
     $12 sealed link, $13 Idempotency-Key, $14 request hash, $15 ttl,
     $16 client address. */
  { "authn_tx_create",
    "WITH k AS (SELECT id, origins FROM api_keys"
    "            WHERE name = $1 AND revoked_at IS NULL),"
    " c AS (SELECT id FROM customers WHERE id = $2),"
    " d AS (SELECT EXISTS (SELECT 1 FROM devices d WHERE d.customer_id = $2"
    "                       AND " CAPABLE ("d") ") AS ok),"
    " p AS (SELECT t.*, $1::text AS name FROM transactions t JOIN k"
    "         ON t.api_key_id = k.id WHERE t.idempotency_key = $13),"
    " ok AS (SELECT k.id FROM k, c, d"
    "         WHERE d.ok AND NOT EXISTS (SELECT 1 FROM p)"
    "           AND ($10::text IS NULL OR $10 = ANY (k.origins))),"
    " ins AS ("
    "  INSERT INTO transactions (id, api_key_id, customer_id, amount, currency,"
    "     payee_name, payee_iban, nonce, return_url, link_hash, link_sealed,"
    "     idempotency_key, request_hash, expires_at, client_addr)"
    "  SELECT $3, ok.id, $2, $4, $5, $6, $7, $8, $9, decode($11, 'hex'),"
    "         decode($12, 'hex'), $13, decode($14, 'hex'),"
    "         now() + make_interval(secs => $15::integer), $16 FROM ok"
    "  ON CONFLICT (api_key_id, idempotency_key) DO NOTHING"
    "  RETURNING id, expires_at),"
    " ev AS (INSERT INTO transaction_events (transaction_id, event, actor,"
    "                                        client_addr)"
    "        SELECT id, 'created', 'rp:' || $1, $16 FROM ins)"
    " SELECT EXISTS (SELECT 1 FROM k), EXISTS (SELECT 1 FROM c),"
    "        (SELECT ok FROM d),"
    "        $10::text IS NULL OR EXISTS (SELECT 1 FROM k"
    "                                      WHERE $10 = ANY (k.origins)),"
    "        (SELECT " TS ("expires_at") " FROM ins),"
    "        encode(t.request_hash, 'hex'), encode(t.link_sealed, 'hex'), "
    TX_COLS
    " FROM (VALUES (1)) AS one (x) LEFT JOIN p AS t ON true"
    " LEFT JOIN LATERAL (SELECT t.name) AS k ON true" },
  /* A wake-up, not a record: committed without waiting for a flush (see
     the top: a notifying commit holds PostgreSQL's notify lock until it
     ends, so one that waited for its flush would make every other
     notifying transaction wait for it -- one flush at a time). */
  { "authn_tx_notify",
    "SELECT pg_notify('guichet_enrolment', $1)"
    "  FROM (SELECT set_config('synchronous_commit', 'off', true)) AS d" },
  { "authn_tx_get",
    "SELECT " TX_COLS " FROM transactions t"
    " JOIN api_keys k ON k.id = t.api_key_id"
    " WHERE t.id = $1 AND k.name = $2" },
  { "authn_tx_get_link",
    "SELECT " TX_COLS " FROM transactions t"
    " JOIN api_keys k ON k.id = t.api_key_id"
    " WHERE t.link_hash = decode($1, 'hex')" },
  { "authn_tx_pending",
    "WITH d AS (SELECT customer_id FROM devices d WHERE d.id = $1"
    "            AND d.customer_id IS NOT NULL AND " CAPABLE ("d") ")"
    " SELECT d.customer_id, t.id, t.amount, t.currency, t.payee_name,"
    "        t.payee_iban, t.nonce, " TS ("t.expires_at") ", k.name"
    "   FROM d LEFT JOIN transactions t ON t.customer_id = d.customer_id"
    "    AND t.status = 'pending' AND t.expires_at > now()"
    "   LEFT JOIN api_keys k ON k.id = t.api_key_id"
    "  ORDER BY t.created_at, t.id LIMIT 100" },
  { "authn_tx_load_device",
    "SELECT " TX_COLS ", d.id IS NOT NULL, encode(d.public_key, 'hex')"
    " FROM transactions t JOIN api_keys k ON k.id = t.api_key_id"
    " LEFT JOIN devices d ON d.id = $2 AND d.customer_id = t.customer_id"
    "  AND " CAPABLE ("d")
    " WHERE t.id = $1" },
  /* The same columns, then the customer's lock state and the sealed seed
     of each capable phone (one row per phone; none: one row of NULLs). */
  { "authn_tx_load_code",
    "SELECT " TX_COLS ", lockout_failures(c.failed_attempts, c.locked_until),"
    " coalesce(c.locked_until > now(), false),"
    "       d.id, encode(d.seed_sealed, 'hex')"
    "  FROM transactions t JOIN api_keys k ON k.id = t.api_key_id"
    "  JOIN customers c ON c.id = t.customer_id"
    "  LEFT JOIN devices d ON d.customer_id = t.customer_id"
    "   AND " CAPABLE ("d")
    " WHERE t.id = $1 AND k.name = $2 ORDER BY d.created_at, d.id" },
  { "authn_tx_load_code_link",
    "SELECT " TX_COLS ", lockout_failures(c.failed_attempts, c.locked_until),"
    " coalesce(c.locked_until > now(), false),"
    "       d.id, encode(d.seed_sealed, 'hex')"
    "  FROM transactions t JOIN api_keys k ON k.id = t.api_key_id"
    "  JOIN customers c ON c.id = t.customer_id"
    "  LEFT JOIN devices d ON d.customer_id = t.customer_id"
    "   AND " CAPABLE ("d")
    " WHERE t.link_hash = decode($1, 'hex') ORDER BY d.created_at, d.id" },
  /* $1 id, $2 device, $3 T, $4 DER (hex) or NULL, $5 key (hex) or NULL,
     $6 actor, $7 address */
  { "authn_tx_approve",
    "WITH t AS ("
    "  UPDATE transactions SET status = 'approved', decided_at = now(),"
    "         method = CASE WHEN $4::text IS NULL THEN 'response_code'"
    "                       ELSE 'signature' END,"
    "         device_id = $2, approved_t = $3, signature = decode($4, 'hex'),"
    "         device_public_key = decode($5, 'hex')"
    "   WHERE id = $1 AND status = 'pending' AND expires_at > now()"
    "   RETURNING " TX_DECIDED_COLS "),"
    " e AS (INSERT INTO transaction_events (transaction_id, event, method,"
    "                                       device_id, actor, client_addr)"
    "       SELECT id, 'approved', method, $2, $6, $7 FROM t)"
    " SELECT t.id, " TX_QUEUE_DECIDED " FROM t" },
  { "authn_tx_decline",
    "WITH t AS ("
    "  UPDATE transactions SET status = 'declined', decided_at = now(),"
    "         device_id = $2"
    "   WHERE id = $1 AND status = 'pending' AND expires_at > now()"
    "   RETURNING " TX_DECIDED_COLS "),"
    " e AS (INSERT INTO transaction_events (transaction_id, event, device_id,"
    "                                       actor, client_addr)"
    "       SELECT id, 'declined', $2, $3, $4 FROM t)"
    " SELECT t.id, " TX_QUEUE_DECIDED " FROM t" },
  { "authn_tx_expire",
    "WITH t AS ("
    "  UPDATE transactions SET status = 'expired'"
    "   WHERE id = $1 AND status = 'pending' AND expires_at <= now()"
    "   RETURNING " TX_DECIDED_COLS "),"
    " e AS (INSERT INTO transaction_events (transaction_id, event, actor,"
    "                                       client_addr)"
    "       SELECT id, 'expired', $2, $3 FROM t)"
    " SELECT t.id, " TX_QUEUE_DECIDED " FROM t" },
  /* The expiry sweep (a job of the retention pass, core/retention.c: one
     instance at a time): at most $1 pending transactions past expires_at
     (by more than $2 seconds, 0) become expired, each with its event and
     its transaction.expired webhook, in one statement.  Rows a decision
     holds are skipped; it marks them itself.  Affects the rows marked. */
  { "authn_tx_expire_sweep",
    "WITH t AS ("
    "  UPDATE transactions SET status = 'expired'"
    "   WHERE id = ANY (ARRAY (SELECT id FROM transactions"
    "                           WHERE status = 'pending'"
    "                             AND expires_at <= now()"
    "                                 - make_interval(secs => $2::integer)"
    "                           ORDER BY expires_at LIMIT $1::integer"
    "                           FOR UPDATE SKIP LOCKED))"
    "     AND status = 'pending' AND expires_at <= now()"
    "   RETURNING " TX_DECIDED_COLS "),"
    " e AS (INSERT INTO transaction_events (transaction_id, event, actor)"
    "       SELECT id, 'expired', 'system' FROM t)"
    " SELECT t.id, " TX_QUEUE_DECIDED " FROM t" },
  /* $1 id, $2 limit, $3 the customer's attempts left, $4 actor,
     $5 address.  In SET, response_failures is the old value; in
     RETURNING, the new one. */
  { "authn_tx_wrong_code",
    "WITH t AS ("
    "  UPDATE transactions"
    "     SET response_failures = response_failures + 1,"
    "         status = CASE WHEN response_failures + 1 >= $2::integer"
    "                         OR $3::integer <= 0"
    "                       THEN 'failed' ELSE status END,"
    "         decided_at = CASE WHEN response_failures + 1 >= $2::integer"
    "                             OR $3::integer <= 0"
    "                           THEN now() ELSE decided_at END"
    "   WHERE id = $1 AND status = 'pending' AND expires_at > now()"
    "     AND response_failures < $2::integer"
    "   RETURNING " TX_DECIDED_COLS ","
    "     GREATEST(0, LEAST($2::integer - response_failures, $3::integer))"
    "       AS remaining),"
    " e AS (INSERT INTO transaction_events (transaction_id, event, method,"
    "                                       actor, client_addr,"
    "                                       attempts_remaining)"
    "       SELECT id, 'response_invalid', 'response_code', $4, $5,"
    "              remaining FROM t"
    "       UNION ALL"
    "       SELECT id, 'failed', 'response_code', $4, $5, NULL FROM t"
    "        WHERE status = 'failed')"
    " SELECT t.status, t.remaining,"
    "        CASE WHEN t.status = 'failed' THEN " TX_QUEUE_DECIDED " END"
    "   FROM t" },
  { "authn_tx_event",
    "INSERT INTO transaction_events (transaction_id, event, method, device_id,"
    "                                actor, client_addr)"
    " VALUES ($1, $2, $3, $4, $5, $6)" },
  { "authn_tx_evidence",
    "SELECT t.id, t.status, coalesce(t.method, ''), t.approved_t,"
    "       encode(t.signature, 'hex'), encode(t.device_public_key, 'hex'),"
    "       coalesce(t.device_id, ''),"
    "       to_char(t.decided_at AT TIME ZONE 'UTC',"
    "               'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "       k.name, t.customer_id"
    "  FROM transactions t JOIN api_keys k ON k.id = t.api_key_id"
    " WHERE t.id = $1 AND ($2::text IS NULL OR k.name = $2)" },
  { "authn_tx_customer_list",
    "SELECT t.id,"
    "       CASE WHEN t.status = 'pending' AND t.expires_at <= now()"
    "            THEN 'expired' ELSE t.status END,"
    "       t.method, t.amount, t.currency, t.payee_name, t.payee_iban,"
    "       k.name, " TS ("t.created_at") ", " TS ("t.decided_at") ","
    "       t.device_id"
    "  FROM transactions t JOIN api_keys k ON k.id = t.api_key_id"
    " WHERE t.customer_id = $1 ORDER BY t.created_at DESC, t.id"
    " LIMIT $2::integer" },
  { NULL, NULL }
};

/* Expiry is a job of the retention pass (one instance at a time, bounded
   batches): pending transactions past expires_at become expired, and
   their relying parties hear of it (transaction.expired). */
static const struct core_purge_job tx_jobs[] = {
  { .name = "transactions_expired", .stmt = "authn_tx_expire_sweep",
    .retention = CORE_PURGE_NOW, .verb = "expired" },
  { .name = NULL }
};

void
authn_tx_register_statements (void)
{
  core_db_register (tx_stmts);
  core_retention_register (tx_jobs);
}

/* ================================================================
 * Rows
 * ================================================================ */

static void
copy (char *dst, size_t len, const char *src)
{
  snprintf (dst, len, "%s", NULL != src ? src : "");
}

#define COPY(dst, res, row, col) \
  copy ((dst), sizeof (dst), core_db_value ((res), (row), (col)))

void
tx_row_clear (struct tx_row *r)
{
  free (r->return_url);
  memset (r, 0, sizeof *r);
}

/* Fill @a r from the TX_COLS starting at column @a c0.  @return -1 when
   the row is not one (all NULL, as after a LEFT JOIN) or out of memory. */
static int
parse_row (const PGresult *res, int row, int c0, struct tx_row *r)
{
  const char *ret = core_db_value (res, row, c0 + 15);
  const char *expired = core_db_value (res, row, c0 + 8);

  memset (r, 0, sizeof *r);
  if (NULL == core_db_value (res, row, c0))
    return -1;
  COPY (r->id, res, row, c0);
  COPY (r->customer_id, res, row, c0 + 1);
  COPY (r->amount, res, row, c0 + 2);
  COPY (r->currency, res, row, c0 + 3);
  COPY (r->payee_name, res, row, c0 + 4);
  COPY (r->payee_iban, res, row, c0 + 5);
  COPY (r->nonce, res, row, c0 + 6);
  r->expired_pending = NULL != expired && 't' == expired[0];
  if (r->expired_pending)
    copy (r->status, sizeof r->status, "expired");
  else
    COPY (r->status, res, row, c0 + 7);
  r->response_failures = atoi (core_db_value (res, row, c0 + 9));
  COPY (r->created_at, res, row, c0 + 10);
  COPY (r->expires_at, res, row, c0 + 11);
  COPY (r->decided_at, res, row, c0 + 12);
  COPY (r->method, res, row, c0 + 13);
  COPY (r->device_id, res, row, c0 + 14);
  COPY (r->relying_party, res, row, c0 + 16);
  r->seconds_left = atoi (core_db_value (res, row, c0 + 17));
  if (NULL != ret && NULL == (r->return_url = strdup (ret)))
    return -1;
  return 0;
}

/* One row of TX_COLS (and more) into @a r.  @return the status */
static enum core_db_status
one_row (enum core_db_status st, PGresult *res, struct tx_row *r)
{
  memset (r, 0, sizeof *r);
  if (CORE_DB_ONE_ROW == st && 0 == PQntuples (res))
    st = CORE_DB_NO_ROW;
  if (CORE_DB_ONE_ROW == st && 0 != parse_row (res, 0, 0, r))
    st = CORE_DB_HARD_ERROR;
  return st;
}

static bool
is_true (const PGresult *res, int row, int col)
{
  const char *v = core_db_value (res, row, col);

  return NULL != v && 't' == v[0];
}

/* ================================================================
 * Create
 * ================================================================ */

void
tx_db_created_clear (struct tx_db_created *c)
{
  tx_row_clear (&c->prior_row);
  free (c->prior_link_sealed_hex);
  memset (c, 0, sizeof *c);
}

enum core_db_status
tx_db_create (struct core_db *db, const struct tx_db_new *n,
              struct tx_db_created *out)
{
  char ttl[16];
  const char *p[16] = { n->api_key_name, n->customer_id, n->id, n->amount,
                        n->currency, n->payee_name, n->payee_iban, n->nonce,
                        n->return_url, n->return_origin, n->link_hash_hex,
                        n->link_sealed_hex, n->idempotency_key,
                        n->request_hash_hex, ttl, n->client_addr };
  PGresult *res = NULL;
  enum core_db_status st;
  const char *sealed;

  memset (out, 0, sizeof *out);
  snprintf (ttl, sizeof ttl, "%u", n->ttl_s);
  st = authn_db_exec_retry (db, "authn_tx_create", 16, p, &res);
  if (CORE_DB_ONE_ROW != st)
  {
    PQclear (res);
    return st < 0 ? st : CORE_DB_HARD_ERROR;
  }
  out->key_ok = is_true (res, 0, 0);
  out->customer_ok = is_true (res, 0, 1);
  out->device_ok = is_true (res, 0, 2);
  out->origin_ok = is_true (res, 0, 3);
  out->inserted = NULL != core_db_value (res, 0, 4);
  COPY (out->expires_at, res, 0, 4);
  if (NULL != core_db_value (res, 0, 7))
  {
    out->prior = true;
    COPY (out->prior_request_hash, res, 0, 5);
    sealed = core_db_value (res, 0, 6);
    if (0 != parse_row (res, 0, 7, &out->prior_row) || NULL == sealed
        || NULL == (out->prior_link_sealed_hex = strdup (sealed)))
      st = CORE_DB_HARD_ERROR;
  }
  PQclear (res);
  return st;
}

enum core_db_status
tx_db_notify (struct core_db *db, const char *key)
{
  const char *p[1] = { key };

  return authn_db_exec_retry (db, "authn_tx_notify", 1, p, NULL);
}

/* ================================================================
 * Read
 * ================================================================ */

enum core_db_status
tx_db_get (struct core_db *db, const char *id, const char *api_key_name,
           const char *link_hash_hex, struct tx_row *r)
{
  const char *p[2] = { NULL != id ? id : link_hash_hex, api_key_name };
  PGresult *res = NULL;
  enum core_db_status st;

  memset (r, 0, sizeof *r);
  st = authn_db_exec_retry (db, NULL != id ? "authn_tx_get"
                            : "authn_tx_get_link", NULL != id ? 2 : 1, p,
                            &res);
  st = one_row (st, res, r);
  PQclear (res);
  return st;
}

enum core_db_status
tx_db_pending (struct core_db *db, const char *device_id, bool *capable,
               char customer_id[AUTHN_ID_MAX], json_t **list)
{
  const char *p[1] = { device_id };
  PGresult *res = NULL;
  enum core_db_status st;

  *capable = false;
  *list = NULL;
  customer_id[0] = '\0';
  st = authn_db_exec_retry (db, "authn_tx_pending", 1, p, &res);
  if (st < 0)
    return st;
  *list = json_array ();
  for (int i = 0; CORE_DB_ONE_ROW == st && i < PQntuples (res); i++)
  {
    *capable = true;
    copy (customer_id, AUTHN_ID_MAX, core_db_value (res, i, 0));
    if (NULL == core_db_value (res, i, 1))
      continue;                   /* the LEFT JOIN: nothing pending */
    json_array_append_new (*list, json_pack (
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
      "id", PQgetvalue (res, i, 1), "amount", PQgetvalue (res, i, 2),
      "currency", PQgetvalue (res, i, 3), "payee_name", PQgetvalue (res, i, 4),
      "payee_iban", PQgetvalue (res, i, 5), "nonce", PQgetvalue (res, i, 6),
      "expires_at", PQgetvalue (res, i, 7), "relying_party",
      PQgetvalue (res, i, 8)));
  }
  PQclear (res);
  if (NULL == *list)
    return CORE_DB_HARD_ERROR;
  return st;
}

enum core_db_status
tx_db_load_for_device (struct core_db *db, const char *id,
                       const char *device_id, struct tx_row *r,
                       bool *capable, uint8_t pub[AUTHN_P256_PUB_LEN])
{
  const char *p[2] = { id, device_id };
  PGresult *res = NULL;
  enum core_db_status st;

  *capable = false;
  st = authn_db_exec_retry (db, "authn_tx_load_device", 2, p, &res);
  st = one_row (st, res, r);
  if (CORE_DB_ONE_ROW == st && is_true (res, 0, TX_NCOLS))
    *capable = AUTHN_P256_PUB_LEN
               == core_hex_decode (PQgetvalue (res, 0, TX_NCOLS + 1), pub,
                                   AUTHN_P256_PUB_LEN);
  PQclear (res);
  return st;
}

void
tx_db_code_ctx_clear (struct tx_db_code_ctx *c)
{
  for (size_t i = 0; NULL != c->seeds && i < c->nseeds; i++)
    free (c->seeds[i].sealed_hex);
  free (c->seeds);
  memset (c, 0, sizeof *c);
}

enum core_db_status
tx_db_load_for_code (struct core_db *db, const char *id,
                     const char *api_key_name, const char *link_hash_hex,
                     struct tx_row *r, struct tx_db_code_ctx *ctx)
{
  const char *p[2] = { NULL != id ? id : link_hash_hex, api_key_name };
  PGresult *res = NULL;
  enum core_db_status st;
  bool oom = false;
  int rows;

  memset (ctx, 0, sizeof *ctx);
  st = authn_db_exec_retry (db, NULL != id ? "authn_tx_load_code"
                            : "authn_tx_load_code_link", NULL != id ? 2 : 1,
                            p, &res);
  st = one_row (st, res, r);
  if (CORE_DB_ONE_ROW != st)
  {
    PQclear (res);
    return st;
  }
  rows = PQntuples (res);
  ctx->failed_attempts = atol (PQgetvalue (res, 0, TX_NCOLS));
  ctx->locked = is_true (res, 0, TX_NCOLS + 1);
  ctx->seeds = calloc ((size_t) rows, sizeof *ctx->seeds);
  oom = NULL == ctx->seeds;
  for (int i = 0; ! oom && i < rows; i++)
  {
    struct tx_db_seed *s = &ctx->seeds[ctx->nseeds];
    const char *hex = core_db_value (res, i, TX_NCOLS + 3);

    if (NULL == core_db_value (res, i, TX_NCOLS + 2) || NULL == hex)
      continue;               /* the LEFT JOIN: no capable phone */
    COPY (s->device_id, res, i, TX_NCOLS + 2);
    oom = NULL == (s->sealed_hex = strdup (hex));
    ctx->nseeds += ! oom;
  }
  if (oom)
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

/* ================================================================
 * Decide
 * ================================================================ */

enum core_db_status
tx_db_approve (struct core_db *db, const char *id, const char *device_id,
               const char *t, const uint8_t *der, size_t der_len,
               const uint8_t pub[AUTHN_P256_PUB_LEN],
               const struct tx_db_actor *who)
{
  char *der_hex = NULL;
  char pub_hex[2 * AUTHN_P256_PUB_LEN + 1];
  const char *p[7] = { id, device_id, t, NULL, NULL, who->actor,
                       who->client_addr };
  enum core_db_status st;

  if (NULL != der)
  {
    if (NULL == (der_hex = malloc (2 * der_len + 1)))
      return CORE_DB_HARD_ERROR;
    core_hex_encode (der, der_len, der_hex);
    core_hex_encode (pub, AUTHN_P256_PUB_LEN, pub_hex);
    p[3] = der_hex;
    p[4] = pub_hex;
  }
  st = authn_db_exec_retry (db, "authn_tx_approve", 7, p, NULL);
  free (der_hex);
  return st;
}

enum core_db_status
tx_db_decline (struct core_db *db, const char *id, const char *device_id,
               const struct tx_db_actor *who)
{
  const char *p[4] = { id, device_id, who->actor, who->client_addr };

  return authn_db_exec_retry (db, "authn_tx_decline", 4, p, NULL);
}

enum core_db_status
tx_db_expire (struct core_db *db, const char *id,
              const struct tx_db_actor *who)
{
  const char *p[3] = { id, who->actor, who->client_addr };

  return authn_db_exec_retry (db, "authn_tx_expire", 3, p, NULL);
}

enum core_db_status
tx_db_count_wrong_code (struct core_db *db, const char *id,
                        unsigned int limit, int customer_remaining,
                        const struct tx_db_actor *who, bool *failed,
                        int *remaining)
{
  char lim[16], cust[16];
  const char *p[5] = { id, lim, cust, who->actor, who->client_addr };
  PGresult *res = NULL;
  enum core_db_status st;

  snprintf (lim, sizeof lim, "%u", limit);
  snprintf (cust, sizeof cust, "%d", customer_remaining);
  *failed = false;
  *remaining = -1;
  /* inside the caller's transaction: no retry of a single statement */
  st = core_db_exec (db, "authn_tx_wrong_code", 5, p, &res);
  if (CORE_DB_ONE_ROW == st)
  {
    *failed = 0 == strcmp (PQgetvalue (res, 0, 0), "failed");
    *remaining = atoi (PQgetvalue (res, 0, 1));
  }
  PQclear (res);
  return st;
}

enum core_db_status
tx_db_event (struct core_db *db, const char *id, const char *event,
             const char *method, const char *device_id,
             const struct tx_db_actor *who)
{
  const char *p[6] = { id, event, method, device_id, who->actor,
                       who->client_addr };

  return authn_db_exec_retry (db, "authn_tx_event", 6, p, NULL);
}

/* ================================================================
 * Evidence and lists
 * ================================================================ */

void
tx_db_evidence_clear (struct tx_db_evidence *e)
{
  free (e->t);
  free (e->der);
  memset (e, 0, sizeof *e);
}

enum core_db_status
tx_db_evidence (struct core_db *db, const char *id, const char *api_key_name,
                struct tx_db_evidence *e)
{
  const char *p[2] = { id, api_key_name };
  PGresult *res = NULL;
  enum core_db_status st;
  const char *der = NULL, *pub = NULL, *t = NULL;
  long n;

  memset (e, 0, sizeof *e);
  st = authn_db_exec_retry (db, "authn_tx_evidence", 2, p, &res);
  if (CORE_DB_ONE_ROW != st)
  {
    PQclear (res);
    return st;
  }
  COPY (e->id, res, 0, 0);
  COPY (e->status, res, 0, 1);
  COPY (e->method, res, 0, 2);
  t = core_db_value (res, 0, 3);
  der = core_db_value (res, 0, 4);
  pub = core_db_value (res, 0, 5);
  COPY (e->device_id, res, 0, 6);
  COPY (e->approved_at, res, 0, 7);
  COPY (e->relying_party, res, 0, 8);
  COPY (e->customer_id, res, 0, 9);
  if (NULL != t && NULL == (e->t = strdup (t)))
    st = CORE_DB_HARD_ERROR;
  if (NULL != der && CORE_DB_ONE_ROW == st)
  {
    e->der = malloc (strlen (der) / 2 + 1);
    n = NULL != e->der ? core_hex_decode (der, e->der, strlen (der) / 2 + 1)
        : -1;
    if (n <= 0)
      st = CORE_DB_HARD_ERROR;
    e->der_len = n > 0 ? (size_t) n : 0;
  }
  if (NULL != pub && CORE_DB_ONE_ROW == st)
  {
    e->has_pub = AUTHN_P256_PUB_LEN == core_hex_decode (pub, e->pub,
                                                         sizeof e->pub);
    if (! e->has_pub)
      st = CORE_DB_HARD_ERROR;
  }
  PQclear (res);
  return st;
}

enum core_db_status
tx_db_customer_list (struct core_db *db, const char *customer_id, int limit,
                     json_t **list)
{
  char lim[16];
  const char *p[2] = { customer_id, lim };
  PGresult *res = NULL;
  enum core_db_status st;

  snprintf (lim, sizeof lim, "%d", limit);
  *list = NULL;
  st = authn_db_exec_retry (db, "authn_tx_customer_list", 2, p, &res);
  if (st < 0)
    return st;
  *list = json_array ();
  for (int i = 0; CORE_DB_ONE_ROW == st && i < PQntuples (res); i++)
    json_array_append_new (*list, json_pack (
      "{s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:s?}",
      "id", PQgetvalue (res, i, 0), "status", PQgetvalue (res, i, 1),
      "method", core_db_value (res, i, 2), "amount", PQgetvalue (res, i, 3),
      "currency", PQgetvalue (res, i, 4), "payee_name",
      PQgetvalue (res, i, 5), "payee_iban", PQgetvalue (res, i, 6),
      "relying_party", PQgetvalue (res, i, 7), "created_at",
      PQgetvalue (res, i, 8), "decided_at", core_db_value (res, i, 9),
      "device_id", core_db_value (res, i, 10)));
  PQclear (res);
  return NULL != *list ? st : CORE_DB_HARD_ERROR;
}
