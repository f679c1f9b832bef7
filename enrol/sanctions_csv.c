/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions_csv.c -- the text formats of OFAC's legacy list files: quoted
 * CSV records ("-0-" for empty fields, CRLF line ends, a DOS end-of-file
 * byte) and the dates of birth written in the remarks ("DOB 10 Jan 1960",
 * "DOB 1960", "DOB Jan 1960", "DOB circa 1960", "DOB 1960 to 1962",
 * "DOB 01 Jan 1961 to 31 Dec 1962", "DOB circa 1979-1982").  Dates become
 * inclusive ranges; "circa" widens a range by a year on each side.
 *
 * Input is untrusted text: every read is bounded by the buffer's end.
 */
#include "enrol/sanctions_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "enrol/mrz.h"

#define FILE_MAX (256u << 20)

/* ------------------------------------------------------------------ */
/* CSV                                                                */
/* ------------------------------------------------------------------ */

/* One field, unquoted in place and NUL-terminated; "-0-" reads as "". */
static char *
csv_field (struct sx_csv *c, bool *eol)
{
  char *start = c->p, *w = c->p;

  if (c->p < c->end && *c->p == '"')
    {
      for (c->p++; c->p < c->end; c->p++)
        {
          if (*c->p == '"' && (c->p + 1 >= c->end || c->p[1] != '"'))
            break;
          c->p += *c->p == '"';
          *w++ = *c->p;
        }
      c->p++;
    }
  else
    while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
      *w++ = *c->p++;
  while (c->p < c->end && *c->p == ' ')
    c->p++;
  *eol = c->p >= c->end || *c->p != ',';
  while (c->p < c->end && *c->p != ',' && *c->p != '\n')
    c->p++;
  c->p += c->p < c->end;
  while (w > start && w[-1] == ' ')
    w--;
  *w = '\0';
  return strcmp (start, "-0-") == 0 ? w : start;
}

/* @return the number of fields of the next record (0 at the end). */
int
sx_csv_record (struct sx_csv *c, char **f, int max)
{
  int n = 0;
  bool eol = false;

  while (c->p < c->end && (*c->p == '\r' || *c->p == '\n' || *c->p == 0x1a))
    c->p++;
  if (c->p >= c->end)
    return 0;
  while (!eol)
    {
      char *v = csv_field (c, &eol);

      if (n < max)
        f[n] = v;
      n++;
    }
  return n;
}

/* ------------------------------------------------------------------ */
/* Dates of birth                                                     */
/* ------------------------------------------------------------------ */

static int
month_of (const char *s)
{
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

  for (int m = 0; m < 12; m++)
    if (strncmp (s, months + 3 * m, 3) == 0 && s[3] == '\0')
      return m + 1;
  return 0;
}

static int
number (const char *s, size_t digits)
{
  int v = 0;

  if (strlen (s) != digits)
    return -1;
  for (size_t i = 0; i < digits; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return -1;
      v = v * 10 + (s[i] - '0');
    }
  return v;
}

/* "YYYY", "Mon YYYY" or "DD Mon YYYY" -> inclusive yyyymmdd range. */
static bool
dob_part (char *s, struct sx_dob *r)
{
  char *w[4];
  int n = 0, y, m = 0, d = 0;
  struct enrol_date last;

  for (char *save = NULL, *t = strtok_r (s, " ", &save); t != NULL;
       t = strtok_r (NULL, " ", &save))
    if (n < 4)
      w[n++] = t;
  if (n < 1 || n > 3 || (y = number (w[n - 1], 4)) < 1000)
    return false;
  if (n >= 2 && (m = month_of (w[n - 2])) == 0)
    return false;
  if (n == 3 && ((d = number (w[0], 2)) < 1
                 || !enrol_date_valid ((struct enrol_date) { y, m, d })))
    return false;
  last = (struct enrol_date) { y, m ? m : 12, 1 };
  last.d = 31;
  while (!enrol_date_valid (last))
    last.d--;
  r->lo = y * 10000 + (m ? m : 1) * 100 + (d ? d : 1);
  r->hi = d ? r->lo : y * 10000 + last.m * 100 + last.d;
  return true;
}

/* One DOB value: "[circa ]A[ to B]" or "circa YYYY-YYYY". */
bool
sx_dob_value (const char *p, size_t n, struct sx_dob *r)
{
  char s[64], *to;
  struct sx_dob a, z;
  bool circa;

  while (n > 0 && (p[n - 1] == '.' || p[n - 1] == ' '))
    n--;
  if (n == 0 || n >= sizeof s)
    return false;
  memcpy (s, p, n);
  s[n] = '\0';
  circa = strncmp (s, "circa ", 6) == 0;
  to = strstr (s, " to ");
  if (to == NULL && circa)
    to = strchr (s, '-');
  if (to != NULL)
    *to = '\0';
  if (!dob_part (s + (circa ? 6 : 0), &a))
    return false;
  z = a;
  if (to != NULL && !dob_part (to + (*(to + 1) == 't' ? 4 : 1), &z))
    return false;
  r->lo = a.lo < z.lo ? a.lo : z.lo;
  r->hi = a.hi > z.hi ? a.hi : z.hi;
  if (circa)
    r->lo = (r->lo / 10000 - 1) * 10000 + 101,
    r->hi = (r->hi / 10000 + 1) * 10000 + 1231;
  return true;
}

/* ------------------------------------------------------------------ */
/* Files                                                              */
/* ------------------------------------------------------------------ */

char *
sx_read_file (const char *dir, const char *name, size_t *len, char *err,
           size_t errlen)
{
  char path[4096];
  struct stat st;
  char *buf = NULL;
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  f = fopen (path, "rbe");
  if (f == NULL || fstat (fileno (f), &st) != 0 || !S_ISREG (st.st_mode)
      || (size_t) st.st_size > FILE_MAX)
    {
      snprintf (err, errlen, "%s: %s", path,
                f == NULL ? strerror (errno) : "not a readable file");
      goto out;
    }
  buf = malloc ((size_t) st.st_size + 1);
  *len = buf ? fread (buf, 1, (size_t) st.st_size, f) : 0;
  if (buf == NULL || *len != (size_t) st.st_size)
    {
      snprintf (err, errlen, "%s: short read", path);
      free (buf);
      buf = NULL;
      goto out;
    }
  buf[*len] = '\0';
out:
  if (f != NULL)
    fclose (f);
  return buf;
}
