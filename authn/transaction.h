/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * transaction.h -- payment approval with dynamic linking (API.md,
 * "Transaction authorisation with dynamic linking (normative)"; PSD2 RTS
 * 2018/389 Art. 5), as server/ sees it.
 *
 * A relying party creates a transaction for a customer who has an active
 * Guichet phone; the phone shows amount and payee and either signs
 *
 *   T = "guichet-tx-v1\n" id "\n" amount "\n" currency "\n" payee_name "\n"
 *       payee_iban "\n" nonce
 *
 * (online) or shows an 8-digit response code computed from its seed and T
 * (offline), which the payer types into the relying party's page or the
 * hosted approval page.  Any change to one character of T makes the
 * signature or code fail.  Each decision is one conditional UPDATE:
 * a transaction is decided once.
 *
 * These functions take plain strings and a database handle, never HTTP.
 * They never log or return a response code, and return the approval
 * link's secret only inside approval_url, to the relying party that
 * created the transaction.
 */
#ifndef GUICHET_AUTHN_TRANSACTION_H
#define GUICHET_AUTHN_TRANSACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "authn/authn.h"
#include "core/db.h"
#include "core/error.h"

#define AUTHN_TX_PAYEE_MAX_CHARS 70
#define AUTHN_TX_AMOUNT_MAX_DIGITS 15
#define AUTHN_TX_ORIGIN_MAX 300        /* bytes with the NUL */
#define AUTHN_TX_URL_MAX 2048          /* return_url, bytes */
#define AUTHN_TX_LINK_TOKEN_LEN 43     /* base64url of 32 bytes */
#define AUTHN_TX_RESPONSE_DIGITS 8

/** Statements of transactions for core_db_register (call once, main). */
void
authn_tx_register_statements (void);

/* ================================================================
 * Validators (tx_check.c): pure, for the create call and unit tests
 * ================================================================ */

/** @return the ISO 4217 minor units of @a code (0..3), or -1 when it is
 *  not in the compiled-in table of currencies (funds, metals, test codes
 *  and withdrawn codes are not). */
int
authn_tx_currency_minor_units (const char *code);

/** A positive decimal with exactly @a minor_units decimals, at most 15
 *  digits, no sign, no leading zero, no exponent, no spaces. */
bool
authn_tx_amount_valid (const char *amount, int minor_units);

/** An ISO 13616 IBAN in capitals without spaces: a known country with its
 *  length, check digits 02..98, mod 97 = 1. */
bool
authn_tx_iban_valid (const char *iban);

/** 1..70 characters of valid UTF-8; no control, bidi-control, zero-width,
 *  invisible or private-use character, no space other than U+0020, none
 *  leading, trailing or doubled. */
bool
authn_tx_payee_name_valid (const char *name);

/**
 * The origin of @a text, normalised: scheme (http or https) and host in
 * lower case, the default port left out.
 * @param whole_url  false: @a text must be an origin (a lone trailing "/"
 *                   allowed); true: a URL with an optional path and query
 *                   but no fragment
 * Refused: user info, backslashes, characters outside printable ASCII, a
 * host that is not a DNS name or a bracketed IPv6 address, a bad port.
 * @return 0, or -1
 */
int
authn_tx_origin (const char *text, bool whole_url,
                 char out[AUTHN_TX_ORIGIN_MAX]);

/** @return true if the normalised @a origin may be registered: https, or
 *  http on a loopback host (localhost, 127.0.0.1, [::1]). */
bool
authn_tx_origin_registrable (const char *origin);

/**
 * The field checks of a new transaction.
 * @return a new JSON array of reasons (empty when all is well):
 *         amount_format, currency_unknown, iban_invalid,
 *         payee_name_invalid, return_url_invalid
 */
json_t *
authn_tx_check_fields (const char *amount, const char *currency,
                       const char *payee_name, const char *payee_iban,
                       const char *return_url);

/* ================================================================
 * Creating and reading (transaction.c)
 * ================================================================ */

struct authn_tx_new {
  const char *api_key_name;      /* the relying party */
  const char *customer_id;
  const char *amount;
  const char *currency;
  const char *payee_name;
  const char *payee_iban;
  const char *return_url;        /* or NULL */
  const char *idempotency_key;   /* or NULL */
  const char *body_sha256_hex;   /* the request body's hash (idempotency) */
  const char *client_addr;
  const char *base_url;          /* public URL, for approval_url */
};

struct authn_tx_created {
  char id[AUTHN_ID_MAX];
  char expires_at[32];           /* RFC 3339 UTC */
  char *qr_payload;              /* malloc'd guichet://tx?... */
  char *approval_url;            /* malloc'd; holds the link secret */
  bool replayed;                 /* an Idempotency-Key replay */
};

/**
 * Create a transaction (one statement) and wake the customer's phones.
 * @param[out] reasons  on CORE_ERR_POLICY_REFUSED: the reasons (caller
 *             json_decref()s); NULL otherwise
 * @param[out] out  on CORE_OK (release with authn_tx_created_clear)
 * @return CORE_OK, CORE_ERR_POLICY_REFUSED (a field, or return_url not on
 *         a registered origin: reason return_url_not_allowed),
 *         CORE_ERR_NOT_FOUND (no such customer), CORE_ERR_NO_CAPABLE_DEVICE,
 *         CORE_ERR_CONFLICT (Idempotency-Key used with another body),
 *         CORE_ERR_UNAUTHORIZED (the key was revoked meanwhile),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_tx_create (struct core_db *db, const struct authn_tx_new *req,
                 struct authn_tx_created *out, json_t **reasons);

void
authn_tx_created_clear (struct authn_tx_created *c);

/**
 * The relying party's view: {"id", "status", "amount", "currency",
 * "payee_name", "payee_iban", "created_at", "expires_at", "decided_at"?,
 * "method"?}.  A pending transaction past its expiry reads "expired".
 * @return CORE_OK, CORE_ERR_NOT_FOUND (unknown, or another key's), ...
 */
