/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * authn_db.c -- the SQL of authn/: one statement table, one function per
 * query.
 *
 * The hot paths are single round trips.  A wrong OTP costs the load and
 * one CTE that counts the failure, locks at the limit and writes the audit
 * row.  A right OTP costs the load and, once the PIN is hashed, one CTE
 * (authn_spend) that spends the code -- a conditional UPDATE of
 * credentials.counter, WHERE counter <= the last unspent value, so of 16
 * parallel submissions of one code exactly one wins -- and only if it won,
 * counts the PIN's result and audits it.  Parameters are text, never
 * spliced into SQL; seeds travel hex-encoded so the result format does not
 * matter.
 *
 * Durability.  What decides an answer -- a code spent, a failure counted,
 * a lock, a success -- commits synchronously: the WAL is on disk before
 * the answer leaves.  The audit row of an attempt refused without changing
 * anything (unknown customer, locked, replayed code) is committed with
 * synchronous_commit off unless audit_refusals_sync is set: a crash of
 * PostgreSQL itself may lose the last fraction of a second of such rows
 * (wal_writer_delay x 3), never a count, a spend or a lock.  On this kind
 * of machine the flush, not the SQL, is the price of a statement, and this
 * keeps a flood against a locked customer cheap.  It is set with
 * set_config(..., true) inside the statement: local to its own (implicit)
 * transaction, read at its commit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/ratelimit.h"

/* Columns of authn_load and authn_load_audited. */
enum {
  L_CUS_ID, L_PIN_HASH, L_FAILED, L_LOCKED, L_CRD_ID, L_OTP_TYPE, L_ALG,
  L_DIGITS, L_PERIOD, L_SEED_HEX, L_COUNTER, L_DRIFT, L_UNTIL, L_RETRY,
  L_RELYING_PARTY             /* authn_load_audited only */
};

/* When a lock ends, RFC 3339 UTC (NULL for a permanent lock or none), and
   the whole seconds until then (NULL likewise). */
#define LOCK_END(col) \
  "CASE WHEN isfinite(" col ") THEN to_char(" col " AT TIME ZONE 'UTC'," \
  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END"
#define LOCK_WAIT(col) \
  "CASE WHEN isfinite(" col ") AND " col " > now()" \
  " THEN ceil(extract(epoch FROM " col " - now()))::integer END"

/* A failure that reaches the limit $2 locks: the failures that still
   count (none once a temporary lock has ended) plus this one. */
#define REACHES_LIMIT \
  "lockout_failures(failed_attempts, locked_until) + 1 >= $2::integer"

/* The rate limits of verify and resync, as two CTEs for the statement that
   writes what an attempt did (the GCRA of migration 0010, without a
   plpgsql call: this is the hot path).  `rl` reads whether the attempt is
   admitted (wait = 0: tat - now() <= ahead for both keys); `counts` then
   moves tat one step for the customer and, with chance KC, KC's inverse
   steps for the API key (core_rate_sampled: a relying party's thousand a
   second need not write its one row a thousand times).  The parameters:
   customer, API key name, and per limit its step and ahead in seconds
   (NULL: no limit).  Requests in flight at once may all pass a read
   before any count lands: a burst can overshoot by that many. */
#define RATE_CTES(C, K, CSTEP, CAHEAD, KSTEP, KAHEAD, KC) \
  " rl AS MATERIALIZED (" \
  "  SELECT greatest(" \
  "   coalesce((SELECT ceil(extract(epoch FROM r.tat - now())" \
  "                         - " KAHEAD "::double precision)" \
  "               FROM rate_limits r" \
  "              WHERE r.scope = 'authn_api_key' AND r.key = " K \
  "                AND r.tat - now()" \
  "                    > make_interval(secs => " KAHEAD "::double precision))," \
  "            0)," \
  "   coalesce((SELECT ceil(extract(epoch FROM r.tat - now())" \
  "                         - " CAHEAD "::double precision)" \
  "               FROM rate_limits r" \
  "              WHERE r.scope = 'authn_customer' AND r.key = " C \
  "                AND r.tat - now()" \
  "                    > make_interval(secs => " CAHEAD "::double precision))," \
  "            0))::integer AS wait)," \
  " counts AS (" \
  "  INSERT INTO rate_limits AS r (scope, key, tat)" \
  "  SELECT v.scope, v.key, now() + make_interval(secs => v.step)" \
  "    FROM rl, (VALUES ('authn_customer', " C "::text," \
  "                      " CSTEP "::double precision, true)," \
  "                     ('authn_api_key', " K "::text," \
  "                      " KSTEP "::double precision," \
  "                      random () < " KC "::double precision))" \
  "         AS v (scope, key, step, take)" \
  "   WHERE rl.wait = 0 AND v.step IS NOT NULL AND v.take" \
  "  ON CONFLICT (scope, key) DO UPDATE" \
  "     SET tat = greatest(r.tat, now()) + (EXCLUDED.tat - now()))"

