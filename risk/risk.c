/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * risk.c -- the module's front: the loaded state (rules + GeoIP handles),
 * its reload, and one scoring from input to result.
 *
 * The state is a pointer swapped under a read-write lock.  A reload parses
 * the rules and opens the databases outside the lock, then takes the write
 * lock only to swap; scorings hold the read lock only for GeoIP and the
 * rules (microseconds), never across the database round trip.  A reload
 * that fails changes nothing.  This file must not learn SQL (risk_db.c) or
 * rules (score.c): it only wires them.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include("guichet_build.h")
#include "guichet_build.h"
#endif
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "risk/risk_int.h"

#ifdef GUICHET_SOURCE_DIR
#define DEFAULT_RULES GUICHET_SOURCE_DIR "/risk/rules.conf"
#else
#define DEFAULT_RULES "risk/rules.conf"
#endif

struct risk_state {
  struct risk_rules rules;
  struct risk_geodb geo;
};

static pthread_rwlock_t state_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct risk_state *state;

/* ============================================================= state */

static void
state_free (struct risk_state *s)
{
  if (NULL == s)
    return;
  risk_geo_close (&s->geo);
  free (s);
}

/* Swap @a fresh in; the old state is freed once no scoring reads it. */
static void
state_swap (struct risk_state *fresh)
{
  struct risk_state *old;

  pthread_rwlock_wrlock (&state_lock);
  old = state;
  state = fresh;
  pthread_rwlock_unlock (&state_lock);
  state_free (old);
}

const char *
risk_rules_path (void)
{
  const char *f = (NULL != core_cfg) ? core_cfg->risk_rules_file : NULL;

  return (NULL != f && '\0' != *f) ? f : DEFAULT_RULES;
}

int
risk_load (const struct risk_paths *paths, char *err, size_t errlen)
{
  struct risk_state *fresh = calloc (1, sizeof *fresh);
  char why[512] = "";
  int rc;

  if (NULL == fresh)
    snprintf (why, sizeof why, "out of memory");
  else if (0 != risk_rules_load_file (paths->rules_file, &fresh->rules, why,
                                      sizeof why))
    {
      free (fresh);
      fresh = NULL;
    }
  if (NULL == fresh)
    {
      LOG_ERROR ("risk rules not loaded, previous rules kept: %s", why);
      if (NULL != err && errlen > 0)
        snprintf (err, errlen, "%s", why);
      return -1;
    }
  rc = risk_geo_open (&fresh->geo, paths->country_db, paths->anonymous_db,
                      why, sizeof why);
  LOG_INFO ("risk rules %s loaded from %s", fresh->rules.version,
            paths->rules_file);
  if (0 != rc)
    LOG_WARN ("risk: %s: decisions will carry geo_unavailable", why);
  if (NULL != err && errlen > 0)
    snprintf (err, errlen, "%s", why);
  state_swap (fresh);
  return rc;
}

int
risk_reload (void)
{
  struct risk_paths p = { .rules_file = risk_rules_path () };

  if (NULL != core_cfg)
    {
      p.country_db = core_cfg->geoip_country_db;
      p.anonymous_db = core_cfg->geoip_anonymous_db;
    }
  return risk_load (&p, NULL, 0);
}

void
risk_shutdown (void)
{
  state_swap (NULL);
}

int
risk_ruleset_version (char *buf, size_t len)
{
  int rc = -1;

  pthread_rwlock_rdlock (&state_lock);
  if (NULL != state)
    {
      snprintf (buf, len, "%s", state->rules.version);
      rc = 0;
    }
  pthread_rwlock_unlock (&state_lock);
  return rc;
}

int
risk_threshold (const char *name)
{
  int v = -1;

  pthread_rwlock_rdlock (&state_lock);
  if (NULL != state && NULL != name)
    {
      if (0 == strcmp (name, "review"))
        v = state->rules.review_at;
      else if (0 == strcmp (name, "deny"))
        v = state->rules.deny_at;
      else if (0 == strcmp (name, "four_eyes"))
        v = state->rules.four_eyes_at;
    }
  pthread_rwlock_unlock (&state_lock);
  return v;
}

bool
risk_passkey_aaguid_allowed (const uint8_t aaguid[16])
{
  bool ok = true;

  pthread_rwlock_rdlock (&state_lock);
  if (NULL != state)
    ok = risk_aaguid_decide (&state->rules, aaguid);
  pthread_rwlock_unlock (&state_lock);
  return ok;
}

/* =========================================================== scoring */

static int
hash_inputs (struct risk_result *out)
{
  char *canon = json_dumps (out->inputs, JSON_COMPACT | JSON_SORT_KEYS
                            | JSON_ENSURE_ASCII);

  if (NULL == canon)
    return -1;
  core_sha256_hex (canon, strlen (canon), out->input_hash);
  free (canon);
  return 0;
}

