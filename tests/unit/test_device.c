/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * test_device.c -- unit tests of authn/device.c against API.md's normative
 * test vectors (written out below): public points of the listed keys, the
 * activation message and proof, the ECDH + HKDF seed from both sides, the
 * transaction data and its offline response code.  Signatures are made
 * here with the device key, since ECDSA is randomised.
 *
 * The refusals matter as much as the vectors: points off the curve,
 * compressed, hybrid or on another curve, and truncated or junk DER must be
 * a clean "no", never a crash.  Nothing here needs a database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "authn/device.h"
#include "core/crypto.h"

/* ------------------------------------------------------------ vectors */

#define V_DEVICE_D \
  "25f00d7601429388eba003af27c68647d2ce8033a3c71beffdce62c7a7c3205d"
#define V_ECDH_D \
  "297d2848ca9a76b593abb507429bb0837d8dde868560061319c9e63470bd7ee9"
#define V_SERVER_D \
  "9ce767facd35b77c52b103353b44399faa0fbf94e37f85c10bda97c2db90ae50"
#define V_SECRET "000102030405060708090a0b0c0d0e0f"
#define V_CHALLENGE "ch_test_0001"
#define V_DEVICE_ID "dev_test_0001"
#define V_DEVICE_PUB \
  "04adf6e00b6a658c624433636a9e0e5f188d36cf3c794fdfb4056938c758c1c3bd" \
  "fb6e087e3c72e3193f6dae90d35924848e4b99fc3caa03c52b06f8ef4af4a864"
#define V_ECDH_PUB \
  "04e394fb5485a00945dfe2d1a7493c984a63ba8ec1682387bfb42b81a6a919269d" \
  "f60a8f68150d4a2fe6565f8368e2bd3b73ac9fe015211a00f2c879d7b0f675eb"
#define V_SERVER_PUB \
  "04fa962fc5854cd0c55f3cd49b98845db37ceb725350e8970629ceb513375db066" \
  "71c0b3b2ddb6599272228007a2ff83c12d5f096840ee293a6ca5090cc922d173"
#define V_M_SHA256 \
  "97d503ee21b0776afb658c137d294568a295b23f5204316efd407e8572417be7"
#define V_PROOF \
  "ea395813255f659bee2ce1e7374654c10286130ad9831c910f54a9d974030a95"
#define V_SEED \
  "960db2141599b9e176cec0c480ed5e994d244ca16c1ff5753d637a5c06989408"
#define V_TX_T \
  "guichet-tx-v1\ntx_test_0001\n125.00\nEUR\nACME SARL\n" \
  "FR7630006000011234567890189\nn0nce"
#define V_TX_CODE "09148292"

/* The generator of secp256k1: a valid point, but not on P-256. */
#define SECP256K1_G \
  "0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798" \
  "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8"

static void
unhex (const char *hex, uint8_t *out, size_t len)
{
  assert_int_equal (core_hex_decode (hex, out, len), (long) len);
}

static void
assert_hex_equal (const uint8_t *got, size_t len, const char *want)
{
  char hex[2 * 128 + 1];

  assert_true (len <= 128);
  core_hex_encode (got, len, hex);
  assert_string_equal (hex, want);
}

/* ------------------------------------------------- signing (device side) */

/* The device's signing key, from its scalar and listed public point. */
static EVP_PKEY *
device_key (void)
{
  uint8_t d[32], pub[AUTHN_P256_PUB_LEN];
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new ();
  BIGNUM *bn;
  OSSL_PARAM *params;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name (NULL, "EC", NULL);
  EVP_PKEY *pkey = NULL;

  unhex (V_DEVICE_D, d, sizeof d);
  unhex (V_DEVICE_PUB, pub, sizeof pub);
  bn = BN_bin2bn (d, sizeof d, NULL);
  assert_non_null (bn);
  assert_non_null (bld);
  assert_true (OSSL_PARAM_BLD_push_utf8_string (bld,
                                                OSSL_PKEY_PARAM_GROUP_NAME,
                                                "prime256v1", 0));
  assert_true (OSSL_PARAM_BLD_push_octet_string (bld, OSSL_PKEY_PARAM_PUB_KEY,
                                                 pub, sizeof pub));
  assert_true (OSSL_PARAM_BLD_push_BN (bld, OSSL_PKEY_PARAM_PRIV_KEY, bn));
  params = OSSL_PARAM_BLD_to_param (bld);
  assert_non_null (params);
  assert_non_null (ctx);
  assert_int_equal (EVP_PKEY_fromdata_init (ctx), 1);
  assert_int_equal (EVP_PKEY_fromdata (ctx, &pkey, EVP_PKEY_KEYPAIR, params),
                    1);
  EVP_PKEY_CTX_free (ctx);
  OSSL_PARAM_free (params);
  OSSL_PARAM_BLD_free (bld);
  BN_clear_free (bn);
  OPENSSL_cleanse (d, sizeof d);
  return pkey;
}

