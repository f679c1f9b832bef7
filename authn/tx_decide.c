/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_decide.c -- deciding a transaction: approval by the phone's
 * signature, decline, and the offline response code (see transaction.h).
 *
 * Each decision reads the transaction, checks what it can in C (who
 * answers, the state, the signature or the code against T rebuilt from
 * the stored fields), then runs one conditional UPDATE; when that finds
 * the row no longer pending -- another request decided it, or the clock
 * passed expires_at -- it reads the row again to say which (409 or 410).
 *
 * A wrong response code is a guess at a secret, so it is counted twice in
 * one database transaction: toward the customer's lockout (authn_fail,
 * the same statement PIN+OTP failures use) and on the transaction, which
 * fails at lockout_attempts codes or when the customer locks.  A right
 * code proves the phone, not the PIN: like a resync, it resets nothing.
 * A signature that is not of T is refused and recorded but not counted:
 * it comes from an authenticated phone and guesses nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "authn/device.h"
#include "authn/transaction.h"
#include "authn/tx_int.h"
#include "core/crypto.h"
#include "core/log.h"

/* ================================================================
 * The state a decision finds
 * ================================================================ */

static void
outcome_init (struct authn_tx_outcome *out, const char *id)
{
  memset (out, 0, sizeof *out);
  out->attempts_remaining = -1;
  if (NULL != id)
    snprintf (out->id, sizeof out->id, "%s", id);
}

/* CORE_OK when @a r may still be decided; else the answer, marking a
   pending transaction past its expiry as expired on the way. */
static enum core_err
decidable (struct core_db *db, const struct tx_row *r,
           const struct tx_db_actor *who, struct authn_tx_outcome *out)
{
  enum core_db_status st;

  if (r->expired_pending)
  {
    st = tx_db_expire (db, r->id, who);
    if (st < 0)
      return tx_err (db);
    out->became_expired = CORE_DB_ONE_ROW == st;
    if (out->became_expired)
      tx_notify (db, r->id);
    return CORE_ERR_EXPIRED;
  }
  if (0 == strcmp (r->status, "expired"))
    return CORE_ERR_EXPIRED;
  if (0 != strcmp (r->status, "pending"))
    return CORE_ERR_WRONG_STATE;
  return CORE_OK;
}

/* A conditional UPDATE found nothing to decide: read again to say why. */
static enum core_err
settle_lost (struct core_db *db, const char *id, const char *api_key_name,
             const struct tx_db_actor *who, struct authn_tx_outcome *out)
{
  struct tx_row r;
  enum core_db_status st = tx_db_get (db, id, api_key_name, NULL, &r);
  enum core_err err;

  if (st < 0)
    return tx_err (db);
  err = CORE_DB_NO_ROW == st ? CORE_ERR_NOT_FOUND
        : decidable (db, &r, who, out);
  tx_row_clear (&r);
  return CORE_OK == err ? CORE_ERR_WRONG_STATE : err;
}

/* ================================================================
 * The phone: approve, decline
 * ================================================================ */

/* Load @a id for the phone and check it may answer it now. */
static enum core_err
load_for_phone (struct core_db *db, const char *id,
                const struct authn_tx_who *who, const struct tx_db_actor *a,
                struct tx_row *r, uint8_t pub[AUTHN_P256_PUB_LEN],
                struct authn_tx_outcome *out)
{
  bool capable = false;
  enum core_db_status st;

  if (NULL == who->device_id)
    return CORE_ERR_FORBIDDEN;
  st = tx_db_load_for_device (db, id, who->device_id, r, &capable, pub);
  if (st < 0)
    return tx_err (db);
  if (CORE_DB_NO_ROW == st)
    return CORE_ERR_NOT_FOUND;
  if (! capable)
    return CORE_ERR_FORBIDDEN;
  return decidable (db, r, a, out);
}

/* The relying party of @a r, to read it again by id after a lost race. */
static enum core_err
phone_lost (struct core_db *db, const struct tx_row *r,
            const struct tx_db_actor *a, struct authn_tx_outcome *out)
{
  return settle_lost (db, r->id, r->relying_party, a, out);
}

static bool
signature_of_t (const uint8_t pub[AUTHN_P256_PUB_LEN], const char *t,
                const char *signature_b64, uint8_t **der, size_t *der_len)
{
  long n;

  *der = NULL;
  *der_len = 0;
  if (NULL == t || NULL == signature_b64 || strlen (signature_b64) > 200)
    return false;
  n = core_b64url_decode (signature_b64, der);
  if (n <= 0)
    return false;
  *der_len = (size_t) n;
  return authn_device_verify (pub, t, strlen (t), *der, *der_len);
}

