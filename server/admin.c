/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * admin.c -- back-office staff accounts: the SQL of admins, creation and
 * password resets (operator commands), storing a new password, unlock, and
 * the staff list.  Logging in is admin_login.c.
 *
 * A generated password is 144 random bits, hashed with Argon2id (authn's
 * PIN hash); a TOTP seed is 20 random bytes sealed to its account (aad
 * "admin:<username>") and shown only in the otpauth URI, once.  Passwords
 * and seeds are wiped after use and never logged or audited.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "authn/pin.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/retention.h"
#include "server/admin.h"

#define SEED_LEN 20
#define STR_(x) #x
#define STR(x) STR_ (x)
#define PASSWORD_BYTES 18       /* 24 base64url characters, 144 bits */
#define TS(x) \
  "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define OTPAUTH_FMT "otpauth://totp/Guichet%%20back-office:%s?secret=%s" \
                    "&issuer=Guichet%%20back-office&algorithm=SHA1&digits=6" \
                    "&period=30"

/* When a lock ends, RFC 3339 UTC (NULL when permanent or none), and the
   seconds until then. */
#define LOCK_END(col) \
  "CASE WHEN isfinite(" col ") THEN " TS (col) " END"
#define LOCK_WAIT(col) \
  "CASE WHEN isfinite(" col ") AND " col " > now()" \
  " THEN ceil(extract(epoch FROM " col " - now()))::integer END"
/* The failure being counted reaches the limit $2. */
#define REACHES_LIMIT \
  "lockout_failures(l.failed_attempts, l.locked_until) + 1 >= $2::integer"

