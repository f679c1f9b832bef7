/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * issue.c -- what enrol/ needs from authn/ to complete an enrolment:
 * insert the customer and an OTP credential inside the caller's
 * transaction, and format otpauth:// URIs (API.md, normative).
 *
 * The seed is sealed here, under the credential's own id as associated
 * data, so a sealed seed cannot be moved to another row.  The caller's
 * copy of the seed stays the caller's to cleanse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn.h"
#include "authn/authn_db.h"
#include "authn/otp.h"
#include "core/crypto.h"

enum core_db_status
authn_customer_insert_tx (struct core_db *db, const char *customer_id,
                          const char *pin_hash)
{
  const char *params[2] = { customer_id, pin_hash };

  return core_db_exec (db, "authn_customer_new", 2, params, NULL);
}

enum core_db_status
authn_customer_reenrol_tx (struct core_db *db, const char *customer_id,
                           const char *pin_hash)
{
  const char *params[2] = { customer_id, pin_hash };

  return core_db_exec (db, "authn_customer_reenrol", 2, params, NULL);
}

enum core_db_status
authn_credential_issue_tx (struct core_db *db, struct authn_issue_cred *c)
{
  struct authn_db_new_cred nc = {
    .customer_id = c->customer_id, .kind = c->kind,
    .otp = { .type = AUTHN_OTP_TOTP, .digits = c->digits,
             .period = c->period },
    .counter = c->last_step, .device_id = c->device_id
  };
  char *id = core_random_id ("crd");
  char aad[AUTHN_ID_MAX + 16];
  uint8_t *env = NULL;
  size_t envlen = 0;
  enum core_db_status st = CORE_DB_HARD_ERROR;

  if (NULL == id || 0 != authn_otp_alg_parse (c->algorithm, &nc.otp.alg))
    goto cleanup;
  snprintf (c->id, sizeof c->id, "%s", id);
  snprintf (aad, sizeof aad, "credential:%s", id);
  if (0 != core_seal (c->seed, c->seed_len, aad, &env, &envlen))
    goto cleanup;
  nc.id = id;
  nc.sealed = env;
  nc.sealed_len = envlen;
  st = authn_db_insert_credential (db, &nc);
cleanup:
  free (env);
  free (id);
  return st;
}

char *
authn_otpauth_uri (const char *customer_id, const uint8_t *seed, size_t len)
{
  char *b32 = core_b32_encode (seed, len);
  char *uri = NULL;

  if (NULL != b32
      && asprintf (&uri, "otpauth://totp/Guichet:%s?secret=%s&issuer=Guichet"
                   "&algorithm=SHA1&digits=6&period=30", customer_id, b32) < 0)
    uri = NULL;
  core_free_secret (b32, NULL != b32 ? strlen (b32) : 0);
  return uri;
}