/* DER ECDSA-SHA256 of @a msg by the device key; @return its length. */
static size_t
device_sign (const void *msg, size_t len, uint8_t sig[80])
{
  EVP_PKEY *pkey = device_key ();
  EVP_MD_CTX *md = EVP_MD_CTX_new ();
  size_t sig_len = 80;

  assert_non_null (md);
  assert_int_equal (EVP_DigestSignInit_ex (md, NULL, "SHA256", NULL, NULL,
                                           pkey, NULL), 1);
  assert_int_equal (EVP_DigestSign (md, sig, &sig_len, msg, len), 1);
  EVP_MD_CTX_free (md);
  EVP_PKEY_free (pkey);
  return sig_len;
}

/* ---------------------------------------------------------- activation */

struct fixture {
  uint8_t secret[AUTHN_ACTIVATION_SECRET_LEN];
  uint8_t device_pub[AUTHN_P256_PUB_LEN];
  uint8_t ecdh_pub[AUTHN_P256_PUB_LEN];
  uint8_t proof[32];
  uint8_t sig[80];
  size_t sig_len;
  struct authn_activation a;
};

/* A good activation for the vectors, signed afresh. */
static void
fixture_init (struct fixture *f)
{
  uint8_t *m;
  size_t m_len;

  memset (f, 0, sizeof *f);
  unhex (V_SECRET, f->secret, sizeof f->secret);
  unhex (V_DEVICE_PUB, f->device_pub, sizeof f->device_pub);
  unhex (V_ECDH_PUB, f->ecdh_pub, sizeof f->ecdh_pub);
  unhex (V_PROOF, f->proof, sizeof f->proof);
  assert_int_equal (authn_device_activation_message (V_CHALLENGE,
                                                     f->device_pub,
                                                     f->ecdh_pub, &m,
                                                     &m_len), 0);
  f->sig_len = device_sign (m, m_len, f->sig);
  free (m);
  f->a = (struct authn_activation) {
    .challenge_id = V_CHALLENGE,
    .secret = f->secret, .secret_len = sizeof f->secret,
    .device_pub = f->device_pub, .device_pub_len = sizeof f->device_pub,
    .ecdh_pub = f->ecdh_pub, .ecdh_pub_len = sizeof f->ecdh_pub,
    .proof = f->proof, .proof_len = sizeof f->proof,
    .signature = f->sig, .signature_len = f->sig_len,
  };
}

static void
test_message_vector (void **state)
{
  uint8_t device_pub[AUTHN_P256_PUB_LEN], ecdh_pub[AUTHN_P256_PUB_LEN];
  uint8_t secret[16], md[32], mac[32];
  uint8_t *m;
  size_t m_len;

  unhex (V_DEVICE_PUB, device_pub, sizeof device_pub);
  unhex (V_ECDH_PUB, ecdh_pub, sizeof ecdh_pub);
  unhex (V_SECRET, secret, sizeof secret);
  assert_int_equal (authn_device_activation_message (V_CHALLENGE, device_pub,
                                                     ecdh_pub, &m, &m_len),
                    0);
  assert_int_equal (m_len, 163);
  assert_memory_equal (m, "guichet-activate-v1\0ch_test_0001\0", 33);
  core_sha256 (m, m_len, md);
  assert_hex_equal (md, sizeof md, V_M_SHA256);
  assert_int_equal (core_hmac_sha256 (secret, sizeof secret, m, m_len, mac),
                    0);
  assert_hex_equal (mac, sizeof mac, V_PROOF);
  free (m);
  assert_int_equal (authn_device_activation_message (NULL, device_pub,
                                                     ecdh_pub, &m, &m_len),
                    -1);
  assert_null (m);
}

