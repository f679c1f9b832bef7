/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * http_admin_audit.c -- GET /v1/admin/audit: the audit log, newest first,
 * filtered by actor, action, target and time (since, until), paged by
 * id; and GET /v1/admin/audit/export: the same filters as a CSV file (at
 * most 10,000 rows, newest first), itself audited as audit.export.
 *
 * Reviewers may read it as well as admins: the log holds who decided what
 * and why, which a reviewer needs to see the history of a case, and no
 * secret (core/audit.h).  Tampering is checked by `guichetd audit verify`,
 * not here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/audit.h"
#include "server/handlers.h"

#define DEFAULT_LIMIT 50
#define MAX_LIMIT 200
#define EXPORT_MAX 10000
#define FILTER_MAX 254          /* actor, action, target: ids and names */
#define FILTERS_HINT "actor, action and target must be UTF-8 text of at " \
                     "most 254 characters"

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

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", or absent: PostgreSQL
   alone would also take "yesterday" or "epoch". */
static bool
rfc3339 (const char *v)
{
  static const char shape[] = "dddd-dd-ddTdd:dd:dd";
  size_t i;

  if (NULL == v)
    return true;
  for (i = 0; '\0' != shape[i]; i++)
    if ('d' == shape[i] ? (v[i] < '0' || v[i] > '9')
        : (v[i] != shape[i] && ! ('T' == shape[i] && ('t' == v[i] || ' ' == v[i]))))
      return false;
  v += i;
  if ('.' == *v)
    for (v++; *v >= '0' && *v <= '9'; v++)
      ;
  if ('Z' == *v || 'z' == *v)
    return '\0' == v[1];
  return ('+' == *v || '-' == *v) && v[1] >= '0' && v[1] <= '9'
         && v[2] >= '0' && v[2] <= '9' && ':' == v[3] && v[4] >= '0'
         && v[4] <= '9' && v[5] >= '0' && v[5] <= '9' && '\0' == v[6];
}

/* An empty filter is no filter. */
static const char *
query_filter (struct srv_request *rq, const char *name)
{
  const char *v = srv_query (rq, name);

  return (NULL != v && '\0' != v[0]) ? v : NULL;
}

/* Text filters that no entry could match (too long, not UTF-8) are
   refused before they reach the database -- or, whole, the export's own
   audit entry.  @return false once the 400 is queued. */
static bool
text_filters_ok (struct srv_request *rq, const struct core_audit_filter *f)
{
  if (srv_query_text_ok (f->actor, FILTER_MAX)
      && srv_query_text_ok (f->action, FILTER_MAX)
      && srv_query_text_ok (f->target, FILTER_MAX))
    return true;
  srv_reply_error (rq, CORE_ERR_BAD_REQUEST, FILTERS_HINT, NULL);
  return false;
}

void
srv_http_admin_audit (struct srv_request *rq)
{
  struct core_audit_filter f = {
    .actor = query_filter (rq, "actor"), .action = query_filter (rq, "action"),
    .target = query_filter (rq, "target"), .since = query_filter (rq, "since"),
    .until = query_filter (rq, "until")
  };
  long long limit, before;
  long long next = 0;
  json_t *entries = NULL;
  enum core_err err;

  if (! text_filters_ok (rq, &f))
    return;
  if (! rfc3339 (f.since) || ! rfc3339 (f.until))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST, "since and until must be "
                     "RFC 3339 times", NULL);
    return;
  }
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
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST, "since and until must be "
                     "RFC 3339 times", NULL);
  else if (CORE_OK != err)
    srv_reply_error (rq, err, NULL, NULL);
  else
    srv_reply_json (rq, MHD_HTTP_OK,
                    json_pack ("{s:o, s:o}", "entries", entries,
                               "next_before_id", 0 != next
                               ? json_integer (next) : json_null ()));
}

/* One CSV field (RFC 4180): quoted when it holds a comma, a quote or a
   line break; a leading = + - @ (a formula to a spreadsheet) is written
   after a ' so that opening the file runs nothing. */
static void
csv_field (FILE *f, const char *v, bool last)
{
  bool quote = NULL != strpbrk (v, ",\"\r\n");
  bool formula = NULL != strchr ("=+-@\t\r", v[0]) && '\0' != v[0];

  if (quote)
    fputc ('"', f);
  if (formula)
    fputc ('\'', f);
  for (const char *p = v; '\0' != *p; p++)
  {
    if ('"' == *p)
      fputc ('"', f);
    fputc (*p, f);
  }
  if (quote)
    fputc ('"', f);
  fputs (last ? "\r\n" : ",", f);
}

static char *
csv_of (json_t *entries, size_t *len)
{
  char *buf = NULL;
  FILE *f = open_memstream (&buf, len);
  json_t *e;
  size_t i;

  if (NULL == f)
    return NULL;
  fputs ("id,at,actor,action,target,details,hash\r\n", f);
  json_array_foreach (entries, i, e)
  {
    char id[24];
    char *details = json_dumps (json_object_get (e, "details"),
                                JSON_COMPACT | JSON_SORT_KEYS);

    snprintf (id, sizeof id, "%lld",
              (long long) json_integer_value (json_object_get (e, "id")));
    csv_field (f, id, false);
    csv_field (f, json_string_value (json_object_get (e, "at")), false);
    csv_field (f, json_string_value (json_object_get (e, "actor")), false);
    csv_field (f, json_string_value (json_object_get (e, "action")), false);
    csv_field (f, json_string_value (json_object_get (e, "target")), false);
    csv_field (f, NULL != details ? details : "{}", false);
    csv_field (f, json_string_value (json_object_get (e, "hash")), true);
    free (details);
  }
  fclose (f);
  return buf;
}

void
srv_http_admin_audit_export (struct srv_request *rq)
{
  struct core_audit_filter f = {
    .actor = query_filter (rq, "actor"), .action = query_filter (rq, "action"),
    .target = query_filter (rq, "target"), .since = query_filter (rq, "since"),
    .until = query_filter (rq, "until"), .limit = EXPORT_MAX
  };
  long long next = 0;
  json_t *entries = NULL;
  enum core_err err = CORE_ERR_INVALID_FIELD;
  char *csv = NULL;
  size_t len = 0;

  if (! text_filters_ok (rq, &f))
    return;
  if (rfc3339 (f.since) && rfc3339 (f.until))
    err = core_audit_list (rq->db, &f, &entries, &next);
  if (CORE_ERR_INVALID_FIELD == err)
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST, "since and until must be "
                     "RFC 3339 times", NULL);
    return;
  }
  if (CORE_OK == err)
    err = core_audit_record (rq->db, rq->admin_username, "audit.export",
                             "",
                             json_pack ("{s:s?, s:s?, s:s?, s:s?, s:s?, s:I,"
                                        " s:b}", "actor", f.actor, "action",
                                        f.action, "target", f.target,
                                        "since", f.since, "until", f.until,
                                        "rows", (json_int_t)
                                        json_array_size (entries),
                                        "truncated", 0 != next));
  if (CORE_OK == err && NULL == (csv = csv_of (entries, &len)))
    err = CORE_ERR_INTERNAL;
  json_decref (entries);
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return;
  }
  srv_reply_bytes (rq, MHD_HTTP_OK, "text/csv; charset=utf-8", csv, len);
  free (csv);
  if (NULL != rq->response)
  {
    MHD_add_response_header (rq->response, "Content-Disposition",
                             "attachment; filename=\"guichet-audit.csv\"");
    MHD_add_response_header (rq->response, "Guichet-Truncated",
                             0 != next ? "true" : "false");
  }
}
