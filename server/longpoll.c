/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * longpoll.c -- suspended requests woken by PostgreSQL LISTEN/NOTIFY.
 *
 * One thread holds a dedicated connection that LISTENs on
 * "guichet_enrolment"; any instance that changes an enrolment NOTIFYs its
 * id in the same transaction, so a browser polling instance A learns of a
 * phone that activated through instance B.  Waiting requests are suspended
 * in libmicrohttpd (no worker thread is held, nothing spins) and resumed on
 * a matching notification or at their deadline; the handler then reads the
 * state again from the database, so a lost notification only costs the
 * wait, never a wrong answer.
 *
 * A notification can arrive after a handler read the state and before it
 * registered its wait: it would find no waiter, and the change would wait
 * for the deadline.  So the last RECENT notifications are kept, numbered;
 * the request layer notes the number before each run of a handler, and a
 * wait whose key was notified since is resumed at once.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "core/db.h"
#include "core/log.h"
#include "server/longpoll.h"

#define CHANNEL "guichet_enrolment"

struct waiter {
  struct waiter *next;
  struct srv_request *rq;
  char key[64];
};

#define RECENT 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct waiter *waiters;
/* notifications received (written under lock; read without it by
   srv_longpoll_mark, which every request calls), the last RECENT of them
   by number */
static _Atomic unsigned long long seq;
static struct {
  unsigned long long seq;
  char key[64];
} recent[RECENT];
static pthread_t thread;
static volatile int running;
static int wake_pipe[2] = { -1, -1 };

