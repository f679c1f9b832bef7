/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * admin_login.c -- a back-office login with password + TOTP, and a user's
 * change of their own password.
 *
 * The order of a login is the point of this file, as verify.c's is for
 * customers: load the account (one query), refuse an unknown or locked
 * one, then the TOTP (microseconds, and one conditional UPDATE that spends
 * its time step), and only then the Argon2id password hash.  A wrong,
 * malformed or replayed code never pays for a hash; every failure counts
 * toward the lockout and gets the same answer; every attempt is audited.
 * Passwords, codes and seeds are never logged, audited or kept in clear.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn/otp.h"
#include "authn/pin.h"
#include "core/audit.h"
#include "core/crypto.h"
#include "core/log.h"
#include "server/admin.h"

static void
free_secret (char **s)
{
  if (NULL != *s)
    core_free_secret (*s, strlen (*s));
  *s = NULL;
}

/* ============================================================ login */

/* The account as loaded. */
struct account {
  char role[16];
  char *hash;                   /* Argon2id encoded */
  char *sealed_hex;
  long long last_step;
  long failed;
  bool locked;
};

static void
account_clear (struct account *a)
{
  free (a->hash);
  free (a->sealed_hex);
  memset (a, 0, sizeof *a);
}

/* @return ONE_ROW with @a a filled, NO_ROW, or an error. */
static enum core_db_status
account_load (struct core_db *db, const char *username, struct account *a)
{
  const char *p[1] = { username };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "admin_load", 1, p, &r);

  memset (a, 0, sizeof *a);
  if (CORE_DB_ONE_ROW == st)
  {
    snprintf (a->role, sizeof a->role, "%s", PQgetvalue (r, 0, 0));
    a->hash = strdup (PQgetvalue (r, 0, 1));
    a->sealed_hex = strdup (PQgetvalue (r, 0, 2));
    a->last_step = strtoll (PQgetvalue (r, 0, 3), NULL, 10);
    a->failed = strtol (PQgetvalue (r, 0, 4), NULL, 10);
    a->locked = 't' == PQgetvalue (r, 0, 5)[0];
    if (NULL == a->hash || NULL == a->sealed_hex)
      st = CORE_DB_HARD_ERROR;
  }
  PQclear (r);
  return st;
}

/* An attempt that did not log in: counted (when @a count) and audited
   in one transaction. */
struct failure {
  const struct srv_admin_login *req;
  const char *action;
  const char *reason;
  bool count;
};

static enum core_db_status
failure_tx (struct core_db *db, void *cls)
{
  struct failure *f = cls;
  const char *user = f->req->username;
  const char *who = srv_admin_username_ok (user) ? user : NULL;
  char limit[16];
  const char *p[2] = { user, limit };
  enum core_db_status st = CORE_DB_ONE_ROW;

  snprintf (limit, sizeof limit, "%u", srv_admin_lockout_limit ());
  if (f->count)
    st = core_db_exec (db, "admin_fail", 2, p, NULL);
  if (st < 0)
    return st;
  return core_audit_append (db, NULL != who ? who : "anonymous", f->action,
                            who, json_pack ("{s:s, s:s}", "reason", f->reason,
                                            "client_addr",
                                            f->req->client_addr));
}

/* Record the failure; @return @a answer, or a database error. */
static enum core_err
record_failure (struct core_db *db, const struct srv_admin_login *req,
                const char *action, const char *reason, bool count,
                enum core_err answer)
{
  struct failure f = { req, action, reason, count };

  if (core_db_tx (db, false, &failure_tx, &f) < 0)
    return srv_admin_db_err (db);
  LOG_INFO ("back-office %s (%s)", action, reason);
  return answer;
}

