/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * state.c -- the authenticator's state file: device id, base URL, status,
 * the signing private key, the OTP seed and parameters, sealed under a
 * local PIN so that a stolen file alone is useless.
 *
 * Layout, version 1 (integers big-endian):
 *
 *   0  8  magic "GUICHETA"       14 16  salt (random)
 *   8  1  version = 1            30 12  AES-GCM nonce (random)
 *   9  1  kdf = 1 (PBKDF2-SHA256) 42  n  ciphertext
 *  10  4  iterations             42+n 16 GCM tag
 *
 * key = PBKDF2-HMAC-SHA256(PIN, salt, iterations, 32 bytes); AES-256-GCM
 * with bytes 0..41 as associated data, so the header cannot be changed
 * either.  A wrong PIN and an altered file both fail the tag and cannot be
 * told apart.  The plaintext and the key are cleansed as soon as used; the
 * file is written to a temporary name (mode 0600) and renamed into place.
 */
#include "ga_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define STATE_MAGIC "GUICHETA"
#define STATE_MAGIC_LEN 8
#define STATE_VERSION 1
#define STATE_KDF_PBKDF2 1
#define STATE_ITERATIONS 600000u
#define STATE_MIN_ITERATIONS 200000u
#define STATE_MAX_ITERATIONS 10000000u
#define STATE_SALT_LEN 16
#define STATE_NONCE_LEN 12
#define STATE_TAG_LEN 16
#define STATE_HEADER_LEN (STATE_MAGIC_LEN + 2 + 4 + STATE_SALT_LEN \
                          + STATE_NONCE_LEN)
#define STATE_MAX_FILE (64 * 1024)
#define STATE_KEY_LEN 32

/* A growing (writer) or consumed (reader) byte string. */
struct bytes {
  uint8_t *data;
  size_t len, cap, pos;
  bool bad;
};

/* ================================================================
 * Plaintext encoding
 * ================================================================ */

static void
put (struct bytes *b, const void *data, size_t len)
{
  if (b->bad || b->len + len > b->cap)
    {
      b->bad = true;
      return;
    }
  memcpy (b->data + b->len, data, len);
  b->len += len;
}

static void
put_u32 (struct bytes *b, uint32_t v)
{
  uint8_t be[4] = { v >> 24, v >> 16, v >> 8, v };

  put (b, be, sizeof be);
}

static void
put_str (struct bytes *b, const char *s)
{
  size_t len = strlen (s);
  uint8_t be[2] = { len >> 8, len };

  if (len > 0xffff)
    b->bad = true;
  put (b, be, sizeof be);
  put (b, s, len);
}

static const uint8_t *
take (struct bytes *b, size_t len)
{
  const uint8_t *p = b->data + b->pos;

  if (b->bad || b->len - b->pos < len)
    {
      b->bad = true;
      return NULL;
    }
  b->pos += len;
  return p;
}

