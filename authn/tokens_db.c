/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens_db.c -- the SQL of the token inventory and the credential
 * lifecycle: one statement table, one function per query.
 *
 * Imports insert a thousand tokens per round trip: the batch travels as
 * one JSON parameter expanded by json_to_recordset, and ON CONFLICT DO
 * NOTHING on (serial, manufacturer) counts duplicates without a read.  A
 * claim locks the token row (FOR UPDATE) and activates it with a
 * conditional UPDATE (WHERE state = 'in_stock').  Parameters are text,
 * never spliced into SQL; sealed seeds travel hex-encoded.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "authn/tokens_db.h"
#include "authn/tokens.h"
#include "core/crypto.h"
#include "core/log.h"

#define UTC(col) "to_char(" col " AT TIME ZONE 'UTC'," \
                 " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Columns of tokens_list. */
enum {
  L_ID, L_SERIAL, L_MANUF, L_TYPE, L_ALG, L_DIGITS, L_PERIOD, L_STATE,
  L_FROM, L_UNTIL, L_IMPORTED, L_CUSTOMER, L_CREDENTIAL
};

/* Columns of tokens_claim_find. */
enum {
  F_ID, F_STATE, F_TYPE, F_ALG, F_DIGITS, F_PERIOD, F_COUNTER, F_DRIFT,
  F_SEED, F_EARLY, F_EXPIRED
};

/* Columns of tokens_customer_view. */
enum {
  V_ID, V_REF, V_LOCKED, V_FAILED, V_CREATED, V_CRD, V_KIND, V_TYPE, V_ALG,
  V_DIGITS, V_STATE, V_CRD_CREATED, V_USED, V_REVOKED, V_REASON, V_SERIAL,
  V_TOKEN, V_UNTIL, V_LOCKOUTS, V_REFERENCE
};

#define TOKEN_FILTER \
  " WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR serial = $2)"

