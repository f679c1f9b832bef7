/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * issue.h -- the credential step: the activated phone, a standard
 * authenticator app (otpauth), or a hardware token from the inventory.
 */
#ifndef GUICHET_ENROL_ISSUE_H
#define GUICHET_ENROL_ISSUE_H

#include <jansson.h>
#include "core/db.h"
#include "core/error.h"

struct enrol_credential_req {
  const char *kind;       /* "device" | "otpauth" | "hardware" */
  const char *serial;     /* hardware */
  const char *otp;        /* hardware: a current code of the token */
};

/**
 * Issue the credential of enrolment @a id (state `credential`).
 * device and hardware complete the enrolment (201); otpauth answers the
 * URI and its QR once (200) and completes on the following otp-confirm.
 * A hardware claim refused for any reason (unknown serial, a token taken,
 * lost, revoked or out of date, a wrong code) is CORE_ERR_OTP_INVALID and
 * counts toward the lockout: the applicant is not told the token's state.
 * @param[out] answer  the JSON body on CORE_OK; on CORE_ERR_OTP_INVALID
 *             the error's extra fields ({"attempts_remaining"}) or NULL
 *             (caller owns)
 * @param[out] created true when the enrolment completed (201)
 * @return CORE_OK, CORE_ERR_WRONG_STATE, CORE_ERR_INVALID_FIELD,
 *         CORE_ERR_OTP_INVALID, CORE_ERR_LOCKED, CORE_ERR_NOT_FOUND (no
 *         such enrolment), CORE_ERR_ENROLMENT_EXPIRED,
 *         CORE_ERR_DATABASE_UNAVAILABLE.
 */
enum core_err
enrol_credential (struct core_db *db, const char *id,
                  const struct enrol_credential_req *req, json_t **answer,
                  bool *created);

#endif
