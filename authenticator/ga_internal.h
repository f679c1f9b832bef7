/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * ga_internal.h -- what the authenticator's own files share: the layout of
 * the opaque types, codecs, the crypto primitives and HTTP, plus hooks that
 * take fixed keys so the unit tests can replay API.md's test vectors.
 *
 * Not part of the embedding API: an app includes guichet_authenticator.h
 * only.  Nothing here may log or print; secrets are cleansed by whoever
 * owns them (the comments say who).
 */
#ifndef GA_INTERNAL_H
#define GA_INTERNAL_H

#include "guichet_authenticator.h"

#include <openssl/evp.h>

#define GA_SCALAR_LEN 32
#define GA_SHA256_LEN 32

struct ga_device {
  char *device_id, *base_url, *status;
  EVP_PKEY *signing_key;
  uint8_t seed[GA_SEED_LEN];
  ga_otp_params otp;
  int64_t last_request_ts;    /* Guichet-Timestamp of the last request sent */
};

struct ga_activation {
  char *base_url, *challenge_id;
  uint8_t secret[GA_SECRET_LEN];
  EVP_PKEY *signing_key;      /* handed to the device by ga_activation_finish */
  EVP_PKEY *ecdh_key;         /* freed as soon as the seed is derived */
  uint8_t device_pub[GA_POINT_LEN], ecdh_pub[GA_POINT_LEN];
  uint8_t *message;           /* M */
  size_t message_len;
};

/* ---- util.c: errors and codecs ---- */

/* Fill err (if not NULL) and return status. */
ga_status ga_fail (ga_error *err, ga_status status, const char *code,
                   const char *fmt, ...) __attribute__ ((format (printf, 4, 5)));
ga_status ga_nomem (ga_error *err);
ga_status ga_crypto_fail (ga_error *err, const char *what);

/* Strict base64url without padding: only the alphabet, canonical trailing
 * bits.  Returns the decoded length, or -1 (bad input, or more than cap
 * bytes).  A failed decode cleanses `out`. */
long ga_b64url_decode (const char *text, uint8_t *out, size_t cap);
/* Lower-case hex of len bytes into out[2 * len + 1]. */
void ga_hex_encode (const void *data, size_t len, char *out);
/* Percent-decode text[0..len) ('+' is a space) into a new string; NULL for
 * a bad escape, an encoded NUL, or no memory. */
char *ga_percent_decode (const char *text, size_t len);
char *ga_strdup (const char *s);
/* Free a string after cleansing it. */
void ga_free_secret_str (char *s);

/* ---- crypto.c: P-256, hashes, KDFs, OTP ---- */

ga_status ga_key_generate (EVP_PKEY **out);
/* A P-256 key from its private scalar d (big-endian, 32 bytes). */
ga_status ga_key_from_private (const uint8_t d[GA_SCALAR_LEN], EVP_PKEY **out);
/* A P-256 public key from an uncompressed point; refuses points off the
 * curve. */
ga_status ga_key_from_public (const uint8_t pub[GA_POINT_LEN], EVP_PKEY **out);
ga_status ga_key_public (const EVP_PKEY *key, uint8_t out[GA_POINT_LEN]);
/* The private scalar; the caller cleanses `d`. */
ga_status ga_key_private (const EVP_PKEY *key, uint8_t d[GA_SCALAR_LEN]);

ga_status ga_ecdsa_sign (EVP_PKEY *key, const void *msg, size_t len,
                         uint8_t **der, size_t *der_len);
/* 1 valid, 0 invalid, -1 error. */
int ga_ecdsa_verify (const uint8_t pub[GA_POINT_LEN], const void *msg,
                     size_t len, const uint8_t *der, size_t der_len);
ga_status ga_sha256 (const void *data, size_t len, uint8_t out[GA_SHA256_LEN]);
ga_status ga_hmac_sha256 (const void *key, size_t key_len, const void *data,
                          size_t len, uint8_t out[GA_SHA256_LEN]);
