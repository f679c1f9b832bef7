/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz_activate_body.c -- the server's side of POST /v1/devices/activate
 * up to the database: the body's field table (enrol_activate_req_parse),
 * the decoding of keys, proof and signature, the device object's table,
 * both points on P-256, the HMAC proof and the ECDSA signature over M
 * (enrol_activate_check_offline, the same code enrol_device_activate
 * runs), and the ECDH + HKDF seed derivation.
 *
 * The challenge's activation secret is API.md's test vector
 * (000102..0f).  The first input byte tells the harness to play the
 * honest phone with the reference authenticator's independent code
 * (authenticator/crypto.c), so the fuzzer reaches the paths behind an
 * HMAC and a signature it could never forge:
 *   bit 0  the proof is recomputed over M for the body's keys
 *   bit 1  device_public_key is API.md's device key and M is signed by it
 *   bit 2  ecdh_public_key is API.md's device ECDH key
 * The rest is the JSON body.
 *
 * Properties besides "no crash": input is never an internal error (a
 * 500); a refused field is named; what the server accepts, the phone's
 * code verifies too (proof and signature); with bits 0-1 set and well-
 * formed fields the server accepts (an honest phone is never refused);
 * with bit 2 the server's and the phone's seeds agree.
 */
#include "fuzz.h"

#include <jansson.h>
#include <openssl/crypto.h>

#include "authenticator/ga_internal.h"
#include "authn/device.h"
#include "core/crypto.h"
#include "core/json.h"
#include "enrol/device_step.h"

static const uint8_t secret[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                    12, 13, 14, 15 };
/* API.md's test vectors: the device signing key and the device ECDH key */
static const char sign_d_hex[] =
  "25f00d7601429388eba003af27c68647d2ce8033a3c71beffdce62c7a7c3205d";
static const char ecdh_d_hex[] =
  "297d2848ca9a76b593abb507429bb0837d8dde868560061319c9e63470bd7ee9";

static EVP_PKEY *sign_key, *ecdh_key;
static char *sign_pub_b64, *ecdh_pub_b64;

static EVP_PKEY *
fixed_key (const char *hex, char **pub_b64)
{
  uint8_t d[32], pub[GA_POINT_LEN];
  EVP_PKEY *k = NULL;

  FUZZ_CHECK (core_hex_decode (hex, d, sizeof d) == 32);
  FUZZ_CHECK (ga_key_from_private (d, &k) == GA_OK);
  FUZZ_CHECK (ga_key_public (k, pub) == GA_OK);
  *pub_b64 = core_b64url_encode (pub, sizeof pub);
  FUZZ_CHECK (*pub_b64 != NULL);
  return k;
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  sign_key = fixed_key (sign_d_hex, &sign_pub_b64);
  ecdh_key = fixed_key (ecdh_d_hex, &ecdh_pub_b64);
  return 0;
}

/* The 65-byte point a b64url field holds, or false. */
static bool
point_of (const char *b64, uint8_t pub[65])
{
  uint8_t *b = NULL;
  long n = core_b64url_decode (b64, &b);
  bool ok = n == 65;

  if (ok)
    memcpy (pub, b, 65);
  free (b);
  return ok;
}

/* The phone's proof and signature over M for the request's keys. */
static void
play_phone (unsigned int flags, struct enrol_activate_req *r, char **proof,
            char **sig)
{
  uint8_t dpub[65], epub[65], mac[GA_SHA256_LEN], *m, *der = NULL;
  size_t m_len = 0, der_len = 0;

  if (!point_of (r->device_public_key, dpub)
      || !point_of (r->ecdh_public_key, epub))
    return;
  m = ga_activation_message (r->challenge_id, dpub, epub, &m_len);
  FUZZ_CHECK (m != NULL);
  if (flags & 1)
    {
      FUZZ_CHECK (ga_hmac_sha256 (secret, sizeof secret, m, m_len, mac)
                  == GA_OK);
      *proof = core_b64url_encode (mac, sizeof mac);
      r->proof = *proof;
    }
  if (flags & 2)
    {
      FUZZ_CHECK (ga_ecdsa_sign (sign_key, m, m_len, &der, &der_len)
                  == GA_OK);
      *sig = core_b64url_encode (der, der_len);
      r->signature = *sig;
      free (der);
    }
  free (m);
}