static uint32_t
take_u32 (struct bytes *b)
{
  const uint8_t *p = take (b, 4);

  return p == NULL ? 0
         : (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

/* A new string from a u16-length field, or NULL. */
static char *
take_str (struct bytes *b)
{
  const uint8_t *be = take (b, 2);
  const uint8_t *p = be != NULL ? take (b, (size_t) be[0] << 8 | be[1]) : NULL;
  char *s;

  if (p == NULL || memchr (p, '\0', (size_t) be[0] << 8 | be[1]) != NULL)
    {
      b->bad = true;
      return NULL;
    }
  s = strndup ((const char *) p, (size_t) be[0] << 8 | be[1]);
  b->bad = b->bad || s == NULL;
  return s;
}

/* Serialise the device; the caller cleanses and frees out->data. */
static ga_status
plaintext_encode (const ga_device *dev, struct bytes *out)
{
  uint8_t d[GA_SCALAR_LEN];
  uint8_t digits = (uint8_t) dev->otp.digits;
  ga_status rc;

  memset (out, 0, sizeof *out);
  out->cap = 3 * 2 + strlen (dev->device_id) + strlen (dev->base_url)
             + strlen (dev->status) + GA_SCALAR_LEN + GA_SEED_LEN + 1
             + sizeof dev->otp.algorithm + 1 + 4;
  out->data = malloc (out->cap);
  if (out->data == NULL)
    return GA_ERR_NOMEM;
  if ((rc = ga_key_private (dev->signing_key, d)) != GA_OK)
    return rc;
  put_str (out, dev->device_id);
  put_str (out, dev->base_url);
  put_str (out, dev->status);
  put (out, d, sizeof d);
  put (out, dev->seed, GA_SEED_LEN);
  OPENSSL_cleanse (d, sizeof d);
  put (out, &(uint8_t) { (uint8_t) strlen (dev->otp.algorithm) }, 1);
  put (out, dev->otp.algorithm, strlen (dev->otp.algorithm));
  put (out, &digits, 1);
  put_u32 (out, (uint32_t) dev->otp.period);
  return out->bad ? GA_ERR_INVALID : GA_OK;
}

static ga_status
plaintext_decode (struct bytes *in, ga_device **out)
{
  char *id = take_str (in), *url = take_str (in), *status = take_str (in);
  const uint8_t *d = take (in, GA_SCALAR_LEN), *seed = take (in, GA_SEED_LEN);
  const uint8_t *alen = take (in, 1);
  const uint8_t *algo = alen != NULL ? take (in, *alen) : NULL;
  const uint8_t *digits = take (in, 1);
  ga_otp_params otp = { .period = (int) take_u32 (in) };
  EVP_PKEY *key = NULL;
  ga_status rc = GA_ERR_INVALID;

  if (!in->bad && in->pos == in->len && *alen < sizeof otp.algorithm)
    {
      memcpy (otp.algorithm, algo, *alen);
      otp.digits = *digits;
      if (ga_otp_params_valid (&otp) && ga_key_from_private (d, &key) == GA_OK)
        rc = ga_device_assemble (id, url, status, key, seed, &otp, out);
    }
  free (id);
  free (url);
  free (status);
  return rc;
}

/* ================================================================
 * Sealing
 * ================================================================ */

static ga_status
derive_key (const char *pin, const uint8_t *salt, uint32_t iterations,
            uint8_t key[STATE_KEY_LEN])
{
  if (PKCS5_PBKDF2_HMAC (pin, (int) strlen (pin), salt, STATE_SALT_LEN,
                         (int) iterations, EVP_sha256 (), STATE_KEY_LEN,
                         key) != 1)
    return GA_ERR_CRYPTO;
  return GA_OK;
}

/* AES-256-GCM over in[0..len) into out (len bytes) and the tag; header is
 * the associated data.  encrypt = 0 checks the tag instead. */
static bool
gcm (int encrypt, const uint8_t key[STATE_KEY_LEN], const uint8_t *header,
     const uint8_t *in, size_t len, uint8_t *out, uint8_t *tag)
{
  const uint8_t *nonce = header + STATE_HEADER_LEN - STATE_NONCE_LEN;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  int n = 0, ok;

  ok = ctx != NULL
       && EVP_CipherInit_ex2 (ctx, EVP_aes_256_gcm (), key, nonce, encrypt,
                              NULL) == 1
       && EVP_CipherUpdate (ctx, NULL, &n, header, STATE_HEADER_LEN) == 1
       && EVP_CipherUpdate (ctx, out, &n, in, (int) len) == 1
       && (encrypt || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG,
                                           STATE_TAG_LEN, tag) == 1)
       && EVP_CipherFinal_ex (ctx, out + n, &n) == 1
       && (!encrypt || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG,
                                            STATE_TAG_LEN, tag) == 1);
  EVP_CIPHER_CTX_free (ctx);
  return ok;
}

