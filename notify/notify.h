/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * notify.h -- what the rest of Guichet may ask of notify/: queue a message
 * or an event inside its own transaction, keep a customer's contact and
 * assurance code, and run the sender that delivers what was queued.
 *
 * notify/ knows messages, not domain rules: a domain module decides that
 * something must be said and calls one of the *_tx functions below in the
 * transaction that made the change, so the message exists if and only if
 * the change committed.  The sender threads (sender.c) then deliver it at
 * least once: e-mail through the SMTP relay of `smtp_url`, events by HTTPS
 * POST to the relying party's webhook.  Nothing here knows HTTP requests;
 * no function logs or returns an assurance code except the ones whose job
 * it is (notify_code_*), and none ever sees a PIN, an OTP or a seed.
 */
#ifndef GUICHET_NOTIFY_H
#define GUICHET_NOTIFY_H

#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

/* Message kinds (outbox.kind; each is a template in templates.c). */
#define NOTIFY_RESUME_LINK        "resume_link"        /* applicant; {link} */
#define NOTIFY_REVIEW_APPROVED    "review_approved"    /* applicant; {link} */
#define NOTIFY_REVIEW_REJECTED    "review_rejected"    /* applicant; {} */
#define NOTIFY_REVIEW_QUESTION    "review_question"    /* applicant; {question} */
#define NOTIFY_WELCOME            "welcome"            /* customer; {customer_id, credential} */
#define NOTIFY_DEVICE_REGISTERED  "device_registered"  /* customer; {credential, at} */
#define NOTIFY_CREDENTIAL_REVOKED "credential_revoked" /* customer; {credential, serial?, at} */
#define NOTIFY_ACCOUNT_LOCKED     "account_locked"     /* customer; {locked_at, unlocks_at?} */
#define NOTIFY_CODE_CHANGED       "assurance_code_changed" /* customer; {by, at} */
#define NOTIFY_TX_APPROVED        "transaction_approved"   /* customer; {amount, currency, payee_name, at} */
#define NOTIFY_TX_DECLINED        "transaction_declined"   /* customer; {amount, currency, payee_name, at} */
#define NOTIFY_REENROLMENT        "identity_reenrolment"   /* customer; {at} */

/** Statements of notify/ for core_db_register (call once from main). */
void
notify_register_statements (void);

/* ================================================================
 * The assurance code
 * ================================================================ */

#define NOTIFY_CODE_LEN 6
/** The alphabet (API.md): no 0/O, 1/I to misread. */
#define NOTIFY_CODE_ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

/**
 * Check a code a person typed: 6 characters of the alphabet, lower case
 * accepted.  @param[out] out  the code in capitals.
 * @return true if it is one.
 */
bool
notify_code_normalise (const char *in, char out[NOTIFY_CODE_LEN + 1]);

/** Draw a code (CSPRNG, uniform over the alphabet). @return 0 or -1. */
int
notify_code_draw (char out[NOTIFY_CODE_LEN + 1]);

/**
 * Seal @a code for the row of @a owner ("enrolment" or "customer") @a id
 * (associated data "assurance:<owner>:<id>").
 * @return a malloc'd bytea text parameter ("\\x…"), or NULL.
 */
char *
notify_code_seal_param (const char *code, const char *owner, const char *id);

/**
 * Open a sealed code given as hex (encode(col, 'hex')).
 * @return 0 with @a out filled, or -1 (tampered, moved, unknown key).
 */
int
notify_code_open_hex (const char *hex, const char *owner, const char *id,
                      char out[NOTIFY_CODE_LEN + 1]);

/* ================================================================
 * Customers (inside the caller's transaction)
 * ================================================================ */

struct notify_contact {
  const char *customer_id;
  const char *email;         /* may be NULL */
  const char *lang;          /* "en" | "fr" */
  const char *code;          /* chosen (normalised) or NULL */
};

/**
 * Make the customer's contact row, or keep the one they have: a
 * re-enrolment changes neither the address nor the language.  The code
 * becomes @a c->code when given (set by "applicant"); otherwise a customer
 * without a code gets a drawn one and one who has a code keeps it.
 * @param[out] created  whether the row is new
 * @param[out] drawn    the code drawn now, or "" when none was
 * @return ONE_ROW, or an error status.
 */
enum core_db_status
notify_contact_tx (struct core_db *db, const struct notify_contact *c,
                   bool *created, char drawn[NOTIFY_CODE_LEN + 1]);

/**
 * Set customer @a customer_id's code to @a code (already normalised) and
 * queue NOTIFY_CODE_CHANGED, which ends with the new code.  @a set_by is
 * "device" or "staff".
 * @return ONE_ROW, NO_ROW (no such customer), or an error status.
 */
enum core_db_status
notify_code_set_tx (struct core_db *db, const char *customer_id,
                    const char *code, const char *set_by);

