/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_admin_outbox.c -- the delivery queue in the back-office:
 * GET /v1/admin/outbox?state=failed|pending|sent[&limit=N] lists messages
 * and webhook events (never a body, a link or a code), and
 * POST /v1/admin/outbox/{id}/retry puts a failed one back in the queue
 * (audited).  notify/admin.c does the work.
 */
#include <stdlib.h>
#include <string.h>

#include "notify/notify.h"
#include "server/handlers.h"

#define LIMIT_DEFAULT 50
#define LIMIT_MAX 200

void
srv_http_admin_outbox (struct srv_request *rq)
{
  const char *state = srv_query (rq, "state");
  const char *lim = srv_query (rq, "limit");
  long limit = LIMIT_DEFAULT;
  char *end = NULL;
  json_t *out = NULL;
  enum core_err err;

  if (NULL != lim)
  {
    limit = strtol (lim, &end, 10);
    if ('\0' == lim[0] || '\0' != *end || limit < 1 || limit > LIMIT_MAX)
    {
      srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                       "limit must be a whole number from 1 to 200", NULL);
      return;
    }
  }
  err = notify_admin_list (rq->db, NULL != state ? state : "failed",
                           (int) limit, &out);
  if (CORE_ERR_BAD_REQUEST == err)
    srv_reply_error (rq, err, "state must be failed, pending or sent", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, out);
}

void
srv_http_admin_outbox_retry (struct srv_request *rq)
{
  const struct core_json_field none[] = { CORE_JSON_FIELD_END };
  enum core_err err;

  if (! srv_parse_fields (rq, none))
    return;
  err = notify_admin_retry (rq->db, rq->args[0], rq->admin_username);
  if (CORE_ERR_NOT_FOUND == err)
    srv_reply_error (rq, err, "no such message or event", NULL);
  else if (CORE_ERR_WRONG_STATE == err)
    srv_reply_error (rq, err, "only a failed message or event goes back in "
                     "the queue, and not one whose link was already erased",
                     NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK, json_pack ("{s:s, s:s}", "id",
                                                rq->args[0], "state",
                                                "pending"));
}