static void
header_fill (uint8_t *h, uint32_t iterations)
{
  memcpy (h, STATE_MAGIC, STATE_MAGIC_LEN);
  h[8] = STATE_VERSION;
  h[9] = STATE_KDF_PBKDF2;
  h[10] = (uint8_t) (iterations >> 24);
  h[11] = (uint8_t) (iterations >> 16);
  h[12] = (uint8_t) (iterations >> 8);
  h[13] = (uint8_t) iterations;
}

/* The whole sealed file for a plaintext (malloc'ed into *file). */
static ga_status
seal (const struct bytes *plain, const char *pin, uint8_t **file,
      size_t *file_len)
{
  uint8_t key[STATE_KEY_LEN], *f;
  ga_status rc;

  *file_len = STATE_HEADER_LEN + plain->len + STATE_TAG_LEN;
  *file = f = malloc (*file_len);
  if (f == NULL)
    return GA_ERR_NOMEM;
  header_fill (f, STATE_ITERATIONS);
  rc = ga_random (f + STATE_MAGIC_LEN + 6, STATE_SALT_LEN + STATE_NONCE_LEN);
  if (rc == GA_OK)
    rc = derive_key (pin, f + STATE_MAGIC_LEN + 6, STATE_ITERATIONS, key);
  if (rc == GA_OK
      && !gcm (1, key, f, plain->data, plain->len, f + STATE_HEADER_LEN,
               f + STATE_HEADER_LEN + plain->len))
    rc = GA_ERR_CRYPTO;
  OPENSSL_cleanse (key, sizeof key);
  if (rc != GA_OK)
    {
      free (f);
      *file = NULL;
    }
  return rc;
}

/* ================================================================
 * Files
 * ================================================================ */

static bool
write_all (int fd, const uint8_t *data, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      data += n;
      len -= (size_t) n;
    }
  return true;
}

/* Write to a fresh 0600 file beside path, then rename it into place. */
static ga_status
write_file (const char *path, const uint8_t *data, size_t len, ga_error *err)
{
  char *tmp = NULL;
  int fd, saved = 0;
  bool ok;

  if (asprintf (&tmp, "%s.tmpXXXXXX", path) < 0)
    return ga_nomem (err);
  fd = mkstemp (tmp);   /* O_EXCL, mode 0600 */
  ok = fd >= 0 && write_all (fd, data, len) && fsync (fd) == 0;
  saved = errno;
  if (fd >= 0 && close (fd) != 0 && ok)
    {
      ok = false;
      saved = errno;
    }
  if (ok && rename (tmp, path) != 0)
    {
      ok = false;
      saved = errno;
    }
  if (!ok && fd >= 0)
    unlink (tmp);
  free (tmp);
  if (!ok)
    return ga_fail (err, GA_ERR_IO, "state_write_failed",
                    "cannot write the state file: %s", strerror (saved));
  return GA_OK;
}

ga_status
ga_state_save (const ga_device *dev, const char *path, const char *pin,
               ga_error *err)
{
  struct bytes plain;
  uint8_t *file = NULL;
  size_t file_len = 0;
  ga_status rc;

  if (pin == NULL || *pin == '\0')
    return ga_fail (err, GA_ERR_INVALID, "pin_required",
                    "a PIN is needed to seal the state file");
  rc = plaintext_encode (dev, &plain);
  if (rc == GA_OK)
    rc = seal (&plain, pin, &file, &file_len);
  if (plain.data != NULL)
    OPENSSL_cleanse (plain.data, plain.cap);
  free (plain.data);
  if (rc == GA_OK)
    rc = write_file (path, file, file_len, err);
  else
    rc = rc == GA_ERR_NOMEM ? ga_nomem (err)
                            : ga_crypto_fail (err, "sealing the state");
  free (file);
  return rc;
}

