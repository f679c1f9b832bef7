/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * mrz_date.c -- calendar dates for the identity check: validity, the
 * "YYYY-MM-DD" text form, ages, expiry, and the two-digit years of an MRZ.
 *
 * An MRZ writes years with two digits; which century is meant depends on
 * the field.  A birth date is in the past: the latest date not after
 * today.  An expiry date may be past or future: its year lies within
 * [today - 50, today + 49].  "today" is always the caller's, so results
 * are reproducible.
 */
#include "enrol/mrz.h"

#include <string.h>

int
enrol_date_days_in_month (int y, int m)
{
  static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
                               31 };
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

  if (m < 1 || m > 12)
    return 0;
  return m == 2 && leap ? 29 : dim[m - 1];
}

bool
enrol_date_valid (struct enrol_date d)
{
  return d.y >= 1 && d.y <= 9999 && d.m >= 1 && d.m <= 12 && d.d >= 1
         && d.d <= enrol_date_days_in_month (d.y, d.m);
}

int
enrol_date_cmp (struct enrol_date a, struct enrol_date b)
{
  if (a.y != b.y)
    return a.y < b.y ? -1 : 1;
  if (a.m != b.m)
    return a.m < b.m ? -1 : 1;
  if (a.d != b.d)
    return a.d < b.d ? -1 : 1;
  return 0;
}

static int
digits (const char *p, size_t n)
{
  int v = 0;

  for (size_t i = 0; i < n; i++)
    {
      if (p[i] < '0' || p[i] > '9')
        return -1;
      v = v * 10 + (p[i] - '0');
    }
  return v;
}

int
enrol_date_parse (const char *s, struct enrol_date *out)
{
  struct enrol_date d;

  if (strlen (s) != 10 || s[4] != '-' || s[7] != '-')
    return -1;
  d.y = digits (s, 4);
  d.m = digits (s + 5, 2);
  d.d = digits (s + 8, 2);
  if (d.y < 0 || d.m < 0 || d.d < 0 || !enrol_date_valid (d))
    return -1;
  *out = d;
  return 0;
}

static void
put_digits (char *p, int v, int n)
{
  for (int i = n - 1; i >= 0; i--)
    {
      p[i] = (char) ('0' + v % 10);
      v /= 10;
    }
}

void
enrol_date_format (struct enrol_date d, char buf[11])
{
  put_digits (buf, d.y, 4);
  buf[4] = '-';
  put_digits (buf + 5, d.m, 2);
  buf[7] = '-';
  put_digits (buf + 8, d.d, 2);
  buf[10] = '\0';
}

int
enrol_mrz_age_on (struct enrol_date birth, struct enrol_date today)
{
  int age;

  if (enrol_date_cmp (birth, today) > 0)
    return -1;
  age = today.y - birth.y;
  if (today.m < birth.m || (today.m == birth.m && today.d < birth.d))
    age--;
  return age;
}

bool
enrol_mrz_is_expired (struct enrol_date expiry, struct enrol_date today)
{
  return enrol_date_cmp (expiry, today) < 0;
}

/* Past date: the latest century that does not put it after @a today. */
bool
enrol_date_past_yymmdd (const char *yymmdd, struct enrol_date today,
                        struct enrol_date *out)
{
  struct enrol_date d;

  d.y = digits (yymmdd, 2);
  d.m = digits (yymmdd + 2, 2);
  d.d = digits (yymmdd + 4, 2);
  if (d.y < 0 || d.m < 0 || d.d < 0)
    return false;
  d.y += today.y - today.y % 100;
  if (enrol_date_cmp (d, today) > 0)
    d.y -= 100;
  if (!enrol_date_valid (d) || enrol_date_cmp (d, today) > 0)
    return false;
  *out = d;
  return true;
}

/* Expiry: the year lies within [today.y - 50, today.y + 49]. */
bool
enrol_date_expiry_yymmdd (const char *yymmdd, struct enrol_date today,
                          struct enrol_date *out)
{
  struct enrol_date d;
  int base = today.y - 50;

  d.y = digits (yymmdd, 2);
  d.m = digits (yymmdd + 2, 2);
  d.d = digits (yymmdd + 4, 2);
  if (d.y < 0 || d.m < 0 || d.d < 0)
    return false;
  d.y = base + ((d.y - base % 100) % 100 + 100) % 100;
  if (!enrol_date_valid (d))
    return false;
  *out = d;
  return true;
}