static const struct core_db_stmt tokens_stmts[] = {
  { "tokens_import_open",
    "INSERT INTO hw_token_imports (id, imported_by, file_sha256, encryption,"
    "  partial, key_packages, imported, duplicates, rejected)"
    " VALUES ($1, $2, $3, $4, $5::boolean, $6::integer, 0, 0, $7::jsonb)"
    " RETURNING id" },
  { "tokens_import_close",
    "UPDATE hw_token_imports SET imported = $2::integer,"
    "  duplicates = $3::integer WHERE id = $1 RETURNING id" },
  { "tokens_insert_batch",
    "INSERT INTO hw_tokens (id, serial, manufacturer, otp_type, algorithm,"
    "  digits, period, counter, drift, seed_sealed, valid_from, valid_until,"
    "  import_batch)"
    " SELECT t.id, t.serial, t.manufacturer, t.otp_type, t.algorithm,"
    "  t.digits, t.period, t.counter, t.drift, decode(t.seed, 'hex'),"
    "  to_timestamp(t.valid_from), to_timestamp(t.valid_until), $2"
    " FROM json_to_recordset($1::json) AS t (id text, serial text,"
    "  manufacturer text, otp_type text, algorithm text, digits integer,"
    "  period integer, counter bigint, drift integer, seed text,"
    "  valid_from bigint, valid_until bigint)"
    " ON CONFLICT (serial, manufacturer) DO NOTHING RETURNING 1" },
  { "tokens_list",
    "SELECT id, serial, manufacturer, otp_type, algorithm, digits, period,"
    "  state, " UTC ("valid_from") ", " UTC ("valid_until") ","
    "  " UTC ("imported_at") ", customer_id, credential_id"
    " FROM hw_tokens" TOKEN_FILTER
    " ORDER BY serial, manufacturer, id LIMIT $3::integer OFFSET $4::bigint" },
  { "tokens_count", "SELECT count(*) FROM hw_tokens" TOKEN_FILTER },
  { "tokens_claim_find",
    "SELECT id, state, otp_type, algorithm, digits, period, counter, drift,"
    "  encode(seed_sealed, 'hex'),"
    "  valid_from IS NOT NULL AND valid_from > now(),"
    "  valid_until IS NOT NULL AND valid_until <= now()"
    " FROM hw_tokens WHERE serial = $1 ORDER BY id FOR UPDATE" },
  { "tokens_claim_credential",
    "INSERT INTO credentials (id, customer_id, kind, otp_type, algorithm,"
    "  digits, period, seed_sealed, counter, drift)"
    " VALUES ($1, $2, 'hardware', $3, $4, $5::integer, $6::integer,"
    "  decode($7, 'hex'), $8::bigint, $9::integer) RETURNING id" },
  { "tokens_claim_activate",
    "UPDATE hw_tokens SET state = 'active', customer_id = $2,"
    "  credential_id = $3, state_changed_at = now()"
    " WHERE id = $1 AND state = 'in_stock' RETURNING id" },
  { "tokens_customer_view",
    "SELECT c.id, c.ref, coalesce(c.locked_until > now(), false),"
    "  lockout_failures(c.failed_attempts, c.locked_until),"
    "  " UTC ("c.created_at") ", k.id, k.kind, k.otp_type, k.algorithm,"
    "  k.digits, k.state, " UTC ("k.created_at") ", " UTC ("k.last_used_at")
    ", " UTC ("k.revoked_at") ", k.revoke_reason, t.serial, t.id,"
    "  CASE WHEN c.locked_until > now() AND isfinite(c.locked_until)"
    "       THEN " UTC ("c.locked_until") " END, c.lockouts, c.reference"
    " FROM customers c"
    " LEFT JOIN credentials k ON k.customer_id = c.id"
    " LEFT JOIN hw_tokens t ON t.credential_id = k.id"
    " WHERE c.id = $1 ORDER BY k.created_at, k.id" },
  { "tokens_customer_unlock",
    "UPDATE customers c SET failed_attempts = 0, locked_at = NULL,"
    "  locked_until = NULL, lockouts = 0"
    " FROM (SELECT id, lockout_failures(failed_attempts, locked_until) AS f,"
    "              coalesce(locked_until > now(), false) AS locked"
    "         FROM customers WHERE id = $1 FOR UPDATE) o"
    " WHERE c.id = o.id RETURNING o.f, o.locked" },
  { "tokens_credential_revoke",
    "UPDATE credentials SET state = 'revoked', revoked_at = now(),"
    "  revoke_reason = $2, revoked_by = $3"
    " WHERE id = $1 AND state = 'active' RETURNING customer_id" },
  { "tokens_credential_exists",
    "SELECT 1 FROM credentials WHERE id = $1" },
  { "tokens_retire",
    "UPDATE hw_tokens SET state = $2, state_changed_at = now()"
    " WHERE credential_id = $1 RETURNING serial" },
  { NULL, NULL }
};

void
authn_tokens_register_statements (void)
{
  core_db_register (tokens_stmts);
}

/* A text column as a JSON string, or null. */
static json_t *
jstr (const PGresult *res, int row, int col)
{
  const char *v = core_db_value (res, row, col);

  return v != NULL ? json_string (v) : json_null ();
}

/* An integer column as a JSON integer, or null. */
static json_t *
jint (const PGresult *res, int row, int col)
{
  int64_t v;

  return authn_db_parse_i64 (core_db_value (res, row, col), &v)
         ? json_integer (v) : json_null ();
}

static json_t *
jbool (const PGresult *res, int row, int col)
{
  const char *v = core_db_value (res, row, col);

  return json_boolean (v != NULL && strcmp (v, "t") == 0);
}

/* ---------------------------------------------------------------- import */

enum core_db_status
tokens_db_import_open (struct core_db *db, const struct tokens_db_import *i)
{
  char n[24];
  const char *params[] = { i->id, i->actor, i->file_sha256, i->encryption,
                           i->partial ? "true" : "false", n,
                           i->rejected_json };

  snprintf (n, sizeof n, "%lu", i->key_packages);
  return core_db_exec (db, "tokens_import_open", 7, params, NULL);
}