static ga_status
read_file (const char *path, uint8_t **data, size_t *len, ga_error *err)
{
  FILE *f = fopen (path, "rb");

  *data = NULL;
  if (f == NULL)
    return ga_fail (err, GA_ERR_IO, "state_unreadable",
                    "cannot read the state file: %s", strerror (errno));
  *data = malloc (STATE_MAX_FILE + 1);
  *len = *data != NULL ? fread (*data, 1, STATE_MAX_FILE + 1, f) : 0;
  fclose (f);
  if (*data == NULL)
    return ga_nomem (err);
  if (*len > STATE_MAX_FILE)
    return ga_fail (err, GA_ERR_INVALID, "state_invalid",
                    "the state file is too large");
  return GA_OK;
}

/* Check the header; the iteration count in *iterations. */
static ga_status
header_check (const uint8_t *f, size_t len, uint32_t *iterations,
              ga_error *err)
{
  if (len < STATE_HEADER_LEN + STATE_TAG_LEN
      || memcmp (f, STATE_MAGIC, STATE_MAGIC_LEN) != 0)
    return ga_fail (err, GA_ERR_INVALID, "state_invalid",
                    "not a guichet-authenticator state file");
  if (f[8] != STATE_VERSION || f[9] != STATE_KDF_PBKDF2)
    return ga_fail (err, GA_ERR_INVALID, "state_version",
                    "state file version %u is not supported", f[8]);
  *iterations = (uint32_t) f[10] << 24 | (uint32_t) f[11] << 16
                | (uint32_t) f[12] << 8 | f[13];
  if (*iterations < STATE_MIN_ITERATIONS || *iterations > STATE_MAX_ITERATIONS)
    return ga_fail (err, GA_ERR_INVALID, "state_invalid",
                    "the state file's PBKDF2 iteration count is refused");
  return GA_OK;
}

/* Open the sealed file into a plaintext (cleansed and freed by caller). */
static ga_status
unseal (uint8_t *f, size_t len, const char *pin, uint32_t iterations,
        struct bytes *plain, ga_error *err)
{
  uint8_t key[STATE_KEY_LEN];
  size_t ct_len = len - STATE_HEADER_LEN - STATE_TAG_LEN;
  ga_status rc;

  memset (plain, 0, sizeof *plain);
  plain->data = malloc (ct_len + 1);
  if (plain->data == NULL)
    return ga_nomem (err);
  plain->len = plain->cap = ct_len;
  rc = derive_key (pin, f + STATE_MAGIC_LEN + 6, iterations, key);
  if (rc != GA_OK)
    return ga_crypto_fail (err, "PBKDF2");
  if (!gcm (0, key, f, f + STATE_HEADER_LEN, ct_len, plain->data,
            f + STATE_HEADER_LEN + ct_len))
    rc = ga_fail (err, GA_ERR_PIN, "wrong_pin",
                  "wrong PIN, or the state file was altered");
  OPENSSL_cleanse (key, sizeof key);
  return rc;
}

ga_status
ga_state_load (const char *path, const char *pin, ga_device **out,
               ga_error *err)
{
  struct bytes plain = { 0 };
  uint8_t *file = NULL;
  size_t len = 0;
  uint32_t iterations = 0;
  ga_status rc;

  *out = NULL;
  if (pin == NULL || *pin == '\0')
    return ga_fail (err, GA_ERR_INVALID, "pin_required",
                    "a PIN is needed to open the state file");
  rc = read_file (path, &file, &len, err);
  if (rc == GA_OK)
    rc = header_check (file, len, &iterations, err);
  if (rc == GA_OK)
    rc = unseal (file, len, pin, iterations, &plain, err);
  if (rc == GA_OK && plaintext_decode (&plain, out) != GA_OK)
    rc = ga_fail (err, GA_ERR_INVALID, "state_invalid",
                  "the state file's contents are malformed");
  if (plain.data != NULL)
    OPENSSL_cleanse (plain.data, plain.cap);
  free (plain.data);
  free (file);
  return rc;
}