/**
 * The customer's code, for the phone's pending transactions.
 * @return CORE_OK, CORE_ERR_NOT_FOUND (no code), CORE_ERR_INTERNAL (it
 *         does not open), CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
notify_code_get (struct core_db *db, const char *customer_id,
                 char out[NOTIFY_CODE_LEN + 1]);

/* ================================================================
 * Queueing (inside the caller's transaction)
 * ================================================================ */

/**
 * Queue message @a kind to customer @a customer_id, in their language,
 * ending with their assurance code.  Nothing is queued for a customer
 * without an address (ONE_ROW or NO_ROW both mean "done").
 * @param params  template parameters (stolen)
 */
enum core_db_status
notify_mail_customer_tx (struct core_db *db, const char *customer_id,
                         const char *kind, json_t *params);

/**
 * Queue event @a type with @a data (stolen) for relying party
 * @a api_key_name, or for every relying party with a webhook when NULL.
 * A key without a webhook gets nothing; that is not an error.
 */
enum core_db_status
notify_event_tx (struct core_db *db, const char *type,
                 const char *api_key_name, json_t *data);

/* A payment transaction's outcome is queued by SQL, not from here:
   authn/'s deciding statements call migration 0014's
   notify_queue_transaction() for the row their conditional UPDATE won
   (the event transaction.<status> for the relying party that created it;
   for approved and declined, NOTIFY_TX_APPROVED / NOTIFY_TX_DECLINED to
   the customer), so authn/ links nothing of notify/. */

/* ================================================================
 * Webhook endpoints (the CLI)
 * ================================================================ */

/**
 * Check a webhook URL: https, or http on a loopback host; no user
 * information; at most 2048 bytes.
 * @return NULL if fine, else why not (static text).
 */
const char *
notify_webhook_url_problem (const char *url);

/**
 * Set (or replace) the webhook of API key @a api_key_name with a new
 * signing secret.
 * @param[out] secret  "whsec_…", malloc'd, shown once (core_free_secret)
 * @return CORE_OK, CORE_ERR_NOT_FOUND (no such key), CORE_ERR_INVALID_FIELD
 *         (bad URL), CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
notify_webhook_set (struct core_db *db, const char *api_key_name,
                    const char *url, char **secret);

/** notify_webhook_set inside the caller's transaction (with the key's
 *  creation, so that neither exists without the other). */
enum core_err
notify_webhook_set_tx (struct core_db *db, const char *api_key_name,
                       const char *url, char **secret);

/** Remove the webhook of @a api_key_name; pending events stay pending.
 *  @return CORE_OK, CORE_ERR_NOT_FOUND, or a database error. */
enum core_err
notify_webhook_remove (struct core_db *db, const char *api_key_name);

/* ================================================================
 * Back-office views
 * ================================================================ */

/**
 * Messages and events by state ("pending" | "failed" | "sent"), newest
 * first, at most @a limit of each; never a body, params or code.
 * @param[out] out  {"messages": [...], "events": [...]}
 * @return CORE_OK, CORE_ERR_BAD_REQUEST (state), or a database error.
 */
enum core_err
notify_admin_list (struct core_db *db, const char *state, int limit,
                   json_t **out);

/**
 * Put a failed message ("msg_<id>") or event ("evt_seq_<seq>") back in the
 * queue, with its attempts reset; audited by the caller's transaction.
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_WRONG_STATE (not failed,
 *         or its secret was already emptied), or a database error.
 */
enum core_err
notify_admin_retry (struct core_db *db, const char *id, const char *actor);

/**
 * What the back-office customer view shows of notify/: the address, the
 * language, whether and when a code was set and by whom (never the code),
 * and the last messages' kinds and states.
 * @param[out] out  a JSON object (caller owns), {} if nothing is known
 */
enum core_err
notify_admin_customer (struct core_db *db, const char *customer_id,
                       json_t **out);

/**
 * Staff change customer @a customer_id's code: to @a code (normalised),
 * or to a new drawn one when NULL -- which only the customer sees, in the
 * message that tells them.  Audited as customer.assurance_code_change by
 * @a actor, without the code.  Each change e-mails the customer, so it
 * counts toward rate_assurance_code_per_customer with the phone's.
 * @param[out] retry_after  with CORE_ERR_RATE_LIMITED, the seconds to wait
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_RATE_LIMITED, or a
 *         database error.
 */
enum core_err
notify_admin_code_change (struct core_db *db, const char *customer_id,
                          const char *code, const char *actor,
                          unsigned int *retry_after);

/* ================================================================
 * The sender
 * ================================================================ */

/**
 * Start the `notify_workers` sender threads (none when 0).  E-mail is
 * delivered only when `smtp_url` is set; webhooks always.
 * @return 0, or -1 (logged; nothing left running).
 */
int
notify_start (void);

/** Stop the sender threads, letting a delivery in flight finish. */
void
notify_stop (void);

/**
 * Write the notify/ metrics in Prometheus text format: this process's
 * counters, and the queue's depth, the age of its oldest row and the
 * failed rows, read from @a db (skipped when NULL or unreachable).
 */
void
notify_metrics_write (FILE *f, struct core_db *db);

#endif
