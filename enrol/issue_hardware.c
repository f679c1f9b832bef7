/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * issue_hardware.c -- the hardware branch of the credential step: a token
 * from the imported inventory becomes the customer's credential when the
 * applicant types its serial and a current code.  The claim (token state,
 * code check, credential row) is authn/tokens.c's, inside this module's
 * completion transaction: an unknown serial, a token taken, lost, revoked
 * or out of date, or a wrong code, leaves everything as it was -- except
 * that the attempt counts toward the enrolment's lockout, as every wrong
 * code does.
 *
 * The applicant hears one answer for every refusal: a wrong code (422
 * otp_invalid with attempts_remaining).  Which serials exist, which belong
 * to a customer and which were reported lost is the bank's inventory, not
 * an applicant's business: distinct answers let one cheap enrolment map it
 * (and name a customer's token on the phone to them).  The real reason
 * goes to the log only, with the enrolment and the serial, never the code.
 * What still differs is time: only an in-stock token's secret is opened
 * and its code searched (authn/tokens_claim.c), a few microseconds beside
 * the transaction's round trips.
 */
#include <stdio.h>
#include <stdlib.h>
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
  const char *why;              /* a refusal's real reason, for the log */
  int attempts_remaining;       /* after a refusal */
  enum core_err err;
};

/* A refused claim: undo the customer row (to the savepoint), count the
   attempt in this same transaction -- so that tries sent together cannot
   all pass the lockout check before the first is counted -- and answer as
   a wrong code, whatever authn said. */
static enum core_db_status
refuse (struct core_db *db, struct hardware_tx *t)
{
  const char *p[1] = { t->id };
  PGresult *r = NULL;
  enum core_db_status st;

  st = core_db_command (db, "ROLLBACK TO SAVEPOINT claim");
  if (st >= 0)
    st = core_db_exec (db, "enrol_otp_fail", 1, p, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    t->attempts_remaining = (int) core_cfg->lockout_attempts
                            - atoi (PQgetvalue (r, 0, 0));
    if (t->attempts_remaining < 0)
      t->attempts_remaining = 0;
    t->err = CORE_ERR_OTP_INVALID;
  }
  PQclear (r);
  if (CORE_DB_NO_ROW == st)     /* cannot happen under the row lock */
    st = CORE_DB_HARD_ERROR;
  return st;
}

static enum core_db_status
hardware_tx_run (struct core_db *db, void *cls)
{
  struct hardware_tx *t = cls;
  enum core_db_status st;

  t->why = NULL;
  t->attempts_remaining = -1;
  enrol_issue_row_clear (&t->row);
  t->err = enrol_issue_lock (db, t->id, &t->row, &st);
  if (CORE_OK == t->err
      && t->row.failures >= (int) core_cfg->lockout_attempts)
    t->err = CORE_ERR_LOCKED;
  if (st < 0 || CORE_OK != t->err)
    return st < 0 ? st : CORE_DB_NO_ROW;
  st = core_db_command (db, "SAVEPOINT claim");
  if (st < 0)
    return st;
  st = enrol_issue_customer (db, &t->row);
  if (CORE_DB_ONE_ROW != st)
    return st < 0 ? st : CORE_DB_HARD_ERROR;
  st = authn_token_claim_tx (db, t->serial, t->otp, t->row.customer_id,
                             t->credential_id, &t->err, &t->why);
  if (CORE_DB_NO_ROW == st && CORE_OK != t->err)
    return refuse (db, t);
  if (st < 0)
    return st;
  if (CORE_OK != t->err)
    return CORE_DB_HARD_ERROR;
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
  if (st < 0 && (CORE_OK == err || CORE_ERR_OTP_INVALID == err))
    err = enrol_db_err (db);    /* not counted, so not answered as counted */
  if (CORE_ERR_OTP_INVALID == err)
  {
    /* The back-office's record of the real reason (the log strips the
       control bytes a typed serial may hold); a token that exists but is
       not the applicant's to take is worth a warning. */
    const char *why = NULL != t.why ? t.why : "refused";

    if (0 == strcmp (why, "wrong_code") || 0 == strcmp (why, "unknown_serial"))
      LOG_INFO ("enrolment %s: hardware token %s refused (%s), %d attempts "
                "left", id, serial, why, t.attempts_remaining);
    else
      LOG_WARN ("enrolment %s: hardware token %s refused (%s), %d attempts "
                "left", id, serial, why, t.attempts_remaining);
    *answer = json_pack ("{s:i}", "attempts_remaining",
                         t.attempts_remaining);
  }
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
