/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * authn.h -- what server/ may ask of the authenticator core: verify a
 * customer's PIN+OTP, resynchronise an HOTP token, bring in a customer with
 * a standard authenticator app, and clear a lockout.
 *
 * These functions take plain strings and a database handle, never HTTP.
 * They never return or log a PIN, OTP or seed.  Every verify and resync
 * attempt is written to the authn_audit table.
 */
#ifndef GUICHET_AUTHN_H
#define GUICHET_AUTHN_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

#define AUTHN_ID_MAX 64

/** Statements of authn/ for core_db_register (call once from main). */
void
authn_register_statements (void);

struct authn_verify_req {
  const char *customer_id;
  const char *pin;
  const char *otp;
  const char *client_addr;   /* for the audit row */
  const char *api_key_name;  /* relying party, for the audit row */
  /* When set: SHA-256 of the relying party's API key as a bytea parameter
     ("\\x" + 64 hex), checked in the statement that loads the customer
     (one round trip for the cheap refusals); api_key_name is then unused
     and the key's name goes to the audit rows and res->relying_party. */
  const char *api_key_hash;
};

struct authn_verify_res {
  /* set when the answer is CORE_ERR_AUTHENTICATION_FAILED and the
     customer exists; -1 otherwise */
  int attempts_remaining;
  /* on CORE_OK: the credential that matched */
  char credential_id[AUTHN_ID_MAX];
  /* CORE_ERR_LOCKED, or a failure that locked (attempts_remaining 0):
     when the lock ends, RFC 3339 UTC; "" for a permanent lock */
  char locked_until[32];
  /* seconds until the lock ends (CORE_ERR_LOCKED, a failure that locked)
     or until a request is admitted again (CORE_ERR_RATE_LIMITED); 0 when
     there is no end */
  long retry_after;
  /* the relying party, when req->api_key_hash named a live key */
  char relying_party[AUTHN_ID_MAX + 1];
};

/**
 * Verify PIN + OTP.  Cheap checks run first: an unknown customer, a locked
 * one, or a wrong/replayed OTP never pays for an Argon2id hash.
 * Rate limits (per API key, per customer) are taken first, in the same
 * statement that loads the customer.
 * @return CORE_OK (accepted; OTP consumed, failures reset),
 *         CORE_ERR_UNAUTHORIZED (req->api_key_hash names no live key:
 *           nothing was read, counted or audited),
 *         CORE_ERR_AUTHENTICATION_FAILED (wrong PIN, wrong or replayed OTP,
 *           or unknown customer -- the caller must not tell them apart),
 *         CORE_ERR_LOCKED (too many failures; even the right PIN+OTP:
 *           res->locked_until, res->retry_after),
 *         CORE_ERR_RATE_LIMITED (res->retry_after),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_verify (struct core_db *db, const struct authn_verify_req *req,
              struct authn_verify_res *res);

/**
 * Resynchronise the customer's HOTP credential with two consecutive codes
 * found within the resync window past its counter.
 * Counted against the same rate limits as authn_verify.
 * @return CORE_OK, CORE_ERR_AUTHENTICATION_FAILED (codes not found, not
 *         consecutive, unknown customer or no HOTP credential),
 *         CORE_ERR_LOCKED, CORE_ERR_RATE_LIMITED,
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_resync (struct core_db *db, const char *customer_id, const char *otp1,
              const char *otp2, const char *client_addr,
              const char *api_key_name, struct authn_verify_res *res);

/**
 * Create a customer with a PIN and a fresh TOTP seed (160 bits, SHA1, 6
 * digits, 30 s) for a standard authenticator app.
 * @param ref  the bank's own reference (unique), may be NULL
 * @param[out] reasons  on CORE_ERR_POLICY_REFUSED, PIN policy reasons
 *             (a json array the caller json_decref()s); NULL otherwise
 * @param[out] customer_id  filled on success
 * @param[out] otpauth_uri  malloc'd URI on success (contains the seed:
 *             caller must core_free_secret it)
 * @return CORE_OK, CORE_ERR_POLICY_REFUSED, CORE_ERR_CONFLICT (ref taken),
 *         CORE_ERR_INVALID_FIELD, CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
authn_customer_create_otpauth (struct core_db *db, const char *ref,
                               const char *pin, json_t **reasons,
                               char customer_id[AUTHN_ID_MAX],
                               char **otpauth_uri);

/**
 * Clear the failure count, the lock and its history (the next lock is the
 * shortest again).
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
authn_customer_unlock (struct core_db *db, const char *customer_id);

/* ------------------------------------------------ issuance (for enrol/) */

/**
 * Insert a new customer with the PIN hash chosen during enrolment, inside
 * the caller's transaction.  An existing @a customer_id is never touched.
 * @return ONE_ROW; NO_ROW if the id exists; or an error status.
 */
enum core_db_status
authn_customer_insert_tx (struct core_db *db, const char *customer_id,
                          const char *pin_hash);

/**
 * A re-enrolment onto an existing customer (a lost credential; enrol/ calls
 * it only after two approvals attached the enrolment to that customer by
 * the document they enrolled with): give the customer the new PIN and
 * clear its lockout; its credentials are left as they are.
 * @return ONE_ROW; NO_ROW if there is no such customer; or an error status.
 */
enum core_db_status
authn_customer_reenrol_tx (struct core_db *db, const char *customer_id,
                           const char *pin_hash);

struct authn_issue_cred {
  const char *customer_id;
  const char *kind;          /* "device" | "otpauth" */
  const char *algorithm;     /* "SHA1" | "SHA256" | "SHA512" */
  unsigned int digits;
  unsigned int period;
  const uint8_t *seed;       /* plain; the caller cleanses it */
  size_t seed_len;
  int64_t last_step;         /* TOTP steps up to this one are spent */
  const char *device_id;     /* kind "device": the phone holding the seed,
                                else NULL */
  char id[AUTHN_ID_MAX];     /* out: the credential id */
};

/**
 * Seal the seed under the new credential's id and insert a TOTP
 * credential, inside the caller's transaction.
 * @return ONE_ROW, or a database status (HARD_ERROR on a bad algorithm).
 */
enum core_db_status
authn_credential_issue_tx (struct core_db *db, struct authn_issue_cred *c);

/** API.md's otpauth URI (SHA1/6/30). @return malloc'd secret text or NULL. */
char *
authn_otpauth_uri (const char *customer_id, const uint8_t *seed, size_t len);

#endif