static const struct core_db_stmt authn_stmts[] = {
  { "authn_load",
    "SELECT c.id, c.pin_hash,"
    "       lockout_failures(c.failed_attempts, c.locked_until),"
    "       coalesce(c.locked_until > now(), false),"
    "       k.id, k.otp_type, k.algorithm, k.digits, k.period,"
    "       encode(k.seed_sealed, 'hex'), k.counter, k.drift,"
    "       " LOCK_END ("c.locked_until") ", " LOCK_WAIT ("c.locked_until")
    "  FROM customers c"
    "  LEFT JOIN credentials k"
    "    ON k.customer_id = c.id AND k.state = 'active'"
    " WHERE c.id = $1"
    " ORDER BY k.created_at, k.id" },
  /* The same columns as authn_load, and in the same round trip the check
     of the relying party's API key and the audit row of an attempt that
     ends here: an unknown customer, or one whose lock is in force.  A
     data-modifying CTE runs even when nothing reads it; when it inserts
     nothing the statement writes nothing and commits nothing.  With $6
     (SHA-256 of the presented key) the relying party is the live key's
     name, and a key that is unknown or revoked reads no customer and
     audits nothing: one row comes back with a NULL relying party.  Without
     $6 it is $2.  No rate limit here: these refusals are the cheapest
     answer there is, and the attempts that go on are counted where they
     write.  Always at least one row (the customer's columns NULL when
     unknown); the relying party is the last column.
     $1 customer, $2 relying party, $3 address, $4 action,
     $5 synchronous_commit of the audit row ('on' or 'off'), $6 key hash. */
  { "authn_load_audited",
    "WITH rp AS MATERIALIZED ("
    "  SELECT CASE WHEN $6::bytea IS NULL THEN $2::text"
    "         ELSE (SELECT name FROM api_keys WHERE key_hash = $6::bytea"
    "                  AND revoked_at IS NULL) END AS name),"
    " c AS ("
    "  SELECT id, pin_hash,"
    "         lockout_failures(failed_attempts, locked_until) AS failed,"
    "         coalesce(locked_until > now(), false) AS locked, locked_until"
    "    FROM customers"
    "   WHERE id = $1 AND (SELECT name FROM rp) IS NOT NULL),"
    " a AS ("
    "  INSERT INTO authn_audit (customer_id, relying_party, client_addr,"
    "                           action, outcome, attempts_remaining)"
    "  SELECT $1, rp.name, $3, $4,"
    "         CASE WHEN c.id IS NULL THEN 'unknown_customer' ELSE 'locked' END,"
    "         CASE WHEN c.id IS NULL THEN NULL ELSE 0 END"
    "    FROM rp LEFT JOIN c ON true"
    "         CROSS JOIN (SELECT set_config('synchronous_commit', $5, true))"
    "           AS durability"
    "   WHERE rp.name IS NOT NULL AND (c.id IS NULL OR c.locked)"
    "  RETURNING 1)"
    " SELECT c.id, c.pin_hash, c.failed, c.locked,"
    "        k.id, k.otp_type, k.algorithm, k.digits, k.period,"
    "        encode(k.seed_sealed, 'hex'), k.counter, k.drift,"
    "        " LOCK_END ("c.locked_until") ", " LOCK_WAIT ("c.locked_until") ","
    "        rp.name"
    "   FROM rp LEFT JOIN c ON true LEFT JOIN credentials k"
    "     ON k.customer_id = c.id AND k.state = 'active'"
    "  ORDER BY k.created_at, k.id" },
  /* The rate limits alone, before work that writes only afterwards (the
     PIN hash of a right code, a resync's search): admitted, counted, and
     committed without waiting for the flush (a count is not worth one: a
     crash of PostgreSQL forgets at most its last moments of counts).
     $1 customer, $2 API key name, $3/$4 per-customer step/ahead,
     $5/$6 per-API-key step x weight/ahead, $7 chance.  Returns the wait
     (0: admitted). */
  { "authn_rate_take",
    "WITH d AS MATERIALIZED ("
    "  SELECT set_config('synchronous_commit', 'off', true)),"
    RATE_CTES ("$1", "$2", "$3", "$4", "$5", "$6", "$7")
    " SELECT rl.wait FROM rl, d" },
  /* Count a failure -- only when the rate limits admit the attempt, and
     then counting it toward them too, in the same statement; at the lock
     limit, lock until lockout_until() (temporary and doubling, or
     permanent when $8 is 0).  A failure after a temporary lock ended
     starts the count afresh.
     $1 customer, $2 limit, $3 credential, $4 relying party, $5 address,
     $6 action, $7 outcome, $8 lockout_base_s (0: permanent),
     $9 lockout_max_s, $10..$14 the rate limits as authn_rate_take's
     $3..$7 (all NULL: counted already).  In SET, columns are the old
     values; in RETURNING, the new ones.  Always one row: (rate-limit
     wait, attempts remaining -- NULL when a lock was in force or the
     attempt refused --, lock end, seconds to it). */
  { "authn_fail",
    "WITH" RATE_CTES ("$1", "$4", "$10", "$11", "$12", "$13", "$14") ","
    " c AS ("
    "  UPDATE customers"
    "     SET failed_attempts = lockout_failures(failed_attempts, locked_until) + 1,"
    "         locked_at = CASE WHEN " REACHES_LIMIT " THEN now()"
    "                          ELSE locked_at END,"
    "         locked_until = CASE WHEN " REACHES_LIMIT
    "                             THEN lockout_until(lockouts, $8::integer,"
    "                                                $9::integer)"
    "                             WHEN locked_until <= now() THEN NULL"
    "                             ELSE locked_until END,"
    "         lockouts = lockouts + CASE WHEN " REACHES_LIMIT " THEN 1"
    "                                    ELSE 0 END"
    "   WHERE id = $1 AND NOT coalesce(locked_until > now(), false)"
    "     AND (SELECT wait FROM rl) = 0"
    "   RETURNING id, GREATEST($2::integer - failed_attempts, 0) AS remaining,"
    "             locked_until),"
    " a AS ("
    "  INSERT INTO authn_audit (customer_id, credential_id, relying_party,"
    "                           client_addr, action, outcome,"
    "                           attempts_remaining)"
    "  SELECT c.id, $3, $4, $5, $6, $7, c.remaining FROM c"
    "  RETURNING 1)"
    " SELECT rl.wait, c.remaining, " LOCK_END ("c.locked_until") ","
    "        " LOCK_WAIT ("c.locked_until") " FROM rl LEFT JOIN c ON true" },
  /* Where a customer's lock stands now (after a race lost to it). */
  { "authn_lock_state",
    "SELECT " LOCK_END ("locked_until") ", " LOCK_WAIT ("locked_until")
    "  FROM customers WHERE id = $1 AND locked_until > now()" },
  /* A refusal that counts nothing.  $8 synchronous_commit ('on'/'off'). */
  { "authn_audit",
    "INSERT INTO authn_audit (customer_id, credential_id, relying_party,"
    "                         client_addr, action, outcome,"
    "                         attempts_remaining)"
    " SELECT $1, $2, $3, $4, $5, $6, $7::integer"
    "   FROM (SELECT set_config('synchronous_commit', $8, true))"
    "     AS durability" },
  /* The answer to a right OTP, once the PIN is hashed: spend the code
     (the conditional UPDATE of credentials.counter), and only if that won,
     reset the count and any lock history (accepted) or count the failure
     and lock at the limit (pin_invalid), and audit -- one statement, one
     synchronous commit.
     $1 customer, $2 limit, $3 credential, $4 relying party, $5 address,
     $6 outcome ('accepted' or 'pin_invalid'), $7 new counter, $8 drift,
     $9 highest counter that leaves the code unspent, $10 lockout_base_s
     (0: permanent), $11 lockout_max_s.
     Returns (spent?, attempts remaining or NULL when locked meanwhile,
     lock end, seconds to it). */
  { "authn_spend",
    "WITH k AS ("
    "  UPDATE credentials"
    "     SET counter = $7::bigint, drift = $8::integer, last_used_at = now()"
    "   WHERE id = $3 AND customer_id = $1 AND state = 'active'"
    "     AND counter <= $9::bigint"
    "   RETURNING id),"
    " c AS ("
    "  UPDATE customers"
    "     SET failed_attempts = CASE WHEN $6 = 'accepted' THEN 0"
    "           ELSE lockout_failures(failed_attempts, locked_until) + 1 END,"
    "         locked_at = CASE WHEN $6 = 'accepted' THEN NULL"
    "                          WHEN " REACHES_LIMIT " THEN now()"
    "                          ELSE locked_at END,"
    "         locked_until = CASE WHEN $6 = 'accepted' THEN NULL"
    "                             WHEN " REACHES_LIMIT
    "                             THEN lockout_until(lockouts, $10::integer,"
    "                                                $11::integer)"
    "                             WHEN locked_until <= now() THEN NULL"
    "                             ELSE locked_until END,"
    "         lockouts = CASE WHEN $6 = 'accepted' THEN 0"
    "                         WHEN " REACHES_LIMIT " THEN lockouts + 1"
    "                         ELSE lockouts END"
    "   WHERE id = $1 AND NOT coalesce(locked_until > now(), false)"
    "     AND EXISTS (SELECT 1 FROM k)"
    "   RETURNING id, GREATEST($2::integer - failed_attempts, 0) AS remaining,"
    "             locked_until),"
    " a AS ("
    "  INSERT INTO authn_audit (customer_id, credential_id, relying_party,"
    "                           client_addr, action, outcome,"
    "                           attempts_remaining)"
    "  SELECT c.id, $3, $4, $5, 'verify', $6,"
    "         CASE WHEN $6 = 'accepted' THEN NULL ELSE c.remaining END"
    "    FROM c"
    "  RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM k), (SELECT remaining FROM c),"
    "        (SELECT " LOCK_END ("locked_until") " FROM c),"
    "        (SELECT " LOCK_WAIT ("locked_until") " FROM c)" },
  /* $1 credential, $2 new counter, $3 max old counter, $4 relying party,
     $5 address */
  { "authn_resync",
    "WITH k AS ("
    "  UPDATE credentials SET counter = $2::bigint, last_used_at = now()"
    "   WHERE id = $1 AND state = 'active' AND counter <= $3::bigint"
    "   RETURNING id, customer_id)"
    " INSERT INTO authn_audit (customer_id, credential_id, relying_party,"
    "                          client_addr, action, outcome)"
    " SELECT k.customer_id, k.id, $4, $5, 'resync', 'accepted' FROM k"
    " RETURNING id" },
  { "authn_unlock",
    "UPDATE customers SET failed_attempts = 0, locked_at = NULL,"
    " locked_until = NULL, lockouts = 0 WHERE id = $1 RETURNING id" },
  { "authn_customer_insert",
    "INSERT INTO customers (id, ref, pin_hash) VALUES ($1, $2, $3)"
    " ON CONFLICT (ref) DO NOTHING RETURNING id" },
  /* Completion of an enrolment: a new customer, never an existing one. */
  { "authn_customer_new",
    "INSERT INTO customers (id, pin_hash) VALUES ($1, $2)"
    " ON CONFLICT (id) DO NOTHING RETURNING id" },
  /* Completion of a re-enrolment that two staff attached to this customer
     (a lost credential): the new PIN, a clean failure count and no lock. */
  { "authn_customer_reenrol",
    "UPDATE customers SET pin_hash = $2, failed_attempts = 0,"
    " locked_at = NULL, locked_until = NULL, lockouts = 0"
    " WHERE id = $1 RETURNING id" },
  /* What authn/ tells (notify/ delivers it): the SQL functions of
     migration 0014, the same ones the lockout trigger uses, so authn/
     links nothing of notify/.  $1 customer, $2 message kind (a template
     of notify/templates.c), $3 its parameters. */
  { "authn_queue_mail",
    "SELECT notify_queue_customer_mail($1, $2, $3::jsonb)" },
  /* $1 event type, $2 its data: for every relying party with a webhook */
  { "authn_queue_event",
    "SELECT notify_queue_event($1, NULL, $2::jsonb)" },
  { "authn_credential_insert",
    "INSERT INTO credentials (id, customer_id, kind, otp_type, algorithm,"
    "                         digits, period, seed_sealed, counter, device_id)"
    " VALUES ($1, $2, $3, $4, $5, $6::integer, $7::integer,"
    "         decode($8, 'hex'), $9::bigint, $10)"
    " RETURNING id" },
  { NULL, NULL }
};

