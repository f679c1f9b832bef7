/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * transaction.c -- creating transactions and reading them: the relying
 * party's view, the phone's pending list, the hosted page's view, the
 * evidence, the back-office list (see transaction.h).
 *
 * A new transaction gets three random values: its id, the nonce that
 * makes its T unique, and the secret of its approval link.  The link's
 * secret is the only way to the hosted approval page: stored as its
 * SHA-256 (for the lookup) and sealed under the master key (so an
 * Idempotency-Key replay can answer the same approval_url), never logged.
 * The QR payload carries T's fields, percent-encoded; the phone rebuilds T
 * from them, shows them, and signs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "authn/device.h"
#include "authn/transaction.h"
#include "authn/tx_db.h"
#include "authn/tx_int.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"

#define NONCE_LEN 16
#define LINK_LEN 32
#define CREATE_TRIES 2

/* ================================================================
 * Shared with tx_decide.c
 * ================================================================ */

enum core_err
tx_err (struct core_db *db)
{
  return authn_db_err (db);
}

unsigned int
tx_limit (void)
{
  return NULL != core_cfg && core_cfg->lockout_attempts > 0
         ? core_cfg->lockout_attempts : 5;
}

char *
tx_t_of (const struct tx_row *r)
{
  return authn_tx_data (r->id, r->amount, r->currency, r->payee_name,
                        r->payee_iban, r->nonce);
}

void
tx_notify (struct core_db *db, const char *key)
{
  /* A lost notification costs a waiter its wait, never a wrong answer:
     waiters read the state again when their deadline comes. */
  if (tx_db_notify (db, key) < 0)
    LOG_WARN ("transaction %s: NOTIFY failed", key);
}

/* RFC 3986 percent-encoding of everything but the unreserved characters
   (so a space is %20 and a '+' is %2B).  @return malloc'd, or NULL. */
static char *
pct_encode (const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  char *out = malloc (3 * strlen (s) + 1);
  char *o = out;

  if (NULL == out)
    return NULL;
  for (const unsigned char *p = (const unsigned char *) s; '\0' != *p; p++)
    if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
        || (*p >= '0' && *p <= '9') || strchr ("-._~", *p))
      *o++ = (char) *p;
    else
    {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 0x0f];
    }
  *o = '\0';
  return out;
}

char *
tx_qr_payload (const struct tx_row *r)
{
  const char *v[6] = { r->id, r->amount, r->currency, r->payee_name,
                       r->payee_iban, r->nonce };
  char *e[6] = { NULL };
  char *out = NULL;

  for (int i = 0; i < 6; i++)
    if (NULL == (e[i] = pct_encode (v[i])))
      goto cleanup;
  if (asprintf (&out, "guichet://tx?v=1&id=%s&a=%s&c=%s&n=%s&i=%s&x=%s",
                e[0], e[1], e[2], e[3], e[4], e[5]) < 0)
    out = NULL;
cleanup:
  for (int i = 0; i < 6; i++)
    free (e[i]);
  return out;
}

/* ================================================================
 * Create
 * ================================================================ */

/* The link's secret as approval_url: <base>/approve/#<secret>.  The
   fragment never reaches a server log or a Referer header. */
static char *
approval_url (const char *base, const char *token)
{
  size_t blen = strlen (base);
  char *url = NULL;

  while (blen > 0 && '/' == base[blen - 1])
    blen--;
  if (asprintf (&url, "%.*s/approve/#%s", (int) blen, base, token) < 0)
    return NULL;
  return url;
}

/* Fill @a out from a row (new or replayed) and the link's secret. */
static enum core_err
created_from (const struct tx_row *r, const char *token, const char *base,
              struct authn_tx_created *out)
{
  snprintf (out->id, sizeof out->id, "%s", r->id);
  snprintf (out->expires_at, sizeof out->expires_at, "%s", r->expires_at);
  out->qr_payload = tx_qr_payload (r);
  out->approval_url = approval_url (base, token);
  return NULL != out->qr_payload && NULL != out->approval_url
         ? CORE_OK : CORE_ERR_INTERNAL;
}

