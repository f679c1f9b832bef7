/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * phone.c -- a phone number as people type it, to E.164 (ITU-T E.164,
 * national prefixes from ITU-T E.164 Annex / the operators' numbering
 * plans).
 *
 * People type their mobile number the way they say it at home: "06 12 34
 * 56 78" in France, "0151 2345 6789" in Germany, "(202) 555-0143" in the
 * US.  Refusing those until they learn the "+33" form costs a round trip
 * and an explanation; a small table of calling codes and trunk prefixes
 * for the countries the bank serves turns them into the one stored form.
 * A number it cannot place (national, residence not in the table) is
 * refused, never guessed.  Never logs the number.
 */
#include <ctype.h>
#include <string.h>

#include "enrol/phone.h"

struct country {
  const char *alpha3;
  const char *code;      /* calling code, digits */
  const char *trunk;     /* national (trunk) prefix dropped after the code;
                            "" where the national number is dialled whole */
};

/* EU and EEA, the United Kingdom, Switzerland, the US and Canada, and the
   small states inside them. */
static const struct country countries[] = {
  { "AUT", "43", "0" },  { "BEL", "32", "0" },  { "BGR", "359", "0" },
  { "HRV", "385", "0" }, { "CYP", "357", "" },  { "CZE", "420", "" },
  { "DNK", "45", "" },   { "EST", "372", "" },  { "FIN", "358", "0" },
  { "FRA", "33", "0" },  { "DEU", "49", "0" },  { "GRC", "30", "" },
  { "HUN", "36", "06" }, { "IRL", "353", "0" }, { "ITA", "39", "" },
  { "LVA", "371", "" },  { "LTU", "370", "0" }, { "LUX", "352", "" },
  { "MLT", "356", "" },  { "NLD", "31", "0" },  { "POL", "48", "" },
  { "PRT", "351", "" },  { "ROU", "40", "0" },  { "SVK", "421", "0" },
  { "SVN", "386", "0" }, { "ESP", "34", "" },   { "SWE", "46", "0" },
  { "ISL", "354", "" },  { "LIE", "423", "" },  { "NOR", "47", "" },
  { "GBR", "44", "0" },  { "CHE", "41", "0" },  { "USA", "1", "1" },
  { "CAN", "1", "1" },   { "MCO", "377", "" },  { "AND", "376", "" },
  { "SMR", "378", "" },
};

static const struct country *
country_of (const char *alpha3)
{
  for (size_t i = 0; NULL != alpha3 && i < sizeof countries
       / sizeof countries[0]; i++)
    if (0 == strcmp (countries[i].alpha3, alpha3))
      return &countries[i];
  return NULL;
}

/* The digits of @a raw (a leading '+' kept as '+'), "(0)" dropped;
   @return 0, or -1 for any other character. */
static int
digits_of (const char *raw, char *out, size_t cap)
{
  size_t n = 0;

  for (const char *p = raw; '\0' != *p; p++)
  {
    if (0 == strncmp (p, "(0)", 3) && n > 0)
    {
      p += 2;                   /* "+33 (0)6 …": the 0 is not dialled */
      continue;
    }
    if (NULL != strchr (" .-/()", *p))
      continue;
    if ('+' == *p && 0 == n)
      out[n++] = '+';
    else if (isdigit ((unsigned char) *p))
      out[n++] = *p;
    else
      return -1;
    if (n + 1 >= cap)
      return -1;
  }
  out[n] = '\0';
  return 0;
}

/* @a out = "+" @a code @a rest, if it fits; @return 0 or -1. */
static int
join (char out[ENROL_PHONE_MAX], const char *code, const char *rest)
{
  size_t c = strlen (code), r = strlen (rest);

  if (1 + c + r + 1 > ENROL_PHONE_MAX)
    return -1;
  out[0] = '+';
  memcpy (out + 1, code, c);
  memcpy (out + 1 + c, rest, r + 1);
  return 0;
}

int
enrol_phone_e164 (const char *raw, const char *residence,
                  char out[ENROL_PHONE_MAX])
{
  char d[40];
  const char *national = d;
  const struct country *c;
  size_t n;
  int ok;

  out[0] = '\0';
  if (NULL == raw || 0 != digits_of (raw, d, sizeof d))
    return -1;
  if ('+' == d[0])
    ok = join (out, "", d + 1);
  else if (0 == strncmp (d, "00", 2))
    ok = join (out, "", d + 2);
  else if (NULL == (c = country_of (residence)))
    ok = -1;
  else
  {
    if ('\0' != c->trunk[0]
        && 0 == strncmp (d, c->trunk, strlen (c->trunk)))
      national = d + strlen (c->trunk);
    ok = join (out, c->code, national);
  }
  n = strlen (out);
  if (0 != ok || n < 9 || n > 16 || '0' == out[1])
  {
    out[0] = '\0';
    return -1;
  }
  for (size_t i = 1; i < n; i++)
    if (! isdigit ((unsigned char) out[i]))
    {
      out[0] = '\0';
      return -1;
    }
  return 0;
}