enum core_db_status
tokens_db_import_close (struct core_db *db, const char *id,
                        unsigned long imported, unsigned long duplicates)
{
  char a[24], b[24];
  const char *params[] = { id, a, b };

  snprintf (a, sizeof a, "%lu", imported);
  snprintf (b, sizeof b, "%lu", duplicates);
  return core_db_exec (db, "tokens_import_close", 3, params, NULL);
}

enum core_db_status
tokens_db_insert_batch (struct core_db *db, const char *batch_id,
                        const char *rows_json, unsigned long *inserted)
{
  const char *params[] = { rows_json, batch_id };
  PGresult *res = NULL;
  enum core_db_status st;

  *inserted = 0;
  st = core_db_exec (db, "tokens_insert_batch", 2, params, &res);
  if (st >= 0)
    *inserted = (unsigned long) PQntuples (res);
  PQclear (res);
  return st;
}

/* ------------------------------------------------------------------ list */

static json_t *
token_json (const PGresult *res, int r)
{
  return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
                    " s:o, s:o, s:o}",
                    "id", jstr (res, r, L_ID),
                    "serial", jstr (res, r, L_SERIAL),
                    "manufacturer", jstr (res, r, L_MANUF),
                    "type", jstr (res, r, L_TYPE),
                    "algorithm", jstr (res, r, L_ALG),
                    "digits", jint (res, r, L_DIGITS),
                    "period", jint (res, r, L_PERIOD),
                    "state", jstr (res, r, L_STATE),
                    "valid_from", jstr (res, r, L_FROM),
                    "valid_until", jstr (res, r, L_UNTIL),
                    "imported_at", jstr (res, r, L_IMPORTED),
                    "customer_id", jstr (res, r, L_CUSTOMER),
                    "credential_id", jstr (res, r, L_CREDENTIAL));
}

static enum core_db_status
tokens_db_count (struct core_db *db, const char *const *filter,
                 long long *total)
{
  PGresult *res = NULL;
  enum core_db_status st = authn_db_exec_retry (db, "tokens_count", 2,
                                                filter, &res);
  int64_t n = 0;

  if (st == CORE_DB_ONE_ROW
      && !authn_db_parse_i64 (core_db_value (res, 0, 0), &n))
    st = CORE_DB_HARD_ERROR;
  *total = n;
  PQclear (res);
  return st;
}

enum core_db_status
tokens_db_list (struct core_db *db, const char *state, const char *serial,
                long limit, long offset, json_t **tokens, long long *total)
{
  char lim[24], off[24];
  const char *params[] = { state, serial, lim, off };
  PGresult *res = NULL;
  enum core_db_status st;

  *tokens = NULL;
  snprintf (lim, sizeof lim, "%ld", limit);
  snprintf (off, sizeof off, "%ld", offset);
  st = tokens_db_count (db, params, total);
  if (st >= 0)
    st = authn_db_exec_retry (db, "tokens_list", 4, params, &res);
  if (st >= 0 && (*tokens = json_array ()) == NULL)
    st = CORE_DB_HARD_ERROR;
  for (int r = 0; st >= 0 && r < PQntuples (res); r++)
    if (json_array_append_new (*tokens, token_json (res, r)) != 0)
      st = CORE_DB_HARD_ERROR;
  if (st < 0 && *tokens != NULL)
    {
      json_decref (*tokens);
      *tokens = NULL;
    }
  PQclear (res);
  return st;
}

/* ----------------------------------------------------------------- claim */

