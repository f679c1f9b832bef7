/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * issue.c -- the credential step: after the first OTP proved the phone,
 * the applicant chooses the credential they will log in with.
 *
 *  - device:   the activated phone's seed becomes the customer's TOTP
 *              credential (SHA256/6/30); the step of the first OTP stays
 *              spent, so that code is never accepted by verify.
 *  - otpauth:  a fresh 160-bit seed for a standard authenticator app, shown
 *              once as an otpauth:// URI and QR; the enrolment completes
 *              when otp-confirm proves the app has it.  Asking again
 *              replaces the unconfirmed seed.
 *  - hardware: a token from the imported inventory, activated by its serial
 *              and a current code (issue_hardware.c).
 *
 * Completion is one transaction: the customer row with the enrolment's PIN
 * hash, the credential, the device's owner, the customer's contact and
 * assurance code (chosen by the applicant, else drawn and carried once in
 * the answer), the message that says what happened and the enrolment's
 * final state commit together, or nothing does.  The customer is new,
 * unless two staff attached the enrolment to an existing one (review.c
 * sets reenrols_customer_id): then that customer gets the new PIN and the
 * new credential, keeps their address, language and code, and is told of
 * the new credential instead of welcomed.  Nothing else ever reaches an
 * existing customer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "authn/authn.h"
#include "authn/otp.h"
#include "authn/passkey.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "enrol/enrol_db.h"
#include "enrol/issue.h"
#include "enrol/issue_int.h"
#include "enrol/qr.h"
#include "enrol/session.h"

#define OTPAUTH_SEED_LEN 20

/* ------------------------------------------------------------ helpers */

/* Open a sealed value given as hex. @return 0 and malloc'd *plain, or -1 */
int
enrol_open_hex (const char *hex, const char *aad, uint8_t **plain,
                size_t *plen)
{
  size_t n = strlen (hex) / 2;
  uint8_t *env = malloc (n + 1);
  int rc = -1;

  *plain = NULL;
  *plen = 0;
  if (NULL != env && (long) n == core_hex_decode (hex, env, n)
      && 0 == core_open (env, n, aad, plain, plen))
    rc = 0;
  free (env);
  return rc;
}

/* Lock the enrolment in state `credential`; fill @a row. */
enum core_err
enrol_issue_lock (struct core_db *db, const char *id, struct issue_row *row,
                  enum core_db_status *st)
{
  const char *p[1] = { id };
  PGresult *r = NULL;
  enum core_err err = CORE_OK;

  memset (row, 0, sizeof *row);
  *st = core_db_exec (db, "enrol_issue_lock", 1, p, &r);
  if (CORE_DB_ONE_ROW != *st)
  {
    PQclear (r);
    return CORE_DB_NO_ROW == *st ? CORE_ERR_NOT_FOUND : CORE_ERR_INTERNAL;
  }
  if (0 == strcmp (PQgetvalue (r, 0, 1), "t"))
    err = CORE_ERR_ENROLMENT_EXPIRED;
  else if (0 != strcmp (PQgetvalue (r, 0, 0), "credential"))
    err = CORE_ERR_WRONG_STATE;
  snprintf (row->pin_hash, sizeof row->pin_hash, "%s", PQgetvalue (r, 0, 2));
  snprintf (row->device_id, sizeof row->device_id, "%s", PQgetvalue (r, 0, 3));
  snprintf (row->customer_id, sizeof row->customer_id, "%s",
            PQgetvalue (r, 0, 4));
  row->otpauth_sealed = PQgetisnull (r, 0, 5) ? NULL
                        : strdup (PQgetvalue (r, 0, 5));
  row->failures = atoi (PQgetvalue (r, 0, 6));
  /* Only two approvals name an existing customer on the enrolment. */
  row->reenrol = '\0' != PQgetvalue (r, 0, 7)[0];
  if (row->reenrol)
    snprintf (row->customer_id, sizeof row->customer_id, "%s",
              PQgetvalue (r, 0, 7));
  snprintf (row->email, sizeof row->email, "%s", PQgetvalue (r, 0, 8));
  snprintf (row->lang, sizeof row->lang, "%s", PQgetvalue (r, 0, 9));
  row->assurance_sealed = PQgetisnull (r, 0, 10) ? NULL
                          : strdup (PQgetvalue (r, 0, 10));
  PQclear (r);
  if (CORE_OK == err && '\0' == row->customer_id[0])
  {
    char *cus = core_random_id ("cus");

    if (NULL == cus)
      return CORE_ERR_INTERNAL;
    snprintf (row->customer_id, sizeof row->customer_id, "%s", cus);
    free (cus);
  }
  return err;
}

