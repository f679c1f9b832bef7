/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * daemon.c -- the libmicrohttpd daemon of guichetd.
 *
 * Worker threads are sized for database concurrency, not for cores: each of
 * the `workers` threads holds its own PostgreSQL connection and blocks on
 * it, so `workers` transactions can be in flight for PostgreSQL's group
 * commit.  That only holds if connections are spread over the workers, and
 * libmicrohttpd's own thread pool does not spread them: its workers share
 * the listening socket and whichever wakes first accepts up to ten at once
 * (16 connections from one client landed on 5 to 7 of 16 threads, so at
 * most 5 to 7 requests ran at a time).  Here one acceptor thread owns the
 * listening socket and hands each connection to the worker -- a
 * single-threaded libmicrohttpd daemon -- with the fewest open.
 *
 * This file also accumulates bodies under the route's cap, answers the
 * protocol errors (404, 405, 413, 415) before any handler runs, checks
 * authentication, and queues exactly one response per request.  It must
 * never let a client's input turn into a 500.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"
#include "enrol/enrol.h"
#include "risk/risk.h"
#include "server/apikey.h"
#include "server/handlers.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/proxy.h"
#include "server/longpoll.h"

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
static void
request_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
                   enum MHD_RequestTerminationCode toe)
{
  struct srv_request *rq = *con_cls;
  size_t nroutes;
  size_t idx;

