/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * crypto.c -- the primitives of the device protocol on OpenSSL 3 EVP and
 * liboath: P-256 keys (ECDSA and ECDH), SHA-256, HMAC-SHA256, HKDF, the
 * activation message M, TOTP and the offline transaction response code.
 *
 * Only non-deprecated OpenSSL 3 interfaces are used, so a port to BoringSSL
 * or a platform keystore maps one function to one call.  Private scalars
 * and shared secrets pass through stack buffers that are cleansed before
 * return; nothing here keeps state between calls.
 */
#include "ga_internal.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liboath/oath.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

static const char activate_label[] = "guichet-activate-v1";
static const char seed_label[] = "guichet-otp-seed-v1";

ga_status
ga_random (void *buf, size_t len)
{
  if (len > INT_MAX || RAND_bytes (buf, (int) len) != 1)
    return GA_ERR_CRYPTO;
  return GA_OK;
}

/* ================================================================
 * P-256 keys
 * ================================================================ */

ga_status
ga_key_generate (EVP_PKEY **out)
{
  *out = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  return *out != NULL ? GA_OK : GA_ERR_CRYPTO;
}

/* Build an EC key from OSSL parameters (priv may be NULL). */
static ga_status
key_from_parts (const BIGNUM *priv, const uint8_t pub[GA_POINT_LEN],
                EVP_PKEY **out)
{
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new ();
  OSSL_PARAM *params = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  int selection = priv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  ga_status rc = GA_ERR_CRYPTO;

  *out = NULL;
  if (bld == NULL || ctx == NULL
      || !OSSL_PARAM_BLD_push_utf8_string (bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                           "prime256v1", 0)
      || !OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY,
                                            pub, GA_POINT_LEN)
      || (priv != NULL
          && !OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)))
    goto done;
  params = OSSL_PARAM_BLD_to_param (bld);
  if (params != NULL && EVP_PKEY_fromdata_init (ctx) == 1
      && EVP_PKEY_fromdata (ctx, out, selection, params) == 1)
    rc = GA_OK;

done:
  OSSL_PARAM_free (params);   /* a secure BN's copy is cleared on free */
  OSSL_PARAM_BLD_free (bld);
  EVP_PKEY_CTX_free (ctx);
  return rc;
}

/* pub = d·G as an uncompressed point. */
static ga_status
public_from_private (const BIGNUM *d, uint8_t pub[GA_POINT_LEN])
{
  EC_GROUP *group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
  EC_POINT *point = group != NULL ? EC_POINT_new (group) : NULL;
  ga_status rc = GA_ERR_CRYPTO;

  if (point != NULL && !BN_is_zero (d)
      && BN_cmp (d, EC_GROUP_get0_order (group)) < 0
      && EC_POINT_mul (group, point, d, NULL, NULL, NULL) == 1
      && EC_POINT_point2oct (group, point, POINT_CONVERSION_UNCOMPRESSED,
                             pub, GA_POINT_LEN, NULL) == GA_POINT_LEN)
    rc = GA_OK;
  EC_POINT_free (point);
  EC_GROUP_free (group);
  return rc;
}

ga_status
ga_key_from_private (const uint8_t d[GA_SCALAR_LEN], EVP_PKEY **out)
{
  BIGNUM *bn = BN_secure_new ();
  uint8_t pub[GA_POINT_LEN];
  ga_status rc = GA_ERR_CRYPTO;

  *out = NULL;
  if (bn != NULL && BN_bin2bn (d, GA_SCALAR_LEN, bn) != NULL
      && public_from_private (bn, pub) == GA_OK)
    rc = key_from_parts (bn, pub, out);
  BN_clear_free (bn);
  return rc;
}

