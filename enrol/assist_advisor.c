/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assist_advisor.c -- the advisor's side of assisted enrolment: joining
 * with a code (under the per-advisor limit of wrong codes), the view, hints
 * and ending a session (assist.h says the rules; assist.c holds the
 * applicant's side and what both share).
 *
 * Each call is one READ COMMITTED transaction that first loads the session
 * as the advisor who joined it may see it, ends it if it is due, and only
 * then reads or changes anything.  The code is hashed before it reaches
 * the database and wiped after; it is never logged or audited.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/log.h"
#include "enrol/assist_int.h"
#include "enrol/session.h"

/* ============================================================ joining */

struct join_tx {
  const char *advisor;
  const char *client_addr;
  char hash[67];
  struct enrol_assist_join *res;
  enum core_err err;
};

/* Failures in the window under the advisor's lock.  @return the status;
   *n and *retry_after set on ONE_ROW. */
static enum core_db_status
join_failures (struct core_db *db, const char *advisor, long *n,
               long *retry_after)
{
  char window[16];
  const char *p[2] = { advisor, window };
  PGresult *r = NULL;
  enum core_db_status st;

  snprintf (window, sizeof window, "%u", core_cfg->assist_code_window_s);
  st = core_db_exec (db, "assist_failures_lock", 1, p, NULL);
  if (st >= 0)
    st = core_db_exec (db, "assist_failures_prune", 2, p, NULL);
  if (st >= 0)
    st = core_db_exec (db, "assist_failures_count", 2, p, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    *n = atol (PQgetvalue (r, 0, 0));
    *retry_after = atol (PQgetvalue (r, 0, 1));
  }
  if (NULL != r)
    PQclear (r);
  return st < 0 ? st : CORE_DB_ONE_ROW;
}

static enum core_db_status
join_refused (struct core_db *db, struct join_tx *t, const char *reason,
              long failures)
{
  return enrol_assist_audit (db, t->advisor, "assist.join_failed", NULL,
                             json_pack ("{s:s, s:i, s:s}", "reason", reason,
                                        "failures_in_window", (int) failures,
                                        "client_addr", t->client_addr));
}

static enum core_db_status
join_tx (struct core_db *db, void *cls)
{
  struct join_tx *t = cls;
  const char *p[3] = { t->hash, t->advisor, t->client_addr };
  PGresult *r = NULL;
  long n = 0, retry = 0;
  json_t *details;
  enum core_db_status st;

  memset (t->res, 0, sizeof *t->res);
  t->err = CORE_OK;
  st = join_failures (db, t->advisor, &n, &retry);
  if (st < 0)
    return st;
  if (n >= (long) core_cfg->assist_code_attempts)
  {
    t->err = CORE_ERR_RATE_LIMITED;
    t->res->retry_after = retry > 0 ? retry : 1;
    return join_refused (db, t, "rate_limited", n);
  }
  st = core_db_exec (db, "assist_join", 3, p, &r);
  if (CORE_DB_NO_ROW == st)
  {
    t->err = CORE_ERR_NOT_FOUND;
    st = core_db_exec (db, "assist_failure_insert", 1, p + 1, NULL);
    return st < 0 ? st : join_refused (db, t, "code_invalid", n + 1);
  }
  if (CORE_DB_ONE_ROW == st)
  {
    snprintf (t->res->assist_id, sizeof t->res->assist_id, "%s",
              PQgetvalue (r, 0, 0));
    snprintf (t->res->enrolment_id, sizeof t->res->enrolment_id, "%s",
              PQgetvalue (r, 0, 1));
    t->res->scopes = enrol_assist_scopes_from_text (PQgetvalue (r, 0, 2));
  }
  if (NULL != r)
    PQclear (r);
  if (CORE_DB_ONE_ROW != st)
    return st;
  details = json_pack ("{s:s, s:o, s:s}", "assist_id", t->res->assist_id,
                       "scopes", enrol_assist_scopes_json (t->res->scopes),
                       "client_addr", t->client_addr);
  st = enrol_assist_audit (db, t->advisor, "assist.join", t->res->enrolment_id,
                           details);
  return st < 0 ? st : enrol_assist_notify (db, t->res->enrolment_id);
}

static bool
code_shape_ok (const char *code)
{
  if (ENROL_ASSIST_CODE_DIGITS != strlen (code))
    return false;
  for (const char *c = code; '\0' != *c; c++)
    if (*c < '0' || *c > '9')
      return false;
  return true;
}

enum core_err
enrol_assist_join (struct core_db *db, const char *advisor, const char *code,
                   const char *client_addr, struct enrol_assist_join *res)
{
  struct join_tx t = { .advisor = advisor, .client_addr = client_addr,
                       .res = res };
  enum core_db_status st;

  memset (res, 0, sizeof *res);
  if (! code_shape_ok (code))
    return CORE_ERR_INVALID_FIELD;
  if (0 != enrol_assist_code_hash (code, t.hash))
    return CORE_ERR_INTERNAL;
  st = core_db_tx (db, false, &join_tx, &t);
  OPENSSL_cleanse (t.hash, sizeof t.hash);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_OK == t.err)
    LOG_INFO ("advisor %s joined %s (enrolment %s)", advisor, res->assist_id,
              res->enrolment_id);
  return t.err;
}

/* ============================================================ sessions */

struct session_tx {
  const char *advisor;
  const char *assist_id;
  const char *text;             /* hint */
  struct assist_session s;
  json_t *out;                  /* view or hint */
  enum core_err err;
};

