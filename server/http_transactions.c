/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_transactions.c -- the relying party's side of transaction
 * authorisation (API key): create, read, the QR as SVG, verify an offline
 * response code, and the evidence of an approval.
 *
 * A transaction belongs to the key that created it: any other key gets
 * 404, as for an id that does not exist.  The create answer holds the
 * approval link's secret (in approval_url) and is sent only to that key;
 * no answer and no log line holds a response code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/transaction.h"
#include "core/crypto.h"
#include "enrol/qr.h"
#include "server/handlers.h"
#include "server/metrics.h"
#include "server/tx_reply.h"

void
srv_http_tx_create (struct srv_request *rq)
{
  struct authn_tx_new req = {
    .api_key_name = rq->api_key_name, .client_addr = rq->client_addr,
    .base_url = srv_public_url (),
  };
  const struct core_json_field fields[] = {
    { .name = "customer_id", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req.customer_id },
    { .name = "amount", .type = CORE_JSON_STRING, .max_len = 32,
      .out = &req.amount },
    { .name = "currency", .type = CORE_JSON_STRING, .max_len = 8,
      .out = &req.currency },
    { .name = "payee_name", .type = CORE_JSON_STRING, .max_len = 400,
      .out = &req.payee_name },
    { .name = "payee_iban", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req.payee_iban },
    { .name = "return_url", .type = CORE_JSON_STRING, .optional = true,
      .max_len = AUTHN_TX_URL_MAX, .out = &req.return_url },
    CORE_JSON_FIELD_END
  };
  struct authn_tx_created c;
  char body_hash[65], svg[128];
  json_t *reasons = NULL;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  req.idempotency_key = srv_header (rq, "Idempotency-Key");
  if (NULL != req.idempotency_key
      && (strlen (req.idempotency_key) < 8
          || strlen (req.idempotency_key) > 128))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                     "Idempotency-Key must be 8 to 128 characters", NULL);
    return;
  }
  core_sha256_hex (rq->body, rq->body_len, body_hash);
  req.body_sha256_hex = body_hash;
  err = authn_tx_create (rq->db, &req, &c, &reasons);
  if (CORE_ERR_POLICY_REFUSED == err)
    srv_reply_error (rq, err, "the transaction is refused: see reasons",
                     json_pack ("{s:o}", "reasons", reasons));
  else if (CORE_ERR_NO_CAPABLE_DEVICE == err)
    srv_reply_error (rq, err, NULL, json_pack ("{s:[s]}", "reasons",
                                               "no_capable_device"));
  else if (CORE_ERR_NOT_FOUND == err)
    srv_reply_error (rq, err, "no such customer", NULL);
  else if (CORE_ERR_CONFLICT == err)
    srv_reply_error (rq, err, "this Idempotency-Key was used with another "
                     "request body", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  if (CORE_OK != err)
    return;
  snprintf (svg, sizeof svg, "/v1/transactions/%s/qr.svg", c.id);
  srv_reply_json (rq, MHD_HTTP_CREATED,
                  json_pack ("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", c.id,
                             "status", "pending", "qr_payload", c.qr_payload,
                             "qr_svg", svg, "approval_url", c.approval_url,
                             "expires_at", c.expires_at));
  if (c.replayed && NULL != rq->response)
    MHD_add_response_header (rq->response, "Idempotent-Replayed", "true");
  if (! c.replayed)
    srv_metrics_transaction (SRV_TX_CREATED, SRV_TX_METHOD_NONE);
  authn_tx_created_clear (&c);
}

void
srv_http_tx_get (struct srv_request *rq)
{
  json_t *view = NULL;
  enum core_err err = authn_tx_get (rq->db, rq->args[0], rq->api_key_name,
                                    &view);

  if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "no such transaction" : NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, view);
}

void
srv_http_tx_svg (struct srv_request *rq)
{
  char *payload = NULL, *svg = NULL;
  enum core_err err = authn_tx_payload (rq->db, rq->args[0],
                                        rq->api_key_name, &payload);

  if (CORE_OK == err && NULL == (svg = enrol_qr_svg (payload)))
    err = CORE_ERR_INTERNAL;
  if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "no such transaction" : NULL, NULL);
  else
    srv_reply_bytes (rq, MHD_HTTP_OK, "image/svg+xml", svg, strlen (svg));
  free (svg);
  free (payload);
}

void
srv_http_tx_verify (struct srv_request *rq)
{
  const char *response = NULL;
  const struct core_json_field fields[] = {
    { .name = "response", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &response },
    CORE_JSON_FIELD_END
  };
  struct authn_tx_who who = { .api_key_name = rq->api_key_name,
                              .client_addr = rq->client_addr };
  struct authn_tx_outcome out;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = authn_tx_verify_response (rq->db, rq->args[0], &who, response, &out);
  srv_tx_reply_decision (rq, err, &out, SRV_TX_METHOD_RESPONSE_CODE);
}

void
srv_http_tx_evidence (struct srv_request *rq)
{
  json_t *out = NULL;
  enum core_err err = authn_tx_evidence (rq->db, rq->args[0],
                                         rq->api_key_name, &out);

  if (CORE_ERR_WRONG_STATE == err)
    srv_reply_error (rq, err, "only an approved transaction has evidence",
                     NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "no such transaction" : NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, out);
}
