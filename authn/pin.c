/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * pin.c -- PIN policy and Argon2id hashing (libargon2).
 *
 * The policy refuses the PINs an attacker tries first: too short, one
 * repeated digit, a run like 123456, the well-known favourites, and the
 * holder's birth date.  Hashes use core_cfg's Argon2id cost; verification
 * uses the cost stored in each hash.  A PIN is secret: it is never logged,
 * never copied, and the buffers holding it are not ours to wipe.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include <argon2.h>

#include "authn/pin.h"
#include "core/config.h"
#include "core/crypto.h"
#include "core/log.h"

#define SALT_LEN 16
#define HASH_LEN 32

/* Frequent PINs from published PIN-frequency studies, beyond the ones the
   repeated/sequential rules catch already. */
static const char *const common_pins[] = {
  "000001", "100000", "111222", "112233", "121212", "123123", "123321",
  "123654", "131313", "147258", "147369", "147852", "159357", "159753",
  "100200", "102030", "112211", "121314", "123789", "135790", "142536",
  "202020", "212121", "232323", "246810", "252525", "258369", "258456",
  "271828", "314159", "369258", "520520", "520131", "521521", "696969",
  "741852", "753951", "789456", "789789", "852963", "951753", "963852",
  "098765", "101010", "111000", "000111", "112358", "999888", "131420",
  "1234567", "12345678", "11223344", "12341234", "11112222", "00000001",
  "1234554321", "123456789", "1234567890", "0123456789",
};

/* ------------------------------------------------------------- patterns */

static bool
all_digits (const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

static bool
is_repeated (const char *pin, size_t len)
{
  for (size_t i = 1; i < len; i++)
    if (pin[i] != pin[0])
      return false;
  return true;
}

/* Every digit one more (or every digit one less) than the one before. */
static bool
is_sequential (const char *pin, size_t len)
{
  bool up = true, down = true;

  for (size_t i = 1; i < len; i++)
    {
      up = up && pin[i] == pin[i - 1] + 1;
      down = down && pin[i] == pin[i - 1] - 1;
    }
  return up || down;
}

/* A block of 2..4 digits said again: 121212, 123123, 12341234. */
static bool
is_block_repeat (const char *pin, size_t len)
{
  for (size_t block = 2; block <= 4 && block < len; block++)
    {
      bool same = len % block == 0;

      for (size_t i = block; same && i < len; i++)
        same = pin[i] == pin[i - block];
      if (same)
        return true;
    }
  return false;
}

static bool
is_common (const char *pin, size_t len)
{
  for (size_t i = 0; i < sizeof common_pins / sizeof common_pins[0]; i++)
    if (strcmp (pin, common_pins[i]) == 0)
      return true;
  return is_block_repeat (pin, len);
}

/* ----------------------------------------------------------- birth date */

/* Split "YYYY-MM-DD" into digit strings.  @return false if malformed. */
static bool
parse_date (const char *date, char yyyy[5], char mm[3], char dd[3])
{
  if (date == NULL || strlen (date) != 10 || date[4] != '-'
      || date[7] != '-' || !all_digits (date, 4)
      || !all_digits (date + 5, 2) || !all_digits (date + 8, 2))
    return false;
  memcpy (yyyy, date, 4);
  yyyy[4] = '\0';
  memcpy (mm, date + 5, 2);
  mm[2] = '\0';
  memcpy (dd, date + 8, 2);
  dd[2] = '\0';
  return true;
}

static bool
is_birth_date (const char *pin, const char *birth_date)
{
  char y[5], m[3], d[3], form[9];
  const char *yy;

  if (!parse_date (birth_date, y, m, d))
    return false;
  yy = y + 2;
  const char *const forms[][3] = {
    { d, m, yy }, { yy, m, d }, { m, d, yy },
    { d, m, y }, { y, m, d }, { m, d, y },
  };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    {
      snprintf (form, sizeof form, "%s%s%s", forms[i][0], forms[i][1],
                forms[i][2]);
      if (strcmp (pin, form) == 0)
        return true;
    }
  return false;
}

/* --------------------------------------------------------------- policy */

static int
add_reason (json_t *reasons, const char *reason)
{
  return json_array_append_new (reasons, json_string (reason));
}

json_t *
authn_pin_policy (const char *pin, const char *birth_date)
{
  json_t *reasons = json_array ();
  size_t len;
  int rc = 0;

  if (reasons == NULL)
    return NULL;
  if (pin == NULL)
    pin = "";
  len = strlen (pin);
  if (len < AUTHN_PIN_MIN_LEN)
    rc |= add_reason (reasons, "too_short");
  if (len > AUTHN_PIN_MAX_LEN)
    rc |= add_reason (reasons, "too_long");
  if (!all_digits (pin, len))
    rc |= add_reason (reasons, "not_digits");
  else if (len >= AUTHN_PIN_MIN_LEN && len <= AUTHN_PIN_MAX_LEN)
    {
      if (is_repeated (pin, len))
        rc |= add_reason (reasons, "repeated");
      else if (is_sequential (pin, len))
        rc |= add_reason (reasons, "sequential");
      else if (is_common (pin, len))
        rc |= add_reason (reasons, "common");
      if (is_birth_date (pin, birth_date))
        rc |= add_reason (reasons, "birth_date");
    }
  if (rc != 0)
    {
      json_decref (reasons);
      return NULL;
    }
  return reasons;
}

/* ------------------------------------------------------------- Argon2id */

/* Argon2id is memory-hard on purpose: 19 MiB and ~20 ms of a core per
   hash.  The HTTP workers are many (sized for database concurrency), so
   they do not hash themselves: one hash thread per core does, taking jobs
   in arrival order from one queue, and a worker waits for its job's answer
   (run_job).  Sixteen hashes therefore never share two cores and thrash
   their caches, and a hash thread that finishes a job starts the next one
   at once, on a warm core, without waiting for another thread to be
   scheduled.  (Before, a worker took one of a pool of per-core slots and
   hashed on its own thread; on the 2-core reference VM the hash threads
   answer ~5 % more valid verifies per second, and the p99 of a verify
   falls from ~340 to ~200 ms, as the queue is first come, first served.)

   Each hash thread owns its Argon2 memory, mapped once (slot_map).  Using
   it instead of libargon2's malloc per hash matters: with sixteen threads
   taking turns, each malloc'd its 19 MiB from its own arena, every hash
   ran on cold memory, and two cores computed ~10 % fewer hashes per second
   than two threads hashing in a loop.  libargon2 wipes the memory before
   handing it back (free_cbk), as it does before free(). */
struct hash_slot {
  uint8_t *mem;                 /* NULL if it could not be mapped */
  size_t len;
};

/* What a hash thread is asked for: verify @a pin against @a encoded, or
   (encoded NULL) hash @a pin into @a out with @a salt at core_cfg's cost. */
struct pin_job {
  const char *pin;
  const char *encoded;
  const uint8_t *salt;
  char *out;
  size_t out_len;
};

/* A job in the queue, its ARGON2_* code in rc once done. */
struct hash_job {
  const struct pin_job *pin;
  int rc;
  sem_t done;                   /* posted when rc is set */
  struct hash_job *next;
};

static int pin_job_run (const struct pin_job *j);

static struct {
  pthread_mutex_t lock;
  pthread_cond_t queued;
  struct hash_job *head, *tail; /* FIFO */
  size_t threads;               /* hash threads running */
  size_t mem_len;               /* bytes for the configured m */
} hashers = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
              NULL, 0, 0 };
