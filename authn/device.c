/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * device.c -- the server side of API.md's device protocol on OpenSSL 3:
 * the activation message M, its HMAC proof and ECDSA signature, the
 * ECDH + HKDF derivation of the OTP seed, the string a device signs for a
 * request, and the transaction data T with its offline response code.
 *
 * Every point from outside is taken only as a 65-byte uncompressed P-256
 * point and checked on the curve before use; malformed keys or DER are a
 * plain "no", never a crash.  This file must never log or return a secret:
 * private scalars, ECDH secrets, HMACs and seeds are cleansed (or held in
 * keys OpenSSL clear-frees) before their memory is released.  It keeps no
 * state and touches no database.
 */
#include "authn/device.h"
#include "core/crypto.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#define CURVE_NAME "prime256v1"
#define SCALAR_LEN 32
#define ECDH_X_LEN 32
#define ACTIVATE_LABEL "guichet-activate-v1"
#define SEED_LABEL "guichet-otp-seed-v1"
#define TX_LABEL "guichet-tx-v1"
#define RESPONSE_MOD 100000000u

/* ================================================================
 * Points and keys
 * ================================================================ */

/* Key check on a freshly imported key; fromdata alone does not promise it. */
static bool
public_check (EVP_PKEY *pkey)
{
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey (NULL, pkey, NULL);
  bool ok = ctx != NULL && EVP_PKEY_public_check (ctx) == 1;

  EVP_PKEY_CTX_free (ctx);
  return ok;
}

/* A P-256 public key, or NULL.  Compressed (0x02/0x03) and hybrid
 * (0x06/0x07) encodings, which OpenSSL would take, are refused by the
 * length and prefix tests; the point at infinity has no 65-byte form. */
static EVP_PKEY *
pub_key_new (const uint8_t *pub, size_t len)
{
  OSSL_PARAM params[3];
  EVP_PKEY_CTX *ctx = NULL;
  EVP_PKEY *pkey = NULL;

  if (pub == NULL || len != AUTHN_P256_PUB_LEN || pub[0] != 0x04)
    return NULL;
  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_PKEY_PARAM_GROUP_NAME,
                                                CURVE_NAME, 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_PKEY_PARAM_PUB_KEY,
                                                 (void *) pub, len);
  params[2] = OSSL_PARAM_construct_end ();
  ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  if (ctx == NULL || EVP_PKEY_fromdata_init (ctx) != 1
      || EVP_PKEY_fromdata (ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1
      || !public_check (pkey))
    {
      EVP_PKEY_free (pkey);
      pkey = NULL;
    }
  EVP_PKEY_CTX_free (ctx);
  ERR_clear_error ();
  return pkey;
}

bool
authn_device_point_valid (const uint8_t *pub, size_t len)
{
  EVP_PKEY *pkey = pub_key_new (pub, len);

  EVP_PKEY_free (pkey);
  return pkey != NULL;
}

/* d·G of a scalar 1 <= d < n, uncompressed, into @a pub.  @return 0 or -1. */
static int
point_of_scalar (const BIGNUM *d, uint8_t pub[AUTHN_P256_PUB_LEN])
{
  EC_GROUP *group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
  BN_CTX *bnctx = BN_CTX_secure_new ();
  EC_POINT *pt = NULL;
  int rc = -1;

  if (group == NULL || bnctx == NULL || BN_is_zero (d)
      || BN_cmp (d, EC_GROUP_get0_order (group)) >= 0)
    goto done;
  pt = EC_POINT_new (group);
  if (pt == NULL || EC_POINT_mul (group, pt, d, NULL, NULL, bnctx) != 1)
    goto done;
  if (EC_POINT_point2oct (group, pt, POINT_CONVERSION_UNCOMPRESSED, pub,
                          AUTHN_P256_PUB_LEN, bnctx) == AUTHN_P256_PUB_LEN)
    rc = 0;
done:
  EC_POINT_free (pt);
  BN_CTX_free (bnctx);
  EC_GROUP_free (group);
  return rc;
}

