/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * guichet_authenticator.h -- the reference phone authenticator of Guichet:
 * what a bank's mobile team embeds or ports.
 *
 * It reads a `guichet://activate` QR payload, makes the two P-256 key pairs,
 * proves possession of the one-time activation secret, derives the OTP seed
 * by ECDH + HKDF (the seed never crosses the wire), produces TOTP codes,
 * signs device requests and transactions, and keeps its keys in a file
 * sealed under a local PIN.  Everything follows the normative sections of
 * API.md ("Device activation", "Signed device requests", transactions).
 *
 * This header depends on nothing but the C library: keys live behind the
 * opaque ga_device and ga_activation types.  The library never prints,
 * never logs, and never puts a secret in a ga_error message.
 *
 * Threads: distinct objects may be used from distinct threads; one object
 * must not be used from two threads at once.
 */
#ifndef GUICHET_AUTHENTICATOR_H
#define GUICHET_AUTHENTICATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GA_SECRET_LEN 16     /* activation secret, bytes */
#define GA_POINT_LEN 65      /* uncompressed SEC1 P-256 point */
#define GA_SEED_LEN 32       /* OTP seed */
#define GA_TX_CODE_DIGITS 8  /* offline transaction response code */

/* ================================================================
 * Errors
 * ================================================================ */

typedef enum ga_status {
  GA_OK = 0,
  GA_ERR_INVALID,   /* bad input from the caller (payload, argument)      */
  GA_ERR_NOMEM,     /* out of memory                                      */
  GA_ERR_CRYPTO,    /* OpenSSL or liboath failed (our bug or a bad key)   */
  GA_ERR_IO,        /* reading or writing the state file                  */
  GA_ERR_PIN,       /* wrong PIN, or the state file was altered          */
  GA_ERR_NETWORK,   /* could not reach the server                         */
  GA_ERR_SERVER,    /* the server answered an error (code = its code)     */
  GA_ERR_PROTOCOL,  /* the server's answer broke the protocol             */
  GA_ERR_DENIED,    /* activation answered "denied": no credential exists */
} ga_status;

/* Filled by every function that takes one (the pointer may be NULL).
 * `code` is a stable snake_case name (ours, or the server's own error code
 * for GA_ERR_SERVER); `http_status` is the server's status or 0. */
typedef struct ga_error {
  ga_status status;
  int http_status;
  char code[64];
  char message[256];
} ga_error;

/* ================================================================
 * QR payloads
 * ================================================================ */

/* guichet://activate?v=1&u=<base URL>&c=<challenge_id>&s=<secret> */
typedef struct ga_activation_payload {
  char *base_url;                 /* percent-decoded */
  char *challenge_id;
  uint8_t secret[GA_SECRET_LEN];  /* the one-time activation secret */
} ga_activation_payload;

/* Parse strictly: scheme and path exact, v must be 1, u, c and s present
 * exactly once, s is base64url without padding decoding to 16 bytes.
 * Values are percent-decoded ('+' reads as a space).  Unknown parameters
 * are ignored.  Returns GA_OK (free with ga_activation_payload_clear) or
 * GA_ERR_INVALID / GA_ERR_NOMEM, leaving *out zeroed. */
ga_status ga_activation_payload_parse (const char *text,
                                       ga_activation_payload *out,
                                       ga_error *err);
/* Free the strings and cleanse the secret; *p is zeroed. */
void ga_activation_payload_clear (ga_activation_payload *p);

/* guichet://tx?v=1&id=…&a=…&c=…&n=<payee name>&i=<iban>&x=<nonce> */
typedef struct ga_tx {
  char *id, *amount, *currency, *payee_name, *payee_iban, *nonce;
} ga_tx;

/* Parse strictly: v must be 1 and every other field present once and
 * non-empty; no value may hold a control character (T is '\n'-separated),
 * and the payee name no bidi control, zero-width or other invisible
 * character (the screen must show what is signed).
 * Returns GA_OK (free with ga_tx_clear), GA_ERR_INVALID or GA_ERR_NOMEM. */
ga_status ga_tx_parse (const char *text, ga_tx *out, ga_error *err);

/* The same transaction from its fields (copied), as an item of the
 * server's pending list gives them, with the same checks as ga_tx_parse.
 * Returns GA_OK (free with ga_tx_clear), GA_ERR_INVALID or GA_ERR_NOMEM. */
ga_status ga_tx_from_fields (const char *id, const char *amount,
                             const char *currency, const char *payee_name,
                             const char *payee_iban, const char *nonce,
                             ga_tx *out, ga_error *err);
void ga_tx_clear (ga_tx *tx);

