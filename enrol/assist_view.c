/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assist_view.c -- what an advisor sees of an enrolment: built from an
 * allow-list, one statement and one function per scope.
 *
 * This file is the whole of the advisor's window.  Each scope has its own
 * statement in assist_db.c that selects named columns and JSON members,
 * and each value below is copied field by field into a new object: there
 * is no path from a PIN hash, a seed, a QR challenge's secret, a document
 * key or the MRZ to the view, because no statement here reads them.  A
 * scope the applicant did not tick is not even queried.
 *
 * Reason codes pass through allow-lists too.  Identity reasons are shown
 * as the applicant is told them (API.md: screening lists, other people and
 * other enrolments become "manual_check"), since an advisor talks to the
 * applicant.  Device risk reasons about the phone and its connection are
 * shown; those about the bank's lists and other enrolments (blocklists,
 * restricted countries, reuse, velocity) become "manual_check" as well.
 * Which device reason is which is risk/'s one classification
 * (risk_reason_told), shared with the phone's activation answer.
 */
#include <stdlib.h>
#include <string.h>

#include "core/crypto.h"
#include "core/json.h"
#include "enrol/assist_int.h"
#include "enrol/identity.h"
#include "risk/risk.h"

/* ------------------------------------------------------------ reasons */

static bool
device_reason_told (const char *code)
{
  return risk_reason_told (code, RISK_TOLD_ADVISOR);
}

/* The codes of the JSON array text @a stored that @a told admits, each
   other one as one "manual_check".  @return a new array (never NULL on
   memory). */
static json_t *
reasons_told (const char *stored, bool (*told)(const char *code))
{
  json_t *in = json_loads (stored, 0, NULL);
  json_t *out = json_array ();
  bool other = false;
  size_t i;
  json_t *v;

  json_array_foreach (in, i, v)
  {
    const char *code = json_string_value (v);

    if (NULL != code && told (code))
      json_array_append_new (out, json_string (code));
    else
      other = true;
  }
  if (other)
    json_array_append_new (out, json_string ("manual_check"));
  json_decref (in);
  return out;
}

/* ------------------------------------------------------------ scopes */

/* What the applicant's page calls the next step (as enrolment.c). */
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
progress_from_row (PGresult *r)
{
  const char *state = PQgetvalue (r, 0, 0);
  const char *next = next_step (state);
  json_t *p = json_pack ("{s:s, s:s?, s:s, s:s, s:i}", "state", state,
                         "next", next, "expires_at", PQgetvalue (r, 0, 1),
                         "updated_at", PQgetvalue (r, 0, 2), "otp_failures",
                         atoi (PQgetvalue (r, 0, 4)));

  if (NULL == p)
    return NULL;
  if (0 == strcmp (state, "device"))
  {
    /* Whether a QR code is on the applicant's screen, not what it says. */
    const char *status = PQgetisnull (r, 0, 5) ? "none"
                         : 't' == PQgetvalue (r, 0, 5)[0] ? "shown"
                         : "expired";

    json_object_set_new (p, "qr", json_pack ("{s:s, s:s?}", "status", status,
                                             "expires_at",
                                             PQgetisnull (r, 0, 6) ? NULL
                                             : PQgetvalue (r, 0, 6)));
  }
  if (0 == strcmp (state, "pin_otp"))
    json_object_set_new (p, "pin_set",
                         json_boolean ('t' == PQgetvalue (r, 0, 3)[0]));
  return p;
}

static json_t *
identity_from_row (PGresult *r)
{
  static const char *const declared[] = {
    "given_names", "surname", "birth_date", "nationality",
    "residence_country", "email", "phone",
  };
  json_t *d = json_object ();

  for (int i = 0; NULL != d && i < 7; i++)
    json_object_set_new (d, declared[i], PQgetisnull (r, 0, i) ? json_null ()
                         : json_string (PQgetvalue (r, 0, i)));
  return json_pack ("{s:o, s:s?, s:o}", "declared", d, "decision",
                    PQgetisnull (r, 0, 7) ? NULL : PQgetvalue (r, 0, 7),
                    "reasons", reasons_told (PQgetvalue (r, 0, 8),
                                             &enrol_identity_reason_told));
}