/* An EVP_PKEY from parameters, or NULL.  The params are the caller's. */
static EVP_PKEY *
key_from_params (const OSSL_PARAM *params, int selection)
{
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  EVP_PKEY *pkey = NULL;

  if (ctx == NULL || EVP_PKEY_fromdata_init (ctx) != 1
      || EVP_PKEY_fromdata (ctx, &pkey, selection, (OSSL_PARAM *) params) != 1)
    {
      EVP_PKEY_free (pkey);
      pkey = NULL;
    }
  EVP_PKEY_CTX_free (ctx);
  return pkey;
}

/* A P-256 key pair from a big-endian 32-byte scalar; its public point goes
 * to @a pub.  The scalar only lives in secure-heap BIGNUMs and params that
 * OpenSSL clear-frees.  @return the key, or NULL. */
static EVP_PKEY *
priv_key_new (const uint8_t priv[SCALAR_LEN], uint8_t pub[AUTHN_P256_PUB_LEN])
{
  BIGNUM *d = BN_secure_new ();
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  EVP_PKEY *pkey = NULL;

  if (d == NULL || BN_bin2bn (priv, SCALAR_LEN, d) == NULL)
    goto done;
  BN_set_flags (d, BN_FLG_CONSTTIME);
  if (point_of_scalar (d, pub) != 0)
    goto done;
  bld = OSSL_PARAM_BLD_new ();
  if (bld == NULL
      || !OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           CURVE_NAME, 0)
      || !OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            pub, AUTHN_P256_PUB_LEN)
      || !OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_PRIV_KEY, d))
    goto done;
  params = OSSL_PARAM_BLD_to_param (bld);
  if (params != NULL)
    pkey = key_from_params (params, EVP_PKEY_KEYPAIR);
done:
  OSSL_PARAM_free (params);
  OSSL_PARAM_BLD_free (bld);
  BN_clear_free (d);
  if (pkey == NULL)
    ERR_clear_error ();
  return pkey;
}

/* ================================================================
 * Activation
 * ================================================================ */

int
authn_device_activation_message (const char *challenge_id,
                                 const uint8_t device_pub[AUTHN_P256_PUB_LEN],
                                 const uint8_t ecdh_pub[AUTHN_P256_PUB_LEN],
                                 uint8_t **out, size_t *len)
{
  size_t id_len;
  uint8_t *m;
  uint8_t *p;

  if (out != NULL)
    *out = NULL;
  if (len != NULL)
    *len = 0;
  if (challenge_id == NULL || device_pub == NULL || ecdh_pub == NULL
      || out == NULL || len == NULL)
    return -1;
  id_len = strlen (challenge_id);
  /* sizeof counts the label's NUL: that is M's first 0x00. */
  m = malloc (sizeof ACTIVATE_LABEL + id_len + 1 + 2 * AUTHN_P256_PUB_LEN);
  if (m == NULL)
    return -1;
  p = m;
  memcpy (p, ACTIVATE_LABEL, sizeof ACTIVATE_LABEL);
  p += sizeof ACTIVATE_LABEL;
  memcpy (p, challenge_id, id_len + 1);
  p += id_len + 1;
  memcpy (p, device_pub, AUTHN_P256_PUB_LEN);
  p += AUTHN_P256_PUB_LEN;
  memcpy (p, ecdh_pub, AUTHN_P256_PUB_LEN);
  p += AUTHN_P256_PUB_LEN;
  *out = m;
  *len = (size_t) (p - m);
  return 0;
}

/* HMAC-SHA256(secret, M) against the proof.  @return 1 match, 0 no match,
 * -1 allocation or OpenSSL failure. */
static int
proof_check (const struct authn_activation *a)
{
  uint8_t mac[CORE_SHA256_LEN];
  uint8_t *m = NULL;
  size_t m_len = 0;
  int rc = -1;

  if (authn_device_activation_message (a->challenge_id, a->device_pub,
                                       a->ecdh_pub, &m, &m_len) == 0
      && core_hmac_sha256 (a->secret, a->secret_len, m, m_len, mac) == 0)
    rc = core_ct_equal (mac, sizeof mac, a->proof, a->proof_len) ? 1 : 0;
  OPENSSL_cleanse (mac, sizeof mac);
  free (m);
  return rc;
}

static bool
activation_shape_ok (const struct authn_activation *a)
{
  return a != NULL && a->challenge_id != NULL && a->secret != NULL
         && a->secret_len == AUTHN_ACTIVATION_SECRET_LEN && a->proof != NULL
         && a->proof_len == CORE_SHA256_LEN
         && authn_device_point_valid (a->device_pub, a->device_pub_len)
         && authn_device_point_valid (a->ecdh_pub, a->ecdh_pub_len);
}

