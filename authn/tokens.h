/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens.h -- the hardware token inventory and the credential lifecycle,
 * as server/ and enrol/ see them: import a vendor's PSKC file, list the
 * stock, claim a token for a new customer (inside the enrolment's
 * completion transaction), show a customer's credentials, unlock a
 * customer, revoke a credential.
 *
 * These functions take plain strings and a database handle, never HTTP.
 * They never return, log or audit a secret: token secrets go from the
 * PSKC file straight into core_seal envelopes.  Admin actions are written
 * to the hash-chained audit log (core/audit.h) in the same transaction as
 * the change they record.
 */
#ifndef GUICHET_AUTHN_TOKENS_H
#define GUICHET_AUTHN_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "authn/authn.h"
#include "core/db.h"
#include "core/error.h"

#define AUTHN_TOKENS_LIST_MAX 500
#define AUTHN_REVOKE_REASON_MAX 200   /* characters */

/** Statements of the inventory for core_db_register (call once, main). */
void
authn_tokens_register_statements (void);

/* ---------------------------------------------------------------- import */

struct authn_tokens_import_req {
  const char *xml;           /* the PSKC file (borrowed) */
  size_t len;
  const char *key_hex;       /* pre-shared AES key in hex, or NULL */
  const char *password;      /* PBKDF2 password, or NULL */
  bool partial;              /* import the good keys even if some fail */
  const char *actor;         /* admin user name, or "cli" */
};

struct authn_tokens_import_res {
  unsigned long key_packages;
  unsigned long imported;
  unsigned long duplicates;  /* already in the inventory: not re-imported */
  json_t *rejected;          /* [{"serial", "reason", "key_package"}]; owned
                                (authn_tokens_import_res_clear) */
  const char *reason;        /* file-level refusal, e.g. "mac_invalid";
                                NULL on CORE_OK (static) */
  const char *message;       /* a sentence about it (static) */
  char batch[AUTHN_ID_MAX];  /* the import's id on CORE_OK */
  double seconds;            /* wall time of the whole import */
};

/**
 * Import a PSKC file into the inventory, in one transaction.  Every
 * ValueMAC is checked before anything is written; a MAC failure imports
 * nothing, even with @a partial.  Without @a partial, one rejected key
 * imports nothing.  Tokens already in the inventory (same serial and
 * manufacturer) are counted in duplicates and left as they are.
 * One import runs at a time in the process.
 * @return CORE_OK (res->imported may be 0),
 *         CORE_ERR_BAD_REQUEST (res->reason: malformed_pskc, key_required,
 *           bad_key, key_and_password),
 *         CORE_ERR_POLICY_REFUSED (res->reason: mac_invalid, mac_missing,
 *           decryption_failed, key_mismatch, unsupported_encryption,
 *           too_many_elements, keys_rejected -- res->rejected lists the
 *           keys concerned),
 *         CORE_ERR_RATE_LIMITED (res->reason: import_running: another
 *           import is under way),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_tokens_import (struct core_db *db,
                     const struct authn_tokens_import_req *req,
                     struct authn_tokens_import_res *res);

/** Release res->rejected (NULL-safe, idempotent). */
void
authn_tokens_import_res_clear (struct authn_tokens_import_res *res);

/* ------------------------------------------------------------------ list */

struct authn_tokens_filter {
  const char *state;         /* one state, or NULL for all */
  const char *serial;        /* exact serial, or NULL */
  long limit;                /* 1..AUTHN_TOKENS_LIST_MAX */
  long offset;               /* >= 0 */
};

/**
 * A page of the inventory, by serial: {"tokens": [{"id", "serial",
 * "manufacturer", "type", "algorithm", "digits", "period", "state",
 * "valid_from", "valid_until", "imported_at", "customer_id",
 * "credential_id"}], "total"} -- never a secret.
 * @param[out] out  a new object on CORE_OK
 * @return CORE_OK, CORE_ERR_BAD_REQUEST (unknown state, limit or offset out
 *         of range), CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_tokens_list (struct core_db *db, const struct authn_tokens_filter *f,
                   json_t **out);

/* ----------------------------------------------------------------- claim */

