/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pin.h -- the customer PIN: the policy a new PIN must pass, and its
 * Argon2id hash.
 *
 * The hash is libargon2's encoded string ($argon2id$v=19$m=..,t=..,p=..$salt$
 * hash), so each row carries its own parameters and they can be raised
 * later without invalidating old hashes.  PINs are compared exactly as
 * received, all strlen() bytes of them.  Never log or return a PIN.
 */
#ifndef GUICHET_AUTHN_PIN_H
#define GUICHET_AUTHN_PIN_H

#include <jansson.h>

#define AUTHN_PIN_MIN_LEN 6
#define AUTHN_PIN_MAX_LEN 12

/**
 * Check a new PIN against the policy.
 * @param pin         the PIN (NULL is treated as "")
 * @param birth_date  the holder's birth date "YYYY-MM-DD", or NULL; a
 *                    malformed date is ignored
 * @return a new json array of reason strings, empty when the PIN is
 *         acceptable (caller json_decref()s), or NULL if out of memory.
 *         Reasons: "too_short" (< 6), "too_long" (> 12), "not_digits",
 *         and, for 6..12 digits: "repeated" (one digit), "sequential"
 *         (ascending or descending by one), "common" (a list of common PINs
 *         and short blocks repeated, like 121212 or 123123), "birth_date"
 *         (DDMMYY, YYMMDD, MMDDYY, DDMMYYYY, YYYYMMDD, MMDDYYYY).
 */
json_t *
authn_pin_policy (const char *pin, const char *birth_date);

/**
 * Hash @a pin with Argon2id at core_cfg's parameters (16-byte random salt,
 * 32-byte hash).
 * @param[out] encoded  malloc'd encoded string on success (caller frees),
 *             NULL on failure
 * @return 0, or -1 (no config, no randomness, libargon2 failure: logged)
 */
int
authn_pin_hash (const char *pin, char **encoded);

/**
 * Verify @a pin against an encoded hash (its own parameters apply).
 * @return 1 if it matches, 0 if not, -1 if the hash is unusable or
 *         libargon2 failed (our problem, not the customer's: logged)
 */
int
authn_pin_verify (const char *encoded, const char *pin);

#endif