bool
authn_device_proof_ok (const struct authn_activation *a)
{
  return activation_shape_ok (a) && proof_check (a) == 1;
}

/* Both checks always run, so a wrong proof and a wrong signature take the
 * same path.  CORE_ERR_INTERNAL on allocation or OpenSSL failure. */
enum core_err
authn_device_check_activation (const struct authn_activation *a)
{
  uint8_t *m = NULL;
  size_t m_len = 0;
  enum core_err err = CORE_ERR_INTERNAL;
  int proof;
  bool sig_ok;

  if (!activation_shape_ok (a))
    return CORE_ERR_INVALID_FIELD;
  if (authn_device_activation_message (a->challenge_id, a->device_pub,
                                       a->ecdh_pub, &m, &m_len) != 0
      || (proof = proof_check (a)) < 0)
    goto done;
  sig_ok = authn_device_verify (a->device_pub, m, m_len, a->signature,
                                a->signature_len);
  err = proof == 1 && sig_ok ? CORE_OK : CORE_ERR_PROOF_INVALID;
done:
  free (m);
  return err;
}

/* ================================================================
 * Seed derivation
 * ================================================================ */

/* The x-coordinate of priv·peer.  @return 0, or -1 (x is then zeroed). */
static int
ecdh_x (EVP_PKEY *priv, const uint8_t peer_pub[AUTHN_P256_PUB_LEN],
        uint8_t x[ECDH_X_LEN])
{
  EVP_PKEY *peer = pub_key_new (peer_pub, AUTHN_P256_PUB_LEN);
  EVP_PKEY_CTX *ctx = NULL;
  size_t len = ECDH_X_LEN;
  int rc = -1;

  if (peer == NULL)
    goto done;
  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, priv, NULL);
  if (ctx == NULL || EVP_PKEY_derive_init (ctx) != 1
      || EVP_PKEY_derive_set_peer (ctx, peer) != 1
      || EVP_PKEY_derive (ctx, x, &len) != 1 || len != ECDH_X_LEN)
    goto done;
  rc = 0;
done:
  if (rc != 0)
    {
      OPENSSL_cleanse (x, ECDH_X_LEN);
      ERR_clear_error ();
    }
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (peer);
  return rc;
}

/* HKDF-SHA256 with info = SEED_LABEL 0x00 device_id.  @return 0 or -1. */
static int
hkdf_seed (const uint8_t ikm[ECDH_X_LEN], const uint8_t *salt,
           size_t salt_len, const char *device_id,
           uint8_t seed[AUTHN_SEED_LEN])
{
  size_t id_len = strlen (device_id);
  size_t info_len = sizeof SEED_LABEL + id_len;
  uint8_t *info = malloc (info_len);
  EVP_KDF *kdf = NULL;
  EVP_KDF_CTX *kctx = NULL;
  OSSL_PARAM params[5];
  int rc = -1;

  if (info == NULL)
    goto done;
  memcpy (info, SEED_LABEL, sizeof SEED_LABEL);   /* with its 0x00 */
  memcpy (info + sizeof SEED_LABEL, device_id, id_len);
  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST,
                                                "SHA256", 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY,
                                                 (void *) ikm, ECDH_X_LEN);
  params[2] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT,
                                                 (void *) salt, salt_len);
  params[3] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO,
                                                 info, info_len);
  params[4] = OSSL_PARAM_construct_end ();
  kdf = EVP_KDF_fetch (NULL, "HKDF", NULL);
  kctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  if (kctx != NULL
      && EVP_KDF_derive (kctx, seed, AUTHN_SEED_LEN, params) == 1)
    rc = 0;
done:
  if (rc != 0)
    {
      OPENSSL_cleanse (seed, AUTHN_SEED_LEN);
      LOG_BUG ("HKDF-SHA256 failed");
      ERR_clear_error ();
    }
  EVP_KDF_CTX_free (kctx);
  EVP_KDF_free (kdf);
  free (info);
  return rc;
}

