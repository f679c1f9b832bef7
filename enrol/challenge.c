/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * challenge.c -- QR challenges of the device step.
 *
 * A challenge is a 16-byte one-time activation secret bound to one
 * enrolment (and so one applicant session), valid challenge_ttl_s (3 min).
 * Asking again replaces the previous one, which then never activates.  The
 * secret is sealed at rest: the server needs it back, as the HMAC key of
 * the phone's proof and the HKDF salt of the seed, so a hash would not do.
 * Never log a payload or a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "enrol/device_step.h"
#include "enrol/enrol.h"
#include "enrol/enrol_db.h"
#include "enrol/qr.h"
#include "enrol/session.h"

#define SECRET_LEN 16

/* Percent-encode everything but RFC 3986 unreserved characters. */
static char *
pct_encode (const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc (strlen (s) * 3 + 1);
  char *o = out;

  if (NULL == out)
    return NULL;
  for (; *s; s++)
  {
    unsigned char c = (unsigned char) *s;

    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
        || (c >= '0' && c <= '9') || NULL != strchr ("-._~", c))
      *o++ = (char) c;
    else
    {
      *o++ = '%';
      *o++ = hex[c >> 4];
      *o++ = hex[c & 15];
    }
  }
  *o = '\0';
  return out;
}

/* guichet://activate?v=1&u=…&c=…&s=… (malloc'd secret text) */
static char *
payload (const char *base_url, const char *challenge_id, const uint8_t *secret)
{
  char *u = pct_encode (base_url);
  char *s = core_b64url_encode (secret, SECRET_LEN);
  char *p = NULL;

  if (NULL != u && NULL != s
      && asprintf (&p, "guichet://activate?v=1&u=%s&c=%s&s=%s", u,
                   challenge_id, s) < 0)
    p = NULL;
  free (u);
  core_free_secret (s, NULL != s ? strlen (s) : 0);
  return p;
}

static char *
aad_for (const char *challenge_id)
{
  char *aad = NULL;

  return asprintf (&aad, "challenge:%s", challenge_id) < 0 ? NULL : aad;
}

/* Seal @a secret for challenge @a cid as a bytea text parameter. */
static char *
sealed_param (const char *cid, const uint8_t *secret)
{
  char *aad = aad_for (cid);
  uint8_t *env = NULL;
  size_t envlen = 0;
  char *hex = NULL;

  if (NULL != aad && 0 == core_seal (secret, SECRET_LEN, aad, &env, &envlen)
      && NULL != (hex = malloc (2 * envlen + 3)))
  {
    hex[0] = '\\';
    hex[1] = 'x';
    core_hex_encode (env, envlen, hex + 2);
  }
  free (aad);
  free (env);
  return hex;
}

int
enrol_challenge_open_secret (const char *cid, const char *sealed_hex,
                             uint8_t secret[SECRET_LEN])
{
  size_t n = strlen (sealed_hex) / 2;
  uint8_t *env = malloc (n + 1);
  uint8_t *plain = NULL;
  size_t plen = 0;
  char *aad = aad_for (cid);
  int rc = -1;

  if (NULL != env && NULL != aad
      && (long) n == core_hex_decode (sealed_hex, env, n)
      && 0 == core_open (env, n, aad, &plain, &plen) && SECRET_LEN == plen)
  {
    memcpy (secret, plain, SECRET_LEN);
    rc = 0;
  }
  core_free_secret (plain, plen);
  free (env);
  free (aad);
  return rc;
}

/* ------------------------------------------------------------ new */

struct new_tx {
  const char *id;
  const char *browser_addr;
  const char *sealed;
  const char *cid;
  char expires_at[32];
  unsigned int rate_wait;
  enum core_err err;
};

static enum core_db_status
new_tx_run (struct core_db *db, void *cls)
{
  struct new_tx *t = cls;
  const char *p1[1] = { t->id };
  char ttl[16];
  const char *p2[5] = { t->cid, t->id, t->sealed, ttl, t->browser_addr };
  PGresult *r = NULL;
  enum core_db_status st;

  t->err = CORE_OK;
  st = core_db_exec (db, "enrol_lock", 1, p1, &r);
  if (CORE_DB_ONE_ROW != st)
  {
    PQclear (r);
    t->err = (CORE_DB_NO_ROW == st) ? CORE_ERR_NOT_FOUND : CORE_OK;
    return st;
  }
  if (0 == strcmp (PQgetvalue (r, 0, 1), "t"))
    t->err = CORE_ERR_ENROLMENT_EXPIRED;
  else if (0 != strcmp (PQgetvalue (r, 0, 0), "device"))
    t->err = CORE_ERR_WRONG_STATE;
  PQclear (r);
  if (CORE_OK != t->err)
    return CORE_DB_NO_ROW;
  /* Each challenge is a row kept retention_challenges_s after it expires:
     counted here, so the count commits with the row it paid for. */
  st = core_rate_take (db, "challenge_enrolment", t->id,
                       &core_cfg->rate_challenge_per_enrolment, &t->rate_wait);
  if (st < 0)
    return st;
  if (t->rate_wait > 0)
  {
    t->err = CORE_ERR_RATE_LIMITED;
    return CORE_DB_NO_ROW;
  }
  st = core_db_exec (db, "enrol_challenge_replace", 1, p1, NULL);
  if (st < 0)
    return st;
  snprintf (ttl, sizeof ttl, "%u", core_cfg->challenge_ttl_s);
  st = core_db_exec (db, "enrol_challenge_insert", 5, p2, &r);
  if (CORE_DB_ONE_ROW == st)
    snprintf (t->expires_at, sizeof t->expires_at, "%s", PQgetvalue (r, 0, 0));
  if (NULL != r)
    PQclear (r);
  return st;
}

