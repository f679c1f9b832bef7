/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * enrolment.c -- the onboarding state machine: start an enrolment with its
 * identity check, and read it back.
 *
 * Starting is one transaction: duplicate look-up, the enrolment row, the
 * applicant's session and the Idempotency-Key record commit together or
 * not at all.  Bad input is refused before anything is written.  Later
 * steps (device, PIN, OTP, credential) are conditional transitions on the
 * row's state; a wrong state is a 409 that changes nothing.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "enrol/enrol_db.h"
#include "enrol/identity.h"
#include "enrol/review.h"
#include "enrol/session.h"

/* ------------------------------------------------------------ validation */

static bool
email_ok (const char *s)
{
  const char *at = strchr (s, '@');
  const char *dot;

  if (NULL == at || at == s || strlen (s) > 254 || NULL != strchr (at + 1, '@'))
    return false;
  for (const char *p = s; *p; p++)
    if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 127
        || NULL != strchr ("()<>,;:\\\"[]", *p))
      return false;
  dot = strrchr (at, '.');
  return NULL != dot && dot > at + 1 && strlen (dot) >= 3
         && '.' != at[1] && NULL == strstr (at, "..");
}

static bool
e164_ok (const char *s)
{
  size_t n = strlen (s);

  if (n < 9 || n > 16 || '+' != s[0] || '0' == s[1])
    return false;
  for (size_t i = 1; i < n; i++)
    if (! isdigit ((unsigned char) s[i]))
      return false;
  return true;
}

static bool
alpha3_ok (const char *s)
{
  return 3 == strlen (s) && isupper ((unsigned char) s[0])
         && isupper ((unsigned char) s[1]) && isupper ((unsigned char) s[2]);
}

static bool
name_ok (const char *s)
{
  size_t n = strlen (s);

  if (0 == n || n > 100)
    return false;
  for (const char *p = s; *p; p++)
    if ((unsigned char) *p < ' ' || 127 == (unsigned char) *p)
      return false;
  return true;
}

/* @return NULL if fine, else the dotted name of the first bad field. */
static const char *
validate (const struct enrol_start_req *req)
{
  const struct enrol_applicant *a = &req->applicant;
  struct enrol_date d;

  if (! name_ok (a->surname))
    return "applicant.surname";
  if (! name_ok (a->given_names))
    return "applicant.given_names";
  if (0 != enrol_date_parse (a->birth_date, &d))
    return "applicant.birth_date";
  if (! alpha3_ok (a->nationality))
    return "applicant.nationality";
  if (! alpha3_ok (a->residence_country))
    return "applicant.residence_country";
  if (! email_ok (a->email))
    return "applicant.email";
  if (! e164_ok (a->phone))
    return "applicant.phone";
  if (strlen (req->mrz) > 200)
    return "document.mrz";
  return NULL;
}

/* ------------------------------------------------------------ start */

struct start_tx {
  const struct enrol_start_req *req;
  const struct enrol_identity *base;  /* the checks that need no database */
  struct enrol_identity idn;          /* base + duplicates, per attempt */
  struct enrol_start_res *res;
  char *response;          /* JSON text of the first answer */
  bool conflict;
};

static const char *
state_for (enum enrol_decision d)
{
  switch (d)
  {
  case ENROL_PASS: return "device";
  case ENROL_REVIEW: return "identity_review";
  default: return "rejected";
  }
}

static void
start_tx_reset (struct start_tx *t)
{
  if (NULL != t->res->session_token)
    core_free_secret (t->res->session_token, strlen (t->res->session_token));
  t->res->session_token = NULL;
  t->res->replayed = false;
  t->conflict = false;
  free (t->response);
  t->response = NULL;
  enrol_identity_free (&t->idn);
}

/* Replay the first answer for this Idempotency-Key, with a new session. */
static enum core_db_status
start_replay (struct core_db *db, struct start_tx *t, PGresult *r)
{
  if (0 != strcmp (PQgetvalue (r, 0, 0), t->req->body_sha256_hex))
  {
    t->conflict = true;
    return CORE_DB_NO_ROW;
  }
  snprintf (t->res->id, sizeof t->res->id, "%s", PQgetvalue (r, 0, 3));
  t->response = strdup (PQgetvalue (r, 0, 2));
  t->res->replayed = true;
  return enrol_session_create (db, t->res->id, &t->res->session_token);
}

