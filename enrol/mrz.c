/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * mrz.c -- ICAO Doc 9303 machine-readable zones: TD1, TD2, TD3 and the
 * pre-2021 French identity card (CNI).
 *
 * Each layout is checked in three passes so the reason given is the most
 * useful one: syntax (alphabet, lengths, which characters a field may hold)
 * -> check digits (document number, birth date, expiry date, personal
 * number, composite) -> calendar (real dates, two-digit years resolved).
 * A single mistyped character is caught by one of the passes unless it
 * falls in a field that no check digit covers (names, nationality, sex) or
 * swaps two characters whose values are equal modulo 10 ('0' and '<', '1'
 * and 'B', ...), a blind spot of the 7-3-1 scheme itself.
 *
 * Dates and two-digit years are in mrz_date.c.  Never log anything from
 * here: the MRZ and document number are personal data that must not reach
 * a log.
 */
#include "enrol/mrz.h"

#include <string.h>

#define MRZ_TEXT_MAX 256

/* ------------------------------------------------------------------ */
/* Characters, check digits, small field helpers                      */
/* ------------------------------------------------------------------ */

static bool
is_upper (char c)
{
  return c >= 'A' && c <= 'Z';
}

static bool
is_digit (char c)
{
  return c >= '0' && c <= '9';
}

static int
char_value (char c)
{
  if (is_digit (c))
    return c - '0';
  if (is_upper (c))
    return c - 'A' + 10;
  return c == '<' ? 0 : -1;
}

int
enrol_mrz_check_digit (const char *s, size_t len)
{
  static const int weight[3] = { 7, 3, 1 };
  int sum = 0;

  for (size_t i = 0; i < len; i++)
    {
      int v = char_value (s[i]);

      if (v < 0)
        return -1;
      sum += v * weight[i % 3];
    }
  return sum % 10;
}

const char *
enrol_mrz_err_name (enum enrol_mrz_err err)
{
  switch (err)
    {
    case MRZ_OK:
      return "ok";
    case MRZ_FORMAT:
      return "format";
    case MRZ_CHECK_DIGIT:
      return "check_digit";
    case MRZ_DATE:
      return "date";
    }
  return "format";
}

/* A check digit character must be a digit equal to the computed value. */
static bool
check_ok (const char *s, size_t len, char cd)
{
  return is_digit (cd) && enrol_mrz_check_digit (s, len) == cd - '0';
}

