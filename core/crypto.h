/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * crypto.h -- the small set of primitives the rest of Guichet builds on
 * (OpenSSL 3): CSPRNG, constant-time compare, SHA-256, HMAC, base32 and
 * base64url, and the AES-256-GCM envelope that seals secrets at rest.
 *
 * Envelope (version 1), stored as bytea:
 *   0x01 | key_id_len (1 byte) | key_id | IV (12) | ciphertext | tag (16)
 * The header bytes and the caller's associated data (e.g. "credential:42")
 * are authenticated, so a sealed value cannot be moved to another row.
 * The keyring is loaded from the master key file: each non-comment line is
 * "<key_id> <64 hex digits>" (or a bare 64-hex line, id "k1"); the first
 * line's key seals, every key can open.  Key bytes never leave this module.
 *
 * The same file holds the token keys, "token <key_id> <64 hex digits>":
 * HMAC-SHA256 keys that turn identifiers of people (document numbers,
 * names with birth dates) into tokens, so that a copy of the database
 * without the key file cannot be searched by brute force.  The first token
 * line is current; older ones still compute the tokens stored under them.
 */
#ifndef GUICHET_CORE_CRYPTO_H
#define GUICHET_CORE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORE_SHA256_LEN 32

/** Fill @a buf with @a len CSPRNG bytes. @return 0, or -1 (never partial). */
int
core_random (void *buf, size_t len);

/** Constant-time equality of two buffers (false if lengths differ). */
bool
core_ct_equal (const void *a, size_t alen, const void *b, size_t blen);

/** Constant-time equality of two NUL-terminated strings. */
bool
core_ct_streq (const char *a, const char *b);

void
core_sha256 (const void *data, size_t len, uint8_t out[CORE_SHA256_LEN]);

/** SHA-256 as 64 lowercase hex digits + NUL into @a hex (65 bytes). */
void
core_sha256_hex (const void *data, size_t len, char hex[65]);

/** HMAC-SHA256. @return 0 or -1. */
int
core_hmac_sha256 (const void *key, size_t keylen, const void *data,
                  size_t len, uint8_t out[CORE_SHA256_LEN]);

/** Lowercase hex; @a out holds 2*len+1. */
void
core_hex_encode (const void *data, size_t len, char *out);

/** @return bytes written, or -1 on bad hex / odd length / overflow. */
long
core_hex_decode (const char *hex, uint8_t *out, size_t outlen);

/** The value of hex digit @a c (either case), or -1. */
int
core_hex_digit (char c);

/**
 * base64url without padding (RFC 4648 §5).
 * @return malloc'd NUL-terminated string, or NULL on allocation failure.
 */
char *
core_b64url_encode (const void *data, size_t len);

/**
 * Decode base64url; padding and non-alphabet characters are refused.
 * @param[out] out  malloc'd bytes (caller frees), NULL on failure
 * @return decoded length, or -1 on bad input
 */
long
core_b64url_decode (const char *s, uint8_t **out);

/** RFC 4648 base32, uppercase, no padding. @return malloc'd or NULL. */
char *
core_b32_encode (const void *data, size_t len);

/**
 * Decode base32 (case-insensitive; '=' padding and spaces tolerated).
 * @return decoded length, or -1 on bad input; *out malloc'd.
 */
long
core_b32_decode (const char *s, uint8_t **out);

/**
 * Load the keyring from @a path (must not be readable by group/others).
 * @return 0, or -1 with a message in @a err.
 */
int
core_keyring_load (const char *path, char *err, size_t errlen);

/** Generate a new key file at @a path (mode 0600). @return 0 or -1. */
int
core_keyring_create (const char *path, char *err, size_t errlen);

/**
 * Add a new token key to the key file @a path, before its other token keys
 * (it becomes current), by writing PATH.new (0600) and renaming it over
 * @a path; then reload the keyring.
 * @param[out] id  the new key's id
 * @return 0, or -1 with a message in @a err (the file is unchanged)
 */
int
core_keyring_add_token (const char *path, char *id, size_t idlen,
                        char *err, size_t errlen);

/** @return the number of token keys loaded (0: the key file has none). */
size_t
core_token_keys (void);

/** @return the id of token key @a i (0 = current), or NULL past the end. */
const char *
core_token_key_id (size_t i);

/**
 * HMAC-SHA256 of @a data under token key @a i (0 = current), as 64
 * lowercase hex digits + NUL into @a hex.
 * @return 0, or -1 (no such key; @a hex is then "")
 */
int
core_token_hmac_hex (size_t i, const void *data, size_t len, char hex[65]);

/**
 * A keyed hash for looking up short secrets by value (a 6-digit code)
 * without storing anything a dictionary could invert:
 *   HMAC-SHA256(K, data),  K = HMAC-SHA256(sealing master key,
 *                                         "guichet-keyed-mac-v1" 0x00 purpose)
 * Each @a purpose gets its own key; a hash made before a key rotation no
 * longer matches (fine for values that live minutes).
 * @return 0, or -1 (no keyring loaded, OpenSSL failure; @a out zeroed).
 */
int
core_keyed_mac (const char *purpose, const void *data, size_t len,
                uint8_t out[CORE_SHA256_LEN]);

/** @return the id of the key that seals now, or NULL if none is loaded. */
const char *
core_keyring_current_id (void);

/**
 * Seal @a len bytes under the current master key.
 * @param aad  associated data bound to the value (may be NULL)
 * @param[out] out  malloc'd envelope; @param[out] outlen its length
 * @return 0, or -1 (no keyring, OpenSSL failure)
 */
int
core_seal (const void *plain, size_t len, const char *aad,
           uint8_t **out, size_t *outlen);

/**
 * Open an envelope made by core_seal with the same @a aad.
 * @param[out] plain  malloc'd plaintext (caller must core_free_secret it)
 * @return 0, or -1 if the envelope is malformed, the key id unknown, or the
 *         tag does not verify (tampering or wrong aad)
 */
int
core_open (const uint8_t *env, size_t envlen, const char *aad,
           uint8_t **plain, size_t *plainlen);

/** OPENSSL_cleanse then free. NULL is fine. */
void
core_free_secret (void *p, size_t len);

/** A random identifier: @a prefix + "_" + 22 base64url chars (128 bits).
 * @return malloc'd or NULL. */
char *
core_random_id (const char *prefix);

#endif
