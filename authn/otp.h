/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * otp.h -- HOTP (RFC 4226) and TOTP (RFC 6238) codes with SHA-1, SHA-256 or
 * SHA-512 and 6 or 8 digits.
 *
 * Codes are generated with liboath and compared here in constant time:
 * liboath's validators use strcmp and know nothing of replay, so they are
 * never called.  Both kinds of OTP are one function of a moving factor T:
 * the HOTP counter, or the TOTP time step (unix time / period).  Replay state
 * lives in PostgreSQL (see authn_db.c), not here.  Nothing in this file logs
 * a seed or a code.
 */
#ifndef GUICHET_AUTHN_OTP_H
#define GUICHET_AUTHN_OTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define AUTHN_OTP_MAX_DIGITS 8
/* Widest range one search may cover (resync windows are far smaller). */
#define AUTHN_OTP_MAX_SPAN 100000

enum authn_otp_type {
  AUTHN_OTP_HOTP,
  AUTHN_OTP_TOTP
};

enum authn_otp_alg {
  AUTHN_OTP_SHA1,
  AUTHN_OTP_SHA256,
  AUTHN_OTP_SHA512
};

struct authn_otp_params {
  enum authn_otp_type type;
  enum authn_otp_alg alg;
  unsigned int digits;     /* 6 or 8 */
  unsigned int period;     /* TOTP seconds per step; ignored for HOTP */
};

enum authn_otp_result {
  AUTHN_OTP_ERROR = -2,    /* bad parameters or liboath failure: our bug */
  AUTHN_OTP_MALFORMED = -1, /* the code is not exactly `digits` digits */
  AUTHN_OTP_NO_MATCH = 0,
  AUTHN_OTP_MATCH = 1
};

/** @return "SHA1", "SHA256" or "SHA512" (never NULL). */
const char *
authn_otp_alg_name (enum authn_otp_alg alg);

/** Parse an algorithm name (exact, upper case). @return 0 or -1. */
int
authn_otp_alg_parse (const char *s, enum authn_otp_alg *out);

/** @return "hotp" or "totp" (never NULL). */
const char *
authn_otp_type_name (enum authn_otp_type type);

/** Parse "hotp" / "totp". @return 0 or -1. */
int
authn_otp_type_parse (const char *s, enum authn_otp_type *out);

/** @return true if @a p is usable (6 or 8 digits; TOTP period 1..3600). */
bool
authn_otp_params_valid (const struct authn_otp_params *p);

/** @return true if @a code is exactly @a digits ASCII digits (NULL: false). */
bool
authn_otp_code_well_formed (const char *code, unsigned int digits);

/**
 * The TOTP time step of @a now (RFC 6238, T0 = 0).
 * @return now / period, or -1 if @a p is not a valid TOTP or now < 0.
 */
int64_t
authn_otp_step (const struct authn_otp_params *p, time_t now);

/**
 * The code for moving factor @a t (HOTP counter or TOTP step).
 * @param[out] out  digits + NUL; the caller should OPENSSL_cleanse it
 * @return 0, or -1 (bad parameters, t < 0, liboath failure)
 */
int
authn_otp_generate (const struct authn_otp_params *p, const uint8_t *seed,
                    size_t seedlen, int64_t t,
                    char out[AUTHN_OTP_MAX_DIGITS + 1]);

/**
 * Find @a code among the moving factors lo..hi (inclusive; lo is raised to
 * 0).  Every candidate is generated and compared in constant time; the scan
 * does not stop at a match.
 * @param[out] matched  the lowest matching factor on AUTHN_OTP_MATCH
 * @return AUTHN_OTP_MATCH, AUTHN_OTP_NO_MATCH (also when hi < lo),
 *         AUTHN_OTP_MALFORMED (checked before any HMAC), AUTHN_OTP_ERROR
 *         (bad parameters, a span over AUTHN_OTP_MAX_SPAN, liboath failure)
 */
enum authn_otp_result
authn_otp_search (const struct authn_otp_params *p, const uint8_t *seed,
                  size_t seedlen, const char *code, int64_t lo, int64_t hi,
                  int64_t *matched);

/**
 * Find two consecutive codes: the lowest c in lo..hi with code(c) == @a code1
 * and code(c + 1) == @a code2 (for HOTP resynchronisation).
 * @return as authn_otp_search; @a matched is c.
 */
enum authn_otp_result
authn_otp_search_pair (const struct authn_otp_params *p, const uint8_t *seed,
                       size_t seedlen, const char *code1, const char *code2,
                       int64_t lo, int64_t hi, int64_t *matched);

#endif
