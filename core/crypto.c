/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * crypto.c -- the primitives of crypto.h on OpenSSL 3: CSPRNG, constant-time
 * compare, SHA-256, HMAC-SHA256, the master keyring and the AES-256-GCM
 * envelope for secrets at rest (hex, base64url and base32 are in codec.c).
 *
 * Master keys live only in the static keyring below, loaded once at start
 * from a file no one else may read; they never leave this file, are never
 * logged and are cleansed when replaced.  The keyring holds two kinds of
 * keys: sealing keys (the AES-256-GCM envelope) and token keys (HMAC-SHA256
 * of identifiers of people, core_token_hmac_hex); a key of one kind is
 * never used for the other.  Error messages name files and
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
  size_t ntok;                          /* token keys, current first */
  struct master_key tokens[KEYRING_MAX];
} keyring;

/* What one line of the key file held. */
enum key_line { LINE_BAD = -1, LINE_NONE = 0, LINE_SEAL, LINE_TOKEN };

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

/* Parse one line into @a k: "<id> <hex>" or a bare "<hex>" (id k1) is a
   sealing key, "token <id> <hex>" a token key. */
static enum key_line
parse_key_line (char *line, struct master_key *k)
{
  char *tok[4] = { NULL }, *save = NULL;
  enum key_line kind = LINE_SEAL;
  size_t n = 0;

  for (char *t = strtok_r (line, " \t\r\n", &save); NULL != t && n < 4;
       t = strtok_r (NULL, " \t\r\n", &save))
    tok[n++] = t;
  if (n == 0 || tok[0][0] == '#')
    return LINE_NONE;
  if (n == 3 && strcmp (tok[0], "token") == 0)
    {
      kind = LINE_TOKEN;
      tok[0] = tok[1];
      tok[1] = tok[2];
      n = 2;
    }
  if (n == 1)
    {
      tok[1] = tok[0];
      tok[0] = "k1";
    }
  else if (n != 2)
    return LINE_BAD;
  if (!valid_key_id (tok[0]) || strcmp (tok[0], "token") == 0
      || strlen (tok[1]) != 2 * KEY_LEN
      || core_hex_decode (tok[1], k->key, KEY_LEN) != KEY_LEN)
    return LINE_BAD;
  snprintf (k->id, sizeof k->id, "%s", tok[0]);
  return kind;
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

/* Append @a k to @a ring of @a *n keys unless its id is taken.
   @return 0, or -1 (message set) */
static int
ring_add (struct master_key *ring, size_t *n, const struct master_key *k,
          const char *path, unsigned int lineno, char *err, size_t errlen)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp (ring[i].id, k->id) == 0)
      {
        snprintf (err, errlen, "%s:%u: duplicate key id", path, lineno);
        return -1;
      }
  if (*n + 1 == KEYRING_MAX)
    {
      snprintf (err, errlen, "%s: more than %d keys of a kind", path,
                KEYRING_MAX - 1);
      return -1;
    }
  ring[(*n)++] = *k;
  return 0;
}

/* Read every key of @a f into @a ring (sealing) and @a toks (token).
   @return 0 or -1 (message set). */
static int
read_keys (FILE *f, const char *path, struct master_key *ring, size_t *n,
           struct master_key *toks, size_t *ntok, char *err, size_t errlen)
{
  struct master_key k;
  char *line = NULL;
  size_t cap = 0;
  unsigned int lineno = 0;
  int ret = -1;
  enum key_line r;

  *n = *ntok = 0;
  while (getline (&line, &cap, f) != -1)
    {
      lineno++;
      r = parse_key_line (line, &k);
      if (r == LINE_BAD)
        {
          snprintf (err, errlen, "%s:%u: expected \"<key id> <64 hex "
                    "digits>\" or \"token <key id> <64 hex digits>\"",
                    path, lineno);
          goto cleanup;
        }
      if (r == LINE_SEAL
          && ring_add (ring, n, &k, path, lineno, err, errlen) != 0)
        goto cleanup;
      if (r == LINE_TOKEN
          && ring_add (toks, ntok, &k, path, lineno, err, errlen) != 0)
        goto cleanup;
    }
  if (*n == 0)
    snprintf (err, errlen, "%s: no key found", path);
  else
    ret = 0;

cleanup:
  OPENSSL_cleanse (&k, sizeof k);
  if (line != NULL)
    OPENSSL_cleanse (line, cap);
  free (line);
  return ret;
}

