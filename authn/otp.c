/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * otp.c -- HOTP/TOTP generation with liboath and constant-time matching.
 *
 * liboath generates: oath_hotp_generate for HOTP-SHA1, and
 * oath_totp_generate2 (time step 1, offset 0, "now" = T, so its moving
 * factor is exactly T) for every SHA-256/SHA-512 code, HOTP or TOTP.  We
 * compare: each candidate is checked with core_ct_streq and wiped.  This
 * file never calls liboath's validate functions, never logs a code or a
 * seed, and keeps no state: replay protection is the database's job.
 */
#include <pthread.h>
#include <string.h>
#include <liboath/oath.h>
#include <openssl/crypto.h>

#include "authn/otp.h"
#include "core/crypto.h"
#include "core/log.h"

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_rc = OATH_OK;

static void
oath_init_once (void)
{
  oath_init_rc = oath_init ();
  if (oath_init_rc != OATH_OK)
    LOG_BUG ("oath_init: %s", oath_strerror (oath_init_rc));
}

/* ---------------------------------------------------------------- names */

const char *
authn_otp_alg_name (enum authn_otp_alg alg)
{
  switch (alg)
    {
    case AUTHN_OTP_SHA256:
      return "SHA256";
    case AUTHN_OTP_SHA512:
      return "SHA512";
    case AUTHN_OTP_SHA1:
    default:
      return "SHA1";
    }
}

int
authn_otp_alg_parse (const char *s, enum authn_otp_alg *out)
{
  if (s == NULL)
    return -1;
  if (strcmp (s, "SHA1") == 0)
    *out = AUTHN_OTP_SHA1;
  else if (strcmp (s, "SHA256") == 0)
    *out = AUTHN_OTP_SHA256;
  else if (strcmp (s, "SHA512") == 0)
    *out = AUTHN_OTP_SHA512;
  else
    return -1;
  return 0;
}

const char *
authn_otp_type_name (enum authn_otp_type type)
{
  return type == AUTHN_OTP_HOTP ? "hotp" : "totp";
}

int
authn_otp_type_parse (const char *s, enum authn_otp_type *out)
{
  if (s == NULL)
    return -1;
  if (strcmp (s, "hotp") == 0)
    *out = AUTHN_OTP_HOTP;
  else if (strcmp (s, "totp") == 0)
    *out = AUTHN_OTP_TOTP;
  else
    return -1;
  return 0;
}

/* ----------------------------------------------------------- generation */

bool
authn_otp_params_valid (const struct authn_otp_params *p)
{
  if (p == NULL || (p->digits != 6 && p->digits != 8))
    return false;
  if (p->alg != AUTHN_OTP_SHA1 && p->alg != AUTHN_OTP_SHA256
      && p->alg != AUTHN_OTP_SHA512)
    return false;
  if (p->type == AUTHN_OTP_HOTP)
    return true;
  return p->type == AUTHN_OTP_TOTP && p->period >= 1 && p->period <= 3600;
}

bool
authn_otp_code_well_formed (const char *code, unsigned int digits)
{
  if (code == NULL)
    return false;
  for (unsigned int i = 0; i < digits; i++)
    if (code[i] < '0' || code[i] > '9')
      return false;             /* also stops at a NUL: too short */
  return code[digits] == '\0';
}

int64_t
authn_otp_step (const struct authn_otp_params *p, time_t now)
{
  if (!authn_otp_params_valid (p) || p->type != AUTHN_OTP_TOTP || now < 0)
    return -1;
  return (int64_t) now / (int64_t) p->period;
}