static pthread_once_t hashers_once = PTHREAD_ONCE_INIT;

/* The memory of the hash thread running this code, for the callbacks
   below (libargon2's allocator callbacks take no context); NULL on any
   other thread. */
static __thread struct hash_slot *current_slot;

/* libargon2 allocator: the slot's memory when it is big enough (a hash
   stored with a larger m than configured gets its own). */
static int
slot_allocate (uint8_t **memory, size_t bytes)
{
  struct hash_slot *s = current_slot;

  if (s != NULL && s->mem != NULL && bytes <= s->len)
    {
      *memory = s->mem;
      return ARGON2_OK;
    }
  *memory = malloc (bytes);
  return *memory != NULL ? ARGON2_OK : ARGON2_MEMORY_ALLOCATION_ERROR;
}

static void
slot_free (uint8_t *memory, size_t bytes)
{
  struct hash_slot *s = current_slot;

  (void) bytes;                 /* libargon2 wiped it already */
  if (s == NULL || memory != s->mem)
    free (memory);
}

/* @a len bytes of anonymous memory on a 2 MiB boundary, in huge pages where
   the kernel offers them (Argon2 reads its 19 MiB at random: with 4 KiB
   pages most of those reads also miss the TLB; huge pages make a hash
   several percent cheaper), out of core dumps, locked in RAM where the limit
   allows.  @return NULL on failure (the hash then mallocs). */