static enum core_db_status
start_lookup_idem (struct core_db *db, struct start_tx *t, bool *done)
{
  const char *p[2] = { "enrolment_start", t->req->idempotency_key };
  PGresult *r = NULL;
  enum core_db_status st;

  *done = false;
  if (NULL == t->req->idempotency_key)
    return CORE_DB_NO_ROW;
  st = core_db_exec (db, "enrol_idem_get", 2, p, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    *done = true;
    st = start_replay (db, t, r);
  }
  if (NULL != r)
    PQclear (r);
  return st;
}

static enum core_db_status
start_duplicates (struct core_db *db, struct start_tx *t)
{
  const char *p[2] = { t->base->doc_key[0] ? t->base->doc_key : NULL,
                       t->base->identity_key };
  PGresult *r = NULL;
  enum core_db_status st;
  json_t *ids;

  st = core_db_exec (db, "enrol_duplicates", 2, p, &r);
  if (st >= 0)
  {
    ids = json_array ();
    for (int i = 0; CORE_DB_ONE_ROW == st && i < PQntuples (r); i++)
      json_array_append_new (ids, json_string (PQgetvalue (r, i, 0)));
    enrol_identity_with_duplicates (t->base, ids, &t->idn);
    json_decref (ids);
  }
  if (NULL != r)
    PQclear (r);
  return st;
}

static enum core_db_status
start_insert (struct core_db *db, struct start_tx *t)
{
  const struct enrol_applicant *a = &t->req->applicant;
  json_t *app = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                           "given_names", a->given_names, "surname",
                           a->surname, "birth_date", a->birth_date,
                           "nationality", a->nationality,
                           "residence_country", a->residence_country,
                           "email", a->email, "phone", a->phone);
  json_t *idj = enrol_identity_json (&t->idn);
  char *app_s = core_json_dump (app);
  char *idj_s = core_json_dump (idj);
  char ttl[16];
  const char *p[10] = { t->res->id, state_for (t->idn.decision), ttl,
                        app_s, a->email,
                        t->idn.doc_key[0] ? t->idn.doc_key : NULL,
                        t->idn.identity_key,
                        enrol_decision_name (t->idn.decision), idj_s,
                        t->req->lang };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  snprintf (ttl, sizeof ttl, "%u", core_cfg->enrolment_ttl_s);
  if (NULL != app_s && NULL != idj_s)
    st = core_db_exec (db, "enrol_insert", 10, p, NULL);
  json_decref (app);
  json_decref (idj);
  free (app_s);
  free (idj_s);
  return st;
}

static enum core_db_status
start_record_idem (struct core_db *db, struct start_tx *t)
{
  json_t *view = NULL;
  const char *p[6] = { "enrolment_start", t->req->idempotency_key,
                       t->req->body_sha256_hex, "201", NULL, t->res->id };
  enum core_db_status st;

  /* The view is built the way enrol_get shows it, inside this transaction. */
  if (CORE_OK != enrol_get (db, t->res->id, &view))
    return CORE_DB_HARD_ERROR;
  t->response = core_json_dump (view);
  json_decref (view);
  if (NULL == t->req->idempotency_key)
    return CORE_DB_ONE_ROW;
  p[4] = t->response;
  st = core_db_exec (db, "enrol_idem_put", 6, p, NULL);
  /* Lost a race with the same key: roll back and retry, which replays. */
  return CORE_DB_NO_ROW == st ? CORE_DB_SOFT_ERROR : st;
}

/* A customer who enrolled before (same document, or same names and birth
   date) and comes back, e.g. after a lost phone: the new enrolment skips
   nothing -- its identity check found the duplicate and a reviewer must
   approve it -- but completes onto the same customer id. */
static enum core_db_status
start_prior_customer (struct core_db *db, struct start_tx *t)
{
  const char *p[2] = { t->base->doc_key[0] ? t->base->doc_key : NULL,
                       t->base->identity_key };
  PGresult *r = NULL;
  enum core_db_status st;

  st = core_db_exec (db, "enrol_prior_customer", 2, p, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    const char *q[2] = { t->res->id, PQgetvalue (r, 0, 0) };

    st = core_db_exec (db, "enrol_set_customer", 2, q, NULL);
  }
  if (NULL != r)
    PQclear (r);
  return st;
}

