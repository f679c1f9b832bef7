/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * device_step.h -- the device step of an enrolment: QR challenges, the
 * phone's activation, the PIN and the first OTP (API.md, "Device
 * activation (normative)").  Called by server/ only.
 */
#ifndef GUICHET_ENROL_DEVICE_STEP_H
#define GUICHET_ENROL_DEVICE_STEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

struct enrol_challenge {
  char id[64];
  char expires_at[32];      /* RFC 3339 UTC */
  char *qr_payload;         /* malloc'd; holds the activation secret */
};

/**
 * Make a new QR challenge for enrolment @a id (state `device`), replacing
 * any earlier one, at most rate_challenge_per_enrolment of them.
 * @param[out] retry_after  with CORE_ERR_RATE_LIMITED, the seconds to wait
 * @return CORE_OK, CORE_ERR_WRONG_STATE, CORE_ERR_NOT_FOUND,
 *         CORE_ERR_ENROLMENT_EXPIRED, CORE_ERR_RATE_LIMITED,
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_challenge_new (struct core_db *db, const char *id,
                     const char *browser_addr, const char *base_url,
                     struct enrol_challenge *out, long *retry_after);

void
enrol_challenge_clear (struct enrol_challenge *c);

/**
 * The current challenge's QR as SVG.
 * @return CORE_OK (*svg malloc'd), CORE_ERR_NOT_FOUND (no live challenge),
 *         CORE_ERR_CHALLENGE_EXPIRED, CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_challenge_svg (struct core_db *db, const char *id, const char *base_url,
                     char **svg);

/**
 * Where the device step stands: "pending" | "registered" |
 * "pending_review" | "denied" | "expired" (static strings).
 */
enum core_err
enrol_challenge_status (struct core_db *db, const char *id,
                        const char **status);

struct enrol_activate_req {
  const char *challenge_id;
  const char *device_public_key;   /* b64url */
  const char *ecdh_public_key;     /* b64url */
  const char *proof;               /* b64url */
  const char *signature;           /* b64url DER */
  json_t *device;                  /* the device object (borrowed) */
  const char *client_addr;
};

/**
 * Read the body of POST /v1/devices/activate into @a req (strings and the
 * device object borrowed from @a body; client_addr is left alone).
 * @param[out] bad_field  on error, the first bad field's name
 * @return CORE_OK or CORE_ERR_INVALID_FIELD
 */
enum core_err
enrol_activate_req_parse (json_t *body, struct enrol_activate_req *req,
                          const char **bad_field);

/**
 * The checks of enrol_device_activate that need no database, in the same
 * code: the fields' encodings and lengths, the device object, both points
 * on P-256, then the proof and signature under the challenge's activation
 * @a secret (16 bytes).  For the fuzz harness and tests.
 * @param[out] bad_field  on CORE_ERR_INVALID_FIELD
 * @return CORE_OK, CORE_ERR_INVALID_FIELD, CORE_ERR_PROOF_INVALID,
 *         CORE_ERR_INTERNAL
 */
enum core_err
enrol_activate_check_offline (const struct enrol_activate_req *req,
                              const uint8_t *secret, const char **bad_field);

/**
 * Activate a phone: take the attempt from the rate limits (per client
 * address, per challenge), check the challenge (expiry 410, single use
 * 409), the proof and signature (401), score the risk, derive and seal the
 * seed, bind the device and advance the enrolment -- or create nothing.
 * One transaction.
 * @param[out] answer  the 201 body (caller owns) on CORE_OK
 * @param[out] bad_field  on CORE_ERR_INVALID_FIELD
 * @param[out] retry_after  on CORE_ERR_RATE_LIMITED, seconds
 */
enum core_err
enrol_device_activate (struct core_db *db,
                       const struct enrol_activate_req *req,
                       json_t **answer, const char **bad_field,
                       long *retry_after);

/**
 * Set the applicant's PIN (state `pin_otp`).  Each PIN the policy lets
 * through costs an Argon2id hash, so one enrolment hashes one PIN at a
 * time (a submission while another is being hashed is refused at once,
 * holding no worker) and at most rate_pin_per_enrolment of them, counted
 * in the transaction that stores the hash.
 * @param[out] reasons  on CORE_ERR_POLICY_REFUSED (caller json_decref()s)
 * @param[out] retry_after  on CORE_ERR_RATE_LIMITED, seconds
 * @return CORE_OK, CORE_ERR_POLICY_REFUSED, CORE_ERR_RATE_LIMITED,
 *         CORE_ERR_WRONG_STATE, CORE_ERR_NOT_FOUND,
 *         CORE_ERR_ENROLMENT_EXPIRED, CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
enrol_set_pin (struct core_db *db, const char *id, const char *pin,
               json_t **reasons, long *retry_after);

/**
 * Confirm a code: in state `pin_otp` (PIN set) the phone's first code
 * proves the binding → `credential`; in state `credential` with an otpauth
 * seed shown, the app's first code completes the enrolment.  Wrong codes
 * count toward the lockout.
 * @param[out] attempts_remaining  on CORE_ERR_OTP_INVALID
 * @param[out] answer  the completion body when an otpauth enrolment
 *             completed, else NULL (caller owns)
 * @return CORE_OK, CORE_ERR_OTP_INVALID, CORE_ERR_LOCKED,
 *         CORE_ERR_WRONG_STATE, ...
 */
enum core_err
enrol_otp_confirm (struct core_db *db, const char *id, const char *otp,
                   int *attempts_remaining, json_t **answer);

/**
 * Check a signed device request (API.md, "Signed device requests").
 * @return CORE_OK, CORE_ERR_UNAUTHORIZED (unknown or inactive device, bad
 *         signature, clock skew > 120 s, replayed signature),
 *         CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_device_request_check (struct core_db *db, const char *device_id,
                            const char *method, const char *path,
                            const char *timestamp, const void *body,
                            size_t body_len, const char *signature);

/**
 * The first half of enrol_device_request_check, which needs neither the
 * database nor the device's key: the three headers are present and not
 * over-long, and the timestamp is a decimal within 120 s of @a now.
 * @return CORE_OK or CORE_ERR_UNAUTHORIZED
 */
enum core_err
enrol_device_headers_check (const char *device_id, const char *timestamp,
                            const char *signature, time_t now);

/**
 * The signature half: @a signature (b64url DER, low-s) must verify with @a pub
 * (a 65-byte P-256 point) over "METHOD\nPATH\nTIMESTAMP\nhex(SHA-256(body))".
 * No database: the replay check stays in enrol_device_request_check.
 * @return CORE_OK or CORE_ERR_UNAUTHORIZED
 */
enum core_err
enrol_device_signature_check (const uint8_t pub[65], const char *method,
                              const char *path, const char *timestamp,
                              const void *body, size_t body_len,
                              const char *signature);

/** The device's own view: id, status, enrolment, customer. */
enum core_err
enrol_device_get (struct core_db *db, const char *device_id, json_t **view);

#endif