void
authn_register_statements (void)
{
  core_db_register (authn_stmts);
}

enum core_err
authn_db_err (struct core_db *db)
{
  return core_db_err (db);
}

enum core_db_status
authn_db_exec_retry (struct core_db *db, const char *stmt, int n,
                     const char *const *params, PGresult **res)
{
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (db == NULL)
    return CORE_DB_HARD_ERROR;
  for (int i = 0; i < 3; i++)
    {
      st = core_db_exec (db, stmt, n, params, res);
      if (st != CORE_DB_SOFT_ERROR)
        break;
    }
  return st;
}

bool
authn_db_copy_id (char dst[AUTHN_ID_MAX], const char *src)
{
  if (src == NULL || strlen (src) >= AUTHN_ID_MAX)
    return false;
  strcpy (dst, src);
  return true;
}

bool
authn_db_parse_i64 (const char *s, int64_t *out)
{
  char *end;

  if (s == NULL)
    return false;
  *out = strtoll (s, &end, 10);
  return end != s && *end == '\0';
}

/* synchronous_commit for the audit row of a refusal (see the top). */
static const char *
refusal_commit (void)
{
  return core_cfg != NULL && core_cfg->audit_refusals_sync ? "on" : "off";
}

/* lockout_base_s as the lock statements want it: 0 for permanent. */
static void
lockout_params (char base[16], char max[16])
{
  unsigned int b = core_cfg != NULL ? core_cfg->lockout_base_s : 900;
  unsigned int m = core_cfg != NULL ? core_cfg->lockout_max_s : 86400;

  if (core_cfg != NULL && core_cfg->lockout_permanent)
    b = 0;
  snprintf (base, 16, "%u", b);
  snprintf (max, 16, "%u", m);
}

