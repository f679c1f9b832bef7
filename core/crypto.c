/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * crypto.c -- the primitives of crypto.h on OpenSSL 3: CSPRNG, constant-time
 * compare, SHA-256, HMAC-SHA256, the master keyring and the AES-256-GCM
 * envelope for secrets at rest (hex, base64url and base32 are in codec.c).
 *
 * Master keys live only in the static keyring below, loaded once at start
 * from a file no one else may read; they never leave this file, are never
 * logged and are cleansed when replaced.  Error messages name files and
 * lines, never key material.  core_open() gives all or nothing: a bad
 * envelope yields -1 and no partial plaintext.
 */
#include "core/crypto.h"
#include "core/log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define ENV_VERSION 1
#define KEY_LEN 32
#define IV_LEN 12
#define TAG_LEN 16
#define KEY_ID_MAX 64
#define KEYRING_MAX 16

/* ================================================================
 * Random, compare, hashes
 * ================================================================ */

int
core_random (void *buf, size_t len)
{
  unsigned char *p = buf;
  size_t done = 0;

  while (done < len)
    {
      size_t chunk = len - done > INT_MAX ? INT_MAX : len - done;

      if (RAND_bytes (p + done, (int) chunk) != 1)
        {
          OPENSSL_cleanse (buf, len);
          LOG_BUG ("RAND_bytes failed");
          return -1;
        }
      done += chunk;
    }
  return 0;
}

bool
core_ct_equal (const void *a, size_t alen, const void *b, size_t blen)
{
  if (alen != blen)
    return false;
  if (alen == 0)
    return true;
  return CRYPTO_memcmp (a, b, alen) == 0;
}

bool
core_ct_streq (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return false;
  return core_ct_equal (a, strlen (a), b, strlen (b));
}

void
core_sha256 (const void *data, size_t len, uint8_t out[CORE_SHA256_LEN])
{
  if (EVP_Digest (data, len, out, NULL, EVP_sha256 (), NULL) != 1)
    {
      memset (out, 0, CORE_SHA256_LEN);
      LOG_BUG ("EVP_Digest(SHA-256) failed");
    }
}

void
core_sha256_hex (const void *data, size_t len, char hex[65])
{
  uint8_t md[CORE_SHA256_LEN];

  core_sha256 (data, len, md);
  core_hex_encode (md, sizeof md, hex);
}

int
core_hmac_sha256 (const void *key, size_t keylen, const void *data,
                  size_t len, uint8_t out[CORE_SHA256_LEN])
{
  static const unsigned char empty[1];
  size_t outlen = 0;

  if (EVP_Q_mac (NULL, "HMAC", NULL, "SHA256", NULL,
                 key != NULL ? key : empty, keylen,
                 data != NULL ? data : empty, len,
                 out, CORE_SHA256_LEN, &outlen) == NULL
      || outlen != CORE_SHA256_LEN)
    {
      OPENSSL_cleanse (out, CORE_SHA256_LEN);
      LOG_BUG ("HMAC-SHA256 failed");
      return -1;
    }
  return 0;
}

/* ================================================================
 * Keyring
 * ================================================================ */

struct master_key {
  char id[KEY_ID_MAX + 1];
  uint8_t key[KEY_LEN];
};

static struct {
  size_t n;
  struct master_key keys[KEYRING_MAX];
} keyring;

static bool
valid_key_id (const char *id)
{
  size_t len = strlen (id);

  if (len == 0 || len > KEY_ID_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isalnum ((unsigned char) id[i]) && strchr ("._-", id[i]) == NULL)
      return false;
  return true;
}

/* Parse one line into @a k. @return 1 key, 0 blank/comment, -1 bad. */
static int
parse_key_line (char *line, struct master_key *k)
{
  char *tok1, *tok2, *save = NULL;

  tok1 = strtok_r (line, " \t\r\n", &save);
  if (tok1 == NULL || tok1[0] == '#')
    return 0;
  tok2 = strtok_r (NULL, " \t\r\n", &save);
  if (strtok_r (NULL, " \t\r\n", &save) != NULL)
    return -1;
  if (tok2 == NULL)
    {
      tok2 = tok1;
      tok1 = "k1";
    }
  if (!valid_key_id (tok1) || strlen (tok2) != 2 * KEY_LEN
      || core_hex_decode (tok2, k->key, KEY_LEN) != KEY_LEN)
    return -1;
  snprintf (k->id, sizeof k->id, "%s", tok1);
  return 1;
}

static int
check_key_file (int fd, const char *path, char *err, size_t errlen)
{
  struct stat st;

  if (fstat (fd, &st) != 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      snprintf (err, errlen, "%s: not a regular file", path);
      return -1;
    }
  if ((st.st_mode & 077) != 0)
    {
      snprintf (err, errlen,
                "%s: master key file is accessible by group or others "
                "(mode %03o); run: chmod 600 %s", path,
                (unsigned int) (st.st_mode & 0777), path);
      return -1;
    }
  return 0;
}

