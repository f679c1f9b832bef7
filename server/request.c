/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * request.c -- one HTTP request, from its first byte to its log line.
 *
 * libmicrohttpd calls srv_access_handler() for the headers, for each chunk
 * of the body and once the body is complete; this file refuses what the
 * protocol alone refuses (404, 405, 413, 415) before any handler runs,
 * reads an empty body as {} (docs/api.md, "Common rules"),
 * accumulates the body under the route's cap, checks authentication,
 * dispatches, and queues exactly one response per request.  It must never
 * let a client's input turn into a 500.  srv_request_completed() counts,
 * logs one line and frees the request.
 *
 * At the end are the small accessors handlers use: headers, query
 * arguments, and the field-table parse that answers 400 naming the field.
 * Returned strings are borrowed from libmicrohttpd or jansson and live as
 * long as the request.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "enrol/enrol.h"
#include "server/apikey.h"
#include "server/conn_guard.h"
#include "server/handlers.h"
#include "server/longpoll.h"
#include "server/metrics.h"
#include "server/proxy.h"
#include "server/server.h"

/* ------------------------------------------------------------ context */

static struct srv_request *
request_new (struct MHD_Connection *conn, const char *method, const char *url)
{
  struct srv_request *rq = calloc (1, sizeof *rq);
  uint8_t rid[8];

  if (NULL == rq)
    return NULL;
  rq->conn = conn;
  rq->method = method;
  rq->url = url;
  clock_gettime (CLOCK_MONOTONIC, &rq->started);
  if (0 != core_random (rid, sizeof rid))
    memset (rid, 0, sizeof rid);
  core_hex_encode (rid, sizeof rid, rq->request_id);
  srv_proxy_client_addr (conn, rq->client_addr, sizeof rq->client_addr);
  return rq;
}

static void
request_free (struct srv_request *rq)
{
  for (unsigned int i = 0; i < rq->nargs; i++)
    free (rq->args[i]);
  free (rq->body);
  if (NULL != rq->json)
    json_decref (rq->json);
  if (NULL != rq->response)
    MHD_destroy_response (rq->response);
  free (rq->api_key_name);
  free (rq->device_id);
  free (rq->admin_username);
  free (rq->admin_role);
  free (rq);
}

static double
elapsed_s (const struct srv_request *rq)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return (double) (now.tv_sec - rq->started.tv_sec)
         + (double) (now.tv_nsec - rq->started.tv_nsec) / 1e9;
}

/* Called by libmicrohttpd once the response is sent (or the connection
   dies): count, log one line, free the request. */
void
srv_request_completed (void *cls, struct MHD_Connection *conn,
                       void **con_cls, enum MHD_RequestTerminationCode toe)
{
  struct srv_request *rq = *con_cls;
  size_t nroutes;
  size_t idx;

  (void) cls;
  srv_conn_guard_request_done (conn);
  if (NULL == rq)
    return;
  srv_routes (&nroutes);
  idx = (NULL == rq->route) ? nroutes
        : (size_t) (rq->route - srv_routes (NULL));
  srv_metrics_request (idx, rq->status, elapsed_s (rq));
  core_log_set_request_id (rq->request_id);
  LOG_INFO ("%s %s route=%s status=%u ms=%.1f client=%s%s",
            rq->method, NULL != rq->route ? rq->route->path : "-",
            NULL != rq->route ? rq->route->name : "-", rq->status,
            elapsed_s (rq) * 1000.0, rq->client_addr,
            MHD_REQUEST_TERMINATED_COMPLETED_OK == toe ? "" : " aborted");
  core_log_set_request_id (NULL);
  request_free (rq);
  *con_cls = NULL;
}

/* ------------------------------------------------------------ protocol */

static bool
content_type_is (struct srv_request *rq, const char *want)
{
  const char *ct = srv_header (rq, MHD_HTTP_HEADER_CONTENT_TYPE);
  size_t n = strlen (want);

  if (NULL == ct)
    return false;
  if (0 != strncasecmp (ct, want, n))
    return false;
  return '\0' == ct[n] || ';' == ct[n] || ' ' == ct[n];
}

static size_t
route_cap (const struct srv_route *route)
{
  return 0 != route->max_body ? route->max_body : core_cfg->max_body;
}