/* T = "guichet-tx-v1\n" id "\n" amount "\n" currency "\n" payee_name "\n"
 *     payee_iban "\n" nonce.
 * Returns a malloc'ed NUL-terminated string (its length in *len if not
 * NULL), or NULL when out of memory. */
char *ga_tx_message (const ga_tx *tx, size_t *len);

/* The customer's assurance code (API.md): six characters of
 * ABCDEFGHJKLMNPQRSTUVWXYZ23456789 that end every message from the bank and
 * come with every pending transaction. */
#define GA_ASSURANCE_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

/* What the phone shows with a transaction to approve: the amount, the
 * payee and the customer's security code -- "Your security code: K7F2Q9 --
 * if it is missing or wrong, do not approve" -- or, when the server sent
 * none or one that cannot be a code, a warning not to approve.  Any
 * argument may be NULL.  Returns malloc'ed text, or NULL out of memory. */
char *ga_tx_display (const char *amount, const char *currency,
                     const char *payee_name, const char *payee_iban,
                     const char *assurance_code);

/* ================================================================
 * Devices (an activated credential)
 * ================================================================ */

typedef struct ga_device ga_device;

typedef struct ga_otp_params {
  char algorithm[8];  /* "SHA1", "SHA256" or "SHA512" */
  int digits;         /* 6..8 */
  int period;         /* seconds */
} ga_otp_params;

/* Borrowed strings, valid until ga_device_free. */
const char *ga_device_id (const ga_device *dev);
const char *ga_device_base_url (const ga_device *dev);
/* "active" or "pending_review", as the server answered at activation. */
const char *ga_device_status (const ga_device *dev);
const ga_otp_params *ga_device_otp_params (const ga_device *dev);

/* The signing key's public point, base64url (malloc'ed), or NULL. */
char *ga_device_public_key_b64 (const ga_device *dev);

/* The TOTP code at unix time `at` (digits + NUL into `code`, at least 9
 * bytes) and the seconds it stays valid in *valid_for (may be NULL).
 * Returns GA_OK or GA_ERR_CRYPTO. */
ga_status ga_device_totp (const ga_device *dev, int64_t at, char *code,
                          int *valid_for, ga_error *err);

/* Headers of a signed device request ("Signed device requests"). */
typedef struct ga_signed_headers {
  char device[128];     /* Guichet-Device */
  char timestamp[24];   /* Guichet-Timestamp, unix seconds */
  char *signature;      /* Guichet-Signature, malloc'ed base64url DER */
} ga_signed_headers;

/* Sign "METHOD\nPATH\nTIMESTAMP\n" hex(SHA-256(body)) at unix time `now`.
 * `path` is signed exactly as given (the request path, no query string,
 * no host).  body may be NULL when body_len is 0.  Returns GA_OK (free
 * out->signature), GA_ERR_INVALID, GA_ERR_NOMEM or GA_ERR_CRYPTO. */
ga_status ga_device_sign_request (const ga_device *dev, const char *method,
                                  const char *path, const void *body,
                                  size_t body_len, int64_t now,
                                  ga_signed_headers *out, ga_error *err);
void ga_signed_headers_clear (ga_signed_headers *h);

/* Send a signed request to the device's base URL (http:// only) with the
 * current time -- or, if this device already signed a request at that
 * second or later, the second after its last one: the server accepts a
 * signed message once, so two identical requests in one second would
 * otherwise look like a replay.  path may carry a query; only the part
 * before '?' is signed.  On a 2xx answer returns GA_OK with the body in
 * *answer (malloc'ed); otherwise GA_ERR_NETWORK, GA_ERR_SERVER (err->code
 * is the server's code), GA_ERR_PROTOCOL, GA_ERR_NOMEM or GA_ERR_CRYPTO. */
ga_status ga_device_request (ga_device *dev, const char *method,
                             const char *path, const char *body,
                             char **answer, ga_error *err);

/* ECDSA-P256-SHA256 over T, DER, base64url (malloc'ed into *signature). */
ga_status ga_device_tx_sign (const ga_device *dev, const ga_tx *tx,
                             char **signature, ga_error *err);

/* Offline response code: RFC 4226 dynamic truncation of
 * HMAC-SHA256(seed, T) mod 10^8, zero-padded, into code[9]. */
ga_status ga_device_tx_response_code (const ga_device *dev, const ga_tx *tx,
                                      char code[GA_TX_CODE_DIGITS + 1],
                                      ga_error *err);

/* Sign T and POST {"signature": …} to /v1/transactions/{id}/approve as a
 * signed device request; the server's answer lands in *answer. */