ga_status
ga_key_from_public (const uint8_t pub[GA_POINT_LEN], EVP_PKEY **out)
{
  EVP_PKEY_CTX *check;
  ga_status rc;

  if (pub[0] != 0x04)
    return GA_ERR_CRYPTO;
  rc = key_from_parts (NULL, pub, out);   /* oct2point refuses off-curve */
  if (rc != GA_OK)
    return rc;
  check = EVP_PKEY_CTX_new_from_pkey (NULL, *out, NULL);
  if (check == NULL || EVP_PKEY_public_check (check) != 1)
    {
      EVP_PKEY_free (*out);
      *out = NULL;
      rc = GA_ERR_CRYPTO;
    }
  EVP_PKEY_CTX_free (check);
  return rc;
}

ga_status
ga_key_public (const EVP_PKEY *key, uint8_t out[GA_POINT_LEN])
{
  size_t len = 0;

  if (EVP_PKEY_get_octet_string_param (key, OSSL_PKEY_PARAM_PUB_KEY, out,
                                       GA_POINT_LEN, &len) != 1
      || len != GA_POINT_LEN || out[0] != 0x04)
    return GA_ERR_CRYPTO;
  return GA_OK;
}

ga_status
ga_key_private (const EVP_PKEY *key, uint8_t d[GA_SCALAR_LEN])
{
  BIGNUM *bn = NULL;
  ga_status rc = GA_ERR_CRYPTO;

  if (EVP_PKEY_get_bn_param (key, OSSL_PKEY_PARAM_PRIV_KEY, &bn) == 1
      && BN_bn2binpad (bn, d, GA_SCALAR_LEN) == GA_SCALAR_LEN)
    rc = GA_OK;
  BN_clear_free (bn);
  return rc;
}

/* ================================================================
 * ECDSA, hashes, ECDH, HKDF
 * ================================================================ */

/* The P-256 order n, big-endian. */
static const uint8_t p256_order[32] = {
  0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff,
  0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
  0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51
};

/* Rewrite the DER signature in *der to its low-s form: (r, s) and
 * (r, n - s) both verify, and the server takes only s <= n/2 for signed
 * requests (one signature per message).  *der may be reallocated. */
static ga_status
ecdsa_low_s (uint8_t **der, size_t *der_len)
{
  const unsigned char *p = *der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG (NULL, &p, (long) *der_len);
  BIGNUM *n = BN_bin2bn (p256_order, sizeof p256_order, NULL);
  BIGNUM *half = BN_new (), *r = NULL, *s = NULL;
  unsigned char *out = NULL;
  ga_status rc = GA_ERR_CRYPTO;
  int len;

  if (sig == NULL || n == NULL || half == NULL || BN_rshift1 (half, n) != 1)
    goto done;
  if (BN_cmp (ECDSA_SIG_get0_s (sig), half) <= 0)
    {
      rc = GA_OK;
      goto done;
    }
  r = BN_dup (ECDSA_SIG_get0_r (sig));
  s = BN_new ();
  if (r == NULL || s == NULL || BN_sub (s, n, ECDSA_SIG_get0_s (sig)) != 1
      || ECDSA_SIG_set0 (sig, r, s) != 1)
    goto done;
  r = s = NULL;                 /* now owned by sig */
  len = i2d_ECDSA_SIG (sig, &out);
  if (len <= 0)
    goto done;
  free (*der);
  *der = malloc ((size_t) len);
  if (*der == NULL)
    {
      rc = GA_ERR_NOMEM;
      goto done;
    }
  memcpy (*der, out, (size_t) len);
  *der_len = (size_t) len;
  rc = GA_OK;
done:
  OPENSSL_free (out);
  BN_free (r);
  BN_free (s);
  BN_free (half);
  BN_free (n);
  ECDSA_SIG_free (sig);
  return rc;
}