/* What the server accepted, the phone's independent code accepts. */
static void
cross_check (const struct enrol_activate_req *r)
{
  uint8_t dpub[65], epub[65], mac[GA_SHA256_LEN], *m, *proof = NULL,
          *sig = NULL;
  size_t m_len = 0;
  long proof_len, sig_len;

  FUZZ_CHECK (point_of (r->device_public_key, dpub));
  FUZZ_CHECK (point_of (r->ecdh_public_key, epub));
  m = ga_activation_message (r->challenge_id, dpub, epub, &m_len);
  FUZZ_CHECK (m != NULL);
  FUZZ_CHECK (ga_hmac_sha256 (secret, sizeof secret, m, m_len, mac)
              == GA_OK);
  proof_len = core_b64url_decode (r->proof, &proof);
  FUZZ_CHECK (proof_len == 32 && memcmp (proof, mac, 32) == 0);
  sig_len = core_b64url_decode (r->signature, &sig);
  FUZZ_CHECK (sig_len > 0
              && ga_ecdsa_verify (dpub, m, m_len, sig, (size_t) sig_len)
                 == 1);
  free (proof);
  free (sig);
  free (m);
}

/* Both sides derive the seed; with API.md's ECDH key they must agree. */
static void
derive (const struct enrol_activate_req *r, bool phone_knows_key)
{
  uint8_t epub[65], server_pub[65], seed[32], x[32], phone_seed[32];

  FUZZ_CHECK (point_of (r->ecdh_public_key, epub));
  FUZZ_CHECK (authn_device_derive_seed (epub, secret, sizeof secret,
                                        "dev_fuzz", server_pub, seed) == 0);
  if (phone_knows_key)
    {
      FUZZ_CHECK (ga_ecdh_x (ecdh_key, server_pub, x) == GA_OK);
      FUZZ_CHECK (ga_seed_derive (x, secret, "dev_fuzz", phone_seed)
                  == GA_OK);
      FUZZ_CHECK (memcmp (seed, phone_seed, sizeof seed) == 0);
    }
  OPENSSL_cleanse (seed, sizeof seed);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct enrol_activate_req r = { .client_addr = "192.0.2.1" };
  unsigned int flags;
  json_t *body = NULL;
  const char *why = NULL, *bad = NULL;
  char *proof = NULL, *sig = NULL;
  enum core_err err;

  if (size < 1 || size > 16384)
    return 0;
  flags = data[0];
  if (core_json_load ((const char *) data + 1, size - 1, &body, &why)
      != CORE_OK)
    return 0;
  if (enrol_activate_req_parse (body, &r, &bad) != CORE_OK)
    {
      FUZZ_CHECK (bad != NULL);       /* "" for an unknown key "" */
      json_decref (body);
      return 0;
    }
  if (flags & 2)
    r.device_public_key = sign_pub_b64;
  if (flags & 4)
    r.ecdh_public_key = ecdh_pub_b64;
  if (flags & 3)
    play_phone (flags, &r, &proof, &sig);

  bad = NULL;
  err = enrol_activate_check_offline (&r, secret, &bad);
  FUZZ_CHECK (err == CORE_OK || err == CORE_ERR_INVALID_FIELD
              || err == CORE_ERR_PROOF_INVALID);
  if (err == CORE_ERR_INVALID_FIELD)
    FUZZ_CHECK (bad != NULL && bad[0] != '\0');
  else
    FUZZ_CHECK (bad == NULL);
  if ((flags & 3) == 3 && proof != NULL && err != CORE_ERR_INVALID_FIELD)
    FUZZ_CHECK (err == CORE_OK);
  if (err == CORE_OK)
    {
      cross_check (&r);
      derive (&r, flags & 4);
    }
  free (proof);
  free (sig);
  json_decref (body);
  return 0;
}