enum core_err
authn_tx_get (struct core_db *db, const char *id, const char *api_key_name,
              json_t **view);

/**
 * The QR payload of a transaction the key created (for its SVG).
 * @param[out] payload  malloc'd
 * @return CORE_OK, CORE_ERR_NOT_FOUND, ...
 */
enum core_err
authn_tx_payload (struct core_db *db, const char *id,
                  const char *api_key_name, char **payload);

/**
 * The phone's pending list: {"transactions": [{"id", "amount",
 * "currency", "payee_name", "payee_iban", "nonce", "expires_at",
 * "relying_party"}]}, oldest first.  The device must be active and hold an
 * active credential.
 * @param[out] customer_id  whose transactions (the long-poll key)
 * @param[out] count        how many are pending
 * @return CORE_OK, CORE_ERR_FORBIDDEN (the phone may not approve
 *         payments), ...
 */
enum core_err
authn_tx_pending (struct core_db *db, const char *device_id, json_t **list,
                  char customer_id[AUTHN_ID_MAX], size_t *count);

/**
 * Evidence of an approved transaction: {"id", "transaction" (T),
 * "method", "signature"?, "device_id", "device_public_key_pem"?,
 * "approved_at", "relying_party", "customer_id"}.
 * @param api_key_name  the relying party, or NULL for the operator's CLI
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_WRONG_STATE (not
 *         approved), ...
 */
enum core_err
authn_tx_evidence (struct core_db *db, const char *id,
                   const char *api_key_name, json_t **out);

/**
 * The customer's latest transactions for the back-office: a JSON array of
 * {"id", "status", "method", "amount", "currency", "payee_name",
 * "payee_iban", "relying_party", "created_at", "decided_at"}.
 */
enum core_err
authn_tx_customer_list (struct core_db *db, const char *customer_id,
                        int limit, json_t **list);

/**
 * The hosted approval page's view, reached with the link's secret only:
 * {"id", "status", "relying_party", "amount", "currency", "payee_name",
 * "payee_iban", "qr_payload", "expires_at", "seconds_left", "decided_at"?,
 * "method"?, "return_to"? (return_url with ?transaction=<id>, once the
 * transaction is no longer pending)}.
 * @param[out] id  the transaction (long-poll key)
 * @return CORE_OK, CORE_ERR_NOT_FOUND (no transaction has this link), ...
 */
enum core_err
authn_tx_link_view (struct core_db *db, const char *token, json_t **view,
                    char id[AUTHN_ID_MAX]);

/* ================================================================
 * Deciding (tx_decide.c)
 * ================================================================ */

/** Who answers, for the checks and the trail. */
struct authn_tx_who {
  const char *device_id;         /* a phone (signed request), or NULL */
  const char *api_key_name;      /* a relying party, or NULL */
  const char *link_token;        /* the approval page, or NULL */
  const char *client_addr;
};

/** What a decision gave, for the answer and the metrics. */
struct authn_tx_outcome {
  char id[AUTHN_ID_MAX];
  const char *status;            /* "approved", "declined", "failed", ... */
  int attempts_remaining;        /* after a wrong code; -1 otherwise */
  bool became_failed;            /* this wrong code failed the transaction */
  bool became_expired;           /* this attempt found it expired */
};

/**
 * Approve by signature (a signed device request): @a signature_b64 must
 * be DER ECDSA-P256-SHA256 of T by the phone's key.
 * @return CORE_OK, CORE_ERR_NOT_FOUND, CORE_ERR_FORBIDDEN (not a capable
 *         phone of the transaction's customer), CORE_ERR_WRONG_STATE (not
 *         pending), CORE_ERR_EXPIRED, CORE_ERR_PROOF_INVALID (the
 *         signature is not of this T by this phone), ...
 */
enum core_err
authn_tx_approve (struct core_db *db, const char *id,
                  const struct authn_tx_who *who, const char *signature_b64,
                  struct authn_tx_outcome *out);

/** Decline (a signed device request).  Returns as authn_tx_approve,
 *  without CORE_ERR_PROOF_INVALID. */
enum core_err
authn_tx_decline (struct core_db *db, const char *id,
                  const struct authn_tx_who *who,
                  struct authn_tx_outcome *out);

/**
 * Check an offline response code, for the relying party (@a id and
 * who->api_key_name) or for the approval page (who->link_token; @a id
 * NULL).  A wrong code counts toward the customer's lockout and the
 * transaction's own count; at lockout_attempts the transaction fails.
 * @return CORE_OK (approved), CORE_ERR_AUTHENTICATION_FAILED (wrong code:
 *         out->attempts_remaining), CORE_ERR_LOCKED (the customer is
 *         locked: no code is tried), CORE_ERR_NOT_FOUND,
 *         CORE_ERR_WRONG_STATE, CORE_ERR_EXPIRED, CORE_ERR_INVALID_FIELD
 *         (not 8 digits), ...
 */
enum core_err
authn_tx_verify_response (struct core_db *db, const char *id,
                          const struct authn_tx_who *who,
                          const char *response, struct authn_tx_outcome *out);

#endif