/* The earlier answer for the same Idempotency-Key and body. */
static enum core_err
replay (const struct authn_tx_new *req, const struct tx_db_created *c,
        struct authn_tx_created *out)
{
  char aad[AUTHN_ID_MAX + 24];
  uint8_t env[512];
  uint8_t *plain = NULL;
  size_t plain_len = 0;
  char *token = NULL;
  long n;
  enum core_err err = CORE_ERR_INTERNAL;

  if (NULL == req->body_sha256_hex
      || 0 != strcmp (c->prior_request_hash, req->body_sha256_hex))
    return CORE_ERR_CONFLICT;
  snprintf (aad, sizeof aad, "transaction-link:%s", c->prior_row.id);
  n = core_hex_decode (c->prior_link_sealed_hex, env, sizeof env);
  if (n <= 0 || 0 != core_open (env, (size_t) n, aad, &plain, &plain_len)
      || NULL == (token = strndup ((const char *) plain, plain_len)))
  {
    LOG_ERROR ("transaction %s: the approval link cannot be opened",
               c->prior_row.id);
    goto cleanup;
  }
  err = created_from (&c->prior_row, token, req->base_url, out);
  out->replayed = true;
cleanup:
  core_free_secret (plain, plain_len);
  core_free_secret (token, NULL != token ? strlen (token) : 0);
  return err;
}

/* The three random values of a new transaction and what is stored of the
   link's secret.  @return 0 or -1. */
struct fresh {
  char *id;
  char *nonce;
  char *token;                   /* the link's secret */
  char link_hash[2 * CORE_SHA256_LEN + 1];
  char *link_sealed_hex;
};

static void
fresh_clear (struct fresh *f)
{
  free (f->id);
  free (f->nonce);
  core_free_secret (f->token, NULL != f->token ? strlen (f->token) : 0);
  free (f->link_sealed_hex);
  memset (f, 0, sizeof *f);
}

static int
fresh_make (struct fresh *f)
{
  uint8_t nonce[NONCE_LEN], link[LINK_LEN];
  char aad[AUTHN_ID_MAX + 24];
  uint8_t *env = NULL;
  size_t envlen = 0;
  int rc = -1;

  memset (f, 0, sizeof *f);
  if (0 != core_random (nonce, sizeof nonce)
      || 0 != core_random (link, sizeof link)
      || NULL == (f->id = core_random_id ("tx"))
      || NULL == (f->nonce = core_b64url_encode (nonce, sizeof nonce))
      || NULL == (f->token = core_b64url_encode (link, sizeof link)))
    goto cleanup;
  core_sha256_hex (f->token, strlen (f->token), f->link_hash);
  snprintf (aad, sizeof aad, "transaction-link:%s", f->id);
  if (0 != core_seal (f->token, strlen (f->token), aad, &env, &envlen)
      || NULL == (f->link_sealed_hex = malloc (2 * envlen + 1)))
    goto cleanup;
  core_hex_encode (env, envlen, f->link_sealed_hex);
  rc = 0;
cleanup:
  OPENSSL_cleanse (link, sizeof link);
  free (env);
  if (0 != rc)
    fresh_clear (f);
  return rc;
}

/* What the create statement's answer means. */
static enum core_err
create_outcome (const struct tx_db_created *c, json_t **reasons)
{
  if (! c->key_ok)
    return CORE_ERR_UNAUTHORIZED;
  if (! c->customer_ok)
    return CORE_ERR_NOT_FOUND;
  if (! c->device_ok)
    return CORE_ERR_NO_CAPABLE_DEVICE;
  if (! c->origin_ok)
  {
    *reasons = json_pack ("[s]", "return_url_not_allowed");
    return CORE_ERR_POLICY_REFUSED;
  }
  return CORE_OK;
}