static const struct core_db_stmt admin_stmts[] = {
  { "admin_insert",
    "INSERT INTO admins (username, role, password_hash, totp_sealed)"
    " VALUES ($1, $2, $3, $4::bytea)"
    " ON CONFLICT (username) DO NOTHING RETURNING username" },
  /* The account and the lock of its username.  Columns as admin_login_begin
     from its second on. */
  { "admin_load",
    "SELECT 0, true, a.role, a.password_hash, encode(a.totp_sealed, 'hex'),"
    " a.totp_last_step, coalesce(l.locked_until > now(), false),"
    " " LOCK_END ("l.locked_until") ", " LOCK_WAIT ("l.locked_until")
    " FROM admins a LEFT JOIN admin_lockouts l ON l.username = a.username"
    " WHERE a.username = $1" },
  /* A login's first statement: the rate limits (per client address, then
     per username tried, known or not), and only when both admit it, the
     account (if any) and the lock of the username (whether or not an
     account has it).  Always one row.  $1 username, $2 address key,
     $3/$4 per-address limit, $5/$6 per-username limit. */
  { "admin_login_begin",
    "WITH w AS MATERIALIZED ("
    "  SELECT rate_limit_take('admin_login_address', $2, $3::integer,"
    "                         $4::integer) AS k),"
    " rl AS MATERIALIZED ("
    "  SELECT CASE WHEN w.k > 0 THEN w.k"
    "              ELSE rate_limit_take('admin_login_username', $1,"
    "                                   $5::integer, $6::integer) END AS wait"
    "    FROM w)"
    " SELECT rl.wait, a.username IS NOT NULL, a.role, a.password_hash,"
    "  encode(a.totp_sealed, 'hex'), a.totp_last_step,"
    "  coalesce(l.locked_until > now(), false),"
    "  " LOCK_END ("l.locked_until") ", " LOCK_WAIT ("l.locked_until")
    " FROM rl LEFT JOIN admins a ON a.username = $1 AND rl.wait = 0"
    " LEFT JOIN admin_lockouts l ON l.username = $1 AND rl.wait = 0" },
  /* $1 user, $2 step: spent only if newer than every step spent before */
  { "admin_spend_step",
    "UPDATE admins SET totp_last_step = $2::bigint"
    " WHERE username = $1 AND totp_last_step < $2::bigint"
    " RETURNING username" },
  /* Count a failure of username $1 (an account or not); at the limit $2,
     lock until lockout_until() ($3 lockout_base_s, 0: permanent; $4
     lockout_max_s).  Nothing while a lock is in force.  Returns the
     attempts left. */
  { "admin_fail",
    "INSERT INTO admin_lockouts AS l (username, failed_attempts, lockouts,"
    "  locked_at, locked_until)"
    " SELECT $1, 1, CASE WHEN $2::integer <= 1 THEN 1 ELSE 0 END,"
    "  CASE WHEN $2::integer <= 1 THEN now() END,"
    "  CASE WHEN $2::integer <= 1 THEN lockout_until(0, $3::integer,"
    "                                                $4::integer) END"
    " ON CONFLICT (username) DO UPDATE SET"
    "  failed_attempts = lockout_failures(l.failed_attempts, l.locked_until) + 1,"
    "  locked_at = CASE WHEN " REACHES_LIMIT " THEN now() ELSE l.locked_at END,"
    "  locked_until = CASE WHEN " REACHES_LIMIT
    "                 THEN lockout_until(l.lockouts, $3::integer, $4::integer)"
    "                 WHEN l.locked_until <= now() THEN NULL"
    "                 ELSE l.locked_until END,"
    "  lockouts = l.lockouts + CASE WHEN " REACHES_LIMIT " THEN 1 ELSE 0 END,"
    "  updated_at = now()"
    " WHERE NOT coalesce(l.locked_until > now(), false)"
    " RETURNING GREATEST($2::integer - failed_attempts, 0)" },
  /* Both factors passed: forget the username's failures, unless a lock
     began meanwhile (then nothing: NO_ROW). */
  { "admin_succeed",
    "WITH d AS (DELETE FROM admin_lockouts WHERE username = $1"
    "  AND NOT coalesce(locked_until > now(), false))"
    " UPDATE admins SET last_login_at = now()"
    " WHERE username = $1 AND NOT EXISTS (SELECT 1 FROM admin_lockouts l"
    "  WHERE l.username = $1 AND l.locked_until > now()) RETURNING role" },
  /* A new password also clears a lockout. */
  { "admin_set_password",
    "WITH d AS (DELETE FROM admin_lockouts WHERE username = $1)"
    " UPDATE admins SET password_hash = $2, password_set_at = now()"
    " WHERE username = $1 RETURNING username" },
  { "admin_unlock",
    "WITH d AS (DELETE FROM admin_lockouts WHERE username = $1)"
    " SELECT username FROM admins WHERE username = $1" },
  { "admin_list",
    "SELECT coalesce(json_agg(json_build_object('username', a.username,"
    " 'role', a.role, 'locked', coalesce(l.locked_until > now(), false),"
    " 'locked_until', CASE WHEN l.locked_until > now() THEN "
    LOCK_END ("l.locked_until") " END,"
    " 'failed_attempts',"
    "  coalesce(lockout_failures(l.failed_attempts, l.locked_until), 0),"
    " 'created_at', " TS ("a.created_at") ","
    " 'last_login_at', " TS ("a.last_login_at") ") ORDER BY a.username),"
    " '[]')::text FROM admins a"
    " LEFT JOIN admin_lockouts l ON l.username = a.username" },
  /* Sessions idle (or ended) for SRV_ADMIN_IDLE_MAX_S + $2 seconds: dead
     for at least $2 seconds whatever admin_idle_s is.  $1 batch. */
  { "admin_sessions_purge",
    "DELETE FROM admin_sessions WHERE ctid = ANY (ARRAY ("
    " SELECT ctid FROM admin_sessions"
    "  WHERE last_seen_at < now() - make_interval(secs => $2::integer + "
    STR (SRV_ADMIN_IDLE_MAX_S) ")"
    "  LIMIT $1::integer FOR UPDATE SKIP LOCKED))" },
  /* Login failures of usernames idle for $2 seconds with no lock in
     force.  $1 batch. */
  { "admin_lockouts_purge",
    "DELETE FROM admin_lockouts WHERE ctid = ANY (ARRAY ("
    " SELECT ctid FROM admin_lockouts"
    "  WHERE updated_at < now() - make_interval(secs => $2::integer)"
    "    AND NOT coalesce(locked_until > now(), false)"
    "  LIMIT $1::integer FOR UPDATE SKIP LOCKED))" },
  { NULL, NULL }
};