/* ECDH with @a priv, then HKDF; the shared secret never leaves here. */
static int
derive_from_key (EVP_PKEY *priv, const uint8_t ecdh_pub[AUTHN_P256_PUB_LEN],
                 const uint8_t *secret, size_t secret_len,
                 const char *device_id, uint8_t seed[AUTHN_SEED_LEN])
{
  uint8_t x[ECDH_X_LEN];
  int rc = -1;

  if (ecdh_x (priv, ecdh_pub, x) == 0
      && hkdf_seed (x, secret, secret_len, device_id, seed) == 0)
    rc = 0;
  OPENSSL_cleanse (x, sizeof x);
  return rc;
}

static bool
derive_args_ok (const uint8_t *ecdh_pub, const uint8_t *secret,
                size_t secret_len, const char *device_id,
                const uint8_t *server_pub, const uint8_t *seed)
{
  return ecdh_pub != NULL && secret != NULL
         && secret_len == AUTHN_ACTIVATION_SECRET_LEN && device_id != NULL
         && server_pub != NULL && seed != NULL;
}

int
authn_device_derive_seed (const uint8_t ecdh_pub[AUTHN_P256_PUB_LEN],
                          const uint8_t *secret, size_t secret_len,
                          const char *device_id,
                          uint8_t server_pub[AUTHN_P256_PUB_LEN],
                          uint8_t seed[AUTHN_SEED_LEN])
{
  EVP_PKEY *priv = NULL;
  size_t pub_len = 0;
  int rc = -1;

  if (!derive_args_ok (ecdh_pub, secret, secret_len, device_id, server_pub,
                       seed))
    return -1;
  priv = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  if (priv == NULL
      || EVP_PKEY_get_octet_string_param (priv, OSSL_PKEY_PARAM_PUB_KEY,
                                          server_pub, AUTHN_P256_PUB_LEN,
                                          &pub_len) != 1
      || pub_len != AUTHN_P256_PUB_LEN || server_pub[0] != 0x04)
    goto done;
  rc = derive_from_key (priv, ecdh_pub, secret, secret_len, device_id, seed);
done:
  if (rc != 0)
    {
      memset (server_pub, 0, AUTHN_P256_PUB_LEN);
      OPENSSL_cleanse (seed, AUTHN_SEED_LEN);
      ERR_clear_error ();
    }
  EVP_PKEY_free (priv);         /* EC keys clear-free their scalar */
  return rc;
}

/* Also the device's side of the same derivation: with the device's ECDH
 * scalar and the server's public key it yields the same seed. */
int
authn_device_derive_seed_with (const uint8_t server_priv[32],
                               const uint8_t ecdh_pub[AUTHN_P256_PUB_LEN],
                               const uint8_t *secret, size_t secret_len,
                               const char *device_id,
                               uint8_t server_pub[AUTHN_P256_PUB_LEN],
                               uint8_t seed[AUTHN_SEED_LEN])
{
  EVP_PKEY *priv = NULL;
  int rc = -1;

  if (server_priv == NULL
      || !derive_args_ok (ecdh_pub, secret, secret_len, device_id,
                          server_pub, seed))
    return -1;
  priv = priv_key_new (server_priv, server_pub);
  if (priv != NULL)
    rc = derive_from_key (priv, ecdh_pub, secret, secret_len, device_id,
                          seed);
  if (rc != 0)
    {
      memset (server_pub, 0, AUTHN_P256_PUB_LEN);
      OPENSSL_cleanse (seed, AUTHN_SEED_LEN);
    }
  EVP_PKEY_free (priv);
  return rc;
}

/* ================================================================
 * Signatures and signed requests
 * ================================================================ */

/* OpenSSL re-encodes the parsed DER and refuses any difference, so only
 * the canonical encoding of a signature verifies. */
bool
authn_device_verify (const uint8_t pub[AUTHN_P256_PUB_LEN], const void *msg,
                     size_t len, const uint8_t *der, size_t der_len)
{
  EVP_PKEY *pkey = NULL;
  EVP_MD_CTX *md = NULL;
  bool ok = false;

  if (der == NULL || der_len == 0 || (msg == NULL && len != 0))
    return false;
  pkey = pub_key_new (pub, AUTHN_P256_PUB_LEN);
  md = pkey != NULL ? EVP_MD_CTX_new () : NULL;
  if (md != NULL
      && EVP_DigestVerifyInit_ex (md, NULL, "SHA256", NULL, NULL, pkey,
                                  NULL) == 1)
    ok = EVP_DigestVerify (md, der, der_len, msg != NULL ? msg : "",
                           len) == 1;
  EVP_MD_CTX_free (md);
  EVP_PKEY_free (pkey);
  ERR_clear_error ();
  return ok;
}