int
core_keyring_load (const char *path, char *err, size_t errlen)
{
  struct master_key ring[KEYRING_MAX], toks[KEYRING_MAX];
  size_t n = 0, ntok = 0;
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
  if (read_keys (f, path, ring, &n, toks, &ntok, err, errlen) != 0)
    goto cleanup;
  OPENSSL_cleanse (&keyring, sizeof keyring);
  memcpy (keyring.keys, ring, n * sizeof ring[0]);
  keyring.n = n;
  memcpy (keyring.tokens, toks, ntok * sizeof toks[0]);
  keyring.ntok = ntok;
  ret = 0;

cleanup:
  OPENSSL_cleanse (ring, sizeof ring);
  OPENSSL_cleanse (toks, sizeof toks);
  if (f != NULL)
    fclose (f);
  if (fd >= 0)
    close (fd);
  return ret;
}

/* One new key line: "[token ]<id> <64 hex>\n" into @a line.
   @return its length, or -1 */
static int
new_key_line (const char *kind, const char *id, char *line, size_t len)
{
  uint8_t key[KEY_LEN];
  char hex[2 * KEY_LEN + 1];
  int n = -1;

  if (core_random (key, sizeof key) == 0)
    {
      core_hex_encode (key, sizeof key, hex);
      n = snprintf (line, len, "%s%s %s\n", kind, id, hex);
      if (n < 0 || (size_t) n >= len)
        n = -1;
    }
  OPENSSL_cleanse (key, sizeof key);
  OPENSSL_cleanse (hex, sizeof hex);
  return n;
}

/* A key id "<prefix><unix time>", with ".<n>" when the loaded keyring has
   that id already. */
static void
fresh_key_id (const char *prefix, char id[KEY_ID_MAX + 1])
{
  long long now = (long long) time (NULL);
  bool taken;

  snprintf (id, KEY_ID_MAX + 1, "%s%lld", prefix, now);
  for (unsigned int n = 2; ; n++)
    {
      taken = false;
      for (size_t i = 0; i < keyring.n; i++)
        taken = taken || strcmp (keyring.keys[i].id, id) == 0;
      for (size_t i = 0; i < keyring.ntok; i++)
        taken = taken || strcmp (keyring.tokens[i].id, id) == 0;
      if (!taken)
        return;
      snprintf (id, KEY_ID_MAX + 1, "%s%lld.%u", prefix, now, n);
    }
}

/* Write @a len bytes of @a text to a new file @a path (0600, fsync'd).
   @return 0, or -1 (message set, no file left) */
static int
write_new_key_file (const char *path, const char *text, size_t len,
                    char *err, size_t errlen)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                 0600);

  if (fd < 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      return -1;
    }
  if (write (fd, text, len) != (ssize_t) len || fsync (fd) != 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      close (fd);
      unlink (path);
      return -1;
    }
  if (close (fd) != 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      unlink (path);
      return -1;
    }
  return 0;
}

#define KEY_LINE_MAX (KEY_ID_MAX + 2 * KEY_LEN + 16)

int
core_keyring_create (const char *path, char *err, size_t errlen)
{
  char text[2 * KEY_LINE_MAX], kid[KEY_ID_MAX + 1], tid[KEY_ID_MAX + 1];
  long long now = (long long) time (NULL);
  int a, b, ret = -1;

  snprintf (kid, sizeof kid, "k%lld", now);
  snprintf (tid, sizeof tid, "t%lld", now);
  a = new_key_line ("", kid, text, KEY_LINE_MAX);
  b = a < 0 ? -1 : new_key_line ("token ", tid, text + a, KEY_LINE_MAX);
  if (b < 0)
    snprintf (err, errlen, "no random bytes for a new key");
  else
    ret = write_new_key_file (path, text, (size_t) (a + b), err, errlen);
  OPENSSL_cleanse (text, sizeof text);
  return ret;
}

