/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * device.c -- an activated device: its accessors, TOTP codes, signed
 * device requests ("METHOD\nPATH\nTIMESTAMP\n" hex(SHA-256(body))), and the
 * online signature and offline response code of a transaction.
 *
 * The device owns its signing key and seed; ga_device_free cleanses both.
 * Nothing here hands out the seed or the private key: the state file
 * (state.c) is the only place they leave the process, sealed.
 */
#include "ga_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

/* ================================================================
 * Life cycle and accessors
 * ================================================================ */

bool
ga_otp_params_valid (const ga_otp_params *otp)
{
  bool algo_ok = strcmp (otp->algorithm, "SHA1") == 0
                 || strcmp (otp->algorithm, "SHA256") == 0
                 || strcmp (otp->algorithm, "SHA512") == 0;

  return algo_ok && otp->digits >= 6 && otp->digits <= 8
         && otp->period >= 1 && otp->period <= 3600;
}

ga_status
ga_device_assemble (const char *device_id, const char *base_url,
                    const char *status, EVP_PKEY *signing_key,
                    const uint8_t seed[GA_SEED_LEN],
                    const ga_otp_params *otp, ga_device **out)
{
  ga_device *dev = calloc (1, sizeof *dev);

  *out = NULL;
  if (dev == NULL)
    {
      EVP_PKEY_free (signing_key);
      return GA_ERR_NOMEM;
    }
  dev->signing_key = signing_key;
  dev->device_id = ga_strdup (device_id);
  dev->base_url = ga_strdup (base_url);
  dev->status = ga_strdup (status);
  memcpy (dev->seed, seed, GA_SEED_LEN);
  dev->otp = *otp;
  if (dev->device_id == NULL || dev->base_url == NULL || dev->status == NULL)
    {
      ga_device_free (dev);
      return GA_ERR_NOMEM;
    }
  *out = dev;
  return GA_OK;
}

void
ga_device_free (ga_device *dev)
{
  if (dev == NULL)
    return;
  EVP_PKEY_free (dev->signing_key);   /* OpenSSL clears private scalars */
  free (dev->device_id);
  free (dev->base_url);
  free (dev->status);
  OPENSSL_cleanse (dev, sizeof *dev);
  free (dev);
}

const char *
ga_device_id (const ga_device *dev)
{
  return dev->device_id;
}

const char *
ga_device_base_url (const ga_device *dev)
{
  return dev->base_url;
}

const char *
ga_device_status (const ga_device *dev)
{
  return dev->status;
}

const ga_otp_params *
ga_device_otp_params (const ga_device *dev)
{
  return &dev->otp;
}

const uint8_t *
ga_device_get_seed (const ga_device *dev)
{
  return dev->seed;
}

ga_status
ga_device_get_public (const ga_device *dev, uint8_t pub[GA_POINT_LEN])
{
  return ga_key_public (dev->signing_key, pub);
}

char *
ga_device_public_key_b64 (const ga_device *dev)
{
  uint8_t pub[GA_POINT_LEN];

  if (ga_key_public (dev->signing_key, pub) != GA_OK)
    return NULL;
  return ga_b64url_encode (pub, sizeof pub);
}

/* ================================================================
 * Codes and signatures
 * ================================================================ */

ga_status
ga_device_totp (const ga_device *dev, int64_t at, char *code,
                int *valid_for, ga_error *err)
{
  if (ga_totp (dev->seed, GA_SEED_LEN, &dev->otp, at, code) != GA_OK)
    return ga_crypto_fail (err, "TOTP generation");
  if (valid_for != NULL)
    *valid_for = dev->otp.period - (int) (at % dev->otp.period);
  return GA_OK;
}

/* Sign msg and hand back base64url DER. */
static ga_status
sign_b64 (const ga_device *dev, const void *msg, size_t len, char **out,
          ga_error *err)
{
  uint8_t *der = NULL;
  size_t der_len = 0;
  ga_status rc = ga_ecdsa_sign (dev->signing_key, msg, len, &der, &der_len);

  *out = NULL;
  if (rc == GA_ERR_NOMEM)
    return ga_nomem (err);
  if (rc != GA_OK)
    return ga_crypto_fail (err, "ECDSA signing");
  *out = ga_b64url_encode (der, der_len);
  free (der);
  return *out != NULL ? GA_OK : ga_nomem (err);
}

static bool
token_valid (const char *s, const char *allowed)
{
  return *s != '\0' && strspn (s, allowed) == strlen (s);
}