enum core_err
enrol_challenge_new (struct core_db *db, const char *id,
                     const char *browser_addr, const char *base_url,
                     struct enrol_challenge *out, long *retry_after)
{
  uint8_t secret[SECRET_LEN];
  char *cid = core_random_id ("ch");
  char *sealed = NULL;
  struct new_tx t = { .id = id, .browser_addr = browser_addr };
  enum core_db_status st;
  enum core_err err = CORE_ERR_INTERNAL;

  memset (out, 0, sizeof *out);
  *retry_after = 0;
  if (NULL == cid || 0 != core_random (secret, sizeof secret)
      || NULL == (sealed = sealed_param (cid, secret)))
    goto cleanup;
  t.sealed = sealed;
  t.cid = cid;
  st = core_db_tx (db, false, &new_tx_run, &t);
  if (st < 0)
    err = enrol_db_err (db);
  else if (CORE_OK != t.err)
  {
    err = t.err;
    *retry_after = t.rate_wait;
  }
  else if (NULL != (out->qr_payload = payload (base_url, cid, secret)))
  {
    snprintf (out->id, sizeof out->id, "%s", cid);
    snprintf (out->expires_at, sizeof out->expires_at, "%s", t.expires_at);
    err = CORE_OK;
  }
cleanup:
  OPENSSL_cleanse (secret, sizeof secret);
  free (cid);
  free (sealed);
  return err;
}

void
enrol_challenge_clear (struct enrol_challenge *c)
{
  if (NULL != c->qr_payload)
    core_free_secret (c->qr_payload, strlen (c->qr_payload));
  c->qr_payload = NULL;
}

/* ------------------------------------------------------------ svg */

enum core_err
enrol_challenge_svg (struct core_db *db, const char *id, const char *base_url,
                     char **svg)
{
  const char *p[1] = { id };
  PGresult *r = NULL;
  uint8_t secret[SECRET_LEN];
  char *text = NULL;
  enum core_db_status st;
  enum core_err err = CORE_ERR_NOT_FOUND;

  *svg = NULL;
  st = core_db_exec (db, "enrol_challenge_current", 1, p, &r);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_DB_ONE_ROW == st)
  {
    if (0 == strcmp (PQgetvalue (r, 0, 2), "t"))
      err = CORE_ERR_CHALLENGE_EXPIRED;
    else if (0 == strcmp (PQgetvalue (r, 0, 3), "t"))
      err = CORE_ERR_CONFLICT;
    else if (0 != enrol_challenge_open_secret (PQgetvalue (r, 0, 0),
                                               PQgetvalue (r, 0, 1), secret))
      err = CORE_ERR_INTERNAL;
    else if (NULL != (text = payload (base_url, PQgetvalue (r, 0, 0), secret))
             && NULL != (*svg = enrol_qr_svg (text)))
      err = CORE_OK;
    else
      err = CORE_ERR_INTERNAL;
  }
  OPENSSL_cleanse (secret, sizeof secret);
  if (NULL != text)
    core_free_secret (text, strlen (text));
  if (NULL != r)
    PQclear (r);
  return err;
}

/* ------------------------------------------------------------ status */

enum core_err
enrol_challenge_status (struct core_db *db, const char *id,
                        const char **status)
{
  const char *p[1] = { id };
  PGresult *r = NULL;
  enum core_db_status st;
  const char *state;

  *status = NULL;
  st = core_db_exec (db, "enrol_device_status", 1, p, &r);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_DB_NO_ROW == st)
  {
    PQclear (r);
    return CORE_ERR_NOT_FOUND;
  }
  state = PQgetvalue (r, 0, 0);
  if (0 == strcmp (state, "device_review"))
    *status = "pending_review";
  else if (0 == strcmp (state, "rejected"))
    *status = "denied";
  else if (0 == strcmp (state, "pin_otp") || 0 == strcmp (state, "credential")
           || 0 == strcmp (state, "completed"))
    *status = "registered";
  else if (0 == strcmp (state, "device")
           && 0 == strcmp (PQgetvalue (r, 0, 1), "t"))
    *status = "pending";
  else
    *status = "expired";
  PQclear (r);
  return CORE_OK;
}