static bool
authenticate_early (struct srv_request *rq);

/* First call of a request: find the route, refuse what can be refused
   before reading the body.  @return false once a reply is queued. */
static bool
request_begin (struct srv_request *rq)
{
  bool path_known = false;
  const char *clen;

  rq->route = srv_route_find (rq->method, rq->url, rq, &path_known);
  if (NULL == rq->route)
  {
    srv_reply_error (rq, path_known ? CORE_ERR_METHOD_NOT_ALLOWED
                     : CORE_ERR_NOT_FOUND, NULL, NULL);
    return false;
  }
  clen = srv_header (rq, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (NULL != clen && strtoull (clen, NULL, 10) > route_cap (rq->route))
  {
    srv_reply_error (rq, CORE_ERR_BODY_TOO_LARGE, NULL, NULL);
    return false;
  }
  if (SRV_BODY_JSON == rq->route->body
      && NULL == srv_header (rq, MHD_HTTP_HEADER_CONTENT_TYPE))
  {
    /* An empty body needs no Content-Type (curl -X POST sends none) and
       reads as {}; a body with bytes must say it is JSON: refused now
       when its length is announced, else at its first byte. */
    if (NULL != clen && 0 != strtoull (clen, NULL, 10))
    {
      srv_reply_error (rq, CORE_ERR_UNSUPPORTED_MEDIA_TYPE,
                       "expected Content-Type: application/json", NULL);
      return false;
    }
    rq->body_untyped = true;
  }
  else if (SRV_BODY_JSON == rq->route->body
           && ! content_type_is (rq, "application/json"))
  {
    srv_reply_error (rq, CORE_ERR_UNSUPPORTED_MEDIA_TYPE,
                     "expected Content-Type: application/json", NULL);
    return false;
  }
  if (SRV_BODY_RAW == rq->route->body
      && ! content_type_is (rq, rq->route->content_type))
  {
    srv_reply_error (rq, CORE_ERR_UNSUPPORTED_MEDIA_TYPE, NULL, NULL);
    return false;
  }
  return authenticate_early (rq);
}

/* Append an upload chunk, or mark the body too large and drop it. */
static void
request_accumulate (struct srv_request *rq, const char *data, size_t len)
{
  size_t cap = route_cap (rq->route);
  size_t want;
  char *nb;

  if (rq->body_too_large || SRV_BODY_NONE == rq->route->body)
    return;
  if (rq->body_untyped && 0 != len)
  {
    rq->body_untyped_refused = true;   /* dropped; 415 once it ends */
    return;
  }
  if (rq->body_len + len > cap)
  {
    rq->body_too_large = true;
    return;
  }
  want = rq->body_len + len + 1;
  if (want > rq->body_cap)
  {
    size_t ncap = rq->body_cap ? rq->body_cap * 2 : 1024;

    while (ncap < want)
      ncap *= 2;
    nb = realloc (rq->body, ncap);
    if (NULL == nb)
    {
      rq->body_too_large = true;
      return;
    }
    rq->body = nb;
    rq->body_cap = ncap;
  }
  memcpy (rq->body + rq->body_len, data, len);
  rq->body_len += len;
  rq->body[rq->body_len] = '\0';
}

/* @return false once a reply is queued. */
static bool
request_authenticate (struct srv_request *rq)
{
  const char *authz;
  enum core_err err;

  if (SRV_AUTH_APPLICANT == rq->route->auth)
  {
    err = enrol_session_check (rq->db, srv_applicant_token (rq), rq->args[0]);
    if (CORE_OK != err)
    {
      srv_reply_error (rq, err, CORE_ERR_UNAUTHORIZED == err
                       ? "the session expired: continue with the link sent "
                         "to your e-mail" : NULL, NULL);
      return false;
    }
    return true;
  }
  if (SRV_AUTH_DEVICE == rq->route->auth)
    return srv_device_authenticate (rq);
  if (SRV_AUTH_ADMIN == rq->route->auth)
    return srv_admin_authenticate (rq);
  if (SRV_AUTH_API_KEY != rq->route->auth)
    return true;
  authz = srv_header (rq, MHD_HTTP_HEADER_AUTHORIZATION);
  if (NULL == authz || 0 != strncmp (authz, "Bearer ", 7) || '\0' == authz[7])
  {
    srv_reply_error (rq, CORE_ERR_UNAUTHORIZED,
                     "missing Authorization: Bearer <api key>", NULL);
    return false;
  }
  if (rq->route->key_in_handler)
    err = srv_apikey_hash (authz + 7, rq->api_key_hash);
  else
    err = srv_apikey_check (rq->db, authz + 7, &rq->api_key_name);
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return false;
  }
  return true;
}