static void
test_activation_good (void **state)
{
  struct fixture f;

  fixture_init (&f);
  assert_int_equal (authn_device_check_activation (&f.a), CORE_OK);
}

static void
test_activation_wrong_proof (void **state)
{
  struct fixture f;

  fixture_init (&f);
  f.proof[31] ^= 0x01;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_PROOF_INVALID);
  fixture_init (&f);
  f.secret[0] ^= 0x80;          /* the proof of another secret */
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_PROOF_INVALID);
  fixture_init (&f);
  f.a.challenge_id = "ch_test_0002";
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_PROOF_INVALID);
}

static void
test_activation_wrong_signature (void **state)
{
  struct fixture f;
  uint8_t other[80];

  fixture_init (&f);
  f.sig[f.sig_len - 1] ^= 0x01;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_PROOF_INVALID);
  /* A good signature of something else. */
  fixture_init (&f);
  f.a.signature_len = device_sign ("not M", 5, other);
  f.a.signature = other;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_PROOF_INVALID);
}

static void
test_activation_bad_points (void **state)
{
  struct fixture f;
  uint8_t compressed[33], k1[AUTHN_P256_PUB_LEN];

  fixture_init (&f);
  f.device_pub[64] ^= 0x01;     /* Y off the curve */
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);
  fixture_init (&f);
  f.ecdh_pub[40] ^= 0x01;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);

  fixture_init (&f);
  compressed[0] = 0x02 | (f.device_pub[64] & 1);
  memcpy (compressed + 1, f.device_pub + 1, 32);
  f.a.device_pub = compressed;
  f.a.device_pub_len = sizeof compressed;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);

  fixture_init (&f);
  f.device_pub[0] = 0x06 | (f.device_pub[64] & 1);   /* hybrid form */
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);

  fixture_init (&f);
  unhex (SECP256K1_G, k1, sizeof k1);
  f.a.ecdh_pub = k1;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);

  fixture_init (&f);
  memset (f.device_pub + 1, 0, 64);   /* "0x04 || 0 || 0", not infinity */
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);
  fixture_init (&f);
  f.a.device_pub = (const uint8_t *) "";      /* SEC1 infinity: 0x00 */
  f.a.device_pub_len = 1;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);
}

static void
test_activation_bad_lengths (void **state)
{
  struct fixture f;

  fixture_init (&f);
  f.a.proof_len = 31;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);
  fixture_init (&f);
  f.a.secret_len = 15;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);
  fixture_init (&f);
  f.a.device_pub_len = 64;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);
  fixture_init (&f);
  f.a.ecdh_pub = NULL;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_INVALID_FIELD);
  assert_int_equal (authn_device_check_activation (NULL),
                    CORE_ERR_INVALID_FIELD);
}

static void
test_activation_junk_der (void **state)
{
  struct fixture f;
  uint8_t junk[256];

  fixture_init (&f);
  for (size_t n = 0; n < f.sig_len; n++)
    {
      f.a.signature_len = n;
      assert_int_equal (authn_device_check_activation (&f.a),
                        CORE_ERR_PROOF_INVALID);
    }
  f.a.signature = NULL;
  f.a.signature_len = 0;
  assert_int_equal (authn_device_check_activation (&f.a),
                    CORE_ERR_PROOF_INVALID);
  f.a.signature = junk;
  for (int i = 0; i < 200; i++)
    {
      assert_int_equal (core_random (junk, sizeof junk), 0);
      if (i % 2 == 0)
        junk[0] = 0x30;         /* looks like a SEQUENCE */
      f.a.signature_len = (size_t) junk[1] % sizeof junk;
      assert_int_equal (authn_device_check_activation (&f.a),
                        CORE_ERR_PROOF_INVALID);
    }
}

/* -------------------------------------------------- signatures, verify */