/**
 * Make the in-stock token @a serial the credential of @a customer_id, if
 * @a otp is a current code of it.  To be called INSIDE the caller's
 * transaction (READ COMMITTED), after the customer row is inserted; the
 * token row is locked (SELECT ... FOR UPDATE) until the caller commits.
 *
 * The code: HOTP within [counter, counter + hotp_lookahead] (the new
 * credential's counter is match + 1); TOTP within +-totp_window steps of
 * now and of now + the token's drift (the credential keeps that step as
 * spent, and the drift seen).  The credential row (kind "hardware") gets
 * the secret re-sealed under "credential:<id>"; the token becomes active
 * with customer_id and credential_id, by an UPDATE ... WHERE state =
 * 'in_stock'.
 *
 * @param[out] credential_id  the new credential's id on success, "" else
 * @param[out] err  CORE_OK; CORE_ERR_NOT_FOUND (no such serial);
 *             CORE_ERR_CONFLICT (assigned or active already, or the serial
 *             is ambiguous across manufacturers); CORE_ERR_POLICY_REFUSED
 *             (lost, revoked, expired or not yet valid);
 *             CORE_ERR_OTP_INVALID (malformed or wrong code);
 *             CORE_ERR_INTERNAL / CORE_ERR_DATABASE_UNAVAILABLE with a
 *             negative status.  These tell the token's state: a caller
 *             that answers an applicant must not pass them on
 *             (enrol/issue_hardware.c answers every refusal alike).
 * @param[out] why  on a refusal, a stable word for the log, finer than
 *             @a err: "unknown_serial", "ambiguous_serial", "assigned",
 *             "active", "lost", "revoked", "expired", "not_yet_valid",
 *             "wrong_code"; NULL otherwise.  Never the code typed.
 * @return CORE_DB_ONE_ROW (claimed; *err CORE_OK), CORE_DB_NO_ROW (refused:
 *         *err says why, and this function wrote nothing -- the caller
 *         should roll back its own writes), CORE_DB_SOFT_ERROR (retry the
 *         transaction), CORE_DB_HARD_ERROR.
 */
enum core_db_status
authn_token_claim_tx (struct core_db *db, const char *serial, const char *otp,
                      const char *customer_id,
                      char credential_id[AUTHN_ID_MAX], enum core_err *err,
                      const char **why);

/* ------------------------------------------------------------- lifecycle */

/**
 * A customer as the back-office sees it: {"customer_id", "ref", "locked",
 * "failed_attempts", "created_at", "credentials": [{"id", "kind",
 * "otp_type", "algorithm", "digits", "state", "created_at",
 * "last_used_at", "revoked_at", "revoke_reason", "token_serial"}]} --
 * never a PIN hash or a seed.
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
authn_admin_customer (struct core_db *db, const char *customer_id,
                      json_t **out);

/**
 * Clear a customer's failures and lock; audited ("customer.unlock", with
 * what it was and @a comment: staff's reason, stored in the audit row
 * only).
 * @return CORE_OK (also when it was not locked), CORE_ERR_NOT_FOUND,
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_admin_unlock (struct core_db *db, const char *customer_id,
                    const char *actor, const char *comment);

/** A revocation reason: 1..AUTHN_REVOKE_REASON_MAX characters of UTF-8,
 *  not only white space (credentials and passkeys alike). */
bool
authn_revoke_reason_ok (const char *s);

/**
 * Revoke an active credential; every verify and resync refuses it from
 * the commit on.  A linked hardware token becomes "lost" when @a reason is
 * "lost", "revoked" otherwise.  Audited ("credential.revoke").
 * @param reason  1..AUTHN_REVOKE_REASON_MAX characters
 * @param[out] token_serial  the linked token's serial (malloc'd) or NULL
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_WRONG_STATE (revoked
 *         already), CORE_ERR_INVALID_FIELD (reason),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_admin_revoke (struct core_db *db, const char *credential_id,
                    const char *reason, const char *actor,
                    char **token_serial);

#endif