static enum core_err
login_failed (struct core_db *db, const struct srv_admin_login *req,
              const char *reason, bool count, enum core_err answer)
{
  return record_failure (db, req, "admin.login_failed", reason, count,
                         answer);
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

/* The factors passed: reset the count, open the session, audit. */
struct success {
  const struct srv_admin_login *req;
  struct srv_admin_login_res *res;
  bool locked;
};

static enum core_db_status
success_tx (struct core_db *db, void *cls)
{
  struct success *s = cls;
  char limit[16];
  const char *p[2] = { s->req->username, limit };
  PGresult *r = NULL;
  enum core_db_status st;

  srv_admin_login_res_clear (s->res);
  s->locked = false;
  snprintf (limit, sizeof limit, "%u", srv_admin_lockout_limit ());
  st = core_db_exec (db, "admin_succeed", 2, p, &r);
  if (CORE_DB_ONE_ROW == st)
    snprintf (s->res->role, sizeof s->res->role, "%s", PQgetvalue (r, 0, 0));
  PQclear (r);
  if (CORE_DB_NO_ROW == st)
    s->locked = true;           /* locked by parallel failures meanwhile */
  if (CORE_DB_ONE_ROW != st)
    return st;
  st = srv_admin_session_open (db, s->req->username, s->req->client_addr,
                               &s->res->token, &s->res->csrf);
  if (CORE_DB_ONE_ROW == st)
    st = core_audit_append (db, s->req->username, "admin.login",
                            s->req->username,
                            json_pack ("{s:s, s:s}", "role", s->res->role,
                                       "client_addr", s->req->client_addr));
  return st;
}

/* Both factors passed. */
static enum core_err
login_succeed (struct core_db *db, const struct srv_admin_login *req,
               struct srv_admin_login_res *res)
{
  struct success s = { req, res, false };
  enum core_db_status st = core_db_tx (db, false, &success_tx, &s);

  if (s.locked)
    return login_failed (db, req, "locked", false, CORE_ERR_LOCKED);
  if (st < 0)
  {
    srv_admin_login_res_clear (res);
    return srv_admin_db_err (db);
  }
  LOG_INFO ("back-office user %s logged in (%s)", req->username, res->role);
  return CORE_OK;
}

/* The account exists and is not locked: OTP, then password. */
static enum core_err
login_account (struct core_db *db, const struct srv_admin_login *req,
               const struct account *a, struct srv_admin_login_res *res)
{
  enum core_err err;
  const char *why = check_otp (db, req->username, a, req->otp, &err);
  int rc;

  if (CORE_OK != err)
    return err;
  if (NULL != why)
    return login_failed (db, req, why, true,
                         CORE_ERR_AUTHENTICATION_FAILED);
  rc = authn_pin_verify (a->hash, req->password);
  if (rc < 0)
    return CORE_ERR_INTERNAL;
  if (0 == rc)
    return login_failed (db, req, "password_invalid", true,
                         CORE_ERR_AUTHENTICATION_FAILED);
  return login_succeed (db, req, res);
}

enum core_err
srv_admin_login (struct core_db *db, const struct srv_admin_login *req,
                 struct srv_admin_login_res *res)
{
  struct account a;
  enum core_db_status st;
  enum core_err err;

  memset (res, 0, sizeof *res);
  if (! srv_admin_username_ok (req->username))
    return login_failed (db, req, "unknown_user", false,
                         CORE_ERR_AUTHENTICATION_FAILED);
  st = account_load (db, req->username, &a);
  if (st < 0)
    err = srv_admin_db_err (db);
  else if (CORE_DB_NO_ROW == st)
    err = login_failed (db, req, "unknown_user", false,
                        CORE_ERR_AUTHENTICATION_FAILED);
  else if (a.locked || a.failed >= (long) srv_admin_lockout_limit ())
    err = login_failed (db, req, "locked", false, CORE_ERR_LOCKED);
  else
    err = login_account (db, req, &a, res);
  account_clear (&a);
  return err;
}

void
srv_admin_login_res_clear (struct srv_admin_login_res *res)
{
  free_secret (&res->token);
  free_secret (&res->csrf);
  res->role[0] = '\0';
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
  else if (a.locked || a.failed >= (long) srv_admin_lockout_limit ())
    err = CORE_ERR_LOCKED;
  else if ((rc = authn_pin_verify (a.hash, current)) < 0)
    err = CORE_ERR_INTERNAL;
  else if (0 == rc)
    err = record_failure (db, &req, "admin.password_change_failed",
                          "password_invalid", true,
                          CORE_ERR_AUTHENTICATION_FAILED);
  else
    err = replace_password (db, username, session_token, fresh);
  account_clear (&a);
  return err;
}