ga_status ga_device_tx_approve (ga_device *dev, const ga_tx *tx,
                                char **answer, ga_error *err);

/* POST /v1/transactions/{id}/decline (empty body) as a signed device
 * request; the server's answer lands in *answer. */
ga_status ga_device_tx_decline (ga_device *dev, const char *tx_id,
                                char **answer, ga_error *err);

/* Cleanse the key and seed, free everything.  NULL is a no-op. */
/* The Guichet-Timestamp of the last signed request.  The server accepts a
   signed message once, so a phone that runs as several processes (the CLI)
   keeps it between them and sets it back after loading its state. */
int64_t ga_device_last_request_ts (const ga_device *dev);
void ga_device_set_last_request_ts (ga_device *dev, int64_t ts);

void ga_device_free (ga_device *dev);

/* ================================================================
 * Activation
 * ================================================================ */

/* What the phone says about itself; strings are borrowed. */
typedef struct ga_device_info {
  const char *platform, *os_version, *model, *app_version, *install_id;
  bool rooted, emulator, debugger, hooking;
  const char *sim_country, *locale, *timezone;
} ga_device_info;

/* The defaults of the reference CLI: android / 14 / Pixel 8 / 1.0.0, all
 * flags false, FR / fr-FR / Europe/Paris.  install_id is left NULL: set it
 * to a value the app keeps for its installation (ga_random_install_id). */
void ga_device_info_defaults (ga_device_info *info);

/* A random UUID v4 into out[37].  Returns GA_OK or GA_ERR_CRYPTO. */
ga_status ga_random_install_id (char out[37]);

typedef struct ga_activation ga_activation;

/* Make the signing and ECDH key pairs for a parsed payload (copied: the
 * payload may be cleared afterwards).  Returns GA_OK, GA_ERR_NOMEM or
 * GA_ERR_CRYPTO; *out is NULL on failure. */
ga_status ga_activation_new (const ga_activation_payload *payload,
                             ga_activation **out, ga_error *err);

/* The JSON body of POST /v1/devices/activate (malloc'ed into *body).
 * install_id must be set.  Returns GA_OK, GA_ERR_INVALID, GA_ERR_NOMEM or
 * GA_ERR_CRYPTO. */
ga_status ga_activation_request (ga_activation *act,
                                 const ga_device_info *info, char **body,
                                 ga_error *err);

/* Read the server's 201 answer, derive the seed and discard the ECDH
 * private key.  Returns GA_OK with a new device in *out; GA_ERR_DENIED
 * when the server answered "denied" (nothing to keep); GA_ERR_PROTOCOL
 * for a malformed answer; GA_ERR_NOMEM or GA_ERR_CRYPTO. */
ga_status ga_activation_finish (ga_activation *act, const char *answer,
                                ga_device **out, ga_error *err);

/* Cleanse and free.  NULL is a no-op. */
void ga_activation_free (ga_activation *act);

/* The whole activation over HTTP (http:// base URLs only): keys, POST,
 * answer, seed.  The raw 201 answer lands in *answer (malloc'ed) when not
 * NULL, also when the result is GA_ERR_DENIED.  A non-201 answer gives
 * GA_ERR_SERVER with the server's code and status. */
ga_status ga_activate (const ga_activation_payload *payload,
                       const ga_device_info *info, ga_device **out,
                       char **answer, ga_error *err);

/* ================================================================
 * State file (sealed under a local PIN)
 * ================================================================ */

/* Write the device to `path` (mode 0600, atomically replaced), sealed with
 * AES-256-GCM under PBKDF2-HMAC-SHA256(pin, random salt).  Returns GA_OK,
 * GA_ERR_INVALID (empty PIN), GA_ERR_IO, GA_ERR_NOMEM or GA_ERR_CRYPTO. */
ga_status ga_state_save (const ga_device *dev, const char *path,
                         const char *pin, ga_error *err);

/* Read and open a state file.  Returns GA_OK with a new device in *out;
 * GA_ERR_PIN for a wrong PIN or an altered file (the two cannot be told
 * apart); GA_ERR_IO when it cannot be read; GA_ERR_INVALID for a file that
 * is not a state file of a known version; GA_ERR_NOMEM. */
ga_status ga_state_load (const char *path, const char *pin, ga_device **out,
                         ga_error *err);

/* ================================================================
 * Helpers
 * ================================================================ */

/* Base64url without padding of len bytes (malloc'ed), or NULL. */
char *ga_b64url_encode (const void *data, size_t len);

/* Stable name of a status ("ok", "invalid", …). */
const char *ga_status_name (ga_status status);

#ifdef __cplusplus
}
#endif

#endif /* GUICHET_AUTHENTICATOR_H */