/* DER ECDSA-P256-SHA256, always in the low-s form. */
ga_status
ga_ecdsa_sign (EVP_PKEY *key, const void *msg, size_t len, uint8_t **der,
               size_t *der_len)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  ga_status rc = GA_ERR_CRYPTO;

  *der = NULL;
  if (ctx == NULL
      || EVP_DigestSignInit_ex (ctx, NULL, "SHA256", NULL, NULL, key,
                                NULL) != 1
      || EVP_DigestSign (ctx, NULL, der_len, msg, len) != 1)
    goto done;
  *der = malloc (*der_len);
  if (*der == NULL)
    {
      rc = GA_ERR_NOMEM;
      goto done;
    }
  if (EVP_DigestSign (ctx, *der, der_len, msg, len) == 1)
    rc = ecdsa_low_s (der, der_len);
  if (rc != GA_OK)
    {
      free (*der);
      *der = NULL;
    }

done:
  EVP_MD_CTX_free (ctx);
  return rc;
}

int
ga_ecdsa_verify (const uint8_t pub[GA_POINT_LEN], const void *msg,
                 size_t len, const uint8_t *der, size_t der_len)
{
  EVP_PKEY *key = NULL;
  EVP_MD_CTX *ctx = NULL;
  int rc = -1;

  if (ga_key_from_public (pub, &key) != GA_OK)
    return -1;
  ctx = EVP_MD_CTX_new ();
  if (ctx != NULL
      && EVP_DigestVerifyInit_ex (ctx, NULL, "SHA256", NULL, NULL, key,
                                  NULL) == 1)
    rc = EVP_DigestVerify (ctx, der, der_len, msg, len) == 1 ? 1 : 0;
  EVP_MD_CTX_free (ctx);
  EVP_PKEY_free (key);
  return rc;
}

ga_status
ga_sha256 (const void *data, size_t len, uint8_t out[GA_SHA256_LEN])
{
  unsigned int n = 0;

  if (EVP_Digest (data, len, out, &n, EVP_sha256 (), NULL) != 1
      || n != GA_SHA256_LEN)
    return GA_ERR_CRYPTO;
  return GA_OK;
}

ga_status
ga_hmac_sha256 (const void *key, size_t key_len, const void *data,
                size_t len, uint8_t out[GA_SHA256_LEN])
{
  size_t n = 0;

  if (EVP_Q_mac (NULL, "HMAC", NULL, "SHA256", NULL, key, key_len, data, len,
                 out, GA_SHA256_LEN, &n) == NULL
      || n != GA_SHA256_LEN)
    return GA_ERR_CRYPTO;
  return GA_OK;
}

ga_status
ga_ecdh_x (EVP_PKEY *priv, const uint8_t peer[GA_POINT_LEN],
           uint8_t x[GA_SCALAR_LEN])
{
  EVP_PKEY *peer_key = NULL;
  EVP_PKEY_CTX *ctx = NULL;
  size_t len = GA_SCALAR_LEN;
  ga_status rc = GA_ERR_CRYPTO;

  if (ga_key_from_public (peer, &peer_key) != GA_OK)
    return GA_ERR_CRYPTO;
  ctx = EVP_PKEY_CTX_new_from_pkey (NULL, priv, NULL);
  /* OpenSSL's ECDH output is the shared point's x-coordinate. */
  if (ctx != NULL && EVP_PKEY_derive_init (ctx) == 1
      && EVP_PKEY_derive_set_peer (ctx, peer_key) == 1
      && EVP_PKEY_derive (ctx, x, &len) == 1 && len == GA_SCALAR_LEN)
    rc = GA_OK;
  EVP_PKEY_CTX_free (ctx);
  EVP_PKEY_free (peer_key);
  return rc;
}

