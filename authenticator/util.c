/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * util.c -- errors and codecs of the reference authenticator: base64url
 * (RFC 4648 §5, no padding), lower-case hex and percent-decoding of QR
 * query values.
 *
 * The authenticator is a separate program from the server, so it carries
 * its own small codecs rather than borrowing core/.  Decoders are strict:
 * a phone must not be lenient about what a QR code says.  Error messages
 * never quote a secret.
 */
#include "ga_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* ================================================================
 * Errors
 * ================================================================ */

ga_status
ga_fail (ga_error *err, ga_status status, const char *code,
         const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return status;
  err->status = status;
  err->http_status = 0;
  snprintf (err->code, sizeof err->code, "%s", code);
  va_start (ap, fmt);
  vsnprintf (err->message, sizeof err->message, fmt, ap);
  va_end (ap);
  return status;
}

ga_status
ga_nomem (ga_error *err)
{
  return ga_fail (err, GA_ERR_NOMEM, "out_of_memory", "out of memory");
}

ga_status
ga_crypto_fail (ga_error *err, const char *what)
{
  return ga_fail (err, GA_ERR_CRYPTO, "crypto_failed", "%s failed", what);
}

const char *
ga_status_name (ga_status status)
{
  static const char *const names[] = {
    [GA_OK] = "ok", [GA_ERR_INVALID] = "invalid",
    [GA_ERR_NOMEM] = "nomem", [GA_ERR_CRYPTO] = "crypto",
    [GA_ERR_IO] = "io", [GA_ERR_PIN] = "pin",
    [GA_ERR_NETWORK] = "network", [GA_ERR_SERVER] = "server",
    [GA_ERR_PROTOCOL] = "protocol", [GA_ERR_DENIED] = "denied",
  };

  if ((unsigned) status < sizeof names / sizeof names[0])
    return names[status];
  return "unknown";
}

/* ================================================================
 * Strings
 * ================================================================ */

char *
ga_strdup (const char *s)
{
  size_t len = strlen (s) + 1;
  char *copy = malloc (len);

  if (copy != NULL)
    memcpy (copy, s, len);
  return copy;
}

void
ga_free_secret_str (char *s)
{
  if (s == NULL)
    return;
  OPENSSL_cleanse (s, strlen (s));
  free (s);
}

/* ================================================================
 * Hex and base64url
 * ================================================================ */

static const char b64url_alphabet[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
ga_hex_encode (const void *data, size_t len, char *out)
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

char *
ga_b64url_encode (const void *data, size_t len)
{
  const uint8_t *p = data;
  char *out = malloc (len / 3 * 4 + 4 + 1);
  size_t o = 0;

  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < len; i += 3)
    {
      uint32_t v = (uint32_t) p[i] << 16;
      size_t n = len - i < 3 ? len - i : 3;

      if (n > 1)
        v |= (uint32_t) p[i + 1] << 8;
      if (n > 2)
        v |= p[i + 2];
      out[o++] = b64url_alphabet[(v >> 18) & 63];
      out[o++] = b64url_alphabet[(v >> 12) & 63];
      if (n > 1)
        out[o++] = b64url_alphabet[(v >> 6) & 63];
      if (n > 2)
        out[o++] = b64url_alphabet[v & 63];
    }
  out[o] = '\0';
  return out;
}

static int
b64url_value (char c)
{
  const char *hit;

  if (c == '\0')
    return -1;
  hit = strchr (b64url_alphabet, c);
  return hit == NULL ? -1 : (int) (hit - b64url_alphabet);
}

long
ga_b64url_decode (const char *text, uint8_t *out, size_t cap)
{
  size_t len = strlen (text), o = 0;
  uint32_t acc = 0;
  int bits = 0;

  if (len % 4 == 1)
    return -1;
  for (size_t i = 0; i < len; i++)
    {
      int v = b64url_value (text[i]);

      if (v < 0)
        goto fail;
      acc = (acc << 6) | (uint32_t) v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          if (o == cap)
            goto fail;
          out[o++] = (uint8_t) (acc >> bits);
          acc &= (1u << bits) - 1;
        }
    }
  if (acc != 0)   /* non-canonical trailing bits */
    goto fail;
  return (long) o;

fail:
  OPENSSL_cleanse (out, cap);
  return -1;
}

/* ================================================================
 * Percent-decoding
 * ================================================================ */

static int
hex_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *
ga_percent_decode (const char *text, size_t len)
{
  char *out = malloc (len + 1);
  size_t o = 0;

  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++)
    {
      int hi, lo;

      if (text[i] == '+')
        out[o++] = ' ';
      else if (text[i] != '%')
        out[o++] = text[i];
      else if (i + 2 < len
               && (hi = hex_value (text[i + 1])) >= 0
               && (lo = hex_value (text[i + 2])) >= 0 && (hi | lo) != 0)
        {
          out[o++] = (char) (hi << 4 | lo);
          i += 2;
        }
      else
        {
          free (out);
          return NULL;
        }
    }
  out[o] = '\0';
  return out;
}
