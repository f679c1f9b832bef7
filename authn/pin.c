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
#include <pthread.h>
#include <semaphore.h>
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
   without a bound sixteen hashes would share two cores and thrash their
   caches; a hash waits here instead, and at most one runs per core.  The
   slots are taken only for the hash itself, never around a query. */
static sem_t hash_slots;
static pthread_once_t hash_slots_once = PTHREAD_ONCE_INIT;

static void
hash_slots_init (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);

  sem_init (&hash_slots, 0, (unsigned int) (n > 0 ? n : 1));
}

static void
hash_slot_take (void)
{
  pthread_once (&hash_slots_once, &hash_slots_init);
  while (sem_wait (&hash_slots) != 0)
    ;                           /* EINTR */
}

static void
hash_slot_give (void)
{
  sem_post (&hash_slots);
}

int
authn_pin_hash (const char *pin, char **encoded)
{
  uint8_t salt[SALT_LEN];
  size_t enclen;
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
  enclen = argon2_encodedlen (core_cfg->argon2_t, core_cfg->argon2_m_kib,
                              core_cfg->argon2_p, SALT_LEN, HASH_LEN,
                              Argon2_id);
  enc = malloc (enclen);
  if (enc == NULL)
    goto out;
  hash_slot_take ();
  rc = argon2id_hash_encoded (core_cfg->argon2_t, core_cfg->argon2_m_kib,
                              core_cfg->argon2_p, pin, strlen (pin), salt,
                              SALT_LEN, HASH_LEN, enc, enclen);
  hash_slot_give ();
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
  int rc;

  if (encoded == NULL || pin == NULL)
    return encoded == NULL ? -1 : 0;
  hash_slot_take ();
  rc = argon2id_verify (encoded, pin, strlen (pin));
  hash_slot_give ();
  if (rc == ARGON2_OK)
    return 1;
  if (rc == ARGON2_VERIFY_MISMATCH)
    return 0;
  LOG_BUG ("argon2id_verify: %s", argon2_error_message (rc));
  return -1;
}