static void
test_sign_verify (void **state)
{
  uint8_t pub[AUTHN_P256_PUB_LEN], ecdh_pub[AUTHN_P256_PUB_LEN], sig[80];
  char msg[] = "GET\n/v1/devices/dev_test_0001/transactions\n1700000000\n";
  size_t sig_len = device_sign (msg, strlen (msg), sig);

  unhex (V_DEVICE_PUB, pub, sizeof pub);
  unhex (V_ECDH_PUB, ecdh_pub, sizeof ecdh_pub);
  assert_true (authn_device_verify (pub, msg, strlen (msg), sig, sig_len));
  assert_false (authn_device_verify (ecdh_pub, msg, strlen (msg), sig,
                                     sig_len));
  msg[3] ^= 0x01;
  assert_false (authn_device_verify (pub, msg, strlen (msg), sig, sig_len));
  msg[3] ^= 0x01;
  for (size_t i = 0; i < sig_len; i++)
    {
      sig[i] ^= 0x10;
      assert_false (authn_device_verify (pub, msg, strlen (msg), sig,
                                         sig_len));
      sig[i] ^= 0x10;
    }
  /* A trailing byte makes the DER non-canonical. */
  sig[sig_len] = 0;
  assert_false (authn_device_verify (pub, msg, strlen (msg), sig,
                                     sig_len + 1));
  assert_false (authn_device_verify (NULL, msg, strlen (msg), sig, sig_len));
  assert_false (authn_device_verify (pub, msg, strlen (msg), NULL, 0));
  assert_true (authn_device_verify (pub, msg, strlen (msg), sig, sig_len));
}

/* (r, n - s) of a DER signature, DER again, into @a out. */
static size_t
flip_s (const uint8_t *der, size_t len, uint8_t out[80])
{
  const unsigned char *p = der;
  ECDSA_SIG *sig = d2i_ECDSA_SIG (NULL, &p, (long) len);
  EC_GROUP *group = EC_GROUP_new_by_curve_name (NID_X9_62_prime256v1);
  BIGNUM *r, *s = BN_new ();
  unsigned char *q = out;
  int n;

  assert_non_null (sig);
  assert_non_null (group);
  r = BN_dup (ECDSA_SIG_get0_r (sig));
  assert_int_equal (BN_sub (s, EC_GROUP_get0_order (group),
                            ECDSA_SIG_get0_s (sig)), 1);
  assert_int_equal (ECDSA_SIG_set0 (sig, r, s), 1);
  assert_true (i2d_ECDSA_SIG (sig, NULL) <= 80);
  n = i2d_ECDSA_SIG (sig, &q);
  ECDSA_SIG_free (sig);
  EC_GROUP_free (group);
  return (size_t) n;
}

/* Both (r, s) and (r, n - s) verify; exactly one of them is low-s, and
 * only parseable DER of one signature counts. */
static void
test_low_s (void **state)
{
  uint8_t pub[AUTHN_P256_PUB_LEN], sig[80], twin[81];
  const char msg[] = "GET\n/v1/devices/dev_test_0001\n1700000000\n";
  int low = 0;

  (void) state;
  unhex (V_DEVICE_PUB, pub, sizeof pub);
  for (int i = 0; i < 32; i++)
    {
      size_t n = device_sign (msg, strlen (msg), sig);
      size_t m = flip_s (sig, n, twin);

      assert_true (authn_device_verify (pub, msg, strlen (msg), sig, n));
      assert_true (authn_device_verify (pub, msg, strlen (msg), twin, m));
      assert_true (authn_device_sig_low_s (sig, n)
                   != authn_device_sig_low_s (twin, m));
      low += authn_device_sig_low_s (sig, n);
      if (authn_device_sig_low_s (twin, m))
        {
          twin[m] = 0;          /* a trailing byte is not one signature */
          assert_false (authn_device_sig_low_s (twin, m + 1));
          assert_false (authn_device_sig_low_s (twin, m - 1));
        }
    }
  assert_true (low > 0 && low < 32);    /* OpenSSL signs with either s */
  assert_false (authn_device_sig_low_s (NULL, 0));
  assert_false (authn_device_sig_low_s ((const uint8_t *) "\x30\x00", 2));
}

static void
test_point_valid (void **state)
{
  uint8_t pub[AUTHN_P256_PUB_LEN];

  unhex (V_SERVER_PUB, pub, sizeof pub);
  assert_true (authn_device_point_valid (pub, sizeof pub));
  assert_false (authn_device_point_valid (pub, sizeof pub - 1));
  assert_false (authn_device_point_valid (NULL, sizeof pub));
  pub[1] ^= 0x01;
  assert_false (authn_device_point_valid (pub, sizeof pub));
  unhex (SECP256K1_G, pub, sizeof pub);
  assert_false (authn_device_point_valid (pub, sizeof pub));
  /* X = p (out of the field) with G's Y. */
  unhex ("04ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
         "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5",
         pub, sizeof pub);
  assert_false (authn_device_point_valid (pub, sizeof pub));
}

