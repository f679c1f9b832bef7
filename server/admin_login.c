/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * admin_login.c -- a back-office login with password + TOTP, and a user's
 * change of their own password.
 *
 * The order of a login is the point of this file, as verify.c's is for
 * customers: take the rate limits (per client address, then per username
 * tried) and load the account and its username's lock (one statement),
 * refuse a lock in force, then the TOTP (microseconds, and one conditional
 * UPDATE that spends its time step), and only then the Argon2id password
 * hash.  A wrong, malformed or replayed code never pays for a hash; every
 * failure counts toward the lockout and gets the same answer; every
 * attempt but a rate-limited one is audited.  All of it is one
 * transaction, so the counts commit with what the attempt wrote.
 *
 * A stranger must not learn which usernames exist: failures are counted
 * per username tried (admin_lockouts), an account or not, so an unknown
 * name locks, and answers 423 with the time it ends, exactly as a known
 * one; and a lock is temporary (lockout_base_s, doubling, at most
 * lockout_max_s), so five requests cannot shut an admin out for good.
 * Passwords, codes and seeds are never logged, audited or kept in clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn/otp.h"
#include "authn/pin.h"
#include "core/audit.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "server/admin.h"

static void
free_secret (char **s)
{
  if (NULL != *s)
    core_free_secret (*s, strlen (*s));
  *s = NULL;
}

/* ============================================================ login */

/* Columns of admin_login_begin and admin_load. */
enum { A_WAIT, A_EXISTS, A_ROLE, A_HASH, A_SEALED, A_STEP, A_LOCKED,
       A_UNTIL, A_RETRY };

/* The account as loaded, and where its username's lock stands. */
struct account {
  long rate_wait;               /* > 0: refused by a rate limit */
  bool exists;
  char role[16];
  char *hash;                   /* Argon2id encoded */
  char *sealed_hex;
  long long last_step;
  bool locked;                  /* a lock is in force */
  char until[32];               /* its end, "" when permanent */
  long retry_after;
};

static void
account_clear (struct account *a)
{
  free (a->hash);
  free (a->sealed_hex);
  memset (a, 0, sizeof *a);
}

/* Fill @a a from row 0 of @a r.  @return 0, or -1 (out of memory) */
static int
account_parse (const PGresult *r, struct account *a)
{
  const char *v;

  account_clear (a);
  v = core_db_value (r, 0, A_WAIT);
  a->rate_wait = NULL != v ? strtol (v, NULL, 10) : 0;
  if (a->rate_wait > 0)
    return 0;
  v = core_db_value (r, 0, A_EXISTS);
  a->exists = NULL != v && 't' == v[0];
  v = core_db_value (r, 0, A_LOCKED);
  a->locked = NULL != v && 't' == v[0];
  v = core_db_value (r, 0, A_UNTIL);
  snprintf (a->until, sizeof a->until, "%s", NULL != v ? v : "");
  v = core_db_value (r, 0, A_RETRY);
  a->retry_after = NULL != v ? strtol (v, NULL, 10) : 0;
  if (! a->exists)
    return 0;
  snprintf (a->role, sizeof a->role, "%s", PQgetvalue (r, 0, A_ROLE));
  a->hash = strdup (PQgetvalue (r, 0, A_HASH));
  a->sealed_hex = strdup (PQgetvalue (r, 0, A_SEALED));
  a->last_step = strtoll (PQgetvalue (r, 0, A_STEP), NULL, 10);
  return NULL == a->hash || NULL == a->sealed_hex ? -1 : 0;
}

/* The account of a user who is logged in (password change).
   @return ONE_ROW with @a a filled, NO_ROW, or an error. */
static enum core_db_status
account_load (struct core_db *db, const char *username, struct account *a)
{
  const char *p[1] = { username };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "admin_load", 1, p, &r);

  memset (a, 0, sizeof *a);
  if (CORE_DB_ONE_ROW == st && 0 != account_parse (r, a))
    st = CORE_DB_HARD_ERROR;
  PQclear (r);
  return st;
}

/* A login's first statement: rate limits, account, lock.  An invalid
   user name is only counted against its address. */
