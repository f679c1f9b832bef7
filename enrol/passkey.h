/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * passkey.h (enrol/) -- "also use this computer": a passkey registered
 * from the applicant's browser during the enrolment, in state `credential`
 * (kept pending, the customer's from completion on) or `completed`.
 */
#ifndef GUICHET_ENROL_PASSKEY_H
#define GUICHET_ENROL_PASSKEY_H

#include <jansson.h>
#include "authn/passkey.h"
#include "core/db.h"
#include "core/error.h"

/** Statements of this file (once, from main). */
void
enrol_passkey_register_statements (void);

/**
 * Creation options for enrolment @a id, reserving its customer id (the
 * passkey's user handle) if none is yet.
 * @param[out] out  {"challenge_id", "publicKey"}
 * @return CORE_OK, CORE_ERR_WRONG_STATE (not `credential` or `completed`),
 *         CORE_ERR_ENROLMENT_EXPIRED, CORE_ERR_NOT_FOUND,
 *         CORE_ERR_POLICY_REFUSED (5 passkeys registered already),
 *         CORE_ERR_DATABASE_UNAVAILABLE, CORE_ERR_INTERNAL.
 */
enum core_err
enrol_passkey_options (struct core_db *db, const char *id,
                       const struct authn_passkey_rp *rp,
                       const char *client_addr, json_t **out);

/**
 * Verify and store the passkey the browser made for a challenge of
 * enrolment @a id: pending in state `credential`, active once completed.
 * @return CORE_OK (@a passkey_id set), the errors of
 *         enrol_passkey_options and of authn_passkey_register_verify, and
 *         CORE_ERR_CONFLICT (a credential registered already).
 */
enum core_err
enrol_passkey_register (struct core_db *db, const char *id,
                        const struct authn_passkey_rp *rp,
                        const char *client_addr, const char *challenge_id,
                        json_t *credential, char passkey_id[AUTHN_ID_MAX],
                        struct authn_passkey_refusal *r);

#endif
