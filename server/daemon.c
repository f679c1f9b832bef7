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
 * What happens to each request is request.c's; this file listens, spreads
 * connections, and runs the main loop: SIGINT/SIGTERM stop, SIGHUP
 * reloads the data files.  It also starts the retention purge
 * (core/retention.c, which also ends transactions past their expiry) and
 * notify/'s sender threads, which deliver the outbox and the webhook
 * events.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/retention.h"
#include "enrol/enrol.h"
#include "notify/notify.h"
#include "risk/risk.h"
#include "server/conn_guard.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/longpoll.h"

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

  (void) socket_context;
  if (MHD_CONNECTION_NOTIFY_STARTED == toe)
    srv_conn_guard_started (conn);
  if (MHD_CONNECTION_NOTIFY_CLOSED == toe)
  {
    srv_conn_guard_closed (conn);
    atomic_fetch_sub (&w->open, 1);
  }
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

/* Wait up to a second for a connection; sweep the header deadlines
   (conn_guard.c) at most once a second.  @return false when stopping */
static bool
wait_and_sweep (struct timespec *last_sweep)
{
  struct pollfd p = { .fd = pool.listen_fd, .events = POLLIN };
  struct timespec now;

  (void) poll (&p, 1, 1000);
  clock_gettime (CLOCK_MONOTONIC, &now);
  if (now.tv_sec != last_sweep->tv_sec)
  {
    srv_conn_guard_sweep ();
    *last_sweep = now;
  }
  return ! atomic_load (&pool.stopping);
}

static void *
acceptor (void *cls)
{
  struct timespec last_sweep = { 0, 0 };

  (void) cls;
  while (wait_and_sweep (&last_sweep))
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
      if (EINTR != errno && ECONNABORTED != errno && EPROTO != errno
          && EAGAIN != errno && EWOULDBLOCK != errno)
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
    if (total >= MAX_CONNECTIONS
        || ! srv_conn_guard_accept (fd, (struct sockaddr *) &addr, len))
    {
      close (fd);
      continue;
    }
    atomic_fetch_add (&w->open, 1);
    if (MHD_YES != MHD_add_connection (w->d, fd, (struct sockaddr *) &addr,
                                       len))
    {
      atomic_fetch_sub (&w->open, 1);   /* it closed fd */
      srv_conn_guard_forget (fd);
    }
  }
  return NULL;
}

static int
listen_on (const struct sockaddr_storage *ss, socklen_t sslen)
{
  int one = 1;
  /* non-blocking: the acceptor polls it, so it can sweep between
     connections (a poll that times out must not leave accept() waiting) */
  int fd = socket (ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   0);

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
  srv_conn_guard_free ();
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
  if (0 != srv_conn_guard_init (MAX_CONNECTIONS))
  {
    LOG_ERROR ("out of memory for the connection guard");
    return -1;
  }
  pool.n = core_cfg->workers;
  pool.w = calloc (pool.n, sizeof *pool.w);
  if (NULL == pool.w)
    return -1;
  for (unsigned int i = 0; i < pool.n; i++)
  {
    pool.w[i].d = MHD_start_daemon (
      flags, 0, NULL, NULL, &srv_access_handler, NULL,
      MHD_OPTION_NOTIFY_COMPLETED, &srv_request_completed, NULL,
      MHD_OPTION_UNESCAPE_CALLBACK, &srv_unescape, NULL,
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
  if (0 != core_retention_start ())
    LOG_WARN ("purge thread not started: nothing is purged by this instance");
  if (0 != notify_start ())
  {
    core_retention_stop ();
    srv_longpoll_stop ();
    workers_stop ();
    return 1;
  }
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
  notify_stop ();
  core_retention_stop ();
  srv_longpoll_stop ();
  workers_stop ();
  return 0;
}
