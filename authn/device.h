/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * device.h -- the server side of API.md's device protocol (normative):
 * activation proof and signature checks, the ECDH + HKDF derivation of the
 * OTP seed, and signatures of device requests and transactions.
 *
 * Keys are P-256 points in uncompressed SEC1 form (65 bytes, 0x04 || X || Y);
 * signatures are DER ECDSA-SHA256.  Every point is checked to be on the
 * curve before use.  Seeds and secrets are cleansed after use.
 */
#ifndef GUICHET_AUTHN_DEVICE_H
#define GUICHET_AUTHN_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define AUTHN_P256_PUB_LEN 65
#define AUTHN_SEED_LEN 32
#define AUTHN_ACTIVATION_SECRET_LEN 16

struct authn_activation {
  const char *challenge_id;
  const uint8_t *secret;              /* activation secret, 16 bytes */
  size_t secret_len;
  const uint8_t *device_pub;          /* signing key, 65 bytes */
  size_t device_pub_len;
  const uint8_t *ecdh_pub;            /* ephemeral key-agreement key */
  size_t ecdh_pub_len;
  const uint8_t *proof;               /* HMAC-SHA256(secret, M) */
  size_t proof_len;
  const uint8_t *signature;           /* DER ECDSA(signing key, M) */
  size_t signature_len;
};

/**
 * Build M = "guichet-activate-v1" 0x00 challenge_id 0x00 device_pub ecdh_pub.
 * @param[out] out  malloc'd message; @param[out] len its length
 * @return 0, or -1 on allocation failure
 */
int
authn_device_activation_message (const char *challenge_id,
                                 const uint8_t device_pub[AUTHN_P256_PUB_LEN],
                                 const uint8_t ecdh_pub[AUTHN_P256_PUB_LEN],
                                 uint8_t **out, size_t *len);

/**
 * Check an activation: lengths, both points on P-256, the proof (constant
 * time) and the signature over M.
 * @return CORE_OK, CORE_ERR_INVALID_FIELD (a key is not a valid P-256
 *         point or a length is wrong), CORE_ERR_PROOF_INVALID (proof or
 *         signature does not verify).
 */
enum core_err
authn_device_check_activation (const struct authn_activation *a);

/**
 * Only the HMAC proof of @a a (constant time): whether the sender knew the
 * activation secret, whatever its signature.  Tells a stranger who guessed
 * or saw a challenge id from someone holding the QR.
 * @return true if the proof matches.
 */
bool
authn_device_proof_ok (const struct authn_activation *a);

/**
 * Make the server's ephemeral ECDH key, derive the seed, discard the key.
 * seed = HKDF-SHA256(IKM = x(ECDH), salt = secret,
 *                    info = "guichet-otp-seed-v1" 0x00 device_id, L = 32)
 * @param[out] server_pub  the server's ephemeral public key (65 bytes)
 * @param[out] seed        32 bytes; the caller cleanses it after sealing
 * @return 0, or -1 (invalid point, OpenSSL failure)
 */
int
authn_device_derive_seed (const uint8_t ecdh_pub[AUTHN_P256_PUB_LEN],
                          const uint8_t *secret, size_t secret_len,
                          const char *device_id,
                          uint8_t server_pub[AUTHN_P256_PUB_LEN],
                          uint8_t seed[AUTHN_SEED_LEN]);

/**
 * The same derivation with a given server private key (32-byte scalar):
 * for the test vectors of API.md.  @return 0 or -1.
 */
int
authn_device_derive_seed_with (const uint8_t server_priv[32],
                               const uint8_t ecdh_pub[AUTHN_P256_PUB_LEN],
                               const uint8_t *secret, size_t secret_len,
                               const char *device_id,
                               uint8_t server_pub[AUTHN_P256_PUB_LEN],
                               uint8_t seed[AUTHN_SEED_LEN]);

/** @return true if @a der is a valid ECDSA-P256-SHA256 signature of @a msg
 *  by @a pub (an invalid point or malformed DER is simply false). */
bool
authn_device_verify (const uint8_t pub[AUTHN_P256_PUB_LEN], const void *msg,
                     size_t len, const uint8_t *der, size_t der_len);

/**
 * @return true if @a der parses as exactly one DER ECDSA signature whose s
 * is at most n/2 (the low-s form; (r, n - s) is the other valid signature
 * of the same message).  Says nothing about whether it verifies.
 */
bool
authn_device_sig_low_s (const uint8_t *der, size_t der_len);

/** @return true if @a pub is a valid uncompressed P-256 point. */
bool
authn_device_point_valid (const uint8_t *pub, size_t len);

/**
 * The string a device signs for a request:
 * "METHOD\nPATH\nTIMESTAMP\n" hex(SHA-256(body)).  @return malloc'd or NULL.
 */
char *
authn_device_request_string (const char *method, const char *path,
                             const char *timestamp, const void *body,
                             size_t body_len);

/**
 * The transaction data T of API.md and the offline response code:
 * RFC 4226 dynamic truncation of HMAC-SHA256(seed, T) mod 10^8, 8 digits.
 * @return malloc'd T, or NULL
 */
char *
authn_tx_data (const char *id, const char *amount, const char *currency,
               const char *payee_name, const char *payee_iban,
               const char *nonce);

/** @return 0 and 9 bytes (8 digits + NUL) in @a out, or -1. */
int
authn_tx_response_code (const uint8_t *seed, size_t seed_len, const char *t,
                        char out[9]);

#endif