/* Fill @a t from row 0.  @return false if a column does not parse. */
static bool
parse_token (const PGresult *res, struct tokens_db_token *t)
{
  const char *hex = core_db_value (res, 0, F_SEED);
  const char *period = core_db_value (res, 0, F_PERIOD);
  int64_t digits, per = 0, drift;
  long n;

  if (!authn_db_copy_id (t->id, core_db_value (res, 0, F_ID))
      || snprintf (t->state, sizeof t->state, "%s",
                   core_db_value (res, 0, F_STATE)) >= (int) sizeof t->state
      || authn_otp_type_parse (core_db_value (res, 0, F_TYPE), &t->otp.type)
      || authn_otp_alg_parse (core_db_value (res, 0, F_ALG), &t->otp.alg)
      || !authn_db_parse_i64 (core_db_value (res, 0, F_DIGITS), &digits)
      || (period != NULL && !authn_db_parse_i64 (period, &per))
      || !authn_db_parse_i64 (core_db_value (res, 0, F_COUNTER), &t->counter)
      || !authn_db_parse_i64 (core_db_value (res, 0, F_DRIFT), &drift)
      || hex == NULL || digits < 0 || digits > 8 || per < 0 || per > 3600)
    return false;
  t->otp.digits = (unsigned int) digits;
  t->otp.period = (unsigned int) per;
  t->drift = (int32_t) drift;
  t->not_yet_valid = strcmp (core_db_value (res, 0, F_EARLY), "t") == 0;
  t->expired = strcmp (core_db_value (res, 0, F_EXPIRED), "t") == 0;
  t->sealed = malloc (strlen (hex) / 2 + 1);
  if (t->sealed == NULL
      || (n = core_hex_decode (hex, t->sealed, strlen (hex) / 2 + 1)) <= 0)
    return false;
  t->sealed_len = (size_t) n;
  return authn_otp_params_valid (&t->otp);
}

enum core_db_status
tokens_db_claim_find (struct core_db *db, const char *serial,
                      struct tokens_db_token *t, int *matches)
{
  const char *params[] = { serial };
  PGresult *res = NULL;
  enum core_db_status st;

  memset (t, 0, sizeof *t);
  *matches = 0;
  st = core_db_exec (db, "tokens_claim_find", 1, params, &res);
  if (st == CORE_DB_ONE_ROW)
    *matches = PQntuples (res);
  if (st == CORE_DB_ONE_ROW && *matches == 0)
    st = CORE_DB_NO_ROW;
  if (st == CORE_DB_ONE_ROW && !parse_token (res, t))
    {
      LOG_BUG ("token %s: unusable row", t->id[0] != '\0' ? t->id : "?");
      free (t->sealed);
      t->sealed = NULL;
      st = CORE_DB_HARD_ERROR;
    }
  PQclear (res);
  return st;
}

enum core_db_status
tokens_db_credential_insert (struct core_db *db,
                             const struct tokens_db_credential *c)
{
  char digits[8], period[16], counter[24], drift[16];
  char *hex = malloc (2 * c->sealed_len + 1);
  const char *params[] = { c->id, c->customer_id,
                           authn_otp_type_name (c->otp->type),
                           authn_otp_alg_name (c->otp->alg), digits,
                           c->otp->type == AUTHN_OTP_TOTP ? period : NULL,
                           hex, counter, drift };
  enum core_db_status st;

  if (hex == NULL)
    return CORE_DB_HARD_ERROR;
  core_hex_encode (c->sealed, c->sealed_len, hex);
  snprintf (digits, sizeof digits, "%u", c->otp->digits);
  snprintf (period, sizeof period, "%u", c->otp->period);
  snprintf (counter, sizeof counter, "%" PRId64, c->counter);
  snprintf (drift, sizeof drift, "%" PRId32, c->drift);
  st = core_db_exec (db, "tokens_claim_credential", 9, params, NULL);
  free (hex);
  return st;
}

enum core_db_status
tokens_db_activate (struct core_db *db, const char *token_id,
                    const char *customer_id, const char *credential_id)
{
  const char *params[] = { token_id, customer_id, credential_id };

  return core_db_exec (db, "tokens_claim_activate", 3, params, NULL);
}

/* ------------------------------------------------------------- lifecycle */