static void
session_tx_reset (struct session_tx *t)
{
  if (NULL != t->out)
    json_decref (t->out);
  t->out = NULL;
  t->err = CORE_OK;
}

/* Open the advisor's session; t->err says why not.  @return the status. */
static enum core_db_status
session_tx_open (struct core_db *db, struct session_tx *t, const char *stmt)
{
  enum core_db_status st = enrol_assist_session_open (db, stmt, t->assist_id,
                                                      t->advisor, &t->s);

  if (CORE_DB_NO_ROW == st)
    t->err = CORE_ERR_NOT_FOUND;
  else if (CORE_DB_ONE_ROW == st && NULL != t->s.ended)
    t->err = CORE_ERR_ASSIST_ENDED;
  return st;
}

static enum core_db_status
view_tx (struct core_db *db, void *cls)
{
  struct session_tx *t = cls;
  enum core_db_status st;

  session_tx_reset (t);
  st = session_tx_open (db, t, "assist_load");
  if (CORE_DB_ONE_ROW != st || CORE_OK != t->err)
    return st;
  return enrol_assist_view_build (db, &t->s, &t->out);
}

/* Run @a fn for @a t and map its outcome. */
static enum core_err
session_run (struct core_db *db, core_db_tx_fn fn, struct session_tx *t,
             json_t **out, const char **end_reason)
{
  enum core_db_status st = core_db_tx (db, false, fn, t);
  enum core_err err = t->err;

  *end_reason = NULL;
  if (NULL != out)
    *out = NULL;
  if (st < 0)
    err = enrol_db_err (db);
  else if (CORE_ERR_ASSIST_ENDED == err)
    *end_reason = t->s.ended;
  else if (CORE_OK == err && NULL != out)
  {
    *out = t->out;                 /* the caller owns it now */
    t->out = NULL;
    if (NULL == *out)
      err = CORE_ERR_INTERNAL;
  }
  session_tx_reset (t);
  return err;
}

enum core_err
enrol_assist_view (struct core_db *db, const char *advisor,
                   const char *assist_id, json_t **view, char *enrolment_id,
                   const char **end_reason)
{
  struct session_tx t = { .advisor = advisor, .assist_id = assist_id };
  enum core_err err = session_run (db, &view_tx, &t, view, end_reason);

  snprintf (enrolment_id, ENROL_ASSIST_ID_MAX, "%s", t.s.enrolment_id);
  return err;
}

static enum core_db_status
hint_tx (struct core_db *db, void *cls)
{
  struct session_tx *t = cls;
  const char *p[2] = { t->s.id, t->text };
  PGresult *r = NULL;
  enum core_db_status st;

  session_tx_reset (t);
  st = session_tx_open (db, t, "assist_load_lock");
  if (CORE_DB_ONE_ROW != st || CORE_OK != t->err)
    return st;
  st = core_db_exec (db, "assist_hint_count", 1, p, &r);
  if (CORE_DB_ONE_ROW == st
      && atol (PQgetvalue (r, 0, 0)) >= ENROL_ASSIST_HINTS_PER_SESSION)
    t->err = CORE_ERR_POLICY_REFUSED;
  if (NULL != r)
    PQclear (r);
  r = NULL;
  if (st < 0 || CORE_OK != t->err)
    return st;
  st = core_db_exec (db, "assist_hint_insert", 2, p, &r);
  if (CORE_DB_ONE_ROW == st)
    t->out = json_pack ("{s:s, s:s, s:s}", "at", PQgetvalue (r, 0, 0),
                        "text", t->text, "step", PQgetvalue (r, 0, 1));
  if (NULL != r)
    PQclear (r);
  if (CORE_DB_ONE_ROW != st || NULL == t->out)
    return st < 0 ? st : CORE_DB_HARD_ERROR;
  st = core_db_exec (db, "assist_touch", 1, p, NULL);
  if (st >= 0)
    st = enrol_assist_audit (db, t->advisor, "assist.hint",
                             t->s.enrolment_id,
                             json_pack ("{s:s, s:s, s:O}", "assist_id",
                                        t->s.id, "text", t->text, "step",
                                        json_object_get (t->out, "step")));
  return st < 0 ? st : enrol_assist_notify (db, t->s.enrolment_id);
}

enum core_err
enrol_assist_hint (struct core_db *db, const char *advisor,
                   const char *assist_id, const char *text, json_t **hint,
                   const char **end_reason)
{
  struct session_tx t = { .advisor = advisor, .assist_id = assist_id,
                          .text = text };

  *hint = NULL;
  *end_reason = NULL;
  if (! enrol_assist_hint_text_ok (text))
    return CORE_ERR_INVALID_FIELD;
  return session_run (db, &hint_tx, &t, hint, end_reason);
}

static enum core_db_status
leave_tx (struct core_db *db, void *cls)
{
  struct session_tx *t = cls;
  enum core_db_status st;

  session_tx_reset (t);
  st = session_tx_open (db, t, "assist_load_lock");
  if (CORE_DB_ONE_ROW != st || CORE_OK != t->err)
    return st;
  st = enrol_assist_session_end (db, &t->s, "advisor", t->advisor);
  return CORE_DB_NO_ROW == st ? CORE_DB_HARD_ERROR : st;  /* it was locked */
}

enum core_err
enrol_assist_leave (struct core_db *db, const char *advisor,
                    const char *assist_id, const char **end_reason)
{
  struct session_tx t = { .advisor = advisor, .assist_id = assist_id };

  return session_run (db, &leave_tx, &t, NULL, end_reason);
}
