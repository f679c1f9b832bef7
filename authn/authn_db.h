/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * authn_db.h -- every query of authn/, one function each (internal to
 * authn/; server/ goes through authn.h).
 *
 * The statements that must not race are single statements: counting a
 * failure (and locking) is one UPDATE + audit INSERT in a CTE, and spending
 * a right OTP together with the PIN's result (success, or a counted
 * failure) is one conditional UPDATE + UPDATE + INSERT in a CTE.  Functions
 * return core_db statuses; none of them logs or stores a PIN, OTP or seed.
 */
#ifndef GUICHET_AUTHN_DB_H
#define GUICHET_AUTHN_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "authn/authn.h"
#include "authn/otp.h"
#include "core/db.h"
#include "core/error.h"

/** An active credential as loaded with its customer. */
struct authn_db_cred {
  char id[AUTHN_ID_MAX];
  bool usable;               /* false: a column did not parse (logged) */
  struct authn_otp_params otp;
  uint8_t *sealed;           /* the core_seal envelope (malloc'd) */
  size_t sealed_len;
  int64_t counter;           /* HOTP: next expected; TOTP: last step used */
  int32_t drift;             /* TOTP: steps between device clock and ours */
};

/** Where a lock stands: when it ends and how long until then. */
struct authn_db_lock {
  char until[32];            /* RFC 3339 UTC; "" when permanent or none */
  long retry_after;          /* whole seconds until then; 0 when "" */
};

struct authn_db_customer {
  char id[AUTHN_ID_MAX];
  char *pin_hash;            /* malloc'd Argon2id encoded hash */
  long failed_attempts;      /* those that still count */
  bool locked;               /* a lock is in force (locked_until > now) */
  struct authn_db_lock lock; /* when locked */
  size_t ncreds;
  struct authn_db_cred *creds; /* malloc'd, ncreds entries */
  /* authn_db_load_customer_audited: the relying party (malloc'd), and
     whether the API key given was unknown or revoked */
  char *relying_party;
  bool key_refused;
};

/** Who asked and about what, for the audit row (all borrowed). */
struct authn_db_audit {
  const char *customer_id;   /* as submitted */
  const char *credential_id; /* may be NULL */
  const char *relying_party;
  const char *client_addr;
  const char *action;        /* "verify" or "resync" */
};

/**
 * Run a statement outside a transaction; a deadlock or serialization
 * victim runs again (up to three times), as every authn statement is safe
 * to repeat after a rollback.  @return as core_db_exec
 */
enum core_db_status
authn_db_exec_retry (struct core_db *db, const char *stmt, int n,
                     const char *const *params, PGresult **res);

/** Copy an id column into @a dst. @return false if NULL or too long. */
bool
authn_db_copy_id (char dst[AUTHN_ID_MAX], const char *src);

/** A whole decimal integer column. @return false if NULL or not one. */
bool
authn_db_parse_i64 (const char *s, int64_t *out);

/**
 * Map a failed query to the caller's error.
 * @return CORE_ERR_DATABASE_UNAVAILABLE if the connection is down (or @a db
 *         is NULL), CORE_ERR_INTERNAL otherwise.
 */
enum core_err
authn_db_err (struct core_db *db);

/**
 * Load a customer and its active credentials in one query.
 * @param[out] out  filled on ONE_ROW (release with authn_db_customer_clear);
 *             zeroed otherwise
 * @return ONE_ROW, NO_ROW (unknown customer), HARD_ERROR (also out of memory)
 */
enum core_db_status
authn_db_load_customer (struct core_db *db, const char *customer_id,
                        struct authn_db_customer *out);

/**
 * Load like authn_db_load_customer and, in the same round trip, check the
 * relying party's API key and write the audit row of an attempt that ends
 * at once: unknown customer (NO_ROW) or locked (a lock in force).  The
 * cheap answer to a flood costs one statement (its audit row committed as
 * authn_db_audit's).
 * @param key_hash  SHA-256 of the API key presented, as a bytea parameter
 *                  ("\\x" + hex), or NULL: then the relying party is
 *                  a->relying_party
 * @return ONE_ROW (out->relying_party set), NO_ROW (unknown customer, or
 *         out->key_refused: the key is unknown or revoked, nothing was
 *         read or audited), HARD_ERROR
 */
enum core_db_status
authn_db_load_customer_audited (struct core_db *db,
                                const struct authn_db_audit *a,
                                const char *key_hash,
                                struct authn_db_customer *out);

/** Free what authn_db_load_customer allocated (NULL-safe, idempotent). */
void
authn_db_customer_clear (struct authn_db_customer *c);

/**
 * Take one attempt from the verify rate limits (per customer, per API
 * key), committed without waiting for the flush.
 * @param[out] wait  0 when admitted (and counted), else seconds to wait
 * @return ONE_ROW, errors
 */
enum core_db_status
authn_db_rate_take (struct core_db *db, const struct authn_db_audit *a,
                    long *wait);

