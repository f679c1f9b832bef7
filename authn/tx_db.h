/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_db.h -- every query of transactions, one function each (internal to
 * authn/; server/ goes through transaction.h).
 *
 * The statements that must not race are single statements: creating a
 * transaction with its "created" event, and every decision -- approve,
 * decline, expire, a counted wrong code -- is one conditional UPDATE
 * (WHERE status = 'pending' ...) with its event in a CTE.  Functions
 * return core_db statuses; none of them sees a response code, and seeds
 * travel sealed and hex-encoded.
 */
#ifndef GUICHET_AUTHN_TX_DB_H
#define GUICHET_AUTHN_TX_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "authn/authn.h"
#include "authn/device.h"
#include "authn/transaction.h"
#include "core/db.h"

/* The columns every view of one transaction reads. */
struct tx_row {
  char id[AUTHN_ID_MAX];
  char customer_id[AUTHN_ID_MAX];
  char amount[24];
  char currency[4];
  char payee_name[4 * AUTHN_TX_PAYEE_MAX_CHARS + 1];
  char payee_iban[35];
  char nonce[32];
  char status[16];           /* as the caller sees it: a pending row past
                                its expiry reads "expired" */
  bool expired_pending;      /* stored "pending", but past expires_at */
  int response_failures;
  char created_at[32];
  char expires_at[32];
  char decided_at[32];       /* "" when not decided */
  char method[16];           /* "" when not approved */
  char device_id[AUTHN_ID_MAX];
  char *return_url;          /* malloc'd or NULL */
  char relying_party[72];
  int seconds_left;          /* until expires_at, >= 0 */
};

/** Free what a tx_row holds (NULL-safe, idempotent). */
void
tx_row_clear (struct tx_row *r);

/* ---------------------------------------------------------------- create */

struct tx_db_new {
  const char *api_key_name;
  const char *customer_id;
  const char *id;
  const char *amount, *currency, *payee_name, *payee_iban, *nonce;
  const char *return_url;        /* or NULL */
  const char *return_origin;     /* its normalised origin, or NULL */
  const char *link_hash_hex;
  const char *link_sealed_hex;
  const char *idempotency_key;   /* or NULL */
  const char *request_hash_hex;  /* or NULL */
  unsigned int ttl_s;
  const char *client_addr;
};

/* What the create statement saw and did. */
struct tx_db_created {
  bool key_ok;                   /* the API key exists, not revoked */
  bool customer_ok;
  bool device_ok;                /* a capable phone exists */
  bool origin_ok;                /* return_url is on a registered origin */
  bool inserted;
  char expires_at[32];           /* when inserted */
  /* an earlier transaction with the same Idempotency-Key, when found */
  bool prior;
  struct tx_row prior_row;
  char prior_request_hash[65];
  char *prior_link_sealed_hex;   /* malloc'd */
};

void
tx_db_created_clear (struct tx_db_created *c);

/**
 * Insert a transaction and its "created" event, if the key, the customer,
 * a capable phone and the origin are all there and no transaction of this
 * key has the Idempotency-Key (which is then returned in @a out->prior).
 * @return ONE_ROW (it ran: see @a out), HARD_ERROR, SOFT_ERROR
 */
enum core_db_status
tx_db_create (struct core_db *db, const struct tx_db_new *n,
              struct tx_db_created *out);

/** NOTIFY the long-poll channel with @a key, in a statement of its own:
    a notifying commit holds a global lock, which must not wait on a WAL
    flush. */
enum core_db_status
tx_db_notify (struct core_db *db, const char *key);

/* ------------------------------------------------------------------ read */

/**
 * One transaction, by id for the key named @a api_key_name, or by the
 * link's hash (@a id NULL, @a link_hash_hex given).
 * @return ONE_ROW (@a r filled), NO_ROW, errors
 */
enum core_db_status
tx_db_get (struct core_db *db, const char *id, const char *api_key_name,
           const char *link_hash_hex, struct tx_row *r);

/**
 * The pending transactions of @a device_id's customer, if the phone is
 * capable (active, with an active credential).
 * @param[out] capable   whether it is
 * @param[out] list      a new array of the phone's view of each
 * @return ONE_ROW or NO_ROW (ran), errors
 */
enum core_db_status
tx_db_pending (struct core_db *db, const char *device_id, bool *capable,
               char customer_id[AUTHN_ID_MAX], json_t **list);