/* One try of the create statement.  @return CORE_OK with @a out filled,
   CORE_ERR_CONFLICT as a soft "try again" when another request with the
   same Idempotency-Key won the insert meanwhile (*again set), else the
   answer. */
static enum core_err
create_once (struct core_db *db, const struct authn_tx_new *req,
             const char *origin, struct authn_tx_created *out,
             json_t **reasons, bool *again)
{
  struct fresh f;
  struct tx_db_new n = {
    .api_key_name = req->api_key_name, .customer_id = req->customer_id,
    .amount = req->amount, .currency = req->currency,
    .payee_name = req->payee_name, .payee_iban = req->payee_iban,
    .return_url = req->return_url, .return_origin = origin,
    .idempotency_key = req->idempotency_key,
    .request_hash_hex = NULL != req->idempotency_key
                        ? req->body_sha256_hex : NULL,
    .ttl_s = NULL != core_cfg && core_cfg->tx_ttl_s > 0
             ? core_cfg->tx_ttl_s : 300,
    .client_addr = req->client_addr,
  };
  struct tx_db_created c;
  struct tx_row row;
  enum core_db_status st;
  enum core_err err;

  *again = false;
  if (0 != fresh_make (&f))
    return CORE_ERR_INTERNAL;
  n.id = f.id;
  n.nonce = f.nonce;
  n.link_hash_hex = f.link_hash;
  n.link_sealed_hex = f.link_sealed_hex;
  st = tx_db_create (db, &n, &c);
  if (st < 0)
    err = tx_err (db);
  else if (c.key_ok && c.prior)
    err = replay (req, &c, out);
  else if (CORE_OK != (err = create_outcome (&c, reasons)))
    ;
  else if (! c.inserted)
  {
    *again = true;                /* a same-key request inserted first */
    err = CORE_ERR_CONFLICT;
  }
  else
  {
    memset (&row, 0, sizeof row);
    snprintf (row.id, sizeof row.id, "%s", f.id);
    snprintf (row.amount, sizeof row.amount, "%s", req->amount);
    snprintf (row.currency, sizeof row.currency, "%s", req->currency);
    snprintf (row.payee_name, sizeof row.payee_name, "%s", req->payee_name);
    snprintf (row.payee_iban, sizeof row.payee_iban, "%s", req->payee_iban);
    snprintf (row.nonce, sizeof row.nonce, "%s", f.nonce);
    snprintf (row.expires_at, sizeof row.expires_at, "%s", c.expires_at);
    err = created_from (&row, f.token, req->base_url, out);
  }
  tx_db_created_clear (&c);
  fresh_clear (&f);
  return err;
}

enum core_err
authn_tx_create (struct core_db *db, const struct authn_tx_new *req,
                 struct authn_tx_created *out, json_t **reasons)
{
  char origin[AUTHN_TX_ORIGIN_MAX];
  enum core_err err = CORE_ERR_INTERNAL;
  bool again = true;

  memset (out, 0, sizeof *out);
  *reasons = authn_tx_check_fields (req->amount, req->currency,
                                    req->payee_name, req->payee_iban,
                                    req->return_url);
  if (NULL == *reasons)
    return CORE_ERR_INTERNAL;
  if (json_array_size (*reasons) > 0)
    return CORE_ERR_POLICY_REFUSED;
  json_decref (*reasons);
  *reasons = NULL;
  if (NULL != req->return_url
      && 0 != authn_tx_origin (req->return_url, true, origin))
    return CORE_ERR_INTERNAL;     /* checked above */
  for (int i = 0; again && i < CREATE_TRIES; i++)
  {
    authn_tx_created_clear (out);
    err = create_once (db, req, NULL != req->return_url ? origin : NULL,
                       out, reasons, &again);
  }
  if (CORE_OK != err)
  {
    authn_tx_created_clear (out);
    return err;
  }
  if (! out->replayed)
    tx_notify (db, req->customer_id);
  return CORE_OK;
}

