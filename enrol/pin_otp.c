/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pin_otp.c -- the PIN and first-OTP steps of an enrolment.
 *
 * The PIN policy includes the applicant's birth date in its common forms;
 * only the Argon2id hash is stored.  The first OTP, computed by the phone
 * from the seed both sides derived, proves the binding: it is checked with
 * the same replay rule as every OTP (a time step at or before the last
 * accepted one is refused), and wrong codes count toward the same lockout
 * limit as verify.  Nothing here logs a PIN, an OTP or a seed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn/otp.h"
#include "authn/pin.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "enrol/device_step.h"
#include "enrol/enrol_db.h"
#include "enrol/issue_int.h"
#include "enrol/session.h"

/* Lock the enrolment row (with @a stmt) and check its state.  Row stays
   in *r. */
static enum core_err
lock_in_state_with (struct core_db *db, const char *stmt, const char *id,
                    const char *state, PGresult **r, enum core_db_status *st)
{
  const char *p[1] = { id };

  *st = core_db_exec (db, stmt, 1, p, r);
  if (*st < 0)
    return CORE_ERR_INTERNAL;
  if (CORE_DB_NO_ROW == *st)
    return CORE_ERR_NOT_FOUND;
  if (0 == strcmp (PQgetvalue (*r, 0, 1), "t"))
    return CORE_ERR_ENROLMENT_EXPIRED;
  if (0 != strcmp (PQgetvalue (*r, 0, 0), state))
    return CORE_ERR_WRONG_STATE;
  return CORE_OK;
}

/* Lock the enrolment row, waiting for it, and check its state. */
static enum core_err
lock_in_state (struct core_db *db, const char *id, const char *state,
               PGresult **r, enum core_db_status *st)
{
  return lock_in_state_with (db, "enrol_lock", id, state, r, st);
}

/* Lock the enrolment row unless another request holds it (then
   CORE_ERR_RATE_LIMITED: one at a time), and check its state. */
static enum core_err
lock_in_state_or_busy (struct core_db *db, const char *id,
                       const char *state, PGresult **r,
                       enum core_db_status *st)
{
  const char *p[1] = { id };
  enum core_err err = lock_in_state_with (db, "enrol_lock_skip", id, state,
                                          r, st);

  if (CORE_ERR_NOT_FOUND != err)
    return err;
  *st = core_db_exec (db, "enrol_exists", 1, p, NULL);
  if (*st < 0)
    return CORE_ERR_INTERNAL;
  return CORE_DB_ONE_ROW == *st ? CORE_ERR_RATE_LIMITED : CORE_ERR_NOT_FOUND;
}

/* ------------------------------------------------------------ PIN */

struct pin_tx {
  const char *id;
  const char *pin;
  json_t *reasons;
  enum core_err err;
  unsigned int rate_wait;       /* CORE_ERR_RATE_LIMITED: seconds */
};

static enum core_db_status
pin_tx_run (struct core_db *db, void *cls)
{
  struct pin_tx *t = cls;
  PGresult *r = NULL;
  enum core_db_status st;
  char *hash = NULL;

  if (NULL != t->reasons)
    json_decref (t->reasons);
  t->reasons = NULL;
  t->rate_wait = 0;
  t->err = lock_in_state_or_busy (db, t->id, "pin_otp", &r, &st);
  if (CORE_ERR_RATE_LIMITED == t->err)
    t->rate_wait = 1;                   /* another PIN is being hashed */
  if (CORE_OK == t->err)
  {
    t->reasons = authn_pin_policy (t->pin, PQgetvalue (r, 0, 4));
    if (NULL == t->reasons)
      t->err = CORE_ERR_INTERNAL;
    else if (json_array_size (t->reasons) > 0)
      t->err = CORE_ERR_POLICY_REFUSED;
  }
  if (NULL != r)
    PQclear (r);
  if (st < 0 || CORE_OK != t->err)
    return st < 0 ? st : CORE_DB_NO_ROW;
  /* The policy let it through: it will cost a hash.  Counted here, so the
     count commits with the hash it paid for. */
  st = core_rate_take (db, "pin_enrolment", t->id,
                       &core_cfg->rate_pin_per_enrolment, &t->rate_wait);
  if (st < 0)
    return st;
  if (t->rate_wait > 0)
  {
    t->err = CORE_ERR_RATE_LIMITED;
    return CORE_DB_NO_ROW;
  }
  if (0 != authn_pin_hash (t->pin, &hash))
  {
    t->err = CORE_ERR_INTERNAL;
    return CORE_DB_NO_ROW;
  }
  {
    const char *p[2] = { t->id, hash };

    st = core_db_exec (db, "enrol_set_pin", 2, p, NULL);
  }
  free (hash);
  return st;
}