ga_status
ga_seed_derive (const uint8_t x[GA_SCALAR_LEN],
                const uint8_t secret[GA_SECRET_LEN], const char *device_id,
                uint8_t seed[GA_SEED_LEN])
{
  size_t id_len = strlen (device_id);
  size_t info_len = sizeof seed_label + id_len;   /* label, 0x00, id */
  uint8_t *info = malloc (info_len);
  EVP_KDF *kdf = EVP_KDF_fetch (NULL, "HKDF", NULL);
  EVP_KDF_CTX *ctx = kdf != NULL ? EVP_KDF_CTX_new (kdf) : NULL;
  OSSL_PARAM params[5];
  ga_status rc = GA_ERR_CRYPTO;

  if (info == NULL || ctx == NULL)
    goto done;
  memcpy (info, seed_label, sizeof seed_label);
  memcpy (info + sizeof seed_label, device_id, id_len);
  params[0] = OSSL_PARAM_construct_utf8_string (OSSL_KDF_PARAM_DIGEST,
                                                (char *) "SHA256", 0);
  params[1] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_KEY,
                                                 (void *) x, GA_SCALAR_LEN);
  params[2] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_SALT,
                                                 (void *) secret,
                                                 GA_SECRET_LEN);
  params[3] = OSSL_PARAM_construct_octet_string (OSSL_KDF_PARAM_INFO, info,
                                                 info_len);
  params[4] = OSSL_PARAM_construct_end ();
  if (EVP_KDF_derive (ctx, seed, GA_SEED_LEN, params) == 1)
    rc = GA_OK;

done:
  free (info);
  EVP_KDF_CTX_free (ctx);
  EVP_KDF_free (kdf);
  return rc;
}

uint8_t *
ga_activation_message (const char *challenge_id,
                       const uint8_t device_pub[GA_POINT_LEN],
                       const uint8_t ecdh_pub[GA_POINT_LEN], size_t *len)
{
  size_t id_len = strlen (challenge_id);
  uint8_t *m, *p;

  *len = sizeof activate_label + id_len + 1 + 2 * GA_POINT_LEN;
  m = malloc (*len);
  if (m == NULL)
    return NULL;
  p = m;
  memcpy (p, activate_label, sizeof activate_label);  /* with its 0x00 */
  p += sizeof activate_label;
  memcpy (p, challenge_id, id_len);
  p += id_len;
  *p++ = 0x00;
  memcpy (p, device_pub, GA_POINT_LEN);
  memcpy (p + GA_POINT_LEN, ecdh_pub, GA_POINT_LEN);
  return m;
}

/* ================================================================
 * One-time codes
 * ================================================================ */

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ready;

static void
oath_setup (void)
{
  oath_ready = oath_init () == OATH_OK;
}

ga_status
ga_totp (const uint8_t *seed, size_t seed_len, const ga_otp_params *otp,
         int64_t at, char *code)
{
  int flags = 0;

  pthread_once (&oath_once, oath_setup);
  if (!oath_ready || at < 0 || !ga_otp_params_valid (otp))
    return GA_ERR_CRYPTO;
  if (strcmp (otp->algorithm, "SHA256") == 0)
    flags = OATH_TOTP_HMAC_SHA256;
  else if (strcmp (otp->algorithm, "SHA512") == 0)
    flags = OATH_TOTP_HMAC_SHA512;
  if (oath_totp_generate2 ((const char *) seed, seed_len, (time_t) at,
                           (unsigned) otp->period, 0, (unsigned) otp->digits,
                           flags, code) != OATH_OK)
    return GA_ERR_CRYPTO;
  return GA_OK;
}

ga_status
ga_tx_code (const uint8_t *seed, size_t seed_len, const void *msg,
            size_t len, char code[GA_TX_CODE_DIGITS + 1])
{
  uint8_t mac[GA_SHA256_LEN];
  uint32_t bin;
  int off;

  if (ga_hmac_sha256 (seed, seed_len, msg, len, mac) != GA_OK)
    return GA_ERR_CRYPTO;
  off = mac[GA_SHA256_LEN - 1] & 0x0f;   /* RFC 4226 §5.3 */
  bin = (uint32_t) (mac[off] & 0x7f) << 24 | (uint32_t) mac[off + 1] << 16
        | (uint32_t) mac[off + 2] << 8 | mac[off + 3];
  snprintf (code, GA_TX_CODE_DIGITS + 1, "%08u",
            (unsigned) (bin % 100000000u));
  OPENSSL_cleanse (mac, sizeof mac);
  OPENSSL_cleanse (&bin, sizeof bin);
  return GA_OK;
}