enum core_err
authn_tx_approve (struct core_db *db, const char *id,
                  const struct authn_tx_who *who, const char *signature_b64,
                  struct authn_tx_outcome *out)
{
  struct tx_db_actor a = { .actor = "device", .client_addr = who->client_addr };
  uint8_t pub[AUTHN_P256_PUB_LEN];
  struct tx_row r;
  uint8_t *der = NULL;
  size_t der_len = 0;
  char *t = NULL;
  enum core_db_status st;
  enum core_err err;

  outcome_init (out, id);
  memset (&r, 0, sizeof r);
  err = load_for_phone (db, id, who, &a, &r, pub, out);
  if (CORE_OK != err)
    goto cleanup;
  if (NULL == (t = tx_t_of (&r)))
  {
    err = CORE_ERR_INTERNAL;
    goto cleanup;
  }
  if (! signature_of_t (pub, t, signature_b64, &der, &der_len))
  {
    err = tx_db_event (db, id, "signature_invalid", "signature",
                       who->device_id, &a) < 0 ? tx_err (db)
          : CORE_ERR_PROOF_INVALID;
    goto cleanup;
  }
  st = tx_db_approve (db, id, who->device_id, t, der, der_len, pub, &a);
  if (st < 0)
    err = tx_err (db);
  else if (CORE_DB_NO_ROW == st)
    err = phone_lost (db, &r, &a, out);
  else
  {
    out->status = "approved";
    tx_notify (db, id);
  }
cleanup:
  free (der);
  free (t);
  tx_row_clear (&r);
  return err;
}

enum core_err
authn_tx_decline (struct core_db *db, const char *id,
                  const struct authn_tx_who *who,
                  struct authn_tx_outcome *out)
{
  struct tx_db_actor a = { .actor = "device", .client_addr = who->client_addr };
  uint8_t pub[AUTHN_P256_PUB_LEN];
  struct tx_row r;
  enum core_db_status st;
  enum core_err err;

  outcome_init (out, id);
  memset (&r, 0, sizeof r);
  err = load_for_phone (db, id, who, &a, &r, pub, out);
  if (CORE_OK == err)
  {
    st = tx_db_decline (db, id, who->device_id, &a);
    if (st < 0)
      err = tx_err (db);
    else if (CORE_DB_NO_ROW == st)
      err = phone_lost (db, &r, &a, out);
    else
    {
      out->status = "declined";
      tx_notify (db, id);
    }
  }
  tx_row_clear (&r);
  return err;
}

/* ================================================================
 * The offline response code
 * ================================================================ */

/* Which capable phone's seed gives @a response for @a t: every seed is
   tried (the work does not depend on where the match is) and compared in
   constant time.  @return the index, -1 for none, -2 on a seed that cannot
   be opened and no match. */
static int
matching_phone (const struct tx_db_code_ctx *ctx, const char *t,
                const char *response)
{
  int found = -1, broken = 0;

  for (size_t i = 0; i < ctx->nseeds; i++)
  {
    char aad[AUTHN_ID_MAX + 8];
    uint8_t env[512];
    uint8_t *seed = NULL;
    size_t seed_len = 0;
    char code[AUTHN_TX_RESPONSE_DIGITS + 1];
    long n = core_hex_decode (ctx->seeds[i].sealed_hex, env, sizeof env);

    snprintf (aad, sizeof aad, "device:%s", ctx->seeds[i].device_id);
    if (n <= 0 || 0 != core_open (env, (size_t) n, aad, &seed, &seed_len)
        || 0 != authn_tx_response_code (seed, seed_len, t, code))
    {
      LOG_ERROR ("device %s: seed cannot be opened", ctx->seeds[i].device_id);
      broken++;
    }
    else if (core_ct_streq (code, response) && found < 0)
      found = (int) i;
    OPENSSL_cleanse (code, sizeof code);
    core_free_secret (seed, seed_len);
  }
  return found < 0 && broken > 0 ? -2 : found;
}

/* The body of the transaction that counts a wrong code. */
struct wrong_code {
  const char *id;
  const struct authn_db_audit *audit;
  const struct tx_db_actor *actor;
  bool locked;                   /* the customer was locked meanwhile */
  bool lost;                     /* the transaction was decided meanwhile */
  bool failed;                   /* this code failed the transaction */
  int remaining;
};

static enum core_db_status
wrong_code_run (struct core_db *db, void *cls)
{
  struct wrong_code *w = cls;
  int customer_left = -1;
  struct authn_db_lock lock;
  long wait = 0;
  enum core_db_status st;

  w->locked = w->lost = w->failed = false;
  w->remaining = -1;
  /* Customer first, then the transaction: every path that locks both
     takes them in this order. */
  st = authn_db_fail (db, w->audit, "response_invalid", tx_limit (), false,
                      &customer_left, &lock, &wait);
  if (CORE_DB_NO_ROW == st)
    w->locked = true;             /* nothing written */
  if (CORE_DB_ONE_ROW != st)
    return st;
  st = tx_db_count_wrong_code (db, w->id, tx_limit (), customer_left,
                               w->actor, &w->failed, &w->remaining);
  if (CORE_DB_NO_ROW == st)
  {
    w->lost = true;
    return CORE_DB_HARD_ERROR;    /* roll the customer's count back */
  }
  return st;
}