/* Copy a lock's end and wait from columns @a until, @a wait of row 0. */
static void
lock_from (const PGresult *res, int until, int wait, struct authn_db_lock *l)
{
  const char *u = core_db_value (res, 0, until);
  const char *w = core_db_value (res, 0, wait);

  snprintf (l->until, sizeof l->until, "%s", u != NULL ? u : "");
  l->retry_after = w != NULL ? strtol (w, NULL, 10) : 0;
}

/* ------------------------------------------------------------------ load */

/* Fill @a k from row @a row.  @return -1 on out of memory, else 0 (a bad
   row leaves k->usable false). */
static int
parse_cred (const PGresult *res, int row, struct authn_db_cred *k)
{
  const char *hex = core_db_value (res, row, L_SEED_HEX);
  const char *period = core_db_value (res, row, L_PERIOD);
  int64_t digits, per = 0, drift;
  long n;

  memset (k, 0, sizeof *k);
  if (!authn_db_copy_id (k->id, core_db_value (res, row, L_CRD_ID)))
    goto bad;
  if (authn_otp_type_parse (core_db_value (res, row, L_OTP_TYPE),
                            &k->otp.type) != 0
      || authn_otp_alg_parse (core_db_value (res, row, L_ALG),
                              &k->otp.alg) != 0
      || !authn_db_parse_i64 (core_db_value (res, row, L_DIGITS), &digits)
      || (period != NULL && !authn_db_parse_i64 (period, &per))
      || !authn_db_parse_i64 (core_db_value (res, row, L_COUNTER), &k->counter)
      || !authn_db_parse_i64 (core_db_value (res, row, L_DRIFT), &drift)
      || hex == NULL || per < 0 || per > 3600 || digits < 0 || digits > 8)
    goto bad;
  k->otp.digits = (unsigned int) digits;
  k->otp.period = (unsigned int) per;
  k->drift = (int32_t) drift;
  if (!authn_otp_params_valid (&k->otp))
    goto bad;
  k->sealed = malloc (strlen (hex) / 2 + 1);
  if (k->sealed == NULL)
    return -1;
  n = core_hex_decode (hex, k->sealed, strlen (hex) / 2 + 1);
  if (n <= 0)
    goto bad;
  k->sealed_len = (size_t) n;
  k->usable = true;
  return 0;
bad:
  LOG_BUG ("credential %s: unusable row", k->id[0] ? k->id : "?");
  free (k->sealed);
  k->sealed = NULL;
  k->usable = false;
  return 0;
}

