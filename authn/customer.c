/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * customer.c -- bringing a customer in with a standard authenticator app,
 * and clearing a lockout.
 *
 * An operator tool (guichetd customer create --otpauth): the PIN must pass
 * the policy, a fresh 160-bit TOTP seed is sealed to its credential row,
 * and customer and credential are inserted in one transaction.  The seed
 * leaves this file only inside the otpauth:// URI handed back once to the
 * caller; the plain seed is wiped, never stored, never logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "authn/authn.h"
#include "authn/authn_db.h"
#include "authn/otp.h"
#include "authn/pin.h"
#include "core/crypto.h"
#include "core/log.h"

#define SEED_LEN 20             /* 160 bits: RFC 4226's recommendation */
#define REF_MAX 128

/* API.md "Software OTP for standard apps" (normative). */
#define OTPAUTH_FMT "otpauth://totp/Guichet:%s?secret=%s&issuer=Guichet" \
                    "&algorithm=SHA1&digits=6&period=30"

/* Everything made before the transaction, so the transaction body only
   inserts and a retry inserts the same rows. */
struct new_customer {
  char *cus_id;
  char *crd_id;
  const char *ref;
  char *pin_hash;
  uint8_t *sealed;
  size_t sealed_len;
  char *uri;                    /* holds the seed */
  bool conflict;                /* the ref was taken */
};

static void
new_customer_free (struct new_customer *n)
{
  free (n->cus_id);
  free (n->crd_id);
  free (n->pin_hash);
  free (n->sealed);
  if (n->uri != NULL)
    core_free_secret (n->uri, strlen (n->uri));
}

static bool
ref_valid (const char *ref)
{
  size_t len;

  if (ref == NULL)
    return true;
  len = strlen (ref);
  if (len == 0 || len > REF_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char) ref[i] < 0x20 || ref[i] == 0x7f)
      return false;
  return true;
}

/* Make the seed, seal it to the credential row, and write the URI.
   @return 0 or -1. */
static int
make_seed (struct new_customer *n)
{
  uint8_t seed[SEED_LEN];
  char aad[sizeof "credential:" + AUTHN_ID_MAX];
  char *b32 = NULL;
  int rc = -1;

  if (core_random (seed, sizeof seed) != 0)
    goto out;
  snprintf (aad, sizeof aad, "credential:%s", n->crd_id);
  if (core_seal (seed, sizeof seed, aad, &n->sealed, &n->sealed_len) != 0)
    goto out;
  b32 = core_b32_encode (seed, sizeof seed);
  if (b32 == NULL)
    goto out;
  if (asprintf (&n->uri, OTPAUTH_FMT, n->cus_id, b32) < 0)
    {
      n->uri = NULL;
      goto out;
    }
  rc = 0;
out:
  OPENSSL_cleanse (seed, sizeof seed);
  if (b32 != NULL)
    core_free_secret (b32, strlen (b32));
  return rc;
}

static enum core_db_status
insert_tx (struct core_db *db, void *cls)
{
  struct new_customer *n = cls;
  struct authn_db_new_cred cred = {
    .id = n->crd_id, .customer_id = n->cus_id, .kind = "otpauth",
    .otp = { .type = AUTHN_OTP_TOTP, .alg = AUTHN_OTP_SHA1, .digits = 6,
             .period = 30 },
    .sealed = n->sealed, .sealed_len = n->sealed_len,
  };
  enum core_db_status st;

  n->conflict = false;
  st = authn_db_insert_customer (db, n->cus_id, n->ref, n->pin_hash);
  if (st == CORE_DB_NO_ROW)
    n->conflict = true;
  if (st != CORE_DB_ONE_ROW)
    return st;
  st = authn_db_insert_credential (db, &cred);
  return st == CORE_DB_NO_ROW ? CORE_DB_HARD_ERROR : st;
}

/* Build everything, then insert.  @return as the public function. */
static enum core_err
create (struct core_db *db, struct new_customer *n, const char *pin)
{
  enum core_db_status st;

  n->cus_id = core_random_id ("cus");
  n->crd_id = core_random_id ("crd");
  if (n->cus_id == NULL || n->crd_id == NULL
      || strlen (n->cus_id) >= AUTHN_ID_MAX
      || strlen (n->crd_id) >= AUTHN_ID_MAX
      || make_seed (n) != 0 || authn_pin_hash (pin, &n->pin_hash) != 0)
    return CORE_ERR_INTERNAL;
  if (db == NULL)
    return CORE_ERR_DATABASE_UNAVAILABLE;
  st = core_db_tx (db, false, insert_tx, n);
  if (st < 0)
    return authn_db_err (db);
  if (n->conflict)
    return CORE_ERR_CONFLICT;
  return CORE_OK;
}

enum core_err
authn_customer_create_otpauth (struct core_db *db, const char *ref,
                               const char *pin, json_t **reasons,
                               char customer_id[AUTHN_ID_MAX],
                               char **otpauth_uri)
{
  struct new_customer n = { .ref = ref };
  json_t *why;
  enum core_err err;

  *reasons = NULL;
  *otpauth_uri = NULL;
  customer_id[0] = '\0';
  if (pin == NULL || !ref_valid (ref))
    return CORE_ERR_INVALID_FIELD;
  why = authn_pin_policy (pin, NULL);
  if (why == NULL)
    return CORE_ERR_INTERNAL;
  if (json_array_size (why) > 0)
    {
      *reasons = why;
      return CORE_ERR_POLICY_REFUSED;
    }
  json_decref (why);
  err = create (db, &n, pin);
  if (err == CORE_OK)
    {
      snprintf (customer_id, AUTHN_ID_MAX, "%s", n.cus_id);
      *otpauth_uri = n.uri;
      n.uri = NULL;
      LOG_INFO ("customer %s created with credential %s", n.cus_id,
                n.crd_id);
    }
  new_customer_free (&n);
  return err;
}

enum core_err
authn_customer_unlock (struct core_db *db, const char *customer_id)
{
  enum core_db_status st;

  if (customer_id == NULL)
    return CORE_ERR_NOT_FOUND;
  st = authn_db_unlock (db, customer_id);
  if (st < 0)
    return authn_db_err (db);
  if (st == CORE_DB_NO_ROW)
    return CORE_ERR_NOT_FOUND;
  LOG_INFO ("customer %s unlocked", customer_id);
  return CORE_OK;
}