void
enrol_issue_row_clear (struct issue_row *row)
{
  free (row->otpauth_sealed);
  row->otpauth_sealed = NULL;
  free (row->assurance_sealed);
  row->assurance_sealed = NULL;
  OPENSSL_cleanse (row->assurance_code, sizeof row->assurance_code);
}

/* The customer's contact and code, and the message that says what
   happened: a welcome for a new customer, a new credential for one we
   knew (a re-enrolment two staff attached), which goes to the address we
   had, in their language, ending with the code they had.  A re-enrolment
   does not take the code the newcomer may have chosen: the messages that
   tell the customer of it must end with the code they know (they change
   it afterwards from the new phone, and are told again).  @a passkeys:
   how many passkeys this completion made theirs -- a re-enrolled
   customer is told of them too; a new one's welcome covers them. */
static enum core_db_status
issue_contact (struct core_db *db, const char *id, struct issue_row *row,
               const char *kind, long passkeys)
{
  char chosen[NOTIFY_CODE_LEN + 1] = "";
  struct notify_contact c = { .customer_id = row->customer_id,
                              .email = row->email, .lang = row->lang };
  bool created = false;
  enum core_db_status st;

  if (NULL != row->assurance_sealed && ! row->reenrol
      && 0 != notify_code_open_hex (row->assurance_sealed, "enrolment", id,
                                    chosen))
  {
    LOG_ERROR ("enrolment %s: the chosen assurance code does not open", id);
    return CORE_DB_HARD_ERROR;
  }
  c.code = '\0' != chosen[0] ? chosen : NULL;
  st = notify_contact_tx (db, &c, &created, row->assurance_code);
  if (CORE_DB_ONE_ROW == st && NULL != c.code)
    memcpy (row->assurance_code, chosen, sizeof chosen);
  OPENSSL_cleanse (chosen, sizeof chosen);
  if (CORE_DB_ONE_ROW != st)
    return st;
  if (created)
    return notify_mail_customer_tx (db, row->customer_id, NOTIFY_WELCOME,
                                    json_pack ("{s:s, s:s}", "customer_id",
                                               row->customer_id,
                                               "credential", kind));
  st = notify_mail_customer_tx (db, row->customer_id,
                                NOTIFY_DEVICE_REGISTERED,
                                json_pack ("{s:s}", "credential", kind));
  if (st >= 0 && passkeys > 0)
    st = notify_mail_customer_tx (db, row->customer_id,
                                  NOTIFY_DEVICE_REGISTERED,
                                  json_pack ("{s:s}", "credential",
                                             "passkey"));
  return st;
}

void
enrol_issue_answer_code (json_t *answer, const struct issue_row *row)
{
  if (NULL != answer && '\0' != row->assurance_code[0])
    json_object_set_new (answer, "assurance_code",
                         json_string (row->assurance_code));
}

enum core_db_status
enrol_issue_customer (struct core_db *db, const struct issue_row *row)
{
  if (row->reenrol)
    return authn_customer_reenrol_tx (db, row->customer_id, row->pin_hash);
  return authn_customer_insert_tx (db, row->customer_id, row->pin_hash);
}

/* Customer row, device owner, passkeys, enrolment completed: the common
   tail. */
enum core_db_status
enrol_issue_complete (struct core_db *db, const char *id,
                      struct issue_row *row, const char *kind)
{
  const char *pc[3] = { id, row->customer_id, kind };
  const char *pd[2] = { row->device_id, row->customer_id };
  const char *pn[1] = { id };
  long passkeys = 0;
  enum core_db_status st;

  st = core_db_exec (db, "enrol_complete", 3, pc, NULL);
  if (CORE_DB_ONE_ROW == st && '\0' != row->device_id[0])
    st = core_db_exec (db, "enrol_device_owner", 2, pd, NULL);
  if (CORE_DB_ONE_ROW == st)    /* passkeys registered on the way */
    st = authn_passkey_attach_tx (db, id, row->customer_id, &passkeys);
  if (CORE_DB_ONE_ROW == st
      && (st = issue_contact (db, id, row, kind, passkeys)) >= 0)
    st = CORE_DB_ONE_ROW;       /* NO_ROW: no address, nothing queued */
  if (CORE_DB_ONE_ROW == st)
    st = core_db_exec (db, "enrol_notify", 1, pn, NULL);
  return st;
}

json_t *
enrol_issue_answer (const char *customer_id, const char *credential_id,
                    const char *kind, const char *algorithm)
{
  return json_pack ("{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:i, s:i}]}",
                    "state", "completed", "customer_id", customer_id,
                    "credentials", "id", credential_id, "kind", kind,
                    "type", "totp", "algorithm", algorithm, "digits", 6,
                    "period", 30);
}