/* Read every key of @a f into @a ring. @return 0 or -1 (message set). */
static int
read_keys (FILE *f, const char *path, struct master_key *ring, size_t *n,
           char *err, size_t errlen)
{
  char *line = NULL;
  size_t cap = 0;
  unsigned int lineno = 0;
  int ret = -1;
  int r;

  *n = 0;
  while (getline (&line, &cap, f) != -1)
    {
      lineno++;
      r = parse_key_line (line, &ring[*n]);
      if (r < 0)
        {
          snprintf (err, errlen, "%s:%u: expected \"<key id> <64 hex "
                    "digits>\"", path, lineno);
          goto cleanup;
        }
      if (r == 0)
        continue;
      for (size_t i = 0; i < *n; i++)
        if (strcmp (ring[i].id, ring[*n].id) == 0)
          {
            snprintf (err, errlen, "%s:%u: duplicate key id", path, lineno);
            goto cleanup;
          }
      if (++*n == KEYRING_MAX)
        {
          snprintf (err, errlen, "%s: more than %d keys", path,
                    KEYRING_MAX - 1);
          goto cleanup;
        }
    }
  if (*n == 0)
    snprintf (err, errlen, "%s: no key found", path);
  else
    ret = 0;

cleanup:
  if (line != NULL)
    OPENSSL_cleanse (line, cap);
  free (line);
  return ret;
}

int
core_keyring_load (const char *path, char *err, size_t errlen)
{
  struct master_key ring[KEYRING_MAX];
  size_t n = 0;
  FILE *f = NULL;
  int fd, ret = -1;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      return -1;
    }
  if (check_key_file (fd, path, err, errlen) != 0)
    goto cleanup;
  f = fdopen (fd, "r");
  if (f == NULL)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      goto cleanup;
    }
  fd = -1;
  setvbuf (f, NULL, _IONBF, 0);   /* no stdio copy of the keys */
  if (read_keys (f, path, ring, &n, err, errlen) != 0)
    goto cleanup;
  OPENSSL_cleanse (&keyring, sizeof keyring);
  memcpy (keyring.keys, ring, n * sizeof ring[0]);
  keyring.n = n;
  ret = 0;

cleanup:
  OPENSSL_cleanse (ring, sizeof ring);
  if (f != NULL)
    fclose (f);
  if (fd >= 0)
    close (fd);
  return ret;
}

int
core_keyring_create (const char *path, char *err, size_t errlen)
{
  uint8_t key[KEY_LEN];
  char line[KEY_ID_MAX + 2 * KEY_LEN + 4];
  char hex[2 * KEY_LEN + 1];
  int fd, len, ret = -1;

  if (core_random (key, sizeof key) != 0)
    {
      snprintf (err, errlen, "no random bytes for a new key");
      return -1;
    }
  core_hex_encode (key, sizeof key, hex);
  len = snprintf (line, sizeof line, "k%lld %s\n", (long long) time (NULL),
                  hex);
  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
             0600);
  if (fd < 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      goto cleanup;
    }
  if (write (fd, line, (size_t) len) != len || fsync (fd) != 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      close (fd);
      unlink (path);
      goto cleanup;
    }
  if (close (fd) != 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      unlink (path);
      goto cleanup;
    }
  ret = 0;

cleanup:
  OPENSSL_cleanse (key, sizeof key);
  OPENSSL_cleanse (hex, sizeof hex);
  OPENSSL_cleanse (line, sizeof line);
  return ret;
}

static const struct master_key *
find_key (const uint8_t *id, size_t idlen)
{
  for (size_t i = 0; i < keyring.n; i++)
    if (strlen (keyring.keys[i].id) == idlen
        && memcmp (keyring.keys[i].id, id, idlen) == 0)
      return &keyring.keys[i];
  return NULL;
}

/* ================================================================
 * Envelope: 0x01 | idlen | id | IV | ciphertext | tag
 * ================================================================ */

/* Feed the envelope header and the caller's aad as GCM associated data. */
static bool
gcm_aad (EVP_CIPHER_CTX *ctx, bool enc, const uint8_t *hdr, size_t hdrlen,
         const char *aad)
{
  int outl;
  int (*update) (EVP_CIPHER_CTX *, unsigned char *, int *,
                 const unsigned char *, int)
    = enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;

  if (update (ctx, NULL, &outl, hdr, (int) hdrlen) != 1)
    return false;
  if (aad != NULL && aad[0] != '\0'
      && update (ctx, NULL, &outl, (const unsigned char *) aad,
                 (int) strlen (aad)) != 1)
    return false;
  return true;
}

