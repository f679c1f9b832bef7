/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_admin_audit.c -- GET /v1/admin/audit: the audit log, newest first,
 * filtered by actor, action, target and time, paged by id.
 *
 * Reviewers may read it as well as admins: the log holds who decided what
 * and why, which a reviewer needs to see the history of a case, and no
 * secret (core/audit.h).  Tampering is checked by `guichetd audit verify`,
 * not here.
 */
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "server/handlers.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200

/* A whole number in 1..max from the query, or @a dflt when absent.
   @return false if present and not such a number. */
static bool
query_number (struct srv_request *rq, const char *name, long long max,
              long long dflt, long long *out)
{
  const char *v = srv_query (rq, name);
  char *end = NULL;

  *out = dflt;
  if (NULL == v)
    return true;
  *out = strtoll (v, &end, 10);
  return '\0' != v[0] && '\0' == *end && *out >= 1 && *out <= max;
}

/* An empty filter is no filter. */
static const char *
query_filter (struct srv_request *rq, const char *name)
{
  const char *v = srv_query (rq, name);

  return (NULL != v && '\0' != v[0]) ? v : NULL;
}

void
srv_http_admin_audit (struct srv_request *rq)
{
  struct core_audit_filter f = {
    .actor = query_filter (rq, "actor"), .action = query_filter (rq, "action"),
    .target = query_filter (rq, "target"), .since = query_filter (rq, "since")
  };
  long long limit, before;
  long long next = 0;
  json_t *entries = NULL;
  enum core_err err;

  if (! query_number (rq, "limit", MAX_LIMIT, DEFAULT_LIMIT, &limit)
      || ! query_number (rq, "before_id", (long long) 1 << 62, 0, &before))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST, "limit must be 1 to 200 and "
                     "before_id a positive id", NULL);
    return;
  }
  f.limit = (int) limit;
  f.before_id = before;
  err = core_audit_list (rq->db, &f, &entries, &next);
  if (CORE_ERR_INVALID_FIELD == err)
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST, "since must be an RFC 3339 "
                     "time", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:o, s:o}", "entries", entries,
                               "next_before_id", 0 != next
                               ? json_integer (next) : json_null ()));
}