/* The x-coordinate of ECDH(priv, peer); the caller cleanses x. */
ga_status ga_ecdh_x (EVP_PKEY *priv, const uint8_t peer[GA_POINT_LEN],
                     uint8_t x[GA_SCALAR_LEN]);
/* HKDF-SHA256(x, salt = secret, "guichet-otp-seed-v1" 0x00 device_id). */
ga_status ga_seed_derive (const uint8_t x[GA_SCALAR_LEN],
                          const uint8_t secret[GA_SECRET_LEN],
                          const char *device_id, uint8_t seed[GA_SEED_LEN]);
/* M = "guichet-activate-v1" 0x00 challenge_id 0x00 device_pub ecdh_pub
 * (malloc'ed), or NULL. */
uint8_t *ga_activation_message (const char *challenge_id,
                                const uint8_t device_pub[GA_POINT_LEN],
                                const uint8_t ecdh_pub[GA_POINT_LEN],
                                size_t *len);
/* RFC 6238 through liboath; code holds digits + 1 bytes. */
ga_status ga_totp (const uint8_t *seed, size_t seed_len,
                   const ga_otp_params *otp, int64_t at, char *code);
/* RFC 4226 truncation of HMAC-SHA256(seed, msg) mod 10^8 into code[9]. */
ga_status ga_tx_code (const uint8_t *seed, size_t seed_len, const void *msg,
                      size_t len, char code[GA_TX_CODE_DIGITS + 1]);
ga_status ga_random (void *buf, size_t len);

/* ---- http.c: HTTP/1.1 over a plain TCP socket ---- */

typedef struct ga_http_reply {
  int status;
  char *body;        /* NUL-terminated, malloc'ed */
  size_t body_len;
} ga_http_reply;

/* method base_url+path with a JSON body (NULL for none) and extra header
 * lines ("Name: value", NULL-terminated array, may be NULL).  Returns
 * GA_OK with any status in *reply, or GA_ERR_INVALID (not an http:// URL),
 * GA_ERR_NETWORK, GA_ERR_PROTOCOL, GA_ERR_NOMEM. */
ga_status ga_http_request (const char *base_url, const char *method,
                           const char *path, const char *const *headers,
                           const char *body, ga_http_reply *reply,
                           ga_error *err);
void ga_http_reply_clear (ga_http_reply *reply);
/* Turn a non-2xx reply into GA_ERR_SERVER with the server's error code. */
ga_status ga_http_server_error (const ga_http_reply *reply, ga_error *err);

/* ---- device.c ---- */

/* A device from its parts (the key is taken over, even on failure). */
ga_status ga_device_assemble (const char *device_id, const char *base_url,
                              const char *status, EVP_PKEY *signing_key,
                              const uint8_t seed[GA_SEED_LEN],
                              const ga_otp_params *otp, ga_device **out);
/* Parse and check otp parameters: SHA1/SHA256/SHA512, 6..8 digits,
 * period 1..3600. */
bool ga_otp_params_valid (const ga_otp_params *otp);

/* ---- test hooks (fixed keys for API.md's vectors) ---- */

ga_status ga_activation_new_with_keys (const ga_activation_payload *payload,
                                       const uint8_t signing_d[GA_SCALAR_LEN],
                                       const uint8_t ecdh_d[GA_SCALAR_LEN],
                                       ga_activation **out, ga_error *err);
/* Borrowed M, proof and public points of an activation. */
const uint8_t *ga_activation_get_message (const ga_activation *act,
                                          size_t *len);
ga_status ga_activation_get_proof (const ga_activation *act,
                                   uint8_t proof[GA_SHA256_LEN]);
const uint8_t *ga_activation_get_device_pub (const ga_activation *act);
const uint8_t *ga_activation_get_ecdh_pub (const ga_activation *act);
/* The device's seed and signing public point (borrowed / copied). */
const uint8_t *ga_device_get_seed (const ga_device *dev);
ga_status ga_device_get_public (const ga_device *dev,
                                uint8_t pub[GA_POINT_LEN]);

#endif /* GA_INTERNAL_H */