/* ------------------------------------------------------------ device */

struct device_tx {
  const char *id;
  struct issue_row row;
  char credential_id[AUTHN_ID_MAX];
  enum core_err err;
};

static enum core_db_status
device_credential (struct core_db *db, struct device_tx *t)
{
  const char *p[1] = { t->row.device_id };
  struct authn_issue_cred c = { .customer_id = t->row.customer_id,
                                .kind = "device", .algorithm = "SHA256",
                                .digits = 6, .period = 30,
                                .device_id = t->row.device_id };
  PGresult *r = NULL;
  uint8_t *seed = NULL;
  size_t seedlen = 0;
  char aad[80];
  enum core_db_status st;

  st = core_db_exec (db, "enrol_device_seed", 1, p, &r);
  if (CORE_DB_ONE_ROW != st)
  {
    PQclear (r);
    if (CORE_DB_NO_ROW == st)
      t->err = CORE_ERR_WRONG_STATE;
    return st < 0 ? st : CORE_DB_NO_ROW;
  }
  snprintf (aad, sizeof aad, "device:%s", t->row.device_id);
  if (0 != enrol_open_hex (PQgetvalue (r, 0, 1), aad, &seed, &seedlen))
    st = CORE_DB_HARD_ERROR;
  else
  {
    c.seed = seed;
    c.seed_len = seedlen;
    c.last_step = strtoll (PQgetvalue (r, 0, 2), NULL, 10);
    st = authn_credential_issue_tx (db, &c);
    snprintf (t->credential_id, sizeof t->credential_id, "%s", c.id);
  }
  core_free_secret (seed, seedlen);
  PQclear (r);
  return st;
}

static enum core_db_status
device_tx_run (struct core_db *db, void *cls)
{
  struct device_tx *t = cls;
  enum core_db_status st;

  enrol_issue_row_clear (&t->row);
  t->err = enrol_issue_lock (db, t->id, &t->row, &st);
  if (st < 0 || CORE_OK != t->err)
    return st < 0 ? st : CORE_DB_NO_ROW;
  st = enrol_issue_customer (db, &t->row);
  if (CORE_DB_ONE_ROW == st)
    st = device_credential (db, t);
  if (CORE_DB_ONE_ROW == st && CORE_OK == t->err)
    st = enrol_issue_complete (db, t->id, &t->row, "device");
  return st;
}

static enum core_err
issue_device (struct core_db *db, const char *id, json_t **answer)
{
  struct device_tx t = { .id = id };
  enum core_db_status st = core_db_tx (db, false, &device_tx_run, &t);
  enum core_err err = t.err;

  if (st < 0)
    err = enrol_db_err (db);
  else if (CORE_OK == err && CORE_DB_ONE_ROW != st)
    err = CORE_ERR_INTERNAL;
  if (CORE_OK == err)
  {
    *answer = enrol_issue_answer (t.row.customer_id, t.credential_id,
                                  "device", "SHA256");
    enrol_issue_answer_code (*answer, &t.row);
    LOG_INFO ("enrolment %s completed: customer %s, device credential %s",
              id, t.row.customer_id, t.credential_id);
  }
  enrol_issue_row_clear (&t.row);
  return err;
}

/* ------------------------------------------------------------ otpauth */

struct otpauth_tx {
  const char *id;
  const char *sealed_param;
  struct issue_row row;
  enum core_err err;
};

static enum core_db_status
otpauth_tx_run (struct core_db *db, void *cls)
{
  struct otpauth_tx *t = cls;
  enum core_db_status st;

  enrol_issue_row_clear (&t->row);
  t->err = enrol_issue_lock (db, t->id, &t->row, &st);
  if (st < 0 || CORE_OK != t->err)
    return st < 0 ? st : CORE_DB_NO_ROW;
  {
    const char *p[3] = { t->id, t->sealed_param, t->row.customer_id };

    return core_db_exec (db, "enrol_otpauth_store", 3, p, NULL);
  }
}

static char *
seal_param (const uint8_t *plain, size_t len, const char *aad)
{
  uint8_t *env = NULL;
  size_t envlen = 0;
  char *hex = NULL;

  if (0 == core_seal (plain, len, aad, &env, &envlen)
      && NULL != (hex = malloc (2 * envlen + 3)))
  {
    hex[0] = '\\';
    hex[1] = 'x';
    core_hex_encode (env, envlen, hex + 2);
  }
  free (env);
  return hex;
}