enum core_err
enrol_set_pin (struct core_db *db, const char *id, const char *pin,
               json_t **reasons, long *retry_after)
{
  struct pin_tx t = { .id = id, .pin = pin };
  enum core_db_status st = core_db_tx (db, false, &pin_tx_run, &t);

  *reasons = NULL;
  *retry_after = t.rate_wait;
  if (st < 0)
  {
    if (NULL != t.reasons)
      json_decref (t.reasons);
    return enrol_db_err (db);
  }
  if (CORE_ERR_POLICY_REFUSED == t.err)
    *reasons = t.reasons;
  else if (NULL != t.reasons)
    json_decref (t.reasons);
  return t.err;
}

/* ------------------------------------------------------------ first OTP */

struct otp_tx {
  const char *id;
  const char *otp;
  int attempts_remaining;
  enum core_err err;
  json_t *answer;           /* set when an otpauth enrolment completed */
};

/* Search the device's seed for @a otp; @return the matched step or -1. */
static int64_t
match_step (PGresult *r, const char *otp, enum core_err *err)
{
  const char *dev = PQgetvalue (r, 0, 0);
  const char *hex = PQgetvalue (r, 0, 1);
  struct authn_otp_params p = { .type = AUTHN_OTP_TOTP,
                                .alg = AUTHN_OTP_SHA256, .digits = 6,
                                .period = 30 };
  size_t n = strlen (hex) / 2;
  uint8_t *env = malloc (n + 1);
  uint8_t *seed = NULL;
  size_t seedlen = 0;
  char aad[80];
  int64_t now_step = authn_otp_step (&p, time (NULL));
  int64_t matched = -1;
  enum authn_otp_result res;

  *err = CORE_ERR_INTERNAL;
  snprintf (aad, sizeof aad, "device:%s", dev);
  if (NULL == env || (long) n != core_hex_decode (hex, env, n)
      || 0 != core_open (env, n, aad, &seed, &seedlen))
    goto cleanup;
  res = authn_otp_search (&p, seed, seedlen, otp,
                          now_step - (int64_t) core_cfg->totp_window,
                          now_step + (int64_t) core_cfg->totp_window,
                          &matched);
  if (AUTHN_OTP_ERROR == res)
    goto cleanup;
  *err = CORE_OK;
  if (AUTHN_OTP_MATCH != res
      || matched <= strtoll (PQgetvalue (r, 0, 2), NULL, 10))
    matched = -1;                       /* wrong, malformed or replayed */
cleanup:
  core_free_secret (seed, seedlen);
  free (env);
  return matched;
}

static enum core_db_status
otp_fail (struct core_db *db, struct otp_tx *t, int failures)
{
  const char *p[1] = { t->id };
  enum core_db_status st = core_db_exec (db, "enrol_otp_fail", 1, p, NULL);

  t->attempts_remaining = (int) core_cfg->lockout_attempts - failures - 1;
  if (t->attempts_remaining < 0)
    t->attempts_remaining = 0;
  t->err = CORE_ERR_OTP_INVALID;
  return st;
}

/* State `credential` with an otpauth seed shown: the app's first code
   completes the enrolment (issue.c). */
