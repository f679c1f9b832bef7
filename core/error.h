/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * error.h -- the one registry of Guichet's error codes.
 *
 * Every failure that can reach a client is one of these codes.  Each code has
 * a stable snake_case name (the "code" in API.md's error body), an HTTP status
 * and a short hint for the human-readable "message".  Domain modules return
 * these codes; only server/ turns them into HTTP.  Never put a secret in a
 * message: messages are sent to clients and logged.
 */
#ifndef GUICHET_CORE_ERROR_H
#define GUICHET_CORE_ERROR_H

enum core_err {
  CORE_OK = 0,
  /* 400 */
  CORE_ERR_MALFORMED_JSON,      /* body is not JSON or not an object */
  CORE_ERR_INVALID_FIELD,       /* missing, unknown, wrong type or bad value */
  CORE_ERR_BAD_REQUEST,         /* other malformed request (query, header) */
  /* 401 */
  CORE_ERR_UNAUTHORIZED,        /* no or bad credentials (API key, session) */
  CORE_ERR_AUTHENTICATION_FAILED, /* PIN+OTP verify failed */
  CORE_ERR_PROOF_INVALID,       /* activation proof/signature failed */
  /* 403 */
  CORE_ERR_FORBIDDEN,
  /* 404 */
  CORE_ERR_NOT_FOUND,
  /* 405 */
  CORE_ERR_METHOD_NOT_ALLOWED,
  /* 409 */
  CORE_ERR_WRONG_STATE,
  CORE_ERR_CONFLICT,            /* duplicate, already used */
  /* 410 */
  CORE_ERR_EXPIRED,
  CORE_ERR_ENROLMENT_EXPIRED,
  CORE_ERR_CHALLENGE_EXPIRED,
  CORE_ERR_ASSIST_ENDED,        /* the applicant (or time) ended the help */
  /* 413 */
  CORE_ERR_BODY_TOO_LARGE,
  /* 415 */
  CORE_ERR_UNSUPPORTED_MEDIA_TYPE,
  /* 422 */
  CORE_ERR_POLICY_REFUSED,      /* well-formed, refused by policy: reasons */
  CORE_ERR_OTP_INVALID,         /* a lone OTP (confirmations) was wrong */
  CORE_ERR_NO_CAPABLE_DEVICE,   /* no active Guichet phone to sign with */
  /* 423 */
  CORE_ERR_LOCKED,
  /* 429 */
  CORE_ERR_RATE_LIMITED,
  /* 500 -- our bug, never the client's input */
  CORE_ERR_INTERNAL,
  /* 503 */
  CORE_ERR_DATABASE_UNAVAILABLE,
  CORE_ERR_COUNT                /* not a code: number of entries */
};

struct core_err_info {
  const char *name;             /* stable snake_case, e.g. "otp_invalid" */
  unsigned int http_status;
  const char *hint;             /* default message, safe to show */
};

/**
 * Look up a code.
 * @return the entry for @a err; for an out-of-range value, the entry of
 *         CORE_ERR_INTERNAL (never NULL).
 */
const struct core_err_info *
core_err_info (enum core_err err);

/** @return the stable name of @a err (never NULL). */
const char *
core_err_name (enum core_err err);

/** @return the HTTP status of @a err (200 for CORE_OK). */
unsigned int
core_err_status (enum core_err err);

#endif
