/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * codec.c -- hex, base64url (RFC 4648 §5, no padding) and base32 (RFC 4648
 * §6) for crypto.h.
 *
 * Decoders are strict where the input comes from programs (hex, base64url:
 * only the alphabet, only canonical trailing bits) and tolerant where people
 * type it (base32: any case, spaces, trailing '=').  Decoded bytes may be
 * secrets, so a buffer abandoned half-way is cleansed before it is freed.
 */
#include "core/crypto.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* ================================================================
 * Hex, base64url, base32
 * ================================================================ */

void
core_hex_encode (const void *data, size_t len, char *out)
{
  static const char digits[] = "0123456789abcdef";
  const uint8_t *p = data;

  for (size_t i = 0; i < len; i++)
    {
      out[2 * i] = digits[p[i] >> 4];
      out[2 * i + 1] = digits[p[i] & 0x0f];
    }
  out[2 * len] = '\0';
}

int
core_hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

long
core_hex_decode (const char *hex, uint8_t *out, size_t outlen)
{
  size_t len = strlen (hex);

  if (len % 2 != 0 || len / 2 > outlen || len / 2 > LONG_MAX)
    return -1;
  for (size_t i = 0; i < len / 2; i++)
    {
      int hi = core_hex_digit (hex[2 * i]);
      int lo = core_hex_digit (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        return -1;
      out[i] = (uint8_t) (hi << 4 | lo);
    }
  return (long) (len / 2);
}

static const char b64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
core_b64url_encode (const void *data, size_t len)
{
  const uint8_t *p = data;
  char *out, *o;
  size_t i;

  if (len > (SIZE_MAX - 4) / 4 * 3)
    return NULL;
  out = malloc ((len + 2) / 3 * 4 + 1);
  if (out == NULL)
    return NULL;
  o = out;
  for (i = 0; i + 3 <= len; i += 3)
    {
      uint32_t v = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];

      *o++ = b64url_alphabet[v >> 18];
      *o++ = b64url_alphabet[(v >> 12) & 63];
      *o++ = b64url_alphabet[(v >> 6) & 63];
      *o++ = b64url_alphabet[v & 63];
    }
  if (len - i > 0)
    {
      uint32_t v = (uint32_t) p[i] << 16;

      if (len - i == 2)
        v |= (uint32_t) p[i + 1] << 8;
      *o++ = b64url_alphabet[v >> 18];
      *o++ = b64url_alphabet[(v >> 12) & 63];
      if (len - i == 2)
        *o++ = b64url_alphabet[(v >> 6) & 63];
    }
  *o = '\0';
  return out;
}

static int
b64url_value (char c)
{
  const char *p;

  if (c == '\0')
    return -1;
  p = strchr (b64url_alphabet, c);
  return p != NULL ? (int) (p - b64url_alphabet) : -1;
}

long
core_b64url_decode (const char *s, uint8_t **out)
{
  size_t len = strlen (s);
  uint32_t acc = 0;
  unsigned int bits = 0;
  size_t n = 0;
  uint8_t *buf;

  *out = NULL;
  if (len % 4 == 1 || len > LONG_MAX)
    return -1;
  buf = malloc (len / 4 * 3 + 3);
  if (buf == NULL)
    return -1;
  for (size_t i = 0; i < len; i++)
    {
      int v = b64url_value (s[i]);

      if (v < 0)
        goto fail;
      acc = (acc << 6 | (uint32_t) v) & 0xffffff;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          buf[n++] = (uint8_t) (acc >> bits);
        }
    }
  /* Canonical form only: leftover bits must be zero. */
  if ((acc & ((1u << bits) - 1)) != 0)
    goto fail;
  *out = buf;
  return (long) n;

fail:
  OPENSSL_cleanse (buf, len / 4 * 3 + 3);
  free (buf);
  return -1;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *
core_b32_encode (const void *data, size_t len)
{
  const uint8_t *p = data;
  uint32_t acc = 0;
  unsigned int bits = 0;
  char *out, *o;

  if (len > (SIZE_MAX - 8) / 8 * 5)
    return NULL;
  out = malloc ((len + 4) / 5 * 8 + 1);
  if (out == NULL)
    return NULL;
  o = out;
  for (size_t i = 0; i < len; i++)
    {
      acc = (acc << 8 | p[i]) & 0xffff;
      bits += 8;
      while (bits >= 5)
        {
          bits -= 5;
          *o++ = b32_alphabet[(acc >> bits) & 31];
        }
    }
  if (bits > 0)
    *o++ = b32_alphabet[(acc << (5 - bits)) & 31];
  *o = '\0';
  return out;
}

static int
b32_value (char c)
{
  c = (char) toupper ((unsigned char) c);
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= '2' && c <= '7')
    return c - '2' + 26;
  return -1;
}

long
core_b32_decode (const char *s, uint8_t **out)
{
  size_t len = strlen (s);
  size_t cap = len / 8 * 5 + 5;
  uint32_t acc = 0;
  unsigned int bits = 0, chars = 0;
  bool padding = false;
  size_t n = 0;
  uint8_t *buf;

  *out = NULL;
  if (len > LONG_MAX)
    return -1;
  buf = malloc (cap);
  if (buf == NULL)
    return -1;
  for (size_t i = 0; i < len; i++)
    {
      int v;

      if (s[i] == ' ')
        continue;
      if (s[i] == '=')
        {
          padding = true;
          continue;
        }
      v = b32_value (s[i]);
      if (v < 0 || padding)
        goto fail;
      acc = (acc << 5 | (uint32_t) v) & 0x1fff;
      bits += 5;
      chars++;
      if (bits >= 8)
        {
          bits -= 8;
          buf[n++] = (uint8_t) (acc >> bits);
        }
    }
  /* A final group of 1, 3 or 6 characters cannot come from any input. */
  if (chars % 8 == 1 || chars % 8 == 3 || chars % 8 == 6)
    goto fail;
  *out = buf;
  return (long) n;

fail:
  OPENSSL_cleanse (buf, cap);
  free (buf);
  return -1;
}
