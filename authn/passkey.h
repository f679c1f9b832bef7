/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey.h -- what server/ and enrol/ may ask of the passkey (WebAuthn)
 * module: ceremony options, registration, sign-in, the back-office's view
 * and revocation, and the activation of passkeys registered during an
 * enrolment when it completes.
 *
 * Options and credentials are WebAuthn Level 3's JSON forms
 * (PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON,
 * PublicKeyCredentialRequestOptionsJSON, AuthenticationResponseJSON) as
 * jansson trees; binary members are base64url.  Challenges live in
 * PostgreSQL (passkey_challenges): single use, 5 minutes.  libfido2 checks
 * signatures per algorithm; everything it leaves to the caller (the client
 * data, the relying party id hash, the UP and UV flags, the counter, the
 * attestation format `none`, extensions) is checked here.  No HTTP, and
 * nothing here logs a challenge or a client's bytes.
 */
#ifndef GUICHET_AUTHN_PASSKEY_H
#define GUICHET_AUTHN_PASSKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "authn/authn.h"
#include "core/db.h"
#include "core/error.h"

#define AUTHN_PASSKEY_CHALLENGE_TTL_S 300
#define AUTHN_PASSKEY_MAX_ORIGINS 8

/** The relying party as the browser sees it (from the configuration:
 *  webauthn_rp_id, webauthn_rp_name, webauthn_origins,
 *  webauthn_attestation).  All borrowed; must outlive the calls. */
struct authn_passkey_rp {
  const char *id;              /* "bank.example", "localhost" */
  const char *name;            /* shown by the authenticator */
  const char *origins[AUTHN_PASSKEY_MAX_ORIGINS];
  size_t n_origins;            /* clientDataJSON.origin must be one */
  const char *attestation;     /* "none" | "indirect" | "direct" */
  /* The AAGUID policy (server/ asks risk/'s rules): false refuses a
     registration with reason aaguid_denied.  NULL: every model. */
  bool (*aaguid_allowed) (const uint8_t aaguid[16]);
};

/** Who asks, for the challenge binding and the audit rows (borrowed). */
struct authn_passkey_who {
  const char *relying_party;   /* API key name, "enrolment", "signin-demo" */
  const char *client_addr;
};

/** Statements of the passkey module for core_db_register (once, main). */
void
authn_passkey_register_statements (void);

/**
 * Check @a rp: an rp id that is a host name, 1..8 origins whose host is
 * the rp id or below it, https (http only on a loopback host).
 * @param[out] why  a message naming what is wrong
 * @return 0, or -1
 */
int
authn_passkey_rp_check (const struct authn_passkey_rp *rp, char *why,
                        size_t whylen);

/* ------------------------------------------------------------ register */

/** Whom a registration is for. */
struct authn_passkey_owner {
  const char *customer_id;     /* also the user handle (user.id) */
  const char *enrolment_id;    /* during an enrolment, else NULL */
  const char *user_name;       /* user.name and displayName */
};

/**
 * Make a registration challenge for @a owner and the creation options,
 * excluding the customer's passkeys already registered.
 * @param[out] out  {"challenge_id", "publicKey"} on CORE_OK (caller owns)
 * @return CORE_OK, CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_passkey_register_options (struct core_db *db,
                                const struct authn_passkey_rp *rp,
                                const struct authn_passkey_who *who,
                                const struct authn_passkey_owner *owner,
                                json_t **out);

/** A registration verified, to be stored (authn_passkey_store_tx). */
struct authn_passkey_new;

/** What a registration or sign-in refusal says. */
struct authn_passkey_refusal {
  const char *bad_field;       /* CORE_ERR_INVALID_FIELD: "credential.id" */
  const char *reason;          /* POLICY_REFUSED / AUTHENTICATION_FAILED:
                                  "origin_mismatch", ... (static) */
  int attempts_remaining;      /* sign-in, counted failures; else -1 */
};

/**
 * Verify a RegistrationResponseJSON against challenge @a challenge_id:
 * the challenge must be for registration, made through the same
 * @a who->relying_party and for @a enrolment_id (NULL: none).  Nothing is
 * stored; on a refusal after the challenge was found it is spent.
 * @param[out] out  on CORE_OK, the passkey to store (free with
 *             authn_passkey_new_free)
 * @return CORE_OK; CORE_ERR_INVALID_FIELD (r->bad_field: the credential's
 *         structure, base64url, CBOR or authenticator data is malformed);
 *         CORE_ERR_NOT_FOUND (unknown challenge, or not this caller's);
 *         CORE_ERR_CONFLICT (challenge used); CORE_ERR_CHALLENGE_EXPIRED;
 *         CORE_ERR_POLICY_REFUSED (r->reason: a ceremony check, the
 *         attestation, the algorithm or the AAGUID rules refused it);
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_passkey_register_verify (struct core_db *db,
                               const struct authn_passkey_rp *rp,
                               const struct authn_passkey_who *who,
                               const char *challenge_id,
                               const char *enrolment_id, json_t *credential,
                               struct authn_passkey_new **out,
                               struct authn_passkey_refusal *r);

/** The customer id the verified registration is for (its user handle). */
const char *
authn_passkey_new_customer (const struct authn_passkey_new *pk);