static json_t *
credential_json (const PGresult *res, int r)
{
  return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o,"
                    " s:o, s:o}",
                    "id", jstr (res, r, V_CRD),
                    "kind", jstr (res, r, V_KIND),
                    "otp_type", jstr (res, r, V_TYPE),
                    "algorithm", jstr (res, r, V_ALG),
                    "digits", jint (res, r, V_DIGITS),
                    "state", jstr (res, r, V_STATE),
                    "created_at", jstr (res, r, V_CRD_CREATED),
                    "last_used_at", jstr (res, r, V_USED),
                    "revoked_at", jstr (res, r, V_REVOKED),
                    "revoke_reason", jstr (res, r, V_REASON),
                    "token_serial", jstr (res, r, V_SERIAL),
                    "token_id", jstr (res, r, V_TOKEN));
}

static json_t *
customer_json (const PGresult *res)
{
  json_t *creds = json_array ();

  for (int r = 0; creds != NULL && r < PQntuples (res); r++)
    if (core_db_value (res, r, V_CRD) != NULL
        && json_array_append_new (creds, credential_json (res, r)) != 0)
      {
        json_decref (creds);
        creds = NULL;
      }
  if (creds == NULL)
    return NULL;
  return json_pack ("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                    "customer_id", jstr (res, 0, V_ID),
                    "reference", jstr (res, 0, V_REFERENCE),
                    "ref", jstr (res, 0, V_REF),
                    "locked", jbool (res, 0, V_LOCKED),
                    "locked_until", jstr (res, 0, V_UNTIL),
                    "lockouts", jint (res, 0, V_LOCKOUTS),
                    "failed_attempts", jint (res, 0, V_FAILED),
                    "created_at", jstr (res, 0, V_CREATED),
                    "credentials", creds);
}

enum core_db_status
tokens_db_customer_view (struct core_db *db, const char *customer_id,
                         json_t **out)
{
  const char *params[] = { customer_id };
  PGresult *res = NULL;
  enum core_db_status st;

  *out = NULL;
  st = authn_db_exec_retry (db, "tokens_customer_view", 1, params, &res);
  if (st == CORE_DB_ONE_ROW && PQntuples (res) == 0)
    st = CORE_DB_NO_ROW;
  if (st == CORE_DB_ONE_ROW && (*out = customer_json (res)) == NULL)
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

enum core_db_status
tokens_db_unlock (struct core_db *db, const char *customer_id,
                  long *was_failed, bool *was_locked)
{
  const char *params[] = { customer_id };
  PGresult *res = NULL;
  enum core_db_status st;

  *was_failed = 0;
  *was_locked = false;
  st = core_db_exec (db, "tokens_customer_unlock", 1, params, &res);
  if (st == CORE_DB_ONE_ROW)
    {
      *was_failed = atol (core_db_value (res, 0, 0));
      *was_locked = strcmp (core_db_value (res, 0, 1), "t") == 0;
    }
  PQclear (res);
  return st;
}

enum core_db_status
tokens_db_revoke (struct core_db *db, const char *credential_id,
                  const char *reason, const char *actor,
                  char customer_id[AUTHN_ID_MAX])
{
  const char *params[] = { credential_id, reason, actor };
  PGresult *res = NULL;
  enum core_db_status st;

  customer_id[0] = '\0';
  st = core_db_exec (db, "tokens_credential_revoke", 3, params, &res);
  if (st == CORE_DB_ONE_ROW
      && !authn_db_copy_id (customer_id, core_db_value (res, 0, 0)))
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

enum core_db_status
tokens_db_credential_exists (struct core_db *db, const char *credential_id)
{
  const char *params[] = { credential_id };

  return core_db_exec (db, "tokens_credential_exists", 1, params, NULL);
}

enum core_db_status
tokens_db_retire (struct core_db *db, const char *credential_id,
                  const char *state, char **serial)
{
  const char *params[] = { credential_id, state };
  PGresult *res = NULL;
  enum core_db_status st;

  *serial = NULL;
  st = core_db_exec (db, "tokens_retire", 2, params, &res);
  if (st == CORE_DB_ONE_ROW
      && (*serial = strdup (core_db_value (res, 0, 0))) == NULL)
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}
