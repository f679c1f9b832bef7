/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_assurance.c -- the assurance code (API.md, "Messages, webhooks and
 * the assurance code"): chosen by the applicant during the enrolment
 * (POST /v1/enrolments/{id}/assurance-code), changed by the customer's
 * phone (PUT /v1/devices/{id}/assurance-code, signed device request) or by
 * support staff on the customer view (PUT
 * /v1/admin/customers/{id}/assurance-code, audited without the code).
 *
 * The code travels only in the request that sets it; no answer repeats it
 * (the completion answer and the customer's own messages are its only
 * carriers) and it is never logged.
 */
#include <string.h>
#include <openssl/crypto.h>

#include "enrol/enrol.h"
#include "notify/notify.h"
#include "server/handlers.h"

#define CODE_HINT "the code is 6 characters from " NOTIFY_CODE_ALPHABET

/* Parse {"code"} (required unless @a optional) into @a code, normalised.
   @return false once an error reply is queued. */
static bool
parse_code (struct srv_request *rq, bool optional,
            char code[NOTIFY_CODE_LEN + 1], bool *given)
{
  const char *raw = NULL;
  const struct core_json_field fields[] = {
    { .name = "code", .type = CORE_JSON_STRING, .max_len = 16,
      .optional = optional, .out = &raw },
    CORE_JSON_FIELD_END
  };

  *given = false;
  if (! srv_parse_fields (rq, fields))
    return false;
  if (NULL == raw)
    return true;
  if (! notify_code_normalise (raw, code))
  {
    srv_reply_error (rq, CORE_ERR_INVALID_FIELD, CODE_HINT,
                     json_pack ("{s:s}", "field", "code"));
    return false;
  }
  *given = true;
  return true;
}

void
srv_http_enrolment_assurance_code (struct srv_request *rq)
{
  char code[NOTIFY_CODE_LEN + 1];
  bool given;
  enum core_err err;

  if (! parse_code (rq, false, code, &given))
    return;
  err = enrol_assurance_code (rq->db, rq->args[0], code);
  OPENSSL_cleanse (code, sizeof code);
  if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_WRONG_STATE == err
                     ? "the code can only be chosen before the enrolment "
                       "is completed" : NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:b}", "assurance_code_set",
                                                1));
}

void
srv_http_device_assurance_code (struct srv_request *rq)
{
  char code[NOTIFY_CODE_LEN + 1];
  bool given;
  unsigned int wait = 0;
  enum core_err err;

  if (NULL == rq->device_id || 0 != strcmp (rq->device_id, rq->args[0]))
  {
    srv_reply_error (rq, CORE_ERR_FORBIDDEN,
                     "a device may only change its own customer's code",
                     NULL);
    return;
  }
  if (! parse_code (rq, false, code, &given))
    return;
  err = enrol_device_assurance_code (rq->db, rq->args[0], code, &wait);
  OPENSSL_cleanse (code, sizeof code);
  if (CORE_ERR_RATE_LIMITED == err)
    srv_reply_rate_limited (rq, (long) wait);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_FORBIDDEN == err
                     ? "this device belongs to no customer yet, or its "
                       "credential was revoked" : NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:s, s:b}", "device_id",
                                                rq->args[0],
                                                "assurance_code_set", 1));
}

void
srv_http_admin_customer_assurance_code (struct srv_request *rq)
{
  char code[NOTIFY_CODE_LEN + 1];
  bool given;
  unsigned int wait = 0;
  enum core_err err;

  if (! parse_code (rq, true, code, &given))
    return;
  err = notify_admin_code_change (rq->db, rq->args[0], given ? code : NULL,
                                  rq->admin_username, &wait);
  OPENSSL_cleanse (code, sizeof code);
  if (CORE_ERR_RATE_LIMITED == err)
    srv_reply_rate_limited (rq, (long) wait);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, CORE_ERR_NOT_FOUND == err
                     ? "no such customer" : NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:s, s:b, s:s}", "customer_id", rq->args[0],
                               "assurance_code_set", 1, "set_by", "staff"));
}