int
core_seal (const void *plain, size_t len, const char *aad,
           uint8_t **out, size_t *outlen)
{
  const struct master_key *k = &keyring.keys[0];
  EVP_CIPHER_CTX *ctx = NULL;
  size_t idlen, hdrlen, total;
  uint8_t *buf = NULL, *iv, *ct;
  int outl, ret = -1;

  *out = NULL;
  *outlen = 0;
  if (keyring.n == 0 || len > INT_MAX / 2
      || (aad != NULL && strlen (aad) > INT_MAX / 2))
    {
      LOG_BUG ("core_seal: %s", keyring.n == 0 ? "no keyring loaded"
                                               : "input too large");
      return -1;
    }
  idlen = strlen (k->id);
  hdrlen = 2 + idlen;
  total = hdrlen + IV_LEN + len + TAG_LEN;
  buf = malloc (total);
  ctx = EVP_CIPHER_CTX_new ();
  if (buf == NULL || ctx == NULL)
    goto cleanup;
  buf[0] = ENV_VERSION;
  buf[1] = (uint8_t) idlen;
  memcpy (buf + 2, k->id, idlen);
  iv = buf + hdrlen;
  ct = iv + IV_LEN;
  if (core_random (iv, IV_LEN) != 0
      || EVP_EncryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, k->key, iv) != 1
      || !gcm_aad (ctx, true, buf, hdrlen, aad)
      || (len > 0 && EVP_EncryptUpdate (ctx, ct, &outl, plain, (int) len) != 1)
      || EVP_EncryptFinal_ex (ctx, ct + len, &outl) != 1
      || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                              ct + len) != 1)
    {
      LOG_BUG ("AES-256-GCM seal failed");
      goto cleanup;
    }
  *out = buf;
  *outlen = total;
  buf = NULL;
  ret = 0;

cleanup:
  if (buf != NULL)
    core_free_secret (buf, total);
  EVP_CIPHER_CTX_free (ctx);
  return ret;
}

int
core_open (const uint8_t *env, size_t envlen, const char *aad,
           uint8_t **plain, size_t *plainlen)
{
  const struct master_key *k;
  EVP_CIPHER_CTX *ctx = NULL;
  size_t hdrlen, ctlen = 0;
  const uint8_t *iv, *ct;
  uint8_t *buf = NULL;
  int outl, ret = -1;

  *plain = NULL;
  *plainlen = 0;
  if (env == NULL || envlen < 2 || env[0] != ENV_VERSION || env[1] == 0)
    return -1;
  hdrlen = 2 + (size_t) env[1];
  if (envlen < hdrlen + IV_LEN + TAG_LEN || envlen > INT_MAX / 2
      || (aad != NULL && strlen (aad) > INT_MAX / 2))
    return -1;
  k = find_key (env + 2, env[1]);
  if (k == NULL)
    return -1;
  iv = env + hdrlen;
  ct = iv + IV_LEN;
  ctlen = envlen - hdrlen - IV_LEN - TAG_LEN;
  buf = malloc (ctlen + 1);
  ctx = EVP_CIPHER_CTX_new ();
  if (buf == NULL || ctx == NULL)
    goto cleanup;
  if (EVP_DecryptInit_ex (ctx, EVP_aes_256_gcm (), NULL, k->key, iv) != 1
      || !gcm_aad (ctx, false, env, hdrlen, aad)
      || (ctlen > 0
          && EVP_DecryptUpdate (ctx, buf, &outl, ct, (int) ctlen) != 1)
      || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN,
                              (void *) (ct + ctlen)) != 1
      || EVP_DecryptFinal_ex (ctx, buf + ctlen, &outl) != 1)
    goto cleanup;
  *plain = buf;
  *plainlen = ctlen;
  buf = NULL;
  ret = 0;

cleanup:
  if (buf != NULL)
    core_free_secret (buf, ctlen + 1);
  EVP_CIPHER_CTX_free (ctx);
  return ret;
}

void
core_free_secret (void *p, size_t len)
{
  if (p == NULL)
    return;
  OPENSSL_cleanse (p, len);
  free (p);
}

char *
core_random_id (const char *prefix)
{
  uint8_t raw[16];
  char *b64, *id;
  size_t plen = prefix != NULL ? strlen (prefix) : 0;

  if (core_random (raw, sizeof raw) != 0)
    return NULL;
  b64 = core_b64url_encode (raw, sizeof raw);
  if (b64 == NULL)
    return NULL;
  if (plen == 0)
    return b64;
  id = malloc (plen + 1 + strlen (b64) + 1);
  if (id != NULL)
    sprintf (id, "%s_%s", prefix, b64);
  free (b64);
  return id;
}

int
core_keyed_mac (const char *purpose, const void *data, size_t len,
                uint8_t out[CORE_SHA256_LEN])
{
  static const char label[] = "guichet-keyed-mac-v1";
  uint8_t info[sizeof label + 64];
  uint8_t k[CORE_SHA256_LEN];
  size_t plen = strlen (purpose);
  int ret = -1;

  memset (out, 0, CORE_SHA256_LEN);
  if (keyring.n == 0 || plen > 64)
    return -1;
  memcpy (info, label, sizeof label);           /* with its NUL separator */
  memcpy (info + sizeof label, purpose, plen);
  if (core_hmac_sha256 (keyring.keys[0].key, KEY_LEN, info,
                        sizeof label + plen, k) == 0
      && core_hmac_sha256 (k, sizeof k, data, len, out) == 0)
    ret = 0;
  OPENSSL_cleanse (k, sizeof k);
  return ret;
}

const char *
core_keyring_current_id (void)
{
  return keyring.n > 0 ? keyring.keys[0].id : NULL;
}
