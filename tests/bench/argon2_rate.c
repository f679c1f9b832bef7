/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * argon2_rate.c -- the machine's Argon2id ceiling for tests/bench/verify:
 * how many Argon2id hashes per second all cores compute at the given
 * parameters, with the same libargon2 guichetd links and the same memory
 * handling (authn/pin.c): each thread hashes in one buffer of its own,
 * mapped once on a 2 MiB boundary and advised into huge pages, handed to
 * libargon2 through its allocator callbacks (libargon2 still wipes it after
 * each hash).  A verify that accepts a PIN costs one such hash, so this
 * bounds accepted verifies/s.
 *
 * usage: argon2_rate M_KIB T P THREADS SECONDS
 * prints one JSON object: {"hashes", "seconds", "per_second", ...}
 */
#include <argon2.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
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

static __thread uint8_t *thread_mem;
static __thread size_t thread_len;

static int
allocate (uint8_t **memory, size_t bytes)
{
  *memory = bytes <= thread_len ? thread_mem : NULL;
  return *memory != NULL ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

static void
deallocate (uint8_t *memory, size_t bytes)
{
  (void) memory;
  (void) bytes;
}

static void *
worker (void *arg)
{
  const uintptr_t huge = 2u << 20;
  unsigned long *count = arg;
  char pwd[] = "48071395";
  unsigned char salt[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
  unsigned char hash[32];
  uint8_t *p;

  thread_len = (size_t) m_kib * 1024;
  p = mmap (NULL, thread_len + huge, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    {
      perror ("mmap");
      exit (1);
    }
  thread_mem = (uint8_t *) (((uintptr_t) p + huge - 1) & ~(huge - 1));
  (void) madvise (thread_mem, thread_len, MADV_HUGEPAGE);
  double end = now () + seconds;
  while (now () < end)
    {
      argon2_context ctx = {
        .out = hash, .outlen = sizeof hash,
        .pwd = (uint8_t *) pwd, .pwdlen = sizeof pwd - 1,
        .salt = salt, .saltlen = sizeof salt,
        .t_cost = t_cost, .m_cost = m_kib, .lanes = par, .threads = par,
        .version = ARGON2_VERSION_13, .allocate_cbk = allocate,
        .free_cbk = deallocate, .flags = ARGON2_DEFAULT_FLAGS,
      };
      if (argon2id_ctx (&ctx) != ARGON2_OK)
        {
          fprintf (stderr, "argon2id_ctx failed\n");
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
