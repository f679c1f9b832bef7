/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pskc.h -- reading RFC 6030 PSKC key containers: the hardware tokens a
 * vendor ships, with their OTP secrets in clear, encrypted under a
 * pre-shared AES key, or under a key derived from a password (PBKDF2).
 *
 * The XML is parsed by libxml2 with network access off, no entity
 * substitution, no DTD loading, and any document type declaration refused
 * outright, so an external entity can never be fetched.  Encrypted values
 * are AES-CBC with the IV prepended (xmlenc#aes128/192/256-cbc) and each
 * must carry a ValueMAC (HMAC over IV || ciphertext, under the MACKey that
 * is itself encrypted under the same key): every MAC of the file is checked
 * before a single value is decrypted.  Nothing here touches the database,
 * and nothing logs a secret, a key or a password.
 *
 * libpskc is not used on this path: it reads plain containers only, and
 * (2.6.7) dereferences NULL on an empty <Manufacturer/> or <StartDate/>,
 * which an uploaded file must never be able to do to guichetd.
 */
#ifndef GUICHET_AUTHN_PSKC_H
#define GUICHET_AUTHN_PSKC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "authn/otp.h"

#define AUTHN_PSKC_MIN_SECRET 16      /* bytes: 128 bits */
#define AUTHN_PSKC_MAX_SECRET 128
#define AUTHN_PSKC_SERIAL_MAX 64      /* characters */
#define AUTHN_PSKC_MAX_KEYS 200000    /* KeyPackages per file */
/* Tags ('<') per file, counted before the parse.  libxml2 spends ~140
   bytes of tree on each element, so without a bound a 32 MiB file of
   "<a/>" took 1.1 GB (and each worker's malloc arena kept it).  A compact
   PSKC file has one '<' per ~20 bytes (19 per KeyPackage): 2 million
   allow a 32 MiB one and bound the tree near 300 MB. */
#define AUTHN_PSKC_MAX_TAGS 2000000
#define AUTHN_PSKC_MAX_ITERATIONS 2000000 /* PBKDF2 */

/** What unlocks an encrypted container (all borrowed; both may be NULL). */
struct authn_pskc_unlock {
  const uint8_t *key;        /* pre-shared AES key (16, 24 or 32 bytes) */
  size_t key_len;
  const char *password;      /* PBKDF2 password (RFC 6030 §6.2) */
};

/** One KeyPackage as read. */
struct authn_pskc_key {
  unsigned int position;     /* 1-based index of the KeyPackage */
  char *serial;              /* DeviceInfo/SerialNo, malloc'd; NULL if absent */
  char *manufacturer;        /* DeviceInfo/Manufacturer, malloc'd; "" if absent */
  struct authn_otp_params otp;
  int64_t counter;           /* HOTP moving factor (Data/Counter) */
  int32_t drift;             /* TOTP drift in time steps (Data/TimeDrift) */
  time_t valid_from;         /* latest StartDate given; 0 if none */
  time_t valid_until;        /* earliest ExpiryDate given; 0 if none */
  uint8_t *secret;           /* decrypted secret, malloc'd (cleansed by
                                authn_pskc_free); NULL when rejected */
  size_t secret_len;
  const char *reject;        /* NULL: importable; else a static reason:
                                unsupported_algorithm, missing_serial,
                                invalid_serial, missing_secret,
                                decryption_failed, secret_too_short,
                                secret_too_long, unsupported_format,
                                invalid_parameters, invalid_date, expired,
                                malformed_key, duplicate_in_file,
                                mac_invalid */
};

struct authn_pskc {
  size_t nkeys;
  struct authn_pskc_key *keys;
  bool encrypted;            /* some value was encrypted */
};

/** Outcome for the file as a whole. */
enum authn_pskc_status {
  AUTHN_PSKC_OK = 0,           /* keys read (some may be rejected) */
  AUTHN_PSKC_MALFORMED,        /* not well-formed XML, a DOCTYPE, not a
                                  PSKC 1.0 KeyContainer, bad base64 */
  AUTHN_PSKC_KEY_REQUIRED,     /* encrypted, and the needed key or
                                  password was not given */
  AUTHN_PSKC_KEY_MISMATCH,     /* the key's length does not fit the cipher */
  AUTHN_PSKC_UNSUPPORTED,      /* a cipher, MAC or derivation we do not do */
  AUTHN_PSKC_MAC_MISSING,      /* an encrypted value without a ValueMAC or
                                  without a MACMethod */
  AUTHN_PSKC_MAC_INVALID,      /* some ValueMAC does not verify (the keys
                                  concerned are marked mac_invalid) */
  AUTHN_PSKC_DECRYPTION_FAILED, /* the MAC key does not decrypt: wrong key */
  AUTHN_PSKC_TOO_MANY_TAGS,    /* more than AUTHN_PSKC_MAX_TAGS: not parsed */
  AUTHN_PSKC_NOMEM
};

/**
 * Read a PSKC container.
 * @param now  keys whose policy expired at or before @a now are rejected
 * @param[out] out  on AUTHN_PSKC_OK and AUTHN_PSKC_MAC_INVALID, the keys
 *             (release with authn_pskc_free); NULL otherwise
 * @return the file's status (see the enum)
 */
enum authn_pskc_status
authn_pskc_read (const char *xml, size_t len,
                 const struct authn_pskc_unlock *unlock, time_t now,
                 struct authn_pskc **out);

/** Free what authn_pskc_read returned, cleansing the secrets. NULL-safe. */
void
authn_pskc_free (struct authn_pskc *p);

/** @return the stable snake_case reason of @a st ("mac_invalid", ...). */
const char *
authn_pskc_status_reason (enum authn_pskc_status st);

/** @return a sentence for the operator about @a st (never a secret). */
const char *
authn_pskc_status_message (enum authn_pskc_status st);

/**
 * PBKDF2 (RFC 8018) as RFC 6030 §6.2 uses it.
 * @param prf_uri  the PRF's algorithm URI (hmac-sha1, -sha224, -sha256,
 *                 -sha384, -sha512), or NULL / "" for HMAC-SHA1
 * @return 0, or -1 (unknown PRF, iterations out of 1..AUTHN_PSKC_MAX_ITERATIONS,
 *         OpenSSL failure)
 */
int
authn_pskc_pbkdf2 (const char *password, const uint8_t *salt, size_t salt_len,
                   unsigned long iterations, const char *prf_uri,
                   uint8_t *out, size_t out_len);

#endif
