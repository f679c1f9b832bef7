/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * tx_check.c -- the checks a new transaction's fields pass before anything
 * is written: ISO 4217 currencies and their minor units (a compiled-in
 * table), amounts, ISO 13616 IBANs (the registry's country lengths and
 * mod 97), payee names, and the origins of return URLs.
 *
 * The payee name is what the customer reads on the phone before signing,
 * so the rules are about what a person can see: a bidi override can show
 * "ACME SARL" for a string that reads otherwise, a zero-width space can
 * make two names that look the same differ, a tag or private-use
 * character can carry text nobody sees.  Every such code point is
 * refused rather than removed: what is signed is exactly what was sent.
 * Nothing here touches the database or allocates, except the reasons
 * array of authn_tx_check_fields.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authn/transaction.h"

/* ================================================================
 * ISO 4217
 * ================================================================ */

/* Active currencies (ISO 4217 list one, 2025) with their minor units,
   sorted for bsearch.  Funds (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI,
   UYW), precious metals, SDR and test codes are not payment currencies
   here; withdrawn codes (HRK, SLL, ZWL, ...) are gone. */
static const struct currency {
  char code[4];
  unsigned char minor;
} currencies[] = {
  { "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "ANG", 2 },
  { "AOA", 2 }, { "ARS", 2 }, { "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 },
  { "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 }, { "BHD", 3 }, { "BIF", 0 },
  { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 }, { "BRL", 2 }, { "BSD", 2 },
  { "BTN", 2 }, { "BWP", 2 }, { "BYN", 2 }, { "BZD", 2 }, { "CAD", 2 },
  { "CDF", 2 }, { "CHF", 2 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 },
  { "CRC", 2 }, { "CUP", 2 }, { "CVE", 2 }, { "CZK", 2 }, { "DJF", 0 },
  { "DKK", 2 }, { "DOP", 2 }, { "DZD", 2 }, { "EGP", 2 }, { "ERN", 2 },
  { "ETB", 2 }, { "EUR", 2 }, { "FJD", 2 }, { "FKP", 2 }, { "GBP", 2 },
  { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 }, { "GMD", 2 }, { "GNF", 0 },
  { "GTQ", 2 }, { "GYD", 2 }, { "HKD", 2 }, { "HNL", 2 }, { "HTG", 2 },
  { "HUF", 2 }, { "IDR", 2 }, { "ILS", 2 }, { "INR", 2 }, { "IQD", 3 },
  { "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 }, { "JOD", 3 }, { "JPY", 0 },
  { "KES", 2 }, { "KGS", 2 }, { "KHR", 2 }, { "KMF", 0 }, { "KPW", 2 },
  { "KRW", 0 }, { "KWD", 3 }, { "KYD", 2 }, { "KZT", 2 }, { "LAK", 2 },
  { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 }, { "LSL", 2 }, { "LYD", 3 },
  { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 }, { "MKD", 2 }, { "MMK", 2 },
  { "MNT", 2 }, { "MOP", 2 }, { "MRU", 2 }, { "MUR", 2 }, { "MVR", 2 },
  { "MWK", 2 }, { "MXN", 2 }, { "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 },
  { "NGN", 2 }, { "NIO", 2 }, { "NOK", 2 }, { "NPR", 2 }, { "NZD", 2 },
  { "OMR", 3 }, { "PAB", 2 }, { "PEN", 2 }, { "PGK", 2 }, { "PHP", 2 },
  { "PKR", 2 }, { "PLN", 2 }, { "PYG", 0 }, { "QAR", 2 }, { "RON", 2 },
  { "RSD", 2 }, { "RUB", 2 }, { "RWF", 0 }, { "SAR", 2 }, { "SBD", 2 },
  { "SCR", 2 }, { "SDG", 2 }, { "SEK", 2 }, { "SGD", 2 }, { "SHP", 2 },
  { "SLE", 2 }, { "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 },
  { "SVC", 2 }, { "SYP", 2 }, { "SZL", 2 }, { "THB", 2 }, { "TJS", 2 },
  { "TMT", 2 }, { "TND", 3 }, { "TOP", 2 }, { "TRY", 2 }, { "TTD", 2 },
  { "TWD", 2 }, { "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 },
  { "UYU", 2 }, { "UZS", 2 }, { "VED", 2 }, { "VES", 2 }, { "VND", 0 },
  { "VUV", 0 }, { "WST", 2 }, { "XAF", 0 }, { "XCD", 2 }, { "XCG", 2 },
  { "XOF", 0 }, { "XPF", 0 }, { "YER", 2 }, { "ZAR", 2 }, { "ZMW", 2 },
  { "ZWG", 2 },
};

static int
code_cmp (const void *key, const void *elem)
{
  return strcmp (key, ((const struct currency *) elem)->code);
}

int
authn_tx_currency_minor_units (const char *code)
{
  const struct currency *c;

  if (NULL == code || 3 != strlen (code))
    return -1;
  c = bsearch (code, currencies, sizeof currencies / sizeof currencies[0],
               sizeof currencies[0], &code_cmp);
  return NULL != c ? c->minor : -1;
}

/* ================================================================
 * Amounts
 * ================================================================ */

bool
authn_tx_amount_valid (const char *amount, int minor_units)
{
  size_t int_len, frac_len = 0;
  const char *p;
  bool nonzero = false;

  if (NULL == amount || minor_units < 0)
    return false;
  int_len = strspn (amount, "0123456789");
  if (0 == int_len || (int_len > 1 && '0' == amount[0]))
    return false;
  p = amount + int_len;
  if ('.' == *p)
  {
    frac_len = strspn (p + 1, "0123456789");
    if (0 == frac_len)
      return false;
    p += 1 + frac_len;
  }
  if ('\0' != *p || frac_len != (size_t) minor_units
      || int_len + frac_len > AUTHN_TX_AMOUNT_MAX_DIGITS)
    return false;
  for (p = amount; '\0' != *p; p++)
    nonzero |= *p >= '1' && *p <= '9';
  return nonzero;
}

/* ================================================================
 * IBAN
 * ================================================================ */

/* Countries of the SWIFT IBAN registry (release 2024) and their IBAN
   lengths, sorted.  (France's overseas departments and territories use
   FR.)  A country that joins is one line here. */
static const struct iban_country {
  char cc[3];
  unsigned char len;
} iban_countries[] = {
  { "AD", 24 }, { "AE", 23 }, { "AL", 28 }, { "AT", 20 }, { "AZ", 28 },
  { "BA", 20 }, { "BE", 16 }, { "BG", 22 }, { "BH", 22 }, { "BI", 27 },
  { "BR", 29 }, { "BY", 28 }, { "CH", 21 }, { "CR", 22 }, { "CY", 28 },
  { "CZ", 24 }, { "DE", 22 }, { "DJ", 27 }, { "DK", 18 }, { "DO", 28 },
  { "EE", 20 }, { "EG", 29 }, { "ES", 24 }, { "FI", 18 }, { "FK", 18 },
  { "FO", 18 }, { "FR", 27 }, { "GB", 22 }, { "GE", 22 }, { "GI", 23 },
  { "GL", 18 }, { "GR", 27 }, { "GT", 28 }, { "HN", 28 }, { "HR", 21 },
  { "HU", 28 }, { "IE", 22 }, { "IL", 23 }, { "IQ", 23 }, { "IS", 26 },
  { "IT", 27 }, { "JO", 30 }, { "KW", 30 }, { "KZ", 20 }, { "LB", 28 },
  { "LC", 32 }, { "LI", 21 }, { "LT", 20 }, { "LU", 20 }, { "LV", 21 },
  { "LY", 25 }, { "MC", 27 }, { "MD", 24 }, { "ME", 22 }, { "MK", 19 },
  { "MN", 20 }, { "MR", 27 }, { "MT", 31 }, { "MU", 30 }, { "NI", 28 },
  { "NL", 18 }, { "NO", 15 }, { "OM", 23 }, { "PK", 24 }, { "PL", 28 },
  { "PS", 29 }, { "PT", 25 }, { "QA", 29 }, { "RO", 24 }, { "RS", 22 },
  { "RU", 33 }, { "SA", 24 }, { "SC", 31 }, { "SD", 18 }, { "SE", 24 },
  { "SI", 19 }, { "SK", 24 }, { "SM", 27 }, { "SO", 23 }, { "ST", 25 },
  { "SV", 28 }, { "TL", 23 }, { "TN", 24 }, { "TR", 26 }, { "UA", 29 },
  { "VA", 22 }, { "VG", 24 }, { "XK", 20 },
};

static int
cc_cmp (const void *key, const void *elem)
{
  return strncmp (key, ((const struct iban_country *) elem)->cc, 2);
}

static bool
upper_or_digit (char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool
authn_tx_iban_valid (const char *iban)
{
  const struct iban_country *c;
  size_t len;
  unsigned int rem = 0;
  int check;

  if (NULL == iban)
    return false;
  len = strlen (iban);
  if (len < 15 || len > 34 || iban[0] < 'A' || iban[0] > 'Z'
      || iban[1] < 'A' || iban[1] > 'Z'
      || iban[2] < '0' || iban[2] > '9' || iban[3] < '0' || iban[3] > '9')
    return false;
  c = bsearch (iban, iban_countries,
               sizeof iban_countries / sizeof iban_countries[0],
               sizeof iban_countries[0], &cc_cmp);
  check = (iban[2] - '0') * 10 + (iban[3] - '0');
  if (NULL == c || c->len != len || check < 2 || check > 98)
    return false;
  /* The BBAN, then country and check digits; letters count as 10..35. */
  for (size_t k = 0; k < len; k++)
  {
    char ch = iban[(k + 4) % len];

    if (! upper_or_digit (ch))
      return false;
    if (ch >= 'A')
      rem = (rem * 100 + (unsigned int) (ch - 'A' + 10)) % 97;
    else
      rem = (rem * 10 + (unsigned int) (ch - '0')) % 97;
  }
  return 1 == rem;
}

/* ================================================================
 * Payee names
 * ================================================================ */

/* One code point of strict UTF-8 (no overlong form, no surrogate, at most
   U+10FFFF).  @return its length in bytes, or 0 if invalid. */
static size_t
utf8_next (const unsigned char *s, uint32_t *cp)
{
  size_t n;
  uint32_t min;

  if (s[0] < 0x80)
  {
    *cp = s[0];
    return 1;
  }
  if (s[0] >= 0xC2 && s[0] <= 0xDF)
    n = 2, min = 0x80, *cp = s[0] & 0x1F;
  else if (s[0] >= 0xE0 && s[0] <= 0xEF)
    n = 3, min = 0x800, *cp = s[0] & 0x0F;
  else if (s[0] >= 0xF0 && s[0] <= 0xF4)
    n = 4, min = 0x10000, *cp = s[0] & 0x07;
  else
    return 0;
  for (size_t i = 1; i < n; i++)
  {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
    return 0;
  return n;
}

/* Code points a payee name may not hold, as inclusive ranges: controls,
   spaces other than U+0020, format characters (bidi controls, zero-width
   characters, soft hyphen, invisible operators, tags), fillers that draw
   nothing, variation selectors, private use, and specials. */
static const struct {
  uint32_t lo, hi;
} refused[] = {
  { 0x0000, 0x001F }, { 0x007F, 0x00A0 }, { 0x00AD, 0x00AD },
  { 0x034F, 0x034F }, { 0x061C, 0x061C }, { 0x115F, 0x1160 },
  { 0x1680, 0x1680 }, { 0x17B4, 0x17B5 }, { 0x180B, 0x180F },
  { 0x2000, 0x200F }, { 0x2028, 0x202F }, { 0x205F, 0x206F },
  { 0x2800, 0x2800 }, { 0x3000, 0x3000 }, { 0x3164, 0x3164 },
  { 0xD800, 0xF8FF }, { 0xFDD0, 0xFDEF }, { 0xFE00, 0xFE0F },
  { 0xFEFF, 0xFEFF }, { 0xFFA0, 0xFFA0 }, { 0xFFF0, 0xFFFF },
  { 0x1BCA0, 0x1BCA3 }, { 0x1D173, 0x1D17A }, { 0xE0000, 0xE0FFF },
  { 0xF0000, 0x10FFFF },
};

static bool
code_point_refused (uint32_t cp)
{
  if ((cp & 0xFFFE) == 0xFFFE)
    return true;                  /* the last two of every plane */
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    if (cp >= refused[i].lo && cp <= refused[i].hi)
      return true;
  return false;
}

bool
authn_tx_payee_name_valid (const char *name)
{
  const unsigned char *s = (const unsigned char *) name;
  size_t chars = 0;
  uint32_t cp = 0, prev = ' ';

  if (NULL == name || '\0' == name[0])
    return false;
  while ('\0' != *s)
  {
    size_t n = utf8_next (s, &cp);

    if (0 == n || code_point_refused (cp) || (' ' == cp && ' ' == prev)
        || ++chars > AUTHN_TX_PAYEE_MAX_CHARS)
      return false;
    prev = cp;
    s += n;
  }
  return ' ' != cp;
}

/* ================================================================
 * Origins and return URLs
 * ================================================================ */

static bool
host_valid (const char *h, size_t len)
{
  size_t label = 0;

  if (len > 2 && '[' == h[0] && ']' == h[len - 1])
  {
    for (size_t i = 1; i + 1 < len; i++)
      if (! strchr ("0123456789abcdef:.", h[i]))
        return false;
    return NULL != memchr (h, ':', len);
  }
  if (0 == len || len > 253)
    return false;
  for (size_t i = 0; i < len; i++)
  {
    char c = h[i];

    if ('.' == c)
    {
      if (0 == label || '-' == h[i - 1])
        return false;
      label = 0;
      continue;
    }
    if (! ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || '-' == c)
        || (0 == label && '-' == c) || ++label > 63)
      return false;
  }
  return 0 != label && '-' != h[len - 1];
}

/* Port digits (without the ':') to a number; 0 if invalid. */
static unsigned int
port_of (const char *p, size_t len)
{
  unsigned int port = 0;

  if (0 == len || len > 5)
    return 0;
  for (size_t i = 0; i < len; i++)
  {
    if (p[i] < '0' || p[i] > '9')
      return 0;
    port = port * 10 + (unsigned int) (p[i] - '0');
  }
  return port <= 65535 ? port : 0;
}

int
authn_tx_origin (const char *text, bool whole_url,
                 char out[AUTHN_TX_ORIGIN_MAX])
{
  char host[256];
  const char *auth, *end, *colon;
  size_t hlen, len;
  bool https;
  unsigned int port = 0;

  out[0] = '\0';
  if (NULL == text || (len = strlen (text)) > AUTHN_TX_URL_MAX)
    return -1;
  for (size_t i = 0; i < len; i++)
    if (text[i] < 0x21 || text[i] > 0x7E || '\\' == text[i]
        || '#' == text[i])
      return -1;
  https = 0 == strncasecmp (text, "https://", 8);
  if (! https && 0 != strncasecmp (text, "http://", 7))
    return -1;
  auth = text + (https ? 8 : 7);
  end = auth + strcspn (auth, "/?");
  if (! whole_url && '\0' != *end && 0 != strcmp (end, "/"))
    return -1;
  if (NULL != memchr (auth, '@', (size_t) (end - auth)))
    return -1;
  colon = NULL;
  for (const char *p = auth; p < end; p++)
    if (':' == *p)
      colon = p;
  if (NULL != colon && ('[' != auth[0] || ']' == colon[-1]))
  {
    if (0 == (port = port_of (colon + 1, (size_t) (end - colon - 1))))
      return -1;
  }
  else
    colon = end;
  hlen = (size_t) (colon - auth);
  if (hlen >= sizeof host)
    return -1;
  for (size_t i = 0; i < hlen; i++)
    host[i] = (char) ((auth[i] >= 'A' && auth[i] <= 'Z') ? auth[i] + 32
                      : auth[i]);
  host[hlen] = '\0';
  if (! host_valid (host, hlen))
    return -1;
  if ((https && 443 == port) || (! https && 80 == port))
    port = 0;
  if (0 != port)
    snprintf (out, AUTHN_TX_ORIGIN_MAX, "%s://%s:%u", https ? "https" : "http",
              host, port);
  else
    snprintf (out, AUTHN_TX_ORIGIN_MAX, "%s://%s", https ? "https" : "http",
              host);
  return 0;
}

bool
authn_tx_origin_registrable (const char *origin)
{
  static const char *const loopback[] = { "localhost", "127.0.0.1",
                                          "[::1]" };
  const char *host;
  size_t hlen;

  if (0 == strncmp (origin, "https://", 8))
    return true;
  if (0 != strncmp (origin, "http://", 7))
    return false;
  host = origin + 7;
  hlen = strcspn (host, "]") < strlen (host) ? strcspn (host, "]") + 1
         : strcspn (host, ":");
  for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
    if (strlen (loopback[i]) == hlen && 0 == strncmp (host, loopback[i], hlen))
      return true;
  return false;
}

/* ================================================================
 * All fields
 * ================================================================ */

json_t *
authn_tx_check_fields (const char *amount, const char *currency,
                       const char *payee_name, const char *payee_iban,
                       const char *return_url)
{
  json_t *reasons = json_array ();
  int minor = authn_tx_currency_minor_units (currency);
  char origin[AUTHN_TX_ORIGIN_MAX];

  if (NULL == reasons)
    return NULL;
  /* With an unknown currency, only the shape of the amount can be wrong. */
  if (! authn_tx_amount_valid (amount, minor >= 0 ? minor
                               : (NULL != amount && strchr (amount, '.')
                                  ? (int) strlen (strchr (amount, '.') + 1)
                                  : 0)))
    json_array_append_new (reasons, json_string ("amount_format"));
  if (minor < 0)
    json_array_append_new (reasons, json_string ("currency_unknown"));
  if (! authn_tx_iban_valid (payee_iban))
    json_array_append_new (reasons, json_string ("iban_invalid"));
  if (! authn_tx_payee_name_valid (payee_name))
    json_array_append_new (reasons, json_string ("payee_name_invalid"));
  if (NULL != return_url && 0 != authn_tx_origin (return_url, true, origin))
    json_array_append_new (reasons, json_string ("return_url_invalid"));
  return reasons;
}
