/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * fuzz_device_request.c -- signed device requests (API.md, normative):
 * the Guichet-Device / Guichet-Timestamp / Guichet-Signature headers as
 * enrol/device_auth.c checks them before and after it loads the device's
 * key (enrol_device_headers_check, enrol_device_signature_check), and the
 * string the device signs (authn_device_request_string).  The key look-up
 * and the replay record need the database and are the API tests' part.
 *
 * Input: one flags byte, then NUL-separated: device id, method, path,
 * timestamp, signature (b64url DER), body (the rest, any bytes).  "now" is
 * fixed at 1750000000.  Flags bit 0: the harness plays the honest phone
 * and signs the request with API.md's device key through the reference
 * authenticator's code (authenticator/crypto.c), replacing the signature.
 *
 * Properties besides "no crash": headers pass only when present, not
 * over-long and within 120 s; a signature the server accepts verifies with
 * the phone's independent code over an independently built string; an
 * honest phone's request with well-formed headers is accepted.
 */
#include "fuzz.h"

#include <openssl/sha.h>

#include "authenticator/ga_internal.h"
#include "authn/device.h"
#include "core/crypto.h"
#include "enrol/device_step.h"

#define NOW ((time_t) 1750000000)

static const char sign_d_hex[] =
  "25f00d7601429388eba003af27c68647d2ce8033a3c71beffdce62c7a7c3205d";
static EVP_PKEY *key;
static uint8_t pub[GA_POINT_LEN];

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  uint8_t d[32];

  (void) argc;
  (void) argv;
  FUZZ_CHECK (core_hex_decode (sign_d_hex, d, sizeof d) == 32);
  FUZZ_CHECK (ga_key_from_private (d, &key) == GA_OK);
  FUZZ_CHECK (ga_key_public (key, pub) == GA_OK);
  return 0;
}

/* "METHOD\nPATH\nTIMESTAMP\n" hex(SHA-256(body)), written here from
   API.md rather than with the server's function. */
static char *
signed_string (const char *method, const char *path, const char *ts,
               const uint8_t *body, size_t body_len)
{
  uint8_t h[SHA256_DIGEST_LENGTH];
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  size_t n = strlen (method) + strlen (path) + strlen (ts) + sizeof hex + 3;
  char *s = malloc (n);

  FUZZ_CHECK (s != NULL);
  SHA256 (body, body_len, h);
  ga_hex_encode (h, sizeof h, hex);
  snprintf (s, n, "%s\n%s\n%s\n%s", method, path, ts, hex);
  return s;
}

/* The timestamp rule: unix seconds in canonical decimal (digits only, no
   sign, no leading zero: one text per second), at most 12 characters,
   within 120 s of now. */
static bool
ts_ok (const char *ts)
{
  long long t = 0;
  size_t len = strlen (ts);

  if (len == 0 || len > 12 || ts[0] == '0')
    return false;
  for (const char *p = ts; *p != '\0'; p++)
    {
      if (*p < '0' || *p > '9')
        return false;
      t = t * 10 + (*p - '0');
    }
  return t >= (long long) NOW - 120 && t <= (long long) NOW + 120;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct fuzz_fields ff;
  const char *dev, *method, *path, *ts, *sig;
  const uint8_t *body;
  size_t body_len, off;
  char *phone_sig = NULL, *msg, *server_msg;
  enum core_err h, s;

  if (size < 1 || size > 8192
      || !fuzz_split (data + 1, size - 1, '\0', 6, &ff))
    return 0;
  if (ff.n < 6)
    {
      fuzz_fields_free (&ff);
      return 0;
    }
  dev = ff.f[0];
  method = ff.f[1];
  path = ff.f[2];
  ts = ff.f[3];
  sig = ff.f[4];
  off = (size_t) (ff.f[5] - ff.buf);
  body = data + 1 + off;
  body_len = size - 1 - off;
  msg = signed_string (method, path, ts, body, body_len);
  if (data[0] & 1)
    {
      uint8_t *der = NULL;
      size_t der_len = 0;

      FUZZ_CHECK (ga_ecdsa_sign (key, msg, strlen (msg), &der, &der_len)
                  == GA_OK);
      phone_sig = core_b64url_encode (der, der_len);
      FUZZ_CHECK (phone_sig != NULL);
      sig = phone_sig;
      free (der);
    }

  h = enrol_device_headers_check (dev, ts, sig, NOW);
  FUZZ_CHECK (h == CORE_OK || h == CORE_ERR_UNAUTHORIZED);
  FUZZ_CHECK ((h == CORE_OK)
              == (strlen (dev) <= 64 && strlen (sig) <= 200 && ts_ok (ts)));
  FUZZ_CHECK (enrol_device_headers_check (NULL, ts, sig, NOW)
              == CORE_ERR_UNAUTHORIZED);
  FUZZ_CHECK (enrol_device_headers_check (dev, NULL, sig, NOW)
              == CORE_ERR_UNAUTHORIZED);
  FUZZ_CHECK (enrol_device_headers_check (dev, ts, NULL, NOW)
              == CORE_ERR_UNAUTHORIZED);

  s = enrol_device_signature_check (pub, method, path, ts, body, body_len,
                                    sig);
  FUZZ_CHECK (s == CORE_OK || s == CORE_ERR_UNAUTHORIZED);
  server_msg = authn_device_request_string (method, path, ts, body,
                                            body_len);
  if (server_msg != NULL)
    FUZZ_CHECK (strcmp (server_msg, msg) == 0);
  else     /* refused only for a newline that would make it ambiguous */
    FUZZ_CHECK (strchr (method, '\n') || strchr (path, '\n')
                || strchr (ts, '\n'));
  if (s == CORE_OK)
    {
      uint8_t *der = NULL;
      long n = core_b64url_decode (sig, &der);

      FUZZ_CHECK (server_msg != NULL);
      /* only the low-s form of a signature is ever accepted */
      FUZZ_CHECK (n > 0 && authn_device_sig_low_s (der, (size_t) n));
      FUZZ_CHECK (n > 0 && ga_ecdsa_verify (pub, msg, strlen (msg), der,
                                            (size_t) n) == 1);
      free (der);
    }
  if (phone_sig != NULL && server_msg != NULL)
    FUZZ_CHECK (s == CORE_OK);
  free (server_msg);
  free (phone_sig);
  free (msg);
  fuzz_fields_free (&ff);
  return 0;
}