ga_status
ga_device_sign_request (const ga_device *dev, const char *method,
                        const char *path, const void *body, size_t body_len,
                        int64_t now, ga_signed_headers *out, ga_error *err)
{
  uint8_t digest[GA_SHA256_LEN];
  char hex[2 * GA_SHA256_LEN + 1], *msg;
  ga_status rc;
  int n;

  memset (out, 0, sizeof *out);
  if (!token_valid (method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || path[0] != '/'
      || strpbrk (path, "?# \r\n") != NULL || now < 0)
    return ga_fail (err, GA_ERR_INVALID, "request_invalid",
                    "method must be upper case and path start with '/'");
  if (ga_sha256 (body_len > 0 ? body : "", body_len, digest) != GA_OK)
    return ga_crypto_fail (err, "SHA-256");
  ga_hex_encode (digest, sizeof digest, hex);
  snprintf (out->timestamp, sizeof out->timestamp, "%lld", (long long) now);
  snprintf (out->device, sizeof out->device, "%s", dev->device_id);
  n = asprintf (&msg, "%s\n%s\n%s\n%s", method, path, out->timestamp, hex);
  if (n < 0)
    return ga_nomem (err);
  rc = sign_b64 (dev, msg, (size_t) n, &out->signature, err);
  free (msg);
  return rc;
}

void
ga_signed_headers_clear (ga_signed_headers *h)
{
  if (h == NULL)
    return;
  free (h->signature);
  memset (h, 0, sizeof *h);
}

ga_status
ga_device_tx_sign (const ga_device *dev, const ga_tx *tx, char **signature,
                   ga_error *err)
{
  size_t len;
  char *t = ga_tx_message (tx, &len);
  ga_status rc;

  *signature = NULL;
  if (t == NULL)
    return ga_nomem (err);
  rc = sign_b64 (dev, t, len, signature, err);
  free (t);
  return rc;
}

ga_status
ga_device_tx_response_code (const ga_device *dev, const ga_tx *tx,
                            char code[GA_TX_CODE_DIGITS + 1], ga_error *err)
{
  size_t len;
  char *t = ga_tx_message (tx, &len);
  ga_status rc;

  if (t == NULL)
    return ga_nomem (err);
  rc = ga_tx_code (dev->seed, GA_SEED_LEN, t, len, code);
  free (t);
  return rc == GA_OK ? GA_OK : ga_crypto_fail (err, "HMAC-SHA256");
}

/* ================================================================
 * Signed requests over HTTP
 * ================================================================ */

ga_status
ga_device_request (ga_device *dev, const char *method,
                   const char *path, const char *body, char **answer,
                   ga_error *err)
{
  size_t path_len = strcspn (path, "?");
  char *signed_path = strndup (path, path_len);
  char h_dev[160], h_ts[48], *h_sig = NULL;
  const char *headers[4] = { h_dev, h_ts, NULL, NULL };
  ga_signed_headers sh;
  ga_http_reply reply = { 0 };
  int64_t now;
  ga_status rc;

  *answer = NULL;
  if (signed_path == NULL)
    return ga_nomem (err);
  /* One timestamp per request: the server records (device, timestamp,
     message) and refuses the same message twice. */
  now = (int64_t) time (NULL);
  if (now <= dev->last_request_ts)
    now = dev->last_request_ts + 1;
  rc = ga_device_sign_request (dev, method, signed_path, body,
                               body != NULL ? strlen (body) : 0, now, &sh,
                               err);
  if (rc == GA_OK)
    dev->last_request_ts = now;
  free (signed_path);
  if (rc != GA_OK)
    return rc;
  snprintf (h_dev, sizeof h_dev, "Guichet-Device: %s", sh.device);
  snprintf (h_ts, sizeof h_ts, "Guichet-Timestamp: %s", sh.timestamp);
  if (asprintf (&h_sig, "Guichet-Signature: %s", sh.signature) < 0)
    h_sig = NULL;
  ga_signed_headers_clear (&sh);
  if (h_sig == NULL)
    return ga_nomem (err);
  headers[2] = h_sig;
  rc = ga_http_request (dev->base_url, method, path, headers, body, &reply,
                        err);
  free (h_sig);
  if (rc == GA_OK && (reply.status < 200 || reply.status > 299))
    rc = ga_http_server_error (&reply, err);
  if (rc == GA_OK)
    {
      *answer = reply.body;
      reply.body = NULL;
    }
  ga_http_reply_clear (&reply);
  return rc;
}

int64_t
ga_device_last_request_ts (const ga_device *dev)
{
  return dev->last_request_ts;
}

void
ga_device_set_last_request_ts (ga_device *dev, int64_t ts)
{
  if (ts > dev->last_request_ts)
    dev->last_request_ts = ts;
}

ga_status
ga_device_tx_approve (ga_device *dev, const ga_tx *tx, char **answer,
                      ga_error *err)
{
  static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz0123456789-._~";
  char *signature = NULL, *body = NULL, *path = NULL;
  ga_status rc;

  *answer = NULL;
  if (!token_valid (tx->id, id_chars))
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "transaction id holds characters unsafe in a path");
  rc = ga_device_tx_sign (dev, tx, &signature, err);
  if (rc != GA_OK)
    return rc;
  if (asprintf (&body, "{\"signature\":\"%s\"}", signature) < 0)
    body = NULL;
  if (asprintf (&path, "/v1/transactions/%s/approve", tx->id) < 0)
    path = NULL;
  if (body == NULL || path == NULL)
    rc = ga_nomem (err);
  else
    rc = ga_device_request (dev, "POST", path, body, answer, err);
  free (signature);
  free (body);
  free (path);
  return rc;
}

ga_status
ga_device_tx_decline (ga_device *dev, const char *tx_id, char **answer,
                      ga_error *err)
{
  static const char id_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                 "abcdefghijklmnopqrstuvwxyz0123456789-._~";
  char *path = NULL;
  ga_status rc;

  *answer = NULL;
  if (tx_id == NULL || !token_valid (tx_id, id_chars))
    return ga_fail (err, GA_ERR_INVALID, "payload_invalid",
                    "transaction id holds characters unsafe in a path");
  if (asprintf (&path, "/v1/transactions/%s/decline", tx_id) < 0)
    return ga_nomem (err);
  rc = ga_device_request (dev, "POST", path, NULL, answer, err);
  free (path);
  return rc;
}
