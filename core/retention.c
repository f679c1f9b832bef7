/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * retention.c -- the purge runner (see retention.h): a registry of the
 * modules' purge jobs, one pass over them, and the thread of guichetd that
 * runs a pass every purge_interval_s.
 *
 * Several instances share one database, so a pass first takes a
 * session-level advisory lock with pg_try_advisory_lock: the instance that
 * gets it purges, the others skip this turn (the lock goes with the
 * connection if the process dies).  Each DELETE is one short transaction
 * of at most purge_batch rows chosen with FOR UPDATE SKIP LOCKED, so a
 * purge never waits for a request and a request never waits long for a
 * purge; a pass stops a job after 100 batches and takes up the rest next
 * time.  Nothing here decides what is dead: each job's statement does.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/log.h"
#include "core/retention.h"

#define MAX_JOB_TABLES 16
#define MAX_BATCHES 100
/* "guichet-purge" folded into 63 bits: the same key in every instance. */
#define PURGE_LOCK_KEY "7020589217993171301"

static const struct core_db_stmt purge_stmts[] = {
  { "core_purge_lock", "SELECT pg_try_advisory_lock(" PURGE_LOCK_KEY ")" },
  { "core_purge_unlock", "SELECT pg_advisory_unlock(" PURGE_LOCK_KEY ")" },
  { NULL, NULL }
};

static const struct core_purge_job *job_tables[MAX_JOB_TABLES];
static size_t job_tables_len;
static bool stmts_registered;

void
core_retention_register (const struct core_purge_job *jobs)
{
  if (!stmts_registered)
    {
      core_db_register (purge_stmts);
      stmts_registered = true;
    }
  if (job_tables_len == MAX_JOB_TABLES)
    {
      LOG_BUG ("too many purge job tables");
      abort ();
    }
  job_tables[job_tables_len++] = jobs;
}

/* ================================================================
 * One pass
 * ================================================================ */

static unsigned int
config_seconds (size_t offset)
{
  return *(const unsigned int *) ((const char *) core_cfg + offset);
}

static unsigned long
retention_of (const struct core_purge_job *job)
{
  if (core_cfg == NULL)
    return 0;
  return (job->retention == CORE_PURGE_NOW ? 0
          : (unsigned long) config_seconds (job->retention))
         + (job->plus != 0 ? config_seconds (job->plus) : 0);
}

/* Run @a job's batches.  @return rows deleted, or -1 */
static long
run_job (struct core_db *db, const struct core_purge_job *job)
{
  char batch[16], secs[16];
  const char *p[2] = { batch, secs };
  unsigned int size = core_cfg != NULL ? core_cfg->purge_batch : 1000;
  long total = 0;

  snprintf (batch, sizeof batch, "%u", size);
  snprintf (secs, sizeof secs, "%lu", retention_of (job));
  for (int i = 0; i < MAX_BATCHES; i++)
    {
      PGresult *r = NULL;
      enum core_db_status st = core_db_exec (db, job->stmt, 2, p, &r);
      long n = 0;

      if (st >= 0 && r != NULL)
        n = strtol (PQcmdTuples (r), NULL, 10);
      PQclear (r);
      if (st < 0)
        return -1;
      total += n;
      if (n < (long) size)
        break;
    }
  return total;
}

/* @return 1 when the lock was taken, 0 when another instance holds it,
   -1 on error. */
static int
lock_take (struct core_db *db, const char *stmt)
{
  PGresult *r = NULL;
  enum core_db_status st = core_db_exec (db, stmt, 0, NULL, &r);
  const char *v = st == CORE_DB_ONE_ROW ? core_db_value (r, 0, 0) : NULL;
  int rc = st < 0 ? -1 : (v != NULL && v[0] == 't');

  PQclear (r);
  return rc;
}

int
core_retention_run (struct core_db *db, json_t **report)
{
  json_t *purged = report != NULL ? json_object () : NULL;
  int got = lock_take (db, "core_purge_lock");
  int rc = got < 0 ? -1 : 0;

  for (size_t t = 0; got == 1 && t < job_tables_len; t++)
    for (const struct core_purge_job *j = job_tables[t]; j->name != NULL; j++)
      {
        long n = run_job (db, j);

        if (n < 0)
          {
            LOG_WARN ("purge of %s failed; next pass tries again", j->name);
            rc = -1;
            continue;
          }
        if (n > 0)
          LOG_INFO ("%s %ld rows of %s", j->verb != NULL ? j->verb : "purged",
                    n, j->name);
        if (purged != NULL)
          json_object_set_new (purged, j->name, json_integer (n));
      }
  if (got == 1 && lock_take (db, "core_purge_unlock") < 0)
    rc = -1;                    /* the connection is gone, and the lock */
  if (got == 0)
    LOG_DEBUG ("purge skipped: another instance is purging");
  if (report != NULL)
    *report = json_pack ("{s:b, s:o}", "ran", got == 1, "purged",
                         purged != NULL ? purged : json_object ());
  return rc;
}

/* ================================================================
 * The thread
 * ================================================================ */

static struct {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool running;
  bool stopping;
} runner = { .lock = PTHREAD_MUTEX_INITIALIZER,
             .wake = PTHREAD_COND_INITIALIZER };

/* Wait @a seconds or until stopped. @return true when stopped. */
static bool
wait_or_stop (unsigned int seconds)
{
  struct timespec until;
  bool stop;

  clock_gettime (CLOCK_REALTIME, &until);
  until.tv_sec += seconds;
  pthread_mutex_lock (&runner.lock);
  while (!runner.stopping
         && pthread_cond_timedwait (&runner.wake, &runner.lock, &until)
            != ETIMEDOUT)
    ;
  stop = runner.stopping;
  pthread_mutex_unlock (&runner.lock);
  return stop;
}

static void *
runner_main (void *cls)
{
  (void) cls;
  while (!wait_or_stop (core_cfg->purge_interval_s))
    {
      struct core_db *db = core_db_thread ();

      if (db != NULL)
        (void) core_retention_run (db, NULL);
    }
  core_db_thread_close ();
  return NULL;
}

int
core_retention_start (void)
{
  sigset_t all, old;
  int rc;

  if (core_cfg == NULL || core_cfg->purge_interval_s == 0)
    {
      LOG_INFO ("purge_interval_s = 0: this instance purges nothing");
      return 0;
    }
  runner.stopping = false;
  /* signals are for the main thread's loop */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  rc = pthread_create (&runner.thread, NULL, &runner_main, NULL);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (rc != 0)
    {
      LOG_ERROR ("cannot start the purge thread");
      return -1;
    }
  runner.running = true;
  return 0;
}

void
core_retention_stop (void)
{
  if (!runner.running)
    return;
  pthread_mutex_lock (&runner.lock);
  runner.stopping = true;
  pthread_cond_broadcast (&runner.wake);
  pthread_mutex_unlock (&runner.lock);
  pthread_join (runner.thread, NULL);
  runner.running = false;
}