static const struct core_purge_job admin_jobs[] = {
  { .name = "admin_sessions", .stmt = "admin_sessions_purge",
    .retention = offsetof (struct core_config, retention_s) },
  { .name = "admin_lockouts", .stmt = "admin_lockouts_purge",
    .retention = offsetof (struct core_config, retention_s) },
  { .name = NULL }
};

void
srv_admin_register_statements (void)
{
  core_db_register (admin_stmts);
  core_retention_register (admin_jobs);
  srv_admin_session_register_statements ();
  srv_admin_support_register_statements ();
}

unsigned int
srv_admin_lockout_limit (void)
{
  return (NULL != core_cfg && core_cfg->lockout_attempts > 0)
         ? core_cfg->lockout_attempts : 5;
}

enum core_err
srv_admin_db_err (struct core_db *db)
{
  return core_db_err (db);
}

bool
srv_admin_username_ok (const char *u)
{
  size_t n = (NULL != u) ? strlen (u) : 0;

  if (0 == n || n >= SRV_ADMIN_NAME_MAX || NULL != strchr ("._-", u[0]))
    return false;
  return n == strspn (u, "abcdefghijklmnopqrstuvwxyz0123456789._-");
}

static bool
role_ok (const char *r)
{
  return NULL != r && (0 == strcmp (r, "reviewer") || 0 == strcmp (r, "advisor")
                       || 0 == strcmp (r, "support") || 0 == strcmp (r, "admin"));
}

/* A generated password: 144 random bits as 24 base64url characters. */
static char *
password_new (void)
{
  uint8_t raw[PASSWORD_BYTES];
  char *pw = NULL;

  if (0 == core_random (raw, sizeof raw))
    pw = core_b64url_encode (raw, sizeof raw);
  OPENSSL_cleanse (raw, sizeof raw);
  return pw;
}

static void
free_secret (char **s)
{
  if (NULL != *s)
    core_free_secret (*s, strlen (*s));
  *s = NULL;
}

/* ============================================================ create */

struct new_admin {
  const char *username, *role;
  char *password, *hash, *uri;
  char sealed[2 + 2 * 256];     /* "\\x" + hex of the envelope */
  bool conflict;
};

/* Make the seed, seal it to the account, write the URI. @return 0/-1 */
static int
make_seed (struct new_admin *n)
{
  uint8_t seed[SEED_LEN];
  uint8_t *env = NULL;
  size_t envlen = 0;
  char aad[sizeof "admin:" + SRV_ADMIN_NAME_MAX];
  char *b32 = NULL;
  int rc = -1;

  snprintf (aad, sizeof aad, "admin:%s", n->username);
  if (0 != core_random (seed, sizeof seed)
      || 0 != core_seal (seed, sizeof seed, aad, &env, &envlen)
      || 2 * envlen + 3 > sizeof n->sealed
      || NULL == (b32 = core_b32_encode (seed, sizeof seed)))
    goto out;
  memcpy (n->sealed, "\\x", 2);
  core_hex_encode (env, envlen, n->sealed + 2);
  if (asprintf (&n->uri, OTPAUTH_FMT, n->username, b32) < 0)
    n->uri = NULL;
  else
    rc = 0;
out:
  OPENSSL_cleanse (seed, sizeof seed);
  free (env);
  if (NULL != b32)
    core_free_secret (b32, strlen (b32));
  return rc;
}

static enum core_db_status
create_tx (struct core_db *db, void *cls)
{
  struct new_admin *n = cls;
  const char *p[4] = { n->username, n->role, n->hash, n->sealed };
  enum core_db_status st;

  n->conflict = false;
  st = core_db_exec (db, "admin_insert", 4, p, NULL);
  if (CORE_DB_NO_ROW == st)
    n->conflict = true;
  if (CORE_DB_ONE_ROW != st)
    return st;
  return core_audit_append (db, "system", "admin.create", n->username,
                            json_pack ("{s:s, s:s}", "role", n->role,
                                       "via", "cli"));
}

