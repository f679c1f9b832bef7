/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_authn.c -- POST /v1/authn/verify and /v1/authn/resync, for relying
 * parties holding an API key.
 *
 * The answer never says which factor failed: wrong PIN, wrong or replayed
 * OTP and unknown customer give the same 401 body (attempts_remaining is
 * added only where the customer exists).  A lock answers 423 with the time
 * it ends (locked_until, Retry-After); a rate limit answers 429 with
 * Retry-After.
 * The order of the checks, cheap first, is authn/'s business.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authn/authn.h"
#include "server/handlers.h"
#include "server/metrics.h"

static void
reply_outcome (struct srv_request *rq, enum core_err err,
               const struct authn_verify_res *res)
{
  json_t *extra = NULL;

  switch (err)
  {
  case CORE_OK:
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:s}", "result", "accepted",
                               "credential_id", res->credential_id));
    return;
  case CORE_ERR_AUTHENTICATION_FAILED:
    if (res->attempts_remaining >= 0)
      extra = json_pack ("{s:i}", "attempts_remaining",
                         res->attempts_remaining);
    srv_reply_error (rq, err, "authentication failed", extra);
    return;
  case CORE_ERR_LOCKED:
    srv_reply_locked (rq, res->locked_until, res->retry_after, NULL);
    return;
  case CORE_ERR_RATE_LIMITED:
    srv_reply_rate_limited (rq, res->retry_after);
    return;
  default:
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
}

void
srv_http_authn_verify (struct srv_request *rq)
{
  struct authn_verify_req req = {
    .client_addr = rq->client_addr,
    .api_key_hash = rq->api_key_hash
  };
  struct authn_verify_res res = { .attempts_remaining = -1 };
  const struct core_json_field fields[] = {
    { .name = "customer_id", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req.customer_id },
    { .name = "pin", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &req.pin },
    { .name = "otp", .type = CORE_JSON_STRING, .max_len = 16,
      .out = &req.otp },
    CORE_JSON_FIELD_END
  };

  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  /* The API key is checked by authn_verify's first statement (the route's
     key_in_handler): one round trip answers a refusal. */
  err = authn_verify (rq->db, &req, &res);
  if (CORE_ERR_UNAUTHORIZED == err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  free (rq->api_key_name);
  rq->api_key_name = '\0' != res.relying_party[0]
                     ? strdup (res.relying_party) : NULL;
  srv_metrics_verify (CORE_OK == err ? SRV_VERIFY_ACCEPTED
                      : CORE_ERR_AUTHENTICATION_FAILED == err ? SRV_VERIFY_FAILED
                      : CORE_ERR_LOCKED == err ? SRV_VERIFY_LOCKED
                      : CORE_ERR_RATE_LIMITED == err ? SRV_VERIFY_RATE_LIMITED
                      : SRV_VERIFY_ERROR);
  reply_outcome (rq, err, &res);
}

void
srv_http_authn_resync (struct srv_request *rq)
{
  const char *customer_id = NULL, *otp1 = NULL, *otp2 = NULL;
  struct authn_verify_res res = { .attempts_remaining = -1 };
  const struct core_json_field fields[] = {
    { .name = "customer_id", .type = CORE_JSON_STRING, .max_len = 64,
      .out = &customer_id },
    { .name = "otp1", .type = CORE_JSON_STRING, .max_len = 16, .out = &otp1 },
    { .name = "otp2", .type = CORE_JSON_STRING, .max_len = 16, .out = &otp2 },
    CORE_JSON_FIELD_END
  };
  enum core_err err;

  if (! srv_parse_fields (rq, fields))
    return;
  err = authn_resync (rq->db, customer_id, otp1, otp2, rq->client_addr,
                      rq->api_key_name, &res);
  if (CORE_OK == err)
  {
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:s}", "result", "resynchronised",
                               "credential_id", res.credential_id));
    return;
  }
  reply_outcome (rq, err, &res);
}