static enum core_db_status
start_tx_run (struct core_db *db, void *cls)
{
  struct start_tx *t = cls;
  enum core_db_status st;
  bool done;

  start_tx_reset (t);
  st = start_lookup_idem (db, t, &done);
  if (done || st < 0)
    return st;
  st = start_duplicates (db, t);
  if (st < 0)
    return st;
  st = start_insert (db, t);
  if (CORE_DB_ONE_ROW == st && ENROL_REVIEW == t->idn.decision)
    st = enrol_review_open (db, ENROL_REVIEW_KIND_IDENTITY, t->res->id, NULL,
                            -1, t->idn.reasons);
  if (CORE_DB_ONE_ROW != st)
    return st < 0 ? st : CORE_DB_HARD_ERROR;
  st = start_prior_customer (db, t);
  if (st < 0)
    return st;
  st = enrol_session_create (db, t->res->id, &t->res->session_token);
  if (CORE_DB_ONE_ROW != st)
    return st < 0 ? st : CORE_DB_HARD_ERROR;
  return start_record_idem (db, t);
}

enum core_err
enrol_start (struct core_db *db, const struct enrol_start_req *req,
             struct enrol_start_res *res)
{
  struct enrol_identity idn;
  struct start_tx t = { .req = req, .base = &idn, .res = res };
  char *id;
  enum core_db_status st;
  enum core_err err = CORE_OK;

  memset (res, 0, sizeof *res);
  res->bad_field = validate (req);
  if (NULL != res->bad_field)
    return CORE_ERR_INVALID_FIELD;
  if (NULL == (id = core_random_id ("enr")))
    return CORE_ERR_INTERNAL;
  snprintf (res->id, sizeof res->id, "%s", id);
  free (id);
  enrol_identity_check (&req->applicant, req->mrz, enrol_today (), &idn);
  st = core_db_tx (db, false, &start_tx_run, &t);
  if (t.conflict)
    err = CORE_ERR_CONFLICT;
  else if (st < 0 || NULL == t.response || NULL == res->session_token)
    err = enrol_db_err (db);
  else if (NULL == (res->view = json_loads (t.response, 0, NULL)))
    err = CORE_ERR_INTERNAL;
  if (CORE_OK != err)
    start_tx_reset (&t);
  free (t.response);
  enrol_identity_free (&t.idn);
  enrol_identity_free (&idn);
  if (CORE_OK == err)
    LOG_INFO ("enrolment %s started: %s%s", res->id,
              json_string_value (json_object_get (
                json_object_get (res->view, "identity"), "decision")),
              res->replayed ? " (replayed)" : "");
  return err;
}

/* ------------------------------------------------------------ read */

static const char *
next_step (const char *state)
{
  static const char *const map[][2] = {
    { "identity_review", "wait_for_review" },
    { "device", "device_challenge" },
    { "device_review", "wait_for_review" },
    { "pin_otp", "pin" },
    { "credential", "credential" },
  };

  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (0 == strcmp (map[i][0], state))
      return map[i][1];
  return NULL;
}

static json_t *
view_from_row (PGresult *r)
{
  const char *state = PQgetvalue (r, 0, 1);
  const char *next = next_step (state);
  json_t *identity = json_loads (PQgetvalue (r, 0, 3), 0, NULL);
  json_t *v = json_pack ("{s:s, s:s, s:s, s:o}", "id", PQgetvalue (r, 0, 0),
                         "state", state, "expires_at", PQgetvalue (r, 0, 2),
                         "identity", NULL != identity ? identity
                         : json_null ());

  if (NULL != v)
    json_object_set_new (v, "next", NULL != next ? json_string (next)
                         : json_null ());
  if (NULL != v && 0 == strcmp (state, "completed"))
  {
    json_object_set_new (v, "customer_id", json_string (PQgetvalue (r, 0, 6)));
    json_object_set_new (v, "credential_kind",
                         json_string (PQgetvalue (r, 0, 7)));
  }
  return v;
}

enum core_err
enrol_get (struct core_db *db, const char *id, json_t **view)
{
  const char *p[1] = { id };
  PGresult *r = NULL;
  enum core_db_status st;
  enum core_err err = CORE_OK;

  *view = NULL;
  st = core_db_exec (db, "enrol_get", 1, p, &r);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_DB_NO_ROW == st)
    err = CORE_ERR_NOT_FOUND;
  else if (0 == strcmp (PQgetvalue (r, 0, 4), "t")
           && 0 != strcmp (PQgetvalue (r, 0, 1), "completed")
           && 0 != strcmp (PQgetvalue (r, 0, 1), "rejected"))
  {
    if (core_db_exec (db, "enrol_expire", 1, p, NULL) < 0)
      err = enrol_db_err (db);
    else
      err = CORE_ERR_ENROLMENT_EXPIRED;
  }
  else if (NULL == (*view = view_from_row (r)))
    err = CORE_ERR_INTERNAL;
  if (NULL != r)
    PQclear (r);
  return err;
}
