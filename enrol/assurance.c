/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * assurance.c -- the applicant's and the phone's side of the assurance
 * code (notify/assurance.c keeps the customer's): the code chosen during
 * the enrolment, sealed to it until completion moves it to the customer,
 * and the code the customer's phone sets later.
 *
 * The code is a secret shared with the customer: it is sealed before it
 * reaches a statement and never logged.
 */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/ratelimit.h"
#include "enrol/enrol.h"
#include "enrol/enrol_db.h"
#include "enrol/session.h"
#include "notify/notify.h"

enum core_err
enrol_assurance_code (struct core_db *db, const char *id, const char *code)
{
  char *sealed = notify_code_seal_param (code, "enrolment", id);
  const char *p[2] = { id, sealed };
  json_t *view = NULL;
  enum core_db_status st;
  enum core_err err;

  if (NULL == sealed)
    return CORE_ERR_INTERNAL;
  st = core_db_exec (db, "enrol_assurance_store", 2, p, NULL);
  free (sealed);
  if (st < 0)
    return enrol_db_err (db);
  if (CORE_DB_ONE_ROW == st)
    return CORE_OK;
  /* why not: gone, expired (moved to `expired` here), or past the step */
  err = enrol_get (db, id, &view);
  json_decref (view);
  return CORE_OK == err ? CORE_ERR_WRONG_STATE : err;
}

struct device_code_tx {
  const char *device_id;
  const char *code;
  bool has_customer;
  unsigned int rate_wait;    /* > 0: refused by the rate limit */
};

static enum core_db_status
device_code_tx (struct core_db *db, void *cls)
{
  struct device_code_tx *t = cls;
  const char *p[1] = { t->device_id };
  PGresult *r = NULL;
  enum core_db_status st;

  t->has_customer = false;
  t->rate_wait = 0;
  st = core_db_exec (db, "enrol_device_customer", 1, p, &r);
  if (CORE_DB_ONE_ROW == st)
  {
    t->has_customer = true;
    /* counted in the change's own transaction: a refused change commits
       its count, an accepted one its count and its e-mail together */
    st = NULL != core_cfg
         ? core_rate_take (db, "assurance_code_customer", PQgetvalue (r, 0, 0),
                           &core_cfg->rate_assurance_code_per_customer,
                           &t->rate_wait)
         : CORE_DB_ONE_ROW;
    if (st >= 0 && t->rate_wait > 0)
      st = CORE_DB_NO_ROW;
    else if (st >= 0)
      st = notify_code_set_tx (db, PQgetvalue (r, 0, 0), t->code, "device");
  }
  if (NULL != r)
    PQclear (r);
  return st;
}

enum core_err
enrol_device_assurance_code (struct core_db *db, const char *device_id,
                             const char *code, unsigned int *retry_after)
{
  struct device_code_tx t = { .device_id = device_id, .code = code };
  enum core_db_status st = core_db_tx (db, false, &device_code_tx, &t);

  *retry_after = t.rate_wait;
  if (st < 0)
    return enrol_db_err (db);
  if (! t.has_customer)
    return CORE_ERR_FORBIDDEN;
  if (t.rate_wait > 0)
    return CORE_ERR_RATE_LIMITED;
  if (CORE_DB_ONE_ROW != st)
    return CORE_ERR_INTERNAL;
  LOG_INFO ("device %s changed its customer's assurance code", device_id);
  return CORE_OK;
}
