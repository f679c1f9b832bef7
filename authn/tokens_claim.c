/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens_claim.c -- a hardware token from the inventory becomes a new
 * customer's credential: the applicant types the serial printed on it and
 * a code it shows.
 *
 * This runs inside the enrolment's completion transaction (enrol/
 * issue_hardware.c), so the customer, the credential and the token's new
 * state commit together or not at all.  Every check comes before the first
 * write: the token row is locked, its state and dates judged, the code
 * searched (HOTP look-ahead, TOTP window around now and around the
 * shipped drift) -- a refusal writes nothing and says why twice: an error
 * code, and a word for the caller's log (the token's real state, which
 * enrol/ keeps from the applicant).  The secret is opened under
 * "token:<id>" and re-sealed under "credential:<id>"; the clear copy is
 * cleansed before return and never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn/authn_db.h"
#include "authn/otp.h"
#include "authn/tokens.h"
#include "authn/tokens_db.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"

/* Used when main has not set core_cfg (tools, tests). */
static const struct core_config default_cfg = {
  .totp_window = 1, .hotp_lookahead = 10,
};

static const struct core_config *
cfg (void)
{
  return core_cfg != NULL ? core_cfg : &default_cfg;
}

/* Where the new credential starts. */
struct claim_state {
  int64_t counter;           /* HOTP: match + 1; TOTP: the matched step */
  int32_t drift;             /* TOTP: matched step - current step */
};

/* A token that cannot be claimed, whatever the code; @a why names it for
   the caller's log. */
static enum core_err
state_err (const struct tokens_db_token *t, const char **why)
{
  if (strcmp (t->state, "lost") == 0 || strcmp (t->state, "revoked") == 0)
    {
      *why = strcmp (t->state, "lost") == 0 ? "lost" : "revoked";
      return CORE_ERR_POLICY_REFUSED;
    }
  if (strcmp (t->state, "in_stock") != 0)
    {
      *why = strcmp (t->state, "active") == 0 ? "active" : "assigned";
      return CORE_ERR_CONFLICT;
    }
  if (t->expired || t->not_yet_valid)
    {
      *why = t->expired ? "expired" : "not_yet_valid";
      return CORE_ERR_POLICY_REFUSED;
    }
  return CORE_OK;
}

/* Search the code where it may be; fill @a cs on a match. */
static enum authn_otp_result
find_code (const struct tokens_db_token *t, const uint8_t *seed, size_t len,
           const char *otp, struct claim_state *cs)
{
  int64_t w = cfg ()->totp_window, now_step, m = 0;
  enum authn_otp_result r;

  if (t->otp.type == AUTHN_OTP_HOTP)
    {
      r = authn_otp_search (&t->otp, seed, len, otp, t->counter,
                            t->counter + cfg ()->hotp_lookahead, &m);
      cs->counter = m + 1;
      cs->drift = 0;
      return r;
    }
  now_step = authn_otp_step (&t->otp, time (NULL));
  r = authn_otp_search (&t->otp, seed, len, otp, now_step - w, now_step + w,
                        &m);
  if (r == AUTHN_OTP_NO_MATCH && t->drift != 0)
    r = authn_otp_search (&t->otp, seed, len, otp, now_step + t->drift - w,
                          now_step + t->drift + w, &m);
  cs->counter = m;
  cs->drift = (int32_t) (m - now_step);
  return r;
}

/* Open the token's secret and check the code.
   @param[out] seed  the secret (the caller cleanses it) on CORE_OK */
static enum core_err
check_code (const struct tokens_db_token *t, const char *otp,
            struct claim_state *cs, uint8_t **seed, size_t *len)
{
  char aad[sizeof "token:" + AUTHN_ID_MAX];
  enum authn_otp_result r;

  *seed = NULL;
  *len = 0;
  if (!authn_otp_code_well_formed (otp, t->otp.digits))
    return CORE_ERR_OTP_INVALID;
  snprintf (aad, sizeof aad, "token:%s", t->id);
  if (core_open (t->sealed, t->sealed_len, aad, seed, len) != 0)
    {
      LOG_ERROR ("token %s: secret cannot be opened", t->id);
      return CORE_ERR_INTERNAL;
    }
  r = find_code (t, *seed, *len, otp, cs);
  if (r == AUTHN_OTP_MATCH)
    return CORE_OK;
  core_free_secret (*seed, *len);
  *seed = NULL;
  return r == AUTHN_OTP_ERROR ? CORE_ERR_INTERNAL : CORE_ERR_OTP_INVALID;
}

