/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * conn_guard.c -- the per-address connection cap and the header deadline
 * (see conn_guard.h).
 *
 * One mutex guards two tables: a slot per descriptor (the connection's
 * address key, whether it is exempt, its libmicrohttpd connection once
 * started, its header deadline) and an open-addressing table counting the
 * open connections of each address key.  The acceptor registers a
 * connection before handing it over; libmicrohttpd's notifications (in
 * the worker threads) say when it started and when it closed -- before
 * the descriptor is closed, so a slot never outlives its socket; the
 * request hooks arm and disarm the deadline; the acceptor's sweep shuts
 * down the sockets past their deadline, under the same mutex, so it never
 * touches a descriptor already given back.  A slot that never started (a
 * connection libmicrohttpd dropped without a word) is forgotten, never
 * shut down.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "server/conn_guard.h"
#include "server/proxy.h"

#define SLOTS_MAX 65536          /* descriptors tracked */
#define KEY_LEN 9                /* family + 8 bytes (IPv4, or an IPv6 /64) */

struct slot {
  bool open;
  bool exempt;                  /* a trusted proxy: no cap, no deadline */
  uint8_t key[KEY_LEN];
  struct MHD_Connection *conn;  /* once libmicrohttpd started it */
  int64_t deadline_ms;          /* headers due by then; 0 = in a request */
  int64_t since_ms;             /* registered at */
};

struct count {
  uint8_t key[KEY_LEN];
  unsigned int n;               /* 0: empty bucket */
};

static struct {
  pthread_mutex_t lock;
  struct slot *slots;
  unsigned int nslots;
  unsigned int top;             /* highest fd registered + 1 */
  struct count *counts;
  unsigned int ncounts;         /* a power of two */
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int64_t
now_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ set-up */

/* Raise the soft descriptor limit towards what @a want connections (and
   the database connections, the log, the data files) need. */
static unsigned int
raise_nofile (unsigned int want)
{
  struct rlimit rl;

  if (0 != getrlimit (RLIMIT_NOFILE, &rl))
    return want;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
  {
    rl.rlim_cur = (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want)
                  ? want : rl.rlim_max;
    if (0 != setrlimit (RLIMIT_NOFILE, &rl))
      LOG_WARN ("cannot raise the open-file limit to %u", want);
    getrlimit (RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < want)
    LOG_WARN ("open-file limit %lu is below the %u connections allowed",
              (unsigned long) rl.rlim_cur, want);
  return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > SLOTS_MAX
         ? SLOTS_MAX : (unsigned int) rl.rlim_cur;
}

int
srv_conn_guard_init (unsigned int max_connections)
{
  unsigned int n = 1;

  g.nslots = raise_nofile (max_connections + 256);
  while (n < 2 * max_connections)
    n *= 2;
  g.ncounts = n;
  g.slots = calloc (g.nslots, sizeof *g.slots);
  g.counts = calloc (g.ncounts, sizeof *g.counts);
  g.top = 0;
  if (NULL == g.slots || NULL == g.counts)
  {
    srv_conn_guard_free ();
    return -1;
  }
  return 0;
}

void
srv_conn_guard_free (void)
{
  free (g.slots);
  free (g.counts);
  g.slots = NULL;
  g.counts = NULL;
  g.nslots = g.ncounts = g.top = 0;
}

/* ------------------------------------------------------------ addresses */

/* The key of @a addr: IPv4 (also IPv4-mapped IPv6) as is, IPv6 by its
   /64.  Also its text, for the trusted-proxy check. */
static void
key_of (const struct sockaddr *addr, uint8_t key[KEY_LEN], char *text,
        size_t len)
{
  memset (key, 0, KEY_LEN);
  snprintf (text, len, "unknown");
  if (AF_INET == addr->sa_family)
  {
    const struct sockaddr_in *s4 = (const struct sockaddr_in *) addr;

    key[0] = 4;
    memcpy (key + 1, &s4->sin_addr, 4);
    inet_ntop (AF_INET, &s4->sin_addr, text, (socklen_t) len);
  }
  else if (AF_INET6 == addr->sa_family)
  {
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *) addr)->sin6_addr;

    if (IN6_IS_ADDR_V4MAPPED (a6))
    {
      key[0] = 4;
      memcpy (key + 1, &a6->s6_addr[12], 4);
      inet_ntop (AF_INET, &a6->s6_addr[12], text, (socklen_t) len);
    }
    else
    {
      key[0] = 6;
      memcpy (key + 1, a6->s6_addr, 8);
      inet_ntop (AF_INET6, a6, text, (socklen_t) len);
    }
  }
}

static uint32_t
key_hash (const uint8_t key[KEY_LEN])
{
  uint32_t h = 2166136261u;     /* FNV-1a */

  for (int i = 0; i < KEY_LEN; i++)
    h = (h ^ key[i]) * 16777619u;
  return h;
}

/* The bucket of @a key, or the empty one where it would go. */
static struct count *
bucket (const uint8_t key[KEY_LEN])
{
  unsigned int mask = g.ncounts - 1;

  for (unsigned int i = key_hash (key) & mask;; i = (i + 1) & mask)
    if (0 == g.counts[i].n || 0 == memcmp (g.counts[i].key, key, KEY_LEN))
      return &g.counts[i];
}

/* Take one from @a b, closing the gap it may leave (backward shift), so
   that lookups never stop early at a hole. */