/* -------------------------------------------------------------- seeds */

/* The public point of scalar @a d_hex, through derive_seed_with. */
static void
expect_public (const char *d_hex, const char *pub_hex)
{
  uint8_t d[32], peer[AUTHN_P256_PUB_LEN], secret[16], pub[65], seed[32];

  unhex (d_hex, d, sizeof d);
  unhex (V_ECDH_PUB, peer, sizeof peer);
  unhex (V_SECRET, secret, sizeof secret);
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret,
                                                   sizeof secret, "x", pub,
                                                   seed), 0);
  assert_hex_equal (pub, sizeof pub, pub_hex);
}

static void
test_public_points (void **state)
{
  expect_public (V_DEVICE_D, V_DEVICE_PUB);
  expect_public (V_ECDH_D, V_ECDH_PUB);
  expect_public (V_SERVER_D, V_SERVER_PUB);
}

static void
test_seed_vector (void **state)
{
  uint8_t d[32], peer[AUTHN_P256_PUB_LEN], secret[16], pub[65], seed[32];

  unhex (V_SECRET, secret, sizeof secret);
  /* Server: its scalar and the device's ECDH point. */
  unhex (V_SERVER_D, d, sizeof d);
  unhex (V_ECDH_PUB, peer, sizeof peer);
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret,
                                                   sizeof secret,
                                                   V_DEVICE_ID, pub, seed),
                    0);
  assert_hex_equal (pub, sizeof pub, V_SERVER_PUB);
  assert_hex_equal (seed, sizeof seed, V_SEED);
  /* Device: its ECDH scalar and the server's point. */
  unhex (V_ECDH_D, d, sizeof d);
  unhex (V_SERVER_PUB, peer, sizeof peer);
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret,
                                                   sizeof secret,
                                                   V_DEVICE_ID, pub, seed),
                    0);
  assert_hex_equal (pub, sizeof pub, V_ECDH_PUB);
  assert_hex_equal (seed, sizeof seed, V_SEED);
  /* Another device id, another seed. */
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret,
                                                   sizeof secret,
                                                   "dev_test_0002", pub,
                                                   seed), 0);
  {
    char hex[65];

    core_hex_encode (seed, sizeof seed, hex);
    assert_string_not_equal (hex, V_SEED);
  }
}

static void
test_seed_refusals (void **state)
{
  uint8_t d[32], peer[AUTHN_P256_PUB_LEN], secret[16], pub[65], seed[32];

  unhex (V_SECRET, secret, sizeof secret);
  unhex (V_SERVER_D, d, sizeof d);
  unhex (V_ECDH_PUB, peer, sizeof peer);
  peer[64] ^= 0x01;
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret, 16,
                                                   V_DEVICE_ID, pub, seed),
                    -1);
  assert_int_equal (authn_device_derive_seed (peer, secret, 16, V_DEVICE_ID,
                                              pub, seed), -1);
  peer[64] ^= 0x01;
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret, 15,
                                                   V_DEVICE_ID, pub, seed),
                    -1);
  assert_int_equal (authn_device_derive_seed (peer, secret, 16, NULL, pub,
                                              seed), -1);
  memset (d, 0, sizeof d);      /* scalar 0 */
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret, 16,
                                                   V_DEVICE_ID, pub, seed),
                    -1);
  memset (d, 0xff, sizeof d);   /* scalar > n */
  assert_int_equal (authn_device_derive_seed_with (d, peer, secret, 16,
                                                   V_DEVICE_ID, pub, seed),
                    -1);
}