static enum core_db_status
account_begin (struct core_db *db, const struct srv_admin_login *req,
               struct account *a)
{
  const struct core_rate off = { 0, 0 };
  bool named = srv_admin_username_ok (req->username);
  char key[CORE_RATE_KEY_LEN];
  char ac[CORE_RATE_PARAM_LEN], ap[CORE_RATE_PARAM_LEN];
  char uc[CORE_RATE_PARAM_LEN], up[CORE_RATE_PARAM_LEN];
  const char *p[6] = { named ? req->username : "-", key, ac, ap, uc, up };
  PGresult *r = NULL;
  enum core_db_status st;

  core_rate_addr_key (req->client_addr, key);
  core_rate_params (&core_cfg->rate_admin_login_per_address, ac, ap);
  core_rate_params (named ? &core_cfg->rate_admin_login_per_username : &off,
                    uc, up);
  st = core_db_exec (db, "admin_login_begin", 6, p, &r);
  if (CORE_DB_ONE_ROW == st && 0 != account_parse (r, a))
    st = CORE_DB_HARD_ERROR;
  else if (CORE_DB_NO_ROW == st)
    st = CORE_DB_HARD_ERROR;     /* the statement always has a row */
  PQclear (r);
  if (! named)
    a->exists = false;
  return st;
}

/* lockout_base_s as admin_fail wants it (0: permanent) and lockout_max_s. */
static void
lockout_params (char base[16], char max[16])
{
  snprintf (base, 16, "%u", core_cfg->lockout_permanent ? 0
            : core_cfg->lockout_base_s);
  snprintf (max, 16, "%u", core_cfg->lockout_max_s);
}

/* Count a failure of the username (when @a count and the name is
   well-formed) and audit it, inside the caller's transaction. */
static enum core_db_status
failure_write (struct core_db *db, const struct srv_admin_login *req,
               const char *action, const char *reason, bool count)
{
  const char *user = req->username;
  const char *who = srv_admin_username_ok (user) ? user : NULL;
  char limit[16], base[16], max[16];
  const char *p[4] = { user, limit, base, max };
  enum core_db_status st = CORE_DB_ONE_ROW;

  snprintf (limit, sizeof limit, "%u", srv_admin_lockout_limit ());
  lockout_params (base, max);
  if (count && NULL != who)
    st = core_db_exec (db, "admin_fail", 4, p, NULL);
  if (st < 0)
    return st;
  return core_audit_append (db, NULL != who ? who : "anonymous", action,
                            who, json_pack ("{s:s, s:s}", "reason", reason,
                                            "client_addr", req->client_addr));
}

/* Check the code against the account's seed; spend its step.
   @return NULL when accepted, else the audit reason. */
static const char *
check_otp (struct core_db *db, const char *username, const struct account *a,
           const char *otp, enum core_err *err)
{
  const struct authn_otp_params prm = { AUTHN_OTP_TOTP, AUTHN_OTP_SHA1, 6, 30 };
  int64_t now = authn_otp_step (&prm, time (NULL)), t = -1;
  uint8_t env[512], *seed = NULL;
  size_t seedlen = 0;
  long envlen = core_hex_decode (a->sealed_hex, env, sizeof env);
  char aad[sizeof "admin:" + SRV_ADMIN_NAME_MAX], step[24];
  const char *p[2] = { username, step };
  enum authn_otp_result r = AUTHN_OTP_ERROR;
  enum core_db_status st;

  *err = CORE_OK;
  if (! authn_otp_code_well_formed (otp, 6))
    return "otp_invalid";
  snprintf (aad, sizeof aad, "admin:%s", username);
  if (envlen > 0
      && 0 == core_open (env, (size_t) envlen, aad, &seed, &seedlen))
    r = authn_otp_search (&prm, seed, seedlen, otp, now - 1, now + 1, &t);
  core_free_secret (seed, seedlen);
  if (AUTHN_OTP_ERROR == r)
  {
    LOG_ERROR ("back-office user %s: TOTP seed cannot be opened", username);
    *err = CORE_ERR_INTERNAL;
    return "internal";
  }
  if (AUTHN_OTP_MATCH != r)
    return "otp_invalid";
  if (t <= a->last_step)
    return "otp_replayed";
  snprintf (step, sizeof step, "%lld", (long long) t);
  st = core_db_exec (db, "admin_spend_step", 2, p, NULL);
  if (st < 0)
    *err = srv_admin_db_err (db);
  return CORE_DB_ONE_ROW == st ? NULL : "otp_replayed";
}