int
risk_score_facts (const struct risk_rules *rules,
                  const struct risk_geodb *geo, const struct risk_input *in,
                  const struct risk_history *hist, struct risk_result *out)
{
  struct risk_facts f = { .in = in, .hist = *hist };

  memset (out, 0, sizeof *out);
  f.residence = (NULL != in->residence_country) ? in->residence_country
    : ('\0' != hist->residence[0]) ? hist->residence : NULL;
  f.country_db = (NULL != geo) && geo->have_country;
  f.anonymous_db = (NULL != geo) && geo->have_anonymous;
  risk_geo_lookup (geo, in->phone_addr, &f.phone);
  risk_geo_lookup (geo, in->browser_addr, &f.browser);
  out->inputs = risk_facts_json (&f);
  if (NULL == out->inputs || 0 != hash_inputs (out)
      || 0 != risk_evaluate (rules, &f, out))
    {
      risk_result_free (out);
      return -1;
    }
  return 0;
}

int
risk_score_loaded (const struct risk_input *in,
                   const struct risk_history *h, struct risk_result *out)
{
  int rc = -2;

  pthread_rwlock_rdlock (&state_lock);
  if (NULL != state)
    rc = risk_score_facts (&state->rules, &state->geo, in, h, out);
  pthread_rwlock_unlock (&state_lock);
  return rc;
}

static enum core_db_status
score (struct core_db *db, const struct risk_input *in,
       struct risk_result *out, enum core_err *err)
{
  struct risk_history h;
  enum core_db_status st;
  int rc;

  memset (out, 0, sizeof *out);
  *err = CORE_ERR_INVALID_FIELD;
  if (NULL == in || NULL == in->enrolment_id || NULL == in->challenge_id
      || NULL == in->device_key)
    return CORE_DB_HARD_ERROR;
  *err = CORE_ERR_DATABASE_UNAVAILABLE;
  st = risk_db_history (db, in, &h);
  if (CORE_DB_ONE_ROW != st)
    return (CORE_DB_SOFT_ERROR == st) ? st : CORE_DB_HARD_ERROR;
  *err = CORE_ERR_INTERNAL;
  rc = risk_score_loaded (in, &h, out);
  if (-2 == rc)
    LOG_BUG ("risk scoring before any rules were loaded");
  else if (0 != rc)
    LOG_BUG ("risk scoring: out of memory");
  if (0 != rc)
    return CORE_DB_HARD_ERROR;
  *err = CORE_OK;
  return CORE_DB_ONE_ROW;
}

enum core_db_status
risk_score_device_tx (struct core_db *db, const struct risk_input *in,
                      struct risk_result *out)
{
  enum core_err err;

  return score (db, in, out, &err);
}

enum core_err
risk_score_device (struct core_db *db, const struct risk_input *in,
                   struct risk_result *out)
{
  enum core_err err = CORE_ERR_DATABASE_UNAVAILABLE;

  /* Outside a transaction a soft error (a statement prepared anew after
     a migration) is simply run again. */
  for (int i = 0; i < 3; i++)
    if (CORE_DB_SOFT_ERROR != score (db, in, out, &err))
      break;
  if (CORE_ERR_DATABASE_UNAVAILABLE == err && NULL != db
      && core_db_alive (db, false))
    err = CORE_ERR_INTERNAL;      /* the database answered: our bug */
  return err;
}

/* ============================================================ result */

const char *
risk_decision_name (enum risk_decision d)
{
  switch (d)
    {
    case RISK_ALLOW: return "allow";
    case RISK_REVIEW: return "review";
    case RISK_DENY: return "deny";
    }
  return "deny";
}

json_t *
risk_result_json (const struct risk_result *r)
{
  return json_pack ("{s:i, s:s, s:O, s:O, s:s, s:s}", "score", r->score,
                    "decision", risk_decision_name (r->decision),
                    "reasons", r->reasons, "signals", r->signals,
                    "ruleset_version", r->ruleset_version,
                    "input_hash", r->input_hash);
}

/* The score the phone is told: its decision's, never the sum.  The sum,
   or even the told reasons' share of it, would let a fraud ring subtract
   what it knows of its own phone and measure what the bank holds on it. */
static int
told_score (const struct risk_result *r)
{
  switch (r->decision)
    {
    case RISK_ALLOW: return 0;
    case RISK_REVIEW:
      return (r->review_at < 1) ? 1 : (r->review_at > 100) ? 100
        : r->review_at;
    case RISK_DENY: return 100;
    }
  return 100;
}

json_t *
risk_result_answer (const struct risk_result *r)
{
  json_t *reasons = json_array ();
  bool hidden = false;
  size_t i;
  json_t *v;

  if (NULL == reasons)
    return NULL;
  json_array_foreach (r->reasons, i, v)
    {
      if (! risk_reason_told (json_string_value (v), RISK_TOLD_APPLICANT))
        hidden = true;
      else if (0 != json_array_append (reasons, v))
        {
          json_decref (reasons);
          return NULL;
        }
    }
  /* On an allow no one checks, and a manual_check would be the only
     visible trace of a reused phone or a busy address. */
  if (hidden && RISK_ALLOW != r->decision
      && 0 != json_array_append_new (reasons, json_string ("manual_check")))
    {
      json_decref (reasons);
      return NULL;
    }
  return json_pack ("{s:i, s:s, s:o}", "score", told_score (r),
                    "decision", risk_decision_name (r->decision),
                    "reasons", reasons);
}

void
risk_result_free (struct risk_result *r)
{
  if (NULL == r)
    return;
  json_decref (r->reasons);
  json_decref (r->signals);
  json_decref (r->inputs);
  memset (r, 0, sizeof *r);
}
