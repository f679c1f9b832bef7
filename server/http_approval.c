/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_approval.c -- the API of the hosted approval page (web/approve/),
 * where a relying party sends its payer with approval_url.
 *
 * The page holds the link's secret from the URL's fragment and sends it
 * in the Guichet-Approval header: it is in no request path, so no access
 * log or Referer carries it, and without it no transaction can be reached
 * (a wrong or missing secret is 404, as an unknown id would be).  The
 * page reads what the phone shows (relying party, amount, payee, IBAN),
 * the QR to scan, the live status (long poll, woken by NOTIFY on the
 * transaction's id and bounded by its expiry), and may submit an offline
 * response code, counted toward the lockout like the relying party's.
 * It can never approve by itself: only the phone's signature or its code
 * can.
 */
#include <stdlib.h>
#include <string.h>

#include "authn/transaction.h"
#include "enrol/qr.h"
#include "server/handlers.h"
#include "server/longpoll.h"
#include "server/tx_reply.h"

#define LINK_HEADER "Guichet-Approval"

static void
reply_no_link (struct srv_request *rq)
{
  srv_reply_error (rq, CORE_ERR_NOT_FOUND, "no transaction for this link",
                   NULL);
}

void
srv_http_approval_get (struct srv_request *rq)
{
  char id[AUTHN_ID_MAX];
  json_t *view = NULL;
  long wait, left;
  enum core_err err;

  if ((wait = srv_wait_param (rq)) < 0)
    return;
  err = authn_tx_link_view (rq->db, srv_header (rq, LINK_HEADER), &view, id);
  if (CORE_OK != err)
  {
    if (CORE_ERR_NOT_FOUND == err)
      reply_no_link (rq);
    else
      srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  /* Wait while pending, but no longer than the transaction lives: the
     answer at expiry says "expired" at once. */
  left = (long) json_integer_value (json_object_get (view, "seconds_left"));
  if (0 == strcmp (json_string_value (json_object_get (view, "status")),
                   "pending")
      && wait > 0 && ! srv_wait_over (rq))
  {
    srv_longpoll_wait (rq, id, (unsigned int) (left + 1 < wait ? left + 1
                                               : wait));
    if (rq->suspended)
    {
      json_decref (view);
      return;
    }
  }
  srv_reply_json (rq, MHD_HTTP_OK, view);
}

void
srv_http_approval_svg (struct srv_request *rq)
{
  char id[AUTHN_ID_MAX];
  json_t *view = NULL;
  char *svg = NULL;
  enum core_err err = authn_tx_link_view (rq->db, srv_header (rq, LINK_HEADER),
                                          &view, id);

  if (CORE_ERR_NOT_FOUND == err)
  {
    reply_no_link (rq);
    return;
  }
  if (CORE_OK == err
      && NULL == (svg = enrol_qr_svg (json_string_value (
                    json_object_get (view, "qr_payload")))))
    err = CORE_ERR_INTERNAL;
  if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_bytes (rq, MHD_HTTP_OK, "image/svg+xml", svg, strlen (svg));
  free (svg);
  json_decref (view);
}

void
srv_http_approval_verify (struct srv_request *rq)
{
  const char *response = NULL;
  const struct core_json_field fields[] = {
    { .name = "response", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &response },
    CORE_JSON_FIELD_END
  };
  struct authn_tx_who who = { .link_token = srv_header (rq, LINK_HEADER),
                              .client_addr = rq->client_addr };
  struct authn_tx_outcome out;
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = authn_tx_verify_response (rq->db, NULL, &who, response, &out);
  if (CORE_ERR_NOT_FOUND == err)
    reply_no_link (rq);
  else
    srv_tx_reply_decision (rq, err, &out, SRV_TX_METHOD_RESPONSE_CODE);
}