static enum core_err
issue_otpauth (struct core_db *db, const char *id, json_t **answer)
{
  uint8_t seed[OTPAUTH_SEED_LEN];
  char aad[96];
  struct otpauth_tx t = { .id = id };
  char *param = NULL, *uri = NULL, *svg = NULL;
  enum core_db_status st;
  enum core_err err = CORE_ERR_INTERNAL;

  snprintf (aad, sizeof aad, "enrolment-otpauth:%s", id);
  if (0 != core_random (seed, sizeof seed)
      || NULL == (param = seal_param (seed, sizeof seed, aad)))
    goto cleanup;
  t.sealed_param = param;
  st = core_db_tx (db, false, &otpauth_tx_run, &t);
  if (st < 0)
    err = enrol_db_err (db);
  else if (CORE_OK != t.err)
    err = t.err;
  else if (NULL != (uri = authn_otpauth_uri (t.row.customer_id, seed,
                                             sizeof seed))
           && NULL != (svg = enrol_qr_svg (uri)))
  {
    *answer = json_pack ("{s:s, s:s, s:s, s:s, s:s}", "state", "credential",
                         "kind", "otpauth", "otpauth_uri", uri, "qr_svg", svg,
                         "next", "otp_confirm");
    err = NULL != *answer ? CORE_OK : CORE_ERR_INTERNAL;
  }
cleanup:
  OPENSSL_cleanse (seed, sizeof seed);
  if (NULL != uri)
    core_free_secret (uri, strlen (uri));
  if (NULL != svg)
    core_free_secret (svg, strlen (svg));
  free (param);
  enrol_issue_row_clear (&t.row);
  return err;
}

/* Called by otp-confirm in state `credential`: the app's first code. */
enum core_db_status
enrol_otpauth_confirm_tx (struct core_db *db, const char *id,
                          struct issue_row *row, const char *otp,
                          enum core_err *err, json_t **answer)
{
  struct authn_otp_params p = { .type = AUTHN_OTP_TOTP,
                                .alg = AUTHN_OTP_SHA1, .digits = 6,
                                .period = 30 };
  struct authn_issue_cred c = { .customer_id = row->customer_id,
                                .kind = "otpauth", .algorithm = "SHA1",
                                .digits = 6, .period = 30 };
  char aad[96];
  uint8_t *seed = NULL;
  size_t seedlen = 0;
  int64_t now = authn_otp_step (&p, time (NULL)), matched = -1;
  enum core_db_status st = CORE_DB_HARD_ERROR;

  snprintf (aad, sizeof aad, "enrolment-otpauth:%s", id);
  *err = CORE_ERR_INTERNAL;
  if (0 != enrol_open_hex (row->otpauth_sealed, aad, &seed, &seedlen))
    return CORE_DB_HARD_ERROR;
  if (AUTHN_OTP_MATCH != authn_otp_search (&p, seed, seedlen, otp,
                                           now - core_cfg->totp_window,
                                           now + core_cfg->totp_window,
                                           &matched))
  {
    *err = CORE_ERR_OTP_INVALID;
    st = CORE_DB_NO_ROW;
    goto cleanup;
  }
  c.seed = seed;
  c.seed_len = seedlen;
  c.last_step = matched;
  st = enrol_issue_customer (db, row);
  if (CORE_DB_ONE_ROW == st)
    st = authn_credential_issue_tx (db, &c);
  if (CORE_DB_ONE_ROW == st)
    st = enrol_issue_complete (db, id, row, "otpauth");
  if (CORE_DB_ONE_ROW == st)
  {
    *err = CORE_OK;
    if (NULL != *answer)
      json_decref (*answer);
    *answer = enrol_issue_answer (row->customer_id, c.id, "otpauth", "SHA1");
    enrol_issue_answer_code (*answer, row);
    LOG_INFO ("enrolment %s completed: customer %s, otpauth credential %s",
              id, row->customer_id, c.id);
  }
cleanup:
  core_free_secret (seed, seedlen);
  return st;
}

/* ------------------------------------------------------------ entry */

enum core_err
enrol_credential (struct core_db *db, const char *id,
                  const struct enrol_credential_req *req, json_t **answer,
                  bool *created)
{
  enum core_err err;

  *answer = NULL;
  *created = false;
  if (0 == strcmp (req->kind, "device"))
    err = issue_device (db, id, answer);
  else if (0 == strcmp (req->kind, "otpauth"))
    return issue_otpauth (db, id, answer);
  else if (0 == strcmp (req->kind, "hardware"))
    err = enrol_issue_hardware (db, id, req->serial, req->otp, answer);
  else
    return CORE_ERR_INVALID_FIELD;
  *created = CORE_OK == err;
  return err;
}