static void
test_derive_seed_fresh (void **state)
{
  uint8_t ecdh_d[32], ecdh_pub[65], secret[16];
  uint8_t pub1[65], pub2[65], seed1[32], seed2[32], back_pub[65], back[32];

  unhex (V_ECDH_D, ecdh_d, sizeof ecdh_d);
  unhex (V_ECDH_PUB, ecdh_pub, sizeof ecdh_pub);
  unhex (V_SECRET, secret, sizeof secret);
  assert_int_equal (authn_device_derive_seed (ecdh_pub, secret, 16,
                                              V_DEVICE_ID, pub1, seed1), 0);
  assert_int_equal (authn_device_derive_seed (ecdh_pub, secret, 16,
                                              V_DEVICE_ID, pub2, seed2), 0);
  assert_true (authn_device_point_valid (pub1, sizeof pub1));
  assert_true (authn_device_point_valid (pub2, sizeof pub2));
  assert_memory_not_equal (pub1, pub2, sizeof pub1);
  assert_memory_not_equal (seed1, seed2, sizeof seed1);
  /* The phone, with its ECDH scalar and the server's new point. */
  assert_int_equal (authn_device_derive_seed_with (ecdh_d, pub1, secret, 16,
                                                   V_DEVICE_ID, back_pub,
                                                   back), 0);
  assert_memory_equal (back_pub, ecdh_pub, sizeof ecdh_pub);
  assert_memory_equal (back, seed1, sizeof back);
}

/* ------------------------------------------------ requests, transactions */

static void
test_request_string (void **state)
{
  char *s = authn_device_request_string ("GET",
                                          "/v1/devices/d1/transactions",
                                          "1700000000", NULL, 0);

  assert_non_null (s);
  assert_string_equal (s, "GET\n/v1/devices/d1/transactions\n1700000000\n"
                       "e3b0c44298fc1c149afbf4c8996fb924"
                       "27ae41e4649b934ca495991b7852b855");
  free (s);
  s = authn_device_request_string ("POST", "/p", "1", "", 0);
  assert_string_equal (s, "POST\n/p\n1\n"
                       "e3b0c44298fc1c149afbf4c8996fb924"
                       "27ae41e4649b934ca495991b7852b855");
  free (s);
  s = authn_device_request_string ("POST", "/p", "1", "abc", 3);
  assert_string_equal (s, "POST\n/p\n1\n"
                       "ba7816bf8f01cfea414140de5dae2223"
                       "b00361a396177a9cb410ff61f20015ad");
  free (s);
  assert_null (authn_device_request_string ("GET", "/a\n1", "2", NULL, 0));
  assert_null (authn_device_request_string ("GET", "/a", NULL, NULL, 0));
}

static void
test_tx_vector (void **state)
{
  uint8_t seed[32];
  char code[9];
  char *t = authn_tx_data ("tx_test_0001", "125.00", "EUR", "ACME SARL",
                           "FR7630006000011234567890189", "n0nce");

  assert_non_null (t);
  assert_string_equal (t, V_TX_T);
  unhex (V_SEED, seed, sizeof seed);
  assert_int_equal (authn_tx_response_code (seed, sizeof seed, t, code), 0);
  assert_string_equal (code, V_TX_CODE);
  free (t);

  t = authn_tx_data ("tx_test_0001", "125.01", "EUR", "ACME SARL",
                     "FR7630006000011234567890189", "n0nce");
  assert_int_equal (authn_tx_response_code (seed, sizeof seed, t, code), 0);
  assert_int_equal (strlen (code), 8);
  assert_string_not_equal (code, V_TX_CODE);
  free (t);

  assert_null (authn_tx_data ("tx", "1.00", "EUR", "ACME\nSARL", "FR76",
                              "n"));
  assert_null (authn_tx_data ("tx", "1.00", "EUR", NULL, "FR76", "n"));
  assert_int_equal (authn_tx_response_code (NULL, 0, V_TX_T, code), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_public_points),
    cmocka_unit_test (test_message_vector),
    cmocka_unit_test (test_seed_vector),
    cmocka_unit_test (test_seed_refusals),
    cmocka_unit_test (test_derive_seed_fresh),
    cmocka_unit_test (test_activation_good),
    cmocka_unit_test (test_activation_wrong_proof),
    cmocka_unit_test (test_activation_wrong_signature),
    cmocka_unit_test (test_activation_bad_points),
    cmocka_unit_test (test_activation_bad_lengths),
    cmocka_unit_test (test_activation_junk_der),
    cmocka_unit_test (test_sign_verify),
    cmocka_unit_test (test_low_s),
    cmocka_unit_test (test_point_valid),
    cmocka_unit_test (test_request_string),
    cmocka_unit_test (test_tx_vector),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