/**
 * Count one failure, lock at @a limit (for lockout_base_s doubling, or
 * for good when lockout_permanent), and audit it -- one statement, which,
 * when @a take_rate, first takes the attempt from the verify rate limits
 * and does nothing else if they refuse it.
 * @param[out] remaining  attempts left (0 once locked) on ONE_ROW
 * @param[out] lock       the lock this failure began, if any
 * @param[out] wait       > 0: refused by a rate limit (NO_ROW), retry after
 * @return ONE_ROW, NO_ROW (no such customer, a lock is in force, or refused
 *         by a rate limit: nothing counted or audited), errors
 */
enum core_db_status
authn_db_fail (struct core_db *db, const struct authn_db_audit *a,
               const char *outcome, unsigned int limit, bool take_rate,
               int *remaining, struct authn_db_lock *lock, long *wait);

/** The lock in force on a customer.  @return ONE_ROW (@a lock filled),
    NO_ROW (none), errors */
enum core_db_status
authn_db_lock_state (struct core_db *db, const char *customer_id,
                     struct authn_db_lock *lock);

/**
 * Insert an audit row that counts nothing (locked, replayed code), with
 * synchronous_commit off unless audit_refusals_sync is set (authn_db.c).
 * @param remaining  attempts remaining, or < 0 for NULL
 */
enum core_db_status
authn_db_audit (struct core_db *db, const struct authn_db_audit *a,
                const char *outcome, int remaining);

/** Spending a matched code: set counter to @a new_counter (and drift) only
    if the stored counter is still <= @a max_old, i.e. the code is unspent.
    HOTP match m: new m + 1, max_old m.  TOTP step s: new s, max_old s - 1. */
struct authn_db_spend {
  int64_t new_counter;
  int32_t drift;
  int64_t max_old;
};

/** What authn_db_spend did. */
enum authn_db_spent {
  AUTHN_DB_SPEND_DONE,       /* spent, counted and audited */
  AUTHN_DB_SPEND_LOST,       /* spent meanwhile (or revoked): nothing done */
  AUTHN_DB_SPEND_LOCKED      /* spent, but the customer is locked meanwhile:
                                nothing counted, nothing audited */
};

/**
 * The answer to a right OTP once the PIN is known right or wrong, in one
 * statement and one synchronous commit: spend the code; if that won, reset
 * the failure count (@a outcome "accepted") or count one failure and lock
 * at @a limit ("pin_invalid"), and write the audit row.
 * @param[out] spent      what happened (on ONE_ROW)
 * @param[out] remaining  attempts left after it (on SPEND_DONE), else -1
 * @param[out] lock       on SPEND_DONE, the lock it began, if any
 * @return ONE_ROW (it ran: see @a spent), errors
 */
enum core_db_status
authn_db_spend (struct core_db *db, const struct authn_db_audit *a,
                const char *outcome, unsigned int limit,
                const struct authn_db_spend *sp,
                enum authn_db_spent *spent, int *remaining,
                struct authn_db_lock *lock);

/**
 * Resync: the same conditional UPDATE as authn_db_spend (drift kept) and
 * the "accepted" resync audit row, in one statement.
 * @return ONE_ROW, NO_ROW (spent meanwhile or revoked), errors
 */
enum core_db_status
authn_db_resync_apply (struct core_db *db, const struct authn_db_audit *a,
                       int64_t new_counter, int64_t max_old);

/** Clear failures, lock and lock history.
    @return ONE_ROW, NO_ROW (unknown), errors */
enum core_db_status
authn_db_unlock (struct core_db *db, const char *customer_id);

/**
 * Insert a customer (inside a transaction).
 * @return ONE_ROW, NO_ROW (@a ref is taken), errors
 */
enum core_db_status
authn_db_insert_customer (struct core_db *db, const char *customer_id,
                          const char *ref, const char *pin_hash);

/** A credential to insert. */
struct authn_db_new_cred {
  const char *id;
  const char *customer_id;
  const char *kind;          /* "otpauth", "device", "hardware" */
  struct authn_otp_params otp;
  const uint8_t *sealed;     /* core_seal envelope, aad "credential:<id>" */
  size_t sealed_len;
  int64_t counter;           /* HOTP next counter / TOTP last accepted step */
  const char *device_id;     /* kind "device": the phone, else NULL */
};

/** Insert a credential (inside a transaction). @return ONE_ROW or errors */
enum core_db_status
authn_db_insert_credential (struct core_db *db,
                            const struct authn_db_new_cred *c);

/**
 * Queue message @a kind (a template of notify/templates.c, e.g.
 * "credential_revoked") with @a params (stolen) for customer
 * @a customer_id, in the caller's transaction, through migration 0014's
 * notify_queue_customer_mail: notify/ renders and delivers it, ending with
 * the customer's assurance code.  A customer without an address gets
 * nothing, which is not an error.
 * @return ONE_ROW, or an error status (roll back)
 */
enum core_db_status
authn_db_queue_mail (struct core_db *db, const char *customer_id,
                     const char *kind, json_t *params);

/**
 * Queue webhook event @a type with @a data (stolen) for every relying
 * party with a webhook, in the caller's transaction (notify_queue_event).
 * @return ONE_ROW, or an error status (roll back)
 */
enum core_db_status
authn_db_queue_event (struct core_db *db, const char *type, json_t *data);

#endif