void
authn_tx_created_clear (struct authn_tx_created *c)
{
  free (c->qr_payload);
  core_free_secret (c->approval_url,
                    NULL != c->approval_url ? strlen (c->approval_url) : 0);
  memset (c, 0, sizeof *c);
}

/* ================================================================
 * Views
 * ================================================================ */

/* The fields every view shows. */
static json_t *
row_json (const struct tx_row *r)
{
  json_t *o = json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                         "id", r->id, "status", r->status, "amount",
                         r->amount, "currency", r->currency, "payee_name",
                         r->payee_name, "payee_iban", r->payee_iban,
                         "created_at", r->created_at, "expires_at",
                         r->expires_at);

  if (NULL != o && '\0' != r->decided_at[0])
    json_object_set_new (o, "decided_at", json_string (r->decided_at));
  if (NULL != o && '\0' != r->method[0])
    json_object_set_new (o, "method", json_string (r->method));
  return o;
}

static enum core_err
read_err (struct core_db *db, enum core_db_status st)
{
  if (st < 0)
    return tx_err (db);
  return CORE_DB_NO_ROW == st ? CORE_ERR_NOT_FOUND : CORE_OK;
}

enum core_err
authn_tx_get (struct core_db *db, const char *id, const char *api_key_name,
              json_t **view)
{
  struct tx_row r;
  enum core_err err = read_err (db, tx_db_get (db, id, api_key_name, NULL,
                                               &r));

  *view = NULL;
  if (CORE_OK == err && NULL == (*view = row_json (&r)))
    err = CORE_ERR_INTERNAL;
  tx_row_clear (&r);
  return err;
}

enum core_err
authn_tx_payload (struct core_db *db, const char *id,
                  const char *api_key_name, char **payload)
{
  struct tx_row r;
  enum core_err err = read_err (db, tx_db_get (db, id, api_key_name, NULL,
                                               &r));

  *payload = NULL;
  if (CORE_OK == err && NULL == (*payload = tx_qr_payload (&r)))
    err = CORE_ERR_INTERNAL;
  tx_row_clear (&r);
  return err;
}

enum core_err
authn_tx_pending (struct core_db *db, const char *device_id, json_t **list,
                  char customer_id[AUTHN_ID_MAX], size_t *count)
{
  json_t *arr = NULL;
  bool capable = false;
  enum core_db_status st = tx_db_pending (db, device_id, &capable,
                                          customer_id, &arr);

  *list = NULL;
  *count = 0;
  if (st < 0)
    return tx_err (db);
  if (! capable)
  {
    json_decref (arr);
    return CORE_ERR_FORBIDDEN;
  }
  *count = json_array_size (arr);
  *list = json_pack ("{s:o}", "transactions", arr);
  return NULL != *list ? CORE_OK : CORE_ERR_INTERNAL;
}

enum core_err
authn_tx_link_view (struct core_db *db, const char *token, json_t **view,
                    char id[AUTHN_ID_MAX])
{
  char hash[2 * CORE_SHA256_LEN + 1];
  struct tx_row r;
  char *payload = NULL, *back = NULL;
  enum core_err err;

  *view = NULL;
  id[0] = '\0';
  if (NULL == token || AUTHN_TX_LINK_TOKEN_LEN != strlen (token))
    return CORE_ERR_NOT_FOUND;
  core_sha256_hex (token, strlen (token), hash);
  err = read_err (db, tx_db_get (db, NULL, NULL, hash, &r));
  if (CORE_OK != err)
    return err;
  snprintf (id, AUTHN_ID_MAX, "%s", r.id);
  payload = tx_qr_payload (&r);
  *view = row_json (&r);
  if (NULL == payload || NULL == *view)
    err = CORE_ERR_INTERNAL;
  else
  {
    json_object_set_new (*view, "relying_party", json_string (r.relying_party));
    json_object_set_new (*view, "qr_payload", json_string (payload));
    json_object_set_new (*view, "seconds_left", json_integer (r.seconds_left));
    if (NULL != r.return_url && 0 != strcmp (r.status, "pending")
        && asprintf (&back, "%s%stransaction=%s", r.return_url,
                     NULL == strchr (r.return_url, '?') ? "?"
                     : ('?' == r.return_url[strlen (r.return_url) - 1]
                        || '&' == r.return_url[strlen (r.return_url) - 1])
                       ? "" : "&", r.id) >= 0)
      json_object_set_new (*view, "return_to", json_string (back));
  }
  if (CORE_OK != err && NULL != *view)
  {
    json_decref (*view);
    *view = NULL;
  }
  free (back);
  free (payload);
  tx_row_clear (&r);
  return err;
}

