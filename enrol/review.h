/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * review.h -- the back-office review queue: identities and devices that a
 * check flagged for a human, and the decisions that resume or end their
 * enrolment.
 *
 * A review is opened by the transaction that flags it (enrolment.c for an
 * identity, activate.c for a device), so an enrolment never waits without
 * one.  A decision is one transaction: conditional UPDATEs of the review,
 * the enrolment and the device on their current states, the blocklist on a
 * reject, the audit rows, and a NOTIFY that wakes the applicant's long
 * poll.  No HTTP here; the caller says who decides and with which role.
 */
#ifndef GUICHET_ENROL_REVIEW_H
#define GUICHET_ENROL_REVIEW_H

#include <stdbool.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

enum enrol_review_kind {
  ENROL_REVIEW_KIND_IDENTITY,
  ENROL_REVIEW_KIND_DEVICE
};

/** Statements of the review queue for core_db_register (once, from main). */
void
enrol_review_register_statements (void);

/**
 * Open a review inside the caller's transaction.  It needs four eyes when
 * @a score reached the risk rules' threshold.four_eyes, @a reasons hold
 * "sanctions_match", or an approval would attach to an existing customer.
 * @param device_id  the device row (device reviews), NULL for identity
 * @param score      the risk score, or -1 (identity reviews)
 * @param reasons    JSON array of reason codes (borrowed)
 * @param attach_customer_id  identity reviews: the existing customer whose
 *                   document the applicant presented (approving attaches
 *                   the enrolment to them), or NULL (approving creates a
 *                   new customer)
 * @return ONE_ROW; SOFT_ERROR / HARD_ERROR as core_db_exec.
 */
enum core_db_status
enrol_review_open (struct core_db *db, enum enrol_review_kind kind,
                   const char *enrolment_id, const char *device_id,
                   int score, const json_t *reasons,
                   const char *attach_customer_id);

#define ENROL_REVIEW_PAGE_DEFAULT 100
#define ENROL_REVIEW_PAGE_MAX 200

struct enrol_review_query {
  const char *state;     /* "open" (open and awaiting_second_approval, the
                            default), "awaiting_second_approval",
                            "approved", "rejected", "all" */
  const char *kind;      /* "identity", "device" or NULL (both) */
  const char *after;     /* the "next" of the page before, or NULL */
  unsigned int limit;    /* 1..ENROL_REVIEW_PAGE_MAX */
};

/**
 * One page of the review queue: the queue (open, awaiting a second
 * approval) oldest first -- the review that waited longest is the next to
 * take --, closed reviews newest first.  Keyset paging, so a page never
 * skips or repeats a review when others arrive meanwhile.  Each row says
 * whom an approval would attach to (attach_customer_id, or null).
 * @param[out] page  new JSON object on CORE_OK: {"reviews": [...],
 *                   "next": cursor or null, "total": n}
 * @return CORE_OK, CORE_ERR_BAD_REQUEST (unknown state or kind, bad
 *         cursor or limit), CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
enrol_review_list (struct core_db *db, const struct enrol_review_query *q,
                   json_t **page);

/**
 * One review with the applicant, the identity result, the device with its
 * signals and risk decision, the history of its install id, key, address
 * and QR challenge, and the decisions so far.
 * @param[out] review  new JSON object on CORE_OK
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
enrol_review_get (struct core_db *db, const char *id, json_t **review);

struct enrol_review_decision {
  const char *review_id;
  bool approve;                /* false: reject */
  const char *comment;         /* 1..2000 characters, checked by caller */
  bool blocklist_address;      /* reject: list the phone's address too */
  const char *username;        /* who decides */
  const char *role;            /* "reviewer" or "admin" */
  const char *base_url;        /* for the link in the applicant's e-mail */
};

/**
 * Decide a review.  Approve: an identity review moves the enrolment to
 * `device`, a device review activates the device and moves the enrolment
 * to `pin_otp`; a four-eyes review first goes to awaiting_second_approval
 * and needs a second approval by another user with role admin.  The final
 * approval of a review with an attach_customer_id names that customer on
 * the enrolment (completion re-enrols them) and queues a message to them.  Reject:
 * the enrolment is `rejected`, the device `denied`, and its key and
 * install id (and address, if asked) are blocklisted.  The applicant is
 * told by e-mail, in the transaction of the final decision: a link to
 * continue (approve), or neutral words without a reason (reject).
 * @param[out] result  new JSON object {"id", "state", "kind",
 *             "enrolment_id", "device_id", "enrolment_state"} on CORE_OK
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_WRONG_STATE (closed, or the
 *         enrolment no longer waits for it), CORE_ERR_CONFLICT (the first
 *         approver approving again), CORE_ERR_FORBIDDEN (second approval by
 *         a reviewer), CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_review_decide (struct core_db *db,
                     const struct enrol_review_decision *d, json_t **result);

#endif