/* Refuse a code without trying it: the customer is locked. */
static enum core_err
refuse_locked (struct core_db *db, const struct tx_row *r,
               const struct authn_db_audit *audit,
               const struct tx_db_actor *a)
{
  if (authn_db_audit (db, audit, "locked", 0) < 0
      || tx_db_event (db, r->id, "locked", "response_code", NULL, a) < 0)
    return tx_err (db);
  return CORE_ERR_LOCKED;
}

static enum core_err
count_wrong_code (struct core_db *db, const struct tx_row *r,
                  const struct authn_db_audit *audit,
                  const struct tx_db_actor *a, const char *api_key_name,
                  struct authn_tx_outcome *out)
{
  struct wrong_code w = { .id = r->id, .audit = audit, .actor = a };
  enum core_db_status st = core_db_tx (db, false, &wrong_code_run, &w);

  if (w.lost)
    return settle_lost (db, r->id, api_key_name, a, out);
  if (st < 0)
    return tx_err (db);
  if (w.locked)
    return refuse_locked (db, r, audit, a);
  out->attempts_remaining = w.remaining;
  out->became_failed = w.failed;
  if (w.failed)
  {
    out->status = "failed";
    LOG_INFO ("transaction %s failed: wrong response codes", r->id);
    tx_notify (db, r->id);
  }
  return CORE_ERR_AUTHENTICATION_FAILED;
}

static bool
response_well_formed (const char *response)
{
  return NULL != response
         && AUTHN_TX_RESPONSE_DIGITS == strlen (response)
         && AUTHN_TX_RESPONSE_DIGITS == strspn (response, "0123456789");
}

enum core_err
authn_tx_verify_response (struct core_db *db, const char *id,
                          const struct authn_tx_who *who,
                          const char *response, struct authn_tx_outcome *out)
{
  char link_hash[2 * CORE_SHA256_LEN + 1];
  char actor[80];
  struct tx_db_actor a = { .actor = actor, .client_addr = who->client_addr };
  struct authn_db_audit audit = { .client_addr = who->client_addr,
                                  .action = "tx_response" };
  struct tx_db_code_ctx ctx;
  struct tx_row r;
  char *t = NULL;
  int match;
  enum core_db_status st;
  enum core_err err;

  outcome_init (out, id);
  if (! response_well_formed (response))
    return CORE_ERR_INVALID_FIELD;
  if (NULL == id && (NULL == who->link_token
                     || AUTHN_TX_LINK_TOKEN_LEN != strlen (who->link_token)))
    return CORE_ERR_NOT_FOUND;
  if (NULL == id)
    core_sha256_hex (who->link_token, strlen (who->link_token), link_hash);
  if (NULL != id)
    snprintf (actor, sizeof actor, "rp:%s",
              NULL != who->api_key_name ? who->api_key_name : "");
  else
    snprintf (actor, sizeof actor, "payer");
  st = tx_db_load_for_code (db, id, who->api_key_name,
                            NULL != id ? NULL : link_hash, &r, &ctx);
  if (st < 0)
    return tx_err (db);
  if (CORE_DB_NO_ROW == st)
    return CORE_ERR_NOT_FOUND;
  snprintf (out->id, sizeof out->id, "%s", r.id);
  audit.customer_id = r.customer_id;
  audit.relying_party = r.relying_party;
  if (CORE_OK != (err = decidable (db, &r, &a, out)))
    goto cleanup;
  if (ctx.locked || ctx.failed_attempts >= (long) tx_limit ())
  {
    err = refuse_locked (db, &r, &audit, &a);
    goto cleanup;
  }
  if (NULL == (t = tx_t_of (&r)))
  {
    err = CORE_ERR_INTERNAL;
    goto cleanup;
  }
  match = matching_phone (&ctx, t, response);
  if (-2 == match)
    err = CORE_ERR_INTERNAL;      /* not the customer's fault: count nothing */
  else if (match < 0)
    err = count_wrong_code (db, &r, &audit, &a, r.relying_party, out);
  else
  {
    st = tx_db_approve (db, r.id, ctx.seeds[match].device_id, t, NULL, 0,
                        NULL, &a);
    if (st < 0)
      err = tx_err (db);
    else if (CORE_DB_NO_ROW == st)
      err = settle_lost (db, r.id, r.relying_party, &a, out);
    else
    {
      out->status = "approved";
      tx_notify (db, r.id);
    }
  }
cleanup:
  free (t);
  tx_db_code_ctx_clear (&ctx);
  tx_row_clear (&r);
  return err;
}