/* Before an error is answered on a route whose handler checks the API key
   (srv_route.key_in_handler), the key is checked here: a caller without a
   live key is told 401 and nothing about its body.  @return false once
   the 401 (or 503) is queued. */
static bool
key_confirmed (struct srv_request *rq)
{
  const char *authz = srv_header (rq, MHD_HTTP_HEADER_AUTHORIZATION);
  enum core_err err = CORE_ERR_UNAUTHORIZED;

  if (! rq->route->key_in_handler || NULL != rq->api_key_name)
    return true;
  if (NULL == rq->db)
    rq->db = core_db_thread ();
  if (NULL == rq->db)
    err = CORE_ERR_DATABASE_UNAVAILABLE;
  else if (NULL != authz && 0 == strncmp (authz, "Bearer ", 7))
    err = srv_apikey_check (rq->db, authz + 7, &rq->api_key_name);
  if (CORE_OK == err)
    return true;
  srv_reply_error (rq, err, NULL, NULL);
  return false;
}

/* Routes authenticated by headers alone (API key, sessions) are checked
   before the body is read, so an unauthenticated client cannot make us
   buffer a large upload.  Signed device requests need the body's hash and
   are checked once it is here.  @return false once a reply is queued. */
static bool
authenticate_early (struct srv_request *rq)
{
  if (SRV_AUTH_NONE == rq->route->auth || SRV_AUTH_DEVICE == rq->route->auth)
    return true;
  rq->db = core_db_thread ();
  if (NULL == rq->db)
  {
    srv_reply_error (rq, CORE_ERR_DATABASE_UNAVAILABLE, NULL, NULL);
    return false;
  }
  if (! request_authenticate (rq))
    return false;
  rq->authenticated = true;
  return true;
}

static enum MHD_Result
query_value_text (void *cls, enum MHD_ValueKind kind, const char *key,
                  const char *value)
{
  bool *ok = cls;

  (void) kind;
  if (! srv_query_text_ok (key, SIZE_MAX)
      || ! srv_query_text_ok (value, SIZE_MAX))
  {
    *ok = false;
    return MHD_NO;
  }
  return MHD_YES;
}

/* Every query name and value is UTF-8: no handler has to think of bytes
   that are not text (a search for %FF must be a 400, never reach SQL as
   an encoding error).  @return whether they all are. */
static bool
query_is_text (struct srv_request *rq)
{
  bool ok = true;

  MHD_get_connection_values (rq->conn, MHD_GET_ARGUMENT_KIND,
                             &query_value_text, &ok);
  return ok;
}

/* The whole body is here: parse, authenticate, dispatch. */
static void
request_run (struct srv_request *rq)
{
  const char *why = NULL;

  if (rq->body_too_large)
  {
    if (key_confirmed (rq))
      srv_reply_error (rq, CORE_ERR_BODY_TOO_LARGE, NULL, NULL);
    return;
  }
  if (rq->body_untyped_refused)
  {
    if (! key_confirmed (rq))
      return;
    srv_reply_error (rq, CORE_ERR_UNSUPPORTED_MEDIA_TYPE,
                     "expected Content-Type: application/json", NULL);
    return;
  }
  /* An empty body (POST or DELETE) is read as {}, with or
     without Content-Type: application/json. */
  if (SRV_BODY_JSON == rq->route->body && NULL == rq->json
      && 0 == rq->body_len)
    rq->json = json_object ();
  if (SRV_BODY_JSON == rq->route->body && NULL == rq->json)
  {
    if (CORE_OK != core_json_load (rq->body ? rq->body : "", rq->body_len,
                                   &rq->json, &why))
    {
      if (! key_confirmed (rq))
        return;
      srv_reply_error (rq, CORE_ERR_MALFORMED_JSON, why, NULL);
      return;
    }
  }
  if (rq->route->needs_db)
  {
    rq->db = core_db_thread ();
    if (NULL == rq->db)
    {
      srv_reply_error (rq, CORE_ERR_DATABASE_UNAVAILABLE, NULL, NULL);
      return;
    }
  }
  /* A long poll resumed by longpoll.c was authenticated when it began;
     checking an applicant session again would count the wait as idle. */
  if (! rq->resumed && ! rq->authenticated && ! request_authenticate (rq))
    return;
  if (! query_is_text (rq))
  {
    srv_reply_error (rq, CORE_ERR_BAD_REQUEST,
                     "a query parameter is not UTF-8 text", NULL);
    return;
  }
  rq->notify_mark = srv_longpoll_mark ();
  rq->route->handler (rq);
  if (rq->suspended)
    return;                       /* longpoll.c resumes it later */
  if (! rq->replied)
  {
    LOG_BUG ("handler %s queued no reply", rq->route->name);
    srv_reply_error (rq, CORE_ERR_INTERNAL, NULL, NULL);
  }
}

