/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pskc_int.h -- what pskc.c (the XML side) and pskc_crypto.c (RFC 6030 §6:
 * keys, MACs, decryption) share.  Internal to authn/.
 *
 * pskc.c turns the tree into these plain structs (decoded bytes, URIs);
 * pskc_crypto.c never sees XML.  Key material lives in struct pskc_keys
 * only, and pskc_keys_clear cleanses it.
 */
#ifndef GUICHET_AUTHN_PSKC_INT_H
#define GUICHET_AUTHN_PSKC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "authn/pskc.h"

#define PSKC_MAX_KEY 32              /* AES-256 */
#define PSKC_MAX_MAC_KEY 128

/** A supported xmlenc block cipher (CBC, IV prepended). */
struct pskc_cipher {
  const char *uri;
  size_t key_len;
  const char *evp_name;      /* for EVP_CIPHER_fetch */
};

/** A supported HMAC (MACMethod, ValueMAC, PBKDF2 PRF). */
struct pskc_mac {
  const char *uri;
  const char *digest;        /* OpenSSL digest name */
};

/** One data value of a KeyPackage (Secret, Counter, ...), as read. */
struct pskc_value {
  bool present;              /* the element exists */
  bool encrypted;            /* it holds an EncryptedValue */
  bool bad;                  /* neither or both of Plain/EncryptedValue,
                                bad base64, no CipherValue */
  bool mac_bad;              /* a ValueMAC that is not base64 */
  char *plain;               /* PlainValue text (trimmed), malloc'd */
  const struct pskc_cipher *cipher; /* EncryptedValue; NULL if unsupported */
  char *cipher_uri;          /* EncryptionMethod/@Algorithm, malloc'd */
  uint8_t *data;             /* CipherValue: IV || ciphertext, malloc'd */
  size_t data_len;
  uint8_t *mac;              /* ValueMAC, malloc'd; NULL if absent */
  size_t mac_len;
};

/** The container's EncryptionKey and MACMethod, as read. */
struct pskc_container {
  bool derived;              /* EncryptionKey/DerivedKey */
  bool derived_bad;          /* DerivedKey present but not PBKDF2 or
                                incomplete */
  uint8_t *salt;             /* PBKDF2-params, malloc'd */
  size_t salt_len;
  unsigned long iterations;
  size_t derived_len;        /* KeyLength; 0 if absent */
  char *prf_uri;             /* PRF/@Algorithm; NULL: HMAC-SHA1 */
  char *mac_uri;             /* MACMethod/@Algorithm; NULL: no MACMethod */
  struct pskc_value mac_key; /* MACMethod/MACKey (encrypted) */
};

/** A KeyPackage as read from the tree, before it is judged (strings are
    trimmed and malloc'd; NULL when absent). */
struct pskc_raw {
  char *alg_uri;             /* Key/@Algorithm */
  char *suite;               /* AlgorithmParameters/Suite */
  char *encoding;            /* ResponseFormat/@Encoding */
  char *length;              /* ResponseFormat/@Length */
  char *dates[4];            /* DeviceInfo Start/ExpiryDate, Policy
                                Start/ExpiryDate */
  struct pskc_value secret, counter, interval, drift;
  bool dup;                  /* a singleton element appeared twice */
  bool no_key;               /* no Key element */
};

struct evp_mac_ctx_st;

/** Keys unlocked for a container. */
struct pskc_keys {
  uint8_t enc[PSKC_MAX_KEY];
  size_t enc_len;            /* 0: no encryption key */
  uint8_t mac[PSKC_MAX_MAC_KEY];
  size_t mac_len;            /* 0: no MAC key */
  const struct pskc_mac *mac_alg;
  struct evp_mac_ctx_st *hmac; /* keyed once with mac, reset per value */
};

/** The PBKDF2 KeyDerivationMethod URI (PKCS #5 v2.0 XML). */
extern const char *const pskc_pbkdf2_uri;

/** @return the cipher for @a uri, or NULL. */
const struct pskc_cipher *
pskc_cipher_find (const char *uri);

/** @return the HMAC for @a uri, or NULL. */
const struct pskc_mac *
pskc_mac_find (const char *uri);

/**
 * Decode standard base64 (RFC 4648 §4); XML whitespace is skipped,
 * padding is required, anything else is refused.
 * @param[out] out  malloc'd bytes (the caller frees or cleanses them)
 * @return the length, or -1
 */
long
pskc_b64_decode (const char *s, uint8_t **out);

/**
 * Obtain the encryption key (the pre-shared key, or PBKDF2 of the
 * password) and decrypt the MAC key.
 * @param need_enc  whether some value is encrypted
 * @return AUTHN_PSKC_OK, _KEY_REQUIRED, _KEY_MISMATCH, _UNSUPPORTED,
 *         _MAC_MISSING, _DECRYPTION_FAILED, _MALFORMED, _NOMEM
 */
enum authn_pskc_status
pskc_keys_unlock (const struct pskc_container *c,
                  const struct authn_pskc_unlock *unlock,
                  const struct pskc_cipher *first_cipher, bool need_enc,
                  struct pskc_keys *k);

/** Cleanse the key material and free the HMAC context. */
void
pskc_keys_clear (struct pskc_keys *k);

/**
 * Check an encrypted value's ValueMAC (HMAC over IV || ciphertext) in
 * constant time.  @return true if it verifies.
 */
bool
pskc_value_mac_ok (const struct pskc_keys *k, const struct pskc_value *v);

/**
 * Decrypt an encrypted value (its MAC checked already).
 * @param[out] out  malloc'd plaintext (the caller cleanses it)
 * @return 0, or -1 (wrong length, bad padding, OpenSSL failure)
 */
int
pskc_value_decrypt (const struct pskc_keys *k, const struct pskc_value *v,
                    uint8_t **out, size_t *out_len);

/**
 * Judge one package: decode its values (MACs checked already), check the
 * algorithm, format, secret length and dates, and fill @a key (whose
 * serial and manufacturer are set; key->reject is kept if already set).
 */
void
pskc_judge (const struct pskc_raw *r, const struct pskc_keys *k, time_t now,
            struct authn_pskc_key *key);

/** Reject the second and later packages for the same serial and
    manufacturer ("duplicate_in_file").  @return 0, or -1 (out of memory). */
int
pskc_mark_duplicates (struct authn_pskc *p);

/** Free a raw package's buffers (cleansing them). */
void
pskc_raw_clear (struct pskc_raw *r);

/** Free a value's buffers (cleansing them). */
void
pskc_value_clear (struct pskc_value *v);

#endif
