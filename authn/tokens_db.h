/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tokens_db.h -- every query of the token inventory and the credential
 * lifecycle, one function each (internal to authn/; server/ and enrol/ go
 * through tokens.h).
 *
 * Functions marked "in a transaction" run inside the caller's core_db_tx
 * body and return the raw status; the others retry a deadlock victim on
 * their own.  Sealed seeds travel hex-encoded; no function here sees a
 * secret in clear.
 */
#ifndef GUICHET_AUTHN_TOKENS_DB_H
#define GUICHET_AUTHN_TOKENS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "authn/authn.h"
#include "authn/otp.h"
#include "core/db.h"

/* ---------------------------------------------------------------- import */

struct tokens_db_import {
  const char *id;
  const char *actor;
  const char *file_sha256;   /* 64 hex digits */
  const char *encryption;    /* "none" | "key" | "password" */
  bool partial;
  unsigned long key_packages;
  const char *rejected_json; /* the rejected array as JSON text */
};

/** Record an import (counts 0), in a transaction. @return ONE_ROW or errors */
enum core_db_status
tokens_db_import_open (struct core_db *db, const struct tokens_db_import *i);

/** Set an import's counts, in a transaction. @return ONE_ROW or errors */
enum core_db_status
tokens_db_import_close (struct core_db *db, const char *id,
                        unsigned long imported, unsigned long duplicates);

/**
 * Insert a batch of tokens, skipping serials already present, in a
 * transaction.
 * @param rows_json  a JSON array of {"id", "serial", "manufacturer",
 *                   "otp_type", "algorithm", "digits", "period", "counter",
 *                   "drift", "seed" (sealed, hex), "valid_from",
 *                   "valid_until" (unix seconds or null)}
 * @param[out] inserted  rows inserted
 * @return ONE_ROW / NO_ROW (none inserted), or errors
 */
enum core_db_status
tokens_db_insert_batch (struct core_db *db, const char *batch_id,
                        const char *rows_json, unsigned long *inserted);

/* ------------------------------------------------------------------ list */

/**
 * One page of tokens as JSON objects (no secret), and the total.
 * @param[out] tokens  a new array on ONE_ROW / NO_ROW
 * @return ONE_ROW, NO_ROW (empty page), errors
 */
enum core_db_status
tokens_db_list (struct core_db *db, const char *state, const char *serial,
                long limit, long offset, json_t **tokens, long long *total);

/* ----------------------------------------------------------------- claim */

/** A token row locked for a claim. */
struct tokens_db_token {
  char id[AUTHN_ID_MAX];
  char state[16];
  struct authn_otp_params otp;
  int64_t counter;
  int32_t drift;
  uint8_t *sealed;           /* malloc'd envelope, aad "token:<id>" */
  size_t sealed_len;
  bool not_yet_valid;
  bool expired;
};

/**
 * Lock the tokens with @a serial (FOR UPDATE), in a transaction.
 * @param[out] t        the first one, on ONE_ROW (free t->sealed)
 * @param[out] matches  how many tokens carry that serial
 * @return ONE_ROW, NO_ROW (none), errors (HARD_ERROR also for a row that
 *         does not parse: logged)
 */
enum core_db_status
tokens_db_claim_find (struct core_db *db, const char *serial,
                      struct tokens_db_token *t, int *matches);

/** A hardware credential to insert. */
struct tokens_db_credential {
  const char *id;
  const char *customer_id;
  const struct authn_otp_params *otp;
  const uint8_t *sealed;     /* aad "credential:<id>" */
  size_t sealed_len;
  int64_t counter;
  int32_t drift;
};

/** Insert it, in a transaction. @return ONE_ROW or errors */
enum core_db_status
tokens_db_credential_insert (struct core_db *db,
                             const struct tokens_db_credential *c);

/**
 * Mark an in-stock token active for a customer and credential, in a
 * transaction.  @return ONE_ROW, NO_ROW (not in stock any more), errors
 */
enum core_db_status
tokens_db_activate (struct core_db *db, const char *token_id,
                    const char *customer_id, const char *credential_id);

/* ------------------------------------------------------------- lifecycle */

/**
 * The customer and credentials view (see authn_admin_customer).
 * @param[out] out  a new object on ONE_ROW
 * @return ONE_ROW, NO_ROW (unknown customer), errors
 */
enum core_db_status
tokens_db_customer_view (struct core_db *db, const char *customer_id,
                         json_t **out);

/**
 * Clear failures and lock, in a transaction.
 * @param[out] was_failed, was_locked  the values before
 * @return ONE_ROW, NO_ROW (unknown customer), errors
 */
enum core_db_status
tokens_db_unlock (struct core_db *db, const char *customer_id,
                  long *was_failed, bool *was_locked);

/**
 * Revoke an active credential, in a transaction.
 * @param[out] customer_id  its customer, on ONE_ROW
 * @return ONE_ROW, NO_ROW (unknown or not active), errors
 */
enum core_db_status
tokens_db_revoke (struct core_db *db, const char *credential_id,
                  const char *reason, const char *actor,
                  char customer_id[AUTHN_ID_MAX]);

/**
 * Whether a credential exists, in a transaction.
 * @return ONE_ROW (it does), NO_ROW, errors
 */
enum core_db_status
tokens_db_credential_exists (struct core_db *db, const char *credential_id);

/**
 * Retire the token linked to a credential, in a transaction.
 * @param state  "lost" or "revoked"
 * @param[out] serial  its serial (malloc'd) on ONE_ROW
 * @return ONE_ROW, NO_ROW (no token: not a hardware credential), errors
 */
enum core_db_status
tokens_db_retire (struct core_db *db, const char *credential_id,
                  const char *state, char **serial);

#endif