static uint8_t *
slot_map (size_t len)
{
  const uintptr_t huge = 2u << 20;
  uint8_t *p = mmap (NULL, len + huge, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint8_t *mem;

  if (p == MAP_FAILED)
    return NULL;
  mem = (uint8_t *) (((uintptr_t) p + huge - 1) & ~(huge - 1));
  (void) madvise (mem, len, MADV_HUGEPAGE);
  (void) madvise (mem, len, MADV_DONTDUMP);
  if (mlock (mem, len) != 0)
    LOG_DEBUG ("Argon2 memory not locked in RAM (RLIMIT_MEMLOCK)");
  return mem;
}

static void *
hash_thread (void *arg)
{
  struct hash_slot slot = { .mem = slot_map (hashers.mem_len), .len = 0 };

  (void) arg;
  if (slot.mem != NULL)
    slot.len = hashers.mem_len;
  current_slot = &slot;
  for (;;)
    {
      struct hash_job *j;

      pthread_mutex_lock (&hashers.lock);
      while (hashers.head == NULL)
        pthread_cond_wait (&hashers.queued, &hashers.lock);
      j = hashers.head;
      hashers.head = j->next;
      if (hashers.head == NULL)
        hashers.tail = NULL;
      pthread_mutex_unlock (&hashers.lock);
      j->rc = pin_job_run (j->pin);
      sem_post (&j->done);
    }
  return NULL;
}

/* Start one hash thread per core, at the first hash. */
static void
hashers_init (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  unsigned int m = core_cfg != NULL ? core_cfg->argon2_m_kib : 19456;

  hashers.mem_len = (size_t) m * 1024u;
  for (long i = 0; i < (n > 0 ? n : 1); i++)
    {
      pthread_t t;

      if (pthread_create (&t, NULL, &hash_thread, NULL) != 0)
        break;
      (void) pthread_setname_np (t, "argon2");
      (void) pthread_detach (t);
      hashers.threads++;
    }
  if (hashers.threads == 0)
    LOG_ERROR ("no Argon2 hash thread could be started: "
               "hashing on the workers' threads");
}

/* Run @a pin on a hash thread and wait for it.  @return its ARGON2_*
   code. */
static int
run_job (const struct pin_job *pin)
{
  struct hash_job j = { .pin = pin, .rc = ARGON2_OK, .next = NULL };

  pthread_once (&hashers_once, &hashers_init);
  if (hashers.threads == 0)
    return pin_job_run (pin);   /* degraded: libargon2's own malloc */
  if (sem_init (&j.done, 0, 0) != 0)
    return ARGON2_THREAD_FAIL;
  pthread_mutex_lock (&hashers.lock);
  if (hashers.tail != NULL)
    hashers.tail->next = &j;
  else
    hashers.head = &j;
  hashers.tail = &j;
  pthread_mutex_unlock (&hashers.lock);
  pthread_cond_signal (&hashers.queued);
  while (sem_wait (&j.done) != 0 && errno == EINTR)
    ;
  sem_destroy (&j.done);
  return j.rc;
}

/* An encoded hash as libargon2 writes it:
   $argon2id$v=19$m=M,t=T,p=P$<salt>$<hash>, base64 without padding. */
struct encoded_hash {
  uint32_t version, m, t, p;
  uint8_t *salt, *hash;
  size_t salt_len, hash_len;
};

static const char *
parse_u32 (const char *s, const char *prefix, uint32_t *out)
{
  unsigned long long v = 0;
  size_t n = strlen (prefix);

  if (strncmp (s, prefix, n) != 0)
    return NULL;
  s += n;
  if (*s < '0' || *s > '9' || (*s == '0' && s[1] >= '0' && s[1] <= '9'))
    return NULL;
  for (; *s >= '0' && *s <= '9'; s++)
    {
      v = v * 10 + (unsigned long long) (*s - '0');
      if (v > UINT32_MAX)
        return NULL;
    }
  *out = (uint32_t) v;
  return s;
}

/* Decode base64 (standard alphabet, no padding) from @a s up to '$' or
   the end.  @return the end, or NULL. */
static const char *
parse_b64 (const char *s, uint8_t **out, size_t *len)
{
  size_t n = strcspn (s, "$");
  char *url = strndup (s, n);
  long got;

  *out = NULL;
  if (url == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (url[i] == '-' || url[i] == '_')
      url[i] = '!';             /* not in the standard alphabet */
    else if (url[i] == '+')
      url[i] = '-';
    else if (url[i] == '/')
      url[i] = '_';
  got = core_b64url_decode (url, out);
  free (url);
  if (got <= 0)
    {
      free (*out);
      *out = NULL;
      return NULL;
    }
  *len = (size_t) got;
  return s + n;
}

static void
encoded_hash_clear (struct encoded_hash *e)
{
  free (e->salt);
  free (e->hash);
  memset (e, 0, sizeof *e);
}

/* @return 0, or -1 when @a enc is not in the form above. */
static int
encoded_hash_parse (const char *enc, struct encoded_hash *e)
{
  const char *s = enc;

  memset (e, 0, sizeof *e);
  if (strncmp (s, "$argon2id", 9) != 0)
    return -1;
  s += 9;
  if ((s = parse_u32 (s, "$v=", &e->version)) == NULL
      || (s = parse_u32 (s, "$m=", &e->m)) == NULL
      || (s = parse_u32 (s, ",t=", &e->t)) == NULL
      || (s = parse_u32 (s, ",p=", &e->p)) == NULL
      || *s++ != '$'
      || (s = parse_b64 (s, &e->salt, &e->salt_len)) == NULL
      || *s++ != '$'
      || (s = parse_b64 (s, &e->hash, &e->hash_len)) == NULL
      || *s != '\0')
    {
      encoded_hash_clear (e);
      return -1;
    }
  return 0;
}

/* Verify with the hash thread's memory.  @return an ARGON2_* code. */
static int
verify_in_slot (const char *encoded, const char *pin)
{
  struct encoded_hash e;
  argon2_context ctx;
  uint8_t *out;
  int rc;

  if (encoded_hash_parse (encoded, &e) != 0)
    return argon2id_verify (encoded, pin, strlen (pin)); /* its own parser */
  out = malloc (e.hash_len);
  if (out == NULL)
    {
      encoded_hash_clear (&e);
      return ARGON2_MEMORY_ALLOCATION_ERROR;
    }
  memset (&ctx, 0, sizeof ctx);
  ctx.out = out;
  ctx.outlen = (uint32_t) e.hash_len;
  ctx.pwd = (uint8_t *) pin;
  ctx.pwdlen = (uint32_t) strlen (pin);
  ctx.salt = e.salt;
  ctx.saltlen = (uint32_t) e.salt_len;
  ctx.t_cost = e.t;
  ctx.m_cost = e.m;
  ctx.lanes = e.p;
  ctx.threads = e.p;
  ctx.version = e.version;
  ctx.allocate_cbk = &slot_allocate;
  ctx.free_cbk = &slot_free;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  rc = argon2id_verify_ctx (&ctx, (const char *) e.hash);
  core_free_secret (out, e.hash_len);
  encoded_hash_clear (&e);
  return rc;
}

static int
pin_job_run (const struct pin_job *j)
{
  if (j->encoded != NULL)
    return verify_in_slot (j->encoded, j->pin);
  return argon2id_hash_encoded (core_cfg->argon2_t, core_cfg->argon2_m_kib,
                                core_cfg->argon2_p, j->pin, strlen (j->pin),
                                j->salt, SALT_LEN, HASH_LEN, j->out,
                                j->out_len);
}

int
authn_pin_hash (const char *pin, char **encoded)
{
  uint8_t salt[SALT_LEN];
  struct pin_job job = { .pin = pin, .salt = salt };
  char *enc = NULL;
  int rc = -1;

  *encoded = NULL;
  if (core_cfg == NULL || pin == NULL)
    {
      LOG_BUG ("authn_pin_hash without config or PIN");
      return -1;
    }
  if (core_random (salt, sizeof salt) != 0)
    goto out;
  job.out_len = argon2_encodedlen (core_cfg->argon2_t, core_cfg->argon2_m_kib,
                                   core_cfg->argon2_p, SALT_LEN, HASH_LEN,
                                   Argon2_id);
  enc = job.out = malloc (job.out_len);
  if (enc == NULL)
    goto out;
  rc = run_job (&job);
  if (rc != ARGON2_OK)
    {
      LOG_BUG ("argon2id_hash_encoded: %s", argon2_error_message (rc));
      free (enc);
      rc = -1;
      goto out;
    }
  *encoded = enc;
out:
  return rc == ARGON2_OK ? 0 : -1;
}

int
authn_pin_verify (const char *encoded, const char *pin)
{
  struct pin_job job = { .pin = pin, .encoded = encoded };
  int rc;

  if (encoded == NULL || pin == NULL)
    return encoded == NULL ? -1 : 0;
  rc = run_job (&job);
  if (rc == ARGON2_OK)
    return 1;
  if (rc == ARGON2_VERIFY_MISMATCH)
    return 0;
  LOG_BUG ("Argon2id verify: %s", argon2_error_message (rc));
  return -1;
}
