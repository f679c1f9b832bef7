/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * argon2_rate.c -- the machine's Argon2id ceiling for tests/bench/verify:
 * how many Argon2id hashes per second all cores compute at the given
 * parameters, with the same libargon2 guichetd links.  A verify that
 * accepts a PIN costs one such hash, so this bounds accepted verifies/s.
 *
 * usage: argon2_rate M_KIB T P THREADS SECONDS
 * prints one JSON object: {"hashes", "seconds", "per_second", ...}
 */
#include <argon2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned int m_kib, t_cost, par;
static double seconds;

static double
now (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
worker (void *arg)
{
  unsigned long *count = arg;
  const char pwd[] = "48071395";
  unsigned char salt[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
  unsigned char hash[32];
  double end = now () + seconds;
  while (now () < end)
    {
      if (argon2id_hash_raw (t_cost, m_kib, par, pwd, sizeof pwd - 1, salt,
                             sizeof salt, hash, sizeof hash) != ARGON2_OK)
        {
          fprintf (stderr, "argon2id_hash_raw failed\n");
          exit (1);
        }
      salt[0]++;
      (*count)++;
    }
  return NULL;
}

int
main (int argc, char **argv)
{
  if (argc != 6)
    {
      fprintf (stderr, "usage: %s M_KIB T P THREADS SECONDS\n", argv[0]);
      return 2;
    }
  m_kib = (unsigned int) atoi (argv[1]);
  t_cost = (unsigned int) atoi (argv[2]);
  par = (unsigned int) atoi (argv[3]);
  int threads = atoi (argv[4]);
  seconds = atof (argv[5]);
  if (threads < 1 || threads > 256)
    return 2;
  pthread_t tid[256];
  unsigned long counts[256] = { 0 };
  double start = now ();
  for (int i = 0; i < threads; i++)
    pthread_create (&tid[i], NULL, worker, &counts[i]);
  unsigned long total = 0;
  for (int i = 0; i < threads; i++)
    {
      pthread_join (tid[i], NULL);
      total += counts[i];
    }
  double elapsed = now () - start;
  printf ("{\"hashes\": %lu, \"seconds\": %.3f, \"per_second\": %.2f, "
          "\"threads\": %d, \"m_kib\": %u, \"t\": %u, \"p\": %u}\n",
          total, elapsed, total / elapsed, threads, m_kib, t_cost, par);
  return 0;
}
