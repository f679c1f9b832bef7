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
 *
 * A duplicate never links the new enrolment to anyone: it opens a review.
 * Only when the document (issuing state + number) is one exactly one
 * existing customer enrolled with does the review propose to attach to
 * that customer, and only its four-eyes approval (review.c) does.  What the
 * applicant reads is the applicant view of the identity result: no list,
 * no other enrolment, no customer.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/json.h"
#include "core/log.h"
#include "core/ratelimit.h"
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

/* A nested field table; a bad field is reported as "outer.inner". */
static bool
parse_nested (json_t *obj, const char *outer,
              const struct core_json_field *fields, const char **bad_field)
{
  static __thread char name[128];
  const char *bad = NULL;

  if (CORE_OK == core_json_parse (obj, fields, &bad))
    return true;
  snprintf (name, sizeof name, "%s.%s", outer, NULL != bad ? bad : "");
  *bad_field = name;
  return false;
}

enum core_err
enrol_start_req_parse (json_t *body, struct enrol_start_req *req,
                       const char **bad_field)
{
  struct enrol_applicant *a = &req->applicant;
  json_t *applicant = NULL, *document = NULL;
  const struct core_json_field top[] = {
    { .name = "applicant", .type = CORE_JSON_OBJECT, .out = &applicant },
    { .name = "document", .type = CORE_JSON_OBJECT, .out = &document },
    CORE_JSON_FIELD_END
  };
  const struct core_json_field af[] = {
    { .name = "given_names", .type = CORE_JSON_STRING, .max_len = 100,
      .out = &a->given_names },
    { .name = "surname", .type = CORE_JSON_STRING, .max_len = 100,
      .out = &a->surname },
    { .name = "birth_date", .type = CORE_JSON_STRING, .max_len = 10,
      .out = &a->birth_date },
    { .name = "nationality", .type = CORE_JSON_STRING, .max_len = 3,
      .out = &a->nationality },
    { .name = "residence_country", .type = CORE_JSON_STRING, .max_len = 3,
      .out = &a->residence_country },
    { .name = "email", .type = CORE_JSON_STRING, .max_len = 254,
      .out = &a->email },
    { .name = "phone", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &a->phone },
    CORE_JSON_FIELD_END
  };
  const struct core_json_field df[] = {
    { .name = "mrz", .type = CORE_JSON_STRING, .max_len = 200,
      .out = &req->mrz },
    CORE_JSON_FIELD_END
  };

  if (CORE_OK != core_json_parse (body, top, bad_field))
  {
    if (NULL == *bad_field)
      *bad_field = "body";
    return CORE_ERR_INVALID_FIELD;
  }
  if (! parse_nested (applicant, "applicant", af, bad_field)
      || ! parse_nested (document, "document", df, bad_field))
    return CORE_ERR_INVALID_FIELD;
  return CORE_OK;
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
  char attach[ENROL_ID_MAX];  /* the customer the review may attach to */
  bool conflict;
  unsigned int rate_wait;  /* > 0: refused by the per-address limit */
  char addr_key[CORE_RATE_KEY_LEN];
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
  t->rate_wait = 0;
  free (t->response);
  t->response = NULL;
  enrol_identity_free (&t->idn);
}

/* Replay the first answer for this Idempotency-Key -- without a session.
   The key and body are all a replayer shows, and both may have leaked (a
   proxy's log, a shared computer): a session handed out here would be a
   session for whoever holds them.  A client that lost the first answer
   (and so its cookie) continues through the e-mailed resume link. */
