/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_reply.c -- answers to decisions on transactions (see tx_reply.h).
 * Messages say what happened to the transaction, never which code was
 * expected or why a signature failed beyond "not of this transaction".
 */
#include <string.h>

#include "server/tx_reply.h"

static void
count (const struct authn_tx_outcome *out, enum core_err err,
       enum srv_tx_method method)
{
  if (CORE_OK == err && NULL != out->status)
    srv_metrics_transaction (0 == strcmp (out->status, "declined")
                             ? SRV_TX_DECLINED : SRV_TX_APPROVED, method);
  if (CORE_ERR_AUTHENTICATION_FAILED == err)
    srv_metrics_transaction (SRV_TX_RESPONSE_INVALID, method);
  if (CORE_ERR_PROOF_INVALID == err)
    srv_metrics_transaction (SRV_TX_SIGNATURE_INVALID, method);
  if (out->became_failed)
    srv_metrics_transaction (SRV_TX_FAILED, method);
  if (out->became_expired)
    srv_metrics_transaction (SRV_TX_EXPIRED, SRV_TX_METHOD_NONE);
}

void
srv_tx_reply_decision (struct srv_request *rq, enum core_err err,
                       const struct authn_tx_outcome *out,
                       enum srv_tx_method method)
{
  count (out, err, method);
  switch (err)
  {
  case CORE_OK:
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:s, s:s}", "id", out->id,
                                                "status", out->status));
    return;
  case CORE_ERR_AUTHENTICATION_FAILED:
    srv_reply_error (rq, err, out->became_failed
                     ? "the response code is wrong: the transaction failed"
                     : "the response code is wrong",
                     json_pack ("{s:i}", "attempts_remaining",
                                out->attempts_remaining < 0 ? 0
                                : out->attempts_remaining));
    return;
  case CORE_ERR_PROOF_INVALID:
    srv_reply_error (rq, err, "the signature is not of this transaction's "
                     "data by this phone", NULL);
    return;
  case CORE_ERR_INVALID_FIELD:
    srv_reply_bad_field (rq, "response");
    return;
  case CORE_ERR_NOT_FOUND:
    srv_reply_error (rq, err, "no such transaction", NULL);
    return;
  case CORE_ERR_FORBIDDEN:
    srv_reply_error (rq, err, "only an active phone of the transaction's "
                     "customer may answer it", NULL);
    return;
  case CORE_ERR_WRONG_STATE:
    srv_reply_error (rq, err, "the transaction is no longer pending", NULL);
    return;
  case CORE_ERR_EXPIRED:
    srv_reply_error (rq, err, "the transaction expired", NULL);
    return;
  case CORE_ERR_LOCKED:
    srv_reply_error (rq, err, "too many failed attempts: the customer is "
                     "locked", NULL);
    return;
  default:
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
}