int
authn_otp_generate (const struct authn_otp_params *p, const uint8_t *seed,
                    size_t seedlen, int64_t t,
                    char out[AUTHN_OTP_MAX_DIGITS + 1])
{
  int rc;

  out[0] = '\0';
  if (!authn_otp_params_valid (p) || seed == NULL || seedlen == 0 || t < 0)
    return -1;
  pthread_once (&oath_once, oath_init_once);
  if (oath_init_rc != OATH_OK)
    return -1;
  if (p->alg == AUTHN_OTP_SHA1)
    rc = oath_hotp_generate ((const char *) seed, seedlen, (uint64_t) t,
                             p->digits, false, OATH_HOTP_DYNAMIC_TRUNCATION,
                             out);
  else
    rc = oath_totp_generate2 ((const char *) seed, seedlen, (time_t) t, 1, 0,
                              p->digits,
                              p->alg == AUTHN_OTP_SHA256
                              ? OATH_TOTP_HMAC_SHA256 : OATH_TOTP_HMAC_SHA512,
                              out);
  if (rc != OATH_OK)
    {
      LOG_BUG ("liboath generate: %s", oath_strerror_name (rc));
      out[0] = '\0';
      return -1;
    }
  return 0;
}

/* ------------------------------------------------------------- matching */

/* Common checks of both searches.  @return AUTHN_OTP_MATCH to go on. */
static enum authn_otp_result
search_precheck (const struct authn_otp_params *p, const uint8_t *seed,
                 size_t seedlen, int64_t *lo, int64_t hi)
{
  if (!authn_otp_params_valid (p) || seed == NULL || seedlen == 0)
    return AUTHN_OTP_ERROR;
  if (*lo < 0)
    *lo = 0;
  if (hi < *lo)
    return AUTHN_OTP_NO_MATCH;
  if (hi - *lo >= AUTHN_OTP_MAX_SPAN)
    return AUTHN_OTP_ERROR;
  return AUTHN_OTP_MATCH;
}

enum authn_otp_result
authn_otp_search (const struct authn_otp_params *p, const uint8_t *seed,
                  size_t seedlen, const char *code, int64_t lo, int64_t hi,
                  int64_t *matched)
{
  char cand[AUTHN_OTP_MAX_DIGITS + 1];
  enum authn_otp_result r;
  bool found = false;

  if (p == NULL || !authn_otp_code_well_formed (code, p->digits))
    return AUTHN_OTP_MALFORMED;
  r = search_precheck (p, seed, seedlen, &lo, hi);
  if (r != AUTHN_OTP_MATCH)
    return r;
  for (int64_t t = hi; t >= lo; t--)
    {
      if (authn_otp_generate (p, seed, seedlen, t, cand) != 0)
        {
          r = AUTHN_OTP_ERROR;
          break;
        }
      if (core_ct_streq (cand, code))
        {
          found = true;
          *matched = t;           /* descending: the last one is lowest */
        }
    }
  OPENSSL_cleanse (cand, sizeof cand);
  if (r == AUTHN_OTP_ERROR)
    return r;
  return found ? AUTHN_OTP_MATCH : AUTHN_OTP_NO_MATCH;
}

enum authn_otp_result
authn_otp_search_pair (const struct authn_otp_params *p, const uint8_t *seed,
                       size_t seedlen, const char *code1, const char *code2,
                       int64_t lo, int64_t hi, int64_t *matched)
{
  char cand[AUTHN_OTP_MAX_DIGITS + 1];
  enum authn_otp_result r;
  bool next_is_2 = false;       /* code(t + 1) == code2 */
  bool found = false;

  if (p == NULL || !authn_otp_code_well_formed (code1, p->digits)
      || !authn_otp_code_well_formed (code2, p->digits))
    return AUTHN_OTP_MALFORMED;
  r = search_precheck (p, seed, seedlen, &lo, hi);
  if (r != AUTHN_OTP_MATCH)
    return r;
  for (int64_t t = hi + 1; t >= lo; t--)
    {
      if (authn_otp_generate (p, seed, seedlen, t, cand) != 0)
        {
          r = AUTHN_OTP_ERROR;
          break;
        }
      bool is_1 = core_ct_streq (cand, code1);

      if (t <= hi && next_is_2 && is_1)
        {
          found = true;
          *matched = t;
        }
      next_is_2 = core_ct_streq (cand, code2);
    }
  OPENSSL_cleanse (cand, sizeof cand);
  if (r == AUTHN_OTP_ERROR)
    return r;
  return found ? AUTHN_OTP_MATCH : AUTHN_OTP_NO_MATCH;
}