static void
count_down (struct count *b)
{
  unsigned int mask = g.ncounts - 1;
  unsigned int i = (unsigned int) (b - g.counts);

  if (--b->n > 0)
    return;
  for (unsigned int j = (i + 1) & mask; 0 != g.counts[j].n; j = (j + 1) & mask)
  {
    unsigned int home = key_hash (g.counts[j].key) & mask;

    /* j may move to i unless its home lies cyclically in (i, j] */
    if ((i < j) ? (home <= i || home > j) : (home <= i && home > j))
    {
      g.counts[i] = g.counts[j];
      g.counts[j].n = 0;
      i = j;
    }
  }
}

/* Let go of slot @a fd (locked). */
static void
release (int fd)
{
  struct slot *s = &g.slots[fd];

  if (s->open && ! s->exempt)
    count_down (bucket (s->key));
  memset (s, 0, sizeof *s);
}

/* ------------------------------------------------------------ hooks */

bool
srv_conn_guard_accept (int fd, const struct sockaddr *addr, socklen_t len)
{
  unsigned int cap = core_cfg->max_connections_per_address;
  char text[INET6_ADDRSTRLEN];
  uint8_t key[KEY_LEN];
  bool exempt, ok = true;
  struct count *b;

  (void) len;
  if (fd < 0 || (unsigned int) fd >= g.nslots)
    return false;                       /* beyond what we can track */
  key_of (addr, key, text, sizeof text);
  exempt = srv_proxy_is_trusted (text);
  pthread_mutex_lock (&g.lock);
  if (g.slots[fd].open)
    release (fd);                       /* dropped without a notification */
  if (! exempt)
  {
    b = bucket (key);
    ok = 0 == cap || b->n < cap;
    if (ok)
    {
      memcpy (b->key, key, KEY_LEN);
      b->n++;
    }
  }
  if (ok)
  {
    struct slot *s = &g.slots[fd];

    s->open = true;
    s->exempt = exempt;
    memcpy (s->key, key, KEY_LEN);
    s->since_ms = now_ms ();
    s->deadline_ms = exempt ? 0
                     : s->since_ms + 1000 * (int64_t) core_cfg->header_timeout_s;
    if ((unsigned int) fd >= g.top)
      g.top = (unsigned int) fd + 1;
  }
  pthread_mutex_unlock (&g.lock);
  if (! ok)
    LOG_DEBUG ("refused a connection from %s: %u open already", text, cap);
  return ok;
}

void
srv_conn_guard_forget (int fd)
{
  if (fd < 0 || (unsigned int) fd >= g.nslots)
    return;
  pthread_mutex_lock (&g.lock);
  if (g.slots[fd].open && NULL == g.slots[fd].conn)
    release (fd);
  pthread_mutex_unlock (&g.lock);
}

/* The slot of @a conn, locked, or NULL (unlocked).  @a started: match a
   slot not started yet (the STARTED notification). */
static struct slot *
slot_of (struct MHD_Connection *conn, bool started)
{
  const union MHD_ConnectionInfo *ci
    = MHD_get_connection_info (conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  struct slot *s;

  if (NULL == ci || ci->connect_fd < 0
      || (unsigned int) ci->connect_fd >= g.nslots)
    return NULL;
  pthread_mutex_lock (&g.lock);
  s = &g.slots[ci->connect_fd];
  if (s->open && (started ? NULL == s->conn : conn == s->conn))
    return s;
  pthread_mutex_unlock (&g.lock);
  return NULL;
}

void
srv_conn_guard_started (struct MHD_Connection *conn)
{
  struct slot *s = slot_of (conn, true);

  if (NULL == s)
    return;
  s->conn = conn;
  pthread_mutex_unlock (&g.lock);
}

void
srv_conn_guard_closed (struct MHD_Connection *conn)
{
  struct slot *s = slot_of (conn, false);

  if (NULL == s)
    return;
  release ((int) (s - g.slots));
  pthread_mutex_unlock (&g.lock);
}

void
srv_conn_guard_request_begun (struct MHD_Connection *conn)
{
  struct slot *s = slot_of (conn, false);

  if (NULL == s)
    return;
  s->deadline_ms = 0;
  pthread_mutex_unlock (&g.lock);
}

void
srv_conn_guard_request_done (struct MHD_Connection *conn)
{
  struct slot *s = slot_of (conn, false);

  if (NULL == s)
    return;
  if (! s->exempt)
    s->deadline_ms = now_ms () + 1000 * (int64_t) core_cfg->header_timeout_s;
  pthread_mutex_unlock (&g.lock);
}

void
srv_conn_guard_sweep (void)
{
  int64_t now = now_ms ();
  unsigned int shut = 0;

  pthread_mutex_lock (&g.lock);
  for (unsigned int fd = 0; fd < g.top; fd++)
  {
    struct slot *s = &g.slots[fd];

    if (! s->open || 0 == s->deadline_ms || now < s->deadline_ms)
      continue;
    if (NULL == s->conn)
    {
      /* never started: libmicrohttpd dropped it (its descriptor may be
         another's by now) -- forget it, touch nothing */
      if (now - s->since_ms > 2000 * (int64_t) core_cfg->header_timeout_s)
        release ((int) fd);
      continue;
    }
    shutdown ((int) fd, SHUT_RDWR);     /* libmicrohttpd sees EOF, closes */
    s->deadline_ms = 0;
    shut++;
  }
  pthread_mutex_unlock (&g.lock);
  if (shut > 0)
    LOG_INFO ("closed %u connections that sent no complete request within "
              "%u s", shut, core_cfg->header_timeout_s);
}