/* Read the whole key file @a path (at most 64 KiB) into a malloc'd string.
   @return it (core_free_secret it, with *len + 1), or NULL (message set) */
static char *
slurp_key_file (const char *path, size_t *len, char *err, size_t errlen)
{
  size_t cap = 65536;
  char *text = malloc (cap + 1);
  FILE *f = fopen (path, "re");

  *len = 0;
  if (text == NULL || f == NULL)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      if (f != NULL)
        fclose (f);
      free (text);
      return NULL;
    }
  setvbuf (f, NULL, _IONBF, 0);
  *len = fread (text, 1, cap, f);
  fclose (f);
  text[*len] = '\0';
  return text;
}

/* Offset of the first "token" line of @a text, or its length if none. */
static size_t
first_token_line (const char *text, size_t len)
{
  for (size_t i = 0; i < len; i = (size_t) (strchrnul (text + i, '\n') - text) + 1)
    {
      size_t j = i;

      while (text[j] == ' ' || text[j] == '\t')
        j++;
      if (strncmp (text + j, "token", 5) == 0
          && (text[j + 5] == ' ' || text[j + 5] == '\t'))
        return i;
      if (text[j] == '\0')
        break;
    }
  return len;
}

int
core_keyring_add_token (const char *path, char *id, size_t idlen,
                        char *err, size_t errlen)
{
  char line[KEY_LINE_MAX], tmp[PATH_MAX], tid[KEY_ID_MAX + 1];
  char *old = NULL, *text = NULL;
  size_t oldlen = 0, pos, sep, total = 0;
  int n, ret = -1;

  if (core_keyring_load (path, err, errlen) != 0
      || NULL == (old = slurp_key_file (path, &oldlen, err, errlen)))
    return -1;
  /* The new key goes before the first token line: it becomes current. */
  pos = first_token_line (old, oldlen);
  sep = pos > 0 && old[pos - 1] != '\n';
  fresh_key_id ("t", tid);
  n = new_key_line ("token ", tid, line, sizeof line);
  if (n < 0 || NULL == (text = malloc (oldlen + sep + (size_t) n)))
    {
      snprintf (err, errlen, "no memory or no random bytes for a new key");
      goto cleanup;
    }
  memcpy (text, old, pos);
  memcpy (text + pos, "\n", sep);
  memcpy (text + pos + sep, line, (size_t) n);
  memcpy (text + pos + sep + n, old + pos, oldlen - pos);
  total = oldlen + sep + (size_t) n;
  snprintf (tmp, sizeof tmp, "%s.new", path);
  if (write_new_key_file (tmp, text, total, err, errlen) != 0)
    goto cleanup;
  /* The new file must load before it replaces the old one. */
  if (core_keyring_load (tmp, err, errlen) != 0)
    {
      unlink (tmp);
      (void) core_keyring_load (path, err, errlen);
      goto cleanup;
    }
  if (rename (tmp, path) != 0)
    {
      snprintf (err, errlen, "%s: %s", path, strerror (errno));
      unlink (tmp);
      goto cleanup;
    }
  if (core_keyring_load (path, err, errlen) == 0)
    {
      snprintf (id, idlen, "%s", keyring.tokens[0].id);
      ret = 0;
    }

cleanup:
  OPENSSL_cleanse (line, sizeof line);
  if (old != NULL)
    core_free_secret (old, oldlen + 1);
  if (text != NULL)
    core_free_secret (text, total);
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

/* ================================================================
 * Token keys
 * ================================================================ */

size_t
core_token_keys (void)
{
  return keyring.ntok;
}

const char *
core_token_key_id (size_t i)
{
  return i < keyring.ntok ? keyring.tokens[i].id : NULL;
}

int
core_token_hmac_hex (size_t i, const void *data, size_t len, char hex[65])
{
  uint8_t mac[CORE_SHA256_LEN];

  hex[0] = '\0';
  if (i >= keyring.ntok
      || core_hmac_sha256 (keyring.tokens[i].key, KEY_LEN, data, len, mac)
         != 0)
    return -1;
  core_hex_encode (mac, sizeof mac, hex);
  OPENSSL_cleanse (mac, sizeof mac);
  return 0;
}