/* Insert the credential (secret re-sealed under its id) and activate the
   token.  @return ONE_ROW, or a negative status with *err set. */
static enum core_db_status
issue (struct core_db *db, const struct tokens_db_token *t,
       const uint8_t *seed, size_t len, const struct claim_state *cs,
       const char *customer_id, char id[AUTHN_ID_MAX], enum core_err *err)
{
  char aad[sizeof "credential:" + AUTHN_ID_MAX];
  char *crd = core_random_id ("crd");
  uint8_t *env = NULL;
  size_t env_len = 0;
  enum core_db_status st = CORE_DB_HARD_ERROR;
  struct tokens_db_credential c = {
    .id = crd, .customer_id = customer_id, .otp = &t->otp,
    .counter = cs->counter, .drift = cs->drift,
  };

  *err = CORE_ERR_INTERNAL;
  if (crd == NULL || strlen (crd) >= AUTHN_ID_MAX)
    goto done;
  snprintf (aad, sizeof aad, "credential:%s", crd);
  if (core_seal (seed, len, aad, &env, &env_len) != 0)
    goto done;
  c.sealed = env;
  c.sealed_len = env_len;
  st = tokens_db_credential_insert (db, &c);
  if (st == CORE_DB_ONE_ROW)
    st = tokens_db_activate (db, t->id, customer_id, crd);
  if (st == CORE_DB_NO_ROW)       /* cannot happen under the row lock */
    {
      *err = CORE_ERR_CONFLICT;
      st = CORE_DB_HARD_ERROR;
    }
  if (st == CORE_DB_ONE_ROW)
    {
      *err = CORE_OK;
      strcpy (id, crd);
    }
  else if (*err == CORE_ERR_INTERNAL)
    *err = authn_db_err (db);
done:
  free (env);
  free (crd);
  return st;
}

/* A refusal: nothing was written. */
static enum core_db_status
refused (enum core_err why, enum core_err *err)
{
  *err = why;
  return CORE_DB_NO_ROW;
}

enum core_db_status
authn_token_claim_tx (struct core_db *db, const char *serial, const char *otp,
                      const char *customer_id,
                      char credential_id[AUTHN_ID_MAX], enum core_err *err,
                      const char **why)
{
  struct tokens_db_token t;
  struct claim_state cs = { 0, 0 };
  enum core_db_status st;
  uint8_t *seed = NULL;
  size_t len = 0;
  int matches = 0;

  credential_id[0] = '\0';
  *why = "unknown_serial";
  if (serial == NULL || serial[0] == '\0' || customer_id == NULL)
    return refused (CORE_ERR_NOT_FOUND, err);
  st = tokens_db_claim_find (db, serial, &t, &matches);
  if (st == CORE_DB_NO_ROW)
    return refused (CORE_ERR_NOT_FOUND, err);
  if (st < 0)
    {
      *why = NULL;
      *err = authn_db_err (db);
      return st;
    }
  *why = "ambiguous_serial";
  *err = matches > 1 ? CORE_ERR_CONFLICT : state_err (&t, why);
  /* Only an in-stock token's code is checked: a refusal for its state
     skips the secret's opening and the code search (microseconds against
     the statement's round trip). */
  if (*err == CORE_OK)
    {
      *why = "wrong_code";
      *err = check_code (&t, otp, &cs, &seed, &len);
    }
  if (*err == CORE_OK)
    st = issue (db, &t, seed, len, &cs, customer_id, credential_id, err);
  else
    st = *err == CORE_ERR_INTERNAL ? CORE_DB_HARD_ERROR : CORE_DB_NO_ROW;
  if (st != CORE_DB_NO_ROW)
    *why = NULL;
  if (*err == CORE_OK)
    LOG_INFO ("token %s activated for customer %s as credential %s", t.id,
              customer_id, credential_id);
  core_free_secret (seed, len);
  free (t.sealed);
  return st;
}