static enum core_db_status
otpauth_tx_run (struct core_db *db, struct otp_tx *t)
{
  struct issue_row row;
  enum core_db_status st;

  t->err = enrol_issue_lock (db, t->id, &row, &st);
  if (CORE_OK == t->err && NULL == row.otpauth_sealed)
    t->err = CORE_ERR_WRONG_STATE;
  if (CORE_OK == t->err && row.failures >= (int) core_cfg->lockout_attempts)
    t->err = CORE_ERR_LOCKED;
  if (CORE_OK == t->err)
  {
    st = enrol_otpauth_confirm_tx (db, t->id, &row, t->otp, &t->err,
                                   &t->answer);
    if (CORE_ERR_OTP_INVALID == t->err)
      st = otp_fail (db, t, row.failures);
  }
  enrol_issue_row_clear (&row);
  if (st < 0)
    return st;
  return CORE_OK == t->err || CORE_ERR_OTP_INVALID == t->err ? st
         : CORE_DB_NO_ROW;
}

static enum core_db_status
otp_tx_run (struct core_db *db, void *cls)
{
  struct otp_tx *t = cls;
  PGresult *r = NULL, *d = NULL;
  enum core_db_status st;
  int failures;
  int64_t step;
  char step_s[24];

  t->attempts_remaining = -1;
  t->err = lock_in_state (db, t->id, "pin_otp", &r, &st);
  if (CORE_ERR_WRONG_STATE == t->err
      && 0 == strcmp (PQgetvalue (r, 0, 0), "credential"))
  {
    PQclear (r);
    return otpauth_tx_run (db, t);
  }
  failures = (CORE_OK == t->err) ? atoi (PQgetvalue (r, 0, 5)) : 0;
  if (CORE_OK == t->err && 0 != strcmp (PQgetvalue (r, 0, 2), "t"))
    t->err = CORE_ERR_WRONG_STATE;                /* PIN first */
  if (CORE_OK == t->err && failures >= (int) core_cfg->lockout_attempts)
    t->err = CORE_ERR_LOCKED;
  if (CORE_OK == t->err)
  {
    const char *p[1] = { PQgetvalue (r, 0, 3) };

    st = core_db_exec (db, "enrol_device_seed", 1, p, &d);
    if (CORE_DB_NO_ROW == st)
      t->err = CORE_ERR_WRONG_STATE;
  }
  if (NULL != r)
    PQclear (r);
  if (st < 0 || CORE_OK != t->err)
  {
    if (NULL != d)
      PQclear (d);
    return st < 0 ? st : CORE_DB_NO_ROW;
  }
  step = match_step (d, t->otp, &t->err);
  if (CORE_OK != t->err || step < 0)
  {
    PQclear (d);
    return CORE_OK != t->err ? CORE_DB_NO_ROW : otp_fail (db, t, failures);
  }
  snprintf (step_s, sizeof step_s, "%lld", (long long) step);
  {
    const char *p[3] = { PQgetvalue (d, 0, 0), step_s, t->id };

    st = core_db_exec (db, "enrol_otp_accept", 3, p, NULL);
  }
  PQclear (d);
  if (CORE_DB_NO_ROW == st)
    return otp_fail (db, t, failures);
  return st;
}

enum core_err
enrol_otp_confirm (struct core_db *db, const char *id, const char *otp,
                   int *attempts_remaining, json_t **answer)
{
  struct otp_tx t = { .id = id, .otp = otp, .attempts_remaining = -1 };
  enum core_db_status st = core_db_tx (db, false, &otp_tx_run, &t);

  *attempts_remaining = t.attempts_remaining;
  *answer = NULL;
  if (st < 0 || CORE_OK != t.err)
  {
    if (NULL != t.answer)
      json_decref (t.answer);
    return st < 0 ? enrol_db_err (db) : t.err;
  }
  *answer = t.answer;
  if (CORE_OK == t.err)
    LOG_INFO ("enrolment %s: OTP confirmed", id);
  return t.err;
}
