/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * issue_hardware.c -- the hardware branch of the credential step: a token
 * from the imported inventory becomes the customer's credential when the
 * applicant types its serial and a current code.  The claim (token state,
 * code check, credential row) is authn/tokens.c's, inside this module's
 * completion transaction: a taken, revoked or expired token, or a wrong
 * code, leaves everything as it was -- except that a wrong code counts
 * toward the enrolment's lockout, as every wrong code does.
 */
#include <stdio.h>
#include <string.h>

#include "authn/authn.h"
#include "authn/tokens.h"
#include "core/config.h"
#include "core/log.h"
#include "enrol/issue.h"
#include "enrol/issue_int.h"
#include "enrol/session.h"

struct hardware_tx {
  const char *id;
  const char *serial;
  const char *otp;
  struct issue_row row;
  char credential_id[AUTHN_ID_MAX];
  enum core_err err;
};

static enum core_db_status
hardware_tx_run (struct core_db *db, void *cls)
{
  struct hardware_tx *t = cls;
  enum core_db_status st;

  enrol_issue_row_clear (&t->row);
  t->err = enrol_issue_lock (db, t->id, &t->row, &st);
  if (CORE_OK == t->err
      && t->row.failures >= (int) core_cfg->lockout_attempts)
    t->err = CORE_ERR_LOCKED;
  if (st < 0 || CORE_OK != t->err)
    return st < 0 ? st : CORE_DB_NO_ROW;
  st = enrol_issue_customer (db, &t->row);
  if (CORE_DB_ONE_ROW != st)
    return st < 0 ? st : CORE_DB_HARD_ERROR;
  st = authn_token_claim_tx (db, t->serial, t->otp, t->row.customer_id,
                             t->credential_id, &t->err);
  if (st < 0)
    return st;
  if (CORE_OK != t->err)
    return CORE_DB_SOFT_ERROR == st ? st : CORE_DB_HARD_ERROR;
  return enrol_issue_complete (db, t->id, &t->row, "hardware");
}

enum core_err
enrol_issue_hardware (struct core_db *db, const char *id, const char *serial,
                      const char *otp, json_t **answer)
{
  struct hardware_tx t = { .id = id, .serial = serial, .otp = otp };
  enum core_db_status st;
  enum core_err err;

  if (NULL == serial || '\0' == serial[0] || NULL == otp || '\0' == otp[0])
    return CORE_ERR_INVALID_FIELD;
  st = core_db_tx (db, false, &hardware_tx_run, &t);
  err = t.err;
  if (CORE_ERR_OTP_INVALID == err)
  {
    /* The claim rolled back with everything else; the wrong code still
       counts toward the enrolment's lockout, like a wrong first OTP. */
    const char *p[1] = { id };

    if (core_db_exec (db, "enrol_otp_fail", 1, p, NULL) < 0)
      err = enrol_db_err (db);
  }
  if (CORE_OK == err && st < 0)
    err = enrol_db_err (db);
  if (CORE_OK == err)
  {
    *answer = json_pack ("{s:s, s:s, s:[{s:s, s:s, s:s}]}", "state",
                         "completed", "customer_id", t.row.customer_id,
                         "credentials", "id", t.credential_id, "kind",
                         "hardware", "serial", serial);
    enrol_issue_answer_code (*answer, &t.row);
    LOG_INFO ("enrolment %s completed: customer %s, hardware credential %s",
              id, t.row.customer_id, t.credential_id);
  }
  enrol_issue_row_clear (&t.row);
  return err;
}
