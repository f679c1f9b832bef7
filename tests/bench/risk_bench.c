/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * risk_bench.c -- device risk scorings per second against a real
 * PostgreSQL, reported as a ratio to the database's own round-trip
 * ceiling measured in the same run (the same threads running the
 * statement "SELECT 1" as fast as they can).
 *
 *   risk_bench CONNINFO [THREADS] [SECONDS]
 *
 * The database must be migrated; tests/bench/risk (a script) makes a
 * throwaway cluster, fills devices/attempts so the history query has
 * something to look through, and runs this.  Scoring here is the real
 * risk_score_device(): GeoIP look-ups, the one history query, the rules.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/db.h"
#include "risk/risk.h"

static const struct core_db_stmt bench_stmts[] = {
  { "bench_select_1", "SELECT 1" },
  { NULL, NULL }
};

static double seconds;
static volatile int scoring;

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void *
worker (void *cls)
{
  long *count = cls;
  struct core_db *db = core_db_thread ();
  uint8_t key[RISK_DEVICE_KEY_LEN] = { 0x04 };
  double end = now_s () + seconds;
  char addr[32];

  if (NULL == db)
    return NULL;
  while (now_s () < end)
  {
    if (scoring)
    {
      struct risk_input in = {
        .enrolment_id = "enr_bench", .challenge_id = "ch_bench",
        .device = { .platform = "android", .os_version = "14",
                    .model = "Pixel 8", .app_version = "1.0.0",
                    .install_id = "bench-install", .sim_country = "SE",
                    .locale = "sv-SE", .timezone = "Europe/Stockholm" },
        .device_key = key, .phone_addr = addr, .browser_addr = addr,
        .residence_country = "SWE"
      };
      struct risk_result r;

      key[1 + (*count % 64)] = (uint8_t) *count;
      snprintf (addr, sizeof addr, "89.160.20.%ld", 112 + *count % 16);
      if (CORE_OK != risk_score_device (db, &in, &r))
        return NULL;
      risk_result_free (&r);
    }
    else if (core_db_exec (db, "bench_select_1", 0, NULL, NULL) < 0)
      return NULL;
    (*count)++;
  }
  core_db_thread_close ();
  return NULL;
}

static double
run (int threads)
{
  pthread_t t[64];
  long counts[64] = { 0 };
  long total = 0;
  double t0 = now_s ();

  for (int i = 0; i < threads; i++)
    pthread_create (&t[i], NULL, &worker, &counts[i]);
  for (int i = 0; i < threads; i++)
  {
    pthread_join (t[i], NULL);
    total += counts[i];
  }
  return (double) total / (now_s () - t0);
}

int
main (int argc, char **argv)
{
  static struct core_config cfg;
  char err[256];
  int threads = argc > 2 ? atoi (argv[2]) : 16;
  double ceiling, rate;

  seconds = argc > 3 ? atof (argv[3]) : 5;
  if (argc < 2 || threads < 1 || threads > 64
      || 0 != core_config_load (NULL, &cfg, err, sizeof err))
  {
    fprintf (stderr, "usage: risk_bench CONNINFO [THREADS] [SECONDS]\n");
    return 2;
  }
  core_cfg = &cfg;
  core_db_setup (argv[1]);
  core_db_register (bench_stmts);
  risk_register_statements ();
  if (risk_reload () < 0)
  {
    fprintf (stderr, "risk rules not loaded\n");
    return 1;
  }
  ceiling = run (threads);
  scoring = 1;
  rate = run (threads);
  printf ("risk scoring: %.0f scorings/s with %d threads; database ceiling "
          "%.0f SELECT 1/s; ratio %.2f\n", rate, threads, ceiling,
          rate / ceiling);
  return rate > 0 ? 0 : 1;
}