/* Letters and fillers only, first character a letter (codes, states). */
static bool
is_code (const char *p, size_t n)
{
  if (!is_upper (p[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!is_upper (p[i]) && p[i] != '<')
      return false;
  return true;
}

/* Names: letters and fillers only. */
static bool
is_name_field (const char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!is_upper (p[i]) && p[i] != '<')
      return false;
  return true;
}

/* Dates: six digits, or fillers for unknown parts (refused later). */
static bool
is_date_field (const char *p)
{
  for (size_t i = 0; i < 6; i++)
    if (!is_digit (p[i]) && p[i] != '<')
      return false;
  return true;
}

/* A document number: not empty, fillers only at the end. */
static bool
is_docnum_field (const char *p, size_t n)
{
  size_t i = 0;

  while (i < n && p[i] != '<')
    i++;
  if (i == 0)
    return false;
  while (i < n && p[i] == '<')
    i++;
  return i == n;
}

static bool
is_sex (char c)
{
  return c == 'M' || c == 'F' || c == 'X' || c == '<';
}

/* Copy @a n characters and drop the trailing fillers. */
static void
copy_trim (char *dst, size_t dstlen, const char *src, size_t n)
{
  if (n >= dstlen)
    n = dstlen - 1;
  memcpy (dst, src, n);
  while (n > 0 && src[n - 1] == '<')
    n--;
  dst[n] = '\0';
}

/* Runs of '<' become one space; leading/trailing spaces dropped. */
static void
squeeze (char *dst, size_t dstlen, const char *src, size_t n)
{
  size_t o = 0;
  bool gap = false;

  for (size_t i = 0; i < n && o + 2 < dstlen; i++)
    {
      if (src[i] == '<')
        {
          gap = o > 0;
          continue;
        }
      if (gap)
        dst[o++] = ' ';
      gap = false;
      dst[o++] = src[i];
    }
  dst[o] = '\0';
}

/* ICAO name field: primary identifier, "<<", secondary identifier. */
static void
split_name (const char *f, size_t n, struct enrol_mrz *out)
{
  size_t i = 0;

  while (i + 1 < n && !(f[i] == '<' && f[i + 1] == '<'))
    i++;
  if (i + 1 >= n)
    i = n;
  squeeze (out->surname, sizeof out->surname, f, i);
  if (i < n)
    squeeze (out->given_names, sizeof out->given_names, f + i + 2,
             n - i - 2);
  out->surname_truncatable = f[n - 1] != '<';
  out->given_names_truncatable = f[n - 1] != '<';
}

static int
digits (const char *p, size_t n)
{
  int v = 0;

  for (size_t i = 0; i < n; i++)
    {
      if (!is_digit (p[i]))
        return -1;
      v = v * 10 + (p[i] - '0');
    }
  return v;
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

/* ------------------------------------------------------------------ */
/* Splitting the text into lines                                      */
/* ------------------------------------------------------------------ */

struct mrz_lines {
  char buf[MRZ_TEXT_MAX];
  const char *line[3];
  size_t count;
  size_t len;
};

static bool
is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Split on "\n"; trailing blanks of each line and of the text go. */
static bool
split_lines (const char *text, struct mrz_lines *ml)
{
  size_t n = strlen (text);
  char *p = ml->buf;

  while (n > 0 && is_blank (text[n - 1]))
    n--;
  if (n >= sizeof ml->buf)
    return false;
  memcpy (ml->buf, text, n);
  ml->buf[n] = '\0';
  ml->count = 0;
  for (;;)
    {
      char *nl = strchr (p, '\n');
      size_t l;

      if (nl != NULL)
        *nl = '\0';
      l = strlen (p);
      while (l > 0 && is_blank (p[l - 1]))
        p[--l] = '\0';
      if (ml->count == 3)
        return false;
      ml->line[ml->count++] = p;
      if (nl == NULL)
        break;
      p = nl + 1;
    }
  ml->len = strlen (ml->line[0]);
  for (size_t i = 1; i < ml->count; i++)
    if (strlen (ml->line[i]) != ml->len)
      return false;
  return true;
}

static bool
alphabet_ok (const struct mrz_lines *ml)
{
  for (size_t i = 0; i < ml->count; i++)
    for (const char *p = ml->line[i]; *p != '\0'; p++)
      if (char_value (*p) < 0)
        return false;
  return true;
}

/* ------------------------------------------------------------------ */
/* Fields shared by the ICAO layouts                                  */
/* ------------------------------------------------------------------ */

#define FAIL(err, name) \
  do { *field = (name); return (err); } while (0)

/*
 * Document number with its check digit.  On TD1 and TD2 a number longer
 * than 9 characters puts '<' in the check digit position and continues at
 * the start of the optional data, followed by the check digit and a '<'.
 * @param ovf, ovflen  the optional data field (NULL when no overflow is
 *                     allowed, as on TD3)
 * @param[out] used    how many optional data characters the overflow took
 */
static enum enrol_mrz_err
document_number (const char *principal, char cd, const char *ovf,
                 size_t ovflen, struct enrol_mrz *out, size_t *used,
                 const char **field)
{
  char full[24];
  size_t k = 0;

  *used = 0;
  if (cd != '<' || ovf == NULL)
    {
      if (!check_ok (principal, 9, cd))
        FAIL (MRZ_CHECK_DIGIT, "document_number");
      copy_trim (out->document_number, sizeof out->document_number,
                 principal, 9);
      return MRZ_OK;
    }
  if (principal[8] == '<')
    FAIL (MRZ_FORMAT, "document_number");
  while (k < ovflen && ovf[k] != '<')
    k++;
  if (k < 2 || k == ovflen)
    FAIL (MRZ_FORMAT, "document_number");
  memcpy (full, principal, 9);
  memcpy (full + 9, ovf, k - 1);
  full[9 + k - 1] = '\0';
  if (!check_ok (full, 9 + k - 1, ovf[k - 1]))
    FAIL (MRZ_CHECK_DIGIT, "document_number");
  memcpy (out->document_number, full, 9 + k);
  *used = k + 1;
  return MRZ_OK;
}

static enum enrol_mrz_err
check_dates (const char *birth, char birth_cd, const char *expiry,
             char expiry_cd, const char **field)
{
  if (!check_ok (birth, 6, birth_cd))
    FAIL (MRZ_CHECK_DIGIT, "birth_date");
  if (!check_ok (expiry, 6, expiry_cd))
    FAIL (MRZ_CHECK_DIGIT, "expiry_date");
  return MRZ_OK;
}

static enum enrol_mrz_err
resolve_dates (const char *birth, const char *expiry,
               struct enrol_date today, struct enrol_mrz *out,
               const char **field)
{
  if (!enrol_date_past_yymmdd (birth, today, &out->birth))
    FAIL (MRZ_DATE, "birth_date");
  if (!enrol_date_expiry_yymmdd (expiry, today, &out->expiry))
    FAIL (MRZ_DATE, "expiry_date");
  enrol_date_format (out->birth, out->birth_date);
  enrol_date_format (out->expiry, out->expiry_date);
  return MRZ_OK;
}

/* Document code (2) and issuing state (3) open every layout. */
static enum enrol_mrz_err
header (const char *l1, struct enrol_mrz *out, const char **field)
{
  if (!is_upper (l1[0]) || (!is_upper (l1[1]) && l1[1] != '<'))
    FAIL (MRZ_FORMAT, "document_code");
  if (!is_code (l1 + 2, 3))
    FAIL (MRZ_FORMAT, "issuing_state");
  copy_trim (out->document_code, sizeof out->document_code, l1, 2);
  copy_trim (out->issuing_state, sizeof out->issuing_state, l1 + 2, 3);
  return MRZ_OK;
}

/* ------------------------------------------------------------------ */
/* TD2 and TD3: name on line 1, data on line 2                        */
/* ------------------------------------------------------------------ */

/*
 * Line 2: number 0-8, check 9, nationality 10-12, birth 13-18, check 19,
 * sex 20, expiry 21-26, check 27, optional data 28.., [TD3: personal
 * number check 42], composite last.
 */
static enum enrol_mrz_err
td23_syntax (const char *l1, const char *l2, size_t len,
             struct enrol_mrz *out, const char **field)
{
  enum enrol_mrz_err e = header (l1, out, field);

  if (e != MRZ_OK)
    return e;
  if (!is_upper (l1[5]) || !is_name_field (l1 + 5, len - 5))
    FAIL (MRZ_FORMAT, "name");
  if (!is_docnum_field (l2, 9))
    FAIL (MRZ_FORMAT, "document_number");
  if (!is_code (l2 + 10, 3))
    FAIL (MRZ_FORMAT, "nationality");
  if (!is_date_field (l2 + 13) || !is_date_field (l2 + 21))
    FAIL (MRZ_FORMAT, "dates");
  if (!is_sex (l2[20]))
    FAIL (MRZ_FORMAT, "sex");
  return MRZ_OK;
}

/* TD3 personal number: its check digit may be '<' when it is empty. */
static bool
personal_ok (const char *p, char cd)
{
  bool empty = true;

  for (size_t i = 0; i < 14; i++)
    empty = empty && p[i] == '<';
  if (empty && (cd == '<' || cd == '0'))
    return true;
  return check_ok (p, 14, cd);
}

static bool
composite_ok (const char *segs[], const size_t lens[], size_t n, char cd)
{
  char buf[128];
  size_t o = 0;

  for (size_t i = 0; i < n; i++)
    {
      memcpy (buf + o, segs[i], lens[i]);
      o += lens[i];
    }
  return check_ok (buf, o, cd);
}

static enum enrol_mrz_err
parse_td23 (const struct mrz_lines *ml, struct enrol_date today,
            struct enrol_mrz *out, const char **field)
{
  const char *l1 = ml->line[0], *l2 = ml->line[1];
  bool td3 = ml->len == 44;
  size_t optlen = td3 ? 14 : 7, used;
  const char *segs[3] = { l2, l2 + 13, l2 + 21 };
  const size_t lens[3] = { 10, 7, ml->len - 22 };
  enum enrol_mrz_err e = td23_syntax (l1, l2, ml->len, out, field);

  if (e == MRZ_OK)
    e = document_number (l2, l2[9], td3 ? NULL : l2 + 28, optlen, out,
                         &used, field);
  if (e == MRZ_OK)
    e = check_dates (l2 + 13, l2[19], l2 + 21, l2[27], field);
  if (e != MRZ_OK)
    return e;
  if (td3 && !personal_ok (l2 + 28, l2[42]))
    FAIL (MRZ_CHECK_DIGIT, "personal_number");
  if (!composite_ok (segs, lens, 3, l2[ml->len - 1]))
    FAIL (MRZ_CHECK_DIGIT, "composite");
  out->format = td3 ? MRZ_TD3 : MRZ_TD2;
  split_name (l1 + 5, ml->len - 5, out);
  copy_trim (out->nationality, sizeof out->nationality, l2 + 10, 3);
  out->sex = l2[20];
  copy_trim (out->optional_data, sizeof out->optional_data,
             l2 + 28 + used, optlen - used);
  return resolve_dates (l2 + 13, l2 + 21, today, out, field);
}

/* ------------------------------------------------------------------ */
/* TD1: three lines of 30                                             */
/* ------------------------------------------------------------------ */

/*
 * Line 1: code 0-1, state 2-4, number 5-13, check 14, optional 15-29.
 * Line 2: birth 0-5, check 6, sex 7, expiry 8-13, check 14, nationality
 * 15-17, optional 18-28, composite 29.  Line 3: name.
 */
static enum enrol_mrz_err
td1_syntax (const struct mrz_lines *ml, struct enrol_mrz *out,
            const char **field)
{
  const char *l1 = ml->line[0], *l2 = ml->line[1], *l3 = ml->line[2];
  enum enrol_mrz_err e = header (l1, out, field);

  if (e != MRZ_OK)
    return e;
  if (!is_docnum_field (l1 + 5, 9))
    FAIL (MRZ_FORMAT, "document_number");
  if (!is_date_field (l2) || !is_date_field (l2 + 8))
    FAIL (MRZ_FORMAT, "dates");
  if (!is_sex (l2[7]))
    FAIL (MRZ_FORMAT, "sex");
  if (!is_code (l2 + 15, 3))
    FAIL (MRZ_FORMAT, "nationality");
  if (!is_upper (l3[0]) || !is_name_field (l3, 30))
    FAIL (MRZ_FORMAT, "name");
  return MRZ_OK;
}

static enum enrol_mrz_err
parse_td1 (const struct mrz_lines *ml, struct enrol_date today,
           struct enrol_mrz *out, const char **field)
{
  const char *l1 = ml->line[0], *l2 = ml->line[1];
  const char *segs[4] = { l1 + 5, l2, l2 + 8, l2 + 18 };
  const size_t lens[4] = { 25, 7, 7, 11 };
  size_t used;
  enum enrol_mrz_err e = td1_syntax (ml, out, field);

  if (e == MRZ_OK)
    e = document_number (l1 + 5, l1[14], l1 + 15, 15, out, &used, field);
  if (e == MRZ_OK)
    e = check_dates (l2, l2[6], l2 + 8, l2[14], field);
  if (e != MRZ_OK)
    return e;
  if (!composite_ok (segs, lens, 4, l2[29]))
    FAIL (MRZ_CHECK_DIGIT, "composite");
  out->format = MRZ_TD1;
  split_name (ml->line[2], 30, out);
  copy_trim (out->nationality, sizeof out->nationality, l2 + 15, 3);
  out->sex = l2[7];
  copy_trim (out->optional_data, sizeof out->optional_data, l1 + 15 + used,
             15 - used);
  copy_trim (out->optional_data2, sizeof out->optional_data2, l2 + 18, 11);
  return resolve_dates (l2, l2 + 8, today, out, field);
}

/* ------------------------------------------------------------------ */
/* French identity card, 1988 to 2021                                 */
/* ------------------------------------------------------------------ */

/*
 * Line 1: "IDFRA", surname 5-29, issuing office 30-35.
 * Line 2: number 0-11 (issue YYMM, department, sequence), check 12, given
 * names 13-26, birth 27-32, check 33, sex 34, composite 35 (over all of
 * line 1 and line 2 up to 34).
 *
 * The expiry date is not in the MRZ.  A card is valid 10 years from its
 * issue, 15 years when issued to an adult from 2 January 2004 on (decree
 * 2013-1188: cards issued from 2014, and cards issued 2004-2013 extended
 * without a new printed date).  The MRZ only gives the issue month, so
 * the expiry is taken as the last day of that month plus 10 or 15 years:
 * up to a month late, never early.  "Adult" means 18 by the last day of
 * the issue month.
 */
static enum enrol_mrz_err
cni_syntax (const struct mrz_lines *ml, const char **field)
{
  const char *l1 = ml->line[0], *l2 = ml->line[1];

  if (!is_upper (l1[5]) || !is_name_field (l1 + 5, 25))
    FAIL (MRZ_FORMAT, "name");
  if (!is_name_field (l2 + 13, 14))
    FAIL (MRZ_FORMAT, "name");
  if (!is_docnum_field (l2, 12) || digits (l2, 4) < 0)
    FAIL (MRZ_FORMAT, "document_number");
  if (!is_date_field (l2 + 27))
    FAIL (MRZ_FORMAT, "dates");
  if (!is_sex (l2[34]))
    FAIL (MRZ_FORMAT, "sex");
  return MRZ_OK;
}

static enum enrol_mrz_err
cni_expiry (const char *l2, struct enrol_date today, struct enrol_mrz *out,
            const char **field)
{
  char yymmdd[6] = { l2[0], l2[1], l2[2], l2[3], '0', '1' };
  struct enrol_date issue, adult;
  int years;

  if (!enrol_date_past_yymmdd (yymmdd, today, &issue))
    FAIL (MRZ_DATE, "issue_date");
  issue.d = enrol_date_days_in_month (issue.y, issue.m);
  adult = out->birth;
  adult.y += 18;
  if (adult.m == 2 && adult.d == 29)
    adult = (struct enrol_date) { adult.y, 3, 1 };
  years = issue.y >= 2004 && enrol_date_cmp (adult, issue) <= 0 ? 15 : 10;
  out->expiry = (struct enrol_date) { issue.y + years, issue.m, 1 };
  out->expiry.d = enrol_date_days_in_month (out->expiry.y, out->expiry.m);
  out->expiry_derived = true;
  enrol_date_format (out->expiry, out->expiry_date);
  put_digits (out->issue_month, issue.y, 4);
  out->issue_month[4] = '-';
  put_digits (out->issue_month + 5, issue.m, 2);
  out->issue_month[7] = '\0';
  return MRZ_OK;
}

static enum enrol_mrz_err
parse_cni (const struct mrz_lines *ml, struct enrol_date today,
           struct enrol_mrz *out, const char **field)
{
  const char *l1 = ml->line[0], *l2 = ml->line[1];
  const char *segs[2] = { l1, l2 };
  const size_t lens[2] = { 36, 35 };
  enum enrol_mrz_err e = cni_syntax (ml, field);

  if (e != MRZ_OK)
    return e;
  if (!check_ok (l2, 12, l2[12]))
    FAIL (MRZ_CHECK_DIGIT, "document_number");
  if (!check_ok (l2 + 27, 6, l2[33]))
    FAIL (MRZ_CHECK_DIGIT, "birth_date");
  if (!composite_ok (segs, lens, 2, l2[35]))
    FAIL (MRZ_CHECK_DIGIT, "composite");
  out->format = MRZ_FRA_CNI;
  memcpy (out->document_code, "ID", 3);
  memcpy (out->issuing_state, "FRA", 4);
  memcpy (out->nationality, "FRA", 4);
  squeeze (out->surname, sizeof out->surname, l1 + 5, 25);
  squeeze (out->given_names, sizeof out->given_names, l2 + 13, 14);
  out->surname_truncatable = l1[29] != '<';
  out->given_names_truncatable = l2[26] != '<';
  copy_trim (out->document_number, sizeof out->document_number, l2, 12);
  copy_trim (out->optional_data, sizeof out->optional_data, l1 + 30, 6);
  out->sex = l2[34];
  if (!enrol_date_past_yymmdd (l2 + 27, today, &out->birth))
    FAIL (MRZ_DATE, "birth_date");
  enrol_date_format (out->birth, out->birth_date);
  return cni_expiry (l2, today, out, field);
}

/* ------------------------------------------------------------------ */
/* Entry point                                                        */
/* ------------------------------------------------------------------ */

/* The shape picks the layout.  Two lines of 36 opening with "IDFRA" are
   the French card: France issued no ICAO TD2 identity card. */
static enum enrol_mrz_err
dispatch (const struct mrz_lines *ml, struct enrol_date today,
          struct enrol_mrz *out, const char **field)
{
  if (ml->count == 3 && ml->len == 30)
    return parse_td1 (ml, today, out, field);
  if (ml->count == 2 && ml->len == 44)
    return parse_td23 (ml, today, out, field);
  if (ml->count != 2 || ml->len != 36)
    FAIL (MRZ_FORMAT, "lines");
  if (strncmp (ml->line[0], "IDFRA", 5) == 0)
    return parse_cni (ml, today, out, field);
  return parse_td23 (ml, today, out, field);
}

/* The zone as people paste it: a reader app or a PDF gives one line of
   88, 72 or 90 characters (sometimes with a blank where the lines met),
   a phone keyboard gives lower case.  Both are the same zone, not a
   different one: upper-case the letters, and cut one line of a known
   total length into lines of its layout.  Anything else is left as it
   is, for the parser to judge. */
size_t
enrol_mrz_tidy (const char *in, char *out, size_t cap)
{
  size_t n = 0, lines = 1, kept = 0, per = 0;

  if (NULL == in || 0 == cap)
    return 0;
  for (const char *p = in; '\0' != *p && n + 1 < cap; p++)
    out[n++] = (*p >= 'a' && *p <= 'z') ? (char) (*p - 'a' + 'A') : *p;
  out[n] = '\0';
  while (n > 0 && NULL != strchr ("\r\n \t", out[n - 1]))
    out[--n] = '\0';                    /* blanks after the last line */
  kept = strspn (out, "\r\n \t");     /* and before the first */
  memmove (out, out + kept, n - kept + 1);
  n -= kept;
  if (NULL != strchr (out, '\n'))
    return n;
  /* One line: drop blanks, cut by the total length. */
  kept = 0;
  for (size_t i = 0; i < n; i++)
    if (' ' != out[i] && '\t' != out[i])
      out[kept++] = out[i];
  out[kept] = '\0';
  if (88 == kept)
    per = 44, lines = 2;
  else if (72 == kept)
    per = 36, lines = 2;
  else if (90 == kept)
    per = 30, lines = 3;
  if (0 == per || kept + lines > cap - 1)
    return kept;
  for (size_t l = lines - 1; l > 0; l--)
  {
    memmove (out + l * (per + 1), out + l * per, per);
    out[l * (per + 1) - 1] = '\n';
  }
  out[lines * (per + 1) - 1] = '\0';
  return lines * (per + 1) - 1;
}

enum enrol_mrz_err
enrol_mrz_parse (const char *text, struct enrol_date today,
                 struct enrol_mrz *out, const char **field)
{
  struct mrz_lines ml;
  const char *dummy;
  enum enrol_mrz_err e;

  if (field == NULL)
    field = &dummy;
  *field = "";
  memset (out, 0, sizeof *out);
  if (text == NULL || !split_lines (text, &ml))
    FAIL (MRZ_FORMAT, "lines");
  if (!alphabet_ok (&ml))
    FAIL (MRZ_FORMAT, "alphabet");
  e = dispatch (&ml, today, out, field);
  if (e != MRZ_OK)
    memset (out, 0, sizeof *out);
  else
    *field = "";
  return e;
}