/**
 * A transaction and what @a device_id may do with it.
 * @param[out] capable  the phone is a capable phone of its customer
 * @param[out] pub      that phone's signing key (when capable)
 * @return ONE_ROW, NO_ROW (no such transaction), errors
 */
enum core_db_status
tx_db_load_for_device (struct core_db *db, const char *id,
                       const char *device_id, struct tx_row *r,
                       bool *capable, uint8_t pub[AUTHN_P256_PUB_LEN]);

/* A phone whose seed may have given a response code. */
struct tx_db_seed {
  char device_id[AUTHN_ID_MAX];
  char *sealed_hex;              /* malloc'd: devices.seed_sealed */
};

/* What checking a response code needs. */
struct tx_db_code_ctx {
  long failed_attempts;          /* the customer's */
  bool locked;
  size_t nseeds;
  struct tx_db_seed *seeds;      /* malloc'd */
};

void
tx_db_code_ctx_clear (struct tx_db_code_ctx *c);

/**
 * A transaction (as tx_db_get), its customer's lock state and the sealed
 * seeds of the customer's capable phones.
 * @return ONE_ROW, NO_ROW, errors
 */
enum core_db_status
tx_db_load_for_code (struct core_db *db, const char *id,
                     const char *api_key_name, const char *link_hash_hex,
                     struct tx_row *r, struct tx_db_code_ctx *ctx);

/* -------------------------------------------------------------- decide */

/* Who made a decision, for its event. */
struct tx_db_actor {
  const char *actor;             /* "rp:<name>", "device", "payer" */
  const char *client_addr;
};

/**
 * Approve: the conditional UPDATE (pending, not expired) that records the
 * method, the phone, T and, for a signature, the DER and the key; and the
 * "approved" event.
 * @param der  NULL for a response code
 * @return ONE_ROW (this call decided it), NO_ROW (not pending or
 *         expired), errors
 */
enum core_db_status
tx_db_approve (struct core_db *db, const char *id, const char *device_id,
               const char *t, const uint8_t *der, size_t der_len,
               const uint8_t pub[AUTHN_P256_PUB_LEN],
               const struct tx_db_actor *who);

/** Decline (conditional UPDATE + event).  Returns as tx_db_approve. */
enum core_db_status
tx_db_decline (struct core_db *db, const char *id, const char *device_id,
               const struct tx_db_actor *who);

/** Mark a pending transaction past its expiry expired (+ event).
    @return ONE_ROW (marked now), NO_ROW (already not pending), errors */
enum core_db_status
tx_db_expire (struct core_db *db, const char *id,
              const struct tx_db_actor *who);

/**
 * Count a wrong response code on the transaction (inside the caller's
 * transaction, after the customer's failure was counted): fail it at
 * @a limit codes, or when @a customer_remaining is 0; events
 * "response_invalid" and, if so, "failed".
 * @param[out] failed     it failed now
 * @param[out] remaining  codes left (min of the transaction's and the
 *                        customer's)
 * @return ONE_ROW, NO_ROW (no longer pending, or expired), errors
 */
enum core_db_status
tx_db_count_wrong_code (struct core_db *db, const char *id,
                        unsigned int limit, int customer_remaining,
                        const struct tx_db_actor *who, bool *failed,
                        int *remaining);

/** An event that decides nothing (signature_invalid, locked). */
enum core_db_status
tx_db_event (struct core_db *db, const char *id, const char *event,
             const char *method, const char *device_id,
             const struct tx_db_actor *who);

/* ------------------------------------------------------------ evidence */

struct tx_db_evidence {
  char id[AUTHN_ID_MAX];
  char status[16];
  char method[16];
  char *t;                       /* malloc'd approved T */
  uint8_t *der;                  /* malloc'd, or NULL */
  size_t der_len;
  bool has_pub;
  uint8_t pub[AUTHN_P256_PUB_LEN];
  char device_id[AUTHN_ID_MAX];
  char approved_at[40];
  char relying_party[72];
  char customer_id[AUTHN_ID_MAX];
};

void
tx_db_evidence_clear (struct tx_db_evidence *e);

/** @param api_key_name  the key that must own it, or NULL (operator)
    @return ONE_ROW, NO_ROW, errors */
enum core_db_status
tx_db_evidence (struct core_db *db, const char *id, const char *api_key_name,
                struct tx_db_evidence *e);

/** The customer's latest @a limit transactions (new array in @a list). */
enum core_db_status
tx_db_customer_list (struct core_db *db, const char *customer_id, int limit,
                     json_t **list);

#endif
