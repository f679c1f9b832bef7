/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_tx_device.c -- the phone's side of transaction authorisation, as
 * signed device requests: the pending list (long-polled), approve with a
 * signature of T, decline.
 *
 * request.c has checked the signed-request headers before these run, so
 * rq->device_id is the phone that signed.  A phone lists only its own
 * customer's transactions and answers only those; authn/ also requires
 * it to be active with an active credential, so a lost phone whose
 * credential was revoked sees and signs nothing.
 *
 * The list waits (?wait=N, N <= 25) while it is empty: the connection is
 * suspended in libmicrohttpd and woken by NOTIFY on the customer's id,
 * sent by whichever instance created a transaction for them.
 *
 * Each pending transaction carries the customer's assurance code
 * ("assurance_code", API.md), read from notify/ for this answer only, so
 * the phone shows it beside the amount and the payee: a request without
 * it, or with another, is not the bank's.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "authn/transaction.h"
#include "notify/notify.h"
#include "server/handlers.h"
#include "server/longpoll.h"
#include "server/tx_reply.h"

#define MAX_WAIT 25

/* @return 0..25 from ?wait=, 0 when absent, or -1 (an error is queued). */
long
srv_wait_param (struct srv_request *rq)
{
  const char *w = srv_query (rq, "wait");
  char *end = NULL;
  long wait;

  if (NULL == w)
    return 0;
  wait = strtol (w, &end, 10);
  if ('\0' == w[0] || '\0' != *end || wait < 0 || wait > MAX_WAIT)
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                     "wait must be a whole number of seconds, 0 to 25", NULL);
    return -1;
  }
  return wait;
}

bool
srv_wait_over (const struct srv_request *rq)
{
  struct timespec now;

  if (! rq->resumed)
    return false;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return now.tv_sec > rq->deadline.tv_sec
         || (now.tv_sec == rq->deadline.tv_sec
             && now.tv_nsec >= rq->deadline.tv_nsec);
}

/* Put the customer's assurance code into every transaction of @a list.
   A customer without a code (made by the CLI), or whose code does not
   open (logged by notify/), gets none: the phone then warns not to
   approve.  @return CORE_OK, or CORE_ERR_DATABASE_UNAVAILABLE. */
static enum core_err
add_assurance_code (struct srv_request *rq, const char *customer_id,
                    json_t *list)
{
  char code[NOTIFY_CODE_LEN + 1];
  json_t *tx;
  size_t i;
  enum core_err err = notify_code_get (rq->db, customer_id, code);

  if (CORE_OK == err)
    json_array_foreach (json_object_get (list, "transactions"), i, tx)
      json_object_set_new (tx, "assurance_code", json_string (code));
  OPENSSL_cleanse (code, sizeof code);
  return CORE_ERR_DATABASE_UNAVAILABLE == err ? err : CORE_OK;
}

void
srv_http_tx_pending (struct srv_request *rq)
{
  const char *status = srv_query (rq, "status");
  char customer_id[AUTHN_ID_MAX];
  json_t *list = NULL;
  size_t count = 0;
  long wait;
  enum core_err err;

  if (NULL == rq->device_id || 0 != strcmp (rq->device_id, rq->args[0]))
  {
    srv_reply_error (rq, CORE_ERR_FORBIDDEN,
                     "a phone may only list its own transactions", NULL);
    return;
  }
  if (NULL != status && 0 != strcmp (status, "pending"))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                     "only status=pending can be listed", NULL);
    return;
  }
  if ((wait = srv_wait_param (rq)) < 0)
    return;
  err = authn_tx_pending (rq->db, rq->device_id, &list, customer_id, &count);
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, CORE_ERR_FORBIDDEN == err
                     ? "this phone may not approve payments: it is not "
                       "active, or its credential was revoked" : NULL, NULL);
    return;
  }
  if (0 == count && wait > 0 && ! srv_wait_over (rq))
  {
    srv_longpoll_wait (rq, customer_id, (unsigned int) wait);
    if (rq->suspended)
    {
      json_decref (list);
      return;
    }
  }
  if (count > 0
      && CORE_OK != (err = add_assurance_code (rq, customer_id, list)))
  {
    json_decref (list);
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  srv_reply_json (rq, MHD_HTTP_OK, list);
}

void
srv_http_tx_approve (struct srv_request *rq)
{
  const char *signature = NULL;
  const struct core_json_field fields[] = {
    { .name = "signature", .type = CORE_JSON_STRING, .max_len = 200,
      .out = &signature },
    CORE_JSON_FIELD_END
  };
  struct authn_tx_who who = { .device_id = rq->device_id,
                              .client_addr = rq->client_addr };
  struct authn_tx_outcome out;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = authn_tx_approve (rq->db, rq->args[0], &who, signature, &out);
  srv_tx_reply_decision (rq, err, &out, SRV_TX_METHOD_SIGNATURE);
}

void
srv_http_tx_decline (struct srv_request *rq)
{
  struct authn_tx_who who = { .device_id = rq->device_id,
                              .client_addr = rq->client_addr };
  struct authn_tx_outcome out;
  enum core_err err = authn_tx_decline (rq->db, rq->args[0], &who, &out);

  srv_tx_reply_decision (rq, err, &out, SRV_TX_METHOD_SIGNATURE);
}
