/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * reply.c -- building responses: JSON bodies, API.md's error body, raw
 * bytes, and the security headers every response carries.
 *
 * Exactly one reply per request: a second call is our bug and is logged,
 * not sent.  Error messages come from the caller or the code's hint, never
 * from a secret.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "server/server.h"

#define PERMISSIONS_NONE "camera=(), microphone=(), geolocation=()"

static void
add_security_headers (struct MHD_Response *resp, const char *csp,
                      const char *permissions)
{
  MHD_add_response_header (resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header (resp, "Referrer-Policy", "no-referrer");
  MHD_add_response_header (resp, "X-Frame-Options", "DENY");
  MHD_add_response_header (resp, "Cross-Origin-Opener-Policy", "same-origin");
  MHD_add_response_header (resp, "Cross-Origin-Resource-Policy", "same-origin");
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, csp);
  MHD_add_response_header (resp, "Permissions-Policy", permissions);
}

void
srv_add_security_headers (struct MHD_Response *resp, bool is_html)
{
  add_security_headers (resp, is_html
                        ? "default-src 'self'; script-src 'self'; "
                          "style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; object-src 'none'; "
                          "base-uri 'none'; form-action 'self'; "
                          "frame-ancestors 'none'"
                        : "default-src 'none'; frame-ancestors 'none'",
                        PERMISSIONS_NONE);
}

static void
set_response (struct srv_request *rq, unsigned int status,
              struct MHD_Response *resp)
{
  if (rq->replied)
  {
    LOG_BUG ("second reply for one request (status %u)", status);
    MHD_destroy_response (resp);
    return;
  }
  if (NULL == resp)
  {
    LOG_BUG ("out of memory building a response");
    return;
  }
  MHD_add_response_header (resp, "X-Request-Id", rq->request_id);
  if (NULL == MHD_get_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL))
    MHD_add_response_header (resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  rq->response = resp;
  rq->status = status;
  rq->replied = true;
}

void
srv_reply_bytes (struct srv_request *rq, unsigned int status,
                 const char *mime, const void *data, size_t len)
{
  struct MHD_Response *resp;
  bool html = NULL != mime && 0 == strncmp (mime, "text/html", 9);

  resp = MHD_create_response_from_buffer (len, (void *) data,
                                          MHD_RESPMEM_MUST_COPY);
  if (NULL == resp)
  {
    LOG_BUG ("cannot allocate response");
    return;
  }
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime);
  srv_add_security_headers (resp, html);
  set_response (rq, status, resp);
}

void
srv_reply_bytes_policy (struct srv_request *rq, unsigned int status,
                        const char *mime, const void *data, size_t len,
                        const char *csp, const char *permissions)
{
  struct MHD_Response *resp;

  resp = MHD_create_response_from_buffer (len, (void *) data,
                                          MHD_RESPMEM_MUST_COPY);
  if (NULL == resp)
  {
    LOG_BUG ("cannot allocate response");
    return;
  }
  MHD_add_response_header (resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime);
  add_security_headers (resp, csp,
                        NULL != permissions ? permissions : PERMISSIONS_NONE);
  set_response (rq, status, resp);
}

void
srv_reply_json (struct srv_request *rq, unsigned int status, json_t *body)
{
  char *text = (NULL != body) ? json_dumps (body, JSON_COMPACT) : NULL;

  if (NULL != body)
    json_decref (body);
  if (NULL == text)
  {
    LOG_BUG ("cannot serialize a JSON reply");
    text = strdup ("{\"error\":{\"code\":\"internal_error\","
                   "\"message\":\"internal error\"}}");
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    if (NULL == text)
      return;
  }
  srv_reply_bytes (rq, status, "application/json; charset=utf-8", text,
                   strlen (text));
  free (text);
}

/* Retry-After: @a seconds (at least 1) on the queued response. */
static void
add_retry_after (struct srv_request *rq, long seconds)
{
  char v[24];

  if (NULL == rq->response)
    return;
  snprintf (v, sizeof v, "%ld", seconds > 0 ? seconds : 1);
  MHD_add_response_header (rq->response, MHD_HTTP_HEADER_RETRY_AFTER, v);
}

/* API.md's error body; a 429 carries Retry-After: @a retry_after. */
static void
reply_error (struct srv_request *rq, enum core_err err, const char *message,
             json_t *extra, long retry_after)
{
  const struct core_err_info *info = core_err_info (err);
  json_t *body;

  body = json_pack ("{s:{s:s, s:s}}", "error", "code", info->name,
                    "message", NULL != message ? message : info->hint);
  if (NULL != extra)
  {
    if (NULL != body)
      json_object_update_missing (body, extra);
    json_decref (extra);
  }
  if (CORE_ERR_INTERNAL == err)
    LOG_BUG ("answering internal_error on %s", rq->url);
  srv_reply_json (rq, info->http_status, body);
  if (CORE_ERR_METHOD_NOT_ALLOWED == err && NULL != rq->response)
  {
    char allow[64];

    srv_route_allow (rq->url, allow, sizeof allow);
    MHD_add_response_header (rq->response, MHD_HTTP_HEADER_ALLOW, allow);
  }
  if (CORE_ERR_RATE_LIMITED == err)
    add_retry_after (rq, retry_after);
}

void
srv_reply_error (struct srv_request *rq, enum core_err err,
                 const char *message, json_t *extra)
{
  reply_error (rq, err, message, extra, 1);
}

void
srv_reply_rate_limited (struct srv_request *rq, long retry_after)
{
  json_t *extra = json_pack ("{s:I}", "retry_after",
                             (json_int_t) (retry_after > 0 ? retry_after : 1));

  reply_error (rq, CORE_ERR_RATE_LIMITED, NULL, extra, retry_after);
}

void
srv_reply_locked (struct srv_request *rq, const char *locked_until,
                  long retry_after, json_t *extra)
{
  bool ends = NULL != locked_until && '\0' != locked_until[0];

  if (NULL == extra)
    extra = json_object ();
  json_object_set_new (extra, "locked_until",
                       ends ? json_string (locked_until) : json_null ());
  srv_reply_error (rq, CORE_ERR_LOCKED, ends
                   ? "too many failed attempts: locked until the time in "
                     "locked_until"
                   : "too many failed attempts: locked until the bank "
                     "unlocks it", extra);
  if (ends)
    add_retry_after (rq, retry_after);
}

void
srv_reply_bad_field (struct srv_request *rq, const char *field)
{
  json_t *extra = json_pack ("{s:s}", "field", field);
  char msg[160];

  snprintf (msg, sizeof msg, "field '%.100s' is missing, unknown or invalid",
            field);
  srv_reply_error (rq, CORE_ERR_INVALID_FIELD, msg, extra);
}

void
srv_reply_bad_fields (struct srv_request *rq, json_t *fields)
{
  const char *first = json_string_value (json_array_get (fields, 0));
  json_t *extra;
  char msg[200];

  if (NULL == first)
  {
    json_decref (fields);
    srv_reply_error (rq, CORE_ERR_INTERNAL, NULL, NULL);
    return;
  }
  extra = json_pack ("{s:s, s:O}", "field", first, "fields", fields);
  if (1 == json_array_size (fields))
    snprintf (msg, sizeof msg, "field '%.100s' is missing, unknown or "
              "invalid", first);
  else
    snprintf (msg, sizeof msg, "%zu fields are invalid: see \"fields\"",
              json_array_size (fields));
  json_decref (fields);
  srv_reply_error (rq, CORE_ERR_INVALID_FIELD, msg, extra);
}