static int
parse_customer (const PGresult *res, struct authn_db_customer *c)
{
  int rows = PQntuples (res);
  int64_t failed;

  lock_from (res, L_UNTIL, L_RETRY, &c->lock);
  if (!authn_db_copy_id (c->id, core_db_value (res, 0, L_CUS_ID))
      || !authn_db_parse_i64 (core_db_value (res, 0, L_FAILED), &failed)
      || core_db_value (res, 0, L_PIN_HASH) == NULL)
    {
      LOG_BUG ("customer row does not parse");
      return -1;
    }
  c->failed_attempts = (long) failed;
  c->locked = strcmp (core_db_value (res, 0, L_LOCKED), "t") == 0;
  c->pin_hash = strdup (core_db_value (res, 0, L_PIN_HASH));
  c->creds = calloc ((size_t) rows, sizeof *c->creds);
  if (c->pin_hash == NULL || c->creds == NULL)
    return -1;
  for (int r = 0; r < rows; r++)
    {
      if (core_db_value (res, r, L_CRD_ID) == NULL)
        continue;               /* LEFT JOIN: no active credential */
      if (parse_cred (res, r, &c->creds[c->ncreds]) != 0)
        return -1;
      c->ncreds++;
    }
  return 0;
}

enum core_db_status
authn_db_load_customer (struct core_db *db, const char *customer_id,
                        struct authn_db_customer *out)
{
  const char *params[] = { customer_id };
  PGresult *res = NULL;
  enum core_db_status st;