/* One login: the transaction body and what came of it. */
struct login {
  const struct srv_admin_login *req;
  struct srv_admin_login_res *res;
  struct account a;
  enum core_err err;
  const char *reason;           /* audit reason of a refusal */
};

/* End the attempt as a refusal: count (when @a count), audit, answer
   @a err. */
static enum core_db_status
refuse (struct core_db *db, struct login *l, const char *reason, bool count,
        enum core_err err)
{
  l->reason = reason;
  l->err = err;
  return failure_write (db, l->req, "admin.login_failed", reason, count);
}

/* The factors passed: forget the failures, open the session, audit. */
static enum core_db_status
succeed (struct core_db *db, struct login *l)
{
  const char *p[1] = { l->req->username };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "admin_succeed", 1, p, &r);

  if (CORE_DB_ONE_ROW == st)
    snprintf (l->res->role, sizeof l->res->role, "%s", PQgetvalue (r, 0, 0));
  PQclear (r);
  if (CORE_DB_NO_ROW == st)     /* locked by parallel failures meanwhile */
    return refuse (db, l, "locked", false, CORE_ERR_LOCKED);
  if (CORE_DB_ONE_ROW != st)
    return st;
  st = srv_admin_session_open (db, l->req->username, l->req->client_addr,
                               &l->res->token, &l->res->csrf);
  if (CORE_DB_ONE_ROW == st)
    st = core_audit_append (db, l->req->username, "admin.login",
                            l->req->username,
                            json_pack ("{s:s, s:s}", "role", l->res->role,
                                       "client_addr", l->req->client_addr));
  l->err = CORE_DB_ONE_ROW == st ? CORE_OK : l->err;
  return st;
}

/* The username may try and has an account: code, then password. */
static enum core_db_status
try_factors (struct core_db *db, struct login *l)
{
  const char *why = check_otp (db, l->req->username, &l->a, l->req->otp,
                               &l->err);
  int rc;

  if (CORE_OK != l->err)
    return CORE_DB_HARD_ERROR;
  if (NULL != why)
    return refuse (db, l, why, true, CORE_ERR_AUTHENTICATION_FAILED);
  rc = authn_pin_verify (l->a.hash, l->req->password);
  if (rc < 0)
  {
    l->err = CORE_ERR_INTERNAL;
    return CORE_DB_HARD_ERROR;
  }
  if (0 == rc)
    return refuse (db, l, "password_invalid", true,
                   CORE_ERR_AUTHENTICATION_FAILED);
  return succeed (db, l);
}

static enum core_db_status
login_tx (struct core_db *db, void *cls)
{
  struct login *l = cls;
  enum core_db_status st;

  srv_admin_login_res_clear (l->res);
  l->err = CORE_ERR_INTERNAL;
  l->reason = NULL;
  st = account_begin (db, l->req, &l->a);
  if (st < 0)
    return st;
  if (l->a.rate_wait > 0)
  {
    l->res->retry_after = l->a.rate_wait;
    l->err = CORE_ERR_RATE_LIMITED;
    return CORE_DB_NO_ROW;        /* nothing counted, nothing audited */
  }
  if (l->a.locked)
  {
    snprintf (l->res->locked_until, sizeof l->res->locked_until, "%s",
              l->a.until);
    l->res->retry_after = l->a.retry_after;
    return refuse (db, l, "locked", false, CORE_ERR_LOCKED);
  }
  if (! l->a.exists)
    return refuse (db, l, "unknown_user", true,
                   CORE_ERR_AUTHENTICATION_FAILED);
  return try_factors (db, l);
}

enum core_err
srv_admin_login (struct core_db *db, const struct srv_admin_login *req,
                 struct srv_admin_login_res *res)
{
  struct login l = { .req = req, .res = res };
  enum core_db_status st;

