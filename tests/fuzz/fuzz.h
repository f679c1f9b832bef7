/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz.h -- what the libFuzzer harnesses of tests/fuzz share: cutting the
 * fuzzer's bytes into NUL-terminated fields, and FUZZ_CHECK, which aborts
 * (so libFuzzer keeps the input in tests/artifacts/fuzz/) when a property
 * our code promises does not hold for some input.
 *
 * A harness calls the project's real functions -- no stub of our own code
 * -- and needs no database: what needs one is left to the API tests.
 * ASan and UBSan (-fno-sanitize-recover) turn memory errors and undefined
 * behaviour into crashes as well.
 */
#ifndef GUICHET_TESTS_FUZZ_H
#define GUICHET_TESTS_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize (int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                  \
  do                                                                      \
    {                                                                     \
      if (!(cond))                                                        \
        {                                                                 \
          fprintf (stderr, "%s:%d: property does not hold: %s\n",         \
                   __FILE__, __LINE__, #cond);                            \
          abort ();                                                       \
        }                                                                 \
    }                                                                     \
  while (0)

#define FUZZ_MAX_FIELDS 8

/* The input cut at a separator byte into at most FUZZ_MAX_FIELDS strings
   (the last one keeps any further separators).  A NUL inside a field ends
   that field early, as it would for any C string. */
struct fuzz_fields {
  char *buf;
  const char *f[FUZZ_MAX_FIELDS];
  size_t n;
};

static inline bool
fuzz_split (const uint8_t *data, size_t size, char sep, size_t max,
            struct fuzz_fields *out)
{
  char *p;

  memset (out, 0, sizeof *out);
  if (max > FUZZ_MAX_FIELDS)
    max = FUZZ_MAX_FIELDS;
  out->buf = malloc (size + 1);
  if (out->buf == NULL)
    return false;
  memcpy (out->buf, data, size);
  out->buf[size] = '\0';
  p = out->buf;
  out->f[out->n++] = p;
  while (out->n < max)
    {
      p = memchr (p, sep, (size_t) (out->buf + size - p));
      if (p == NULL)
        break;
      *p++ = '\0';
      out->f[out->n++] = p;
    }
  return true;
}

static inline void
fuzz_fields_free (struct fuzz_fields *ff)
{
  free (ff->buf);
  memset (ff, 0, sizeof *ff);
}

/* A NUL-terminated copy of the input. */
static inline char *
fuzz_strndup (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);

  if (s != NULL)
    {
      memcpy (s, data, size);
      s[size] = '\0';
    }
  return s;
}

/* true if @a s holds a byte below 0x20 or 0x7f. */
static inline bool
fuzz_has_control (const char *s)
{
  for (; *s != '\0'; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

#endif