enum core_err
srv_admin_create (struct core_db *db, const char *username, const char *role,
                  char **password, char **otpauth_uri)
{
  struct new_admin n = { .username = username, .role = role };
  enum core_db_status st;
  enum core_err err = CORE_ERR_INTERNAL;

  *password = *otpauth_uri = NULL;
  if (! srv_admin_username_ok (username) || ! role_ok (role))
    return CORE_ERR_INVALID_FIELD;
  if (NULL == (n.password = password_new ()) || 0 != make_seed (&n)
      || 0 != authn_pin_hash (n.password, &n.hash))
    goto cleanup;
  st = core_db_tx (db, false, &create_tx, &n);
  if (n.conflict)
    err = CORE_ERR_CONFLICT;
  else if (st < 0)
    err = srv_admin_db_err (db);
  else
  {
    *password = n.password;
    *otpauth_uri = n.uri;
    n.password = n.uri = NULL;
    err = CORE_OK;
  }
cleanup:
  free_secret (&n.password);
  free_secret (&n.uri);
  free (n.hash);
  return err;
}

/* ============================================================ passwords */

struct set_password {
  const char *username, *hash, *keep_token, *action, *actor;
  bool missing;
};

static enum core_db_status
set_password_tx (struct core_db *db, void *cls)
{
  struct set_password *s = cls;
  const char *p[2] = { s->username, s->hash };
  enum core_db_status st;

  st = core_db_exec (db, "admin_set_password", 2, p, NULL);
  s->missing = CORE_DB_NO_ROW == st;
  if (CORE_DB_ONE_ROW != st)
    return st;
  st = srv_admin_sessions_end_others (db, s->username, s->keep_token);
  if (st >= 0)
    st = core_audit_append (db, s->actor, s->action, s->username, NULL);
  return st;
}

enum core_err
srv_admin_store_password (struct core_db *db, const char *username,
                          const char *hash, const char *keep_token,
                          const char *actor, const char *action)
{
  struct set_password s = { .username = username, .hash = hash,
                            .keep_token = keep_token, .actor = actor,
                            .action = action };
  enum core_db_status st = core_db_tx (db, false, &set_password_tx, &s);

  if (s.missing)
    return CORE_ERR_NOT_FOUND;
  return st < 0 ? srv_admin_db_err (db) : CORE_OK;
}

enum core_err
srv_admin_reset_password (struct core_db *db, const char *username,
                          char **password)
{
  char *pw = password_new ();
  char *hash = NULL;
  enum core_err err = CORE_ERR_INTERNAL;

  *password = NULL;
  if (! srv_admin_username_ok (username))
    err = CORE_ERR_NOT_FOUND;
  else if (NULL != pw && 0 == authn_pin_hash (pw, &hash))
    err = srv_admin_store_password (db, username, hash, NULL, "system",
                                    "admin.password_reset");
  if (CORE_OK == err)
    *password = pw;
  else
    free_secret (&pw);
  free (hash);
  return err;
}

static enum core_db_status
unlock_tx (struct core_db *db, void *cls)
{
  const char *p[1] = { cls };
  enum core_db_status st = core_db_exec (db, "admin_unlock", 1, p, NULL);

  if (CORE_DB_ONE_ROW == st)
    st = core_audit_append (db, "system", "admin.unlock", cls, NULL);
  return st;
}

enum core_err
srv_admin_unlock (struct core_db *db, const char *username)
{
  enum core_db_status st;

  if (! srv_admin_username_ok (username))
    return CORE_ERR_NOT_FOUND;
  st = core_db_tx (db, false, &unlock_tx, (void *) username);
  if (st < 0)
    return srv_admin_db_err (db);
  return CORE_DB_NO_ROW == st ? CORE_ERR_NOT_FOUND : CORE_OK;
}

/* ============================================================ list */

enum core_err
srv_admin_list (struct core_db *db, json_t **admins)
{
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "admin_list", 0, NULL, &r);

  *admins = NULL;
  if (CORE_DB_ONE_ROW == st)
    *admins = json_loads (PQgetvalue (r, 0, 0), 0, NULL);
  PQclear (r);
  if (st < 0)
    return srv_admin_db_err (db);
  return NULL != *admins ? CORE_OK : CORE_ERR_INTERNAL;
}