  memset (res, 0, sizeof *res);
  st = core_db_tx (db, false, &login_tx, &l);
  account_clear (&l.a);
  if (st < 0)
  {
    srv_admin_login_res_clear (res);
    return CORE_ERR_INTERNAL == l.err ? srv_admin_db_err (db) : l.err;
  }
  if (CORE_OK == l.err)
    LOG_INFO ("back-office user %s logged in (%s)", req->username,
              res->role);
  else if (NULL != l.reason)
    LOG_INFO ("back-office admin.login_failed (%s)", l.reason);
  if (CORE_OK != l.err)
    srv_admin_login_res_clear (res);
  return l.err;
}

void
srv_admin_login_res_clear (struct srv_admin_login_res *res)
{
  free_secret (&res->token);
  free_secret (&res->csrf);
  res->role[0] = '\0';
}

/* A failure outside a login (a wrong current password), counted and
   audited in a transaction of its own. */
struct failure {
  const struct srv_admin_login *req;
  const char *action;
  const char *reason;
};

static enum core_db_status
failure_tx (struct core_db *db, void *cls)
{
  struct failure *f = cls;

  return failure_write (db, f->req, f->action, f->reason, true);
}

/* Record the failure; @return @a answer, or a database error. */
static enum core_err
record_failure (struct core_db *db, const struct srv_admin_login *req,
                const char *action, const char *reason, enum core_err answer)
{
  struct failure f = { req, action, reason };

  if (core_db_tx (db, false, &failure_tx, &f) < 0)
    return srv_admin_db_err (db);
  LOG_INFO ("back-office %s (%s)", action, reason);
  return answer;
}

/* ============================================================ change */

static size_t
utf8_chars (const char *s)
{
  size_t n = 0;

  for (; '\0' != *s; s++)
    n += 0x80 != ((unsigned char) *s & 0xC0);
  return n;
}

static json_t *
password_policy (const char *current, const char *fresh)
{
  json_t *reasons = json_array ();

  if (utf8_chars (fresh) < SRV_ADMIN_PASSWORD_MIN)
    json_array_append_new (reasons, json_string ("too_short"));
  if (strlen (fresh) > SRV_ADMIN_PASSWORD_MAX)
    json_array_append_new (reasons, json_string ("too_long"));
  if (core_ct_streq (current, fresh))
    json_array_append_new (reasons, json_string ("unchanged"));
  return reasons;
}

/* Current password right: hash the new one and store it. */
static enum core_err
replace_password (struct core_db *db, const char *username,
                  const char *session_token, const char *fresh)
{
  char *hash = NULL;
  enum core_err err = CORE_ERR_INTERNAL;

  if (0 == authn_pin_hash (fresh, &hash))
    err = srv_admin_store_password (db, username, hash, session_token,
                                    username, "admin.password_change");
  free (hash);
  return err;
}

enum core_err
srv_admin_change_password (struct core_db *db, const char *username,
                           const char *session_token, const char *current,
                           const char *fresh, json_t **reasons)
{
  struct srv_admin_login req = { .username = username, .client_addr = "-" };
  struct account a;
  enum core_db_status st;
  enum core_err err;
  int rc;

  *reasons = password_policy (current, fresh);
  if (NULL == *reasons)
    return CORE_ERR_INTERNAL;
  if (0 != json_array_size (*reasons))
    return CORE_ERR_POLICY_REFUSED;
  json_decref (*reasons);
  *reasons = NULL;
  st = account_load (db, username, &a);
  if (st <= 0)
    err = (CORE_DB_NO_ROW == st) ? CORE_ERR_NOT_FOUND : srv_admin_db_err (db);
  else if (a.locked)
    err = CORE_ERR_LOCKED;
  else if ((rc = authn_pin_verify (a.hash, current)) < 0)
    err = CORE_ERR_INTERNAL;
  else if (0 == rc)
    err = record_failure (db, &req, "admin.password_change_failed",
                          "password_invalid",
                          CORE_ERR_AUTHENTICATION_FAILED);
  else
    err = replace_password (db, username, session_token, fresh);
  account_clear (&a);
  return err;
}
