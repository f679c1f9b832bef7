/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * audit.h -- the hash-chained audit log that every module writes to:
 * staff logins, review decisions, blocklist changes, credential actions.
 *
 * Each row carries prev_hash (the previous row's hash) and
 *
 *   hash = SHA-256(prev_hash || ns(id) || ns(at) || ns(actor) || ns(action)
 *                  || ns(target) || ns(details))
 *
 * where ns(x) is the netstring "<decimal length>:<bytes>," of x, `at` is
 * the UTC time as "YYYY-MM-DDTHH:MM:SS.ffffffZ" and `details` the compact
 * JSON of the details with sorted keys, non-ASCII as \uXXXX (upper-case
 * hex, as jansson writes it; tests/unit/test_audit.c has vectors).  The
 * first row's prev_hash is 32 zero bytes.  Appends are
 * serialised by a transaction-scoped advisory lock, so the chain is one
 * line; changing, inserting or deleting a row in the middle breaks it where
 * it happened, and `guichetd audit verify` names that row.  Details are
 * data a reviewer may read: never put a secret in them.
 */
#ifndef GUICHET_CORE_AUDIT_H
#define GUICHET_CORE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/crypto.h"
#include "core/db.h"
#include "core/error.h"

/** Register the audit statements (once, from main). */
void
core_audit_register_statements (void);

/**
 * Append a row inside the caller's transaction (READ COMMITTED: the chain
 * head is read after the lock; a REPEATABLE READ or SERIALIZABLE snapshot
 * taken earlier would fork the chain).  The row commits or rolls back with
 * the caller's change, so a decision and its audit row cannot part.
 * @param actor    a staff user name, "system", or a relying party (not "")
 * @param action   dotted lowercase, e.g. "review.approve"
 * @param target   what it was done to, or NULL
 * @param details  a JSON object, stolen (NULL: {})
 * @return ONE_ROW when appended; SOFT_ERROR (retry the transaction) or
 *         HARD_ERROR (bad arguments are logged as our bug).
 */
enum core_db_status
core_audit_append (struct core_db *db, const char *actor, const char *action,
                   const char *target, json_t *details);

/**
 * core_audit_append() in a transaction of its own, for events that change
 * nothing else.  @a details is stolen.
 * @return CORE_OK, CORE_ERR_DATABASE_UNAVAILABLE or CORE_ERR_INTERNAL.
 */
enum core_err
core_audit_record (struct core_db *db, const char *actor, const char *action,
                   const char *target, json_t *details);

/**
 * The hash of one row (exposed for tests and for verify).
 * @param details_canon  the canonical JSON text of the details
 */
void
core_audit_hash (const uint8_t prev[CORE_SHA256_LEN], const char *id,
                 const char *at, const char *actor, const char *action,
                 const char *target, const char *details_canon,
                 uint8_t out[CORE_SHA256_LEN]);

/** The canonical text of @a details (malloc'd, or NULL out of memory). */
char *
core_audit_canonical (const json_t *details);

/** A row of the chain: its id and hash.  The head, recorded somewhere
    else (an operations log, a ticket), is an anchor: a later verify
    against it shows that no row up to it was removed since -- the newest
    rows included, which the chain alone cannot show. */
struct core_audit_anchor {
  long long id;            /* 0: none (an empty log) */
  uint8_t hash[CORE_SHA256_LEN];
};

/**
 * Walk the whole chain in id order, recomputing every hash.
 * @param anchor             NULL, or a row the chain must still hold, with
 *                           that hash
 * @param[out] head          the newest row when the whole chain verifies,
 *                           to record as the next anchor (id 0 if the log
 *                           is empty or broken)
 * @param[out] rows          rows checked (up to and including a break)
 * @param[out] first_broken  id of the first row that does not verify (or
 *                           the anchor's, when the chain no longer holds
 *                           it), or 0
 * @param reason             what is wrong with it ("" when intact)
 * @return 1 intact, 0 broken, -1 the database failed (reason says why).
 */
int
core_audit_verify (struct core_db *db, const struct core_audit_anchor *anchor,
                   struct core_audit_anchor *head, long long *rows,
                   long long *first_broken, char *reason, size_t reason_len);

/** Filters of core_audit_list; NULL or 0 means "any". */
struct core_audit_filter {
  const char *actor;
  const char *action;
  const char *target;
  const char *since;       /* RFC 3339 time: rows at or after it */
  const char *until;       /* RFC 3339 time: rows before it */
  long long before_id;     /* rows with a smaller id (paging) */
  int limit;               /* 1..200 (the CSV export: up to 10000) */
};

/**
 * A page of the log, newest first.
 * @param[out] entries   new JSON array of {"id","at","actor","action",
 *                       "target","details","hash"}
 * @param[out] next_before_id  the before_id of the next page, 0 at the end
 * @return CORE_OK, CORE_ERR_INVALID_FIELD (since is not a time),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
core_audit_list (struct core_db *db, const struct core_audit_filter *f,
                 json_t **entries, long long *next_before_id);

#endif