void
authn_passkey_new_free (struct authn_passkey_new *pk);

/**
 * Inside the caller's transaction: spend the challenge (it must still be
 * unused and unexpired), insert the passkey -- active for its customer,
 * or @a pending (customer_id NULL until the enrolment completes) -- and
 * append "passkey.register" to the audit log.
 * @param[out] passkey_id  the new id on ONE_ROW
 * @param[out] err  on NO_ROW: CORE_ERR_CONFLICT (challenge spent meanwhile,
 *             or this credential is registered already) or
 *             CORE_ERR_CHALLENGE_EXPIRED
 * @return ONE_ROW, NO_ROW (see @a err), SOFT/HARD_ERROR.
 */
enum core_db_status
authn_passkey_store_tx (struct core_db *db, const struct authn_passkey_new *pk,
                        bool pending, char passkey_id[AUTHN_ID_MAX],
                        enum core_err *err);

/**
 * authn_passkey_register_verify() then authn_passkey_store_tx() in a
 * transaction of its own, for an existing customer (relying parties).
 * @return as both, plus CORE_ERR_CONFLICT for a credential registered
 *         already.
 */
enum core_err
authn_passkey_register (struct core_db *db, const struct authn_passkey_rp *rp,
                        const struct authn_passkey_who *who,
                        const char *challenge_id, json_t *credential,
                        char passkey_id[AUTHN_ID_MAX],
                        struct authn_passkey_refusal *r);

/**
 * Inside an enrolment's completing transaction: the passkeys registered
 * while it was pending become the new customer's.
 * @param[out] attached  how many did (on ONE_ROW); may be NULL
 * @return ONE_ROW (whether or not there were any), SOFT/HARD_ERROR.
 */
enum core_db_status
authn_passkey_attach_tx (struct core_db *db, const char *enrolment_id,
                         const char *customer_id, long *attached);

/* ------------------------------------------------------------ sign in */

/**
 * Make a sign-in challenge and the request options.  With @a customer_id
 * (may be NULL: a discoverable credential), allowCredentials lists that
 * customer's active passkeys -- none for an unknown customer, who is not
 * told apart.
 * @param[out] out  {"challenge_id", "publicKey"} on CORE_OK
 * @return CORE_OK, CORE_ERR_LOCKED (the customer is locked),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_passkey_signin_options (struct core_db *db,
                              const struct authn_passkey_rp *rp,
                              const struct authn_passkey_who *who,
                              const char *customer_id, json_t **out);

struct authn_passkey_signin_res {
  char customer_id[AUTHN_ID_MAX];
  char passkey_id[AUTHN_ID_MAX];
};

/**
 * Verify an AuthenticationResponseJSON.  Checks run cheapest first: the
 * structure (400, nothing changes), the challenge (404/409/410, not
 * counted), the passkey and the customer's lock (423 before any
 * signature check), the client data, the authenticator data and flags,
 * then the signature (libfido2) and the counter.  A failure from the
 * passkey on is counted toward the customer's lockout (authn_db_fail)
 * and spends the challenge; a counter that went backwards also flags the
 * passkey.  Success spends the challenge, advances the counter and
 * clears the failure count in one statement.
 * @return CORE_OK (@a res filled), CORE_ERR_INVALID_FIELD,
 *         CORE_ERR_NOT_FOUND, CORE_ERR_CONFLICT, CORE_ERR_CHALLENGE_EXPIRED,
 *         CORE_ERR_AUTHENTICATION_FAILED (r->reason, r->attempts_remaining
 *         when counted), CORE_ERR_LOCKED, CORE_ERR_DATABASE_UNAVAILABLE,
 *         CORE_ERR_INTERNAL.
 */
enum core_err
authn_passkey_signin (struct core_db *db, const struct authn_passkey_rp *rp,
                      const struct authn_passkey_who *who,
                      const char *challenge_id, json_t *credential,
                      struct authn_passkey_signin_res *res,
                      struct authn_passkey_refusal *r);

/* --------------------------------------------------------- back-office */

/**
 * The customer's passkeys for the back-office (no key material): a JSON
 * array of {"id", "status", "algorithm", "aaguid", "attestation",
 * "backup_eligible", "backed_up", "transports", "sign_count",
 * "created_at", "last_used_at", "flagged_at", "flag_reason", "revoked_at",
 * "revoked_by", "revoke_reason", "registered_by"}.
 * @return CORE_OK, CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_passkey_admin_list (struct core_db *db, const char *customer_id,
                          json_t **out);

/**
 * Revoke an active or flagged passkey (one conditional UPDATE) and audit
 * "passkey.revoke" in the same transaction.
 * @param reason  1..AUTHN_REVOKE_REASON_MAX characters
 * @param[out] customer_id  its customer on CORE_OK
 * @return CORE_OK, CORE_ERR_INVALID_FIELD (reason), CORE_ERR_NOT_FOUND,
 *         CORE_ERR_WRONG_STATE (revoked already, or still pending),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
authn_passkey_revoke (struct core_db *db, const char *passkey_id,
                      const char *reason, const char *actor,
                      char customer_id[AUTHN_ID_MAX]);

#endif
