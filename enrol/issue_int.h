/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * issue_int.h -- internal to enrol/: pieces shared by the credential step
 * (issue.c, issue_hardware.c) and the otp-confirm step (pin_otp.c).
 */
#ifndef GUICHET_ENROL_ISSUE_INT_H
#define GUICHET_ENROL_ISSUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/db.h"
#include "core/error.h"
#include "notify/notify.h"

struct issue_row {
  char pin_hash[256];
  char device_id[64];
  char customer_id[64];     /* reserved at the first credential request */
  bool reenrol;             /* customer_id is an existing customer that two
                               staff attached this enrolment to */
  char *otpauth_sealed;     /* hex, or NULL */
  int failures;
  char email[256];          /* the applicant's, for the customer's contact */
  char lang[4];
  char *assurance_sealed;   /* hex of the code the applicant chose, or NULL */
  char assurance_code[NOTIFY_CODE_LEN + 1]; /* set at completion when chosen
                                               or drawn: the answer's */
};

/** Lock the enrolment in state `credential`, fill @a row (a customer id is
 *  chosen if none is reserved yet). */
enum core_err
enrol_issue_lock (struct core_db *db, const char *id, struct issue_row *row,
                  enum core_db_status *st);

void
enrol_issue_row_clear (struct issue_row *row);

/** The customer of a completing enrolment: a new row, or -- only for an
 *  attached re-enrolment -- the existing customer's new PIN. */
enum core_db_status
enrol_issue_customer (struct core_db *db, const struct issue_row *row);

/** Mark the enrolment completed, give the device its owner, make the
 *  customer's contact and assurance code (row->assurance_code), queue the
 *  welcome (or, for a known customer, the new-credential message), notify. */
enum core_db_status
enrol_issue_complete (struct core_db *db, const char *id,
                      struct issue_row *row, const char *kind);

/** Add "assurance_code" to a completion answer when one was set now. */
void
enrol_issue_answer_code (json_t *answer, const struct issue_row *row);

/** The 201 body of a completed enrolment. */
json_t *
enrol_issue_answer (const char *customer_id, const char *credential_id,
                    const char *kind, const char *algorithm);

int
enrol_open_hex (const char *hex, const char *aad, uint8_t **plain,
                size_t *plen);

/** otp-confirm of a pending otpauth seed (inside the caller's tx). */
enum core_db_status
enrol_otpauth_confirm_tx (struct core_db *db, const char *id,
                          struct issue_row *row, const char *otp,
                          enum core_err *err, json_t **answer);

/** The hardware branch of the credential step (issue_hardware.c). */
enum core_err
enrol_issue_hardware (struct core_db *db, const char *id, const char *serial,
                      const char *otp, json_t **answer);

#endif