  memset (out, 0, sizeof *out);
  st = authn_db_exec_retry (db, "authn_load", 1, params, &res);
  if (st == CORE_DB_ONE_ROW && PQntuples (res) == 0)
    st = CORE_DB_NO_ROW;
  if (st == CORE_DB_ONE_ROW && parse_customer (res, out) != 0)
    {
      authn_db_customer_clear (out);
      st = CORE_DB_HARD_ERROR;
    }
  PQclear (res);
  return st;
}

enum core_db_status
authn_db_load_customer_audited (struct core_db *db,
                                const struct authn_db_audit *a,
                                const char *key_hash,
                                struct authn_db_customer *out)
{
  const char *params[] = { a->customer_id, key_hash != NULL ? NULL
                           : a->relying_party, a->client_addr, a->action,
                           refusal_commit (), key_hash };
  PGresult *res = NULL;
  enum core_db_status st;
  const char *rp;

  memset (out, 0, sizeof *out);
  st = authn_db_exec_retry (db, "authn_load_audited", 6, params, &res);
  if (st == CORE_DB_ONE_ROW && PQntuples (res) == 0)
    {
      LOG_BUG ("authn_load_audited returned no row");
      st = CORE_DB_HARD_ERROR;
    }
  if (st != CORE_DB_ONE_ROW)
    {
      PQclear (res);
      return st;
    }
  rp = core_db_value (res, 0, L_RELYING_PARTY);
  if (rp == NULL)
    out->key_refused = true;
  else if ((out->relying_party = strdup (rp)) == NULL)
    st = CORE_DB_HARD_ERROR;
  if (st == CORE_DB_ONE_ROW && (rp == NULL
                                || core_db_value (res, 0, L_CUS_ID) == NULL))
    st = CORE_DB_NO_ROW;
  if (st == CORE_DB_ONE_ROW && parse_customer (res, out) != 0)
    st = CORE_DB_HARD_ERROR;
  if (st != CORE_DB_ONE_ROW)
    {
      bool refused = out->key_refused;

      authn_db_customer_clear (out);
      out->key_refused = refused;
    }
  PQclear (res);
  return st;
}

/* The rate limits of verify as statement parameters (see RATE_CTES):
   p[0..4] point into @a buf, or are NULL for a limit that is off. */
struct rate_params {
  char buf[5][CORE_RATE_PARAM_LEN];
  const char *p[5];
};

static void
rate_params_fill (struct rate_params *rp)
{
  const struct core_rate *cust
    = core_cfg != NULL ? &core_cfg->rate_verify_per_customer : NULL;
  const struct core_rate *key
    = core_cfg != NULL ? &core_cfg->rate_verify_per_api_key : NULL;
  bool c = core_rate_gcra (cust, rp->buf[0], rp->buf[1]);
  char unused[CORE_RATE_PARAM_LEN];
  bool k = core_rate_gcra (key, unused, rp->buf[3])
           && core_rate_sampled (key, rp->buf[2], rp->buf[4]) > 0;

  rp->p[0] = c ? rp->buf[0] : NULL;
  rp->p[1] = c ? rp->buf[1] : NULL;
  rp->p[2] = k ? rp->buf[2] : NULL;
  rp->p[3] = k ? rp->buf[3] : NULL;
  rp->p[4] = k ? rp->buf[4] : "0";
}