static json_t *
device_from_row (PGresult *r)
{
  return json_pack ("{s:s, s:s, s:s, s:{s:s, s:o}}", "status",
                    PQgetvalue (r, 0, 0), "platform", PQgetvalue (r, 0, 1),
                    "model", PQgetvalue (r, 0, 2), "risk", "decision",
                    PQgetvalue (r, 0, 3), "reasons",
                    reasons_told (PQgetvalue (r, 0, 4), &device_reason_told));
}

/* Run @a stmt for the enrolment and build its part with @a build; a
   missing row (no phone yet) is JSON null. */
static enum core_db_status
part (struct core_db *db, const char *stmt, const char *enrolment_id,
      json_t *(*build)(PGresult *), json_t **out)
{
  const char *p[1] = { enrolment_id };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, stmt, 1, p, &r);

  *out = NULL;
  if (CORE_DB_ONE_ROW == st)
    *out = build (r);
  else if (CORE_DB_NO_ROW == st)
    *out = json_null ();
  if (NULL != r)
    PQclear (r);
  if (st >= 0 && NULL == *out)
    return CORE_DB_HARD_ERROR;
  return st;
}

/* ------------------------------------------------------------ views */

enum core_db_status
enrol_assist_hints (struct core_db *db, const char *assist_id,
                    json_t **hints)
{
  const char *p[1] = { assist_id };
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, "assist_hints", 1, p, &r);

  *hints = json_array ();
  for (int i = 0; CORE_DB_ONE_ROW == st && i < PQntuples (r); i++)
    json_array_append_new (*hints, json_pack ("{s:s, s:s, s:s}", "at",
                                              PQgetvalue (r, i, 0), "text",
                                              PQgetvalue (r, i, 1), "step",
                                              PQgetvalue (r, i, 2)));
  if (NULL != r)
    PQclear (r);
  if (st < 0)
  {
    json_decref (*hints);
    *hints = NULL;
  }
  return st;
}

/* "version": the first 16 hex digits of SHA-256 over the view's sorted
   compact JSON, so a long poll can tell "changed" from "woken". */
static int
add_version (json_t *view)
{
  char *text = json_dumps (view, JSON_COMPACT | JSON_SORT_KEYS);
  char hex[65];

  if (NULL == text)
    return -1;
  core_sha256_hex (text, strlen (text), hex);
  free (text);
  hex[16] = '\0';
  return json_object_set_new (view, "version", json_string (hex));
}

enum core_db_status
enrol_assist_view_build (struct core_db *db, const struct assist_session *s,
                         json_t **view)
{
  json_t *v = json_pack ("{s:s, s:s, s:s, s:o, s:s, s:s}", "assist_id", s->id,
                         "enrolment_id", s->enrolment_id, "advisor",
                         s->advisor, "scopes",
                         enrol_assist_scopes_json (s->scopes), "joined_at",
                         s->joined_at, "idle_ends_at", s->idle_ends_at);
  json_t *x = NULL;
  enum core_db_status st = NULL != v ? CORE_DB_ONE_ROW : CORE_DB_HARD_ERROR;

  *view = NULL;
  if (st >= 0)
    st = part (db, "assist_view_progress", s->enrolment_id,
               &progress_from_row, &x);
  if (st >= 0)
    json_object_set_new (v, "progress", x);
  if (st >= 0 && (s->scopes & ENROL_ASSIST_IDENTITY))
  {
    st = part (db, "assist_view_identity", s->enrolment_id,
               &identity_from_row, &x);
    if (st >= 0)
      json_object_set_new (v, "identity", x);
  }
  if (st >= 0 && (s->scopes & ENROL_ASSIST_DEVICE))
  {
    st = part (db, "assist_view_device", s->enrolment_id, &device_from_row,
               &x);
    if (st >= 0)
      json_object_set_new (v, "device", x);
  }
  if (st >= 0)
    st = enrol_assist_hints (db, s->id, &x);
  if (st >= 0)
    json_object_set_new (v, "hints", x);
  if (st >= 0 && 0 != add_version (v))
    st = CORE_DB_HARD_ERROR;
  if (st < 0)
  {
    json_decref (v);
    return st;
  }
  *view = v;
  return CORE_DB_ONE_ROW;
}
