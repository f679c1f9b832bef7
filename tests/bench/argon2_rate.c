/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * argon2_rate.c -- the machine's Argon2id ceiling for tests/bench/verify:
 * how many PIN verifies per second guichetd's own hashing computes at the
 * given parameters.  It does not hash by itself: it calls the very
 * function an accepted verify calls, authn_pin_verify (authn/pin.c), from
 * CALLERS threads at once, as guichetd's workers do.  So the hash runs
 * where it runs in guichetd -- on one "argon2" hash thread per core fed
 * from one queue, in each thread's mapped memory, through
 * argon2id_verify_ctx with lanes = threads = p, so that at p > 1 libargon2
 * starts p threads of its own for every slice of every pass, as it does in
 * guichetd.  (Before, this program hashed in a loop on one thread per core
 * with argon2id_ctx: the same at p = 1, but not the same threads at p > 1,
 * and tests/bench/verify reported valid verifies above the "ceiling".)
 * A verify that accepts a PIN costs one such hash, so this bounds accepted
 * verifies/s.
 *
 * usage: argon2_rate M_KIB T P CALLERS SECONDS
 * prints one JSON object: {"hashes", "seconds", "per_second", ...,
 * "encoded"}: "encoded" is the hash it verifies (of a fixed PIN); given back
 * in ARGON2_RATE_HASH, the next run skips computing it (at m = 64 MiB,
 * t = 9 that takes a second tests/bench/verify cannot spare).
 */
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn/pin.h"
#include "core/config.h"

static struct core_config cfg;
static double seconds;
static char *encoded;           /* the hash of PIN, at cfg's parameters */
static const char PIN[] = "48071395";

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
caller (void *arg)
{
  unsigned long *count = arg;
  double end = now () + seconds;

  while (now () < end)
    {
      if (authn_pin_verify (encoded, PIN) != 1)
        {
          fprintf (stderr, "authn_pin_verify did not accept the PIN\n");
          exit (1);
        }
      (*count)++;
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  if (argc != 6)
    {
      fprintf (stderr, "usage: %s M_KIB T P CALLERS SECONDS\n", argv[0]);
      return 2;
    }
  cfg.argon2_m_kib = (unsigned int) atoi (argv[1]);
  cfg.argon2_t = (unsigned int) atoi (argv[2]);
  cfg.argon2_p = (unsigned int) atoi (argv[3]);
  int callers = atoi (argv[4]);
  seconds = atof (argv[5]);
  if (callers < 1 || callers > 256)
    return 2;
  core_cfg = &cfg;
  const char *given = getenv ("ARGON2_RATE_HASH");
  if (given != NULL && *given != '\0')
    encoded = strdup (given);
  else if (authn_pin_hash (PIN, &encoded) != 0)
    {
      fprintf (stderr, "authn_pin_hash failed\n");
      return 1;
    }
  pthread_t tid[256];
  unsigned long counts[256] = { 0 };
  struct rusage ru0;
  getrusage (RUSAGE_SELF, &ru0);
  double cpu0 = ru0.ru_utime.tv_sec + ru0.ru_utime.tv_usec / 1e6
                + ru0.ru_stime.tv_sec + ru0.ru_stime.tv_usec / 1e6;
  double start = now ();
  for (int i = 0; i < callers; i++)
    pthread_create (&tid[i], NULL, caller, &counts[i]);
  unsigned long total = 0;
  for (int i = 0; i < callers; i++)
    {
      pthread_join (tid[i], NULL);
      total += counts[i];
    }
  double elapsed = now () - start;
  /* the CPU this process used, the threads libargon2 started and joined
     included: on a shared machine the hashes per CPU-second hold still
     while the hashes per second follow what the neighbours leave */
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6
               + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6 - cpu0;
  printf ("{\"hashes\": %lu, \"seconds\": %.3f, \"per_second\": %.2f, "
          "\"cpu_seconds\": %.3f, \"per_cpu_second\": %.3f, "
          "\"callers\": %d, \"m_kib\": %u, \"t\": %u, \"p\": %u, "
          "\"encoded\": \"%s\"}\n",
          total, elapsed, total / elapsed, cpu, cpu > 0 ? total / cpu : 0.0,
          callers, cfg.argon2_m_kib,
          cfg.argon2_t, cfg.argon2_p, encoded);
  free (encoded);
  return 0;
}