static enum MHD_Result
queue_reply (struct srv_request *rq)
{
  enum MHD_Result ret;

  if (NULL == rq->response)
    return MHD_NO;
  ret = MHD_queue_response (rq->conn, rq->status, rq->response);
  MHD_destroy_response (rq->response);
  rq->response = NULL;
  return ret;
}

enum MHD_Result
srv_access_handler (void *cls, struct MHD_Connection *conn,
                    const char *url, const char *method,
                    const char *version, const char *upload_data,
                    size_t *upload_data_size, void **con_cls)
{
  struct srv_request *rq = *con_cls;

  (void) cls;
  (void) version;
  if (NULL == rq)
  {
    srv_conn_guard_request_begun (conn);
    rq = request_new (conn, method, url);
    if (NULL == rq)
      return MHD_NO;
    *con_cls = rq;
    core_log_set_request_id (rq->request_id);
    if (! request_begin (rq))
      return queue_reply (rq);
    return MHD_YES;
  }
  if (rq->replied)
  {
    /* An early error is queued: swallow whatever body still arrives. */
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (0 != *upload_data_size)
  {
    request_accumulate (rq, upload_data, *upload_data_size);
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (rq->suspended)
  {
    /* longpoll.c resumed this connection: run the handler again. */
    rq->suspended = false;
    rq->resumed = true;
  }
  core_log_set_request_id (rq->request_id);
  request_run (rq);
  core_log_set_request_id (NULL);
  if (rq->suspended)
    return MHD_YES;
  return queue_reply (rq);
}

size_t
srv_unescape (void *cls, struct MHD_Connection *conn, char *s)
{
  char *out = s;

  (void) cls;
  (void) conn;
  for (const char *in = s; '\0' != *in; in++)
  {
    int hi = '%' == in[0] ? core_hex_digit (in[1]) : -1;
    int lo = hi >= 0 ? core_hex_digit (in[2]) : -1;

    if (lo >= 0 && 0 != hi + lo)
    {
      *out++ = (char) (16 * hi + lo);
      in += 2;
    }
    else
      *out++ = *in;
  }
  *out = '\0';
  return (size_t) (out - s);
}

/* ------------------------------------------------------------ accessors */

const char *
srv_header (struct srv_request *rq, const char *name)
{
  return MHD_lookup_connection_value (rq->conn, MHD_HEADER_KIND, name);
}

const char *
srv_query (struct srv_request *rq, const char *name)
{
  return MHD_lookup_connection_value (rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool
srv_query_text_ok (const char *v, size_t max)
{
  json_t *j;

  if (NULL == v)
    return true;
  if (strlen (v) > max)
    return false;
  j = json_string (v);          /* jansson holds only valid UTF-8 */
  json_decref (j);
  return NULL != j;
}

bool
srv_parse_fields (struct srv_request *rq, const struct core_json_field *fields)
{
  const char *bad = NULL;

  if (CORE_OK == core_json_parse (rq->json, fields, &bad))
    return true;
  if (! key_confirmed (rq))
    return false;
  srv_reply_bad_field (rq, NULL != bad ? bad : "body");
  return false;
}
