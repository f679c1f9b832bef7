/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey_db.c -- the SQL of the passkey module: one statement table, one
 * function per query.
 *
 * A challenge is made in the statement that reads what the options need,
 * and that statement also deletes a few challenges expired for an hour
 * (SKIP LOCKED, so parallel requests never wait on each other): the table
 * stays bounded by the rate of requests without a separate job.  A
 * challenge is spent by one conditional UPDATE (WHERE used_at IS NULL),
 * so of two requests carrying it exactly one proceeds.  A successful
 * sign-in is one statement and one WAL flush: spend the challenge, move
 * the counter forward (WHERE sign_count < the new one), clear the
 * customer's failure count unless locked, audit.  Failures are counted
 * by authn_db_fail, the PIN+OTP lockout's own statement.  Bytes travel
 * hex-encoded; parameters are never spliced into SQL.
 *
 * Durability.  Everything that decides an answer commits synchronously.
 * A new challenge does not (synchronous_commit off, local to its
 * statement's transaction): if PostgreSQL itself crashes, the challenges of
 * its last moments are lost and their verify answers 404, so the client
 * asks again -- nothing is accepted or refused on the strength of a lost
 * row.  Any later synchronous commit, such as the accepting statement's,
 * flushes the WAL up to its own record and so the challenge's with it.
 * This spares a sign-in one of its two WAL flushes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn_db.h"
#include "authn/passkey_int.h"
#include "core/log.h"

#define TS(x) \
  "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Delete a few challenges expired for an hour, then insert one.
   $1 id, $2 purpose, $3 challenge (bytea), $4 customer, $5 enrolment,
   $6 relying party, $7 lifetime in seconds.  The commit does not wait for
   its own WAL flush (see the top). */
#define CHALLENGE_CTE \
  "WITH old AS (" \
  "  DELETE FROM passkey_challenges WHERE id IN (" \
  "    SELECT id FROM passkey_challenges" \
  "     WHERE expires_at < now() - interval '1 hour'" \
  "     ORDER BY expires_at LIMIT 8 FOR UPDATE SKIP LOCKED))," \
  " ins AS (" \
  "  INSERT INTO passkey_challenges (id, purpose, challenge, customer_id," \
  "                                  enrolment_id, relying_party, expires_at)" \
  "  SELECT $1, $2, $3::bytea, $4, $5, $6," \
  "         now() + make_interval(secs => $7::integer)" \
  "    FROM (SELECT set_config('synchronous_commit', 'off', true))" \
  "      AS durability" \
  "  RETURNING id)"

/* The credentials of a customer as {"id": hex, "transports": [...]}. */
#define CREDS_JSON(where) \
  "(SELECT coalesce(json_agg(json_build_object(" \
  "   'id', encode(p.credential_id, 'hex'), 'transports', p.transports)" \
  "   ORDER BY p.created_at, p.id), '[]')::text" \
  "  FROM passkeys p WHERE " where ")"

/* Columns of passkey_signin_load. */
enum {
  S_PURPOSE, S_CHALLENGE, S_CH_CUSTOMER, S_CH_ENROLMENT, S_RP, S_USED,
  S_EXPIRED, S_PK_ID, S_OWNER, S_STATUS, S_ALG, S_PUBKEY, S_COUNT, S_BE,
  S_HANDLE, S_CUS_ID, S_FAILED, S_LOCKED
};

static const struct core_db_stmt stmts[] = {
  /* whether the named customer is locked (a lock in force), and their active
     passkeys (none for an unknown customer) */
  { "passkey_signin_options",
    CHALLENGE_CTE
    " SELECT (SELECT count(*) FROM ins),"
    "        c.id IS NOT NULL AND coalesce(c.locked_until > now(), false),"
    CREDS_JSON ("p.customer_id = $4 AND p.status = 'active'")
    "   FROM (VALUES (1)) AS one (x) LEFT JOIN customers c ON c.id = $4" },
  /* the credentials to exclude: the customer's (but revoked ones) and
     those registered earlier in the same enrolment */
  { "passkey_register_options",
    CHALLENGE_CTE
    " SELECT (SELECT count(*) FROM ins),"
    CREDS_JSON ("(p.customer_id = $4 AND p.status IN ('active', 'flagged'))"
                " OR (p.enrolment_id = $5 AND p.status = 'pending')") },
  { "passkey_challenge_load",
    "SELECT purpose, encode(challenge, 'hex'), coalesce(customer_id, ''),"
    "       coalesce(enrolment_id, ''), relying_party, used_at IS NOT NULL,"
    "       expires_at <= now()"
    "  FROM passkey_challenges WHERE id = $1" },
  { "passkey_challenge_spend",
    "UPDATE passkey_challenges SET used_at = now()"
    " WHERE id = $1 AND used_at IS NULL RETURNING id" },
  /* $1 challenge, $2 credential id (bytea).  The attempt's customer is the
     one the challenge named, else the passkey's owner. */
  { "passkey_signin_load",
    "SELECT ch.purpose, encode(ch.challenge, 'hex'),"
    "       coalesce(ch.customer_id, ''), coalesce(ch.enrolment_id, ''),"
    "       ch.relying_party, ch.used_at IS NOT NULL, ch.expires_at <= now(),"
    "       p.id, coalesce(p.customer_id, ''), p.status, p.algorithm,"
    "       encode(p.public_key, 'hex'), p.sign_count, p.backup_eligible,"
    "       encode(p.user_handle, 'hex'),"
    "       c.id, lockout_failures(c.failed_attempts, c.locked_until),"
    "       coalesce(c.locked_until > now(), false)"
    "  FROM passkey_challenges ch"
    "  LEFT JOIN passkeys p ON p.credential_id = $2::bytea"
    "  LEFT JOIN customers c ON c.id = coalesce(ch.customer_id, p.customer_id)"
    " WHERE ch.id = $1" },
  /* The accepted sign-in, in one statement: $1 challenge, $2 passkey,
     $3 new counter, $4 backed up, $5 relying party, $6 address.  Each step runs only if the one before it took: a
     challenge spent meanwhile changes nothing; a counter that a parallel
     assertion moved past this one leaves the customer alone; a customer
     locked meanwhile is not reset.  Returns what took. */
  { "passkey_accept",
    "WITH ch AS ("
    "  UPDATE passkey_challenges SET used_at = now()"
    "   WHERE id = $1 AND used_at IS NULL AND expires_at > now()"
    "   RETURNING id),"
    " k AS ("
    "  UPDATE passkeys SET sign_count = $3::bigint, last_used_at = now(),"
    "         backed_up = $4::boolean, user_verified = true"
    "   WHERE id = $2 AND status = 'active' AND EXISTS (SELECT 1 FROM ch)"
    "     AND (sign_count < $3::bigint OR (sign_count = 0 AND $3::bigint = 0))"
    "   RETURNING customer_id),"
    " c AS ("
    "  UPDATE customers SET failed_attempts = 0, locked_at = NULL,"
    "         locked_until = NULL, lockouts = 0"
    "   WHERE id = (SELECT customer_id FROM k)"
    "     AND NOT coalesce(locked_until > now(), false)"
    "   RETURNING id),"
    " a AS ("
    "  INSERT INTO authn_audit (customer_id, credential_id, relying_party,"
    "                           client_addr, action, outcome)"
    "  SELECT c.id, $2, $5, $6, 'passkey', 'accepted' FROM c"
    "  RETURNING 1)"
    " SELECT EXISTS (SELECT 1 FROM ch), EXISTS (SELECT 1 FROM k),"
    "        EXISTS (SELECT 1 FROM c)" },
  { "passkey_flag",
    "UPDATE passkeys SET status = 'flagged', flagged_at = now(),"
    "       flag_reason = $2"
    " WHERE id = $1 AND status = 'active' RETURNING id" },
  /* Spend the registration challenge and insert, in one statement:
     $1 challenge, $2 id, $3 customer (NULL: pending), $4 enrolment,
     $5 credential id, $6 user handle, $7 COSE key, $8 key, $9 algorithm,
     $10 counter, $11 AAGUID, $12 format, $13 attestation type, $14 BE,
     $15 BS, $16 transports, $17 status, $18 registered by. */
  { "passkey_insert",
    "WITH ch AS ("
    "  UPDATE passkey_challenges SET used_at = now()"
    "   WHERE id = $1 AND used_at IS NULL AND expires_at > now()"
    "   RETURNING id)"
    " INSERT INTO passkeys (id, customer_id, enrolment_id, credential_id,"
    "   user_handle, public_key_cose, public_key, algorithm, sign_count,"
    "   aaguid, attestation_format, attestation_type, user_verified,"
    "   backup_eligible, backed_up, transports, status, registered_by)"
    " SELECT $2, $3, $4, $5::bytea, $6::bytea, $7::bytea, $8::bytea,"
    "        $9::integer, $10::bigint, $11::uuid, $12, $13, true,"
    "        $14::boolean, $15::boolean, $16::text[], $17, $18 FROM ch"
    " ON CONFLICT (credential_id) DO NOTHING RETURNING id" },
  { "passkey_credential_exists",
    "SELECT 1 FROM passkeys WHERE credential_id = $1::bytea" },
  /* The enrolment completed: its pending passkeys become the customer's
     (only those made for that customer id: the check constraint on
     user_handle would refuse the others, and completion must not fail). */
  { "passkey_attach",
    "WITH u AS ("
    "  UPDATE passkeys SET customer_id = $2, status = 'active'"
    "   WHERE enrolment_id = $1 AND status = 'pending'"
    "     AND user_handle = convert_to($2, 'UTF8')"
    "   RETURNING 1)"
    " SELECT count(*) FROM u" },
  { "passkey_admin_list",
    "SELECT coalesce(json_agg(json_build_object('id', p.id,"
    "  'status', p.status, 'algorithm', CASE p.algorithm"
    "   WHEN -7 THEN 'ES256' WHEN -8 THEN 'EdDSA' ELSE 'RS256' END,"
    "  'aaguid', p.aaguid, 'attestation', p.attestation_format,"
    "  'attestation_type', p.attestation_type,"
    "  'backup_eligible', p.backup_eligible, 'backed_up', p.backed_up,"
    "  'transports', p.transports, 'sign_count', p.sign_count,"
    "  'registered_by', p.registered_by,"
    "  'created_at', " TS ("p.created_at") ","
    "  'last_used_at', " TS ("p.last_used_at") ","
    "  'flagged_at', " TS ("p.flagged_at") ", 'flag_reason', p.flag_reason,"
    "  'revoked_at', " TS ("p.revoked_at") ", 'revoked_by', p.revoked_by,"
    "  'revoke_reason', p.revoke_reason)"
    "  ORDER BY p.created_at, p.id), '[]')::text"
    " FROM passkeys p WHERE p.customer_id = $1" },
  /* returns the status it had */
  { "passkey_revoke",
    "UPDATE passkeys p SET status = 'revoked', revoked_at = now(),"
    "       revoked_by = $3, revoke_reason = $2"
    "  FROM (SELECT id, status FROM passkeys WHERE id = $1 FOR UPDATE) o"
    " WHERE p.id = o.id AND o.status IN ('active', 'flagged')"
    " RETURNING p.customer_id, o.status" },
  { "passkey_status",
    "SELECT status FROM passkeys WHERE id = $1" },
  { NULL, NULL }
};

void
authn_passkey_register_statements (void)
{
  core_db_register (stmts);
}

/* "\\x" + hex of @a data: a bytea text parameter (malloc'd). */
char *
pk_db_bytea (const uint8_t *data, size_t len)
{
  char *s = malloc (2 * len + 3);

  if (s == NULL)
    return NULL;
  s[0] = '\\';
  s[1] = 'x';
  core_hex_encode (data, len, s + 2);
  return s;
}

/* Decode a hex column into @a out (exactly @a want bytes, or up to @a cap
   when @a want is 0).  @return the length, or -1 */
static long
hex_col (const PGresult *res, int col, uint8_t *out, size_t want, size_t cap)
{
  const char *hex = core_db_value (res, 0, col);
  long n;

  if (hex == NULL || strlen (hex) / 2 > (want ? want : cap))
    return -1;
  n = core_hex_decode (hex, out, want ? want : cap);
  return (want != 0 && n != (long) want) ? -1 : n;
}

static bool
copy_col (char *dst, size_t cap, const PGresult *res, int col)
{
  const char *v = core_db_value (res, 0, col);

  if (v == NULL || strlen (v) >= cap)
    return false;
  memcpy (dst, v, strlen (v) + 1);
  return true;
}

static bool
bool_col (const PGresult *res, int col)
{
  const char *v = core_db_value (res, 0, col);

  return v != NULL && v[0] == 't';
}

/* ---------------------------------------------------------- options */

static enum core_db_status
json_col (PGresult *res, int col, json_t **out)
{
  const char *v = core_db_value (res, 0, col);

  *out = v != NULL ? json_loads (v, 0, NULL) : NULL;
  return json_is_array (*out) ? CORE_DB_ONE_ROW : CORE_DB_HARD_ERROR;
}

enum core_db_status
pk_db_signin_options (struct core_db *db, const char *challenge_id,
                      const uint8_t challenge[PK_CHALLENGE_LEN],
                      const char *customer_id, const char *relying_party,
                      unsigned int limit, bool *locked, json_t **creds)
{
  char *ch = pk_db_bytea (challenge, PK_CHALLENGE_LEN);
  char ttl[16];
  const char *params[] = { challenge_id, "authenticate", ch, customer_id,
                           NULL, relying_party, ttl };
  PGresult *res = NULL;
  enum core_db_status st = CORE_DB_HARD_ERROR;

  *creds = NULL;
  *locked = false;
  snprintf (ttl, sizeof ttl, "%d", AUTHN_PASSKEY_CHALLENGE_TTL_S);
  (void) limit;           /* the lock in force decides, however it came */
  if (ch != NULL)
    st = authn_db_exec_retry (db, "passkey_signin_options", 7, params, &res);
  if (st == CORE_DB_ONE_ROW)
    {
      *locked = bool_col (res, 1);
      st = json_col (res, 2, creds);
    }
  PQclear (res);
  free (ch);
  return st;
}

enum core_db_status
pk_db_register_options (struct core_db *db, const char *challenge_id,
                        const uint8_t challenge[PK_CHALLENGE_LEN],
                        const char *customer_id, const char *enrolment_id,
                        const char *relying_party, json_t **creds)
{
  char *ch = pk_db_bytea (challenge, PK_CHALLENGE_LEN);
  char ttl[16];
  const char *params[] = { challenge_id, "register", ch, customer_id,
                           enrolment_id, relying_party, ttl };
  PGresult *res = NULL;
  enum core_db_status st = CORE_DB_HARD_ERROR;

  *creds = NULL;
  snprintf (ttl, sizeof ttl, "%d", AUTHN_PASSKEY_CHALLENGE_TTL_S);
  if (ch != NULL)
    st = authn_db_exec_retry (db, "passkey_register_options", 7, params,
                              &res);
  if (st == CORE_DB_ONE_ROW)
    st = json_col (res, 1, creds);
  PQclear (res);
  free (ch);
  return st;
}

/* -------------------------------------------------------- challenges */

/* Fill @a ch from columns 0..6 of @a res. @return false if a column is
   bad (our bug: logged). */
static bool
parse_challenge (const PGresult *res, struct pk_db_challenge *ch)
{
  if (!copy_col (ch->purpose, sizeof ch->purpose, res, S_PURPOSE)
      || hex_col (res, S_CHALLENGE, ch->challenge, PK_CHALLENGE_LEN, 0) < 0
      || !copy_col (ch->customer_id, sizeof ch->customer_id, res,
                    S_CH_CUSTOMER)
      || !copy_col (ch->enrolment_id, sizeof ch->enrolment_id, res,
                    S_CH_ENROLMENT)
      || !copy_col (ch->relying_party, sizeof ch->relying_party, res, S_RP))
    {
      LOG_BUG ("passkey challenge row does not parse");
      return false;
    }
  ch->used = bool_col (res, S_USED);
  ch->expired = bool_col (res, S_EXPIRED);
  return true;
}

enum core_db_status
pk_db_challenge_load (struct core_db *db, const char *id,
                      struct pk_db_challenge *out)
{
  const char *params[] = { id };
  PGresult *res = NULL;
  enum core_db_status st;

  memset (out, 0, sizeof *out);
  st = authn_db_exec_retry (db, "passkey_challenge_load", 1, params, &res);
  if (st == CORE_DB_ONE_ROW && !parse_challenge (res, out))
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

enum core_db_status
pk_db_challenge_spend (struct core_db *db, const char *id)
{
  const char *params[] = { id };

  return authn_db_exec_retry (db, "passkey_challenge_spend", 1, params, NULL);
}

/* ----------------------------------------------------------- sign in */

static bool
parse_passkey (const PGresult *res, struct pk_db_signin *o)
{
  int64_t alg, count;
  long n;

  if (!authn_db_copy_id (o->passkey_id, core_db_value (res, 0, S_PK_ID))
      || !copy_col (o->owner, sizeof o->owner, res, S_OWNER)
      || !copy_col (o->status, sizeof o->status, res, S_STATUS)
      || !authn_db_parse_i64 (core_db_value (res, 0, S_ALG), &alg)
      || !authn_db_parse_i64 (core_db_value (res, 0, S_COUNT), &count)
      || count < 0 || count > UINT32_MAX)
    return false;
  o->key.alg = (int) alg;
  n = hex_col (res, S_PUBKEY, o->key.raw, 0, sizeof o->key.raw);
  if (n <= 0)
    return false;
  o->key.raw_len = (size_t) n;
  o->sign_count = (uint32_t) count;
  o->backup_eligible = bool_col (res, S_BE);
  n = hex_col (res, S_HANDLE, o->user_handle, 0, sizeof o->user_handle);
  if (n <= 0)
    return false;
  o->user_handle_len = (size_t) n;
  return true;
}

enum core_db_status
pk_db_signin_load (struct core_db *db, const char *challenge_id,
                   const uint8_t *cred_id, size_t cred_id_len,
                   struct pk_db_signin *out)
{
  char *cid = pk_db_bytea (cred_id, cred_id_len);
  const char *params[] = { challenge_id, cid };
  PGresult *res = NULL;
  enum core_db_status st = CORE_DB_HARD_ERROR;
  int64_t failed;

  memset (out, 0, sizeof *out);
  if (cid != NULL)
    st = authn_db_exec_retry (db, "passkey_signin_load", 2, params, &res);
  free (cid);
  if (st != CORE_DB_ONE_ROW)
    {
      PQclear (res);
      return st;
    }
  if (!parse_challenge (res, &out->ch))
    st = CORE_DB_HARD_ERROR;
  out->found = core_db_value (res, 0, S_PK_ID) != NULL;
  if (st == CORE_DB_ONE_ROW && out->found && !parse_passkey (res, out))
    {
      LOG_BUG ("passkey row does not parse");
      st = CORE_DB_HARD_ERROR;
    }
  out->customer_found = core_db_value (res, 0, S_CUS_ID) != NULL;
  if (st == CORE_DB_ONE_ROW && out->customer_found
      && (!authn_db_copy_id (out->customer_id,
                             core_db_value (res, 0, S_CUS_ID))
          || !authn_db_parse_i64 (core_db_value (res, 0, S_FAILED),
                                  &failed)))
    st = CORE_DB_HARD_ERROR;
  else if (out->customer_found)
    {
      out->failed_attempts = (long) failed;
      out->locked = bool_col (res, S_LOCKED);
    }
  PQclear (res);
  return st;
}

enum core_db_status
pk_db_accept (struct core_db *db, const char *challenge_id,
              const char *passkey_id, uint32_t sign_count, bool backed_up,
              unsigned int limit, const struct authn_passkey_who *who,
              struct pk_db_accepted *out)
{
  char count[16];
  const char *params[] = { challenge_id, passkey_id, count,
                           backed_up ? "true" : "false",
                           who->relying_party, who->client_addr };
  PGresult *res = NULL;
  enum core_db_status st;

  memset (out, 0, sizeof *out);
  snprintf (count, sizeof count, "%" PRIu32, sign_count);
  (void) limit;
  st = authn_db_exec_retry (db, "passkey_accept", 6, params, &res);
  if (st == CORE_DB_ONE_ROW)
    {
      out->challenge_spent = bool_col (res, 0);
      out->counter_advanced = bool_col (res, 1);
      out->customer_unlocked = bool_col (res, 2);
    }
  PQclear (res);
  return st;
}

enum core_db_status
pk_db_flag (struct core_db *db, const char *passkey_id, const char *reason)
{
  const char *params[] = { passkey_id, reason };

  return authn_db_exec_retry (db, "passkey_flag", 2, params, NULL);
}

/* ----------------------------------------------------- registration */

enum core_db_status
pk_db_insert (struct core_db *db, const struct pk_db_new *n)
{
  char *cid = pk_db_bytea (n->cred_id, n->cred_id_len);
  char *uh = pk_db_bytea (n->user_handle, n->user_handle_len);
  char *cose = pk_db_bytea (n->cose_key, n->cose_key_len);
  char *key = pk_db_bytea (n->key->raw, n->key->raw_len);
  char alg[16], count[16];
  const char *params[] = { n->challenge_id, n->id, n->customer_id,
                           n->enrolment_id, cid, uh, cose, key, alg, count,
                           n->aaguid, n->format, n->attestation_type,
                           n->backup_eligible ? "true" : "false",
                           n->backed_up ? "true" : "false", n->transports,
                           n->status, n->registered_by };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  snprintf (alg, sizeof alg, "%d", n->key->alg);
  snprintf (count, sizeof count, "%" PRIu32, n->sign_count);
  if (cid != NULL && uh != NULL && cose != NULL && key != NULL)
    st = core_db_exec (db, "passkey_insert", 18, params, NULL);
  free (cid);
  free (uh);
  free (cose);
  free (key);
  return st;
}

enum core_db_status
pk_db_credential_exists (struct core_db *db, const uint8_t *cred_id,
                         size_t len)
{
  char *cid = pk_db_bytea (cred_id, len);
  const char *params[] = { cid };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (cid != NULL)
    st = core_db_exec (db, "passkey_credential_exists", 1, params, NULL);
  free (cid);
  return st;
}

enum core_db_status
authn_passkey_attach_tx (struct core_db *db, const char *enrolment_id,
                         const char *customer_id, long *attached)
{
  const char *params[] = { enrolment_id, customer_id };
  PGresult *res = NULL;
  enum core_db_status st;

  st = core_db_exec (db, "passkey_attach", 2, params, &res);
  if (attached != NULL)
    *attached = st == CORE_DB_ONE_ROW
                ? strtol (core_db_value (res, 0, 0), NULL, 10) : 0;
  PQclear (res);
  return st < 0 ? st : CORE_DB_ONE_ROW;
}

/* ------------------------------------------------------- back-office */

enum core_db_status
pk_db_admin_list (struct core_db *db, const char *customer_id, json_t **out)
{
  const char *params[] = { customer_id };
  PGresult *res = NULL;
  enum core_db_status st;

  *out = NULL;
  st = authn_db_exec_retry (db, "passkey_admin_list", 1, params, &res);
  if (st == CORE_DB_ONE_ROW)
    st = json_col (res, 0, out);
  PQclear (res);
  return st;
}

enum core_db_status
pk_db_revoke (struct core_db *db, const char *passkey_id, const char *reason,
              const char *actor, char customer_id[AUTHN_ID_MAX],
              char was[16])
{
  const char *params[] = { passkey_id, reason, actor };
  PGresult *res = NULL;
  enum core_db_status st;

  st = core_db_exec (db, "passkey_revoke", 3, params, &res);
  if (st == CORE_DB_ONE_ROW
      && (!authn_db_copy_id (customer_id, core_db_value (res, 0, 0))
          || !copy_col (was, 16, res, 1)))
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}

enum core_db_status
pk_db_status (struct core_db *db, const char *passkey_id, char status[16])
{
  const char *params[] = { passkey_id };
  PGresult *res = NULL;
  enum core_db_status st;

  st = core_db_exec (db, "passkey_status", 1, params, &res);
  if (st == CORE_DB_ONE_ROW && !copy_col (status, 16, res, 0))
    st = CORE_DB_HARD_ERROR;
  PQclear (res);
  return st;
}