  (void) cls;
  (void) conn;
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
  err = srv_apikey_check (rq->db, authz + 7, &rq->api_key_name);
  if (CORE_OK != err)
  {
    srv_reply_error (rq, err, NULL, NULL);
    return false;
  }
  return true;
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

/* The whole body is here: parse, authenticate, dispatch. */
static void
request_run (struct srv_request *rq)
{
  const char *why = NULL;

  if (rq->body_too_large)
  {
    srv_reply_error (rq, CORE_ERR_BODY_TOO_LARGE, NULL, NULL);
    return;
  }
  if (SRV_BODY_JSON == rq->route->body && NULL == rq->json)
  {
    if (CORE_OK != core_json_load (rq->body ? rq->body : "", rq->body_len,
                                   &rq->json, &why))
    {
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

static enum MHD_Result
access_handler (void *cls, struct MHD_Connection *conn, const char *url,
                const char *method, const char *version,
                const char *upload_data, size_t *upload_data_size,
                void **con_cls)
{
  struct srv_request *rq = *con_cls;

  (void) cls;
  (void) version;
  if (NULL == rq)
  {
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

/* ------------------------------------------------------------ listen */

static int
parse_listen (const char *listen, struct sockaddr_storage *ss,
              socklen_t *sslen)
{
  char host[128];
  const char *colon = strrchr (listen, ':');
  size_t hlen;
  long port;
  char *end;

  if (NULL == colon)
    return -1;
  hlen = (size_t) (colon - listen);
  if (hlen >= sizeof host)
    return -1;
  memcpy (host, listen, hlen);
  host[hlen] = '\0';
  port = strtol (colon + 1, &end, 10);
  if ('\0' != *end || port < 0 || port > 65535)
    return -1;
  memset (ss, 0, sizeof *ss);
  if ('[' == host[0] && hlen > 2 && ']' == host[hlen - 1])
  {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;

    host[hlen - 1] = '\0';
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons ((uint16_t) port);
    *sslen = sizeof *s6;
    return 1 == inet_pton (AF_INET6, host + 1, &s6->sin6_addr) ? 0 : -1;
  }
  struct sockaddr_in *s4 = (struct sockaddr_in *) ss;

  s4->sin_family = AF_INET;
  s4->sin_port = htons ((uint16_t) port);
  *sslen = sizeof *s4;
  return 1 == inet_pton (AF_INET, host, &s4->sin_addr) ? 0 : -1;
}

/* ------------------------------------------------------------ workers */

#define MAX_CONNECTIONS 4000

struct worker {
  struct MHD_Daemon *d;
  atomic_uint open;             /* connections handed to it, not yet closed */
};

static struct {
  struct worker *w;
  unsigned int n;
  int listen_fd;
  atomic_bool stopping;
  pthread_t thread;
  unsigned int next;            /* where the search for a tie starts */
} pool = { .listen_fd = -1 };

static void
connection_notify (void *cls, struct MHD_Connection *conn,
                   void **socket_context,
                   enum MHD_ConnectionNotificationCode toe)
{
  struct worker *w = cls;

  (void) conn;
  (void) socket_context;
  if (MHD_CONNECTION_NOTIFY_CLOSED == toe)
    atomic_fetch_sub (&w->open, 1);
}

/* The worker with the fewest open connections; ties go round. */
static struct worker *
least_loaded (unsigned int *total)
{
  struct worker *best = NULL;
  unsigned int best_open = UINT_MAX;

  *total = 0;
  for (unsigned int k = 0; k < pool.n; k++)
  {
    struct worker *w = &pool.w[(pool.next + k) % pool.n];
    unsigned int open = atomic_load (&w->open);

    *total += open;
    if (open < best_open)
    {
      best = w;
      best_open = open;
    }
  }
  pool.next = (pool.next + 1) % pool.n;
  return best;
}

static void *
acceptor (void *cls)
{
  (void) cls;
  for (;;)
  {
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    unsigned int total;
    struct worker *w;
    int fd = accept4 (pool.listen_fd, (struct sockaddr *) &addr, &len,
                      SOCK_CLOEXEC);

    if (fd < 0)
    {
      if (atomic_load (&pool.stopping))
        break;
      if (EINTR != errno && ECONNABORTED != errno && EPROTO != errno)
      {
        /* out of descriptors or memory, or worse: log, let the backlog
           wait a moment rather than spin */
        struct timespec ts = { 0, 10 * 1000 * 1000 };

        LOG_WARN ("accept: %s", strerror (errno));
        nanosleep (&ts, NULL);
      }
      continue;
    }
    w = least_loaded (&total);
    if (total >= MAX_CONNECTIONS)
    {
      close (fd);
      continue;
    }
    atomic_fetch_add (&w->open, 1);
    if (MHD_YES != MHD_add_connection (w->d, fd, (struct sockaddr *) &addr,
                                       len))
      atomic_fetch_sub (&w->open, 1);   /* it closed fd */
  }
  return NULL;
}

static int
listen_on (const struct sockaddr_storage *ss, socklen_t sslen)
{
  int one = 1;
  int fd = socket (ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  if (0 != setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one)
      || (AF_INET6 == ss->ss_family
          && 0 != setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
                              sizeof one))
      || 0 != bind (fd, (const struct sockaddr *) ss, sslen)
      || 0 != listen (fd, 1024))
  {
    int e = errno;

    close (fd);
    errno = e;
    return -1;
  }
  return fd;
}

static void
workers_stop (void)
{
  if (pool.listen_fd >= 0)
  {
    atomic_store (&pool.stopping, true);
    shutdown (pool.listen_fd, SHUT_RDWR);       /* wakes accept() */
    pthread_join (pool.thread, NULL);
    close (pool.listen_fd);
    pool.listen_fd = -1;
  }
  for (unsigned int i = 0; i < pool.n; i++)
    if (NULL != pool.w[i].d)
      MHD_stop_daemon (pool.w[i].d);
  free (pool.w);
  pool.w = NULL;
  pool.n = 0;
}

/* @return 0, or -1 (logged, nothing left running). */
static int
workers_start (const struct sockaddr_storage *ss, socklen_t sslen)
{
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL
                       | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG
                       | MHD_USE_ITC | MHD_USE_NO_LISTEN_SOCKET;
  sigset_t all, old;
  int rc;

  if (AF_INET6 == ss->ss_family)
    flags |= MHD_USE_IPv6;
  pool.n = core_cfg->workers;
  pool.w = calloc (pool.n, sizeof *pool.w);
  if (NULL == pool.w)
    return -1;
  for (unsigned int i = 0; i < pool.n; i++)
  {
    pool.w[i].d = MHD_start_daemon (
      flags, 0, NULL, NULL, &access_handler, NULL,
      MHD_OPTION_NOTIFY_COMPLETED, &request_completed, NULL,
      MHD_OPTION_NOTIFY_CONNECTION, &connection_notify, &pool.w[i],
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 60,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned int) MAX_CONNECTIONS,
      MHD_OPTION_END);
    if (NULL == pool.w[i].d)
    {
      LOG_ERROR ("cannot start HTTP worker %u", i);
      workers_stop ();
      return -1;
    }
  }
  pool.listen_fd = listen_on (ss, sslen);
  if (pool.listen_fd < 0)
  {
    LOG_ERROR ("cannot listen on %s: %s", core_cfg->listen, strerror (errno));
    workers_stop ();
    return -1;
  }
  atomic_store (&pool.stopping, false);
  /* signals are for the main thread's loop */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  rc = pthread_create (&pool.thread, NULL, &acceptor, NULL);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (0 != rc)
  {
    close (pool.listen_fd);
    pool.listen_fd = -1;
    workers_stop ();
    return -1;
  }
  return 0;
}

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void
on_stop_signal (int sig)
{
  (void) sig;
  stop_requested = 1;
}

static void
on_reload_signal (int sig)
{
  (void) sig;
  reload_requested = 1;
}

static void
panic_cb (void *cls, const char *file, unsigned int line, const char *reason)
{
  (void) cls;
  LOG_BUG ("libmicrohttpd panic at %s:%u: %s", file, line,
           NULL != reason ? reason : "-");
  abort ();
}

int
srv_serve (void)
{
  struct sockaddr_storage ss;
  socklen_t sslen;
  size_t nroutes;

  if (0 != parse_listen (core_cfg->listen, &ss, &sslen))
  {
    LOG_ERROR ("bad listen address '%s' (want HOST:PORT)", core_cfg->listen);
    return 2;
  }
  srv_routes (&nroutes);
  srv_metrics_init (nroutes);
  MHD_set_panic_func (&panic_cb, NULL);
  signal (SIGPIPE, SIG_IGN);
  signal (SIGINT, on_stop_signal);
  signal (SIGTERM, on_stop_signal);
  signal (SIGHUP, on_reload_signal);
  if (0 != workers_start (&ss, sslen))
    return 1;
  if (0 != srv_longpoll_start ())
    LOG_WARN ("long-poll thread not started: ?wait answers at once");
  LOG_INFO ("guichetd listening on http://%s with %u workers",
            core_cfg->listen, core_cfg->workers);
  /* Signals only set flags; this loop acts on them.  sleep() returns early
     when a signal arrives, and a flag set during a reload is seen on the
     next turn, so no SIGHUP is lost. */
  while (! stop_requested)
  {
    if (! reload_requested)
    {
      sleep (1);
      continue;
    }
    /* Reload data files without dropping requests: each module swaps in
       its new data only once it has loaded completely. */
    reload_requested = 0;
    LOG_INFO ("SIGHUP: reloading the sanctions list and the risk rules");
    enrol_sanctions_reload ();
    risk_reload ();
  }
  LOG_INFO ("stopping");
  srv_longpoll_stop ();
  workers_stop ();
  return 0;
}