enum core_db_status
authn_db_rate_take (struct core_db *db, const struct authn_db_audit *a,
                    long *wait)
{
  struct rate_params rp;
  const char *params[7];
  PGresult *res = NULL;
  enum core_db_status st;

  rate_params_fill (&rp);
  params[0] = a->customer_id;
  params[1] = a->relying_party;
  memcpy (params + 2, rp.p, sizeof rp.p);
  *wait = 0;
  st = authn_db_exec_retry (db, "authn_rate_take", 7, params, &res);
  if (st == CORE_DB_ONE_ROW)
    *wait = strtol (core_db_value (res, 0, 0), NULL, 10);
  else if (st == CORE_DB_NO_ROW)
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

void
authn_db_customer_clear (struct authn_db_customer *c)
{
  for (size_t i = 0; c->creds != NULL && i < c->ncreds; i++)
    free (c->creds[i].sealed);
  free (c->creds);
  free (c->pin_hash);
  free (c->relying_party);
  memset (c, 0, sizeof *c);
}

/* -------------------------------------------------- failures and success */

enum core_db_status
authn_db_fail (struct core_db *db, const struct authn_db_audit *a,
               const char *outcome, unsigned int limit, bool take_rate,
               int *remaining, struct authn_db_lock *lock, long *wait)
{
  char lim[16], base[16], max[16];
  struct rate_params rp;
  const char *params[14] = { a->customer_id, lim, a->credential_id,
                             a->relying_party, a->client_addr, a->action,
                             outcome, base, max };
  PGresult *res = NULL;
  enum core_db_status st;
  const char *left;

  snprintf (lim, sizeof lim, "%u", limit);
  lockout_params (base, max);
  rate_params_fill (&rp);
  if (take_rate)
    memcpy (params + 9, rp.p, sizeof rp.p);
  else
    params[13] = "0";
  *remaining = -1;
  *wait = 0;
  memset (lock, 0, sizeof *lock);
  st = authn_db_exec_retry (db, "authn_fail", 14, params, &res);
  if (st == CORE_DB_ONE_ROW)
    {
      *wait = strtol (core_db_value (res, 0, 0), NULL, 10);
      left = core_db_value (res, 0, 1);
      if (left == NULL)
        st = CORE_DB_NO_ROW;   /* refused by a limit, or a lock in force */
      else
        {
          *remaining = atoi (left);
          lock_from (res, 2, 3, lock);
        }
    }
  else if (st == CORE_DB_NO_ROW)
    st = CORE_DB_HARD_ERROR;    /* the statement always has a row */
  PQclear (res);
  return st;
}

enum core_db_status
authn_db_lock_state (struct core_db *db, const char *customer_id,
                     struct authn_db_lock *lock)
{
  const char *params[] = { customer_id };
  PGresult *res = NULL;
  enum core_db_status st;

  memset (lock, 0, sizeof *lock);
  st = authn_db_exec_retry (db, "authn_lock_state", 1, params, &res);
  if (st == CORE_DB_ONE_ROW)
    lock_from (res, 0, 1, lock);
  PQclear (res);
  return st;
}

enum core_db_status
authn_db_audit (struct core_db *db, const struct authn_db_audit *a,
                const char *outcome, int remaining)
{
  char left[16];
  const char *params[] = { a->customer_id, a->credential_id,
                           a->relying_party, a->client_addr, a->action,
                           outcome, remaining < 0 ? NULL : left,
                           refusal_commit () };

  snprintf (left, sizeof left, "%d", remaining);
  return authn_db_exec_retry (db, "authn_audit", 8, params, NULL);
}

/* ----------------------------------------------------------- OTP state */

enum core_db_status
authn_db_spend (struct core_db *db, const struct authn_db_audit *a,
                const char *outcome, unsigned int limit,
                const struct authn_db_spend *sp,
                enum authn_db_spent *spent_out, int *remaining,
                struct authn_db_lock *lock)
{
  char lim[16], nc[24], dr[16], mo[24], base[16], max[16];
  const char *params[] = { a->customer_id, lim, a->credential_id,
                           a->relying_party, a->client_addr, outcome,
                           nc, dr, mo, base, max };
  PGresult *res = NULL;
  enum core_db_status st;
  const char *spent, *left;

  snprintf (lim, sizeof lim, "%u", limit);
  snprintf (nc, sizeof nc, "%" PRId64, sp->new_counter);
  snprintf (dr, sizeof dr, "%" PRId32, sp->drift);
  snprintf (mo, sizeof mo, "%" PRId64, sp->max_old);
  lockout_params (base, max);
  *remaining = -1;
  *spent_out = AUTHN_DB_SPEND_LOST;
  memset (lock, 0, sizeof *lock);
  st = authn_db_exec_retry (db, "authn_spend", 11, params, &res);
  if (st != CORE_DB_ONE_ROW)
    {
      PQclear (res);
      return st < 0 ? st : CORE_DB_HARD_ERROR;
    }
  spent = core_db_value (res, 0, 0);
  left = core_db_value (res, 0, 1);
  if (spent == NULL || strcmp (spent, "t") != 0)
    *spent_out = AUTHN_DB_SPEND_LOST;
  else if (left == NULL)
    *spent_out = AUTHN_DB_SPEND_LOCKED;
  else
    {
      *spent_out = AUTHN_DB_SPEND_DONE;
      *remaining = atoi (left);
      lock_from (res, 2, 3, lock);
    }
  PQclear (res);
  return CORE_DB_ONE_ROW;
}

enum core_db_status
authn_db_resync_apply (struct core_db *db, const struct authn_db_audit *a,
                       int64_t new_counter, int64_t max_old)
{
  char nc[24], mo[24];
  const char *params[] = { a->credential_id, nc, mo, a->relying_party,
                           a->client_addr };

  snprintf (nc, sizeof nc, "%" PRId64, new_counter);
  snprintf (mo, sizeof mo, "%" PRId64, max_old);
  return authn_db_exec_retry (db, "authn_resync", 5, params, NULL);
}

/* ------------------------------------------------------------ customers */

enum core_db_status
authn_db_unlock (struct core_db *db, const char *customer_id)
{
  const char *params[] = { customer_id };

  return authn_db_exec_retry (db, "authn_unlock", 1, params, NULL);
}

enum core_db_status
authn_db_insert_customer (struct core_db *db, const char *customer_id,
                          const char *ref, const char *pin_hash)
{
  const char *params[] = { customer_id, ref, pin_hash };

  return core_db_exec (db, "authn_customer_insert", 3, params, NULL);
}

enum core_db_status
authn_db_insert_credential (struct core_db *db,
                            const struct authn_db_new_cred *c)
{
  char digits[8], period[16], counter[24];
  char *hex = malloc (2 * c->sealed_len + 1);
  const char *params[] = { c->id, c->customer_id, c->kind,
                           authn_otp_type_name (c->otp.type),
                           authn_otp_alg_name (c->otp.alg), digits,
                           c->otp.type == AUTHN_OTP_TOTP ? period : NULL,
                           hex, counter, c->device_id };
  enum core_db_status st;

  if (hex == NULL)
    return CORE_DB_HARD_ERROR;
  core_hex_encode (c->sealed, c->sealed_len, hex);
  snprintf (digits, sizeof digits, "%u", c->otp.digits);
  snprintf (period, sizeof period, "%u", c->otp.period);
  snprintf (counter, sizeof counter, "%lld", (long long) c->counter);
  st = core_db_exec (db, "authn_credential_insert", 10, params, NULL);
  free (hex);
  return st;
}

/* @a j (stolen) as text for a statement. @return malloc'd, or NULL */
static char *
dump_stolen (json_t *j)
{
  char *s = NULL != j ? json_dumps (j, JSON_COMPACT) : NULL;

  json_decref (j);
  return s;
}

enum core_db_status
authn_db_queue_mail (struct core_db *db, const char *customer_id,
                     const char *kind, json_t *params)
{
  char *p = dump_stolen (params);
  const char *v[3] = { customer_id, kind, p };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (NULL != p)
    st = core_db_exec (db, "authn_queue_mail", 3, v, NULL);
  free (p);
  return st < 0 ? st : CORE_DB_ONE_ROW;
}

enum core_db_status
authn_db_queue_event (struct core_db *db, const char *type, json_t *data)
{
  char *d = dump_stolen (data);
  const char *v[2] = { type, d };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (NULL != d)
    st = core_db_exec (db, "authn_queue_event", 2, v, NULL);
  free (d);
  return st < 0 ? st : CORE_DB_ONE_ROW;
}