static enum core_db_status
start_replay (struct core_db *db, struct start_tx *t, PGresult *r)
{
  (void) db;
  if (0 != strcmp (PQgetvalue (r, 0, 0), t->req->body_sha256_hex))
  {
    t->conflict = true;
    return CORE_DB_NO_ROW;
  }
  snprintf (t->res->id, sizeof t->res->id, "%s", PQgetvalue (r, 0, 3));
  t->response = strdup (PQgetvalue (r, 0, 2));
  t->res->replayed = true;
  return NULL != t->response ? CORE_DB_ONE_ROW : CORE_DB_HARD_ERROR;
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

/* The one existing customer who enrolled with this document, if exactly
   one did: the review may propose to attach to them. */
static enum core_db_status
start_attach_candidate (struct core_db *db, struct start_tx *t,
                        char *customer, size_t len)
{
  const char *p[1] = { t->base->doc.all };
  PGresult *r = NULL;
  enum core_db_status st;

  customer[0] = '\0';
  if (! t->base->has_doc)
    return CORE_DB_NO_ROW;
  st = core_db_exec (db, "enrol_attach_candidate", 1, p, &r);
  if (CORE_DB_ONE_ROW == st && 1 == PQntuples (r))
    snprintf (customer, len, "%s", PQgetvalue (r, 0, 0));
  if (NULL != r)
    PQclear (r);
  return st;
}

static enum core_db_status
start_duplicates (struct core_db *db, struct start_tx *t)
{
  const char *p[2] = { t->base->has_doc ? t->base->doc.all : NULL,
                       t->base->identity.all };
  PGresult *r = NULL;
  enum core_db_status st;
  char customer[ENROL_ID_MAX];
  bool same_document = false;
  json_t *ids;

  st = start_attach_candidate (db, t, customer, sizeof customer);
  if (st < 0)
    return st;
  st = core_db_exec (db, "enrol_duplicates", 2, p, &r);
  if (st >= 0)
  {
    ids = json_array ();
    for (int i = 0; CORE_DB_ONE_ROW == st && i < PQntuples (r); i++)
    {
      json_array_append_new (ids, json_string (PQgetvalue (r, i, 0)));
      same_document = same_document || 't' == PQgetvalue (r, i, 1)[0];
    }
    enrol_identity_with_duplicates (t->base, ids, same_document,
                                    customer[0] ? customer : NULL, &t->idn);
    snprintf (t->attach, sizeof t->attach, "%s", customer);
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
  const char *p[12] = { t->res->id, state_for (t->idn.decision), ttl, app_s,
                        a->email, t->idn.has_doc ? t->idn.doc.current : NULL,
                        t->idn.identity.current,
                        enrol_decision_name (t->idn.decision), idj_s,
                        t->idn.has_doc ? t->idn.doc.key_id : NULL,
                        t->idn.identity.key_id, t->req->lang };
  enum core_db_status st = CORE_DB_HARD_ERROR;

  snprintf (ttl, sizeof ttl, "%u", core_cfg->enrolment_ttl_s);
  if (NULL != app_s && NULL != idj_s)
    st = core_db_exec (db, "enrol_insert", 12, p, NULL);
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

static enum core_db_status
start_tx_run (struct core_db *db, void *cls)
{
  struct start_tx *t = cls;
  enum core_db_status st;
  bool done;

  start_tx_reset (t);
  /* First, so that a refused request does nothing else; the count then
     commits with the enrolment (and its row lock is held while this short
     transaction lasts). */
  st = core_rate_take (db, "enrolment_address", t->addr_key,
                       &core_cfg->rate_enrolment_per_address, &t->rate_wait);
  if (st < 0 || t->rate_wait > 0)
    return st < 0 ? st : CORE_DB_NO_ROW;
  st = start_lookup_idem (db, t, &done);
  if (done || st < 0)
    return st;
  st = start_duplicates (db, t);
  if (st < 0)
    return st;
  st = start_insert (db, t);
  /* A refused identity attaches to no one: no review, no candidate. */
  if (CORE_DB_ONE_ROW == st && ENROL_REVIEW == t->idn.decision)
    st = enrol_review_open (db, ENROL_REVIEW_KIND_IDENTITY, t->res->id, NULL,
                            -1, t->idn.reasons,
                            t->attach[0] ? t->attach : NULL);
  if (CORE_DB_ONE_ROW != st)
    return st < 0 ? st : CORE_DB_HARD_ERROR;
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
  if (! idn.tokens_ok)
  {
    LOG_BUG ("no token key loaded: cannot tokenise identifiers");
    enrol_identity_free (&idn);
    return CORE_ERR_INTERNAL;
  }
  core_rate_addr_key (req->client_addr, t.addr_key);
  st = core_db_tx (db, false, &start_tx_run, &t);
  if (st >= 0 && t.rate_wait > 0)
  {
    err = CORE_ERR_RATE_LIMITED;
    res->retry_after = t.rate_wait;
  }
  else if (t.conflict)
    err = CORE_ERR_CONFLICT;
  else if (st < 0 || NULL == t.response
           || (NULL == res->session_token && ! res->replayed))
    err = enrol_db_err (db);
  else if (NULL == (res->view = json_loads (t.response, 0, NULL)))
    err = CORE_ERR_INTERNAL;
  else
    /* A replayed answer stored before the applicant view existed is told
       no more than a fresh one. */
    json_object_set_new (res->view, "identity", enrol_identity_applicant_view (
                           json_object_get (res->view, "identity")));
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

/* The enrolment as its applicant sees it: the identity result through
   the applicant view, and while a person checks it, how long that usually
   takes. */
static json_t *
view_from_row (PGresult *r)
{
  const char *state = PQgetvalue (r, 0, 1);
  const char *next = next_step (state);
  json_t *full = json_loads (PQgetvalue (r, 0, 3), 0, NULL);
  json_t *identity = enrol_identity_applicant_view (full);
  json_t *v = json_pack ("{s:s, s:s, s:s, s:o}", "id", PQgetvalue (r, 0, 0),
                         "state", state, "expires_at", PQgetvalue (r, 0, 2),
                         "identity", NULL != identity ? identity
                         : json_null ());

  json_decref (full);
  if (NULL != v)
    json_object_set_new (v, "next", NULL != next ? json_string (next)
                         : json_null ());
  if (NULL != v && NULL != next && 0 == strcmp (next, "wait_for_review"))
    json_object_set_new (v, "review_hours",
                         json_integer (core_cfg->review_hours));
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
