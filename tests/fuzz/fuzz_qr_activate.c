/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz_qr_activate.c -- the `guichet://activate` QR payload as the phone
 * reads it (authenticator/payload.c: ga_activation_payload_parse): a QR
 * code is whatever the camera saw, so anything may come in.
 *
 * Input: the scanned text.
 *
 * Properties besides "no crash": a payload that parses has an http(s)
 * base URL without a trailing '/', query, fragment or space, a non-empty
 * challenge id without control characters, and writing the values back
 * (percent-encoded) parses to the same values; a refused payload leaves
 * the struct zeroed with an error code set.
 */
#include "fuzz.h"

#include "authenticator/guichet_authenticator.h"

static bool
all_zero (const void *p, size_t n)
{
  const unsigned char *c = p;

  for (size_t i = 0; i < n; i++)
    if (c[i] != 0)
      return false;
  return true;
}

static void
pct (char *out, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";

  for (; *s != '\0'; s++)
    {
      unsigned char c = (unsigned char) *s;

      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
          || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
        *out++ = (char) c;
      else
        {
          *out++ = '%';
          *out++ = hex[c >> 4];
          *out++ = hex[c & 15];
        }
    }
  *out = '\0';
}

static void
round_trip (const ga_activation_payload *p)
{
  static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t ul = strlen (p->base_url), cl = strlen (p->challenge_id);
  char *text = malloc (3 * (ul + cl) + 128), *o;
  char secret[23];
  ga_activation_payload q;
  ga_error err = { 0 };
  size_t j = 0;

  FUZZ_CHECK (text != NULL);
  for (size_t i = 0; i < 16; i += 3)          /* base64url, no padding */
    {
      uint32_t v = (uint32_t) p->secret[i] << 16;

      if (i + 1 < 16)
        v |= (uint32_t) p->secret[i + 1] << 8;
      if (i + 2 < 16)
        v |= p->secret[i + 2];
      secret[j++] = b64[v >> 18];
      secret[j++] = b64[(v >> 12) & 63];
      if (i + 1 < 16)
        secret[j++] = b64[(v >> 6) & 63];
      if (i + 2 < 16)
        secret[j++] = b64[v & 63];
    }
  secret[j] = '\0';
  o = text + sprintf (text, "guichet://activate?v=1&u=");
  pct (o, p->base_url);
  o += strlen (o);
  o += sprintf (o, "&c=");
  pct (o, p->challenge_id);
  o += strlen (o);
  sprintf (o, "&s=%s", secret);
  FUZZ_CHECK (ga_activation_payload_parse (text, &q, &err) == GA_OK);
  FUZZ_CHECK (strcmp (q.base_url, p->base_url) == 0);
  FUZZ_CHECK (strcmp (q.challenge_id, p->challenge_id) == 0);
  FUZZ_CHECK (memcmp (q.secret, p->secret, sizeof q.secret) == 0);
  ga_activation_payload_clear (&q);
  free (text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text;
  ga_activation_payload p;
  ga_error err = { 0 };
  ga_status st;

  if (size > 8192 || (text = fuzz_strndup (data, size)) == NULL)
    return 0;
  st = ga_activation_payload_parse (text, &p, &err);
  if (st == GA_OK)
    {
      size_t n = strlen (p.base_url);

      FUZZ_CHECK (strncmp (p.base_url, "http://", 7) == 0
                  || strncmp (p.base_url, "https://", 8) == 0);
      FUZZ_CHECK (n > 0 && p.base_url[n - 1] != '/');
      FUZZ_CHECK (strpbrk (p.base_url, "?# ") == NULL);
      FUZZ_CHECK (!fuzz_has_control (p.base_url));
      FUZZ_CHECK (p.challenge_id[0] != '\0'
                  && !fuzz_has_control (p.challenge_id));
      round_trip (&p);
      ga_activation_payload_clear (&p);
      FUZZ_CHECK (all_zero (&p, sizeof p));
    }
  else
    {
      FUZZ_CHECK (st == GA_ERR_INVALID || st == GA_ERR_NOMEM);
      FUZZ_CHECK (err.code[0] != '\0');
      FUZZ_CHECK (all_zero (&p, sizeof p));
    }
  free (text);
  return 0;
}