static double
mono_now (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static double
deadline_of (const struct srv_request *rq)
{
  return (double) rq->deadline.tv_sec + (double) rq->deadline.tv_nsec / 1e9;
}

/* Resume the waiters matching @a key (NULL: those past their deadline;
   "*": all).  Called with the lock held. */
static void
wake_locked (const char *key)
{
  struct waiter **pp = &waiters;
  double now = mono_now ();

  while (NULL != *pp)
  {
    struct waiter *w = *pp;
    bool hit = (NULL == key) ? deadline_of (w->rq) <= now
               : (0 == strcmp (key, "*") || 0 == strcmp (key, w->key));

    if (! hit)
    {
      pp = &w->next;
      continue;
    }
    *pp = w->next;
    /* Only MHD_resume_connection here: the worker thread owns the
       request's flags and clears `suspended` when it runs it again. */
    MHD_resume_connection (w->rq->conn);
    free (w);
  }
}

/* Note notification @a key ("*": every key) and resume its waiters.
   Called with the lock held. */
static void
notified_locked (const char *key)
{
  seq++;
  recent[seq % RECENT].seq = seq;
  snprintf (recent[seq % RECENT].key, sizeof recent[0].key, "%s", key);
  wake_locked (key);
}

/* Was @a key (or every key) notified after @a mark?  When more than
   RECENT came since, it may have been: say so.  Called with the lock
   held. */
static bool
notified_since_locked (const char *key, unsigned long long mark)
{
  if (seq - mark >= RECENT)
    return seq != mark;
  for (unsigned long long s = mark + 1; s <= seq; s++)
    if (recent[s % RECENT].seq == s
        && (0 == strcmp (recent[s % RECENT].key, "*")
            || 0 == strcmp (recent[s % RECENT].key, key)))
      return true;
  return false;
}

unsigned long long
srv_longpoll_mark (void)
{
  return atomic_load_explicit (&seq, memory_order_acquire);
}

/* Milliseconds until the nearest deadline, at most 1000. */
static int
poll_timeout_ms (void)
{
  double next = mono_now () + 1.0;

  pthread_mutex_lock (&lock);
  for (struct waiter *w = waiters; NULL != w; w = w->next)
    if (deadline_of (w->rq) < next)
      next = deadline_of (w->rq);
  pthread_mutex_unlock (&lock);
  next -= mono_now ();
  return next <= 0 ? 0 : (int) (next * 1000.0) + 1;
}

static PGconn *
listen_connect (void)
{
  PGconn *c = PQconnectdb (core_db_conninfo ());
  PGresult *r;

  if (CONNECTION_OK != PQstatus (c))
  {
    PQfinish (c);
    return NULL;
  }
  r = PQexec (c, "LISTEN " CHANNEL);
  if (PGRES_COMMAND_OK != PQresultStatus (r))
  {
    PQclear (r);
    PQfinish (c);
    return NULL;
  }
  PQclear (r);
  /* Whatever changed while we were not listening: let waiters re-read. */
  pthread_mutex_lock (&lock);
  notified_locked ("*");
  pthread_mutex_unlock (&lock);
  return c;
}

static void
drain_notifications (PGconn *c)
{
  PGnotify *n;

  pthread_mutex_lock (&lock);
  while (NULL != (n = PQnotifies (c)))
  {
    notified_locked (n->extra);
    PQfreemem (n);
  }
  pthread_mutex_unlock (&lock);
}

static void *
listen_main (void *cls)
{
  PGconn *c = NULL;

  (void) cls;
  while (running)
  {
    struct pollfd p[2] = { { .fd = wake_pipe[0], .events = POLLIN },
                           { .fd = -1, .events = POLLIN } };
    char buf[64];

    if (NULL == c && NULL == (c = listen_connect ()))
      LOG_DEBUG ("long-poll LISTEN connection down; retrying");
    p[1].fd = (NULL != c) ? PQsocket (c) : -1;
    if (poll (p, 2, poll_timeout_ms ()) < 0 && EINTR != errno)
      LOG_WARN ("long-poll: poll failed: %s", strerror (errno));
    if (p[0].revents & POLLIN)
      (void) ! read (wake_pipe[0], buf, sizeof buf);
    if (NULL != c && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
    {
      if (0 == PQconsumeInput (c) || CONNECTION_OK != PQstatus (c))
      {
        PQfinish (c);
        c = NULL;
      }
      else
        drain_notifications (c);
    }
    pthread_mutex_lock (&lock);
    wake_locked (NULL);
    pthread_mutex_unlock (&lock);
  }
  if (NULL != c)
    PQfinish (c);
  return NULL;
}

int
srv_longpoll_start (void)
{
  if (0 != pipe (wake_pipe))
    return -1;
  running = 1;
  if (0 != pthread_create (&thread, NULL, &listen_main, NULL))
  {
    running = 0;
    return -1;
  }
  return 0;
}

void
srv_longpoll_stop (void)
{
  if (! running)
    return;
  running = 0;
  (void) ! write (wake_pipe[1], "x", 1);
  pthread_join (thread, NULL);
  pthread_mutex_lock (&lock);
  wake_locked ("*");
  pthread_mutex_unlock (&lock);
}

void
srv_longpoll_wait (struct srv_request *rq, const char *key,
                   unsigned int seconds)
{
  struct waiter *w = calloc (1, sizeof *w);

  if (NULL == w || ! running)
  {
    free (w);
    return;                      /* cannot wait: the handler answers now */
  }
  if (! rq->resumed)
  {
    clock_gettime (CLOCK_MONOTONIC, &rq->deadline);
    rq->deadline.tv_sec += seconds;
  }
  w->rq = rq;
  snprintf (w->key, sizeof w->key, "%s", key);
  rq->suspended = true;
  pthread_mutex_lock (&lock);
  MHD_suspend_connection (rq->conn);
  if (notified_since_locked (w->key, rq->notify_mark))
  {
    /* changed while the handler was reading: run it again now */
    MHD_resume_connection (rq->conn);
    free (w);
    pthread_mutex_unlock (&lock);
    return;
  }
  w->next = waiters;
  waiters = w;
  pthread_mutex_unlock (&lock);
  (void) ! write (wake_pipe[1], "x", 1);   /* recompute the poll timeout */
}