/* ECDSA signatures are malleable: with (r, s) valid, so is (r, n - s).
 * Where a signature must be unique -- a signed request recorded against
 * replay -- only the form with s <= n/2 is taken (as Bitcoin's BIP 62 and
 * libsecp256k1 do), so no third party can mint a second valid signature
 * from a seen one. */
bool
authn_device_sig_low_s (const uint8_t *der, size_t der_len)
{
  const unsigned char *p = der;
  ECDSA_SIG *sig = NULL;
  EC_GROUP *group = NULL;
  BIGNUM *half = NULL;
  bool ok = false;

  if (der == NULL || der_len == 0 || der_len > 80)
    return false;
  sig = d2i_ECDSA_SIG (NULL, &p, (long) der_len);
  if (sig == NULL || p != der + der_len)
    goto done;
  group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
  half = BN_new ();
  if (group == NULL || half == NULL
      || BN_rshift1 (half, EC_GROUP_get0_order (group)) != 1)
    goto done;
  ok = BN_cmp (ECDSA_SIG_get0_s (sig), half) <= 0;
done:
  BN_free (half);
  EC_GROUP_free (group);
  ECDSA_SIG_free (sig);
  ERR_clear_error ();
  return ok;
}

/* Joins @a n fields with '\n'.  A field holding a newline would make the
 * joined string ambiguous, so it yields NULL, as does allocation failure. */
static char *
join_lines (const char *const *fields, size_t n)
{
  size_t total = 1;
  char *out;
  char *p;

  for (size_t i = 0; i < n; i++)
    {
      if (fields[i] == NULL || strchr (fields[i], '\n') != NULL)
        return NULL;
      total += strlen (fields[i]) + 1;
    }
  out = malloc (total);
  if (out == NULL)
    return NULL;
  p = out;
  for (size_t i = 0; i < n; i++)
    {
      size_t len = strlen (fields[i]);

      if (i > 0)
        *p++ = '\n';
      memcpy (p, fields[i], len);
      p += len;
    }
  *p = '\0';
  return out;
}

/* NULL also if method, path or timestamp holds a newline. */
char *
authn_device_request_string (const char *method, const char *path,
                             const char *timestamp, const void *body,
                             size_t body_len)
{
  char hex[2 * CORE_SHA256_LEN + 1];
  const char *fields[4] = { method, path, timestamp, hex };

  if (body == NULL && body_len != 0)
    return NULL;
  core_sha256_hex (body != NULL ? body : "", body_len, hex);
  return join_lines (fields, 4);
}

/* ================================================================
 * Transactions
 * ================================================================ */

/* NULL also if any field is NULL or holds a newline: validate payee names
 * on input so this never refuses a stored transaction. */
char *
authn_tx_data (const char *id, const char *amount, const char *currency,
               const char *payee_name, const char *payee_iban,
               const char *nonce)
{
  const char *fields[7] = { TX_LABEL, id, amount, currency, payee_name,
                            payee_iban, nonce };

  return join_lines (fields, 7);
}

int
authn_tx_response_code (const uint8_t *seed, size_t seed_len, const char *t,
                        char out[9])
{
  uint8_t mac[CORE_SHA256_LEN];
  uint32_t bin;
  unsigned int off;
  int rc = -1;

  if (seed == NULL || seed_len == 0 || t == NULL || out == NULL)
    return -1;
  if (core_hmac_sha256 (seed, seed_len, t, strlen (t), mac) != 0)
    goto done;
  off = mac[sizeof mac - 1] & 0x0f;
  bin = ((uint32_t) (mac[off] & 0x7f) << 24)
        | ((uint32_t) mac[off + 1] << 16)
        | ((uint32_t) mac[off + 2] << 8)
        | (uint32_t) mac[off + 3];
  snprintf (out, 9, "%08u", (unsigned int) (bin % RESPONSE_MOD));
  rc = 0;
done:
  OPENSSL_cleanse (mac, sizeof mac);
  return rc;
}