/* ================================================================
 * Evidence
 * ================================================================ */

/* SubjectPublicKeyInfo of a P-256 key, up to the point (RFC 5480):
   id-ecPublicKey, prime256v1, then BIT STRING of 66 bytes. */
static const uint8_t spki_p256_prefix[] = {
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02,
  0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
  0x42, 0x00
};

/* The key as PEM ("-----BEGIN PUBLIC KEY-----"), what `openssl dgst
   -verify` reads.  @return malloc'd, or NULL. */
static char *
public_key_pem (const uint8_t pub[AUTHN_P256_PUB_LEN])
{
  uint8_t der[sizeof spki_p256_prefix + AUTHN_P256_PUB_LEN];
  unsigned char b64[4 * ((sizeof der + 2) / 3) + 1];
  int n;
  char *pem, *o;

  if (! authn_device_point_valid (pub, AUTHN_P256_PUB_LEN))
    return NULL;
  memcpy (der, spki_p256_prefix, sizeof spki_p256_prefix);
  memcpy (der + sizeof spki_p256_prefix, pub, AUTHN_P256_PUB_LEN);
  n = EVP_EncodeBlock (b64, der, (int) sizeof der);
  pem = malloc ((size_t) n + (size_t) n / 64 + 64);
  if (NULL == pem)
    return NULL;
  o = pem + sprintf (pem, "-----BEGIN PUBLIC KEY-----\n");
  for (int i = 0; i < n; i += 64)
    o += sprintf (o, "%.*s\n", n - i < 64 ? n - i : 64, (const char *) b64 + i);
  sprintf (o, "-----END PUBLIC KEY-----\n");
  return pem;
}

enum core_err
authn_tx_evidence (struct core_db *db, const char *id,
                   const char *api_key_name, json_t **out)
{
  struct tx_db_evidence e;
  enum core_db_status st = tx_db_evidence (db, id, api_key_name, &e);
  char *sig = NULL, *pem = NULL;
  enum core_err err = read_err (db, st);

  *out = NULL;
  if (CORE_OK == err && (0 != strcmp (e.status, "approved") || NULL == e.t))
    err = CORE_ERR_WRONG_STATE;
  if (CORE_OK == err && NULL != e.der
      && (NULL == (sig = core_b64url_encode (e.der, e.der_len))
          || ! e.has_pub || NULL == (pem = public_key_pem (e.pub))))
    err = CORE_ERR_INTERNAL;
  if (CORE_OK == err
      && NULL == (*out = json_pack ("{s:s, s:s, s:s, s:s*, s:s, s:s*, s:s,"
                                    " s:s, s:s}",
                                    "id", e.id, "transaction", e.t,
                                    "method", e.method, "signature", sig,
                                    "device_id", e.device_id,
                                    "device_public_key_pem", pem,
                                    "approved_at", e.approved_at,
                                    "relying_party", e.relying_party,
                                    "customer_id", e.customer_id)))
    err = CORE_ERR_INTERNAL;
  free (sig);
  free (pem);
  tx_db_evidence_clear (&e);
  return err;
}

enum core_err
authn_tx_customer_list (struct core_db *db, const char *customer_id,
                        int limit, json_t **list)
{
  enum core_db_status st = tx_db_customer_list (db, customer_id, limit, list);

  return st < 0 ? tx_err (db) : CORE_OK;
}
